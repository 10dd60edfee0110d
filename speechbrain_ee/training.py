"""Training helpers shared by the recipes' ``Brain`` classes.

Authors
-------
* speechbrain-ee contributors 2026
"""

import atexit
import dataclasses
import datetime
import difflib
import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import speechbrain as sb
import torch
from speechbrain.utils.checkpoints import (
    mark_as_loader,
    mark_as_saver,
    register_checkpoint_hooks,
)
from speechbrain.utils.logger import get_logger

from speechbrain_ee.dataio.recipe_data import dev_selection, readable_batch
from speechbrain_ee.errors import UsageError

logger = get_logger(__name__)

# The options a rerun of a trained run may change (see `check_rerun`): where
# the run is and how long it trains, bookkeeping, the machine, and what the
# test stage measures and prints. Any other difference from the run's saved
# hyperparams.yaml changes what is trained.
RERUN_OPTIONS = (
    "output_folder", "number_of_epochs", "max_train_minutes",
    "ckpt_interval_minutes", "progress_interval", "valid_search_interval",
    "num_workers", "skip_prep", "precision", "checkpointer", "train_logger",
    "test_splits", "test_csvs", "cv_data_folder", "cv_test_tsv", "lm_text",
    "test_beam_size", "test_searcher", "lexicon_searcher", "test_dataloader_opts",
    "exit_strategy", "speed_test_batches", "speed_repeats", "output_wer_folder",
    "streaming_eval_configs",
)


def budget_spent(fit_start_time, budget_minutes, now=None):
    """Whether a run's time budget (the recipes' ``--max_train_minutes``,
    counted from the start of this run's training, validations included)
    is spent.

    Arguments
    ---------
    fit_start_time : float
        ``time.time()`` when this run's training started.
    budget_minutes : float or None
        The budget; ``None``: no budget.
    now : float or None
        The time to judge at (default: now).

    Returns
    -------
    bool

    Example
    -------
    >>> budget_spent(100.0, 10.0, now=100.0 + 9 * 60), budget_spent(100.0, 10.0, now=700.0)
    (False, True)
    >>> budget_spent(100.0, None)
    False
    """
    if budget_minutes is None:
        return False
    return ((time.time() if now is None else now) - fit_start_time) / 60 >= budget_minutes


def read_progress(folder):
    """The rows of a run's ``progress.csv`` (see `ProgressLog`) as
    ``(step, minutes, loss)``; empty when there is none.

    Arguments
    ---------
    folder : str or Path
        The run's output folder.

    Returns
    -------
    list of tuple

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> ProgressLog(folder, interval=1).add(1, 2.5, lr=0.1)
    >>> [(step, loss) for step, _, loss in read_progress(folder)]
    [(1, 2.5)]
    """
    import csv

    path = Path(folder) / "progress.csv"
    if not path.is_file():
        return []
    with open(path, encoding="utf-8") as f:
        return [(int(r["step"]), float(r["minutes"]), float(r["loss"]))
                for r in csv.DictReader(f)]


class ProgressLog:
    """The training loss every ``interval`` optimiser steps, with the
    training minutes so far, appended to ``<folder>/progress.csv``
    (``step,minutes,loss,lr``; read back by `read_progress`):
    the learning curve between epochs, e.g. to see when a CTC model leaves
    the blank plateau. A resumed run appends and keeps counting minutes
    from the last row (only the main process writes).

    Arguments
    ---------
    folder : str
        The run's output folder.
    interval : int
        Optimiser steps per row; the loss is their mean.

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> log = ProgressLog(folder, interval=2)
    >>> for step, loss in enumerate([4.0, 2.0, 1.0], start=1):
    ...     log.add(step, loss, lr=0.001)
    >>> open(os.path.join(folder, "progress.csv")).read().splitlines()[1].split(",")[::2]
    ['2', '3.0000']
    """

    COLUMNS = "step,minutes,loss,lr\n"

    def __init__(self, folder, interval=50):
        self.path = os.path.join(folder, "progress.csv")
        self.interval = max(1, int(interval))
        self.losses, self.offset = [], 0.0
        self.start = time.time()
        rows = read_progress(folder)
        if rows:
            self.offset = rows[-1][1]

    def add(self, step, loss, lr):
        """Counts one optimiser step; writes a row every ``interval``.

        Arguments
        ---------
        step : int
            The optimiser step (``Brain.optimizer_step``).
        loss : float
            Its training loss.
        lr : float
            The learning rate.
        """
        from speechbrain.utils.distributed import if_main_process

        self.losses.append(loss)
        if step % self.interval or not if_main_process():
            return
        minutes = self.offset + (time.time() - self.start) / 60
        new = not os.path.isfile(self.path)
        with open(self.path, "a", encoding="utf-8") as f:
            if new:
                f.write(self.COLUMNS)
            f.write(f"{step},{minutes:.3f},"
                    f"{sum(self.losses) / len(self.losses):.4f},{lr:.3g}\n")
        self.losses = []


