"""Side-by-side evaluation of this project's models against the baselines."""
