"""Evaluation: the paper's protocols (music-ID kNN, pseudo-mix sub-space accuracy) and reports."""
