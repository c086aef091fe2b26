"""Adapters: the one home of the thin wrappers that let an audit call a library loss its users cannot call as
loss(input, target), for the README's library table (losscheck.tables.libraries) and tests/test_libraries.py.

One module per library, each importing its library at the top, as a user's module would: an adapter module is
imported only as an audit target, when the worker resolves it, so a library's import time is paid there and not
charged to the first call's timeout, and a library that is absent only skips its own rows. This package imports
none of them.

- trl_trainers: TRL's preference and distillation losses, written as trainer methods (`CPOTrainer.cpo_loss`,
  `ORPOTrainer.odds_ratio_loss`, `GKDTrainer.generalized_jsd_loss`), called with a namespace as `self`.
- sbert: sentence-transformers' (SBERT's) MultipleNegativesRankingLoss on embeddings (its forward runs the model
  on tokenised text).
"""
