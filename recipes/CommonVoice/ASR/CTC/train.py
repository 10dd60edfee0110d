#!/usr/bin/env python3
"""Recipe: a LibriSpeech CTC model on Common Voice, scored out of
distribution (``hparams/ood_eval.yaml``) or adapted on a few hours of it
and scored before and after (``hparams/finetune_ctc.yaml``).

The model is a run of ``recipes/LibriSpeech/ASR/CTC/train.py`` (its best
checkpoint) or an exported pretrained model (``speechbrain-ee export``; a
hub id through the same loading), any model of
`speechbrain_ee.lobes.contract`: an early-exit or blank-skip model takes its
exit strategy and thresholds from the command line. The Common Voice TSVs
are prepared by `speechbrain_ee.dataio.common_voice_prepare` (sentences in
the LibriSpeech character set; what is left out is counted and reported).

To run (from the repository root)::

    python recipes/CommonVoice/ASR/CTC/train.py \\
        recipes/CommonVoice/ASR/CTC/hparams/ood_eval.yaml \\
        --model results/leaderboard/runs/conformer_ctc
    python recipes/CommonVoice/ASR/CTC/train.py \\
        recipes/CommonVoice/ASR/CTC/hparams/finetune_ctc.yaml \\
        --model results/leaderboard/runs/conformer_ctc --hours 0.1
    python recipes/CommonVoice/ASR/CTC/train.py \\
        recipes/CommonVoice/ASR/CTC/hparams/finetune_s3router.yaml \\
        --model results/leaderboard/runs/conformer_ctc --hours 0.1

Authors
-------
* speechbrain-ee contributors 2026
"""

import functools
import os
import sys
import time

import speechbrain as sb
import torch
from speechbrain.utils.distributed import if_main_process
from speechbrain.utils.logger import get_logger

from speechbrain_ee.analysis.experiment import inference_setting, load_model
from speechbrain_ee.analysis.wer_groups import (
    group_wer,
    markdown_table,
    present_columns,
    read_wer_file,
    tsv_groups,
)
from speechbrain_ee.dataio.common_voice_prepare import (
    hours_subset,
    prepare_common_voice,
    read_skipped,
)
from speechbrain_ee.dataio.recipe_data import (
    ckpt_metric,
    dataio_prepare,
    dev_checkpoint,
    dev_selection,
    update_results,
)
from speechbrain_ee.decoding.ctc import greedy_decoder
from speechbrain_ee.decoding.lexicon import csv_transcripts
from speechbrain_ee.errors import RECIPE_ERRORS, UsageError, run_command
from speechbrain_ee.routing.masks import pack_masks, route, routed_layers
from speechbrain_ee.training import (
    BudgetedBrain,
    check_device,
    load_hparams,
    make_brain,
)

logger = get_logger(__name__)


