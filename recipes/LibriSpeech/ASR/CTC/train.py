#!/usr/bin/env python3
"""Recipe for training a CTC ASR system on LibriSpeech (or the built-in
mini-librispeech) and scoring it in-domain and, when given a Common Voice
folder, out of distribution.

The model is whatever the YAML's ``ctc_model`` builds (SpeechBrain's
Conformer and a CTC layer in ``hparams/conformer_ctc.yaml``; early exits,
blank skip or both in the dynamic YAMLs), answering through
`speechbrain_ee.lobes.contract`; tokens come from a SentencePiece model that
the recipe trains on the training transcripts.

To run (from the repository root)::

    speechbrain-ee corpus --out corpora      # the built-in corpora, once
    python recipes/LibriSpeech/ASR/CTC/train.py \
        recipes/LibriSpeech/ASR/CTC/hparams/conformer_ctc.yaml

On a real LibriSpeech: add ``--data_folder /path/to/LibriSpeech`` (and
``--cv_data_folder /path/to/cv-corpus/en`` for the OOD score, or
``--cv_data_folder null`` to skip it). Multi-GPU: ``torchrun
--nproc_per_node=N train.py hparams/conformer_ctc.yaml``.

Authors
-------
* speechbrain-ee contributors 2026
"""

import os
import sys
import time

import numpy as np
import speechbrain as sb
import torch
from speechbrain.utils.distributed import if_main_process
from speechbrain.utils.logger import get_logger

from speechbrain_ee.analysis.timing import measure_speed, medians, speedups
from speechbrain_ee.dataio.recipe_data import (
    ckpt_metric,
    dataio_prepare,
    dev_checkpoint,
    dev_selection,
    make_loader_kwargs,
    update_results,
)
from speechbrain_ee.dataio.tokenizer import tokenizer_from_hparams
from speechbrain_ee.decoding.exit_strategies import (
    oracle_exits,
    overthinking,
    simulate,
)
from speechbrain_ee.decoding.ctc import frame_lengths, greedy_decoder, word_errors
from speechbrain_ee.decoding.lexicon import csv_transcripts
from speechbrain_ee.distill.hubert import load_weights
from speechbrain_ee.errors import RECIPE_ERRORS, run_command
from speechbrain_ee.lobes.contract import inference_options
from speechbrain_ee.lobes.streaming import chunk_label, front_end_properties
from speechbrain_ee.training import (
    BudgetedBrain,
    load_pretrained,
    make_brain,
    param_groups,
    setup_experiment,
)

logger = get_logger(__name__)


