"""Token-mixing benchmark: MHSA Conformer vs SummaryMixing encoders.

Measures how the cost of a speech encoder grows with the length of the
audio when multi-head self-attention (quadratic in the length) is replaced by
SummaryMixing (linear). Encoders of equal width (``--d-model``) and depth
(``--layers``), built in code from the options below:

``no_mixing``
    The Conformer with its token mixer removed (feed-forward modules,
    convolution module, LayerNorms): the floor of any linear-time mixer,
    since SummaryMixing's cost is that of feed-forward layers.

``mhsa_relpos``
    SpeechBrain's ``ConformerEncoder`` with ``RelPosMHAXL`` attention, fed
    with ``RelPosEncXL`` relative positions (the usual SpeechBrain recipe).
``mhsa_regular``
    The same Conformer with ``regularMHA`` (torch's ``nn.MultiheadAttention``,
    no relative positions). SpeechBrain 1.1's Conformer layer asks it for the
    attention weights (``need_weights=True``), so torch computes
    ``softmax(QK^T)`` explicitly (``bmm``), without its fused kernels.
``mhsa_sdpa``
    ``mhsa_regular`` with the same parameters, its attention called with
    ``need_weights=False`` so that torch runs ``scaled_dot_product_attention``
    (fused flash / memory-efficient kernels where available): the strongest
    attention baseline, so that no gain is credited to a slow attention.
``summarymixing_conformer``
    ``SummaryMixingConformerEncoder`` (GELU, as the authors' recipes); the
    hidden size ``h`` of its local and summary MLPs is searched so that its
    parameter count is the closest to ``mhsa_relpos``'s.
``summarymixing_conformer_authors``
    The same at the authors' sizes: hidden sizes ``[d_model]`` (their
    LibriSpeech recipes: 512 for ``d_model`` 512), fewer parameters.
``summarymixing_branchformer``
    ``SummaryMixingBranchformerEncoder`` (local and summary MLPs of width
    ``d_model``); ``csgu_linear_units`` is searched the same way.

The MHSA Conformers keep SpeechBrain's default activation (Swish). The
parameter counts are printed. Every encoder gets ``src [batch, frames,
d_model]`` with ``frames = seconds * --frame-rate`` (25 frames per second:
100 feature frames per second after SpeechBrain's usual 4x subsampling) and
an all-False padding mask.

Per case (encoder, batch size, audio length):

* inference time: eval mode, ``torch.no_grad()``, median of ``--repeats``
  forward passes after one warm-up pass;
* training-step time: train mode, forward + backward of ``output.sum()``,
  median of ``--repeats`` steps after one warm-up step (the memory step);
* peak memory of one training step. On the CPU every case runs in a fresh
  subprocess (the script calls itself with a hidden ``--case`` option) and
  the child reports, as JSON, its times, its peak RSS during the step and
  its RSS right before the step, so that the table shows both the peak and
  the step's own increase; the ratios compare the increase. The peak is
  Linux's ``VmHWM`` reset right before the step (``/proc/self/clear_refs``):
  ``getrusage(RUSAGE_SELF).ru_maxrss`` cannot be used as is, because on
  Linux a child's ``ru_maxrss`` starts at its parent's peak RSS (it is the
  fallback where ``/proc`` is missing; the CSV's ``mem_measure`` says which
  was used). On CUDA the run stays in one process and uses
  ``torch.cuda.max_memory_allocated`` (peak, and increase over the memory
  allocated before the step). ``--no-subprocess`` runs CPU cases in-process:
  times only, memory n/a (memory freed by earlier cases would hide the
  step's growth).

The encoders of one (batch size, length) run one after the other, so the
ratios (SummaryMixing / baseline: below 1 means SummaryMixing is cheaper) come
from the same run and the same machine load. The growth exponent ``k`` of
``time ~ length**k`` is fitted by least squares on log-log over the lengths
of at least ``--fit-min-seconds`` (30 s): about 1 for linear-time encoders,
towards 2 where attention dominates.

Outputs in ``--out`` (default ``benchmarks/out``): ``token_mixing.csv`` (raw
results, every repeat), ``token_mixing.png`` (time and memory vs audio
length, log-log) and ``token_mixing.txt`` (the printed report).

Usage
-----
    python benchmarks/token_mixing.py                       # CPU, defaults
    python benchmarks/token_mixing.py --device cuda --batch-sizes 1 8 16
    python benchmarks/token_mixing.py --encoders mhsa_regular \\
        summarymixing_conformer --lengths 30 60 --max-seconds-per-case 60

``--max-seconds-per-case N`` skips the longer lengths of an encoder and batch
size once one of its cases needs more than N seconds for an inference or a
training step. Subprocesses are limited to ``--memory-limit-gb`` of new
address space (default: 75% of the memory available at start), so that a
case too big for the machine fails alone ("oom") instead of waking the OOM
killer.
"""

