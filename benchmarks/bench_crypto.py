"""Field encryption: what it costs to import, match and rotate, beside the plain store.

Writes the register of :mod:`bench_import` (``--households`` households,
about 2.6 persons each) and a noisy outside list of ``--list`` rows, then,
each in its own process and each into a fresh SQLite store:

* the place tree, households and persons imported with
  :func:`gridguard.targeting.import_file`, encryption off (the reference)
  and on (identity numbers and phones sealed with AES-GCM, blind indexes
  written beside them);
* the list matched with :func:`gridguard.targeting.match_list` on each
  store (the encrypted one joins on blind indexes);
* every person with the phone of their household read back through SQL
  pushed down as reports do (the encrypted store opens each sealed value
  for the row that holds it, after looking it up in its column);
* on the encrypted store, ``rotate_keys`` to a second key (every value
  decrypted, sealed again and re-indexed in one transaction).

It prints persons per second for each, and the ratios encrypted / plain.

    python benchmarks/bench_crypto.py [--households N] [--list N]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_import import write_register

KEYS = [bytes(range(32)), bytes(range(100, 132))]

_RUN = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import gridguard
    from gridguard.targeting import import_file, match_list

    folder, name = Path(sys.argv[1]), sys.argv[2]
    out = {}
    with gridguard.open(folder / name) as ws:
        out["encrypted"] = ws.storage.fields is not None
        for kind in ("areas", "buildings", "stairwells", "households", "persons"):
            start = time.perf_counter()
            result = import_file(ws, kind, folder / f"{kind}.csv", report=False)
            out[kind] = {"seconds": time.perf_counter() - start, "rows": result.inserted}
        start = time.perf_counter()
        again = import_file(ws, "persons", folder / "persons.csv", report=False)
        out["persons_again"] = {"seconds": time.perf_counter() - start, "rows": again.unchanged}
        start = time.perf_counter()
        matched = match_list(ws, folder / "list.csv", source="railway", report=False)
        out["match"] = {
            "seconds": time.perf_counter() - start,
            "rows": matched.entries,
            "matched": matched.matched,
            "review": matched.review_queue,
        }
        # SQL pushed down as the reports and the sweep do: every sealed value comes back
        # opened, each for the row that holds it.
        sql = (
            "SELECT p.id, p.resident_id, p.phone, h.phone FROM persons AS p "
            "JOIN households AS h ON h.id = p.household_id"
        )
        start, cpu = time.perf_counter(), time.process_time()
        with ws._transaction(write=False) as uow:
            read = sum(1 for _ in uow.query(sql))
        out["read"] = {
            "seconds": time.perf_counter() - start,
            "cpu": time.process_time() - cpu,
            "rows": read,
        }
    print(json.dumps(out))
    """
)

_ROTATE = textwrap.dedent(
    """
    import base64, json, os, sys, time
    from gridguard.security.crypto import KeyRing, rotate_keys
    from gridguard.storage.sqlite import SQLiteStorage

    keys = [base64.b64decode(k) for k in os.environ["BENCH_KEYS"].split(",")]
    storage = SQLiteStorage(sys.argv[1], field_encryption=False)
    start = time.perf_counter()
    result = rotate_keys(storage, KeyRing.of(*keys))
    storage.close()
    print(json.dumps({"seconds": time.perf_counter() - start, "rows": result.rows}))
    """
)


def _run(script: str, args: list[str], env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _write_list(folder: Path, size: int, seed: int) -> None:
    import csv

    from gridguard.targeting import noisy_list

    people = []
    with open(folder / "persons.csv", encoding="gb18030", newline="") as handle:
        rows = csv.reader(handle)
        header = next(rows)
        at = {name: i for i, name in enumerate(header)}
        for row in rows:
            number, phone = row[at["身份证号"]], row[at["手机号"]]
            if len(number) == 18 and phone.isdigit() and len(phone) == 11:
                people.append((row[at["人员编号"]], row[at["姓名"]], number, "+86" + phone))
    noisy_list(people, size=size, seed=seed).write_csv(folder / "list.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--list", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2020)
    args = parser.parse_args()
    plain_env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDGUARD_KEY")}
    keyed_env = {**plain_env, "GRIDGUARD_KEY": base64.b64encode(KEYS[0]).decode()}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        households, persons = write_register(folder, args.households, args.seed, True)
        _write_list(folder, args.list, args.seed)
        print(f"register: {households:,} households, {persons:,} persons; list: {args.list:,}")
        plain = _run(_RUN, [str(folder), "plain.db"], plain_env)
        sealed = _run(_RUN, [str(folder), "sealed.db"], keyed_env)
        assert plain["encrypted"] is False
        assert sealed["encrypted"] is True
        rotate_env = {
            **plain_env,
            "BENCH_KEYS": ",".join(base64.b64encode(k).decode() for k in KEYS),
        }
        rotated = _run(_ROTATE, [str(folder / "sealed.db")], rotate_env)

    def line(label: str, key: str, unit: str) -> None:
        a, b = plain[key], sealed[key]
        assert isinstance(a, dict)
        assert isinstance(b, dict)
        ta, tb = float(a["seconds"]), float(b["seconds"])
        n = int(a["rows"])
        print(
            f"  {label:<24}: plain {ta:7.2f} s ({n / ta:>9,.0f} {unit}/s)   "
            f"encrypted {tb:7.2f} s ({n / tb:>9,.0f} {unit}/s)   ratio {tb / ta:.2f}x"
        )

    print("SQLite, each in a fresh process")
    line("households import", "households", "rows")
    line("persons import", "persons", "persons")
    line("persons import again", "persons_again", "persons")
    line("match list", "match", "rows")
    line("read through SQL", "read", "rows")
    p_read, s_read = plain["read"], sealed["read"]
    assert isinstance(p_read, dict)
    assert isinstance(s_read, dict)
    print(
        f"  read through SQL, CPU   : plain {float(p_read['cpu']):7.2f} s   "
        f"encrypted {float(s_read['cpu']):7.2f} s   "
        f"ratio {float(s_read['cpu']) / float(p_read['cpu']):.2f}x"
    )
    p_match, s_match = plain["match"], sealed["match"]
    assert isinstance(p_match, dict)
    assert isinstance(s_match, dict)
    same = (p_match["matched"], p_match["review"]) == (s_match["matched"], s_match["review"])
    print(f"  same links and review queue on both stores: {same}")
    seconds = float(rotated["seconds"])  # type: ignore[arg-type]
    print(
        f"  key rotation            : {seconds:7.2f} s for {int(rotated['rows']):,} rows "  # type: ignore[call-overload]
        f"({persons / seconds:,.0f} persons/s, one transaction)"
    )


if __name__ == "__main__":
    main()
