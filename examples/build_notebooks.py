"""Write each example's notebook from its script, so the two never drift apart.

The scripts are the source: cells are separated by ``# %%`` lines (``# %% [markdown]`` for
text, each line commented), the "percent" format editors such as VS Code and Jupytext read.
Notebooks are written without outputs and with fixed cell ids, so regenerating an unchanged
script gives the same file byte for byte.

    python examples/build_notebooks.py           # rewrite the notebooks
    python examples/build_notebooks.py --check   # exit 1 if a notebook is out of date (CI)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
EXAMPLES = ("fraud_augmentation", "medical_images", "test_fixtures")
KERNEL = {"display_name": "Python 3", "language": "python", "name": "python3"}


def cells(source: str) -> list[tuple[str, str]]:
    """``[(kind, text)]`` from a percent-format script; kind is ``code`` or ``markdown``."""
    out: list[tuple[str, list[str]]] = []
    for line in source.splitlines():
        if line.startswith("# %%"):
            out.append(("markdown" if "[markdown]" in line else "code", []))
        elif out:
            out[-1][1].append(line)
    result = []
    for kind, lines in out:
        if kind == "markdown":
            lines = [line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines]
        text = "\n".join(lines).strip("\n")
        if text:
            result.append((kind, text))
    return result


def notebook(script: Path) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": KERNEL, "language_info": {"name": "python"}})
    for i, (kind, text) in enumerate(cells(script.read_text(encoding="utf-8"))):
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        nb.cells.append(make(text, id=f"{script.stem}-{i}"))
    return nb


def render(script: Path) -> str:
    return nbformat.writes(notebook(script)) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report notebooks that differ from their script")
    args = parser.parse_args(argv)
    stale = []
    for name in EXAMPLES:
        text, target = render(HERE / f"{name}.py"), HERE / f"{name}.ipynb"
        if target.exists() and target.read_text(encoding="utf-8") == text:
            continue
        stale.append(target.name)
        if not args.check:
            target.write_text(text, encoding="utf-8")
    if args.check and stale:
        print(f"out of date: {', '.join(stale)}; run python examples/build_notebooks.py", file=sys.stderr)
        return 1
    print(f"{'checked' if args.check else 'wrote'} {len(EXAMPLES)} notebooks; {len(stale)} changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
