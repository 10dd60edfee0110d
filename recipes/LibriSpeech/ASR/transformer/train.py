#!/usr/bin/env python3
"""Recipe for training a joint CTC+attention (encoder-decoder) ASR system on
LibriSpeech (or the built-in mini-librispeech) and scoring it in-domain and,
when given a Common Voice folder, out of distribution.

The model is the YAML's ``encoder_decoder``
(`speechbrain_ee.lobes.encoder_decoder.EncoderDecoderASR`): the YAML's
acoustic ``encoder`` (a SummaryMixing Conformer in
``hparams/conformer_summarymixing.yaml``, SpeechBrain's RelPosMHAXL Conformer
in ``hparams/conformer.yaml``) and SpeechBrain's Transformer decoder, with a
CTC head on the encoder (``ctc_lin``) and an attention head on the decoder
(``seq_lin``). The loss is ``ctc_weight * CTC + (1 - ctc_weight) * KL
divergence with label smoothing``, as in SpeechBrain's LibriSpeech
Transformer recipes; decoding is SpeechBrain's attention beam search with
CTC prefix scoring. Data preparation, tokens and datasets are those of the
CTC recipe (`speechbrain_ee.dataio.recipe_data`), with bos and eos tokens
for the decoder.

To run (from the repository root)::

    speechbrain-ee corpus --out corpora      # the built-in corpora, once
    python recipes/LibriSpeech/ASR/transformer/train.py \
        recipes/LibriSpeech/ASR/transformer/hparams/conformer_summarymixing.yaml

On a real LibriSpeech: add ``--data_folder /path/to/LibriSpeech`` (and
``--cv_data_folder /path/to/cv-corpus/en`` for the OOD score, or
``--cv_data_folder null`` to skip it) and the full-size model options
listed in the YAML. Multi-GPU: ``torchrun --nproc_per_node=N train.py
hparams/conformer_summarymixing.yaml``.

Authors
-------
* speechbrain-ee contributors 2026
"""

import os
import sys
import time

import speechbrain as sb
from speechbrain.utils.distributed import if_main_process
from speechbrain.utils.logger import get_logger

from speechbrain_ee.dataio.recipe_data import (
    dataio_prepare,
    make_loader_kwargs,
    update_results,
)
from speechbrain_ee.dataio.tokenizer import tokenizer_from_hparams
from speechbrain_ee.errors import RECIPE_ERRORS, run_command
from speechbrain_ee.training import (
    BudgetedBrain,
    make_brain,
    setup_experiment,
)

logger = get_logger(__name__)


