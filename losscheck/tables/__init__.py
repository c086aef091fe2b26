"""Generated tables: the README's tables and `losscheck list`, each computed from the specs and registries."""