import argparse
import csv
import dataclasses
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, List, Optional

import torch

from speechbrain_ee.analysis.timing import (
    current_rss_bytes,
    peak_rss_bytes,
    reset_peak_rss,
)

ENCODERS = (
    "no_mixing",
    "mhsa_relpos",
    "mhsa_regular",
    "mhsa_sdpa",
    "summarymixing_conformer",
    "summarymixing_conformer_authors",
    "summarymixing_branchformer",
)
BASELINES = ("no_mixing", "mhsa_relpos", "mhsa_regular", "mhsa_sdpa")
REFERENCE = "mhsa_relpos"
CASE_MARKER = "TOKEN_MIXING_CASE "
DEFAULT_OUT = Path(__file__).resolve().parent / "out"


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Sizes shared by every encoder, plus the two searched sizes."""

    layers: int
    d_model: int
    d_ffn: int
    nhead: int
    kernel_size: int
    summary_hidden: Optional[int] = None
    """Hidden size ``h`` of the SummaryMixing Conformer's MLPs."""
    csgu_linear_units: Optional[int] = None
    """cgMLP width of the SummaryMixing Branchformer."""


@dataclasses.dataclass
class CaseResult:
    """Measurements of one (encoder, batch size, length) case."""

    encoder: str
    batch_size: int
    seconds: float
    frames: int
    params: int
    status: str = "ok"
    """``ok``, ``skipped``, ``oom`` or ``failed``."""
    infer_s: Optional[float] = None
    train_s: Optional[float] = None
    infer_times: List[float] = dataclasses.field(default_factory=list)
    train_times: List[float] = dataclasses.field(default_factory=list)
    peak_mem_bytes: Optional[int] = None
    mem_before_bytes: Optional[int] = None
    step_mem_bytes: Optional[int] = None
    mem_measure: str = ""
    """How memory was measured (see `measure_memory_step`)."""
    note: str = ""


class BenchEncoder(torch.nn.Module):
    """An encoder plus, for ``RelPosMHAXL``, its relative positions.

    Arguments
    ---------
    encoder : torch.nn.Module
        Any encoder with SpeechBrain's encoder signature.
    pos_enc : torch.nn.Module, optional
        Builds ``pos_embs`` from the input (``RelPosEncXL``).
    """

    def __init__(self, encoder, pos_enc=None):
        super().__init__()
        self.encoder = encoder
        self.pos_enc = pos_enc

    def forward(self, src, mask):
        """Encodes ``src [batch, time, d_model]``; returns the output only."""
        pos_embs = None if self.pos_enc is None else self.pos_enc(src)
        output = self.encoder(
            src, src_key_padding_mask=mask, pos_embs=pos_embs
        )
        return output[0]


class WeightlessAttention(torch.nn.Module):
    """SpeechBrain's ``MultiheadAttention`` called without weights.

    SpeechBrain's Conformer layer unpacks ``(output, weights)`` from its
    attention and asks for the weights, which makes torch compute the
    attention matrix explicitly; called with ``return_attn_weights=False``,
    torch uses ``scaled_dot_product_attention``. Returns ``None`` weights.

    Arguments
    ---------
    attention : speechbrain.nnet.attention.MultiheadAttention
        The wrapped attention (its parameters are kept).
    """

    def __init__(self, attention):
        super().__init__()
        self.attention = attention

    def forward(self, *args, **kwargs):
        """Same arguments as the wrapped attention; returns (output, None)."""
        kwargs["return_attn_weights"] = False
        return self.attention(*args, **kwargs), None


class NoMixingLayer(torch.nn.Module):
    """A SummaryMixing Conformer layer without its token mixer.

    Macaron feed-forward (x 1/2), convolution module, feed-forward (x 1/2)
    and final LayerNorm, the modules (and parameters) of ``layer``; the
    mixer and its pre-norm are dropped.

    Arguments
    ---------
    layer : SummaryMixingConformerEncoderLayer
        The layer whose other modules are kept.
    """

    def __init__(self, layer):
        super().__init__()
        self.ffn_module1 = layer.ffn_module1
        self.convolution_module = layer.convolution_module
        self.ffn_module2 = layer.ffn_module2
        self.norm2 = layer.norm2

    def forward(self, x, src_key_padding_mask=None, **kwargs):
        """The layer's forward without mixing; returns ``(output, None)``."""
        mask = None
        if src_key_padding_mask is not None:
            mask = src_key_padding_mask.unsqueeze(-1)
        x = x + 0.5 * self.ffn_module1(x)
        x = x + self.convolution_module(x, mask)
        return self.norm2(x + 0.5 * self.ffn_module2(x)), None


