"""Mutants of the examples through `validate` and `run`: every one ends with exit 0, 1 or 2
and a message, never a traceback or a hang (bounded to about a minute; bench/fuzz.py runs
more and prints the counts)."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from tests.guards.mutants import NO_BROWSER, SHOP_ENV, mutant, sites
from weboter.runtime.cli.main import main

pytestmark = pytest.mark.timeout(240)


def test_mutated_examples_exit_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SHOP_ENV.items():
        monkeypatch.setenv(name, value)
    rng = random.Random(20261126)
    outcomes: Counter[str] = Counter()
    db = tmp_path / "fuzz.db"
    browsed: set[str] = set()  # the browser examples a mutant of has run
    with sites() as variables:
        for i in range(60):
            name, text = mutant(rng)
            path = tmp_path / f"m{i}.json"
            path.write_text(text, encoding="utf-8")
            code = main(["validate", str(path), "--db", str(db)])
            err = capsys.readouterr().err
            assert code in (0, 1, 2), (name, text[:300])
            assert "Traceback" not in err, err
            outcomes[f"validate {code}"] += 1
            if code != 0:
                continue
            if name not in NO_BROWSER:  # a browser run costs a Chromium (~5 s): one mutant of
                if name in browsed:  # each browser example runs (bench/fuzz.py runs them all)
                    continue
                browsed.add(name)
            args = ["run", str(path), "--db", str(db), "--quiet", "--max-nodes", "300"]
            args += ["--node-timeout", "3"] + [a for v in variables[name] for a in ("--var", v)]
            code = main(args)
            err = capsys.readouterr().err
            assert code in (0, 1, 2), (name, text[:300], err)
            assert "Traceback" not in err, err
            outcomes[f"run {code}"] += 1
    print(dict(outcomes), f"browser runs: {sorted(browsed)}")
    assert outcomes["validate 2"] > 0  # the mutants do hit the checks
    assert browsed
