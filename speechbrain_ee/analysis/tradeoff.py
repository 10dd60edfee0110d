"""Compute against WER for early-exit CTC models: every exit strategy swept,
the oracle bound, overthinking, and measured wall-time speed-ups.

The encoder runs once per test set with every exit computed
(`collect_exits`); each strategy setting is then decided offline from those
posteriors (`evaluate`, the same decisions as the model makes online,
which the tests check), so a sweep of hundreds of settings costs one pass.
For the best setting of each strategy, `measure_speed` times the real
early-exit inference (the skipped layers are not computed) against the full
model, side by side in one run.

This is the ``speechbrain-ee exit-tradeoff`` sub-command (and
``tools/exit_tradeoff.py``): it loads a trained experiment of the CTC recipe
(a YAML whose model has early exits; a blank-skip stage, if it has one,
skips at the YAML's threshold throughout), writes ``tradeoff_<set>.csv``, ``summary.json``,
``tradeoff.png`` and ``overthinking.png`` (WER per exit, both test sets) and
prints a table. ``speechbrain-ee overthinking``
(`speechbrain_ee.analysis.overthinking`) gives the overthinking report
alone, without the sweep and the timing.

Authors
-------
* speechbrain-ee contributors 2026
"""

import csv
import json
import os
from dataclasses import dataclass, field
from typing import List

import numpy as np
import torch
from hyperpyyaml import load_hyperpyyaml

from speechbrain_ee.decoding.ctc import frame_lengths, greedy_decoder, word_errors
from speechbrain_ee.decoding.exit_strategies import (
    FixedExit,
    ScoreThreshold,
    build_strategy,
    first_passing_exit,
    oracle_curve,
    oracle_exits,
    overthinking,
    simulate,
)
from speechbrain_ee.analysis.experiment import csv_batches, load_experiment, test_sets
from speechbrain_ee.analysis.timing import measure_speed, speedups
from speechbrain_ee.lobes.contract import inference_options

DEFAULT_GRID = os.path.join(os.path.dirname(__file__), "exit_sweep.yaml")


@dataclass
class ExitBatch:
    """One batch: its inputs (for timing) and every exit's posteriors."""

    feats: torch.Tensor
    wav_lens: torch.Tensor
    log_probs: List[torch.Tensor]
    lengths: torch.Tensor


@dataclass
class ExitRecords:
    """Every exit's output on a test set, and its word errors."""

    exit_layers: List[int]
    num_layers: int
    batches: List[ExitBatch] = field(default_factory=list)
    ids: List[str] = field(default_factory=list)
    errors: list = field(default_factory=list)
    """Per utterance, the word errors of each exit."""
    ref_words: list = field(default_factory=list)
    """Per utterance, the number of reference words."""

    @property
    def error_matrix(self):
        """``[utterances, exits]`` word errors."""
        return np.asarray(self.errors, dtype=np.int64).reshape(
            -1, len(self.exit_layers)
        )

    @property
    def total_words(self):
        """Reference words in the test set."""
        return max(1, int(sum(self.ref_words)))

    def add(self, ids, hypotheses, references):
        """Adds utterances: their word errors at every exit.

        Arguments
        ---------
        ids : list of str
            The utterances.
        hypotheses : list of list
            Per exit (shallowest first), per utterance, the hypothesis words.
        references : list of list
            Per utterance, the reference words.

        Example
        -------
        >>> records = ExitRecords([1, 2], 2)
        >>> records.add(["u"], [[["A", "X"]], [["A", "B"]]], [["A", "B"]])
        >>> records.error_matrix.tolist(), records.total_words
        ([[1, 0]], 2)
        """
        for n, ref in enumerate(references):
            self.ids.append(ids[n])
            self.ref_words.append(len(ref))
            self.errors.append([word_errors(h[n], ref) for h in hypotheses])

    def wer(self, chosen):
        """WER (%) when utterance ``n`` uses exit ``chosen[n]``."""
        errors = self.error_matrix
        picked = errors[np.arange(len(errors)), np.asarray(chosen)]
        return 100.0 * picked.sum() / self.total_words


