"""Small, dependency-free SVG charts for the HTML report: bars, columns, heatmaps, lines.

Every string that reaches the markup goes through :func:`esc`; hovering a bar or a cell
shows its exact value (an SVG ``<title>``).
"""

from __future__ import annotations

import html
import math
import numbers

from synthgan.report.section import Figure

#: series colours in order; the first two are "real" and "synthetic" in every figure
PALETTE = ("#3b6ea8", "#e07b39", "#5a9e6f", "#8e6bb0", "#c9b23a", "#7f7f7f")
FONT = 'font-family="system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif"'
CHAR_W = 6.2  # rough width of one 11px character, for layout


def esc(text) -> str:
    return html.escape(str(text), quote=True)


def fmt(value) -> str:
    """Numbers to three decimals (or three significant digits when tiny or large); None to n/a."""
    if value is None:
        return "n/a"
    if isinstance(value, (bool, numbers.Integral)) or not isinstance(value, numbers.Real):
        return str(value)
    value = float(value)
    if not math.isfinite(value):
        return "n/a"
    if value != 0 and (abs(value) >= 1000 or abs(value) < 0.001):
        return f"{value:.3g}"
    return f"{value:.3f}"


def _clip(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _domain(figure: Figure, values: list) -> tuple[float, float]:
    if figure.domain is not None:
        return float(figure.domain[0]), float(figure.domain[1])
    finite = [v for v in values if v is not None and math.isfinite(v)]
    low, high = min([0.0, *finite]), max([0.0, *finite])
    return low, (high if high > low else low + 1.0)


def _legend(names: list[str], x: float, y: float) -> list[str]:
    out = []
    for i, name in enumerate(names):
        out.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>')
        out.append(f'<text x="{x + 14:.1f}" y="{y:.1f}" font-size="11">{esc(name)}</text>')
        x += 24 + CHAR_W * len(str(name))
    return out


def _svg(width: float, height: float, body: list[str], title: str) -> str:
    return (
        f'<svg role="img" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" {FONT} aria-label="{esc(title)}">'
        f"<title>{esc(title)}</title>{''.join(body)}</svg>"
    )


def bars(figure: Figure, width: int = 640) -> str:
    """Horizontal grouped bars: one row per label, one bar per series, value printed at the end."""
    names = list(figure.series)
    values = [v for s in figure.series.values() for v in s]
    low, high = _domain(figure, values)
    label_w = min(230.0, 12 + CHAR_W * max((len(str(lab)) for lab in figure.labels), default=4))
    top = 26 if len(names) > 1 else 8
    bar_h, gap = 13, 7
    row_h = bar_h * len(names) + gap
    plot_w = width - label_w - 52
    height = top + row_h * len(figure.labels) + 18

    def x(v: float) -> float:
        return label_w + plot_w * (min(max(v, low), high) - low) / (high - low)

    body = _legend(names, label_w, 14) if len(names) > 1 else []
    zero = x(0.0)
    for i, label in enumerate(figure.labels):
        y0 = top + i * row_h
        body.append(
            f'<text x="{label_w - 6:.1f}" y="{y0 + row_h / 2 + 1:.1f}" font-size="11" text-anchor="end">'
            f"<title>{esc(label)}</title>{esc(_clip(label, 36))}</text>"
        )
        for j, name in enumerate(names):
            v = figure.series[name][i]
            y = y0 + j * bar_h
            if v is None:
                body.append(f'<text x="{zero + 3:.1f}" y="{y + 10:.1f}" font-size="10" fill="#888">n/a</text>')
                continue
            left, right = sorted((zero, x(v)))
            body.append(
                f'<rect x="{left:.1f}" y="{y:.1f}" width="{max(right - left, 0.8):.1f}" height="{bar_h - 2}" '
                f'fill="{PALETTE[j % len(PALETTE)]}"><title>{esc(label)} \u00b7 {esc(name)}: {fmt(v)}</title></rect>'
            )
            body.append(f'<text x="{right + 3:.1f}" y="{y + 10:.1f}" font-size="10">{fmt(v)}</text>')
    axis_y = top + row_h * len(figure.labels)
    body.append(f'<line x1="{zero:.1f}" y1="{top - 3}" x2="{zero:.1f}" y2="{axis_y:.1f}" stroke="#999"/>')
    for tick in (low, high):
        body.append(
            f'<text x="{x(tick):.1f}" y="{axis_y + 13:.1f}" font-size="10" text-anchor="middle" fill="#666">{fmt(tick)}</text>'
        )
    if figure.value_label:
        height += 12
        body.append(
            f'<text x="{label_w + plot_w / 2:.1f}" y="{axis_y + 26:.1f}" font-size="10" text-anchor="middle" '
            f'fill="#666">{esc(figure.value_label)}</text>'
        )
    return _svg(width, height, body, figure.title)


def columns(figure: Figure, width: int = 300, height: int = 170) -> str:
    """Vertical grouped bars: a distribution per series over ``labels`` (bins or categories)."""
    names = list(figure.series)
    values = [v for s in figure.series.values() for v in s]
    low, high = _domain(figure, values)
    left, right, top, bottom = 34, 6, 22, 36
    n = max(len(figure.labels), 1)
    slot = (width - left - right) / n
    step = 1 if n <= 6 else math.ceil(n / 4)
    limit = max(int(slot * step / (CHAR_W * 0.85)), 4)
    shown = [str(figure.labels[i]) for i in range(0, len(figure.labels), step)]
    turned = any(len(label) > limit for label in shown)
    if turned:  # room below the axis (and left of it) for turned labels; the plot keeps its height
        reach = min(max(map(len, shown)), 16) * CHAR_W * 0.85
        bottom, height = bottom + int(reach * 0.5), height + int(reach * 0.5)
        left = max(left, int(reach * 0.87 - slot / 2) + 2)
        slot = (width - left - right) / n
    plot_w, plot_h = width - left - right, height - top - bottom
    bar_w = max((slot - 2) / max(len(names), 1), 0.5)

    def y(v: float) -> float:
        return top + plot_h * (1 - (min(max(v, low), high) - low) / (high - low))

    body = _legend(names, left, 12)
    body.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#999"/>')
    body.append(f'<text x="{left - 3}" y="{top + 8}" font-size="9" text-anchor="end" fill="#666">{fmt(high)}</text>')
    body.append(
        f'<text x="{left - 3}" y="{top + plot_h}" font-size="9" text-anchor="end" fill="#666">{fmt(low)}</text>'
    )
    for i, label in enumerate(figure.labels):
        for j, name in enumerate(names):
            v = figure.series[name][i]
            if v is None:
                continue
            bx = left + i * slot + 1 + j * bar_w
            body.append(
                f'<rect x="{bx:.1f}" y="{y(v):.1f}" width="{bar_w:.1f}" height="{top + plot_h - y(v):.1f}" '
                f'fill="{PALETTE[j % len(PALETTE)]}"><title>{esc(label)} \u00b7 {esc(name)}: {fmt(v)}</title></rect>'
            )
    for i in range(0, len(figure.labels), step):
        cx = left + (i + 0.5) * slot
        label = str(figure.labels[i])
        if turned:  # long labels (``age = 19–34``) run down-left from under their bar, not over each other
            ly = top + plot_h + 9
            body.append(
                f'<text x="{cx:.1f}" y="{ly}" font-size="9" text-anchor="end" fill="#444" '
                f'transform="rotate(-30 {cx:.1f} {ly})"><title>{esc(label)}</title>{esc(_clip(label, 16))}</text>'
            )
        else:
            body.append(
                f'<text x="{cx:.1f}" y="{top + plot_h + 12}" font-size="9" text-anchor="middle" fill="#444">'
                f"<title>{esc(label)}</title>{esc(_clip(label, min(limit, 14)))}</text>"
            )
    body.append(
        f'<text x="{width / 2:.1f}" y="{height - 4}" font-size="11" text-anchor="middle" font-weight="600">'
        f"{esc(_clip(figure.title, 44))}</text>"
    )
    return _svg(width, height, body, figure.title)


def _colour(v: float, low: float, high: float) -> str:
    """Blue (low) - white - red (high) for a domain around 0; white - blue for one above it."""
    if low < 0 < high:
        t = max(-1.0, min(1.0, v / (high if v > 0 else -low)))
        end = (178, 24, 43) if t > 0 else (33, 102, 172)
        t = abs(t)
    else:
        t, end = max(0.0, min(1.0, (v - low) / (high - low))), (33, 102, 172)
    r, g, b = (round(255 + (c - 255) * t) for c in end)
    return f"#{r:02x}{g:02x}{b:02x}"


#: characters of a heatmap row label (left) and column label (below, turned) before clipping
HEATMAP_ROW_CHARS, HEATMAP_COLUMN_CHARS = 28, 18


def heatmap(figure: Figure) -> str:
    """A square matrix of cells, rows labelled on the left and columns below (turned); hovering a
    cell or a clipped label shows it in full."""
    n = len(figure.labels)
    low, high = figure.domain or (-1.0, 1.0)
    cell = max(6, min(20, 340 // max(n, 1)))  # two 30-column maps fit side by side
    font = min(10, cell - 1)
    longest = max((len(str(lab)) for lab in figure.labels), default=4)
    label_w = min(170.0, 8 + CHAR_W * min(longest, HEATMAP_ROW_CHARS))
    column_h = 8 + font * 0.62 * min(longest, HEATMAP_COLUMN_CHARS)
    top = 22
    matrix_w = n * cell
    width = max(label_w + matrix_w + 8, label_w + 170)
    key_y = top + matrix_w + column_h + 8
    height = key_y + 26
    body = [f'<text x="{label_w:.1f}" y="14" font-size="12" font-weight="600">{esc(_clip(figure.title, 60))}</text>']
    for i, row_label in enumerate(figure.labels):
        y = top + i * cell
        body.append(
            f'<text x="{label_w - 4:.1f}" y="{y + cell * 0.75:.1f}" font-size="{font}" '
            f'text-anchor="end"><title>{esc(row_label)}</title>{esc(_clip(row_label, HEATMAP_ROW_CHARS))}</text>'
        )
        cx, cy = label_w + i * cell + cell * 0.7, top + matrix_w + 4
        body.append(
            f'<text x="{cx:.1f}" y="{cy:.1f}" font-size="{font}" text-anchor="end" '
            f'transform="rotate(-90 {cx:.1f} {cy:.1f})"><title>{esc(row_label)}</title>'
            f"{esc(_clip(row_label, HEATMAP_COLUMN_CHARS))}</text>"
        )
        for j, col_label in enumerate(figure.labels):
            v = figure.matrix[i][j]
            fill = "#eeeeee" if v is None else _colour(v, low, high)
            body.append(
                f'<rect x="{label_w + j * cell:.1f}" y="{y}" width="{cell}" height="{cell}" fill="{fill}">'
                f"<title>{esc(row_label)} \u00d7 {esc(col_label)}: {fmt(v)}</title></rect>"
            )
    for k in range(11):
        v = low + (high - low) * k / 10
        body.append(
            f'<rect x="{label_w + k * 14:.1f}" y="{key_y}" width="14" height="9" fill="{_colour(v, low, high)}"/>'
        )
    body.append(f'<text x="{label_w:.1f}" y="{key_y + 21}" font-size="9" fill="#666">{fmt(low)}</text>')
    body.append(
        f'<text x="{label_w + 154:.1f}" y="{key_y + 21}" font-size="9" fill="#666" text-anchor="end">{fmt(high)}</text>'
    )
    if figure.value_label:
        body.append(
            f'<text x="{label_w + 77:.1f}" y="{key_y + 21}" font-size="9" fill="#666" text-anchor="middle">'
            f"{esc(figure.value_label)}</text>"
        )
    return _svg(width, height, body, figure.title)


def _line_domain(figure: Figure, values: list) -> tuple[float, float]:
    """``figure.domain``, else the data's range with a little room above and below."""
    if figure.domain is not None:
        return float(figure.domain[0]), float(figure.domain[1])
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    low, high = min(finite), max(finite)
    pad = (high - low) * 0.06 if high > low else max(abs(low) * 0.1, 0.5)
    return low - pad, high + pad


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _runs(points: list[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    """Consecutive defined points, split where a value is missing (a gap in the line)."""
    out, run = [], []
    for x, y in points:
        if y is None or not math.isfinite(y):
            if run:
                out.append(run)
            run = []
        else:
            run.append((x, y))
    return out + ([run] if run else [])


def lines(figure: Figure, width: int = 460, height: int = 240) -> str:
    """One polyline per series over the x values; gaps where a value is None; a dashed marker."""
    names = list(figure.series)
    values = [v for s in figure.series.values() for v in s]
    low, high = _line_domain(figure, values)
    left, right, top, bottom = 48, 14, 54, 24  # above the plot: title, legend, marker label
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(figure.labels)
    numeric = n > 0 and all(_is_number(v) for v in figure.labels)
    x_low, x_high = (min(figure.labels), max(figure.labels)) if numeric else (0, max(n - 1, 0))

    def x_at(value: float) -> float:
        if x_high == x_low:
            return left + plot_w / 2
        return left + plot_w * (value - x_low) / (x_high - x_low)

    def x(i: int) -> float:
        return x_at(figure.labels[i] if numeric else i)

    def y(v: float) -> float:
        return top + plot_h * (1 - (min(max(v, low), high) - low) / (high - low))

    body = [f'<text x="{left}" y="14" font-size="12" font-weight="600">{esc(_clip(figure.title, 64))}</text>']
    body += _legend(names, left, 30)
    for k in range(5):
        tick = low + (high - low) * k / 4
        body.append(
            f'<line x1="{left}" y1="{y(tick):.1f}" x2="{width - right}" y2="{y(tick):.1f}" '
            f'stroke="{"#999" if k == 0 else "#e4e7ec"}"/>'
        )
        body.append(
            f'<text x="{left - 4}" y="{y(tick) + 3:.1f}" font-size="9" text-anchor="end" fill="#666">{fmt(tick)}</text>'
        )
    body.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#999"/>')
    ticks = range(n) if n <= 8 else sorted({round(k * (n - 1) / 5) for k in range(6)})
    for i in ticks:
        label = figure.labels[i]
        text = fmt(label) if _is_number(label) and not float(label).is_integer() else _clip(str(label), 10)
        body.append(
            f'<text x="{x(i):.1f}" y="{top + plot_h + 13}" font-size="9" text-anchor="middle" fill="#444">'
            f"{esc(text)}</text>"
        )
    dots = n <= 40
    for j, name in enumerate(names):
        colour = PALETTE[j % len(PALETTE)]
        series = figure.series[name]
        for run in _runs([(x(i), series[i]) for i in range(min(n, len(series)))]):
            if len(run) > 1:
                pts = " ".join(f"{px:.1f},{y(py):.1f}" for px, py in run)
                body.append(
                    f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="1.8" '
                    f'stroke-linejoin="round"><title>{esc(name)}</title></polyline>'
                )
            elif not dots:
                body.append(f'<circle cx="{run[0][0]:.1f}" cy="{y(run[0][1]):.1f}" r="2.5" fill="{colour}"/>')
        if dots:
            for i in range(min(n, len(series))):
                v = series[i]
                if v is None or not math.isfinite(v):
                    continue
                body.append(
                    f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" fill="{colour}">'
                    f"<title>{esc(figure.labels[i])} \u00b7 {esc(name)}: {fmt(v)}</title></circle>"
                )
    if figure.marker is not None and n:
        position = _marker_x(figure, numeric, x_at, x)
        if position is not None:
            anchor, dx = ("start", 4) if position < left + plot_w * 0.6 else ("end", -4)
            body.append(
                f'<line x1="{position:.1f}" y1="{top - 14}" x2="{position:.1f}" y2="{top + plot_h}" '
                'stroke="#333" stroke-width="1.2" stroke-dasharray="4 3"/>'
            )
            if figure.marker_label:
                body.append(
                    f'<text x="{position + dx:.1f}" y="{top - 6}" font-size="10" text-anchor="{anchor}" '
                    f'fill="#333">{esc(_clip(figure.marker_label, 40))}</text>'
                )
    return _svg(width, height, body, figure.title)


def _marker_x(figure: Figure, numeric: bool, x_at, x) -> float | None:
    """Where the marker goes: its x value on a numeric axis, else the label equal to it."""
    if numeric:
        if not _is_number(figure.marker):
            return None
        lo, hi = min(figure.labels), max(figure.labels)
        return x_at(figure.marker) if lo <= figure.marker <= hi else None
    for i, label in enumerate(figure.labels):
        if str(label) == str(figure.marker):
            return x(i)
    return None


def render(figure: Figure) -> str:
    if figure.kind == "bars":
        return bars(figure)
    if figure.kind == "columns":
        return columns(figure)
    if figure.kind == "lines":
        return lines(figure)
    return heatmap(figure)