def cooldown_factor(progress, cooldown):
    """The learning-rate multiplier of a run's cool-down: 1 until the last
    ``cooldown`` share of the run, then linearly down to 0 at its end (the
    decay phase of a warm-up / stable / decay schedule, here on top of the
    Noam schedule).

    Arguments
    ---------
    progress : float
        Share of the run done, 0 to 1.
    cooldown : float or None
        Share of the run the decay takes; 0 or None: no cool-down.

    Returns
    -------
    float

    Example
    -------
    >>> [round(cooldown_factor(p, 0.2), 6) for p in (0.5, 0.8, 0.9, 1.0)]
    [1.0, 1.0, 0.5, 0.0]
    >>> cooldown_factor(0.99, None)
    1.0
    """
    if not cooldown:
        return 1.0
    return min(1.0, max(0.0, (1.0 - progress) / cooldown))


class BudgetedBrain(sb.Brain):
    """What the recipes' ``Brain`` classes share: the Noam schedule stepped
    after each optimiser step (with an optional cool-down), the step log
    (``progress.csv``), the augmentation start and the ``max_train_minutes``
    budget.

    The YAML provides ``noam_annealing``, ``epoch_counter`` and
    ``max_train_minutes``. When the budget is spent, training stops after
    the current step, in the middle of an epoch if need be (through
    SpeechBrain's optimiser-step limit); that epoch's validation and
    checkpoint follow, then the recipe's test. ``lr_cooldown`` (a share,
    default none) brings the learning rate linearly to 0 over the last
    share of the run: of its time budget, or of its epochs, whichever ends
    first (see `cooldown_factor`).
    """

    def on_fit_start(self):
        """Records when training started (for ``max_train_minutes``)."""
        super().on_fit_start()  # restores a checkpoint's optimizer_step
        self.fit_start_time = time.time()
        self.first_step = self.optimizer_step
        self.budget_logged = False

    @property
    def _optimizer_step_limit_exceeded(self):
        """SpeechBrain's ``--optimizer_step_limit``, or the time budget."""
        if super()._optimizer_step_limit_exceeded:
            return True
        start = getattr(self, "fit_start_time", None)
        budget = getattr(self.hparams, "max_train_minutes", None)
        # At least one step in this run, so that the stage has a training loss.
        if (start is None or budget is None or self.optimizer_step == self.first_step
                or not self._from_main_process(budget_spent(start, budget))):
            return False
        if not self.budget_logged:
            self.budget_logged = True
            logger.info(f"max_train_minutes={budget}: budget spent after "
                        f"optimiser step {self.optimizer_step}; stopping.")
        return True

    def make_dataloader(self, dataset, stage, *args, **kwargs):
        """SpeechBrain's loader; the training one's length (batches per
        epoch) is kept for the cool-down's share of the run done.

        A training batch sampler (dynamic batching) gets its epoch at each
        epoch start, as SpeechBrain gives it only under DDP: its order is
        then drawn from the seed and the epoch, not from how many epochs
        this process has run, so a resumed run sees the batches of an
        uninterrupted one.

        Batches leave out the utterances whose audio could not be read
        (`speechbrain_ee.dataio.recipe_data.readable_batch`; a warning
        names each file), so that one bad file does not end a long run."""
        if isinstance(dataset, sb.dataio.dataset.DynamicItemDataset):
            kwargs.setdefault("collate_fn", readable_batch)
        loader = super().make_dataloader(dataset, stage, *args, **kwargs)
        if stage == sb.Stage.TRAIN:
            sampler = getattr(loader, "batch_sampler", None)
            if self.train_sampler is None and hasattr(sampler, "set_epoch"):
                self.train_sampler = sampler
            if hasattr(loader, "__len__"):
                self.train_batches = len(loader)
        return loader

    def fit_batch(self, batch):
        """SpeechBrain's step; a batch of unreadable files only (None, see
        `make_dataloader`) is skipped (under DDP the other processes would
        wait for it: prepare the data again instead)."""
        if batch is None:
            return torch.tensor(float(self.avg_train_loss))
        return super().fit_batch(batch)

    def evaluate_batch(self, batch, stage):
        """SpeechBrain's evaluation; a batch of unreadable files only is
        skipped (loss 0)."""
        if batch is None:
            return torch.tensor(0.0)
        return super().evaluate_batch(batch, stage)

    def log_test(self, stats_meta, test_stats):
        """Logs a test set's numbers in ``train_log.txt``, in place of the
        line of an earlier test with the same ``stats_meta`` (a rerun of a
        finished run scores its checkpoint again; its log keeps one line per
        test set and epochs trained).

        Arguments
        ---------
        stats_meta : dict
            E.g. ``{"test set": "test-clean", "epochs trained": 2}``.
        test_stats : dict
            The numbers.
        """
        from speechbrain.utils.distributed import if_main_process

        train_logger = self.hparams.train_logger
        path = getattr(train_logger, "save_file", None)
        if path and os.path.isfile(path) and if_main_process():
            prefix = ", ".join(f"{k}: {v}" for k, v in stats_meta.items()) + " - "
            lines = Path(path).read_text(encoding="utf-8").splitlines(keepends=True)
            kept = [line for line in lines if not line.startswith(prefix)]
            if len(kept) < len(lines):
                Path(f"{path}.tmp").write_text("".join(kept), encoding="utf-8")
                os.replace(f"{path}.tmp", path)
        train_logger.log_stats(stats_meta=stats_meta, test_stats=test_stats)

    def run_progress(self):
        """Share of the run done (0 to 1): of the time budget or of the
        epochs, whichever is further."""
        shares = [0.0]
        budget = getattr(self.hparams, "max_train_minutes", None)
        start = getattr(self, "fit_start_time", None)
        if budget and start is not None:
            shares.append((time.time() - start) / 60 / budget)
        counter = self.hparams.epoch_counter
        batches = getattr(self, "train_batches", 0)
        if batches and counter.limit:
            shares.append((counter.current - 1 + self.step / batches) / counter.limit)
        return self._from_main_process(min(1.0, max(shares)))

    def _from_main_process(self, value):
        """``value`` as the main process has it (under DDP, where each
        process has its own clock: the learning rate and the decision to
        stop must be the same in every process)."""
        if not torch.distributed.is_available() or not torch.distributed.is_initialized():
            return value
        tensor = torch.tensor([float(value)], device=self.device)
        torch.distributed.broadcast(tensor, src=0)
        return type(value)(tensor.item())

    @property
    def learning_rate(self):
        """The optimiser's current learning rate (after the cool-down)."""
        return self.optimizer.param_groups[0]["lr"]

    def on_fit_batch_end(self, batch, outputs, loss, should_step):
        """Steps the learning-rate schedule after each optimiser step,
        scales it by the cool-down and each parameter group's
        ``lr_scale`` (see `param_groups`), and feeds the step log
        (``progress.csv``, see `ProgressLog`)."""
        if should_step:
            self.step_schedule()
            cooldown = getattr(self.hparams, "lr_cooldown", None)
            factor = cooldown_factor(self.run_progress(), cooldown) if cooldown else 1.0
            for group in self.optimizer.param_groups:
                group["lr"] *= factor * group.get("lr_scale", 1.0)
            if getattr(self, "progress", None) is None:
                self.progress = ProgressLog(
                    self.hparams.output_folder,
                    getattr(self.hparams, "progress_interval", 50),
                )
            self.progress.add(
                self.optimizer_step, float(loss.detach()), self.learning_rate,
            )

    def step_schedule(self):
        """The YAML's ``lr_annealing`` (e.g. SpeechBrain's
        ``TriStageLRSchedule``, which takes the step count) or its
        ``noam_annealing``."""
        from speechbrain.nnet.schedulers import TriStageLRSchedule

        schedule = getattr(self.hparams, "lr_annealing", None) or \
            self.hparams.noam_annealing
        if isinstance(schedule, TriStageLRSchedule):
            schedule(self.optimizer, self.optimizer_step)
        else:
            schedule(self.optimizer)

    def augmenting(self, stage, name="wav_augment"):
        """Whether the YAML's augmentation ``name`` applies to this batch:
        in training, once ``augment_start_step`` optimiser steps are done
        (default 0). A CTC model learns its first alignments sooner on
        clean input; augmentation that starts with training can keep a
        deep model on the blank plateau (see the CTC recipe's README)."""
        return (stage == sb.Stage.TRAIN and hasattr(self.hparams, name)
                and self.optimizer_step >= getattr(self.hparams, "augment_start_step", 0))