@torch.no_grad()
def collect_exits(model, batches, decode, options=None):
    """Runs every exit of ``model`` on a test set.

    Arguments
    ---------
    model : speechbrain_ee.lobes.dynamic_ctc.DynamicCTCEncoder
        In eval mode.
    batches : iterable
        ``(ids, feats, wav_lens, ref_words)`` per batch: normalised
        features and the reference transcripts as word lists.
    decode : callable
        ``decode(log_probs, wav_lens) -> list of word lists`` (greedy CTC
        decoding and detokenisation).
    options : dict, optional
        The model's other inference options (``skip_threshold``,
        ``spike_width``).

    Returns
    -------
    ExitRecords
    """
    options = options or {}
    records = ExitRecords(list(model.head_layers), model.num_layers)
    for ids, feats, wav_lens, refs in batches:
        exits = [lp.cpu() for lp in model(feats, wav_lens, **options).heads]
        lengths = frame_lengths(wav_lens.cpu(), exits[0].shape[1])
        records.batches.append(ExitBatch(feats, wav_lens, exits, lengths))
        records.add(ids, [decode(lp, wav_lens) for lp in exits], refs)
    return records


def expand_grid(grid, exit_layers, blank_index=0):
    """The strategies of a sweep description.

    Arguments
    ---------
    grid : dict
        Strategy name -> list of argument dicts; a list under
        ``threshold`` expands to one strategy per value. ``fixed`` is
        always added for every exit layer.
    exit_layers : list of int
        The model's exits.
    blank_index : int
        The CTC blank, for the strategies that take it.

    Returns
    -------
    list of ExitStrategy

    Example
    -------
    >>> s = expand_grid({"confidence": [{"measure": "margin",
    ...                                  "threshold": [0.5, 0.9]}]}, [2, 4])
    >>> [type(x).__name__ for x in s]
    ['FixedExit', 'FixedExit', 'Confidence', 'Confidence']
    """
    strategies = [FixedExit(layer) for layer in exit_layers]
    for name, settings in (grid or {}).items():
        if name == "fixed":
            continue
        for setting in settings:
            setting = dict(setting)
            thresholds = setting.pop("threshold", [None])
            if not isinstance(thresholds, (list, tuple)):
                thresholds = [thresholds]
            if name in ("patience", "token_confidence",
                        "sequence_confidence"):
                setting.setdefault("blank_index", blank_index)
            for threshold in thresholds:
                args = dict(setting)
                if threshold is not None:
                    args["threshold"] = threshold
                strategies.append(build_strategy(name, **args))
    return strategies


def _score_matrix(strategy, records, cache):
    """``[utterances, exits]`` scores of a `ScoreThreshold` strategy."""
    key = (type(strategy).__name__,
           tuple(sorted((k, v) for k, v in strategy.describe().items()
                        if k != "threshold")))
    if key not in cache:
        cache[key] = torch.cat([
            torch.stack([strategy.score(lp, b.lengths) for lp in b.log_probs],
                        dim=1)
            for b in records.batches
        ])
    return cache[key]


def decide(strategy, records, cache=None):
    """Offline decisions of a strategy on a test set.

    Arguments
    ---------
    strategy : ExitStrategy
        The strategy.
    records : ExitRecords
        From `collect_exits`.
    cache : dict, optional
        Shared between calls: scores of threshold strategies are computed
        once per setting other than the threshold.

    Returns
    -------
    chosen : numpy.ndarray
        ``[utterances]`` exit used.
    stopped : numpy.ndarray
        ``[utterances]`` exit where computing stopped.
    """
    if isinstance(strategy, ScoreThreshold):
        scores = _score_matrix(strategy, records, {} if cache is None
                               else cache)
        chosen = first_passing_exit(strategy, scores, strategy.threshold)
        return chosen.numpy(), chosen.numpy()
    chosen, stopped = [], []
    for batch in records.batches:
        c, s = simulate(strategy, batch.log_probs, batch.lengths,
                        records.exit_layers)
        chosen.append(c)
        stopped.append(s)
    return torch.cat(chosen).numpy(), torch.cat(stopped).numpy()


