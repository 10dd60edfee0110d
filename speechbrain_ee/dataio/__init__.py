"""Data: built-in synthetic corpora, dataset preparation and text normalisation."""
