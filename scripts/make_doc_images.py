"""Regenerate the documentation's demo images from a fresh ``synthgan demo`` run.

    python scripts/make_doc_images.py                 # run the demo, then write the images
    python scripts/make_doc_images.py --demo-dir DIR  # use the outputs of an earlier demo run
    python scripts/make_doc_images.py --browser /opt/chrome/chrome

Writes ``docs/img/report.png`` (the top of ``report.html``, rendered by headless
Chromium or Chrome at 1100 x 1180) and ``docs/img/digits_grid.png`` (copied from the run),
then prints the verdicts the screenshot shows, so text quoting them can be checked. The
browser is found before the demo starts (a run takes minutes); none found is an error that
says what was looked for. Every image is written atomically.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "img"
#: the screenshot's size in CSS pixels (the size of the image it replaces)
WINDOW = (1100, 1180)
#: executables tried, in order, when --browser is not given
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome", "microsoft-edge")
#: environment variable that may name the browser instead of --browser
BROWSER_VARIABLE = "SYNTHGAN_DOCS_BROWSER"


class NoBrowserError(RuntimeError):
    """No headless Chromium-family browser was found."""


def find_browser(given: str | None = None) -> str:
    """The browser executable to screenshot with: ``given``, the environment's, or the first on PATH."""
    given = given or os.environ.get(BROWSER_VARIABLE)
    if given:
        found = shutil.which(given) or (given if Path(given).is_file() else None)
        if found is None:
            raise NoBrowserError(f"browser {given!r} was not found (not on PATH and not a file)")
        return found
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise NoBrowserError(
        f"no headless browser found: looked for {', '.join(BROWSERS)} on PATH. Install Chromium "
        f"(e.g. apt-get install chromium) or name one with --browser PATH or {BROWSER_VARIABLE}=PATH"
    )


def run_demo(folder: Path, seed: int) -> None:
    """A fresh demo at its defaults, as a user runs it (``python -m synthgan demo``)."""
    cmd = [sys.executable, "-m", "synthgan", "demo", "--out", str(folder), "--seed", str(seed), "--overwrite"]
    print("running:", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def screenshot(browser: str, page: Path, target: Path) -> None:
    """The top ``WINDOW`` of ``page``, as a palette PNG (small, like the image it replaces)."""
    from PIL import Image

    from synthgan.io import atomic_path

    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "shot.png"
        cmd = [
            browser, "--headless=new", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
            f"--user-data-dir={Path(tmp) / 'profile'}", f"--window-size={WINDOW[0]},{WINDOW[1]}",
            f"--screenshot={raw}", page.resolve().as_uri(),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if done.returncode != 0 or not raw.is_file():
            raise RuntimeError(f"{browser} did not write a screenshot (exit {done.returncode}): {done.stderr[-2000:]}")
        image = Image.open(raw).convert("RGB").quantize(colors=256)
        with atomic_path(target) as out:
            image.save(out, format="PNG", optimize=True)


def copy_image(source: Path, target: Path) -> None:
    from synthgan.io import atomic_path

    with atomic_path(target) as out:
        shutil.copyfile(source, out)


def verdicts(report_json: Path) -> str:
    """The report's summary (a line per section, with its verdict), as ``synthgan evaluate`` prints it."""
    from synthgan.report import Report

    return Report.from_dict(json.loads(report_json.read_text(encoding="utf-8"))).summary()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--demo-dir", type=Path, help="outputs of an earlier demo run (default: run a fresh demo)")
    parser.add_argument("--browser", help=f"Chromium/Chrome executable (default: ${BROWSER_VARIABLE}, then PATH)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fresh demo run (default: 0, the demo's)")
    args = parser.parse_args(argv)
    try:
        browser = find_browser(args.browser)
    except NoBrowserError as exc:
        print(f"make_doc_images: error: {exc}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="synthgan-demo-") as tmp:
        folder = args.demo_dir or Path(tmp) / "demo"
        if args.demo_dir is None:
            run_demo(folder, args.seed)
        for name in ("report.html", "report.json", "digits_grid.png"):
            if not (folder / name).is_file():
                print(f"make_doc_images: error: {folder / name} is missing; run the demo there", file=sys.stderr)
                return 2
        screenshot(browser, folder / "report.html", IMAGES / "report.png")
        copy_image(folder / "digits_grid.png", IMAGES / "digits_grid.png")
        print(f"wrote {IMAGES / 'report.png'} and {IMAGES / 'digits_grid.png'}; the report shows:")
        print(verdicts(folder / "report.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
