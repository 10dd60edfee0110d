#!/usr/bin/env python3
"""Recipe for training a CTC ASR system on LibriSpeech (or the built-in
mini-librispeech) and scoring it in-domain and, when given a Common Voice
folder, out of distribution.

The encoder is whatever the YAML's ``encoder`` builds (SpeechBrain's
Conformer in ``hparams/conformer_ctc.yaml``); tokens come from a
SentencePiece model that the recipe trains on the training transcripts.

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

import json
import os
import sys
import time

import speechbrain as sb
import torch
from hyperpyyaml import load_hyperpyyaml
from speechbrain.dataio.dataio import merge_csvs
from speechbrain.utils.distributed import if_main_process, run_on_main
from speechbrain.utils.logger import get_logger

from speechbrain_ee.dataio.audio import load_audio
from speechbrain_ee.dataio.common_voice_prepare import prepare_common_voice
from speechbrain_ee.dataio.librispeech_prepare import prepare_librispeech
from speechbrain_ee.dataio.tokenizer import train_tokenizer

logger = get_logger(__name__)

CV_TEST_NAME = "cv-test"


class ASR(sb.Brain):
    """CTC training and scoring of the YAML's ``encoder`` and ``ctc_lin``."""

    def compute_forward(self, batch, stage):
        """Waveforms -> features -> encoder -> CTC log-probabilities."""
        batch = batch.to(self.device)
        wavs, wav_lens = batch.sig
        if stage == sb.Stage.TRAIN and hasattr(self.hparams, "wav_augment"):
            wavs, wav_lens = self.hparams.wav_augment(wavs, wav_lens)
        feats = self.hparams.compute_features(wavs)
        feats = self.modules.normalize(
            feats, wav_lens, epoch=self.hparams.epoch_counter.current
        )
        if stage == sb.Stage.TRAIN and hasattr(self.hparams, "fea_augment"):
            feats, _ = self.hparams.fea_augment(feats, wav_lens)
        encoded = self.modules.encoder(feats, wav_lens)
        p_ctc = self.hparams.log_softmax(self.modules.ctc_lin(encoded))
        return p_ctc, wav_lens

    def compute_objectives(self, predictions, batch, stage):
        """CTC loss; on dev and test, greedy (and on test, beam) WER."""
        p_ctc, wav_lens = predictions
        ids = batch.id
        tokens, tokens_lens = batch.tokens
        if stage == sb.Stage.TRAIN and hasattr(self.hparams, "wav_augment"):
            tokens, tokens_lens = self.hparams.wav_augment.replicate_multiple_labels(
                tokens, tokens_lens
            )
        loss = self.hparams.ctc_cost(p_ctc, tokens, wav_lens, tokens_lens)
        if stage != sb.Stage.TRAIN:
            target_words = [wrd.split(" ") for wrd in batch.wrd]
            greedy = sb.decoders.ctc_greedy_decode(
                p_ctc, wav_lens, blank_id=self.hparams.blank_index
            )
            words = [self.tokenizer.decode_ids(seq).split() for seq in greedy]
            self.wer_metric.append(ids, words, target_words)
            self.cer_metric.append(ids, words, target_words)
            if stage == sb.Stage.TEST:
                hyps = self.test_searcher(p_ctc, wav_lens)
                beam_words = [hyp[0].text.split() for hyp in hyps]
                self.beam_wer_metric.append(ids, beam_words, target_words)
                self.beam_cer_metric.append(ids, beam_words, target_words)
        return loss

    def on_fit_start(self):
        """Records when training started (for ``max_train_minutes``)."""
        super().on_fit_start()
        self.fit_start_time = time.time()

    def on_stage_start(self, stage, epoch=None):
        """Resets the metrics and times the stage."""
        self.stage_start_time = time.time()
        if stage != sb.Stage.TRAIN:
            self.wer_metric = self.hparams.error_rate_computer()
            self.cer_metric = self.hparams.cer_computer()
        if stage == sb.Stage.TEST:
            self.beam_wer_metric = self.hparams.error_rate_computer()
            self.beam_cer_metric = self.hparams.cer_computer()

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """Logs, checkpoints, schedules and writes the WER files."""
        elapsed = time.time() - self.stage_start_time
        stage_stats = {"loss": stage_loss}
        if stage == sb.Stage.TRAIN:
            self.train_stats = dict(stage_stats, minutes=elapsed / 60)
            return
        stage_stats["WER"] = self.wer_metric.summarize("error_rate")
        stage_stats["CER"] = self.cer_metric.summarize("error_rate")
        if stage == sb.Stage.VALID:
            self._end_of_valid_epoch(epoch, stage_stats)
        else:
            self._end_of_test(stage_stats)

    def _end_of_valid_epoch(self, epoch, stage_stats):
        """Logs the epoch, saves a checkpoint, applies the time budget."""
        lr = self.hparams.noam_annealing.current_lr
        self.hparams.train_logger.log_stats(
            stats_meta={"epoch": epoch, "lr": lr, "steps": self.optimizer_step},
            train_stats=self.train_stats,
            valid_stats=stage_stats,
        )
        self.checkpointer.save_and_keep_only(
            meta={"WER": stage_stats["WER"], "epoch": epoch},
            min_keys=["WER"],
            num_to_keep=1,
        )
        budget = self.hparams.max_train_minutes
        if budget is not None:
            spent = (time.time() - self.fit_start_time) / 60
            # Stop before an epoch that would end past the budget.
            per_epoch = spent / max(1, epoch - self.first_epoch + 1)
            if spent + per_epoch > budget:
                logger.info(
                    f"max_train_minutes={budget}: {spent:.1f} min spent, "
                    f"stopping after epoch {epoch}."
                )
                self.hparams.epoch_counter.limit = epoch

    def _end_of_test(self, stage_stats):
        """Writes the WER files and the results summary of one test set."""
        stage_stats["beam_WER"] = self.beam_wer_metric.summarize("error_rate")
        stage_stats["beam_CER"] = self.beam_cer_metric.summarize("error_rate")
        self.hparams.train_logger.log_stats(
            stats_meta={"test set": self.test_name,
                        "epochs trained": self.hparams.epoch_counter.current},
            test_stats=stage_stats,
        )
        if not if_main_process():
            return
        folder = self.hparams.output_wer_folder
        os.makedirs(folder, exist_ok=True)
        for tag, metric in (
            ("greedy", self.wer_metric),
            ("beam", self.beam_wer_metric),
        ):
            path = os.path.join(folder, f"wer_{self.test_name}_{tag}.txt")
            with open(path, "w", encoding="utf-8") as w:
                metric.write_stats(w)
        update_results(
            os.path.join(self.hparams.output_folder, "results.json"),
            self.test_name,
            stage_stats,
        )

    def on_fit_batch_end(self, batch, outputs, loss, should_step):
        """Steps the Noam schedule after each optimiser step."""
        if should_step:
            self.hparams.noam_annealing(self.optimizer)

    def fit(self, epoch_counter, *args, **kwargs):
        """Remembers the first epoch of this run (resume-aware)."""
        self.first_epoch = epoch_counter.current + 1
        return super().fit(epoch_counter, *args, **kwargs)

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
        self.evaluate(dataset, min_key="WER", test_loader_kwargs=loader_kwargs)


