#!/usr/bin/env python3
"""Recipe: pretrain the built-in distillation teacher, a small HuBERT, by
masked prediction of k-means units (HuBERT's iterations: units of MFCC
features first, then of a layer of the first model), on the audio of
LibriSpeech or the built-in mini-librispeech and an unlabelled pool in
Libri-Light's layout.

Where a real HuBERT can be downloaded this step is not needed: the
distillation YAMLs take a hub id or a local folder instead.

To run (from the repository root)::

    speechbrain-ee corpus --out corpora      # the built-in corpora, once
    python recipes/LibriSpeech/distill/pretrain_teacher.py \
        recipes/LibriSpeech/distill/hparams/hubert_teacher.yaml \
        --max_train_minutes 40

Killed and run again with the same command, it continues from its last
checkpoint (every ``ckpt_interval_minutes``), random state included. It
writes ``<output_folder>/teacher.ckpt`` (the best checkpoint's teacher,
lowest dev loss), which ``train.py``'s YAMLs load, its units
(``kmeans_<num_units>.pt``) and ``pretraining.json`` (steps and minutes,
those of ``init_folder`` included). With ``--init_folder`` (such a folder,
e.g. the published built-in model) a new run continues that pretraining:
its weights and units, a fresh optimiser and schedule.

Authors
-------
* speechbrain-ee contributors 2026
"""

import csv
import hashlib
import json
import os
import shutil
import sys

import speechbrain as sb
import torch
from speechbrain.utils.distributed import if_main_process, run_on_main
from speechbrain.utils.logger import get_logger

from speechbrain_ee.dataio.librilight_prepare import (
    UNLABELLED_COLUMNS,
    prepare_librilight,
)
from speechbrain_ee.dataio.recipe_data import (
    dataio_prepare,
    make_loader_kwargs,
)
from speechbrain_ee.distill.pretrain import (
    assign_units,
    kmeans,
    masked_prediction_loss,
)
from speechbrain_ee.distill.student import align_frames
from speechbrain_ee.errors import RECIPE_ERRORS, run_command
from speechbrain_ee.training import (
    BudgetedBrain,
    make_brain,
    read_progress,
    setup_experiment,
    strict_transfer,
)

logger = get_logger(__name__)


class TeacherPretraining(BudgetedBrain):
    """HuBERT masked prediction: the units of the clean audio's MFCC are
    the targets of the masked frames."""

    def compute_forward(self, batch, stage):
        """Waveforms -> masked HuBERT -> codeword logits; the targets."""
        batch = batch.to(self.device)
        wavs, wav_lens = batch.sig
        out = self.modules.teacher(wavs, wav_lens)
        units = assign_units(self.hparams.unit_features(wavs, wav_lens),
                             self.centroids)
        return out, units

    def compute_objectives(self, predictions, batch, stage):
        """Cross-entropy over the masked frames; masked accuracy."""
        out, units = predictions
        logits, units, masked, frame_mask = align_frames(
            out.logits, units, out.masked, out.frame_mask)
        loss, accuracy = masked_prediction_loss(
            logits, units, masked, frame_mask, self.hparams.unmasked_weight)
        self.accuracies.append(float(accuracy))
        return loss

    def on_stage_start(self, stage, epoch=None):
        """Resets the accuracy."""
        self.accuracies = []

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """Logs; checkpoints on the dev loss."""
        stats = {"loss": stage_loss,
                 "masked_acc": sum(self.accuracies) / max(
                     1, len(self.accuracies))}
        if stage == sb.Stage.TRAIN:
            self.train_stats = stats
            return
        self.hparams.train_logger.log_stats(
            stats_meta={"epoch": epoch,
                        "lr": self.learning_rate,
                        "steps": self.optimizer_step},
            train_stats=self.train_stats, valid_stats=stats)
        self.checkpointer.save_and_keep_only(
            meta={"loss": stage_loss, "epoch": epoch,
                  "masked_acc": stats["masked_acc"]},
            min_keys=["loss"], num_to_keep=1)