def param_groups(modules, encoder, encoder_lr_scale=1.0):
    """The optimiser's parameter groups when the encoder learns at its own
    rate (SSL fine-tuning: a pretrained encoder, a new head): the other
    trainable parameters first (the logged learning rate is theirs), then
    the encoder's, with ``lr_scale`` (applied by `BudgetedBrain` after
    each schedule step).

    Arguments
    ---------
    modules : torch.nn.Module
        Every module of the Brain.
    encoder : torch.nn.Module
        The encoder among them.
    encoder_lr_scale : float
        The encoder's learning rate over the others'.

    Returns
    -------
    list of dict

    Example
    -------
    >>> model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(3, 1))
    >>> groups = param_groups(model, model[0], 0.1)
    >>> [len(g["params"]) for g in groups], groups[1]["lr_scale"]
    ([2, 2], 0.1)
    """
    inside = {id(p) for p in encoder.parameters()}
    others = [p for p in modules.parameters()
              if p.requires_grad and id(p) not in inside]
    mine = [p for p in encoder.parameters() if p.requires_grad]
    return [{"params": others, "lr_scale": 1.0},
            {"params": mine, "lr_scale": encoder_lr_scale}]


def load_pretrained(pretrainer):
    """Loads a YAML's ``pretrainer`` (SpeechBrain's ``Pretrainer``) before
    training: e.g. a distilled student before its CTC fine-tuning. A local
    file that is missing is named (instead of being looked up on the hub).

    Arguments
    ---------
    pretrainer : speechbrain.utils.parameter_transfer.Pretrainer
        With ``paths`` to local files or hub sources.
    """
    from speechbrain.utils.distributed import run_on_main

    for name, path in pretrainer.paths.items():
        path = str(path)
        local = os.path.isabs(path) or path.startswith(".") or \
            os.path.exists(os.path.dirname(path) or ".")
        if local and not os.path.isfile(path):
            raise FileNotFoundError(
                f"pretrained `{name}`: {path} not found; run the recipe that "
                "writes it first (e.g. recipes/LibriSpeech/distill/train.py "
                "for a distilled student).")
    run_on_main(pretrainer.collect_files)
    pretrainer.load_collected()


