"""Transcripts in, training data out; fine-tuning helpers and evaluation."""
