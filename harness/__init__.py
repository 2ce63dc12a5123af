"""Fine-tune candidate Hub models on GLUE/CLUE-style tasks and score them into a leaderboard."""
from .results import VERSION as __version__

__all__ = ["__version__"]