def strict_transfer(obj, path):
    """A Pretrainer hook that loads a module's parameters strictly: a
    checkpoint of another architecture is an error naming the keys, not a
    warning over a half-random model.

    Arguments
    ---------
    obj : torch.nn.Module
        The module to load.
    path : str
        Its saved ``state_dict``.
    """
    state = torch.load(path, map_location="cpu")
    try:
        obj.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise RuntimeError(
            f"{path} does not fit {type(obj).__name__}: the YAML's sizes must "
            f"be those the checkpoint was trained with. {err}") from err


def setup_experiment(argv):
    """The start every recipe shares: SpeechBrain's command line, the DDP
    group, the YAML with the command line's overrides, the experiment
    folder (with the YAML and the recipe saved) and the data CSVs.

    Before anything is written, the command is checked: an override that
    is no key of the YAML is named with the closest key (`load_hparams`),
    ``--device`` must exist here (`check_device`), and a rerun of a trained
    run must keep its options (`check_rerun`).

    Arguments
    ---------
    argv : list of str
        ``hparams.yaml`` and its overrides (``sys.argv[1:]``).

    Returns
    -------
    hparams : dict
    run_opts : dict
    """
    from speechbrain_ee.dataio.recipe_data import prepare_data

    hparams_file, run_opts, overrides = sb.parse_arguments(argv)
    check_device(run_opts.device)
    sb.utils.distributed.ddp_init_group(run_opts)
    if sb.utils.distributed.is_distributed_initialized():
        atexit.register(end_process_group)
    hparams = load_hparams(hparams_file, overrides)
    check_rerun(hparams["output_folder"], hparams_file, overrides)
    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=overrides,
    )
    prepare_data(hparams)
    return hparams, run_opts