def evaluate(strategies, records):
    """WER and compute of every strategy setting.

    Arguments
    ---------
    strategies : list of ExitStrategy
        The settings.
    records : ExitRecords
        From `collect_exits`.

    Returns
    -------
    list of dict
        Per setting: ``strategy``, ``setting``, ``WER``, ``avg_layers``,
        ``compute`` (share of the encoder layers computed).
    """
    rows, cache = [], {}
    layers = np.asarray(records.exit_layers)
    for strategy in strategies:
        chosen, stopped = decide(strategy, records, cache)
        avg_layers = float(layers[stopped].mean())
        rows.append({
            "strategy": strategy.name,
            "setting": json.dumps(strategy.describe(), sort_keys=True),
            "WER": records.wer(chosen),
            "avg_layers": avg_layers,
            "compute": avg_layers / records.num_layers,
            "_strategy": strategy,
        })
    return rows


def oracle_summary(records):
    """The oracle point, the bound curve and the overthinking statistic.

    Arguments
    ---------
    records : ExitRecords
        From `collect_exits`.

    Returns
    -------
    dict
    """
    errors = records.error_matrix
    chosen = oracle_exits(errors)
    layers = np.asarray(records.exit_layers)
    curve = oracle_curve(errors, records.exit_layers)
    stats = overthinking(errors)
    return {
        "WER": records.wer(chosen),
        "avg_layers": float(layers[chosen].mean()),
        "compute": float(layers[chosen].mean()) / records.num_layers,
        "curve": [
            {"avg_layers": d, "WER": 100.0 * e / records.total_words}
            for d, e in curve
        ],
        "overthinking_share": stats["share"],
        "overthinking_utterances": stats["utterances"],
        "overthinking_WER_gain": 100.0 * stats["errors_saved"]
        / records.total_words,
        "per_exit_WER": [records.wer(np.full(len(errors), e))
                         for e in range(errors.shape[1])],
    }


def overthinking_summary(records):
    """The overthinking report of one test set: every exit's WER, how
    often an earlier exit is strictly better than the last (spec
    ``early_exit.md``, "Overthinking") and what the oracle gains.

    Arguments
    ---------
    records : ExitRecords
        From `collect_exits`.

    Returns
    -------
    dict
        ``exit_layers``, ``num_layers``, ``utterances``, ``per_exit_WER``
        (greedy, %), ``last_WER``, ``best_exit`` (the layer of the best
        fixed exit) and ``best_exit_WER``, ``oracle_WER`` and
        ``oracle_compute`` (share of the layers the oracle computes),
        ``overthinking_share`` and ``overthinking_utterances`` (utterances
        with an earlier exit strictly better, fewer word errors, than the
        last), ``overthinking_WER_gain`` (WER points the oracle saves
        against the last exit) and ``best_exit_share`` (per exit, the share
        of utterances whose oracle exit it is).

    Example
    -------
    >>> records = ExitRecords([1, 2], 2)
    >>> records.add(["a", "b"], [[["A"], ["B"]], [["X"], ["B"]]], [["A"], ["B"]])
    >>> s = overthinking_summary(records)
    >>> s["per_exit_WER"], s["overthinking_share"], s["overthinking_WER_gain"]
    ([0.0, 50.0], 0.5, 50.0)
    """
    errors = records.error_matrix
    count = len(errors)
    layers = np.asarray(records.exit_layers)
    oracle = oracle_summary(records)
    per_exit = [float(wer) for wer in oracle["per_exit_WER"]]
    chosen = oracle_exits(errors)
    best = int(np.argmin(per_exit))
    return {
        "exit_layers": [int(layer) for layer in layers],
        "num_layers": records.num_layers,
        "utterances": count,
        "per_exit_WER": per_exit,
        "last_WER": per_exit[-1],
        "best_exit": int(layers[best]),
        "best_exit_WER": per_exit[best],
        "oracle_WER": float(oracle["WER"]),
        "oracle_compute": oracle["compute"] if count else float("nan"),
        "overthinking_share": oracle["overthinking_share"],
        "overthinking_utterances": oracle["overthinking_utterances"],
        "overthinking_WER_gain": oracle["overthinking_WER_gain"],
        "best_exit_share": [float((chosen == e).mean()) if count else float("nan")
                            for e in range(errors.shape[1])],
    }


