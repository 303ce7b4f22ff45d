"""``python -m gridguard``: the same as the ``gridguard`` command."""

from .cli import main

if __name__ == "__main__":
    main(prog_name="gridguard")
