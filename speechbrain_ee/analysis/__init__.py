"""Analysis of trained runs, above inference: loading a recipe's run and its
test sets (`experiment`), side-by-side wall-time measurement (`timing`) and
the early-exit compute/WER trade-off (`tradeoff`)."""
