"""Inference interfaces for pretrained speechbrain_ee models: the trained
runs of the recipes (`experiment`), exported models
(`asr.EfficientEncoderASR`), export and upload (`export`, `hub`) and the
command-line transcriber (`transcribe`)."""

from speechbrain_ee.inference.asr import EfficientEncoderASR, Transcription

__all__ = ["EfficientEncoderASR", "Transcription"]