def build_encoder(name, cfg):
    """Builds the bare encoder ``name`` (one of `ENCODERS`) from ``cfg``."""
    from speechbrain.lobes.models.transformer.Conformer import (
        ConformerEncoder,
    )

    from speechbrain_ee.lobes.summary_mixing_encoders import (
        SummaryMixingBranchformerEncoder,
        SummaryMixingConformerEncoder,
    )

    common = dict(
        num_layers=cfg.layers,
        d_model=cfg.d_model,
        nhead=cfg.nhead,
        kernel_size=cfg.kernel_size,
    )
    if name == "mhsa_relpos":
        return ConformerEncoder(
            d_ffn=cfg.d_ffn, attention_type="RelPosMHAXL", **common
        )
    if name in ("mhsa_regular", "mhsa_sdpa"):
        encoder = ConformerEncoder(
            d_ffn=cfg.d_ffn, attention_type="regularMHA", **common
        )
        if name == "mhsa_sdpa":
            for layer in encoder.layers:
                layer.mha_layer = WeightlessAttention(layer.mha_layer)
        return encoder
    if name in ("summarymixing_conformer", "summarymixing_conformer_authors",
                "no_mixing"):
        hidden = cfg.summary_hidden
        if name != "summarymixing_conformer":
            hidden = cfg.d_model
        encoder = SummaryMixingConformerEncoder(
            d_ffn=cfg.d_ffn,
            local_proj_hid_dim=[hidden],
            local_proj_out_dim=cfg.d_model,
            summary_hid_dim=[hidden],
            summary_out_dim=cfg.d_model,
            activation=torch.nn.GELU,
            **common,
        )
        if name == "no_mixing":
            encoder.layers = torch.nn.ModuleList(
                NoMixingLayer(layer) for layer in encoder.layers
            )
        return encoder
    if name == "summarymixing_branchformer":
        return SummaryMixingBranchformerEncoder(
            csgu_linear_units=cfg.csgu_linear_units,
            local_proj_hid_dim=[cfg.d_model],
            local_proj_out_dim=cfg.d_model,
            summary_hid_dim=[cfg.d_model],
            summary_out_dim=cfg.d_model,
            **common,
        )
    raise ValueError(f"Unknown encoder {name!r}; expected one of {ENCODERS}.")


def build_bench_encoder(name, cfg):
    """`build_encoder` wrapped in `BenchEncoder` (with ``RelPosEncXL``)."""
    from speechbrain.nnet.attention import RelPosEncXL

    pos_enc = RelPosEncXL(cfg.d_model) if name == "mhsa_relpos" else None
    return BenchEncoder(build_encoder(name, cfg), pos_enc)


def count_parameters(name, cfg):
    """Number of parameters of encoder ``name``, built on the meta device."""
    with torch.device("meta"):
        encoder = build_encoder(name, cfg)
    return sum(p.numel() for p in encoder.parameters())