def end_process_group():
    """Destroys the DDP process group, if there is one, before the
    interpreter exits: gloo's threads otherwise may still be running when
    it does, and that rank aborts ("terminate called without an active
    exception"), failing a finished run under torchrun. Under gloo the
    ranks first wait for each other (a barrier with a timeout), so that no
    rank tears its group down while a peer still talks to it: destroying
    alone still aborted a rank now and then on a loaded machine. A rank
    that ends on an uncaught exception (``sys.last_value``) does not wait:
    its peers may never arrive, and torchrun should hear of it at once.

    Example
    -------
    >>> end_process_group()  # no group: nothing to do
    """
    if not sb.utils.distributed.is_distributed_initialized():
        return
    failed = getattr(sys, "last_value", None) is not None
    if torch.distributed.get_backend() == "gloo" and not failed:
        try:
            torch.distributed.monitored_barrier(
                timeout=datetime.timedelta(seconds=120))
        except RuntimeError:  # a rank failed; torchrun reports which
            pass
    torch.distributed.destroy_process_group()


def load_hparams(hparams_file, overrides):
    """The YAML with the command line's overrides (``load_hyperpyyaml``);
    an override that is no key of the YAML is a `UsageError` naming the
    closest key.

    Arguments
    ---------
    hparams_file : str
        The recipe's YAML.
    overrides : str or dict
        The overrides (YAML text, as ``sb.parse_arguments`` gives them).

    Returns
    -------
    dict

    Example
    -------
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "h.yaml")
    >>> _ = open(path, "w").write("d_model: 48\\nnum_encoder_layers: 2\\n")
    >>> load_hparams(path, "d_model: 64")["d_model"]
    64
    >>> load_hparams(path, "num_encoder_layer: 3")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    speechbrain_ee.errors.UsageError: --num_encoder_layer: no such option in .../h.yaml; did you mean --num_encoder_layers?
    """
    import ast

    from hyperpyyaml import load_hyperpyyaml
    from ruamel.yaml.constructor import DuplicateKeyError

    with open(hparams_file, encoding="utf-8") as fin:
        try:
            return load_hyperpyyaml(fin, overrides)
        except DuplicateKeyError as err:
            twice = re.search(r'duplicate key "(.+?)"', str(err))
            raise UsageError(f"--{twice.group(1) if twice else '?'}: given twice; "
                             "give each option once.") from None
        except KeyError as err:
            found = re.match(r"Override '(.+)' not found in: (\[.*\])$", str(err.args[0]))
            if not found:
                raise
    key, keys = found.group(1), ast.literal_eval(found.group(2))
    close = difflib.get_close_matches(key, keys, n=1)
    hint = f"did you mean --{close[0]}?" if close else \
        "the options are the YAML's top-level keys"
    raise UsageError(f"--{key}: no such option in {hparams_file}; {hint}")


def check_device(device):
    """Refuses a ``--device`` this machine lacks, before data preparation
    and tokenizer training.

    Arguments
    ---------
    device : str or None
        ``cpu``, ``cuda``, ``cuda:N``, ``mps``...

    Example
    -------
    >>> check_device("cpu")
    >>> check_device(f"cuda:{torch.cuda.device_count()}")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    speechbrain_ee.errors.UsageError: --device cuda:...: this machine has ...; use --device cpu...
    """
    device = str(device or "cpu")
    if device.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = torch.device(device).index or 0
        if index >= count:
            have = f"{count} GPU(s)" if count else "no CUDA GPU"
            others = f" or cuda:0 to cuda:{count - 1}" if count else ""
            raise UsageError(f"--device {device}: this machine has {have}; use "
                             f"--device cpu{others}.")
    elif device.startswith("mps") and not torch.backends.mps.is_available():
        raise UsageError(f"--device {device}: MPS is not available here; use "
                         "--device cpu.")


def _plain(node):
    """A YAML tree loaded round-trip as plain values: tags kept, comments and
    anchors not."""
    tag = getattr(getattr(node, "tag", None), "value", None)
    if isinstance(node, dict):
        value = {str(k): _plain(v) for k, v in node.items()}
    elif isinstance(node, list):
        value = [_plain(v) for v in node]
    else:
        value = getattr(node, "value", node) if tag else node
    return (tag, value) if tag else value


