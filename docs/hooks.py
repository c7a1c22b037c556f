"""MkDocs hook: replace ``<!-- synthgan-cli -->`` with the help of every ``synthgan`` command.

The text comes from :func:`synthgan.cli.build_parser`, so the reference cannot drift from
the command line it documents.
"""

from __future__ import annotations

import argparse
import os

MARKER = "<!-- synthgan-cli -->"
#: help is wrapped at this width whatever terminal builds the site
WIDTH = "88"


def cli_reference() -> str:
    os.environ["COLUMNS"] = WIDTH  # argparse wraps help to the terminal width
    from synthgan.cli import build_parser

    parser = build_parser()
    parts = ["```text", parser.format_help().rstrip(), "```"]
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        parts += ["", f"## synthgan {name}", "", "```text", sub.format_help().rstrip(), "```"]
    return "\n".join(parts)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER in markdown:
        return markdown.replace(MARKER, cli_reference())
    return markdown
