"""Builtin plugins: registered through the same hooks third-party plugins use."""
