"""Training helpers shared by the recipes' ``Brain`` classes.

Authors
-------
* speechbrain-ee contributors 2026
"""

import os
import time

import speechbrain as sb
from speechbrain.utils.logger import get_logger

logger = get_logger(__name__)


def stop_before_budget(epoch_counter, epoch, first_epoch, fit_start_time,
                       budget_minutes):
    """Ends training after ``epoch`` if the next epoch would end past the
    time budget (the recipes' ``--max_train_minutes``).

    The time of an epoch (validation included) is the mean over the epochs
    of this run (a resumed run counts from where it resumed).

    Arguments
    ---------
    epoch_counter : speechbrain.utils.epoch_loop.EpochCounter
        The recipe's epoch counter; its ``limit`` is lowered to ``epoch``
        to stop.
    epoch : int
        The epoch that just ended.
    first_epoch : int
        The first epoch of this run.
    fit_start_time : float
        ``time.time()`` when this run's training started.
    budget_minutes : float or None
        The budget; ``None``: no budget.

    Returns
    -------
    bool
        Whether training stops after ``epoch``.

    Example
    -------
    >>> from speechbrain.utils.epoch_loop import EpochCounter
    >>> counter = EpochCounter(limit=30)
    >>> stop_before_budget(counter, 3, 1, time.time() - 9 * 60, 10.0)
    True
    >>> counter.limit
    3
    >>> stop_before_budget(EpochCounter(30), 3, 1, time.time(), None)
    False
    """
    if budget_minutes is None:
        return False
    spent = (time.time() - fit_start_time) / 60
    per_epoch = spent / max(1, epoch - first_epoch + 1)
    if spent + per_epoch <= budget_minutes:
        return False
    logger.info(
        f"max_train_minutes={budget_minutes}: {spent:.1f} min spent, "
        f"stopping after epoch {epoch}."
    )
    epoch_counter.limit = epoch
    return True


class BudgetedBrain(sb.Brain):
    """What the recipes' ``Brain`` classes share: the Noam schedule stepped
    after each optimiser step and the ``max_train_minutes`` budget.

    The YAML provides ``noam_annealing``, ``epoch_counter`` and
    ``max_train_minutes``; a subclass calls `stop_if_over_budget` at the end
    of each validation.
    """

    def on_fit_start(self):
        """Records when training started (for ``max_train_minutes``)."""
        super().on_fit_start()
        self.fit_start_time = time.time()

    def fit(self, epoch_counter, *args, **kwargs):
        """Remembers the first epoch of this run (resume-aware)."""
        self.first_epoch = epoch_counter.current + 1
        return super().fit(epoch_counter, *args, **kwargs)

    def on_fit_batch_end(self, batch, outputs, loss, should_step):
        """Steps the Noam schedule after each optimiser step."""
        if should_step:
            self.hparams.noam_annealing(self.optimizer)

    def stop_if_over_budget(self, epoch):
        """Ends training after ``epoch`` if the next epoch would end past
        ``max_train_minutes`` (see `stop_before_budget`)."""
        return stop_before_budget(
            self.hparams.epoch_counter, epoch, self.first_epoch,
            self.fit_start_time, self.hparams.max_train_minutes,
        )


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
    import torch

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

    Arguments
    ---------
    argv : list of str
        ``hparams.yaml`` and its overrides (``sys.argv[1:]``).

    Returns
    -------
    hparams : dict
    run_opts : dict
    """
    from hyperpyyaml import load_hyperpyyaml

    from speechbrain_ee.dataio.recipe_data import prepare_data

    hparams_file, run_opts, overrides = sb.parse_arguments(argv)
    sb.utils.distributed.ddp_init_group(run_opts)
    with open(hparams_file, encoding="utf-8") as fin:
        hparams = load_hyperpyyaml(fin, overrides)
    sb.create_experiment_directory(
        experiment_directory=hparams["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=overrides,
    )
    prepare_data(hparams)
    return hparams, run_opts


def make_brain(brain_class, hparams, run_opts):
    """A recipe's Brain from the YAML's ``modules``, ``opt_class`` and
    ``checkpointer``."""
    return brain_class(
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=hparams["checkpointer"],
    )



def best_checkpoint_file(run_folder, file="model.ckpt", min_key="WER"):
    """A file of a finished run's best checkpoint (lowest ``min_key``), for
    YAMLs that start from another run (``!apply``), e.g. S3-Router pruning
    from a weight-fine-tuned model.

    Arguments
    ---------
    run_folder : str
        The run's output folder (its checkpoints are in ``save/``).
    file : str
        The recoverable's file in the checkpoint folder.
    min_key : str
        The checkpoint metadata the best one has lowest.

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
            min_key=min_key)
    if found is None:
        raise FileNotFoundError(
            f"{run_folder}: no checkpoint with `{min_key}` in {save_folder}; "
            "train that run first (or give its folder).")
    path = os.path.join(found.path, file)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} not found in {run_folder}'s best "
                                "checkpoint.")
    return path