def closest_size(count: Callable[[int], int], target, step, max_size):
    """Multiple of ``step`` whose ``count`` is the closest to ``target``.

    ``count`` must be non-decreasing in the size: a binary search finds the
    smallest size reaching ``target``, then its lower neighbour is compared.

    Arguments
    ---------
    count : callable
        Size -> parameter count.
    target : int
        The count to match.
    step : int
        Sizes are ``step, 2 * step, ..., max_size``.
    max_size : int
        Largest size tried.

    Returns
    -------
    int
        The best size.

    Example
    -------
    >>> closest_size(lambda size: 10 * size + 3, 248, 2, 100)
    24
    """
    lo, hi = 1, max(1, max_size // step)
    while lo < hi:
        mid = (lo + hi) // 2
        if count(mid * step) < target:
            lo = mid + 1
        else:
            hi = mid
    candidates = [lo * step] + ([(lo - 1) * step] if lo > 1 else [])
    return min(candidates, key=lambda size: abs(count(size) - target))


def match_parameters(cfg):
    """Fills the searched sizes of ``cfg`` left unset (None).

    ``summary_hidden`` (multiple of ``nhead``) and ``csgu_linear_units``
    (even) are chosen so that each SummaryMixing encoder has the parameter
    count closest to ``mhsa_relpos`` at the same width and depth.
    """
    target = count_parameters(REFERENCE, cfg)
    max_size = 64 * cfg.d_model
    if cfg.summary_hidden is None:
        hidden = closest_size(
            lambda h: count_parameters(
                "summarymixing_conformer",
                dataclasses.replace(cfg, summary_hidden=h),
            ),
            target,
            cfg.nhead,
            max_size,
        )
        cfg = dataclasses.replace(cfg, summary_hidden=hidden)
    if cfg.csgu_linear_units is None:
        units = closest_size(
            lambda u: count_parameters(
                "summarymixing_branchformer",
                dataclasses.replace(cfg, csgu_linear_units=u),
            ),
            target,
            2,
            max_size,
        )
        cfg = dataclasses.replace(cfg, csgu_linear_units=units)
    return cfg


def synchronize(device):
    """Waits for the device's queued work (CUDA only)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device):
    """Wall-clock seconds of ``fn()``, synchronized around on CUDA."""
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start


def train_step(model, src, mask):
    """One training step without optimizer: forward, ``sum()``, backward."""
    model.zero_grad(set_to_none=True)
    model(src, mask).sum().backward()


def memory_mode(device, subprocess_cases):
    """``"cuda"``, ``"rss"`` (CPU, fresh process per case) or ``"none"``."""
    if torch.device(device).type == "cuda":
        return "cuda"
    return "rss" if subprocess_cases else "none"


def describe_memory(mode):
    """One line saying how memory is measured, for the report."""
    return {
        "rss": "memory: peak RSS of a fresh process per case during one "
        "training step (VmHWM, reset right before the step through "
        "/proc/self/clear_refs; includes Python, torch and the model) and "
        "the step's increase (that peak minus the RSS just before the "
        "step); ratios use the increase. getrusage's ru_maxrss is not used: "
        "on Linux a child's ru_maxrss starts at its parent's peak RSS",
        "cuda": "memory: torch.cuda.max_memory_allocated during one training "
        "step (peak) and its increase over the memory allocated before the "
        "step; ratios use the increase",
        "none": "memory: n/a (in-process CPU run: memory kept from earlier "
        "cases would hide the step's growth)",
    }[mode]


def measure_memory_step(step, device, mode):
    """Runs ``step`` once and measures its memory.

    Returns
    -------
    tuple
        ``(peak, before, increase, measure)``: bytes (None where not
        measured) and a short name of the measure.
    """
    if mode == "cuda":
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        step()
        synchronize(device)
        peak = torch.cuda.max_memory_allocated(device)
        return peak, before, peak - before, "cuda max_memory_allocated"
    if mode == "rss":
        before = current_rss_bytes()
        was_reset = reset_peak_rss()
        step()
        peak = peak_rss_bytes()
        increase = None if before is None else peak - before
        measure = "VmHWM reset before the step" if was_reset else (
            "process lifetime peak RSS (no reset available)")
        return peak, before, increase, measure
    step()
    return None, None, None, "n/a"


def measure_case(name, cfg, batch_size, frames, repeats, device, mode):
    """Times inference and training of one case and measures its memory.

    The training steps come first, so that the memory step (which is also
    the training warm-up) meets a process that has only built the model and
    run one tiny step (that initialises autograd and the thread pools).

    Returns
    -------
    dict
        ``infer_times``, ``train_times`` (seconds, one per repeat),
        ``peak_mem_bytes``, ``mem_before_bytes``, ``step_mem_bytes``,
        ``mem_measure``.
    """
    torch.manual_seed(0)
    model = build_bench_encoder(name, cfg).to(device)
    src = torch.randn(batch_size, frames, cfg.d_model, device=device)
    mask = torch.zeros(batch_size, frames, dtype=torch.bool, device=device)
    model.train()
    train_step(model, src[:1, :8], mask[:1, :8])
    peak, before, increase, measure = measure_memory_step(
        lambda: train_step(model, src, mask), device, mode
    )
    train_times = [
        timed(lambda: train_step(model, src, mask), device)
        for _ in range(repeats)
    ]
    model.zero_grad(set_to_none=True)
    model.eval()
    with torch.no_grad():
        timed(lambda: model(src, mask), device)
        infer_times = [
            timed(lambda: model(src, mask), device) for _ in range(repeats)
        ]
    return {
        "infer_times": infer_times,
        "train_times": train_times,
        "peak_mem_bytes": peak,
        "mem_before_bytes": before,
        "step_mem_bytes": increase,
        "mem_measure": measure,
    }


def is_out_of_memory(error):
    """Whether ``error`` is an allocation failure (CPU or CUDA)."""
    if isinstance(error, (MemoryError, torch.OutOfMemoryError)):
        return True
    text = str(error)
    return isinstance(error, RuntimeError) and (
        "can't allocate memory" in text or "out of memory" in text
    )


def limit_address_space(extra_bytes):
    """Caps this process at its current address space + ``extra_bytes``."""
    try:
        with open("/proc/self/status") as status:
            line = next(ln for ln in status if ln.startswith("VmSize:"))
        current = int(line.split()[1]) * 1024
    except (OSError, StopIteration, ValueError):
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = current + int(extra_bytes)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def available_memory_bytes():
    """``MemAvailable`` of ``/proc/meminfo`` in bytes, or None."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def frames_for(seconds, frame_rate):
    """Number of encoder frames of ``seconds`` of audio (at least 1)."""
    return max(1, round(seconds * frame_rate))


def run_case_child(args, cfg):
    """The hidden ``--case`` mode: measures one case, prints one JSON line."""
    name, batch_size, seconds = args.case
    if args.memory_limit_gb:
        limit_address_space(args.memory_limit_gb * 2**30)
    frames = frames_for(float(seconds), args.frame_rate)
    try:
        result = measure_case(
            name, cfg, int(batch_size), frames, args.repeats, args.device,
            memory_mode(args.device, subprocess_cases=True),
        )
        result["status"] = "ok"
    except Exception as error:  # reported to the parent, not raised
        if not is_out_of_memory(error):
            raise
        result = {"status": "oom", "note": str(error).splitlines()[0][:200]}
    print(CASE_MARKER + json.dumps(result), flush=True)
    return result


def child_argv(args, cfg, name, batch_size, seconds):
    """Command line that measures one case in a fresh interpreter."""
    argv = [
        sys.executable, str(Path(__file__).resolve()),
        "--case", name, str(batch_size), repr(float(seconds)),
        "--layers", str(cfg.layers),
        "--d-model", str(cfg.d_model),
        "--d-ffn", str(cfg.d_ffn),
        "--nhead", str(cfg.nhead),
        "--kernel-size", str(cfg.kernel_size),
        "--summary-hidden", str(cfg.summary_hidden),
        "--csgu-linear-units", str(cfg.csgu_linear_units),
        "--frame-rate", repr(args.frame_rate),
        "--repeats", str(args.repeats),
        "--device", args.device,
        "--memory-limit-gb", repr(args.memory_limit_gb or 0.0),
    ]
    if args.threads:
        argv += ["--threads", str(args.threads)]
    return argv


def run_case_subprocess(args, cfg, name, batch_size, seconds):
    """Measures one case in a fresh process; returns its result dict."""
    proc = subprocess.run(
        child_argv(args, cfg, name, batch_size, seconds),
        capture_output=True, text=True,
    )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(CASE_MARKER):
            return json.loads(line[len(CASE_MARKER):])
    if proc.returncode < 0:
        note = f"killed by signal {-proc.returncode} (out of memory?)"
        return {"status": "oom", "note": note}
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"status": "failed", "note": f"rc {proc.returncode}: {tail}"}


