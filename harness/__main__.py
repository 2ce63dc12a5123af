"""python -m harness run | list | leaderboard"""
import sys

from .cli import main

sys.exit(main())
