"""The city generator as a separate process: batches out on stdout as marshal frames.

``python -m gridguard.synth._producer PERSONS SEED LOW HIGH`` writes exactly
the batches :func:`gridguard.synth._city._batches` yields for those
arguments, so that :func:`~gridguard.synth.generate_city` can make the next
community on another CPU while it stores this one. Nothing else may be
written to stdout.
"""

from __future__ import annotations

import sys

from .._frames import write_frame
from ._city import _batches, batch_to_wire


def main(argv: list[str] | None = None) -> None:
    persons, seed, low, high = (int(a) for a in (argv if argv is not None else sys.argv[1:]))
    out = sys.stdout.buffer
    for batch in _batches(persons, seed, (low, high)):
        write_frame(out, batch_to_wire(batch))
    out.flush()


if __name__ == "__main__":
    main()