def run_case_in_process(args, cfg, name, batch_size, seconds):
    """Measures one case in this process; returns its result dict."""
    frames = frames_for(seconds, args.frame_rate)
    mode = memory_mode(args.device, subprocess_cases=False)
    try:
        result = measure_case(
            name, cfg, batch_size, frames, args.repeats, args.device, mode
        )
    except Exception as error:
        if not is_out_of_memory(error):
            raise
        return {"status": "oom", "note": str(error).splitlines()[0][:200]}
    finally:
        if torch.device(args.device).type == "cuda":
            torch.cuda.empty_cache()
    result["status"] = "ok"
    return result


def to_case_result(name, batch_size, seconds, frames, params, measured):
    """`CaseResult` from the dict of `measure_case` (or a failure)."""
    result = CaseResult(name, batch_size, seconds, frames, params)
    result.status = measured.get("status", "ok")
    result.note = measured.get("note", "")
    if result.status == "ok":
        result.infer_times = measured["infer_times"]
        result.train_times = measured["train_times"]
        result.infer_s = statistics.median(result.infer_times)
        result.train_s = statistics.median(result.train_times)
        result.peak_mem_bytes = measured["peak_mem_bytes"]
        result.mem_before_bytes = measured["mem_before_bytes"]
        result.step_mem_bytes = measured["step_mem_bytes"]
        result.mem_measure = measured["mem_measure"]
    return result


def run_cases(args, cfg, params, log):
    """Runs every case, the encoders of one length side by side.

    After a case that fails, runs out of memory or takes more than
    ``--max-seconds-per-case`` for one step, the longer lengths of the same
    encoder and batch size are marked ``skipped``.
    """
    in_subprocess = (
        not args.no_subprocess and torch.device(args.device).type == "cpu"
    )
    run_one = run_case_subprocess if in_subprocess else run_case_in_process
    stopped = {}
    results = []
    for batch_size in args.batch_sizes:
        for seconds in sorted(args.lengths):
            frames = frames_for(seconds, args.frame_rate)
            for name in args.encoders:
                key = (name, batch_size)
                if key in stopped:
                    result = CaseResult(
                        name, batch_size, seconds, frames, params[name],
                        status="skipped", note=stopped[key],
                    )
                else:
                    measured = run_one(args, cfg, name, batch_size, seconds)
                    result = to_case_result(
                        name, batch_size, seconds, frames, params[name],
                        measured,
                    )
                    reason = stop_reason(result, args.max_seconds_per_case)
                    if reason:
                        stopped[key] = reason
                results.append(result)
                log(format_progress(result))
    return results


def stop_reason(result, max_seconds):
    """Why longer lengths of this encoder and batch are skipped, or ''."""
    if result.status != "ok":
        return f"{result.status} at {result.seconds:g} s"
    slowest = max(result.infer_s, result.train_s)
    if max_seconds and slowest > max_seconds:
        return f"{format_time(slowest)} per step at {result.seconds:g} s"
    return ""