class ASR(BudgetedBrain):
    """CTC training and scoring of the YAML's ``ctc_model``.

    The model answers through `speechbrain_ee.lobes.contract`: every CTC
    head's log-probabilities (one for a plain encoder; the exits and the
    blank-skip stage's head for a dynamic one) with their loss weights, the
    model's auxiliary loss (the blank-skip distillation term) and the frames
    it skipped. The loss is the weighted sum of the heads' CTC losses plus
    the auxiliary loss (from ``aux_loss_start_step``); dev and test report
    every head's WER; the test stage also scores the YAML's
    ``exit_strategy`` (if any), the oracle and the overthinking statistic,
    and times the YAML's inference setting against the full model.

    Streaming YAMLs train with dynamic chunks (SpeechBrain's
    ``DynChunkTrainConfigRandomSampler``, ``dynchunktrain_config_sampler``)
    and score dev and test at full context and at each of their
    ``streaming_eval_configs`` (the chunk-masked pass that streaming
    inference reproduces): ``WER_chunk<ms>ms_left<chunks>``.
    """

    lexicon_searcher = None  # main() sets the YAML's `lexicon_searcher`
    encoder_params = ()  # trained encoder parameters (encoder_freeze_steps)
    ckpt_metric = "WER"  # main() sets the YAML's (recipe_data.ckpt_metric)

    def init_optimizers(self):
        """SpeechBrain's optimiser; with ``encoder_lr_scale`` (SSL
        fine-tuning) the encoder's parameters in a group of their own at
        that share of the learning rate (`param_groups`)."""
        encoder = self.model.encoder
        if getattr(self.hparams, "encoder_freeze_steps", 0):
            self.encoder_params = [p for p in encoder.parameters()
                                   if p.requires_grad]
        scale = getattr(self.hparams, "encoder_lr_scale", None)
        if scale is None or self.opt_class is None:
            return super().init_optimizers()
        self.optimizer = self.opt_class(
            param_groups(self.modules, encoder, scale))
        self.optimizers_dict = {"opt_class": self.optimizer}
        if self.checkpointer is not None:
            self.checkpointer.add_recoverable("optimizer", self.optimizer)

    def fit_batch(self, batch):
        """One step; the encoder stays fixed (no gradient computed) for the
        first ``encoder_freeze_steps`` optimiser steps, as in wav2vec2 and
        HuBERT fine-tuning: the new head learns on the pretrained features
        first."""
        frozen = self.optimizer_step < getattr(
            self.hparams, "encoder_freeze_steps", 0)
        for param in self.encoder_params:
            param.requires_grad_(not frozen)
        return super().fit_batch(batch)

    def compute_forward(self, batch, stage):
        """Waveforms -> features -> the model's `EncoderOutput`."""
        batch = batch.to(self.device)
        wavs, wav_lens = batch.sig
        if self.augmenting(stage):
            wavs, wav_lens = self.hparams.wav_augment(wavs, wav_lens)
        feats = self.hparams.compute_features(wavs)
        feats = self.modules.normalize(
            feats, wav_lens, epoch=self.hparams.epoch_counter.current
        )
        if self.augmenting(stage, "fea_augment"):
            feats, _ = self.hparams.fea_augment(feats, wav_lens)
        if stage == sb.Stage.TEST and self.timing_setting and (
                len(self.speed_inputs) < self.hparams.speed_test_batches):
            self.speed_inputs.append((feats, wav_lens))
        options = self.model_options(stage)
        config = self.chunk_config(stage)
        if config is not None:
            options["dynchunktrain_config"] = config
        out = self.modules.ctc_model(feats, wav_lens, **options)
        chunked = {}
        if stage != sb.Stage.TRAIN:
            options.pop("dynchunktrain_config", None)
            for label, config in self.streaming_evals.items():
                chunked[label] = self.modules.ctc_model(
                    feats, wav_lens, dynchunktrain_config=config, **options).output
        return out, wav_lens, chunked

    def chunk_config(self, stage):
        """The stage's dynamic chunk configuration: the YAML's
        ``dynchunktrain_config_sampler`` (a random chunk size and left
        context in training; its valid and test configs, full context by
        default, in evaluation); None without one or with ``streaming:
        False``."""
        sampler = getattr(self.hparams, "dynchunktrain_config_sampler", None)
        if sampler is None or not getattr(self.hparams, "streaming", True):
            return None
        return sampler(stage)

    @property
    def streaming_evals(self):
        """Label -> ``DynChunkTrainConfig`` of the YAML's
        ``streaming_eval_configs`` (dev and test WER of each), e.g.
        ``chunk640ms_left4``."""
        if not hasattr(self, "_streaming_evals"):
            configs = getattr(self.hparams, "streaming_eval_configs", None) or []
            if not configs:
                self._streaming_evals = {}
                return self._streaming_evals
            stride = front_end_properties(
                self.hparams.compute_features,
                getattr(self.model.encoder, "front_end", None)).stride
            seconds = stride / self.hparams.sample_rate
            self._streaming_evals = {chunk_label(c, seconds): c for c in configs}
        return self._streaming_evals

    @property
    def model(self):
        """The YAML's model (not wrapped for DDP)."""
        return self.hparams.ctc_model

    @property
    def head_layers(self):
        """The layer after each of the model's CTC heads."""
        return self.model.head_layers

    @property
    def timing_setting(self):
        """The YAML's inference options, if the test stage times them
        against the full model (``speed_test_batches`` > 0)."""
        if getattr(self.hparams, "speed_test_batches", 0) <= 0:
            return {}
        return inference_options(self.hparams)

    def model_options(self, stage):
        """The skip options of the YAML (``skip_threshold``,
        ``spike_width``); in training only once ``skip_warmup_steps``
        optimiser steps are done, and if ``skip_in_training``. Every head is
        computed: the exit strategy is simulated on them at test time."""
        options = inference_options(self.hparams)
        options.pop("exit_strategy", None)
        if stage == sb.Stage.TRAIN and not (
            getattr(self.hparams, "skip_in_training", False)
            and self.optimizer_step >= getattr(self.hparams, "skip_warmup_steps", 0)
        ):
            options.pop("skip_threshold", None)
        return options

    def compute_objectives(self, predictions, batch, stage):
        """Weighted CTC losses of the heads plus the auxiliary loss; on dev
        and test, greedy (and on test, beam and lexicon) WER of the model's
        output, and every head's greedy WER."""
        out, wav_lens, chunked = predictions
        ids = batch.id
        tokens, tokens_lens = batch.tokens
        if self.augmenting(stage):
            tokens, tokens_lens = self.hparams.wav_augment.replicate_multiple_labels(
                tokens, tokens_lens
            )
        losses = [
            self.hparams.ctc_cost(p, tokens, wav_lens, tokens_lens)
            for p in out.heads
        ]
        loss = sum(w * l for w, l in zip(out.loss_weights, losses))
        loss = loss + self._aux_loss(out, stage)
        if len(out.heads) > 1:
            self.head_losses.append([float(l.detach()) for l in losses])
        if stage == sb.Stage.TRAIN:
            return loss
        p_ctc = out.output
        target_words = [wrd.split(" ") for wrd in batch.wrd]
        head_words = [self.greedy_words(p, wav_lens) for p in out.heads]
        # the output is the last head's (every head computed): decoded once
        words = head_words[-1] if p_ctc is out.heads[-1] else self.greedy_words(
            p_ctc, wav_lens)
        self.wer_metric.append(ids, words, target_words)
        self.cer_metric.append(ids, words, target_words)
        for label, p_chunked in chunked.items():
            self.chunk_wer_metrics[label].append(
                ids, self.greedy_words(p_chunked, wav_lens), target_words)
        if len(out.heads) > 1:
            for metric, hyps in zip(self.head_wer_metrics, head_words):
                metric.append(ids, hyps, target_words)
        if stage == sb.Stage.TEST:
            hyps = self.test_searcher(p_ctc, wav_lens)
            beam_words = [hyp[0].text.split() for hyp in hyps]
            self.beam_wer_metric.append(ids, beam_words, target_words)
            self.beam_cer_metric.append(ids, beam_words, target_words)
            if self.lexicon_searcher is not None:
                lexicon_words = self.lexicon_searcher(p_ctc, wav_lens)
                self.lexicon_wer_metric.append(ids, lexicon_words, target_words)
                self.lexicon_cer_metric.append(ids, lexicon_words, target_words)
            if len(out.heads) > 1 and getattr(self.hparams, "exit_strategy", None):
                self._score_exit_strategy(out.heads, wav_lens, head_words,
                                          target_words)
        return loss

    def _aux_loss(self, out, stage):
        """The model's auxiliary loss (in training from
        ``aux_loss_start_step`` optimiser steps on: distilling the final
        head on the CTC plateau teaches the shared lower layers blanks and
        keeps the model there); counts skipped frames."""
        if out.skipped is not None:
            self.skip_stats.append((float(out.aux_loss.detach()), out.skipped_frames,
                                    out.real_frames))
        if stage == sb.Stage.TRAIN and self.optimizer_step < getattr(
                self.hparams, "aux_loss_start_step", 0):
            return 0.0 * out.aux_loss
        return out.aux_loss

    def _score_exit_strategy(self, heads, wav_lens, head_words, targets):
        """Word errors of every head, and the YAML strategy's decisions."""
        lengths = frame_lengths(wav_lens.cpu(), heads[0].shape[1])
        chosen, stopped = simulate(
            self.hparams.exit_strategy, [p.cpu() for p in heads], lengths,
            self.head_layers,
        )
        for n, target in enumerate(targets):
            self.exit_errors.append(
                [word_errors(hyps[n], target) for hyps in head_words]
            )
            self.exit_ref_words.append(len(target))
            self.strategy_picks.append(
                (int(chosen[n]), self.head_layers[int(stopped[n])])
            )

    def on_stage_start(self, stage, epoch=None):
        """Resets the metrics and times the stage."""
        self.stage_start_time = time.time()
        self.head_losses = []
        self.head_wer_metrics = [
            self.hparams.error_rate_computer() for _ in self.head_layers
        ]
        self.exit_errors, self.exit_ref_words = [], []
        self.strategy_picks = []
        self.skip_stats, self.speed_inputs = [], []
        if stage != sb.Stage.TRAIN:
            self.wer_metric = self.hparams.error_rate_computer()
            self.cer_metric = self.hparams.cer_computer()
            self.chunk_wer_metrics = {label: self.hparams.error_rate_computer()
                                      for label in self.streaming_evals}
        if stage == sb.Stage.TEST:
            self.beam_wer_metric = self.hparams.error_rate_computer()
            self.beam_cer_metric = self.hparams.cer_computer()
            self.lexicon_wer_metric = self.hparams.error_rate_computer()
            self.lexicon_cer_metric = self.hparams.cer_computer()

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """Logs, checkpoints, schedules and writes the WER files."""
        elapsed = time.time() - self.stage_start_time
        stage_stats = {"loss": stage_loss}
        if self.head_losses:
            means = torch.tensor(self.head_losses).mean(dim=0).tolist()
            for layer, value in zip(self.head_layers, means):
                stage_stats[f"loss_L{layer}"] = value
        if self.skip_stats:
            stage_stats.update(self._skip_summary())
        if stage == sb.Stage.TEST and self.speed_inputs and self.hparams.speed_repeats > 0:
            stage_stats.update(self._speed_summary())
        if stage == sb.Stage.TRAIN:
            self.train_stats = dict(stage_stats, minutes=elapsed / 60)
            return
        stage_stats["WER"] = self.wer_metric.summarize("error_rate")
        stage_stats["CER"] = self.cer_metric.summarize("error_rate")
        for label, metric in self.chunk_wer_metrics.items():
            stage_stats[f"WER_{label}"] = metric.summarize("error_rate")
        if len(self.head_layers) > 1:
            for layer, metric in zip(self.head_layers, self.head_wer_metrics):
                stage_stats[f"WER_L{layer}"] = metric.summarize("error_rate")
        if stage == sb.Stage.TEST and self.exit_errors:
            stage_stats.update(self._exit_summary())
        if stage == sb.Stage.VALID:
            self._end_of_valid_epoch(epoch, stage_stats)
        else:
            self._end_of_test(stage_stats)

    def _end_of_valid_epoch(self, epoch, stage_stats):
        """Logs the epoch, saves a checkpoint, applies the time budget."""
        lr = self.learning_rate
        self.hparams.train_logger.log_stats(
            stats_meta={"epoch": epoch, "lr": lr, "steps": self.optimizer_step},
            train_stats=self.train_stats,
            valid_stats=stage_stats,
        )
        # ckpt_metric in the meta: export and analysis pick the same
        # checkpoint (dev_selection)
        self.checkpointer.save_and_keep_only(
            **dev_checkpoint(stage_stats, epoch, self.ckpt_metric))

    def _end_of_test(self, stage_stats):
        """Writes the WER files and the results summary of one test set."""
        stage_stats["beam_WER"] = self.beam_wer_metric.summarize("error_rate")
        stage_stats["beam_CER"] = self.beam_cer_metric.summarize("error_rate")
        tags = [("greedy", self.wer_metric), ("beam", self.beam_wer_metric)]
        if self.lexicon_searcher is not None:
            stage_stats["lexicon_WER"] = self.lexicon_wer_metric.summarize("error_rate")
            stage_stats["lexicon_CER"] = self.lexicon_cer_metric.summarize("error_rate")
            tags.append(("lexicon", self.lexicon_wer_metric))
        self.log_test(
            stats_meta={"test set": self.test_name,
                        "epochs trained": self.hparams.epoch_counter.current},
            test_stats=stage_stats,
        )
        if not if_main_process():
            return
        folder = self.hparams.output_wer_folder
        os.makedirs(folder, exist_ok=True)
        for tag, metric in tags:
            path = os.path.join(folder, f"wer_{self.test_name}_{tag}.txt")
            with open(path, "w", encoding="utf-8") as w:
                metric.write_stats(w)
        update_results(
            os.path.join(self.hparams.output_folder, "results.json"),
            self.test_name,
            stage_stats,
        )

    def _skip_summary(self):
        """The stage's auxiliary (distillation) loss and share of frames
        skipped."""
        aux, skipped, frames = zip(*self.skip_stats)
        return {
            "loss_aux": float(np.mean(aux)),
            "skipped_share": sum(skipped) / max(1, sum(frames)),
        }

    def _speed_summary(self):
        """The speed-up of the YAML's inference setting (exit strategy,
        skip threshold) over the full model (every layer, every frame),
        measured side by side on the first ``speed_test_batches`` test
        batches."""
        variant = self.model.inference_variant(**self.timing_setting)
        times = measure_speed(self.model, self.speed_inputs, {"dynamic": variant},
                              self.hparams.speed_repeats)
        seconds = medians(times)
        return dict(speedups(times, "dynamic"), time_full_s=seconds["full"],
                    time_dynamic_s=seconds["dynamic"])

    def _exit_summary(self):
        """The test set's strategy, oracle and overthinking numbers."""
        errors = np.asarray(self.exit_errors)
        words = max(1, sum(self.exit_ref_words))
        chosen = np.asarray([c for c, _ in self.strategy_picks])
        layers = np.asarray([s for _, s in self.strategy_picks])
        rows = np.arange(len(errors))
        oracle = oracle_exits(errors)
        exit_layers = np.asarray(self.head_layers)
        num_layers = self.model.num_layers
        thinking = overthinking(errors)
        return {
            "strategy_WER": 100.0 * errors[rows, chosen].sum() / words,
            "strategy_avg_layers": float(layers.mean()),
            "strategy_compute": float(layers.mean()) / num_layers,
            "oracle_WER": 100.0 * errors[rows, oracle].sum() / words,
            "oracle_avg_layers": float(exit_layers[oracle].mean()),
            "overthinking_share": thinking["share"],
            "overthinking_WER_gain": 100.0 * thinking["errors_saved"] / words,
        }

    def score(self, name, dataset, loader_kwargs):
        """Evaluates the best checkpoint on one test set.

        Arguments
        ---------
        name : str
            Test set name, used in the WER file names and results.json.
        dataset : DynamicItemDataset
            The test set.
        loader_kwargs : dict
            DataLoader options.
        """
        self.test_name = name
        self.evaluate(dataset, test_loader_kwargs=loader_kwargs)

    def on_evaluate_start(self, max_key=None, min_key=None):
        """Scores the checkpoint `dev_selection` picks (lowest dev
        ``ckpt_metric``), the one export and the analysis tools load."""
        if self.checkpointer is not None:
            self.checkpointer.recover_if_possible(**dev_selection())


