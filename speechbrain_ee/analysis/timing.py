"""Side-by-side wall-time measurement of inference variants.

Speed claims of the dynamic encoders (early exits, blank skip) compare a
variant against the full model on the same inputs in the same run:
`time_rounds` times every case in interleaved rounds (a change of machine
load hits neighbouring cases alike); `time_model` times each variant whole
and from the front end's output (the encoder alone), and `speedups` takes
the median of the per-round ratios, with their spread.

Authors
-------
* speechbrain-ee contributors 2026
"""

import os
import resource
import statistics
import sys
import time

import torch


def _synchronize(device):
    """Waits for the device's queued work (for timing)."""
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


@torch.no_grad()
def time_rounds(cases, inputs, repeats=3, device=None, progress=None):
    """Wall time of each case over all inputs, round by round.

    One warm-up round, then ``repeats`` rounds; in each round every case
    runs once over all inputs, one after the other, so a change of machine
    load hits neighbouring cases alike.

    Arguments
    ---------
    cases : dict
        Name -> ``call(*batch)``.
    inputs : list of tuple
        The batches: each is the argument tuple of one call (e.g.
        ``(feats, wav_lens)``).
    repeats : int
        Timed rounds (at least 1), after one warm-up round.
    device : str or torch.device, optional
        Synchronised around each case on CUDA.
    progress : callable, optional
        Called with 1 after each case of each round (a progress bar's
        ``update``).

    Returns
    -------
    dict
        Name -> list of seconds, one per timed round.

    Example
    -------
    >>> rounds = time_rounds({"a": lambda f, w: f * 2}, [(torch.ones(3), None)],
    ...                      repeats=2)
    >>> list(rounds), len(rounds["a"])
    (['a'], 2)
    """
    rounds = {name: [] for name in cases}
    for round_ in range(max(1, repeats) + 1):
        for name, call in cases.items():
            _synchronize(device)
            start = time.perf_counter()
            for batch in inputs:
                call(*batch)
            _synchronize(device)
            seconds = time.perf_counter() - start
            if round_ > 0:  # round 0 is the warm-up
                rounds[name].append(seconds)
            if progress is not None:
                progress(1)
    return rounds


def time_cases(cases, inputs, repeats=3, device=None):
    """Best wall time of each case over all inputs (see `time_rounds`).

    Returns
    -------
    dict
        Name -> seconds (best round) for all inputs.

    Example
    -------
    >>> times = time_cases({"a": lambda f, w: f * 2}, [(torch.ones(3), None)],
    ...                    repeats=2)
    >>> list(times), times["a"] >= 0
    (['a'], True)
    """
    return {name: min(r) for name, r in time_rounds(cases, inputs, repeats, device).items()}


def medians(rounds):
    """Name -> median seconds of `time_rounds` output.

    Example
    -------
    >>> medians({"a": [3.0, 1.0, 2.0]})
    {'a': 2.0}
    """
    return {name: float(statistics.median(r)) for name, r in rounds.items()}


@torch.no_grad()
def time_model(start_state, whole, encoder, inputs, repeats=3, device=None):
    """Times a model's variants whole and from the front end's output.

    The front end's output of every batch is computed once; then
    `time_cases` times, side by side, each ``whole`` case on the features
    (under its name), the front end alone (``front_end``) and each
    ``encoder`` case on the front end's output (``encoder:<name>``), so
    that the encoder's speed-up is measured, not derived by subtracting
    the front end's time from the totals.

    Arguments
    ---------
    start_state : callable
        ``start_state(feats, wav_lens)``: the front end (e.g.
        `ASREncoder.start_state`).
    whole : dict
        Name -> ``call(feats, wav_lens)``.
    encoder : dict
        Name -> ``call(state)``, the same variants from the front end's
        output.
    inputs : list of tuple
        ``(feats, wav_lens)`` batches.
    repeats : int
        Timed rounds.
    device : str or torch.device, optional
        See `time_cases`.

    Returns
    -------
    dict
        Name -> seconds of each timed round (see `time_rounds`).

    Example
    -------
    >>> times = time_model(lambda f, w: f + 1, {"full": lambda f, w: (f + 1) * 2},
    ...                    {"full": lambda s: s * 2}, [(torch.ones(3), None)], 1)
    >>> sorted(times)
    ['encoder:full', 'front_end', 'full']
    """
    batches = [(feats, wav_lens, start_state(feats, wav_lens)) for feats, wav_lens in inputs]
    cases = {name: (lambda f, w, s, call=call: call(f, w)) for name, call in whole.items()}
    cases["front_end"] = lambda f, w, s: start_state(f, w)
    for name, call in encoder.items():
        cases[f"encoder:{name}"] = lambda f, w, s, call=call: call(s)
    return time_rounds(cases, batches, repeats, device)


