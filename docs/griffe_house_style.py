"""Griffe extension for the API reference: read synthgan's docstring style as numpydoc.

synthgan's docstrings write parameters on one line, ``name : what it is, in words``, with
continuation lines indented, and may follow the list with a free paragraph. Numpydoc reads
the words after the colon as a *type* and the paragraph as more parameters. This rewrites,
before parsing: ``name : words`` -> ``name`` plus an indented description (a short type such
as ``int`` or ``str or None`` is left alone); a paragraph after the list starts a Notes
section; Sphinx roles (``:class:`~a.B```) become code spans.
"""

from __future__ import annotations

import re

import griffe

ITEM = re.compile(r"^(\*{0,2}\w[\w, *]*) : (.+)$")
BARE_ITEM = re.compile(r"^\*{0,2}\w+$")
HEADER = re.compile(r"^-{3,}$")
LISTS = {"Parameters", "Other Parameters", "Attributes", "Raises", "Returns", "Yields"}
ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj):`(~?)([^`]+)`")


def _is_type(text: str) -> bool:
    """``int``, ``str or None``, ``pandas.DataFrame``: short, no sentence punctuation."""
    return len(text.split()) <= 4 and not re.search(r"[.;:()`]$|``|\(|: ", text)


def _role(match: re.Match) -> str:
    target = match.group(2)
    return f"`{target.rsplit('.', 1)[-1] if match.group(1) else target}`"


def rewrite(text: str) -> str:
    lines = text.splitlines()
    out: list[str] = []
    in_list = previous_blank = False
    for i, line in enumerate(lines):
        is_header = i + 1 < len(lines) and bool(line.strip()) and bool(HEADER.match(lines[i + 1].strip()))
        if is_header:
            in_list = line.strip() in LISTS
        elif in_list and line and not line[0].isspace() and not HEADER.match(line.strip()):
            item = ITEM.match(line)
            if item and not _is_type(item.group(2)):
                out += [item.group(1), "    " + item.group(2)]
                previous_blank = False
                continue
            if previous_blank and not item and not BARE_ITEM.match(line):
                out += ["Notes", "-----"]
                in_list = False
        out.append(line)
        previous_blank = not line.strip()
    return ROLE.sub(_role, "\n".join(out))


class HouseStyle(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value)