class ASR(BudgetedBrain):
    """Joint CTC+attention training and scoring of the YAML's
    ``encoder_decoder``, ``ctc_lin`` and ``seq_lin``."""

    def compute_forward(self, batch, stage):
        """Waveforms -> features -> encoder and decoder -> CTC and attention
        log-probabilities; on dev (every ``valid_search_interval`` epochs)
        and test, the beam search hypotheses."""
        batch = batch.to(self.device)
        wavs, wav_lens = batch.sig
        tokens_bos, _ = batch.tokens_bos
        if self.augmenting(stage):
            wavs, wav_lens = self.hparams.wav_augment(wavs, wav_lens)
            tokens_bos = self.hparams.wav_augment.replicate_labels(tokens_bos)
        feats = self.hparams.compute_features(wavs)
        feats = self.modules.normalize(
            feats, wav_lens, epoch=self.hparams.epoch_counter.current
        )
        if self.augmenting(stage, "fea_augment"):
            feats, wav_lens = self.hparams.fea_augment(feats, wav_lens)
            tokens_bos = self.hparams.fea_augment.replicate_labels(tokens_bos)

        enc_out, dec_out = self.modules.encoder_decoder(
            feats, wav_lens, tokens_bos, pad_idx=self.hparams.pad_index
        )
        p_ctc = self.hparams.log_softmax(self.modules.ctc_lin(enc_out))
        p_seq = self.hparams.log_softmax(self.modules.seq_lin(dec_out))

        hyps = None
        if stage == sb.Stage.VALID and self._valid_search_now():
            hyps, _, _, _ = self.hparams.valid_search(enc_out.detach(),
                                                      wav_lens)
        elif stage == sb.Stage.TEST:
            hyps, _, _, _ = self.hparams.test_search(enc_out.detach(),
                                                     wav_lens)
        return p_ctc, p_seq, wav_lens, hyps

    def _valid_search_now(self):
        """Whether this epoch's validation decodes (for the WER)."""
        epoch = self.hparams.epoch_counter.current
        return (epoch % self.hparams.valid_search_interval == 0
                or epoch == self.hparams.epoch_counter.limit)

    def compute_objectives(self, predictions, batch, stage):
        """CTC + attention loss; WER and CER of the hypotheses."""
        p_ctc, p_seq, wav_lens, hyps = predictions
        ids = batch.id
        tokens_eos, tokens_eos_lens = batch.tokens_eos
        tokens, tokens_lens = batch.tokens
        if stage == sb.Stage.TRAIN:
            for augment in ("wav_augment", "fea_augment"):
                if self.augmenting(stage, augment):
                    (tokens, tokens_lens, tokens_eos, tokens_eos_lens) = (
                        getattr(self.hparams, augment)
                        .replicate_multiple_labels(
                            tokens, tokens_lens, tokens_eos, tokens_eos_lens
                        )
                    )
        loss_ctc = self.hparams.ctc_cost(p_ctc, tokens, wav_lens, tokens_lens)
        loss_seq = self.hparams.seq_cost(p_seq, tokens_eos,
                                         length=tokens_eos_lens)
        ctc_weight = self.hparams.ctc_weight
        loss = ctc_weight * loss_ctc + (1 - ctc_weight) * loss_seq

        if stage != sb.Stage.TRAIN:
            self.acc_metric.append(p_seq, tokens_eos, tokens_eos_lens)
            target_words = [wrd.split(" ") for wrd in batch.wrd]
            if hyps is not None:
                words = [self.tokenizer.decode_ids(seq).split()
                         for seq in hyps]
                self.wer_metric.append(ids, words, target_words)
                self.cer_metric.append(ids, words, target_words)
            if stage == sb.Stage.TEST:
                greedy = sb.decoders.ctc_greedy_decode(
                    p_ctc, wav_lens, blank_id=self.hparams.blank_index
                )
                ctc_words = [self.tokenizer.decode_ids(seq).split()
                             for seq in greedy]
                self.ctc_wer_metric.append(ids, ctc_words, target_words)
                self.ctc_cer_metric.append(ids, ctc_words, target_words)
        return loss

    def on_stage_start(self, stage, epoch=None):
        """Resets the metrics and times the stage."""
        self.stage_start_time = time.time()
        if stage != sb.Stage.TRAIN:
            self.acc_metric = self.hparams.acc_computer()
            self.wer_metric = self.hparams.error_rate_computer()
            self.cer_metric = self.hparams.cer_computer()
        if stage == sb.Stage.TEST:
            self.ctc_wer_metric = self.hparams.error_rate_computer()
            self.ctc_cer_metric = self.hparams.cer_computer()

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """Logs, checkpoints, schedules and writes the WER files."""
        elapsed = time.time() - self.stage_start_time
        stage_stats = {"loss": stage_loss}
        if stage == sb.Stage.TRAIN:
            self.train_stats = dict(stage_stats, minutes=elapsed / 60)
            return
        stage_stats["ACC"] = self.acc_metric.summarize()
        if self.wer_metric.scores:
            stage_stats["WER"] = self.wer_metric.summarize("error_rate")
            stage_stats["CER"] = self.cer_metric.summarize("error_rate")
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
        # As SpeechBrain's Transformer recipes: keep the best checkpoints by
        # dev accuracy of the attention decoder (available every epoch, the
        # WER only every valid_search_interval epochs); test averages them.
        self.checkpointer.save_and_keep_only(
            meta={"ACC": stage_stats["ACC"], "epoch": epoch},
            max_keys=["ACC"],
            num_to_keep=self.hparams.avg_checkpoints,
        )

    def _end_of_test(self, stage_stats):
        """Writes the WER files and the results summary of one test set."""
        stage_stats["ctc_greedy_WER"] = self.ctc_wer_metric.summarize(
            "error_rate")
        stage_stats["ctc_greedy_CER"] = self.ctc_cer_metric.summarize(
            "error_rate")
        self.log_test(
            stats_meta={"test set": self.test_name,
                        "epochs trained": self.hparams.epoch_counter.current},
            test_stats=stage_stats,
        )
        if not if_main_process():
            return
        folder = self.hparams.output_wer_folder
        os.makedirs(folder, exist_ok=True)
        for tag, metric in (
            ("beam", self.wer_metric),
            ("ctc_greedy", self.ctc_wer_metric),
        ):
            path = os.path.join(folder, f"wer_{self.test_name}_{tag}.txt")
            with open(path, "w", encoding="utf-8") as w:
                metric.write_stats(w)
        update_results(
            os.path.join(self.hparams.output_folder, "results.json"),
            self.test_name,
            stage_stats,
        )

    def on_evaluate_start(self, max_key=None, min_key=None):
        """Loads the best checkpoint, then the average of the model weights
        of the kept checkpoints (the ``avg_checkpoints`` best by dev ACC)."""
        super().on_evaluate_start(max_key=max_key, min_key=min_key)
        ckpts = self.checkpointer.find_checkpoints(
            max_key=max_key, min_key=min_key
        )
        if len(ckpts) > 1:
            averaged = sb.utils.checkpoints.average_checkpoints(
                ckpts, recoverable_name="model"
            )
            self.hparams.model.load_state_dict(averaged, strict=True)
        self.hparams.model.eval()

    def score(self, name, dataset, loader_kwargs):
        """Evaluates the averaged best checkpoints on one test set.

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
        self.evaluate(dataset, max_key="ACC", test_loader_kwargs=loader_kwargs)


def main(argv):
    """Parses the command line, prepares data, trains and scores."""
    hparams, run_opts = setup_experiment(argv)
    tokenizer = tokenizer_from_hparams(hparams)
    train_data, valid_data, tests = dataio_prepare(
        hparams, tokenizer,
        bos_index=hparams["bos_index"], eos_index=hparams["eos_index"],
    )
    train_kwargs, valid_kwargs = make_loader_kwargs(
        hparams, train_data, valid_data
    )

    asr_brain = make_brain(ASR, hparams, run_opts)
    asr_brain.tokenizer = tokenizer

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