def check_rerun(output_folder, hparams_file, overrides):
    """Refuses to rerun a trained run (a checkpoint under
    ``<output_folder>/save``) with options other than its own, before
    anything is written: SpeechBrain would replace the run's
    ``hyperparams.yaml``, and the new model would not fit its checkpoint.

    The YAML with this command's overrides is compared with the run's saved
    ``hyperparams.yaml`` key by key; the keys of `RERUN_OPTIONS` (budgets,
    the output folder, bookkeeping, precision, what the test stage
    measures) may differ. ``--device`` and SpeechBrain's other run options
    are not in the YAML: they may differ too.

    Arguments
    ---------
    output_folder : str
        The run's folder.
    hparams_file : str
        The recipe's YAML.
    overrides : str or dict
        This command's overrides.

    Example
    -------
    >>> import tempfile
    >>> from speechbrain.utils.checkpoints import Checkpointer
    >>> run = tempfile.mkdtemp()
    >>> yaml = os.path.join(run, "x.yaml")
    >>> _ = open(yaml, "w").write("d_model: 48\\nnumber_of_epochs: 2\\n")
    >>> _ = Checkpointer(os.path.join(run, "save")).save_checkpoint()
    >>> _ = open(os.path.join(run, "hyperparams.yaml"), "w").write(open(yaml).read())
    >>> check_rerun(run, yaml, "number_of_epochs: 5")
    >>> check_rerun(run, yaml, "d_model: 64")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    speechbrain_ee.errors.UsageError: ... holds a trained run with other options (d_model: 48 -> 64): ...
    """
    from hyperpyyaml import resolve_references
    from ruamel.yaml import YAML

    saved = Path(output_folder) / "hyperparams.yaml"
    if not saved.is_file() or not any((Path(output_folder) / "save").glob("CKPT+*")):
        return
    yaml = YAML()
    old = yaml.load(saved.read_text(encoding="utf-8"))

    def resolved(changes):
        given = yaml.load(overrides) if isinstance(overrides, str) else overrides
        given = dict(given or {}, **changes)
        with open(hparams_file, encoding="utf-8") as fin:
            return yaml.load(resolve_references(fin, given))

    new = resolved({})
    # options that may differ take the run's values, so that what derives
    # from them (the output folder's paths, the epoch counter) compares equal
    kept = {k: old[k] for k in RERUN_OPTIONS if k in old and k in new
            and not isinstance(old[k], (dict, list)) and old[k] != new[k]}
    if kept:
        new = resolved(kept)
    changed = [k for k in dict.fromkeys([*old, *new]) if k not in RERUN_OPTIONS
               and _plain(old.get(k)) != _plain(new.get(k))]
    if not changed:
        return

    def composite(value):
        return isinstance(value, (dict, list)) or hasattr(value, "tag")

    # the options named; the objects built from them differ with them
    named = [k for k in changed if not composite(old.get(k))
             and not composite(new.get(k))] or changed
    changes = ", ".join(
        f"{k}: {'(changed)' if composite(old.get(k)) else old.get(k, '(absent)')} -> "
        f"{'(changed)' if composite(new.get(k)) else new.get(k, '(absent)')}"
        for k in named[:6])
    if len(named) > 6:
        changes += f" and {len(named) - 6} more"
    raise UsageError(
        f"{output_folder} holds a trained run with other options ({changes}): a "
        "rerun would replace its hyperparams.yaml, and the model would not fit its "
        "checkpoint. Give a new --output_folder for these options, or rerun with "
        f"the run's own (see {saved}; RERUN_OPTIONS in speechbrain_ee/training.py "
        "lists what a rerun may change).")


@register_checkpoint_hooks
class PythonRandomState:
    """Python's and NumPy's global random states as a checkpoint
    recoverable, beside SpeechBrain's ``SaveableGenerator`` (torch's): the
    augmentations' choices (SpeechBrain's ``Augmenter`` draws from
    ``random``) then continue on resume as in an uninterrupted run.

    Example
    -------
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "rng.json")
    >>> state = PythonRandomState()
    >>> state.save(path)
    >>> first = random.random(), np.random.rand()
    >>> state.load(path)
    >>> (random.random(), np.random.rand()) == first
    True
    """

    @mark_as_saver
    def save(self, path):
        """Writes both states (JSON).

        Arguments
        ---------
        path : str
            The file.
        """
        name, keys, pos, has_gauss, gauss = np.random.get_state()
        state = {"python": random.getstate(),
                 "numpy": [name, keys.tolist(), pos, has_gauss, gauss]}
        Path(path).write_text(json.dumps(state), encoding="utf-8")

    @mark_as_loader
    def load(self, path, end_of_epoch=True):
        """Restores both states.

        Arguments
        ---------
        path : str
            The file `save` wrote.
        end_of_epoch : bool
            SpeechBrain's loader argument (unused).
        """
        del end_of_epoch
        state = json.loads(Path(path).read_text(encoding="utf-8"))
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))
        name, keys, pos, has_gauss, cached = state["numpy"]
        np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss,
                             cached))


