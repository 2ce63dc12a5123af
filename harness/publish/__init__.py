"""Publishing: results to a Hub dataset repo, checkpoints to model repos with model cards, the app to a Space.

Homes: `api` (the HfApi in use and Hub errors as one line), `push` (the results repo tree, the checkpoint mapping,
idempotent uploads), `cards` (model cards through huggingface_hub's card classes), `space` (Space deployment),
`commands` (the `push` and `space` subcommands).
"""
