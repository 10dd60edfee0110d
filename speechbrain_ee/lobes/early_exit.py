"""Early exits: the loss weights of CTC heads after chosen layers.

The exits themselves are heads of
`speechbrain_ee.lobes.dynamic_ctc.DynamicCTCEncoder`: in training it returns
every exit's log-probabilities (the recipe sums their CTC losses, weighted
by `exit_loss_weights`); in inference it runs the layers one at a time and,
after each exit, asks an exit strategy
(`speechbrain_ee.decoding.exit_strategies`) which utterances are done; those
leave the batch and their later layers are never computed.

Each exit's head is: an optional adapter (the seed's SSL setting uses
Linear(d, d) and a feed-forward block: `ExitAdapter`), a LayerNorm (the last exit uses the
stack's own final ``norm``, so a model with one exit at the last layer is
the plain encoder), and the CTC linear layer (shared by all exits or one
per exit) with a log-softmax.

Authors
-------
* speechbrain-ee contributors 2026
"""

import torch
from torch import nn

LOSS_SCHEMES = ("sum", "mean", "depth", "final_weighted")


def exit_loss_weights(scheme, exit_layers, intermediate_weight=0.9):
    """The weight of each exit's CTC loss.

    Arguments
    ---------
    scheme : str or list of float
        ``sum``: 1 each (Wright et al., training from scratch); ``mean``:
        1 / number of exits; ``depth``: proportional to the exit's layer,
        summing to 1; ``final_weighted``: ``1 - w`` for the last exit and
        ``w`` shared equally by the others (the seed's SSL setting, w close
        to 1); or an explicit list, one weight per exit.
    exit_layers : list of int
        The exits' layers.
    intermediate_weight : float
        ``w`` of ``final_weighted``.

    Returns
    -------
    list of float

    Example
    -------
    >>> exit_loss_weights("depth", [2, 4, 6])
    [0.16666666666666666, 0.3333333333333333, 0.5]
    >>> exit_loss_weights("final_weighted", [2, 4, 6], 0.8)
    [0.4, 0.4, 0.19999999999999996]
    """
    n = len(exit_layers)
    if not isinstance(scheme, str):
        weights = [float(w) for w in scheme]
        if len(weights) != n:
            raise ValueError(
                f"exit_loss_weights has {len(weights)} weights for {n} "
                f"exits ({list(exit_layers)}): give one per exit."
            )
        return weights
    if scheme == "sum":
        return [1.0] * n
    if scheme == "mean":
        return [1.0 / n] * n
    if scheme == "depth":
        total = float(sum(exit_layers))
        return [layer / total for layer in exit_layers]
    if scheme == "final_weighted":
        if n == 1:
            return [1.0]
        share = intermediate_weight / (n - 1)
        return [share] * (n - 1) + [1.0 - intermediate_weight]
    raise ValueError(
        f"exit loss scheme {scheme!r}: expected one of {LOSS_SCHEMES} or a "
        "list of weights."
    )


class ExitAdapter(nn.Sequential):
    """The seed's exit head on a frozen SSL encoder (spec ``early_exit.md``,
    setting 2): ``Linear(d, d)``, then a feed-forward block ``d -> ffn_size
    -> d`` with ReLU and dropout, no residual. `DynamicCTCEncoder`'s
    ``adapter`` (one per exit, before the exit's norm and the shared CTC
    layer).

    Arguments
    ---------
    d_model : int
        Width of the encoder.
    ffn_size : int
        Width of the feed-forward block (the seed: 512).
    dropout : float
        Dropout after the ReLU (the seed: 0.3).

    Example
    -------
    >>> head = ExitAdapter(32)
    >>> head(torch.rand(2, 7, 32)).shape, head[1].out_features
    (torch.Size([2, 7, 32]), 512)
    """

    def __init__(self, d_model, ffn_size=512, dropout=0.3):
        super().__init__(
            nn.Linear(d_model, d_model),
            nn.Linear(d_model, ffn_size),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(ffn_size, d_model),
        )