def fit_exponent(points):
    """Least-squares slope of ``log(time)`` vs ``log(length)``, or None.

    Example
    -------
    >>> round(fit_exponent([(30, 9.0), (60, 36.0), (120, 144.0)]), 3)
    2.0
    """
    points = [(x, y) for x, y in points if x > 0 and y and y > 0]
    if len({x for x, _ in points}) < 2:
        return None
    logs = [(math.log(x), math.log(y)) for x, y in points]
    mean_x = sum(x for x, _ in logs) / len(logs)
    mean_y = sum(y for _, y in logs) / len(logs)
    cov = sum((x - mean_x) * (y - mean_y) for x, y in logs)
    var = sum((x - mean_x) ** 2 for x, _ in logs)
    return cov / var


def growth_exponents(results, min_seconds):
    """Per encoder and batch size: fitted exponents of inference/training."""
    exponents = []
    keys = dict.fromkeys((r.encoder, r.batch_size) for r in results)
    for name, batch_size in keys:
        rows = [
            r for r in results
            if (r.encoder, r.batch_size) == (name, batch_size)
            and r.status == "ok" and r.seconds >= min_seconds
        ]
        exponents.append({
            "encoder": name,
            "batch_size": batch_size,
            "inference": fit_exponent([(r.seconds, r.infer_s) for r in rows]),
            "training": fit_exponent([(r.seconds, r.train_s) for r in rows]),
            "lengths": [r.seconds for r in rows],
        })
    return exponents


def ratio(numerator, denominator):
    """``numerator / denominator``, or None if either is missing or 0."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def compute_ratios(results):
    """SummaryMixing / baseline ratios of time and memory, case by case."""
    index = {(r.encoder, r.batch_size, r.seconds): r for r in results}
    baselines = [b for b in BASELINES if any(r.encoder == b for r in results)]
    ratios = []
    for r in results:
        if r.encoder in BASELINES:
            continue
        row = {"encoder": r.encoder, "batch_size": r.batch_size,
               "seconds": r.seconds}
        for base_name in baselines:
            base = index.get((base_name, r.batch_size, r.seconds))
            ok = r.status == "ok" and base is not None and base.status == "ok"
            row[f"infer/{base_name}"] = (
                ratio(r.infer_s, base.infer_s) if ok else None)
            row[f"train/{base_name}"] = (
                ratio(r.train_s, base.train_s) if ok else None)
            row[f"mem/{base_name}"] = (
                ratio(r.step_mem_bytes, base.step_mem_bytes) if ok else None)
        ratios.append(row)
    return ratios


def format_time(seconds):
    """``12.3 ms`` / ``4.56 s``, or ``n/a``."""
    if seconds is None:
        return "n/a"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def format_mib(num_bytes):
    """Bytes as MiB, or ``n/a``."""
    return "n/a" if num_bytes is None else f"{num_bytes / 2**20:.0f}"


def format_float(value, digits=2):
    """A float with ``digits`` decimals, or ``n/a``."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def format_table(headers, rows, left=(0,)):
    """Plain-text table: columns ``left`` left-aligned, the others right."""
    cells = [list(map(str, headers))] + [list(map(str, row)) for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row):
        return "  ".join(
            cell.ljust(w) if i in left else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths))
        )

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule] + [line(r) for r in cells[1:]])


def format_progress(result):
    """One progress line for a finished (or skipped) case."""
    line = (f"  {result.encoder:<27} B={result.batch_size:<3} "
            f"{result.seconds:>6g} s  ")
    if result.status != "ok":
        return line + f"{result.status} ({result.note})"
    line += (f"infer {format_time(result.infer_s)}  "
             f"train {format_time(result.train_s)}")
    if result.step_mem_bytes is not None:
        line += f"  step mem {format_mib(result.step_mem_bytes)} MiB"
    return line


def format_results(results):
    """The table of absolute times and memory."""
    rows = []
    for r in results:
        if r.status != "ok":
            rows.append([r.encoder, r.batch_size, f"{r.seconds:g}", r.frames,
                         r.status, "", "", ""])
            continue
        rows.append([
            r.encoder, r.batch_size, f"{r.seconds:g}", r.frames,
            format_time(r.infer_s), format_time(r.train_s),
            format_mib(r.peak_mem_bytes), format_mib(r.step_mem_bytes),
        ])
    headers = ["encoder", "batch", "audio s", "frames", "inference",
               "train step", "peak MiB", "step MiB"]
    return format_table(headers, rows)


def format_ratios(ratios):
    """The table of SummaryMixing / baseline ratios."""
    if not ratios:
        return "(no SummaryMixing encoder to compare)"
    keys = [k for k in ratios[0] if "/" in k]
    if not keys:
        return "(no baseline in --encoders)"
    rows = [
        [row["encoder"], row["batch_size"], f"{row['seconds']:g}"]
        + [format_float(row[k]) for k in keys]
        for row in ratios
    ]
    headers = ["encoder", "batch", "audio s"] + [
        k.replace("mhsa_", "") for k in keys
    ]
    return format_table(headers, rows)


