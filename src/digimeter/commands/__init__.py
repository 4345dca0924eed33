"""CLI commands of each feature area: every module here defines ``register(app)`` (see cli.py)."""