class CommonVoiceCTC(BudgetedBrain):
    """Scores (and fine-tunes) a loaded CTC model of the contract.

    Training: the weighted CTC losses of the model's heads plus its
    auxiliary loss, as the LibriSpeech recipe trains it; the feature
    normalisation keeps the model's statistics. Scoring: greedy decoding of
    the model's output at the inference setting (``options``; an exit
    strategy stops each utterance where it says), and the lexicon search
    if set; WER and CER, mean layers computed and share of frames skipped.
    """

    options = {}  # the model's forward options at test time (main sets them)
    lexicon_searcher = None
    test_tsv = None
    report = {}  # what every test line adds (sentences left out, training data)
    ckpt_metric = "WER"  # main() sets the YAML's (recipe_data.ckpt_metric)

    def compute_forward(self, batch, stage):
        """Waveforms -> features -> the model's `EncoderOutput`."""
        batch = batch.to(self.device)
        wavs, wav_lens = batch.sig
        feats = self.hparams.compute_features(wavs)
        normalize = self.modules.normalize
        feats = normalize(feats, wav_lens,
                          epoch=getattr(normalize, "update_until_epoch", 0))
        options = self.options if stage == sb.Stage.TEST else {}
        return self.modules.ctc_model(feats, wav_lens, **options), wav_lens

    def compute_objectives(self, predictions, batch, stage):
        """CTC loss of every head computed (of the output alone when an
        exit strategy decided); on dev and test, the error rates."""
        out, wav_lens = predictions
        tokens, tokens_lens = batch.tokens
        heads, weights = (out.heads, out.loss_weights) if out.heads else \
            ([out.output], [1.0])
        loss = sum(w * self.ctc_cost(p, tokens, wav_lens, tokens_lens)
                   for p, w in zip(heads, weights)) + out.aux_loss
        if stage == sb.Stage.TRAIN:
            return loss
        targets = [wrd.split(" ") for wrd in batch.wrd]
        words = self.greedy_words(out.output, wav_lens)
        self.wer_metric.append(batch.id, words, targets)
        self.cer_metric.append(batch.id, words, targets)
        if stage == sb.Stage.TEST:
            self.layers.extend(out.layers_computed.tolist())
            self.frames[0] += out.skipped_frames
            self.frames[1] += out.real_frames
            if self.lexicon_searcher is not None:
                self.lexicon_metric.append(
                    batch.id, self.lexicon_searcher(out.output, wav_lens), targets)
        return loss

    def on_evaluate_start(self, max_key=None, min_key=None):
        """Scores the model as it is (SpeechBrain's hook would load the
        latest checkpoint): main() loads the best fine-tuned one itself."""

    def on_stage_start(self, stage, epoch=None):
        """Resets the metrics and times the stage."""
        self.stage_start = time.time()
        self.wer_metric = self.hparams.error_rate_computer()
        self.cer_metric = self.hparams.cer_computer()
        self.lexicon_metric = self.hparams.error_rate_computer()
        self.layers, self.frames = [], [0, 0]

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """Logs; on dev checkpoints, on test writes the WER files."""
        stats = {"loss": stage_loss}
        if stage == sb.Stage.TRAIN:
            self.train_stats = dict(stats, minutes=(time.time() - self.stage_start) / 60)
            return
        stats["WER"] = self.wer_metric.summarize("error_rate")
        stats["CER"] = self.cer_metric.summarize("error_rate")
        if stage == sb.Stage.VALID:
            self.hparams.train_logger.log_stats(
                stats_meta={"epoch": epoch, "lr": self.learning_rate,
                            "steps": self.optimizer_step},
                train_stats=self.train_stats, valid_stats=stats)
            self.checkpointer.save_and_keep_only(
                **dev_checkpoint(stats, epoch, self.ckpt_metric))
            return
        self._end_of_test(stats)

    def _end_of_test(self, stats):
        """The test set's numbers: ``wer_<name>_<decoding>.txt``,
        ``results.json``, ``wer_<name>_groups.md``."""
        if self.lexicon_searcher is not None:
            stats["lexicon_WER"] = self.lexicon_metric.summarize("error_rate")
        stats["utterances"] = len(self.layers)
        stats["avg_layers"] = sum(self.layers) / max(1, len(self.layers))
        stats["skipped_share"] = self.frames[0] / max(1, self.frames[1])
        stats["minutes"] = (time.time() - self.stage_start) / 60
        stats.update(self.report)
        self.log_test(stats_meta={"test set": self.test_name}, test_stats=stats)
        if not if_main_process():
            return
        folder = self.hparams.output_folder
        decodings = {"greedy": self.wer_metric}
        if self.lexicon_searcher is not None:
            decodings["lexicon"] = self.lexicon_metric
        for tag, metric in decodings.items():
            with open(os.path.join(folder, f"wer_{self.test_name}_{tag}.txt"), "w",
                      encoding="utf-8") as w:
                metric.write_stats(w)
        update_results(os.path.join(folder, "results.json"), self.test_name, stats)
        columns = present_columns(self.test_tsv, self.hparams.group_columns)
        if columns:
            groups = tsv_groups(self.test_tsv, columns)
            table = markdown_table({tag: group_wer(read_wer_file(os.path.join(
                folder, f"wer_{self.test_name}_{tag}.txt")), groups) for tag in decodings})
            with open(os.path.join(folder, f"wer_{self.test_name}_groups.md"), "w",
                      encoding="utf-8") as w:
                w.write(table)

    def score(self, name, dataset):
        """Scores ``dataset`` as test set ``name`` with the model as it is;
        returns its WER."""
        self.test_name = name
        self.evaluate(dataset,
                      test_loader_kwargs=self.hparams.test_dataloader_opts)
        return self.wer_metric.summarize("error_rate")