def format_overthinking(summaries):
    """A readable table of `overthinking_summary` per test set.

    Arguments
    ---------
    summaries : dict
        Test set name -> `overthinking_summary`.

    Returns
    -------
    str

    Example
    -------
    >>> records = ExitRecords([1, 2], 2)
    >>> records.add(["a"], [[["A"]], [["X"]]], [["A"]])
    >>> print(format_overthinking({"test": overthinking_summary(records)}))
    == test: 1 utterances, exits at [1, 2] of 2 layers
    WER per exit (greedy): L1 0.00, L2 100.00
    last exit 100.00; best fixed exit L1 0.00; oracle 0.00 at 50.0% of the layers
    overthinking: 1 of 1 utterances (100.0%) have an earlier exit strictly better than the last; the oracle gains 100.00 WER points
    """
    lines = []
    for name, s in summaries.items():
        lines.append(f"== {name}: {s['utterances']} utterances, exits at "
                     f"{s['exit_layers']} of {s['num_layers']} layers")
        lines.append("WER per exit (greedy): " + ", ".join(
            f"L{layer} {wer:.2f}" for layer, wer in
            zip(s["exit_layers"], s["per_exit_WER"])))
        lines.append(
            f"last exit {s['last_WER']:.2f}; best fixed exit L{s['best_exit']} "
            f"{s['best_exit_WER']:.2f}; oracle {s['oracle_WER']:.2f} at "
            f"{s['oracle_compute'] * 100:.1f}% of the layers")
        lines.append(
            f"overthinking: {s['overthinking_utterances']} of {s['utterances']} "
            f"utterances ({s['overthinking_share'] * 100:.1f}%) have an earlier "
            f"exit strictly better than the last; the oracle gains "
            f"{s['overthinking_WER_gain']:.2f} WER points")
    return "\n".join(lines)


def plot_per_exit(summaries, path):
    """Per-layer WER, one curve per test set (in-domain and out of
    distribution side by side), each with its oracle as a dashed line.

    Arguments
    ---------
    summaries : dict
        Test set name -> `overthinking_summary`.
    path : str
        The image to write (PNG).

    Example
    -------
    >>> import os, tempfile
    >>> records = ExitRecords([1, 2], 2)
    >>> records.add(["a"], [[["A"]], [["X"]]], [["A"]])
    >>> path = os.path.join(tempfile.mkdtemp(), "o.png")
    >>> plot_per_exit({"test": overthinking_summary(records)}, path)
    >>> os.path.getsize(path) > 0
    True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for name, s in summaries.items():
        line, = ax.plot(s["exit_layers"], s["per_exit_WER"], "o-",
                        label=f"{name} (overthinking "
                        f"{s['overthinking_share'] * 100:.0f}%)")
        ax.axhline(s["oracle_WER"], color=line.get_color(), linestyle="--",
                   linewidth=1, label=f"{name} oracle")
    ax.set_xlabel("exit layer")
    ax.set_ylabel("WER (%)")
    ax.set_title("WER per exit")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def oracle_wer_at(curve, avg_layers):
    """The bound's WER at a given average depth (the curve is a step)."""
    reachable = [p["WER"] for p in curve if p["avg_layers"] <= avg_layers]
    return min(reachable) if reachable else float("nan")


def best_settings(rows, full_wer, tolerance):
    """Per strategy, the cheapest setting within ``tolerance`` of the full
    model's WER (absolute points); None for a strategy with none."""
    best = {}
    for row in rows:
        if row["WER"] > full_wer + tolerance:
            continue
        current = best.get(row["strategy"])
        if current is None or (row["compute"], row["WER"]) < (
            current["compute"], current["WER"]
        ):
            best[row["strategy"]] = row
    return best


def speedup_rows(best, times):
    """Measured against expected speed-ups of the best settings."""
    rows = []
    for name, row in best.items():
        rows.append({
            "strategy": name,
            "setting": row["setting"],
            "WER": row["WER"],
            "compute": row["compute"],
            "expected_speedup": 1.0 / row["compute"],
            **speedups(times, name),
        })
    return rows


def write_csv(rows, path):
    """Writes the sweep table (one row per setting)."""
    keys = ["strategy", "setting", "WER", "avg_layers", "compute"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)