def update_results(path, test_name, stats):
    """Adds one test set's numbers to the run's ``results.json``."""
    results = {}
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            results = json.load(f)
    results[test_name] = {k: float(v) for k, v in stats.items()}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)


def prepare_data(hparams):
    """Writes the CSVs of LibriSpeech and (if given) Common Voice."""
    run_on_main(
        prepare_librispeech,
        kwargs={
            "data_folder": hparams["data_folder"],
            "save_folder": hparams["save_folder"],
            "tr_splits": hparams["train_splits"],
            "dev_splits": hparams["dev_splits"],
            "te_splits": hparams["test_splits"],
            "skip_prep": hparams["skip_prep"],
        },
    )
    # One training CSV, whatever the number of training splits.
    run_on_main(
        merge_csvs,
        kwargs={
            "data_folder": hparams["save_folder"],
            "csv_lst": [f"{split}.csv" for split in hparams["train_splits"]],
            "merged_csv": os.path.basename(hparams["train_csv"]),
        },
    )
    if hparams.get("cv_data_folder"):
        run_on_main(
            prepare_common_voice,
            kwargs={
                "data_folder": hparams["cv_data_folder"],
                "save_folder": os.path.join(hparams["save_folder"], "cv"),
                "test_tsv_file": os.path.join(
                    hparams["cv_data_folder"], hparams["cv_test_tsv"]
                ),
                "skip_prep": hparams["skip_prep"],
            },
        )


