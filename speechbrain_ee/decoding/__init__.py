"""Decoding: CTC decoding helpers and exit strategies."""