def fit_units(hparams, train_data):
    """The k-means centroids of the training MFCC frames (saved once; a
    rerun reuses them, so resumed training keeps its targets).

    Arguments
    ---------
    hparams : dict
        The recipe's hyperparameters.
    train_data : DynamicItemDataset
        The training audio.

    Returns
    -------
    torch.Tensor
        ``[num_units, feature size]`` (stacked MFCC, or the width of
        ``units_from``'s layer).
    """
    path = units_file(hparams)
    if os.path.isfile(path):
        return torch.load(path)
    frames, total = [], 0
    loader = sb.dataio.dataloader.make_dataloader(
        train_data, batch_size=hparams["batch_size"])
    for batch in loader:
        wavs, wav_lens = batch.sig
        feats = hparams["unit_features"](wavs, wav_lens)
        lengths = torch.round(wav_lens * feats.shape[1]).long()
        for feat, length in zip(feats, lengths):
            frames.append(feat[:length])
            total += int(length)
        if total >= hparams["kmeans_max_frames"]:
            break
    features = torch.cat(frames)[: hparams["kmeans_max_frames"]]
    logger.info(f"k-means: {hparams['num_units']} units of "
                f"{features.shape[0]} frames")
    centroids = kmeans(features, hparams["num_units"],
                       hparams["kmeans_iterations"], hparams["seed"])
    if if_main_process():
        torch.save(centroids, path)
    return centroids


def units_name(hparams):
    """The file name of a run's k-means centroids: ``kmeans_<num_units>.pt``
    (in its save folder, and beside its ``teacher.ckpt``)."""
    return f"kmeans_{hparams['num_units']}.pt"


def units_file(hparams):
    """The run's k-means centroids in its save folder."""
    return os.path.join(hparams["save_folder"], units_name(hparams))


UNITS_MODEL = "units_model.ckpt"  # beside teacher.ckpt: what later iterations cluster


def units_source(hparams):
    """Where a run's targets come from: ``{"layer": None}`` for MFCC
    (HuBERT's first iteration), else the clustered layer and the SHA-256 of
    the model it belongs to (``units_from``), so that the same units are
    recognised under another path.

    Arguments
    ---------
    hparams : dict
        The recipe's hyperparameters.

    Returns
    -------
    dict
    """
    if not hparams.get("units_from"):
        return {"layer": None}
    with open(hparams["units_from"], "rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    return {"layer": hparams["units_layer"], "model_sha256": digest}


def start_from(hparams):
    """Continued pretraining: the weights and the units of ``init_folder``
    (a pretraining run's output folder, or the published built-in model).
    The optimiser and the schedule start afresh; a run with checkpoints of
    its own resumes from them instead (they are restored later, over
    these weights).

    With targets of another source than the folder's (``units_from`` a
    first iteration's model: HuBERT's next iteration, started from the
    earlier weights to save CPU time) the units are fitted anew; a later
    iteration's folder continued on MFCC targets is refused.

    Arguments
    ---------
    hparams : dict
        The recipe's hyperparameters.

    Returns
    -------
    dict
        The folder's ``pretraining.json`` (steps and minutes so far), or
        zeros without ``init_folder``.
    """
    folder = hparams.get("init_folder")
    if not folder:
        return {"steps": 0, "minutes": 0.0}
    weights = os.path.join(folder, "teacher.ckpt")
    units = os.path.join(folder, units_name(hparams))
    for path in (weights, units):
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"init_folder: {path} not found; give the output folder of a "
                f"pretraining run (it holds teacher.ckpt and "
                f"{units_name(hparams)}) or null.")
    summary = os.path.join(folder, "pretraining.json")
    before = {"steps": 0, "minutes": 0.0}
    if os.path.isfile(summary):
        with open(summary, encoding="utf-8") as f:
            before = json.load(f)
    theirs = before.get("units", {"layer": None})
    ours = units_source(hparams)
    if theirs["layer"] is not None and ours["layer"] is None:
        raise ValueError(
            f"init_folder: {folder} was trained on units of layer "
            f"{theirs['layer']} of an earlier model; continue it with "
            f"--units_from {os.path.join(folder, UNITS_MODEL)} "
            f"--units_layer {theirs['layer']}.")
    if (if_main_process() and ours == theirs
            and not os.path.isfile(units_file(hparams))):
        shutil.copyfile(units, units_file(hparams))
    sb.utils.distributed.ddp_barrier()
    strict_transfer(hparams["teacher"], weights)
    return before


