"""Neural network layers (token mixers, heads)."""
