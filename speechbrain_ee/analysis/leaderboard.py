"""One leaderboard for every method: trained runs of the CTC recipe, scored
and timed side by side in one run.

Every run's model answers through `speechbrain_ee.lobes.contract`, so each
row is measured the same way, at the model's own inference setting (its
YAML's ``exit_strategy``, ``skip_threshold``, ``spike_width``):

- **accuracy**: greedy WER on each test set (in-domain and, when the run
  has it, Common Voice: out of distribution), the layers computed per
  utterance and the share of frames skipped; beside it the run's own
  lexicon + LM search WER of the full model (``results.json``);
- **speed**: test utterances concatenated into ``seconds``-long inputs, each
  model run on them from its own normalised features, every model once per
  round in turn (`speechbrain_ee.analysis.timing.time_rounds`), so that a
  change of load hits neighbours alike. Real-time factor = time / audio;
  the speed-up over the baseline (the MHSA Conformer) and over the model's
  own full pass (every layer, every frame) are the median of the per-round
  ratios, with the lowest and highest round;
- **memory**: peak memory of one inference pass (CUDA: the allocator's
  peak; CPU: the profiler's allocation timeline).

`write_leaderboard` writes ``leaderboard.md``, ``leaderboard.csv`` and
``leaderboard.png`` (WER against speed-up, the Pareto front marked), and
`update_readme` puts the table between the README's leaderboard markers.

Authors
-------
* speechbrain-ee contributors 2026
"""

import csv
import json
import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from speechbrain_ee.analysis.experiment import csv_batches, load_experiment, test_sets
from speechbrain_ee.analysis.timing import time_rounds
from speechbrain_ee.dataio.audio import load_audio
from speechbrain_ee.decoding.ctc import greedy_decoder, word_errors
from speechbrain_ee.lobes.contract import inference_options

README_START = "<!-- leaderboard:start (speechbrain-ee leaderboard writes this part) -->"
README_END = "<!-- leaderboard:end -->"
COLUMNS = [
    "run", "parameters_M", "WER_test-clean", "WER_cv-test", "lexicon_WER_test-clean",
    "lexicon_WER_cv-test", "avg_layers", "num_layers", "skipped_share", "rtf",
    "speedup", "speedup_min", "speedup_max", "own_speedup", "peak_memory_MB",
]


@dataclass
class Entry:
    """A trained run, loaded for the leaderboard."""

    name: str
    folder: Path
    hparams: dict
    tokenizer: object
    results: dict
    row: dict = field(default_factory=dict)

    @property
    def model(self):
        """The run's model (`speechbrain_ee.lobes.contract`)."""
        return self.hparams["ctc_model"]

    @property
    def options(self):
        """The model's inference setting (its YAML's)."""
        return inference_options(self.hparams)


def load_entries(folders, device="cpu", overrides=None):
    """Loads trained runs (best checkpoint, eval mode).

    Arguments
    ---------
    folders : dict
        Run name -> output folder of ``recipes/LibriSpeech/ASR/CTC/train.py``.
    device : str
        Where the models go.
    overrides : dict, optional
        Run name -> YAML overrides of its ``hyperparams.yaml`` (e.g. an
        inference setting tuned on dev after training: ``{skip_threshold:
        0.7}``).

    Returns
    -------
    list of Entry
    """
    entries = []
    for name, folder in folders.items():
        folder = Path(folder)
        results_path = folder / "results.json"
        if not results_path.is_file():
            raise FileNotFoundError(
                f"{results_path} not found: run {name} has not finished training "
                "(train it, or pass --train).")
        hparams, tokenizer = load_experiment(str(folder), (overrides or {}).get(name, ""))
        hparams["ctc_model"].to(device).eval()
        hparams["normalize"].to(device).eval()
        results = json.loads(results_path.read_text(encoding="utf-8"))
        entries.append(Entry(name, folder, hparams, tokenizer, results))
    return entries