def plot(results, path):
    """WER against compute, one panel per test set: a curve per strategy,
    fixed exits as points, the oracle bound as a step line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(6.5 * len(results), 5),
                             squeeze=False)
    for ax, (name, result) in zip(axes[0], results.items()):
        by_strategy = {}
        for row in result["rows"]:
            key = row["strategy"]
            if key in ("confidence", "sequence_confidence", "patience"):
                setting = json.loads(row["setting"])
                extra = setting.get("measure") or setting.get("form") or (
                    f"p{setting.get('patience')} {setting.get('distance')}")
                key = f"{key} ({extra})"
            by_strategy.setdefault(key, []).append(row)
        for key, rows in sorted(by_strategy.items()):
            rows = sorted(rows, key=lambda r: r["compute"])
            xs = [r["compute"] * 100 for r in rows]
            ys = [r["WER"] for r in rows]
            style = "ks" if key == "fixed" else ".-"
            ax.plot(xs, ys, style, label=key, markersize=5)
        curve = result["oracle"]["curve"]
        ax.step([p["avg_layers"] / result["num_layers"] * 100 for p in curve],
                [p["WER"] for p in curve], where="post", color="black",
                linestyle="--", label="oracle bound")
        ax.set_title(name)
        ax.set_xlabel("encoder layers computed (%)")
        ax.set_ylabel("WER (%)")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def analyse(model, batches, decode, grid, tolerance=0.5, repeats=3,
            blank_index=0, options=None):
    """The whole analysis of one test set.

    Arguments
    ---------
    model : speechbrain_ee.lobes.dynamic_ctc.DynamicCTCEncoder
        In eval mode.
    batches : iterable
        See `collect_exits`.
    decode : callable
        See `collect_exits`.
    grid : dict
        See `expand_grid`.
    tolerance : float
        WER points above the full model that still count as "its WER".
    repeats : int
        Timed passes (0: no timing).
    blank_index : int
        The CTC blank.
    options : dict, optional
        See `collect_exits`; the timed variants use them too.

    Returns
    -------
    dict
        ``rows`` (the sweep), ``oracle``, ``overthinking``
        (`overthinking_summary`), ``full_WER``, ``best`` (per strategy,
        with measured speed-ups), ``num_layers``.
    """
    options = options or {}
    records = collect_exits(model, batches, decode, options)
    strategies = expand_grid(grid, records.exit_layers, blank_index)
    rows = evaluate(strategies, records)
    oracle = oracle_summary(records)
    full_wer = oracle["per_exit_WER"][-1]
    best = best_settings(rows, full_wer, tolerance)
    speed = []
    if repeats > 0 and best:
        inputs = [(b.feats, b.wav_lens) for b in records.batches]
        variants = {name: model.inference_variant(exit_strategy=row["_strategy"],
                                                  **options)
                    for name, row in best.items()}
        times = measure_speed(model, inputs, variants, repeats)
        speed = speedup_rows(best, times)
    for row in speed:
        row["oracle_WER_at_same_compute"] = oracle_wer_at(
            oracle["curve"], row["compute"] * records.num_layers
        )
    return {
        "rows": rows,
        "oracle": oracle,
        "overthinking": overthinking_summary(records),
        "full_WER": full_wer,
        "best": speed,
        "num_layers": records.num_layers,
        "exit_layers": records.exit_layers,
        "utterances": len(records.ids),
    }


def format_report(name, result):
    """A readable table of one test set's analysis."""
    lines = [f"== {name}: {result['utterances']} utterances, exits at "
             f"{result['exit_layers']} of {result['num_layers']} layers"]
    per_exit = ", ".join(
        f"L{layer} {wer:.2f}" for layer, wer in
        zip(result["exit_layers"], result["oracle"]["per_exit_WER"]))
    lines.append(f"WER per exit (greedy): {per_exit}")
    o = result["oracle"]
    lines.append(
        f"oracle: WER {o['WER']:.2f} at {o['compute'] * 100:.1f}% of the "
        f"layers; overthinking: {o['overthinking_share'] * 100:.1f}% of "
        f"utterances have an earlier exit strictly better than the last "
        f"(WER gain {o['overthinking_WER_gain']:.2f} points)")
    lines.append(
        f"best setting per strategy within the tolerance of the full "
        f"model's WER {result['full_WER']:.2f}:")
    lines.append(f"  {'strategy':<20} {'WER':>6} {'compute':>8} "
                 f"{'expected':>9} {'measured':>9} {'encoder (spread)':>20} "
                 f"{'oracle@same':>11}  setting")
    for row in result["best"]:
        lines.append(
            f"  {row['strategy']:<20} {row['WER']:6.2f} "
            f"{row['compute'] * 100:7.1f}% {row['expected_speedup']:8.2f}x "
            f"{row['speedup']:8.2f}x {row['encoder_speedup']:7.2f}x "
            f"({row['encoder_speedup_min']:.2f}-{row['encoder_speedup_max']:.2f}) "
            f"{row['oracle_WER_at_same_compute']:11.2f}  {row['setting']}")
    return "\n".join(lines)


