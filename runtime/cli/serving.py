"""`weboter serve` and `weboter keys`: an engine for other processes, and CURVE key pairs."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from weboter.runtime.cli.common import db_path, out


def cmd_serve(args: argparse.Namespace) -> int:
    from weboter.runtime.cli.common import env_source  # noqa: PLC0415
    from weboter.runtime.engine.serve import check_binding, read_curve, serve  # noqa: PLC0415

    check_binding(args.bind, args.curve_key)
    curve = read_curve(args.curve_key, args.allow, db_path(args).parent, args.operator, args.reader)

    def ready(info: dict[str, Any]) -> None:
        text = "\n".join(f"{k:<18} {v}" for k, v in info.items())
        out(args, info, f"serving (log {db_path(args)}); stop with Ctrl-C\n{text}")
        sys.stdout.flush()

    # clients' workflows see the env file, and of this process's environment only what
    # --env-allow names (by prefix)
    env = env_source(args.env_file, os_allow=tuple(args.env_allow))
    serve(db_path(args), args.bind, env=env, curve=curve, ready=ready)
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    import zmq  # noqa: PLC0415

    public, secret = zmq.curve_keypair()
    doc = {"public": public.decode(), "secret": secret.decode()}
    out(
        args,
        doc,
        f"public: {doc['public']}\nsecret: {doc['secret']}\n"
        "give the public key to the other side; keep the secret one to yourself",
    )
    return 0


KEY_OPTIONS = (
    "--allow",
    "--operator",
    "--reader",
)  # their values are Z85 keys, which may start with "-"


def keys_attached(argv: list[str]) -> list[str]:
    """`--allow KEY` as `--allow=KEY`: argparse would read a key starting with "-" as an option."""
    out: list[str] = []
    for arg in argv:
        if out and out[-1] in KEY_OPTIONS:
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out
