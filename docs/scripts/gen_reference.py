"""Generate the reference pages of the documentation site (run by the mkdocs ``gen-files`` plugin).

- ``reference/config.md``: every key of the experiment spec, with its type and default, read from
  :class:`sciml.experiment.ExperimentSpec` and from each registered recipe's typed signature (a section typed
  by a dataclass, such as ``train: TrainConfig``, lists the dataclass's fields);
- ``reference/cli.md``: the help text of every ``sciml`` command and benchmark, from their parsers;
- ``reference/api.md`` and ``reference/api/*.md``: one mkdocstrings page per public module.

The pages are generated so they cannot drift from the code: a new recipe key, option or module appears on
the next build.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil

import sciml
from sciml.experiment import KEY_TABLE_HEAD, common_key_rows, recipe_keys
from sciml.recipes import RECIPES

SKIP_MODULES = ("sciml.__main__",)


def spec_reference() -> str:
    lines = ["# Experiment spec reference", "",
             "Every key a `sciml train SPEC.yaml` document may hold, generated from the code. The common keys "
             "come first; then each recipe's own keys, which go in the section they name (`train.epochs`) or, "
             "for a plain key, under `params:` (`params.members` is `params: {members: 3}`). An unknown key or a "
             "wrong type is an error naming the key.", "",
             "## Common keys", "", KEY_TABLE_HEAD, *common_key_rows()]
    for name in RECIPES.names():
        lines += ["", recipe_keys(name).rstrip()]
    return "\n".join(lines) + "\n"


def _parser_sections(parser: argparse.ArgumentParser, prog: str) -> list[str]:
    out = [f"## `{prog}`", "", "```text", parser.format_help().rstrip(), "```", ""]
    for action in parser._actions:  # argparse keeps subcommands only in its private action list
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                out += _parser_sections(sub, f"{prog} {sub_name}")
    return out


def cli_reference() -> str:
    from sciml.bench.runner import BENCHMARKS, available, build_parser as bench_parser
    from sciml.cli import build_parser

    lines = ["# Command-line reference", "", "The help text of every command, generated from its parser.", "",
             *_parser_sections(build_parser(), "sciml")]
    for name in available():
        importlib.import_module(f"sciml.bench.{name}")
        if name in BENCHMARKS:
            lines += _parser_sections(bench_parser(BENCHMARKS.get(name)), f"sciml bench {name}")
    return "\n".join(lines) + "\n"


def public_modules() -> list[str]:
    """Every module of the package whose dotted name has no private part."""
    names = ["sciml"]
    for info in pkgutil.walk_packages(sciml.__path__, "sciml."):
        if not any(part.startswith("_") for part in info.name.split(".")) and info.name not in SKIP_MODULES:
            names.append(info.name)
    return sorted(names)


def api_pages() -> dict[str, str]:
    """``{path: markdown}``: an index and one mkdocstrings page per public module."""
    pages = {}
    index = ["# API reference", "", "One page per module; each lists the module's public functions and classes "
             "with their signatures and docstrings.", ""]
    for name in public_modules():
        path = f"reference/api/{name}.md"
        pages[path] = f"# `{name}`\n\n::: {name}\n    options:\n      show_root_heading: false\n"
        summary = (inspect.getdoc(importlib.import_module(name)) or "").strip().splitlines()
        index.append(f"- [`{name}`](api/{name}.md){': ' + summary[0] if summary else ''}")
    pages["reference/api.md"] = "\n".join(index) + "\n"
    return pages


def write_pages() -> None:
    import mkdocs_gen_files

    pages = {"reference/config.md": spec_reference(), "reference/cli.md": cli_reference(), **api_pages()}
    for path, text in pages.items():
        with mkdocs_gen_files.open(path, "w") as fh:
            fh.write(text)


if __name__ in ("__main__", "<run_path>"):
    write_pages()
