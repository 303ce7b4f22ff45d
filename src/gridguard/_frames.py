"""Batches from a second Python process: length-prefixed :mod:`marshal` frames on a pipe.

The city generator and the register import each make rows in a child
process (``python -m <module> ARGS``) while the parent stores them, so that
the two run on two CPUs. The child writes each batch with
:func:`write_frame`; the parent reads them with :func:`frames_from_process`.
The pipe blocks the child when the parent falls behind, so memory stays flat
in both.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO

__all__ = ["frames_from_process", "write_frame"]


def write_frame(out: BinaryIO, frame: Any) -> None:
    """Write ``frame`` (plain data: tuples, lists, str, int...) as one length-prefixed frame."""
    data = marshal.dumps(frame)
    out.write(len(data).to_bytes(8, "little"))
    out.write(data)


def _cut_short(header: bytes, size: int | None, got: int) -> str:
    """What of a frame that ended early arrived: the child died, or wrote something else."""
    if size is None:
        return f"a frame's length was cut short ({len(header)} of 8 bytes)"
    return f"a frame was cut short ({got:,} of {size:,} bytes)"


def _last(errors: BinaryIO) -> str:
    """``"; <the last line the child wrote to standard error>"``, or nothing."""
    errors.seek(0)
    lines = errors.read().decode("utf-8", "replace").strip().splitlines()
    return f"; {lines[-1]}" if lines else ""


def frames_from_process(
    module: str,
    args: Sequence[str],
    *,
    failure: str,
    error: type[Exception] = RuntimeError,
) -> Iterator[Any]:
    """The frames ``python -m module *args`` writes to its standard output, in order.

    The child imports this very gridguard (the parent's ``sys.path`` goes in
    its ``PYTHONPATH``). Stopping early kills it. A child that exits with an
    error raises ``error("<failure> (exit code N): <its last line of stderr>")``;
    a frame that ends before the length it announced, or that does not
    unmarshal, raises ``error`` too, before it is yielded.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [p for p in sys.path if p] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdout=subprocess.PIPE,
            stderr=errors,
            env=env,
        )
        assert proc.stdout is not None
        try:
            while True:
                header = proc.stdout.read(8)
                if not header:
                    break
                size = int.from_bytes(header, "little") if len(header) == 8 else None
                data = b"" if size is None else proc.stdout.read(size)
                if size is None or len(data) < size:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=5)  # for its exit code; still running: killed below
                    what = _cut_short(header, size, len(data))
                    raise error(f"{failure} (exit code {proc.returncode}): {what}{_last(errors)}")
                try:
                    frame = marshal.loads(data)
                except (EOFError, ValueError, TypeError) as exc:
                    raise error(f"{failure}: a frame cannot be read ({exc})") from None
                yield frame
            code = proc.wait()
        finally:
            if proc.poll() is None:  # the caller stopped early or failed
                proc.kill()
                proc.wait()
            proc.stdout.close()
        if code != 0:
            raise error(f"{failure} (exit code {code}): " + (_last(errors)[2:] or "no message"))
