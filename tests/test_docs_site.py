"""The documentation site's generated reference pages cover the code: every recipe's keys, every command's
options, every public module (the full strict build is ``make docs``, run in CI)."""
from __future__ import annotations

import argparse
import inspect
import runpy
from pathlib import Path

import yaml

from sciml.cli import build_parser
from sciml.experiment import COMMON
from sciml.recipes import RECIPES

ROOT = Path(__file__).resolve().parents[1]
# a run name other than mkdocs-gen-files' "<run_path>": the test reads the pages, it does not write them
GEN = runpy.run_path(str(ROOT / "docs" / "scripts" / "gen_reference.py"), run_name="gen_reference")


def test_the_spec_reference_lists_every_key_of_every_recipe():
    text = GEN["spec_reference"]()
    for name in RECIPES.names():
        section = text.split(f"## Recipe `{name}`", 1)[1].split("## Recipe", 1)[0]
        keys = [p.name for p in inspect.signature(RECIPES.get(name).run).parameters.values()
                if p.name not in COMMON and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
        assert keys, name
        for key in keys:  # a plain key under params, a section by name or by its fields
            assert any(form in section for form in (f"`params.{key}`", f"| `{key}` |", f"| `{key}.")), (name, key)
    assert "| `train.epochs` | `int` | `10` |" in text  # a dataclass section lists its fields with defaults
    assert "`train.seed`" not in text  # seed and device are top-level keys, refused inside train


def _commands(parser: argparse.ArgumentParser, prog: str):
    yield prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, f"{prog} {name}")


def test_the_cli_reference_shows_every_command_and_option():
    text = GEN["cli_reference"]()
    for prog, parser in _commands(build_parser(), "sciml"):
        assert f"## `{prog}`" in text
        for action in parser._actions:
            for flag in action.option_strings:
                assert flag in text, (prog, flag)


def test_every_public_module_has_an_api_page_in_the_site():
    pages = GEN["api_pages"]()
    for module in GEN["public_modules"]():
        assert f"::: {module}" in pages[f"reference/api/{module}.md"]
        assert f"(api/{module}.md)" in pages["reference/api.md"]
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text().replace("!!python", "#"))["nav"]
    flat = yaml.safe_dump(nav)
    for page in ("reference/api.md", "reference/config.md", "reference/cli.md", "getting-started.md"):
        assert page in flat
    for page in sorted((ROOT / "docs").glob("*.md")):  # every user-guide page is reachable from the nav
        assert page.name in flat, page.name