@torch.no_grad()
def score(entry, csv_path, batch_size=8, device="cpu"):
    """Greedy WER, layers computed and frames skipped of a run's model at
    its inference setting on one test CSV.

    Arguments
    ---------
    entry : Entry
        The run.
    csv_path : str
        A test CSV (``ID, duration, wav, wrd``).
    batch_size : int
        Utterances per batch.
    device : str
        Where the features go.

    Returns
    -------
    dict
        ``WER``, ``avg_layers``, ``skipped_share``.
    """
    decode = greedy_decoder(entry.tokenizer, entry.hparams["blank_index"])
    errors = words = skipped = frames = 0
    layers = []
    for _, feats, wav_lens, refs in csv_batches(csv_path, entry.hparams, batch_size, device):
        out = entry.model(feats, wav_lens, **entry.options)
        hyps = decode(out.output, wav_lens)
        errors += sum(word_errors(h, r) for h, r in zip(hyps, refs))
        words += sum(len(r) for r in refs)
        layers += out.layers_computed.tolist()
        skipped += out.skipped_frames
        frames += out.real_frames
    return {"WER": 100.0 * errors / max(1, words),
            "avg_layers": statistics.fmean(layers) if layers else 0.0,
            "skipped_share": skipped / max(1, frames)}


def long_inputs(csv_path, data_folder, sample_rate, seconds, count):
    """Test utterances concatenated into ``count`` waveforms of
    ``seconds`` (the speed inputs; fewer if the set is shorter).

    Arguments
    ---------
    csv_path : str
        A test CSV.
    data_folder : str
        The value of ``$data_root`` in its ``wav`` column.
    sample_rate : int
        Of the models.
    seconds : float
        Length of each input.
    count : int
        Inputs wanted.

    Returns
    -------
    list of torch.Tensor
        ``[samples]`` waveforms.
    """
    target = int(seconds * sample_rate)
    inputs, pieces, length = [], [], 0
    with open(csv_path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            wav = load_audio(row["wav"].replace("$data_root", str(data_folder)), sample_rate)
            pieces.append(wav)
            length += len(wav)
            if length >= target:
                inputs.append(torch.cat(pieces)[:target])
                pieces, length = [], 0
                if len(inputs) == count:
                    break
    if not inputs:
        raise ValueError(f"{csv_path}: not {seconds} s of audio to time the models on.")
    return inputs


@torch.no_grad()
def peak_memory_mb(call, device="cpu"):
    """Peak memory (MiB) that ``call()`` allocates above what is already
    allocated.

    CUDA: the allocator's peak. CPU: the running sum of every allocation and
    free the profiler records, in time order.

    Example
    -------
    >>> x = torch.randn(512, 512)
    >>> round(peak_memory_mb(lambda: (x @ x) @ x), 1)  # two 1 MiB results alive
    2.0
    """
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        call()
        torch.cuda.synchronize(device)
        return (torch.cuda.max_memory_allocated(device) - base) / 2**20
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True,
                 acc_events=True) as prof:
        call()
    running = peak = 0
    for event in sorted(prof.events(), key=lambda e: e.time_range.start):
        running += event.self_cpu_memory_usage
        peak = max(peak, running)
    return peak / 2**20


@torch.no_grad()
def measure_speed(entries, waveforms, baseline, repeats=5, device="cpu"):
    """Times every run's model on the same long inputs, side by side.

    Arguments
    ---------
    entries : list of Entry
        The runs (each input goes through its own features and
        normalisation first, untimed).
    waveforms : list of torch.Tensor
        The inputs (one at a time: batch 1).
    baseline : str
        The entry the speed-ups are over.
    repeats : int
        Timed rounds (after a warm-up round).
    device : str
        Where the models run.

    Returns
    -------
    dict
        Entry name -> ``rtf``, ``speedup`` (+ ``_min``/``_max``),
        ``own_speedup`` (over its full pass), ``peak_memory_MB``.
    """
    lens = torch.ones(1, device=device)
    feats = {}
    for entry in entries:
        feats[entry.name] = [
            entry.hparams["normalize"](entry.hparams["compute_features"](
                w.unsqueeze(0).to(device)), lens) for w in waveforms]
    cases = {}
    for entry in entries:
        options, model, inputs = entry.options, entry.model, feats[entry.name]
        cases[entry.name] = lambda i, m=model, o=options, x=inputs: m(x[i], lens, **o)
        cases[f"full:{entry.name}"] = lambda i, m=model, x=inputs: m.forward_full(x[i], lens)
    progress = tqdm(total=(repeats + 1) * len(cases), desc="timing", unit="case")
    rounds = time_rounds(cases, [(i,) for i in range(len(waveforms))], repeats, device,
                         progress=progress.update)
    progress.close()
    audio = sum(len(w) for w in waveforms) / entries[0].hparams["sample_rate"]
    stats = {}
    for entry in entries:
        mine = rounds[entry.name]
        ratios = [b / max(m, 1e-9) for b, m in zip(rounds[baseline], mine)]
        own = [f / max(m, 1e-9) for f, m in zip(rounds[f"full:{entry.name}"], mine)]
        stats[entry.name] = {
            "rtf": statistics.median(mine) / audio,
            "speedup": statistics.median(ratios),
            "speedup_min": min(ratios), "speedup_max": max(ratios),
            "own_speedup": statistics.median(own),
            "peak_memory_MB": peak_memory_mb(
                lambda: cases[entry.name](0), device),
        }
    return stats