def test_sets(hparams):
    """The test CSVs by name: LibriSpeech's, then Common Voice's (OOD)."""
    sets = {
        os.path.splitext(os.path.basename(path))[0]: path
        for path in hparams["test_csvs"]
    }
    if hparams.get("cv_data_folder"):
        stem = os.path.splitext(hparams["cv_test_tsv"])[0]
        sets[CV_TEST_NAME] = os.path.join(
            hparams["save_folder"], "cv", f"{stem}.csv"
        )
    return sets


def dataio_prepare(hparams, tokenizer):
    """Builds the train, valid and test DynamicItemDatasets."""
    data_folder = hparams["data_folder"]

    def load(csv_path, sort_key=None, reverse=False, max_len=None):
        data = sb.dataio.dataset.DynamicItemDataset.from_csv(
            csv_path=csv_path, replacements={"data_root": data_folder}
        )
        if sort_key:
            data = data.filtered_sorted(
                sort_key=sort_key,
                reverse=reverse,
                key_max_value={"duration": max_len} if max_len else {},
            )
        return data

    sorting = hparams["sorting"]
    train_data = load(
        hparams["train_csv"],
        sort_key=None if sorting == "random" else "duration",
        reverse=sorting == "descending",
        max_len=hparams["avoid_if_longer_than"],
    )
    if sorting == "random":
        train_data = train_data.filtered_sorted(
            key_max_value={"duration": hparams["avoid_if_longer_than"]}
        )
    valid_data = load(hparams["valid_csv"], sort_key="duration")
    tests = {
        name: load(path, sort_key="duration")
        for name, path in test_sets(hparams).items()
    }
    datasets = [train_data, valid_data, *tests.values()]

    @sb.utils.data_pipeline.takes("wav")
    @sb.utils.data_pipeline.provides("sig")
    def audio_pipeline(wav):
        return load_audio(wav, hparams["sample_rate"])

    @sb.utils.data_pipeline.takes("wrd")
    @sb.utils.data_pipeline.provides("wrd", "tokens")
    def text_pipeline(wrd):
        yield wrd
        yield torch.LongTensor(tokenizer.encode_as_ids(wrd))

    sb.dataio.dataset.add_dynamic_item(datasets, audio_pipeline)
    sb.dataio.dataset.add_dynamic_item(datasets, text_pipeline)
    sb.dataio.dataset.set_output_keys(datasets, ["id", "sig", "wrd", "tokens"])
    return train_data, valid_data, tests


def make_loader_kwargs(hparams, train_data, valid_data):
    """DataLoader options, with SpeechBrain's dynamic batching if enabled."""
    train_kwargs = dict(hparams["train_dataloader_opts"])
    valid_kwargs = dict(hparams["valid_dataloader_opts"])
    if hparams["dynamic_batching"]:
        from speechbrain.dataio.sampler import DynamicBatchSampler

        train_sampler = DynamicBatchSampler(
            train_data,
            length_func=lambda x: x["duration"],
            **hparams["dynamic_batch_sampler_train"],
        )
        valid_sampler = DynamicBatchSampler(
            valid_data,
            length_func=lambda x: x["duration"],
            **hparams["dynamic_batch_sampler_valid"],
        )
        train_kwargs = {"batch_sampler": train_sampler,
                        "num_workers": hparams["num_workers"]}
        valid_kwargs = {"batch_sampler": valid_sampler,
                        "num_workers": hparams["num_workers"]}
    elif hparams["sorting"] != "random":
        train_kwargs["shuffle"] = False
    return train_kwargs, valid_kwargs


def main(argv):
    """Parses the command line, prepares data, trains and scores."""
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
    tokenizer = train_tokenizer(
        save_folder=hparams["save_folder"],
        vocab_size=hparams["output_neurons"],
        train_csv=hparams["train_csv"],
        model_type=hparams["token_type"],
        character_coverage=hparams["character_coverage"],
    )
    train_data, valid_data, tests = dataio_prepare(hparams, tokenizer)
    train_kwargs, valid_kwargs = make_loader_kwargs(
        hparams, train_data, valid_data
    )

    asr_brain = ASR(
        modules=hparams["modules"],
        opt_class=hparams["opt_class"],
        hparams=hparams,
        run_opts=run_opts,
        checkpointer=hparams["checkpointer"],
    )
    asr_brain.tokenizer = tokenizer
    vocab_list = [
        tokenizer.id_to_piece(i) for i in range(tokenizer.vocab_size())
    ]
    asr_brain.test_searcher = hparams["test_searcher"](vocab_list=vocab_list)

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
    main(sys.argv[1:])