def teacher_file_dtype(hparams):
    """``teacher_file_dtype`` as a torch dtype (checked before training).

    Arguments
    ---------
    hparams : dict
        The recipe's hyperparameters.

    Returns
    -------
    torch.dtype
    """
    name = hparams.get("teacher_file_dtype") or "float32"
    if name not in ("float32", "bfloat16", "float16"):
        raise ValueError(f"teacher_file_dtype: {name!r}; use float32, "
                         "bfloat16 or float16.")
    return getattr(torch, name)


def write_teacher(hparams, brain, before, accuracy):
    """Writes the teacher (floats as ``teacher_file_dtype``: bfloat16
    halves the file), its units and ``pretraining.json`` to the output
    folder.

    Arguments
    ---------
    hparams : dict
        The recipe's hyperparameters.
    brain : TeacherPretraining
        The trained brain (its best checkpoint restored).
    before : dict
        Steps and minutes of the pretraining it continued (`start_from`).
    accuracy : float or None
        The written checkpoint's dev masked-prediction accuracy.
    """
    dtype = teacher_file_dtype(hparams)
    state = {k: v.to(dtype) if v.is_floating_point() else v
             for k, v in hparams["teacher"].state_dict().items()}
    torch.save(state, hparams["teacher_file"])
    folder = os.path.dirname(hparams["teacher_file"])
    shutil.copyfile(units_file(hparams), os.path.join(folder, units_name(hparams)))
    rows = read_progress(hparams["output_folder"])  # minutes over resumes
    summary = {"steps": before["steps"] + brain.optimizer_step,
               "minutes": round(before["minutes"] + (rows[-1][1] if rows else 0), 1),
               "dev_masked_acc": accuracy,
               "units": units_source(hparams)}
    if hparams.get("units_from"):  # the folder carries what its units need
        target = os.path.join(folder, UNITS_MODEL)
        if os.path.abspath(hparams["units_from"]) != os.path.abspath(target):
            shutil.copyfile(hparams["units_from"], target)
    with open(os.path.join(folder, "pretraining.json"), "w",
              encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    logger.info(f"teacher written to {hparams['teacher_file']}: {summary}")


def pretraining_csv(hparams):
    """The training audio: the LibriSpeech training CSV and, with
    ``unlabelled_folder``, the pool's manifest, merged into
    ``pretrain_csv`` (columns ``ID, duration, wav, spk_id``).

    Arguments
    ---------
    hparams : dict
        The recipe's hyperparameters.

    Returns
    -------
    str
        The CSV to train on.
    """
    if not hparams.get("unlabelled_folder"):
        return hparams["train_csv"]
    pool_csv = os.path.join(hparams["save_folder"], "unlabelled.csv")
    run_on_main(prepare_librilight, kwargs={
        "data_folder": hparams["unlabelled_folder"], "save_csv": pool_csv,
        "splits": hparams["unlabelled_splits"]})
    if if_main_process():
        with open(hparams["pretrain_csv"] + ".tmp", "w", newline="",
                  encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(UNLABELLED_COLUMNS)
            for path in (hparams["train_csv"], pool_csv):
                with open(path, newline="", encoding="utf-8") as fin:
                    for row in csv.DictReader(fin):
                        writer.writerow([row[c] for c in UNLABELLED_COLUMNS])
        os.replace(hparams["pretrain_csv"] + ".tmp", hparams["pretrain_csv"])
    sb.utils.distributed.ddp_barrier()
    return hparams["pretrain_csv"]


def main(argv):
    """Parses the command line, prepares data, fits the units, trains and
    writes the teacher."""
    hparams, run_opts = setup_experiment(argv)
    train_data, valid_data, _ = dataio_prepare(
        dict(hparams, train_csv=pretraining_csv(hparams)), tokenizer=None)
    train_kwargs, valid_kwargs = make_loader_kwargs(
        hparams, train_data, valid_data)

    teacher_file_dtype(hparams)
    before = start_from(hparams)
    brain = make_brain(TeacherPretraining, hparams, run_opts)
    brain.centroids = fit_units(hparams, train_data).to(brain.device)
    brain.fit(brain.hparams.epoch_counter, train_data, valid_data,
              train_loader_kwargs=train_kwargs,
              valid_loader_kwargs=valid_kwargs)
    best = brain.checkpointer.recover_if_possible(min_key="loss")
    if if_main_process():
        write_teacher(hparams, brain, before,
                      best.meta.get("masked_acc") if best else None)


if __name__ == "__main__":
    sys.exit(run_command("pretrain_teacher.py", main, sys.argv[1:], catch=RECIPE_ERRORS))