@torch.no_grad()
def measure_speed(model, inputs, variants, repeats=3):
    """Wall time of a model's inference variants against its full model,
    side by side.

    Every case runs over all ``inputs``: the full model (``full``:
    ``model.forward_full``, every layer, the last head only) and each
    variant, whole and from the front end's output (``encoder:<name>``:
    ``model.full_from_state`` and the variant's own), and the front end
    alone (``front_end``); see `time_model`.

    Arguments
    ---------
    model : torch.nn.Module
        A model of `speechbrain_ee.lobes.contract` on an `ASREncoder`, in
        eval mode (``encoder.start_state``, ``forward_full``,
        ``full_from_state``).
    inputs : list of tuple
        ``(feats, wav_lens)`` batches.
    variants : dict
        Name -> ``(call(feats, wav_lens), call_from_state(state))``, e.g.
        the model's ``inference_variant(...)``.
    repeats : int
        Timed rounds (at least 1).

    Returns
    -------
    dict
        Case name -> seconds for all inputs, one per round (`speedups` and
        `medians` read it).

    Example
    -------
    >>> from speechbrain_ee.lobes.asr_encoder import ASREncoder
    >>> from speechbrain_ee.lobes.dynamic_ctc import DynamicCTCEncoder
    >>> from speechbrain_ee.lobes.summary_mixing_encoders import (
    ...     SummaryMixingConformerEncoder)
    >>> asr = ASREncoder(
    ...     SummaryMixingConformerEncoder(num_layers=2, d_model=16, d_ffn=32, nhead=2),
    ...     input_size=8, d_model=16, positional_encoding="none")
    >>> model = DynamicCTCEncoder(asr, 16, 6, exit_layers=[2], skip_layer=1).eval()
    >>> variant = model.inference_variant(skip_threshold=0.9, spike_width=1)
    >>> rounds = measure_speed(model, [(torch.rand(2, 30, 8), None)],
    ...                        {"t0.9": variant}, repeats=1)
    >>> sorted(rounds)
    ['encoder:full', 'encoder:t0.9', 'front_end', 'full', 't0.9']
    """
    whole = {"full": model.forward_full}
    encoder = {"full": model.full_from_state}
    for name, (call, call_from_state) in variants.items():
        whole[name], encoder[name] = call, call_from_state
    return time_model(model.encoder.start_state, whole, encoder, inputs, repeats,
                      next(model.parameters()).device)


def speedups(rounds, name):
    """Speed-ups of case ``name`` over the case ``full``, round by round.

    In each round of `time_model` a variant and the full model ran one
    after the other; the ratio of their times in that round is one
    measurement. The speed-up is the median over the rounds, and the
    spread is the lowest and highest round.

    Arguments
    ---------
    rounds : dict
        From `time_model`: ``full`` (the whole model), ``name``, and their
        encoder-only cases ``encoder:full`` and ``encoder:<name>`` (timed
        from the front end's output, so that the front end's time is never
        subtracted from a noisy total).
    name : str
        The case to compare.

    Returns
    -------
    dict
        ``speedup`` (whole model: front end, layers and heads),
        ``encoder_speedup`` (the encoder layers and heads only), and each
        one's ``_min`` and ``_max`` over the rounds.

    Example
    -------
    >>> rounds = {"full": [10.0, 12.0, 11.0], "skip": [8.0, 8.0, 11.0],
    ...           "encoder:full": [8.0, 8.0, 8.0], "encoder:skip": [6.4, 4.0, 8.0]}
    >>> {k: round(v, 2) for k, v in speedups(rounds, "skip").items()}
    {'speedup': 1.25, 'speedup_min': 1.0, 'speedup_max': 1.5, 'encoder_speedup': 1.25, 'encoder_speedup_min': 1.0, 'encoder_speedup_max': 2.0}
    """
    out = {}
    for key, reference, case in (("speedup", "full", name),
                                 ("encoder_speedup", "encoder:full", f"encoder:{name}")):
        ratios = [a / max(b, 1e-9) for a, b in zip(rounds[reference], rounds[case])]
        out[key] = float(statistics.median(ratios))
        out[f"{key}_min"], out[f"{key}_max"] = min(ratios), max(ratios)
    return out


def current_rss_bytes():
    """This process's resident set size now (Linux ``/proc/self/statm``).

    Returns
    -------
    int or None
        Bytes; None without ``/proc``.

    Example
    -------
    >>> rss = current_rss_bytes()
    >>> rss is None or rss > 0
    True
    """
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def reset_peak_rss():
    """Resets this process's peak RSS (Linux >= 4.0), so that
    `peak_rss_bytes` measures from here on.

    Returns
    -------
    bool
        Whether it worked.

    Example
    -------
    >>> isinstance(reset_peak_rss(), bool)
    True
    """
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def peak_rss_bytes():
    """This process's peak RSS: ``VmHWM`` of ``/proc/self/status`` (reset by
    `reset_peak_rss`), else ``ru_maxrss``.

    Returns
    -------
    int
        Bytes.

    Example
    -------
    >>> peak_rss_bytes() >= (current_rss_bytes() or 0)
    True
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024
