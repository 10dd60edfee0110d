#!/usr/bin/env python3
"""Recipe: distil a frozen SSL teacher (HuBERT-style) into a small student
on unlabelled audio (spec ``../shared/specs/distillation.md``).

The YAML gives the teacher (a real HuBERT/wav2vec2 through
``teacher_source``, or the built-in one of ``pretrain_teacher.py``), the
student (`speechbrain_ee.distill.student`: waveform CNN or Fbank front end,
shared or layer-wise prediction heads) and the loss weights: regression
(L1 + log-sigmoid cosine) on the predicted teacher layers, plus ``alpha``
x the discriminative loss on the teacher's codewords. With a front end of
the student's own (Fbank, or a waveform CNN narrower than the teacher's),
the first ``frontend_steps`` optimiser steps train only the front end to
match the teacher's first hidden state (stage 1), then everything.

To run (from the repository root, after pretrain_teacher.py)::

    python recipes/LibriSpeech/distill/train.py \
        recipes/LibriSpeech/distill/hparams/distill_deep_thin.yaml

It writes ``<output_folder>/student.ckpt`` and ``normalizer.ckpt`` (the
best checkpoint's, lowest dev loss), which ``hparams/distilled_student_ctc.yaml`` of the CTC
recipe fine-tunes.

Authors
-------
* speechbrain-ee contributors 2026
"""

import sys

import speechbrain as sb
from speechbrain.utils.checkpoints import DEFAULT_SAVE_HOOKS, get_default_hook
from speechbrain.utils.distributed import if_main_process
from speechbrain.utils.logger import get_logger

from speechbrain_ee.dataio.recipe_data import (
    dataio_prepare,
    make_loader_kwargs,
)
from speechbrain_ee.distill.losses import (
    discriminative_loss,
    frontend_loss,
    regression_loss,
)
from speechbrain_ee.errors import RECIPE_ERRORS, run_command
from speechbrain_ee.training import (
    BudgetedBrain,
    make_brain,
    setup_experiment,
)

logger = get_logger(__name__)


class Distillation(BudgetedBrain):
    """Teacher -> student distillation (the teacher stays outside
    ``modules``: frozen, never wrapped or optimised)."""

    def on_fit_start(self):
        """Moves the teacher; initialises the student from it (first run
        only: a checkpoint, when there is one, then overwrites it)."""
        self.teacher = self.hparams.teacher.to(self.device)
        if self.checkpointer.find_checkpoint() is None:
            self.modules.student.init_from_teacher(
                self.teacher, self.hparams.init_layers_from_teacher,
                self.hparams.init_cnn_from_teacher)
        super().on_fit_start()

    @property
    def in_frontend_stage(self):
        """Stage 1 of the Fbank algorithm: the first ``frontend_steps``
        optimiser steps."""
        return self.optimizer_step < self.hparams.frontend_steps

    def compute_forward(self, batch, stage):
        """Teacher and student on the batch."""
        batch = batch.to(self.device)
        wavs, wav_lens = batch.sig
        target = self.teacher(wavs, wav_lens)
        inputs = self.hparams.compute_features(wavs)
        inputs = self.modules.normalize(
            inputs, wav_lens, epoch=self.hparams.epoch_counter.current)
        out = self.modules.student(inputs, wav_lens,
                                   frontend_only=self.in_frontend_stage)
        return out, target

    def compute_objectives(self, predictions, batch, stage):
        """Stage 1: the front-end loss; then regression + alpha x
        discriminative. Frames are trimmed to the shorter of the two."""
        out, target = predictions
        length = min(target.frame_mask.shape[1], out.frame_mask.shape[1])
        mask = (target.frame_mask[:, :length] & out.frame_mask[:, :length])
        if self.in_frontend_stage:
            loss = frontend_loss(out.frontend_projection[:, :length],
                                 target.hidden_states[0][:, :length], mask)
            self.parts.append({"frontend": float(loss.detach())})
            return loss
        reg = regression_loss(
            {k: v[:, :length] for k, v in out.predictions.items()},
            {k: target.hidden_states[k][:, :length]
             for k in out.predictions},
            mask, self.hparams.l1_weight, self.hparams.cos_weight)
        loss, parts = reg.loss, {"l1": float(reg.l1.detach()),
                                 "cos": float(reg.cos.detach())}
        if self.hparams.alpha > 0 and out.codeword_logits is not None:
            if target.codeword_logits is None:
                raise ValueError(
                    "alpha > 0 needs the teacher's codeword head: give "
                    "teacher_fairseq_head for a real HuBERT, or alpha: 0.")
            kd = discriminative_loss(
                out.codeword_logits[:, :length],
                target.codeword_logits[:, :length], mask,
                self.hparams.kd_temperature)
            loss = loss + self.hparams.alpha * kd
            parts["kd"] = float(kd.detach())
        self.parts.append(parts)
        return loss

    def on_stage_start(self, stage, epoch=None):
        """Resets the loss parts."""
        self.parts = []

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """Logs the loss and its parts; checkpoints on the dev loss."""
        stats = {"loss": stage_loss}
        for key in sorted({k for p in self.parts for k in p}):
            values = [p[key] for p in self.parts if key in p]
            stats[key] = sum(values) / len(values)
        if stage == sb.Stage.TRAIN:
            self.train_stats = stats
            return
        self.hparams.train_logger.log_stats(
            stats_meta={"epoch": epoch,
                        "lr": self.learning_rate,
                        "steps": self.optimizer_step,
                        "stage": "front end" if self.in_frontend_stage
                        else "full"},
            train_stats=self.train_stats, valid_stats=stats)
        # Stage 1's loss is not comparable with stage 2's: keep the last
        # checkpoint then, the best dev loss afterwards.
        key = "frontend_loss" if self.in_frontend_stage else "loss"
        self.checkpointer.save_and_keep_only(
            meta={key: stage_loss, "epoch": epoch}, min_keys=[key],
            num_to_keep=1)


def main(argv):
    """Parses the command line, prepares data, distils and writes the
    student."""
    hparams, run_opts = setup_experiment(argv)
    train_data, valid_data, _ = dataio_prepare(hparams, tokenizer=None)
    train_kwargs, valid_kwargs = make_loader_kwargs(
        hparams, train_data, valid_data)

    brain = make_brain(Distillation, hparams, run_opts)
    brain.fit(brain.hparams.epoch_counter, train_data, valid_data,
              train_loader_kwargs=train_kwargs,
              valid_loader_kwargs=valid_kwargs)
    brain.checkpointer.recover_if_possible(min_key="loss")
    if if_main_process():
        for key, path in (("student", hparams["student_file"]),
                          ("normalize", hparams["normalizer_file"])):
            save_hook(hparams[key], path)
        logger.info(f"student written to {hparams['student_file']}")


def save_hook(obj, path):
    """Saves ``obj`` as SpeechBrain's checkpointer would (its own saver if
    it has one: InputNormalization does), so a Pretrainer loads it."""
    hook = get_default_hook(obj, DEFAULT_SAVE_HOOKS)
    if hook is None:
        raise TypeError(f"no SpeechBrain save hook for {type(obj).__name__}")
    hook(obj, path)


if __name__ == "__main__":
    sys.exit(run_command("train.py", main, sys.argv[1:], catch=RECIPE_ERRORS))