def tsv_path(hparams, key):
    """A TSV option: relative to ``data_folder`` unless a path is given."""
    value = hparams[key]
    return value if os.path.isabs(value) or os.path.exists(value) else \
        os.path.join(hparams["data_folder"], value)


def prepare(hparams):
    """The Common Voice CSVs (test, and for fine-tuning train and dev);
    returns the CSV paths by role."""
    roles = {"test": "test_tsv"}
    if "train_tsv" in hparams:
        roles.update(train="train_tsv", dev="dev_tsv")
    csvs = prepare_common_voice(
        hparams["data_folder"], hparams["save_folder"],
        **{f"{role}_tsv_file": tsv_path(hparams, key) for role, key in roles.items()},
        missing_audio=hparams["missing_clips"])
    stems = {role: os.path.splitext(os.path.basename(hparams[key]))[0]
             for role, key in roles.items()}
    if len(set(stems.values())) < len(stems):
        raise UsageError(f"{', '.join(hparams[k] for k in roles.values())}: give "
                         "TSVs of different names (each is prepared to <name>.csv).")
    return {role: str(csvs[stem]) for role, stem in stems.items()}


def training_subset(hparams, csvs):
    """The first ``hours`` of the training CSV; refuses speakers of the test
    set (Common Voice's splits are speaker-disjoint: adapting on a test
    speaker would score a seen voice)."""
    subset = os.path.join(hparams["save_folder"], f"train_{hparams['hours']}h.csv")
    count, hours = hours_subset(csvs["train"], hparams["hours"], subset)

    def speakers(path):
        data = sb.dataio.dataset.DynamicItemDataset.from_csv(path)
        return {data.data[uid]["spk_id"] for uid in data.data_ids}

    shared = speakers(subset) & speakers(csvs["test"])
    if shared:
        raise UsageError(
            f"{hparams['train_tsv']} and {hparams['test_tsv']} share {len(shared)} "
            f"speakers (client_id {sorted(shared)[0][:16]}...): adapting on voices of "
            "the test set scores seen voices; use Common Voice's speaker-disjoint "
            "train.tsv and test.tsv.")
    logger.info("Fine-tuning on %d utterances (%.3f h) of %s", count, hours,
                hparams["train_tsv"])
    return subset, {"train_utterances": count, "train_hours": hours}


def route_for_adaptation(model, hparams):
    """S3-Router adaptation (``finetune_s3router.yaml``): the encoder's
    weights stay the LibriSpeech model's and a mask over its routed linear
    layers is learned (`speechbrain_ee.routing.masks.route`); the output
    heads (everything outside ``model.encoder``) train too unless
    ``routing_train_heads`` is False. Returns what the test lines report."""
    names = route(model.encoder, hparams["routing_sparsity"],
                  mode=hparams["routing_mode"], init=hparams["routing_init"],
                  seed=hparams["seed"])
    if not hparams["routing_train_heads"]:
        for name, parameter in model.named_parameters():
            if not name.startswith("encoder."):
                parameter.requires_grad_(False)
    routed = sum(layer.weight.numel() for layer in routed_layers(model).values())
    logger.info("S3-Router: %d linear layers routed (%d weights, sparsity %.2f)",
                len(names), routed, hparams["routing_sparsity"])
    return {"routed_layers": len(names), "routed_weights": routed,
            "sparsity": hparams["routing_sparsity"]}


def save_masks(model, path):
    """The learned masks of ``model.encoder``, packed (1 bit per routed
    weight, named as `speechbrain_ee.routing.tasks.TaskRouter` over that
    encoder takes them): what one more domain costs over the shared frozen
    model. Returns the packed bytes."""
    packed = pack_masks(model.encoder)
    torch.save(packed, path)
    return sum(entry["bits"].numel() for entry in packed.values())


