"""The early-exit decision loop: one loop for real inference and for
offline simulation.

After each exit, an exit strategy decides, per utterance still running,
whether to stop and which exit's output to use. Real inference
(`speechbrain_ee.lobes.dynamic_ctc.DynamicCTCEncoder` with an exit
strategy) runs the next layers on the utterances still going only; the offline simulation
(`speechbrain_ee.decoding.exit_strategies.simulate`, used by the trade-off
sweeps) reads posteriors computed at every exit in advance. Both go
through `exit_loop`, so they decide alike by construction. The strategies
live in ``decoding``; this floor only needs their ``init_state``,
``step`` and ``chooses_earlier``.

Authors
-------
* speechbrain-ee contributors 2026
"""

from dataclasses import dataclass

import torch


@dataclass
class ExitDecisions:
    """What `exit_loop` decided for a batch.

    Arguments
    ---------
    chosen : torch.Tensor
        ``[batch]``: the exit position whose output each utterance uses.
    stopped : torch.Tensor
        ``[batch]``: the exit position where it stopped computing (later
        than ``chosen`` for a strategy that picks an earlier exit, e.g.
        patience).
    log_probs : torch.Tensor or None
        ``[batch, time, vocab]``: each utterance's output from its chosen
        exit (zeros past its length); None unless asked for.

    Example
    -------
    >>> ExitDecisions(torch.tensor([0, 2]), torch.tensor([1, 2])).log_probs is None
    True
    """

    chosen: torch.Tensor
    stopped: torch.Tensor
    log_probs: torch.Tensor = None


def exit_loop(strategy, exit_layers, batch_size, compute, collect=False):
    """Runs an exit strategy over the exits of a batch.

    Arguments
    ---------
    strategy : object
        An exit strategy (`speechbrain_ee.decoding.exit_strategies`):
        ``init_state(batch)``, ``step(state, position, layer, log_probs,
        lengths, rows)`` giving per row the exit position to stop with or a
        negative value to go on, and ``chooses_earlier``.
    exit_layers : list of int
        Layers computed at each exit, shallowest first.
    batch_size : int
        Utterances in the batch.
    compute : callable
        ``compute(position, running)`` -> ``(log_probs, lengths)`` of the
        utterances ``running`` (``[n]`` row ids of the batch, in order) at
        exit ``position``: ``[n, time, vocab]`` and ``[n]`` real frames.
        Inference runs the layers up to that exit on those rows only.
    collect : bool
        Also assemble each utterance's output from its chosen exit.

    Returns
    -------
    ExitDecisions

    Example
    -------
    >>> class StopAtSecond:
    ...     chooses_earlier = False
    ...     def init_state(self, batch):
    ...         return None
    ...     def step(self, state, position, layer, log_probs, lengths, rows):
    ...         return torch.full((len(rows),), 1 if position == 1 else -1)
    >>> lps = [torch.randn(3, 5, 4).log_softmax(-1) for _ in range(3)]
    >>> out = exit_loop(StopAtSecond(), [2, 4, 6], 3,
    ...                 lambda p, rows: (lps[p][rows], torch.full((len(rows),), 5)),
    ...                 collect=True)
    >>> out.chosen.tolist(), out.stopped.tolist(), torch.equal(out.log_probs, lps[1])
    ([1, 1, 1], [1, 1, 1], True)
    """
    memory = strategy.init_state(batch_size)
    chosen = torch.full((batch_size,), -1, dtype=torch.long)
    stopped = torch.full((batch_size,), -1, dtype=torch.long)
    running = torch.arange(batch_size)
    history, result = [], None
    last = len(exit_layers) - 1
    for position, layer in enumerate(exit_layers):
        log_probs, lengths = compute(position, running)
        if strategy.chooses_earlier:
            history.append(log_probs)
        pick = strategy.step(memory, position, layer, log_probs, lengths, running).cpu()
        if position == last:  # the last exit answers for whoever is left
            pick = torch.where(pick < 0, torch.tensor(last), pick)
        stop = pick >= 0
        if collect:
            if result is None:
                result = log_probs.new_zeros(batch_size, *log_probs.shape[1:])
            for i in stop.nonzero(as_tuple=True)[0].tolist():
                source = history[int(pick[i])] if strategy.chooses_earlier else log_probs
                length = int(lengths[i])
                result[int(running[i]), :length] = source[i, :length]
        chosen[running[stop]] = pick[stop]
        stopped[running[stop]] = position
        if bool(stop.all()):
            break
        keep = ~stop
        running = running[keep]
        history = [h[keep.to(h.device)] for h in history]
    return ExitDecisions(chosen, stopped, result)
