"""The Gradio app over harness results (app.py is its command line): the page and its tabs, their handlers, the
plots, the playground, per-request downloads, the results source (a folder, a Hub dataset repo or the bundled
sample) and the bundled sample itself. The tables and evidence it shows come from the leaderboard package."""
