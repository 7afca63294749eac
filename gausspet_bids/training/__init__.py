"""Training: cohort loading, participant splits, losses, the training loop and its CLI."""