def cpu_precision(precision, device="cpu", bf16_supported=None):
    """The training precision to use: ``bf16`` on a CPU without native
    bfloat16 (AVX512-BF16 or AMX) falls back to ``fp32`` with a warning,
    since emulated bfloat16 is slower than fp32 there.

    Arguments
    ---------
    precision : str or None
        The ``--precision`` asked for (``fp32``, ``fp16``, ``bf16``).
    device : str
        The training device.
    bf16_supported : bool or None
        Whether the CPU has native bfloat16 (default: asks torch).

    Returns
    -------
    str or None
        The precision to pass on.

    Example
    -------
    >>> cpu_precision("bf16", "cpu", bf16_supported=False)
    'fp32'
    >>> cpu_precision("bf16", "cpu", bf16_supported=True), cpu_precision("bf16", "cuda:0")
    ('bf16', 'bf16')
    """
    if precision != "bf16" or not str(device).startswith("cpu"):
        return precision
    if bf16_supported is None:
        bf16_supported = (torch.cpu._is_avx512_bf16_supported()
                          or torch.cpu._is_amx_tile_supported())
    if bf16_supported:
        return precision
    logger.warning("--precision bf16: this CPU has no native bfloat16 (AVX512-BF16 or "
                   "AMX), where it would be slower than fp32; training in fp32.")
    return "fp32"


def make_brain(brain_class, hparams, run_opts):
    """A recipe's Brain from the YAML's ``modules``, ``opt_class`` and
    ``checkpointer``; the training precision (``--precision``, else the
    YAML's ``precision``) goes through `cpu_precision`'s fallback.

    ``run_opts`` stays SpeechBrain's ``RunOptions``, which knows the
    options given on the command line: the YAML's own run options
    (``ckpt_interval_minutes``, ``max_grad_norm``...) apply unless the
    command line sets them. (A plain dict, as this function once passed
    on, marks every option as given, so SpeechBrain's defaults replaced
    the YAML's.)

    The checkpointer's random states (``SaveableGenerator``,
    `PythonRandomState`) load optionally: runs checkpointed before the
    YAMLs saved them resume too (not exactly)."""
    from speechbrain.utils.repro import SaveableGenerator
    from speechbrain.utils.run_opts import RunOptions

    if isinstance(run_opts, dict):  # every key given explicitly
        run_opts = RunOptions.from_dictionary(run_opts)
    if isinstance(run_opts.optimizer_step_limit, str):
        # SpeechBrain 1.1's parser leaves --optimizer_step_limit a string
        run_opts = dataclasses.replace(
            run_opts, optimizer_step_limit=int(run_opts.optimizer_step_limit))
    given = run_opts.overridden_args
    precision = run_opts.precision if "precision" in given else \
        hparams.get("precision")
    if precision is not None:  # RunOptions is frozen: a copy with it set
        run_opts = dataclasses.replace(
            run_opts, precision=cpu_precision(precision, run_opts.device or "cpu"),
            overridden_args=given | {"precision"})
    checkpointer = hparams["checkpointer"]
    recoverables = checkpointer.recoverables if checkpointer is not None else {}
    for name, obj in list(recoverables.items()):
        # random states: a checkpoint written before the YAML saved them
        # still loads (its resume is then not exact)
        if isinstance(obj, (SaveableGenerator, PythonRandomState)):
            checkpointer.add_recoverable(name, obj, optional_load=True)
    return brain_class(
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=checkpointer,
    )


def best_checkpoint_file(run_folder, file="model.ckpt", latest=False):
    """A file of a finished run's best checkpoint (`dev_selection`), for
    YAMLs that start from another run (``!apply``), e.g. S3-Router pruning
    from a weight-fine-tuned model.

    Arguments
    ---------
    run_folder : str
        The run's output folder (its checkpoints are in ``save/``).
    file : str
        The recoverable's file in the checkpoint folder.
    latest : bool
        The most recent checkpoint instead (mid-epoch ones included).

    Returns
    -------
    str
        The file's path.

    Example
    -------
    >>> import tempfile, torch
    >>> run = tempfile.mkdtemp()
    >>> ckpt = sb.utils.checkpoints.Checkpointer(
    ...     os.path.join(run, "save"), {"model": torch.nn.Linear(2, 2)})
    >>> _ = ckpt.save_checkpoint(meta={"WER": 40.0}, name="a")
    >>> _ = ckpt.save_checkpoint(meta={"WER": 30.0}, name="b")
    >>> os.path.relpath(best_checkpoint_file(run), run)
    'save/CKPT+b/model.ckpt'
    """
    save_folder = os.path.join(run_folder, "save")
    found = None
    if os.path.isdir(save_folder):
        found = sb.utils.checkpoints.Checkpointer(save_folder).find_checkpoint(
            **({} if latest else dev_selection()))
    if found is None:
        raise FileNotFoundError(
            f"{run_folder}: no end-of-epoch checkpoint in {save_folder}; "
            "train that run first (or give its folder).")
    path = os.path.join(found.path, file)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} not found in {run_folder}'s best "
                                "checkpoint.")
    return path