def build_rows(entries, baseline, seconds=30.0, inputs=4, repeats=5, device="cpu",
               batch_size=8):
    """Scores and times every run; one row per run (`COLUMNS`).

    Arguments
    ---------
    entries : list of Entry
        The runs; ``baseline`` among them.
    baseline : str
        The run the speed-ups are over (the MHSA Conformer).
    seconds : float
        Length of each speed input.
    inputs : int
        Speed inputs.
    repeats : int
        Timed rounds.
    device : str
        Where the models run.
    batch_size : int
        Utterances per batch when scoring.

    Returns
    -------
    list of dict
    """
    names = [e.name for e in entries]
    if baseline not in names:
        raise ValueError(f"baseline {baseline!r}: no such run among {names}.")
    for entry in tqdm(entries, desc="scoring", unit="run"):
        params = sum(p.numel() for p in entry.model.parameters())
        row = {"run": entry.name, "parameters_M": params / 1e6,
               "num_layers": entry.model.num_layers}
        for set_name, path in test_sets(entry.hparams).items():
            scored = score(entry, path, batch_size, device)
            row[f"WER_{set_name}"] = scored["WER"]
            row[f"lexicon_WER_{set_name}"] = entry.results.get(set_name, {}).get("lexicon_WER")
            if set_name == "test-clean":
                row["avg_layers"] = scored["avg_layers"]
                row["skipped_share"] = scored["skipped_share"]
        entry.row = row
    first = entries[names.index(baseline)]
    waveforms = long_inputs(test_sets(first.hparams)["test-clean"],
                            first.hparams["data_folder"], first.hparams["sample_rate"],
                            seconds, inputs)
    speed = measure_speed(entries, waveforms, baseline, repeats, device)
    return [dict(e.row, **speed[e.name]) for e in entries]


def pareto_front(rows, x="speedup", y="WER_test-clean"):
    """The rows no other row beats on both ``x`` (higher is better) and
    ``y`` (lower is better).

    Example
    -------
    >>> rows = [{"run": "a", "speedup": 1.0, "WER_test-clean": 20.0},
    ...         {"run": "b", "speedup": 2.0, "WER_test-clean": 25.0},
    ...         {"run": "c", "speedup": 1.5, "WER_test-clean": 30.0}]
    >>> [r["run"] for r in pareto_front(rows)]
    ['b', 'a']
    """
    front, best = [], float("inf")
    for row in sorted(rows, key=lambda r: (-r[x], r[y])):
        if row[y] < best:
            front.append(row)
            best = row[y]
    return front


def _cell(value, fmt="{:.2f}"):
    """A table cell (``-`` for a missing value)."""
    return "-" if value is None else fmt.format(value)


