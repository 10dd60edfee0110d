"""Inference interfaces for pretrained speechbrain_ee models."""