def read_train_log(folder):
    """The epochs of a recipe run's ``train_log.txt``: one dict per epoch
    line with its numbers (``epoch``, ``steps``, ``train loss``, ``train
    minutes``, ``valid WER``, ...) and ``minutes``, the training minutes
    summed up to the end of that epoch.

    Arguments
    ---------
    folder : str or Path
        The run's output folder.

    Returns
    -------
    list of dict
        In epoch order; empty when there is no log.

    Example
    -------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "train_log.txt").write_text(
    ...     "epoch: 1, lr: 1.00e-03, steps: 10 - train loss: 3.5, train minutes: 1.5"
    ...     " - valid loss: 3.2, valid WER: 1.00e+02, valid CER: 90.0\\n"
    ...     "epoch: 2, lr: 1.00e-03, steps: 20 - train loss: 2.5, train minutes: 1.5"
    ...     " - valid loss: 2.2, valid WER: 60.0, valid CER: 30.0\\n"
    ...     "test set: test-clean, epochs trained: 2 - test WER: 61.0\\n")
    >>> [(e["steps"], e["minutes"], e["valid WER"]) for e in read_train_log(folder)]
    [(10, 1.5, 100.0), (20, 3.0, 60.0)]
    """
    log = Path(folder) / "train_log.txt"
    if not log.is_file():
        return []
    epochs, minutes = [], 0.0
    for line in log.read_text(encoding="utf-8").splitlines():
        if not line.startswith("epoch:"):
            continue
        values = {}
        for item in line.replace(" - ", ", ").split(", "):
            key, _, value = item.partition(": ")
            try:
                values[key.strip()] = float(value)
            except ValueError:
                continue
        values = {k: int(v) if k in ("epoch", "steps") else v for k, v in values.items()}
        minutes += values.get("train minutes", 0.0)
        values["minutes"] = round(minutes, 4)
        epochs.append(values)
    return epochs


def train_runs(runs, out, jobs=1):
    """Trains recipe runs in subprocesses, ``jobs`` at a time (the CPU
    threads split between them); a run with a ``results.json`` is done and
    kept, an unfinished one resumes from its checkpoint.

    Arguments
    ---------
    runs : dict
        Run name -> ``(recipe train.py, YAML, list of overrides)``.
    out : Path
        The runs go to ``out/runs/<name>`` (logs: ``out/runs/<name>.log``).
    jobs : int
        Runs at a time.

    Returns
    -------
    dict
        Run name -> its output folder.
    """
    out = Path(out)
    folders = {name: out / "runs" / name for name in runs}
    todo = [n for n in runs if not (folders[n] / "results.json").is_file()]
    threads = max(1, (os.cpu_count() or 1) // max(1, jobs))
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONUNBUFFERED="1")
    running = {}
    while todo or running:
        while todo and len(running) < jobs:
            name = todo.pop(0)
            recipe, yaml, overrides = runs[name]
            folders[name].mkdir(parents=True, exist_ok=True)
            log = open(out / "runs" / f"{name}.log", "w", encoding="utf-8")
            cmd = [sys.executable, str(recipe), str(yaml),
                   f"--output_folder={folders[name]}", *overrides]
            print(f"[{time.strftime('%H:%M')}] training {name}: "
                  f"{' '.join(cmd[1:])}", flush=True)
            running[name] = (subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, env=env), log)
        time.sleep(2)
        for name, (proc, log) in list(running.items()):
            if proc.poll() is None:
                continue
            log.close()
            del running[name]
            if proc.returncode != 0:
                for other, _ in running.values():
                    other.kill()
                raise RuntimeError(
                    f"training run {name} failed (exit {proc.returncode}); "
                    f"see {log.name}.")
    return folders
