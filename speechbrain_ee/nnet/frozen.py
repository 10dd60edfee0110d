"""Frozen modules: parts of a trained model that another model builds on
without changing them (the fine-tuned encoder under early-exit heads, its
feature normalisation).

Authors
-------
* speechbrain-ee contributors 2026
"""

import types

from torch import nn


def freeze(module):
    """Fixes a module in place: no parameter trains, and it stays in eval
    mode whatever mode its parents are put in (no dropout, LayerDrop or
    feature masking; SpeechBrain's ``InputNormalization`` keeps its
    statistics, it updates them in training mode only).

    Arguments
    ---------
    module : torch.nn.Module
        The module.

    Returns
    -------
    torch.nn.Module
        ``module`` (for YAML: ``!apply:speechbrain_ee.nnet.frozen.freeze
        [!ref <encoder>]``).

    Example
    -------
    >>> parent = nn.Sequential(freeze(nn.Dropout(0.5)), nn.Linear(2, 2))
    >>> _ = freeze(parent[1]); _ = parent.train()
    >>> parent[0].training, parent.training, parent[1].weight.requires_grad
    (False, True, False)
    >>> is_frozen(parent[0]), is_frozen(parent)
    (True, False)
    """
    module.requires_grad_(False)
    module.train = types.MethodType(_stay_in_eval, module)
    module.eval()
    return module


def is_frozen(module):
    """Whether `freeze` fixed ``module``.

    Arguments
    ---------
    module : torch.nn.Module

    Returns
    -------
    bool
    """
    train = module.__dict__.get("train")
    return getattr(train, "__func__", None) is _stay_in_eval


def _stay_in_eval(self, mode=True):
    """``train()`` of a frozen module: eval mode, always."""
    return nn.Module.train(self, False)
