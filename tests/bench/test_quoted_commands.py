"""Every ``sciml bench`` command the project quotes runs on the current command line.

A page, docstring or example that quotes an option the command line no longer has sends its reader to an
error; a benchmark JSON whose ``command`` chains several runs or merges partial ones cannot be reproduced by
retyping it. Both are checked here against the benchmarks' own parsers (nothing runs).
"""
from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
from pathlib import Path

import pytest

from sciml.bench.runner import BENCHMARKS, build_parser

ROOT = Path(__file__).resolve().parents[2]
QUOTING_FILES = sorted(
    [ROOT / "README.md"]
    + [p for p in (ROOT / "docs").rglob("*.md") if "reference" not in p.relative_to(ROOT / "docs").parts]
    + list((ROOT / "examples").rglob("*.py")) + list((ROOT / "sciml").rglob("*.py")))
# CHANGELOG.md is not read: its migration lines name retired options on purpose.
# A command ends at a backtick, a quote, a line end, a shell operator or a comment; a name in capitals is a
# placeholder (the pattern only takes lower-case names), and one with "..." or "<...>" is a sketch.
COMMAND = re.compile(r"sciml bench ([a-z_]+)([^`\n;|&#)\]\"']*)")


def parse_error(name: str, args: str) -> str | None:
    """Why ``sciml bench NAME ARGS`` does not parse (argparse's message), or None when it does."""
    if name not in BENCHMARKS:
        return f"no benchmark {name!r}"
    stderr = io.StringIO()
    try:
        argv = shlex.split(args)
    except ValueError as exc:  # e.g. an unclosed quote
        return str(exc)
    try:
        with contextlib.redirect_stderr(stderr):
            build_parser(BENCHMARKS.get(name)).parse_args(argv)
    except SystemExit:
        return stderr.getvalue().strip().splitlines()[-1]
    return None


def quoted_commands(path: Path) -> list[tuple[str, str]]:
    text = path.read_text(encoding="utf-8")
    return [(m.group(1), m.group(2).strip().rstrip(".,:")) for m in COMMAND.finditer(text)
            if "..." not in m.group(2) and "<" not in m.group(2)]


def test_the_parser_check_catches_a_retired_option():
    assert parse_error("sinenet", "--systems ns --seeds 0") is None
    assert "unrecognized arguments: --merge" in parse_error("sinenet", "--seeds 0 --merge")
    assert parse_error("nosuch", "") == "no benchmark 'nosuch'"


@pytest.mark.parametrize("path", QUOTING_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_quoted_bench_command_parses(path):
    bad = [f"`sciml bench {name} {args}`: {err}" for name, args in quoted_commands(path)
           if (err := parse_error(name, args))]
    assert not bad, f"{path.relative_to(ROOT)} quotes commands the command line rejects:\n" + "\n".join(bad)


@pytest.mark.parametrize("path", sorted((ROOT / "docs" / "benchmarks").rglob("*.json")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_every_benchmark_json_names_the_one_command_that_made_it(path):
    command = json.loads(path.read_text())["command"]
    assert command.startswith("sciml bench ") and "&&" not in command, command
    name, _, args = command.removeprefix("sciml bench ").partition(" ")
    assert parse_error(name, args) is None, f"{path.name}: `{command}`: {parse_error(name, args)}"
