"""Mutants of the examples through `weboter validate` and `weboter run` (in this process):
count the exit codes and fail if any mutant crashed (a traceback) or hung (beyond the bound).

    python bench/fuzz.py --count 600
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.guards.mutants import SHOP_ENV, mutant, sites
from weboter.runtime.cli.main import main


def quietly(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except BaseException as exc:  # a crash: counted, and the run fails below
            return -1, f"{type(exc).__name__}: {exc}"
    return code, err.getvalue()


def run(count: int, seed: int) -> int:
    rng = random.Random(seed)
    codes: Counter[str] = Counter()
    crashes: list[str] = []
    started = time.monotonic()
    os.environ.update(SHOP_ENV)
    with tempfile.TemporaryDirectory() as tmp, sites() as variables:
        db = Path(tmp) / "fuzz.db"
        for i in range(count):
            name, text = mutant(rng)
            path = Path(tmp) / f"m{i}.json"
            path.write_text(text, encoding="utf-8")
            code, err = quietly(["validate", str(path), "--db", str(db)])
            codes[f"validate exit {code}"] += 1
            if code not in (0, 1, 2) or "Traceback" in err:
                crashes.append(f"validate {name}: {err[-300:]}")
            if code == 0:
                extra = [a for v in variables[name] for a in ("--var", v)]
                code, err = quietly(
                    [
                        "run",
                        str(path),
                        "--db",
                        str(db),
                        "--quiet",
                        "--max-nodes",
                        "300",
                        "--node-timeout",
                        "3",
                        *extra,
                    ]
                )
                codes[f"run exit {code}"] += 1
                if code not in (0, 1, 2) or "Traceback" in err:
                    crashes.append(f"run {name}: {err[-300:]}")
            if (i + 1) % 100 == 0:
                print(f"  {i + 1} mutants ...", file=sys.stderr)
    print(f"fuzz: {count} mutants of the examples in {time.monotonic() - started:.0f} s")
    for key in sorted(codes):
        print(f"  {key:<18} {codes[key]}")
    print(f"  crashed or hung    {len(crashes)}")
    for crash in crashes[:10]:
        print("   ", crash)
    return 1 if crashes else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sys.exit(run(args.count, args.seed))
