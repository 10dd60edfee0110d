#!/usr/bin/env python3
"""S3-Router on the built-in corpus, in one run (spec ``s3_router.md``;
issue targets: on a low-resource subset, mask fine-tuning at 10% sparsity
reaches weight fine-tuning's WER or better, over the whole sparsity curve;
an extra task costs at most 1 bit per routed weight against 32 for a
fine-tuned copy).

1. **Curve**: from the same pretrained model (the built-in teacher), the
   CTC recipe trains weight fine-tuning (``ssl_ctc.yaml``) and
   mask fine-tuning at each sparsity (``s3router_ctc.yaml``), all on the
   same low-resource subset for the same number of epochs (so the same
   optimiser steps); each run scores itself on test-clean.
2. **Storage**: what one more task adds to the shared frozen model (the
   packed masks, the CTC head) against a fine-tuned copy.
3. **Domains** (``--domains``): a second mask set and head learned on the
   Common Voice layout's training clips (``--train_corpus commonvoice``)
   over the same frozen weights; one `TaskRouter` switches between the two
   domains' masks and heads and scores both test sets under each (the
   multilingual / multitask use), with the masks' similarity.
4. **Pruning** (``--prune-from RUN``, a weight-fine-tuned run): masks
   learned at ``--prune-sparsity`` on every block linear
   (``s3router_prune_ctc.yaml``) against one-shot magnitude pruning (OMP)
   of the same model at the same sparsity; with
   ``--prune-weight-epochs N``, then the weights fine-tuned under the
   fixed masks.

The training runs go to ``--out``/runs/<name> (run ``--jobs`` at a time,
their threads split); a run with a ``results.json`` is reused, so an
interrupted benchmark resumes. Every run keeps the teacher's CNN frozen, so
by default they share its per-utterance outputs (``--out``/cnn_cache,
`speechbrain_ee.distill.feature_cache`) and train without waveform
augmentation; ``--no-cnn-cache`` recomputes the CNN and augments. Writes ``summary.json`` and
``s3router.png`` to ``--out``.

Example::

    python benchmarks/s3router.py \
        --teacher-folder recipes/LibriSpeech/distill/models/hubert_teacher \
        --sparsities 0 0.1 0.3 0.5 0.7 --epochs 13 --domains \
        --domain-epochs 30 --prune-from results/ssl_c2_cooldown \
        --prune-epochs 4 --jobs 2
"""

import argparse
import json
import sys
from pathlib import Path

import torch

from speechbrain_ee.analysis.experiment import csv_batches, load_experiment
from speechbrain_ee.analysis.experiment import test_sets as run_test_sets
from speechbrain_ee.decoding.ctc import greedy_decoder
from speechbrain_ee.routing.masks import mask_similarity, route
from speechbrain_ee.routing.tasks import TaskRouter, current_task
from speechbrain_ee.training import read_train_log, train_runs

REPO_ROOT = Path(__file__).resolve().parents[1]
CTC_RECIPE = REPO_ROOT / "recipes" / "LibriSpeech" / "ASR" / "CTC"
WEIGHTS = "weights"  # the weight fine-tuning run's name
# ssl_ctc.yaml's and s3router_ctc.yaml's tri-stage schedule is sized in steps
# (total_steps), the budget here in epochs: every run holds the peak rate,
# then cools down over the last 20% of its epochs
HOLD_AND_COOL = ["--hold_steps=1000000", "--lr_cooldown=0.2"]


