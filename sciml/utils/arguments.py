"""The command-line parser every ``sciml`` command and benchmark builds on."""
from __future__ import annotations

import argparse


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the error contract: one line ``sciml: error: ...`` naming the help to read, exit 2."""

    def error(self, message: str):
        self.exit(2, f"sciml: error: {message} (see `{self.prog} --help`)\n")
