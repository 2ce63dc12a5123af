"""python -m harness run | list | leaderboard | predict | export"""
import sys

from .cli import main

try:
    code = main()
except KeyboardInterrupt:  # a Ctrl-C re-delivered after main() handled one (e.g. one a finalizer had swallowed)
    code = 130
sys.exit(code)