def parse_args(argv):
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teacher-folder", required=True,
                        help="the pretrained model's run "
                        "(recipes/LibriSpeech/distill/pretrain_teacher.py)")
    parser.add_argument("--sparsities", type=float, nargs="+",
                        default=[0.05, 0.1, 0.3, 0.5, 0.7])
    parser.add_argument("--subset", type=float, default=0.1,
                        help="share of the training utterances (low "
                        "resource)")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--valid-share", type=float, default=0.25,
                        help="validate each run on this share of dev")
    parser.add_argument("--domains", action="store_true",
                        help="also learn Common Voice masks and switch")
    parser.add_argument("--domain-sparsity", type=float, default=0.1)
    parser.add_argument("--domain-epochs", type=int, default=None,
                        help="epochs of the Common Voice masks (default "
                        "--epochs; its 100 clips make about a fifth of the "
                        "low-resource subset's steps per epoch)")
    parser.add_argument("--prune-from", default=None,
                        help="a weight-fine-tuned run (ssl_ctc) "
                        "to prune")
    parser.add_argument("--prune-sparsity", type=float, default=0.7)
    parser.add_argument("--prune-epochs", type=int, default=None,
                        help="epochs of the pruning run (default --epochs; "
                        "it starts from a fine-tuned model)")
    parser.add_argument("--prune-weight-epochs", type=int, default=0,
                        help="then fine-tune the pruned model's weights "
                        "under its fixed masks for this many epochs")
    parser.add_argument("--data-folder", default="corpora/mini-librispeech")
    parser.add_argument("--cv-data-folder",
                        default="corpora/mini-commonvoice")
    parser.add_argument("--lm-text", default="corpora/mini-librispeech-lm/librispeech-lm-norm.txt",
                        help="language-model text of the lexicon search (null: the "
                        "training transcripts alone)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="training runs at a time")
    parser.add_argument("--override", action="append", default=[],
                        help="a recipe override for every run, e.g. "
                        "--override=--lr_adam=0.002 (repeatable)")
    parser.add_argument("--utterances", type=int, default=None,
                        help="score the domains and OMP on the first N "
                        "test utterances (default: all)")
    parser.add_argument("--cnn-cache", default=None,
                        help="the runs' shared frozen-CNN feature folder "
                        "(default: --out/cnn_cache; another run's over the "
                        "same teacher CNN is reused)")
    parser.add_argument("--no-cnn-cache", action="store_true",
                        help="recompute the frozen CNN every epoch (and "
                        "keep the recipes' waveform augmentation)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default="results/s3router_benchmark")
    return parser.parse_args(argv)


def mask_name(sparsity):
    """Run name of mask fine-tuning at ``sparsity``.

    Example
    -------
    >>> mask_name(0.1)
    'masks_0.1'
    """
    return f"masks_{sparsity:g}"


def plan_runs(args):
    """Run name -> ``(YAML, overrides)`` of every training run needed.

    Example
    -------
    >>> args = parse_args(["--teacher-folder", "t", "--sparsities", "0.1",
    ...                    "--domains", "--prune-from", "ft"])
    >>> sorted(plan_runs(args))
    ['commonvoice_masks', 'masks_0.1', 'prune_0.7', 'weights']
    """
    def scheduled(epochs):  # the runs from the pretrained model
        return [*shared_overrides(args, epochs), *HOLD_AND_COOL]

    common = scheduled(args.epochs)
    low = [f"--train_subset_share={args.subset}",
           f"--teacher_folder={args.teacher_folder}"]
    in_domain = [*common, *low, f"--cv_data_folder={args.cv_data_folder}"]
    runs = {WEIGHTS: ("ssl_ctc.yaml", in_domain)}
    for sparsity in args.sparsities:
        runs[mask_name(sparsity)] = ("s3router_ctc.yaml",
                                     [*in_domain, f"--sparsity={sparsity}"])
    if args.domains:
        if mask_name(args.domain_sparsity) not in runs:
            runs[mask_name(args.domain_sparsity)] = (
                "s3router_ctc.yaml",
                [*in_domain, f"--sparsity={args.domain_sparsity}"])
        runs["commonvoice_masks"] = ("s3router_ctc.yaml", [
            *scheduled(args.domain_epochs or args.epochs),
            f"--teacher_folder={args.teacher_folder}",
            f"--cv_data_folder={args.cv_data_folder}",
            "--train_corpus=commonvoice", "--train_subset_share=null",
            f"--sparsity={args.domain_sparsity}"])
    if args.prune_from:
        runs[prune_name(args)] = ("s3router_prune_ctc.yaml", pruning_overrides(
            args, shared_overrides(args, args.prune_epochs or args.epochs)))
    return runs


def shared_overrides(args, epochs):
    """The overrides every run has, training for ``epochs``."""
    common = [f"--data_folder={args.data_folder}", f"--lm_text={args.lm_text}",
              f"--number_of_epochs={epochs}", f"--device={args.device}",
              "--max_train_minutes=null",
              f"--valid_subset_share={args.valid_share}",
              # low resource: the greedy WER stays near 100, too coarse to
              # choose a checkpoint by
              "--ckpt_metric=CER"]
    if not args.no_cnn_cache:  # every run shares the frozen CNN's outputs
        cache = args.cnn_cache or Path(args.out) / "cnn_cache"
        common += [f"--cnn_cache={cache}",
                   "--wav_augment_prob=0.0"]
    return common + args.override


def prune_name(args):
    """Run name of S3-Router pruning."""
    return f"prune_{args.prune_sparsity:g}"


def pruning_overrides(args, common):
    """The pruning run's overrides (``common``: the runs' shared ones)."""
    return [*common, f"--train_subset_share={args.subset}",
            f"--cv_data_folder={args.cv_data_folder}",
            f"--finetuned_run={args.prune_from}",
            f"--sparsity={args.prune_sparsity}"]


def weight_fine_tuning_run(args, prune_folder):
    """The optional second pruning stage: the pruning run's weights
    fine-tuned under its fixed masks (``--prune-weight-epochs``)."""
    from speechbrain_ee.training import best_checkpoint_file

    common = shared_overrides(args, args.prune_weight_epochs)
    pruned = best_checkpoint_file(str(prune_folder))
    return {f"{prune_name(args)}_weights": ("s3router_prune_ctc.yaml", [
        *pruning_overrides(args, common), f"--routed_checkpoint={pruned}",
        f"--warm_start={pruned}", "--train_weights=True"])}


def ctc_runs(runs):
    """``runs`` (name -> (CTC YAML name, overrides)) for `train_runs`."""
    return {name: (CTC_RECIPE / "train.py", CTC_RECIPE / "hparams" / yaml, overrides)
            for name, (yaml, overrides) in runs.items()}


def run_results(folder):
    """A finished run's test error rates (greedy WER and CER, beam and
    lexicon + LM WER, Common Voice greedy and lexicon WER) and its
    optimiser steps."""
    with open(folder / "results.json", encoding="utf-8") as f:
        results = json.load(f)
    epochs = read_train_log(folder)
    steps = epochs[-1].get("steps") if epochs else None
    test, cv = results["test-clean"], results.get("cv-test", {})
    return {"WER": test["WER"], "CER": test.get("CER"),
            "loss": test.get("loss"), "beam_WER": test.get("beam_WER"),
            "lexicon_WER": test.get("lexicon_WER"),
            "cv_WER": cv.get("WER"), "cv_lexicon_WER": cv.get("lexicon_WER"),
            "steps": steps}


@torch.no_grad()
def greedy_error_rates(call, batches, decode):
    """Greedy WER and CER (%) of ``call(wavs, wav_lens) ->
    log-probabilities``, counted as the recipe counts them (SpeechBrain's
    ``ErrorRateStats``)."""
    from speechbrain.utils.metric_stats import ErrorRateStats

    wer, cer = ErrorRateStats(), ErrorRateStats(split_tokens=True)
    for ids, wavs, wav_lens, refs in batches:
        hyps = decode(call(wavs, wav_lens), wav_lens)
        wer.append(ids, hyps, refs)
        cer.append(ids, hyps, refs)
    return {"WER": wer.summarize("error_rate"),
            "CER": cer.summarize("error_rate")}


def waveform_batches(hparams, name, limit, device):
    """A run's test set ``name`` as waveform batches (batch 8)."""
    return list(csv_batches(run_test_sets(hparams)[name], hparams, 8, device,
                            features=False, limit=limit))


def head_call(hparams, encoder):
    """``call(wavs, wav_lens)``: ``encoder`` then the run's CTC head."""
    head = hparams["ctc_lin"].eval()

    def call(wavs, wav_lens):
        return torch.log_softmax(head(encoder(wavs, wav_lens)), dim=-1)

    return call


def domains(folders, args):
    """Both domains' masks over one frozen model: WER of each test set
    under each domain's masks and head, and the masks' similarity."""
    loaded = {}
    for domain, run in (("librispeech", mask_name(args.domain_sparsity)),
                        ("commonvoice", "commonvoice_masks")):
        hparams, tokenizer = load_experiment(str(folders[run]),
                                             model_key="encoder")
        loaded[domain] = (hparams, tokenizer)
    base = loaded["librispeech"][0]
    encoder = base["encoder"].to(args.device).eval()
    router = TaskRouter(encoder)
    for domain, (hparams, _) in loaded.items():
        masks, fingerprint = current_task(hparams["encoder"])
        router.add_task(domain, masks, hparams["ctc_lin"].to(args.device),
                        fingerprint)
    tests = {"test-clean": waveform_batches(base, "test-clean",
                                            args.utterances, args.device),
             "cv-test": waveform_batches(base, "cv-test", args.utterances,
                                         args.device)}
    wer, cer = {}, {}
    for domain, (hparams, tokenizer) in loaded.items():
        router.use(domain)
        decode = greedy_decoder(tokenizer, hparams["blank_index"])
        rates = {name: greedy_error_rates(router, batches, decode)
                 for name, batches in tests.items()}
        wer[domain] = {name: r["WER"] for name, r in rates.items()}
        cer[domain] = {name: r["CER"] for name, r in rates.items()}
    similarity = mask_similarity(router.masks["librispeech"],
                                 router.masks["commonvoice"])
    return {"WER": wer, "CER": cer, "cosine": similarity["cosine"],
            "iou_removed": similarity["iou_removed"],
            "task": router.task_bits("commonvoice")}


def one_shot_pruning(args):
    """Greedy WER and CER of the weight-fine-tuned run, dense and after
    one-shot magnitude pruning of every block linear at
    ``--prune-sparsity`` (no training)."""
    hparams, tokenizer = load_experiment(args.prune_from, model_key="encoder")
    encoder = hparams["encoder"].to(args.device).eval()
    batches = waveform_batches(hparams, "test-clean", args.utterances,
                               args.device)
    decode = greedy_decoder(tokenizer, hparams["blank_index"])
    dense = greedy_error_rates(head_call(hparams, encoder), batches, decode)
    route(encoder, args.prune_sparsity, mode="prune", init="weight")
    encoder.to(args.device)
    pruned = greedy_error_rates(head_call(hparams, encoder), batches, decode)
    return {"finetuned_WER": dense["WER"], "finetuned_CER": dense["CER"],
            "omp_WER": pruned["WER"], "omp_CER": pruned["CER"]}


def plot(summary, path):
    """Greedy WER, CER and lexicon + LM WER against sparsity, weight
    fine-tuning as a line in each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve, weights = summary["curve"], summary["runs"][WEIGHTS]
    keys = [k for k in ("WER", "CER", "lexicon_WER")
            if None not in curve[k] and weights[k] is not None]
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.4),
                             squeeze=False)
    for ax, key in zip(axes[0], keys):
        ax.plot(curve["sparsity"], curve[key], "o-",
                label="mask fine-tuning (S3-Router)")
        ax.axhline(weights[key], color="#a33", ls="--",
                   label="weight fine-tuning")
        ax.set_xlabel("sparsity (share of routed weights dropped)")
        ax.set_ylabel(f"test-clean {key.replace('_', ' + LM ')} (%)")
    axes[0][0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def summarise(args, folders):
    """Everything the benchmark reports, from the finished runs."""
    runs = {name: run_results(folder) for name, folder in folders.items()}
    points = sorted(args.sparsities)
    summary = {
        "subset": args.subset, "epochs": args.epochs, "runs": runs,
        "curve": {"sparsity": points, **{
            key: [runs[mask_name(s)][key] for s in points]
            for key in ("WER", "CER", "lexicon_WER")}},
    }
    hparams, _ = load_experiment(str(folders[mask_name(points[0])]),
                                 model_key="encoder")
    router = TaskRouter(hparams["encoder"])
    router.add_task("librispeech", *current_task(hparams["encoder"])[:1],
                    hparams["ctc_lin"])
    summary["storage"] = router.task_bits("librispeech")
    if args.domains:
        summary["domains"] = domains(folders, args)
    if args.prune_from:
        tuned = runs.get(f"{prune_name(args)}_weights", {})
        summary["pruning"] = dict(
            one_shot_pruning(args), sparsity=args.prune_sparsity,
            s3router_WER=runs[prune_name(args)]["WER"],
            s3router_CER=runs[prune_name(args)]["CER"],
            s3router_weights_WER=tuned.get("WER"),
            s3router_weights_CER=tuned.get("CER"))
    return summary


def format_report(summary):
    """The printed tables."""
    runs = summary["runs"]
    weights = runs[WEIGHTS]
    lines = [
        f"Low resource: {summary['subset']:.0%} of the training utterances, "
        f"{summary['epochs']} epochs each ({weights['steps']} optimiser "
        "steps). test-clean: greedy WER, greedy CER, lexicon + LM WER, CTC "
        "loss; cv-test: greedy and lexicon + LM WER.",
        f"{'model':<26} {'steps':>6} {'WER':>7} {'CER':>7} {'lexicon':>8} "
        f"{'loss':>6} {'cv WER':>7} {'cv lex':>7}",
    ]
    names = [WEIGHTS] + [mask_name(s) for s in summary["curve"]["sparsity"]]
    nan = float("nan")
    for name in names:
        row = runs[name]
        label = ("weight fine-tuning" if name == WEIGHTS else
                 f"masks, sparsity {name.split('_')[1]}")
        lines.append(
            f"{label:<26} {row['steps'] or 0:>6} {row['WER']:>7.2f} "
            f"{row['CER'] or nan:>7.2f} {row['lexicon_WER'] or nan:>8.2f} "
            f"{row['loss'] or nan:>6.3f} {row['cv_WER'] or nan:>7.2f} "
            f"{row['cv_lexicon_WER'] or nan:>7.2f}")
    for key, what in (("WER", "greedy WER"), ("CER", "CER"),
                      ("lexicon_WER", "lexicon + LM WER")):
        masks = [runs[n][key] for n in names[1:] if runs[n][key] is not None]
        if masks and weights[key] is not None:
            best = min(masks)
            lines.append(f"best mask fine-tuning {best:.2f} vs weight "
                         f"fine-tuning {weights[key]:.2f} "
                         f"({best - weights[key]:+.2f}), {what}")
    s = summary["storage"]
    lines.append(
        f"One more task: {s['mask_bits_per_routed_weight']:.3f} bits per "
        f"routed weight ({s['mask_bits'] / 8e6:.3f} MB of masks for "
        f"{s['routed_weights'] / 1e6:.2f}M routed weights, plus a "
        f"{s['head_bits'] / 8e6:.3f} MB head) against 32 bits "
        f"({s['copy_bits'] / 8e6:.2f} MB for a fine-tuned copy)")
    if "domains" in summary:
        d = summary["domains"]
        lines.append("Domains over one frozen model (greedy WER / CER; "
                     "rows: masks and head used):")
        for domain, wers in d["WER"].items():
            lines.append(f"  {domain:<12} " + "  ".join(
                f"{name} {wer:6.2f} / {d['CER'][domain][name]:5.2f}"
                for name, wer in wers.items()))
        lines.append(f"  mask similarity: cosine {d['cosine']:.4f}, IoU of "
                     f"removed weights {d['iou_removed']:.4f}")
    if "pruning" in summary:
        p = summary["pruning"]
        lines.append(
            f"Pruning at sparsity {p['sparsity']:g} (every block linear; "
            "greedy test-clean WER / CER): "
            f"S3-Router {p['s3router_WER']:.2f} / {p['s3router_CER']:.2f}, "
            f"one-shot magnitude {p['omp_WER']:.2f} / {p['omp_CER']:.2f}, "
            f"unpruned fine-tuned model {p['finetuned_WER']:.2f} / "
            f"{p['finetuned_CER']:.2f}")
        if p["s3router_weights_WER"] is not None:
            lines.append("  then the weights fine-tuned under the fixed "
                         f"masks: {p['s3router_weights_WER']:.2f} / "
                         f"{p['s3router_weights_CER']:.2f}")
    return "\n".join(lines)


def main(argv=None):
    """Trains what is missing, scores, prints; returns the summary."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    teacher = Path(args.teacher_folder) / "teacher.ckpt"
    if not teacher.is_file():
        raise FileNotFoundError(
            f"{teacher} not found: pretrain the teacher first "
            "(recipes/LibriSpeech/distill/pretrain_teacher.py).")
    out = Path(args.out)
    folders = train_runs(ctc_runs(plan_runs(args)), out, args.jobs)
    if args.prune_from and args.prune_weight_epochs:  # after the pruning
        folders.update(train_runs(ctc_runs(
            weight_fine_tuning_run(args, folders[prune_name(args)])), out,
            args.jobs))
    summary = summarise(args, folders)
    print(format_report(summary))
    with open(out / "summary.json", "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
    plot(summary, out / "s3router.png")
    return summary


if __name__ == "__main__":
    main()