def markdown(rows, baseline, meta):
    """The leaderboard table in Markdown.

    Arguments
    ---------
    rows : list of dict
        From `build_rows`.
    baseline : str
        The speed-ups' reference.
    meta : dict
        ``command``, ``date``, ``device``, ``seconds``, ``inputs``,
        ``repeats``.

    Returns
    -------
    str
    """
    front = {r["run"] for r in pareto_front(rows)}
    lines = [
        "| run | params (M) | WER test-clean | WER cv-test (OOD) | lexicon WER test-clean "
        "| lexicon WER cv-test | layers computed | frames skipped | encoder RTF "
        f"| speed-up vs {baseline} (min-max) | speed-up vs own full pass | peak memory (MB) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(rows, key=lambda r: r["WER_test-clean"]):
        name = f"**{r['run']}**" if r["run"] in front else r["run"]
        lines.append(
            f"| {name} | {r['parameters_M']:.2f} | {r['WER_test-clean']:.2f} "
            f"| {_cell(r.get('WER_cv-test'))} | {_cell(r.get('lexicon_WER_test-clean'))} "
            f"| {_cell(r.get('lexicon_WER_cv-test'))} "
            f"| {r['avg_layers']:.2f} / {r['num_layers']} | {100 * r['skipped_share']:.1f}% "
            f"| {r['rtf']:.4f} | {r['speedup']:.2f}x ({r['speedup_min']:.2f}-"
            f"{r['speedup_max']:.2f}) | {r['own_speedup']:.2f}x | {r['peak_memory_MB']:.1f} |")
    notes = [
        "",
        f"Measured {meta['date']} on {meta['device']} by `{meta['command']}`.",
        "WER: greedy CTC at each model's own inference setting (its YAML's exit strategy "
        "and skip threshold); lexicon WER: the run's test stage (full model, lexicon + "
        "word trigram search). Layers computed: mean per test-clean utterance. Speed: "
        f"{meta['inputs']} inputs of {meta['seconds']:g} s (test-clean utterances "
        f"concatenated), batch 1, {meta['repeats']} interleaved rounds after a warm-up; "
        "the speed-ups are the median of the per-round ratios. Bold: the Pareto front "
        "of WER test-clean against the speed-up.",
    ]
    return "\n".join(lines + notes) + "\n"


def write_leaderboard(rows, out, baseline, meta):
    """Writes ``<out>.md``, ``<out>.csv`` and ``<out>.png``.

    Arguments
    ---------
    rows : list of dict
        From `build_rows`.
    out : str or Path
        Path without suffix (e.g. ``results/leaderboard``).
    baseline : str
        See `markdown`.
    meta : dict
        See `markdown`.

    Returns
    -------
    str
        The Markdown table.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table = markdown(rows, baseline, meta)
    out.with_suffix(".md").write_text(
        f"# Leaderboard: the LibriSpeech CTC recipe's YAMLs\n\n{table}", encoding="utf-8")
    with open(out.with_suffix(".csv"), "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, out.with_suffix(".png"), baseline)
    return table


def plot(rows, path, baseline):
    """WER (in-domain and OOD) against the speed-up, Pareto front joined."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = [s for s in ("WER_test-clean", "WER_cv-test") if all(s in r for r in rows)]
    fig, axes = plt.subplots(1, len(sets), figsize=(6 * len(sets), 4.5), squeeze=False)
    for ax, key in zip(axes[0], sets):
        for r in rows:
            ax.scatter(r["speedup"], r[key])
            ax.annotate(r["run"].replace("_ctc", ""), (r["speedup"], r[key]),
                        fontsize=7, xytext=(3, 3), textcoords="offset points")
        front = sorted(pareto_front(rows, y=key), key=lambda r: r["speedup"])
        ax.plot([r["speedup"] for r in front], [r[key] for r in front], "k--", lw=1,
                label="Pareto front")
        ax.set_xlabel(f"encoder speed-up over {baseline} (x)")
        ax.set_ylabel(f"{key.replace('_', ' ')} (%), greedy")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def update_readme(readme, table, source):
    """Replaces the part of ``readme`` between the leaderboard markers.

    Arguments
    ---------
    readme : str or Path
        A Markdown file holding `README_START` and `README_END`.
    table : str
        The new content.
    source : str
        Where the table comes from (named above it).
    """
    readme = Path(readme)
    text = readme.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        raise ValueError(
            f"{readme}: no leaderboard markers; add the lines\n{README_START}\n"
            f"{README_END}\nwhere the table goes.")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    block = f"{README_START}\n_Generated from `{source}`; do not edit by hand._\n\n{table}{README_END}"
    readme.write_text(head + block + tail, encoding="utf-8")


def run_meta(command, device, seconds, inputs, repeats):
    """The measurement's context for the table's note."""
    threads = torch.get_num_threads()
    where = (torch.cuda.get_device_name(device) if torch.device(device).type == "cuda"
             else f"{platform.processor() or platform.machine()} CPU, {threads} "
                  f"thread{'s' * (threads > 1)}")
    return {"command": command, "date": time.strftime("%Y-%m-%d"), "device": where,
            "seconds": seconds, "inputs": inputs, "repeats": repeats,
            "cwd": os.getcwd()}