def _json_ready(result):
    """The analysis without the strategy objects."""
    out = dict(result)
    out["rows"] = [{k: v for k, v in r.items() if not k.startswith("_")}
                   for r in result["rows"]]
    return out


# ---------------------------------------------------------------- command


def add_experiment_arguments(parser, default_out):
    """The arguments of the sub-commands that analyse an early-exit run
    (``exit-tradeoff``, ``overthinking``): the run, its test sets, the
    output folder (default ``<experiment>/<default_out>``), batch size,
    device and overrides."""
    parser.add_argument(
        "experiment",
        help="output folder of a CTC-recipe run with early exits (e.g. of "
        "hparams/conformer_early_exit_ctc.yaml or ssl_early_exit_ctc.yaml; "
        "holds hyperparams.yaml and save/)")
    parser.add_argument(
        "--test-csv", action="append", default=[], metavar="NAME=PATH",
        help="a test CSV (ID, duration, wav, wrd) to analyse; repeatable. "
        "Default: the experiment's own test sets (in-domain and cv-test)")
    parser.add_argument("--out", default=None,
                        help=f"output folder (default: <experiment>/{default_out})")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--overrides", default="",
        help="YAML overrides for the experiment's hyperparams.yaml, e.g. "
        "'{data_folder: /data/LibriSpeech}'")


def add_arguments(parser):
    """The ``exit-tradeoff`` sub-command's arguments."""
    add_experiment_arguments(parser, "tradeoff")
    parser.add_argument("--grid", default=DEFAULT_GRID,
                        help="YAML sweep description (default: %(default)s)")
    parser.add_argument("--tolerance", type=float, default=0.5,
                        help="WER points above the full model that count as "
                        "its WER (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed passes per case; 0 skips timing")


def load_exit_model(args):
    """The early-exit run the parsed ``args`` name, ready to analyse.

    Returns
    -------
    hparams : dict
    tokenizer : sentencepiece tokenizer
    model : the run's ``ctc_model``, in eval mode on ``args.device``
    options : dict
        Its inference options, without an exit strategy (every exit runs).
    """
    hparams, tokenizer = load_experiment(args.experiment, args.overrides)
    model = hparams["ctc_model"].to(args.device).eval()
    if len(model.head_layers) < 2:
        raise ValueError(
            f"{args.experiment}: its model has one CTC head (after layer "
            f"{model.head_layers[0]}); train with a YAML that has early exits "
            "(hparams/*early_exit*.yaml).")
    options = inference_options(hparams)
    options.pop("exit_strategy", None)
    return hparams, tokenizer, model, options


def run(args):
    """Runs the ``exit-tradeoff`` sub-command."""
    hparams, tokenizer, model, options = load_exit_model(args)
    blank = hparams["blank_index"]
    sets = test_sets(hparams, args.test_csv)
    with open(args.grid, encoding="utf-8") as f:
        grid = load_hyperpyyaml(f)
    out = args.out or os.path.join(args.experiment, "tradeoff")
    os.makedirs(out, exist_ok=True)
    decode = greedy_decoder(tokenizer, blank)
    results = {}
    for name, csv_path in sets.items():
        batches = list(csv_batches(csv_path, hparams, args.batch_size,
                                    args.device))
        results[name] = analyse(model, batches, decode, grid,
                                args.tolerance, args.repeats, blank, options)
        write_csv(results[name]["rows"],
                  os.path.join(out, f"tradeoff_{name}.csv"))
        print(format_report(name, results[name]), flush=True)
    with open(os.path.join(out, "summary.json"), "w", encoding="utf-8") as f:
        json.dump({n: _json_ready(r) for n, r in results.items()}, f,
                  indent=2)
    plot(results, os.path.join(out, "tradeoff.png"))
    plot_per_exit({n: r["overthinking"] for n, r in results.items()},
                  os.path.join(out, "overthinking.png"))
    print(f"wrote {out}/tradeoff_*.csv, summary.json, tradeoff.png, "
          "overthinking.png")
