"""Side-by-side wall-time measurement of inference variants.

Speed claims of the dynamic encoders (early exits, blank skip) compare a
variant against the full model on the same inputs in the same run:
`time_cases` times every case in interleaved rounds (a change of machine
load hits all cases alike) and keeps each case's best round; `time_model`
times each variant whole and from the front end's output (the encoder
alone).

Authors
-------
* speechbrain-ee contributors 2026
"""

import time

import torch


def _synchronize(device):
    """Waits for the device's queued work (for timing)."""
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


@torch.no_grad()
def time_cases(cases, inputs, repeats=3, device=None):
    """Best wall time of each case over all inputs.

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
    best = {}
    for round_ in range(max(1, repeats) + 1):
        for name, call in cases.items():
            _synchronize(device)
            start = time.perf_counter()
            for batch in inputs:
                call(*batch)
            _synchronize(device)
            seconds = time.perf_counter() - start
            if round_ > 0:  # round 0 is the warm-up
                best[name] = min(seconds, best.get(name, float("inf")))
    return best


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
        Name -> seconds (best round) for all inputs.

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
    return time_cases(cases, batches, repeats, device)


def speedups(times, name):
    """Speed-ups of case ``name`` over the case ``full``.

    Arguments
    ---------
    times : dict
        From `time_cases`, with ``full`` (the whole model), ``name``, and
        their encoder-only cases ``encoder:full`` and ``encoder:<name>``
        (timed from the front end's output, so that the front end's time is
        never subtracted from a noisy total).

    name : str
        The case to compare.

    Returns
    -------
    dict
        ``speedup`` (whole model: front end, layers and heads) and
        ``encoder_speedup`` (the encoder layers and heads only).

    Example
    -------
    >>> speedups({"full": 10.0, "skip": 8.0, "encoder:full": 8.0,
    ...           "encoder:skip": 6.4}, "skip")
    {'speedup': 1.25, 'encoder_speedup': 1.25}
    """
    return {
        "speedup": times["full"] / max(times[name], 1e-9),
        "encoder_speedup": times["encoder:full"] / max(times[f"encoder:{name}"], 1e-9),
    }
