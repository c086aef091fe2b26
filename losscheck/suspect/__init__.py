"""The suspect's side: everything that touches candidate code (resolving, calling, the worker process)."""