def main(argv):
    """Loads the model, prepares the data, scores (fine-tunes, scores)."""
    hparams_file, run_opts, overrides = sb.parse_arguments(argv)
    check_device(run_opts.device)
    hparams = load_hparams(hparams_file, overrides)
    metric = ckpt_metric(hparams)  # checked before anything is prepared
    sb.create_experiment_directory(experiment_directory=hparams["output_folder"],
                                   hyperparams_to_save=hparams_file, overrides=overrides)
    loaded = load_model(hparams["model"], savedir=hparams["model_savedir"],
                        trust_remote_model=hparams["trust_remote_model"])
    options = inference_setting(loaded.model, loaded.hparams, hparams["exit_strategy"],
                                hparams["exit_threshold"], hparams["skip_threshold"],
                                loaded.blank_index, hparams["exit_options"])
    csvs = prepare(hparams)
    finetune = "train" in csvs
    extra = {}
    if finetune:
        train_csv, extra = training_subset(hparams, csvs)
    data = {"data_folder": hparams["data_folder"], "sample_rate": loaded.sample_rate,
            "train_csv": train_csv if finetune else csvs["test"],
            "valid_csv": csvs["dev"] if finetune else csvs["test"],
            "test_csvs": [csvs["test"]], "sorting": hparams.get("sorting", "ascending"),
            "avoid_if_longer_than": hparams["avoid_if_longer_than"]}
    train_data, valid_data, tests = dataio_prepare(data, loaded.tokenizer)
    (test_data,) = tests.values()

    hparams.update(compute_features=loaded.compute_features,
                   modules={"ctc_model": loaded.model, "normalize": loaded.normalize})
    if hparams["checkpointer"] is not None:
        hparams["checkpointer"].add_recoverable("model", loaded.model)
        hparams["checkpointer"].add_recoverable("normalizer", loaded.normalize)
    brain = make_brain(CommonVoiceCTC, hparams, run_opts)
    brain.ckpt_metric = metric
    brain.options = options
    brain.test_tsv = tsv_path(hparams, "test_tsv")
    brain.ctc_cost = functools.partial(sb.nnet.losses.ctc_loss,
                                       blank_index=loaded.blank_index)
    brain.greedy_words = greedy_decoder(loaded.tokenizer, loaded.blank_index)
    skipped = read_skipped(hparams["save_folder"]).get(
        os.path.splitext(os.path.basename(csvs["test"]))[0], {})
    brain.report = dict(extra, left_out=sum(skipped.get("skipped", {}).values()),
                          **{f"left_out: {why}": n
                             for why, n in skipped.get("skipped", {}).items()})
    if hparams["lexicon"]:
        if loaded.kind != "run" or loaded.hparams.get("lexicon_searcher") is None:
            raise UsageError("--lexicon True: the model must be a run of the LibriSpeech "
                             "CTC recipe whose YAML has a lexicon_searcher.")
        brain.lexicon_searcher = loaded.hparams["lexicon_searcher"](
            tokenizer=loaded.tokenizer,
            transcripts=csv_transcripts([loaded.hparams["train_csv"]]),
            folder=hparams["save_folder"])

    name = hparams["test_name"]
    if not finetune:
        wer = brain.score(name, test_data)
        print(f"{name}: WER {wer:.2f} ({hparams['model']}, {options or 'full model'})")
        return
    before = brain.score(f"{name}-before", test_data)
    routing = hparams.get("routing_sparsity") is not None
    if routing:  # after the "before" score: that is the LibriSpeech model's
        brain.report.update(route_for_adaptation(loaded.model, hparams))
    brain.fit(brain.hparams.epoch_counter, train_data, valid_data,
              train_loader_kwargs=hparams["train_dataloader_opts"],
              valid_loader_kwargs=hparams["valid_dataloader_opts"])
    # the best fine-tuned checkpoint (lowest dev ckpt_metric), as export picks it
    brain.checkpointer.recover_if_possible(**dev_selection())
    if routing:  # its masks, saved before the scoring line
        brain.report["mask_bytes"] = save_masks(
            loaded.model, os.path.join(hparams["output_folder"], "masks.pt"))
    after = brain.score(f"{name}-after", test_data)
    print(f"{name}: WER {before:.2f} before, {after:.2f} after fine-tuning on "
          f"{extra['train_hours']:.3f} h ({extra['train_utterances']} utterances)")


if __name__ == "__main__":
    sys.exit(run_command("train.py", main, sys.argv[1:], catch=RECIPE_ERRORS))
