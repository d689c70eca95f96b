"""One module per CLI verb; each is light at import time (heavy imports inside `run`)."""
