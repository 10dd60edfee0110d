"""Encoders and models assembled from SpeechBrain and speechbrain_ee layers.

``speechbrain_ee.lobes.TransformerASR`` (a drop-in for SpeechBrain's
``TransformerASR`` with ``attention_type: SummaryMixing``) and
``speechbrain_ee.lobes.load_summarymixing_checkpoint`` are imported on first
use, so that importing one lobe does not import them all.
"""

_LAZY = {
    "TransformerASR": "speechbrain_ee.lobes.transformer_asr",
    "load_summarymixing_checkpoint":
        "speechbrain_ee.lobes.summarymixing_checkpoint",
    "summarymixing_key_map": "speechbrain_ee.lobes.summarymixing_checkpoint",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    """Imports `TransformerASR` and the checkpoint loader on first use."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_LAZY[name]), name)
