"""python -m harness run | list | leaderboard | predict | export"""
import os
import sys

from .cli import main

try:
    code = main()
    sys.stdout.flush()
except KeyboardInterrupt:  # a Ctrl-C re-delivered after main() handled one (e.g. one a finalizer had swallowed)
    code = 130
except BrokenPipeError:  # the reader went away (`list | head`): stop quietly, as a Unix tool does
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes at exit
    code = 141  # 128 + SIGPIPE, what a shell reports for a tool a closed pipe stopped
sys.exit(code)
