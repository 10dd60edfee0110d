"""Encoders and models assembled from SpeechBrain and speechbrain_ee layers."""
