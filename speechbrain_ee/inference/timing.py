"""Side-by-side wall-time measurement of inference variants.

Speed claims of the dynamic encoders (early exits, blank skip) compare a
variant against the full model on the same inputs in the same run:
`time_cases` times every case in interleaved rounds (a change of machine
load hits all cases alike) and keeps each case's best round.

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
        Name -> ``call(feats, wav_lens)``.
    inputs : list of tuple
        ``(feats, wav_lens)`` batches.
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
            for feats, wav_lens in inputs:
                call(feats, wav_lens)
            _synchronize(device)
            seconds = time.perf_counter() - start
            if round_ > 0:  # round 0 is the warm-up
                best[name] = min(seconds, best.get(name, float("inf")))
    return best


def speedups(times, name):
    """Speed-ups of case ``name`` over the case ``full``.

    Arguments
    ---------
    times : dict
        From `time_cases`, with ``full`` (the whole model) and
        ``front_end`` (the front end alone).
    name : str
        The case to compare.

    Returns
    -------
    dict
        ``speedup`` (whole model: front end, layers and heads) and
        ``encoder_speedup`` (without the front end: the encoder layers and
        heads).

    Example
    -------
    >>> speedups({"full": 10.0, "front_end": 2.0, "skip": 8.0}, "skip")
    {'speedup': 1.25, 'encoder_speedup': 1.3333333333333333}
    """
    front_end = times["front_end"]
    return {
        "speedup": times["full"] / max(times[name], 1e-9),
        "encoder_speedup": (times["full"] - front_end)
        / max(times[name] - front_end, 1e-9),
    }