def main(argv):
    """Parses the command line, prepares data, trains and scores."""
    hparams, run_opts = setup_experiment(argv)
    metric = ckpt_metric(hparams)  # checked before anything is prepared
    tokenizer = tokenizer_from_hparams(hparams)
    train_data, valid_data, tests = dataio_prepare(hparams, tokenizer)
    train_kwargs, valid_kwargs = make_loader_kwargs(
        hparams, train_data, valid_data
    )

    asr_brain = make_brain(ASR, hparams, run_opts)
    asr_brain.ckpt_metric = metric
    asr_brain.tokenizer = tokenizer
    asr_brain.greedy_words = greedy_decoder(tokenizer, hparams["blank_index"])
    vocab_list = [
        tokenizer.id_to_piece(i) for i in range(tokenizer.vocab_size())
    ]
    asr_brain.test_searcher = hparams["test_searcher"](vocab_list=vocab_list)
    if hparams.get("lexicon_searcher") is not None:
        asr_brain.lexicon_searcher = hparams["lexicon_searcher"](
            tokenizer=tokenizer, transcripts=csv_transcripts([hparams["train_csv"]]),
            folder=hparams["save_folder"])
    if "pretrainer" in hparams:  # e.g. a distilled student to fine-tune
        load_pretrained(hparams["pretrainer"])
    if hparams.get("warm_start"):  # another run's weights for one module
        load_weights(hparams[hparams["warm_start_key"]],
                     hparams["warm_start"], hparams["warm_start_prefix"])

    asr_brain.fit(
        asr_brain.hparams.epoch_counter,
        train_data,
        valid_data,
        train_loader_kwargs=train_kwargs,
        valid_loader_kwargs=valid_kwargs,
    )
    for name, dataset in tests.items():
        asr_brain.score(name, dataset, hparams["test_dataloader_opts"])


if __name__ == "__main__":
    sys.exit(run_command("train.py", main, sys.argv[1:], catch=RECIPE_ERRORS))
