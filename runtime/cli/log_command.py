"""`weboter log copy SRC DST`: move a whole log to another database (runtime/store/copy.py)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from weboter.runtime.cli.common import out
from weboter.runtime.store.copy import copy_log
from weboter.runtime.store.location import has_password, log_label, postgres_url, shown_url


def add_command(sub: Any, db_argument: Any) -> None:
    log = sub.add_parser(
        "log",
        help="the event log as a whole: copy it to another database",
        description="Work on a whole event log rather than on one run.",
    )
    verbs = log.add_subparsers(dest="verb", required=True, metavar="VERB")
    p = verbs.add_parser(
        "copy",
        help="copy every run of a log into an empty one (SQLite <-> PostgreSQL)",
        description="Copy a whole log into an empty one — an SQLite file into PostgreSQL when "
        "one host is no longer enough, or back — keeping every seq, run id, fork lineage, "
        "the commands' ids (a command sent again is still answered once) and the artifacts. "
        "The source is read as one moment (stop its engines first to copy their last "
        "events too); the destination must hold no run, and gets all or nothing. The copy "
        "is then checked: each run's number of events and a SHA-256 of its events.",
        epilog="examples:\n"
        "  weboter log copy .weboter/weboter.db postgresql://weboter@db.internal/weboter\n"
        "  weboter log copy postgresql://weboter@db.internal/weboter backup.db --json\n"
        "a password goes in PGPASSWORD or ~/.pgpass, never on the command line",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("source", type=db_argument, metavar="SRC", help="the log to copy (FILE|URL)")
    p.add_argument(
        "destination", type=db_argument, metavar="DST", help="an empty log (FILE|URL), made if new"
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.set_defaults(handler=cmd_copy)


def _usable(log: Any) -> str:
    """The log as a person passes it again: a URL without its password (which goes in
    PGPASSWORD or ~/.pgpass)."""
    url = postgres_url(log)
    if url is None:
        return str(log)
    shown = shown_url(url, mask="")
    return shown + ("  (its password in PGPASSWORD or ~/.pgpass)" if has_password(log) else "")


def cmd_copy(args: argparse.Namespace) -> int:
    def progress(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    copied = copy_log(args.source, args.destination, progress)
    said = {
        "source": log_label(args.source),
        "destination": log_label(args.destination),
        "runs": copied.runs,
        "events": copied.events,
        "artifacts": copied.artifacts,
        "checked": {run: {"events": n, "sha256": h} for run, (n, h) in copied.digests.items()},
    }
    out(
        args,
        said,
        f"copied {copied.runs} run(s), {copied.events} event(s) and {copied.artifacts} "
        f"artifact(s) into {said['destination']}; every run's events checked (count, SHA-256)"
        f"\nuse it: weboter runs --db {_usable(args.destination)}",
    )
    return 0
