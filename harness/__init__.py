"""Fine-tune candidate Hub models on GLUE/CLUE-style tasks and score them into a leaderboard."""
__version__ = "0.1.0"