def format_exponents(exponents, min_seconds):
    """The table of growth exponents."""
    rows = [
        [e["encoder"], e["batch_size"], format_float(e["inference"]),
         format_float(e["training"]),
         " ".join(f"{s:g}" for s in e["lengths"]) or "-"]
        for e in exponents
    ]
    headers = ["encoder", "batch", "k inference", "k training",
               f"lengths used (>= {min_seconds:g} s)"]
    return format_table(headers, rows, left=(0, 4))


def format_parameters(params, cfg, encoders):
    """Parameter counts of ``encoders`` (and `REFERENCE`)."""
    detail = {
        "mhsa_relpos": "RelPosMHAXL + RelPosEncXL, Swish",
        "mhsa_regular": "regularMHA as SpeechBrain calls it (explicit "
        "softmax(QK^T)), Swish",
        "mhsa_sdpa": "regularMHA without weights (torch SDPA, fused), Swish",
        "no_mixing": "the Conformer without token mixer (the floor), GELU",
        "summarymixing_conformer":
            f"local/summary hidden [{cfg.summary_hidden}], GELU",
        "summarymixing_conformer_authors":
            f"local/summary hidden [{cfg.d_model}] (authors' sizes), GELU",
        "summarymixing_branchformer":
            f"csgu_linear_units={cfg.csgu_linear_units}, "
            f"local/summary hidden [{cfg.d_model}], GELU",
    }
    reference = params[REFERENCE]
    rows = [
        [name, f"{count:,}", f"{100 * (count / reference - 1):+.2f}%",
         detail[name]]
        for name, count in params.items()
        if name in encoders or name == REFERENCE
    ]
    return format_table(
        ["encoder", "parameters", f"vs {REFERENCE}", "configuration"], rows,
        left=(0, 3),
    )


def environment(args):
    """Versions, device and threads, for the report and the CSV."""
    import speechbrain

    env = {
        "torch": torch.__version__,
        "speechbrain": speechbrain.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": args.device,
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "unset"),
    }
    if torch.device(args.device).type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(args.device)
    return env


def cpu_name():
    """CPU model from ``/proc/cpuinfo``, else `platform.processor`."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def write_csv(results, env, path):
    """One row per case, every repeat included (``;``-separated)."""
    fields = [f.name for f in dataclasses.fields(CaseResult)]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields + list(env))
        writer.writeheader()
        for r in results:
            row = dataclasses.asdict(r)
            row["infer_times"] = ";".join(f"{t:.6f}" for t in r.infer_times)
            row["train_times"] = ";".join(f"{t:.6f}" for t in r.train_times)
            writer.writerow({**row, **env})


def plot(results, mem_label, path):
    """Time (inference, training) and memory vs audio length, log-log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    panels = [
        ("infer_s", "inference time (s)"),
        ("train_s", "training step time (s)"),
        ("step_mem_bytes", mem_label),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(16, 5))
    styles = ["-", "--", ":", "-."]
    batch_sizes = sorted({r.batch_size for r in results})
    encoders = list(dict.fromkeys(r.encoder for r in results))
    lengths = sorted({r.seconds for r in results})
    for ax, (field, label) in zip(axes, panels):
        drawn = False
        for i, name in enumerate(encoders):
            for j, batch_size in enumerate(batch_sizes):
                points = [
                    (r.seconds, getattr(r, field)) for r in results
                    if r.encoder == name and r.batch_size == batch_size
                    and r.status == "ok" and getattr(r, field)
                ]
                if not points:
                    continue
                xs, ys = zip(*points)
                if field == "step_mem_bytes":
                    ys = [y / 2**20 for y in ys]
                ax.plot(xs, ys, styles[j % len(styles)], marker="o",
                        color=f"C{i}", label=f"{name} B={batch_size}")
                drawn = True
        ax.set_title(label)
        ax.set_xlabel("audio length (s)")
        if drawn:
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xticks(lengths)
            ax.xaxis.set_major_formatter(ScalarFormatter())
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "n/a", ha="center", va="center",
                    transform=ax.transAxes)
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def build_parser():
    """The command line (``--case`` is the hidden child mode)."""
    parser = argparse.ArgumentParser(
        description="Time and memory of MHSA vs SummaryMixing encoders "
        "against audio length (see the module docstring).",
    )
    parser.add_argument("--encoders", nargs="+", choices=ENCODERS,
                        default=list(ENCODERS), metavar="NAME",
                        help="encoders to run, among: " + ", ".join(ENCODERS))
    parser.add_argument("--d-model", type=int, default=256)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--d-ffn", type=int, default=1024)
    parser.add_argument("--nhead", type=int, default=4)
    parser.add_argument("--kernel-size", type=int, default=31)
    parser.add_argument("--summary-hidden", type=int, default=None,
                        help="hidden size of the SummaryMixing Conformer's "
                        "MLPs (default: matched to mhsa_relpos's parameters)")
    parser.add_argument("--csgu-linear-units", type=int, default=None,
                        help="cgMLP width of the SummaryMixing Branchformer "
                        "(default: matched to mhsa_relpos's parameters)")
    parser.add_argument("--lengths", nargs="+", type=float,
                        default=[5, 15, 30, 60, 120],
                        help="audio lengths in seconds")
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--frame-rate", type=float, default=25.0,
                        help="encoder frames per second of audio")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--max-seconds-per-case", type=float, default=None,
                        help="skip longer lengths of an encoder and batch "
                        "size after a step slower than this")
    parser.add_argument("--fit-min-seconds", type=float, default=30.0,
                        help="shortest length used to fit growth exponents")
    parser.add_argument("--memory-limit-gb", type=float, default=None,
                        help="address space a CPU case may add (0: no "
                        "limit; default: 75%% of the memory available)")
    parser.add_argument("--no-subprocess", action="store_true",
                        help="run CPU cases in-process (no memory measure)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--case", nargs=3, help=argparse.SUPPRESS,
                        metavar=("ENCODER", "BATCH", "SECONDS"))
    return parser


