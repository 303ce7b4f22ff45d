"""A child process for tests/test_small_faults.py: writes frames, the last one as told.

``python -m frames_child MODE``: ``whole`` writes two good frames; ``cut``
writes one good frame and then a frame cut short (its length says 100
bytes, 10 follow); ``header`` ends in the middle of a length; ``garbage``
writes a frame that is not marshal data; ``dies`` writes a cut frame and
exits with an error.
"""

from __future__ import annotations

import sys

from gridguard._frames import write_frame


def main(mode: str) -> int:
    out = sys.stdout.buffer
    write_frame(out, ("first", 1))
    if mode == "whole":
        write_frame(out, ("second", 2))
    elif mode == "cut":
        out.write((100).to_bytes(8, "little") + b"x" * 10)
    elif mode == "header":
        out.write(b"\x05\x00\x00")
    elif mode == "garbage":
        out.write((4).to_bytes(8, "little") + b"\xff\xfe\xfd\xfc")
    elif mode == "dies":
        out.write((100).to_bytes(8, "little") + b"x" * 10)
        out.flush()
        print("MemoryError: out of memory", file=sys.stderr)
        return 3
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