def model_config(args):
    """`ModelConfig` from the parsed options."""
    return ModelConfig(
        layers=args.layers, d_model=args.d_model, d_ffn=args.d_ffn,
        nhead=args.nhead, kernel_size=args.kernel_size,
        summary_hidden=args.summary_hidden,
        csgu_linear_units=args.csgu_linear_units,
    )


def main(argv=None):
    """Runs the benchmark; returns its results (see the module docstring).

    Returns
    -------
    dict
        ``environment``, ``config`` (`ModelConfig`), ``params`` (encoder ->
        count), ``cases`` (`CaseResult` list), ``ratios``, ``exponents``,
        ``report`` (the printed text) and ``files`` (csv, png, txt paths).
        In the hidden ``--case`` mode: the child's measurement dict.
    """
    args = build_parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = model_config(args)
    if args.case:
        return run_case_child(args, cfg)
    if args.memory_limit_gb is None:
        available = available_memory_bytes()
        args.memory_limit_gb = 0.75 * available / 2**30 if available else 0

    def log(text=""):
        print(text, flush=True)

    env = environment(args)
    mode = memory_mode(
        args.device,
        not args.no_subprocess and torch.device(args.device).type == "cpu",
    )
    cfg = match_parameters(cfg)
    params = {name: count_parameters(name, cfg) for name in ENCODERS}
    header = [
        "== Token mixing benchmark ==",
        "environment: " + ", ".join(f"{k}={v}" for k, v in env.items()),
        f"model: layers={cfg.layers} d_model={cfg.d_model} "
        f"d_ffn={cfg.d_ffn} nhead={cfg.nhead} kernel={cfg.kernel_size}; "
        f"{args.frame_rate:g} frames/s; median of {args.repeats} after "
        "1 warm-up",
        describe_memory(mode),
        "",
        format_parameters(params, cfg, args.encoders),
        "",
    ]
    if mode == "rss" and args.memory_limit_gb:
        header.insert(4, f"each case may add {args.memory_limit_gb:.1f} GiB "
                      "of address space (--memory-limit-gb)")
    log("\n".join(header))
    log("cases:")
    results = run_cases(args, cfg, params, log)
    ratios = compute_ratios(results)
    exponents = growth_exponents(results, args.fit_min_seconds)
    mem_label = {"rss": "training step RSS increase (MiB)",
                 "cuda": "training step CUDA memory increase (MiB)",
                 "none": "memory (n/a in-process)"}[mode]
    measures = sorted({r.mem_measure for r in results if r.status == "ok"})
    body = "\n".join([
        "Absolute times and memory (memory measure: "
        + ("; ".join(measures) or "n/a") + ")",
        format_results(results),
        "",
        "Ratios SummaryMixing / baseline (same run; < 1: SummaryMixing "
        "cheaper; no_mixing: the floor, 1.00 = no mixing cost; mem = "
        "training step increase)",
        format_ratios(ratios),
        "",
        "Growth exponent k of time ~ length^k (least squares, log-log)",
        format_exponents(exponents, args.fit_min_seconds),
    ])
    log()
    log(body)
    report = "\n".join(header) + "\n" + body
    args.out.mkdir(parents=True, exist_ok=True)
    files = {
        "csv": args.out / "token_mixing.csv",
        "png": args.out / "token_mixing.png",
        "txt": args.out / "token_mixing.txt",
    }
    write_csv(results, env, files["csv"])
    plot(results, mem_label, files["png"])
    files["txt"].write_text(report + "\n")
    log(f"\nwrote {files['csv']}, {files['png']}, {files['txt']}")
    return {
        "environment": env, "config": cfg, "params": params,
        "cases": results, "ratios": ratios, "exponents": exponents,
        "report": report, "files": files,
    }


if __name__ == "__main__":
    main()
