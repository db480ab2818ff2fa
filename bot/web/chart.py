"""The `stats` chart as inline SVG for the trends page: stacked bars of article–topic pairs per
week by topic, a dot for the week's relevant articles (each once), a legend by topic name.
Drawn here rather than by matplotlib because matplotlib's SVG styles with inline `style`
attributes, which the pages' Content-Security-Policy (no 'unsafe-inline') does not apply;
this one uses presentation attributes only, and every text is escaped."""

from __future__ import annotations

from html import escape

from bot.stats import PAIRS_LABEL, RELEVANT_LABEL, Stats

# tab10's colours, then lighter ones: neighbouring topics stay apart
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
           "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5")
WIDTH, PLOT_HEIGHT = 720, 260
LEFT, TOP, BOTTOM = 56, 16, 44  # room for the y labels, above, and the week labels
LEGEND_ROW, LEGEND_COLUMNS = 20, 2


def svg_chart(stats: Stats, *, standalone: bool = False) -> str:
    """The chart as an <svg> element (with `standalone`, a document of its own)."""
    shown = [s for s in stats.topics if s.total_articles]
    weeks = len(stats.weeks)
    totals = [sum(s.articles[i] for s in shown) for i in range(weeks)]
    top = max([*totals, *stats.relevant.articles, 1])
    legend_rows = -(-(len(shown) + 1) // LEGEND_COLUMNS)
    height = TOP + PLOT_HEIGHT + BOTTOM + legend_rows * LEGEND_ROW + 8
    step = (WIDTH - LEFT - 8) / max(weeks, 1)
    bar = step * 0.8

    def y(value: float) -> float:
        return TOP + PLOT_HEIGHT * (1 - value / top)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
             f'width="100%" role="img" aria-labelledby="chart-title" font-family="sans-serif" '
             f'font-size="13">', f'<title id="chart-title">{escape(title(stats))}</title>']
    for tick in sorted({0, top // 2, top}):  # the y axis: three levels, whole numbers
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - 8}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
                     'stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick}</text>')
    parts.append(f'<text transform="translate(12 {TOP + PLOT_HEIGHT / 2}) rotate(-90)" '
                 f'text-anchor="middle" font-size="11">{escape(PAIRS_LABEL)}</text>')
    for i, week in enumerate(stats.weeks):
        x = LEFT + i * step + (step - bar) / 2
        base = 0
        for n, series in enumerate(shown):
            count = series.articles[i]
            if count:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y(base + count):.1f}" width="{bar:.1f}" '
                    f'height="{y(base) - y(base + count):.1f}" fill="{PALETTE[n % len(PALETTE)]}">'
                    f'<title>{escape(series.name)}, {escape(week)}: {count}</title></rect>')
                base += count
        relevant = stats.relevant.articles[i]
        if relevant:
            parts.append(f'<circle cx="{x + bar / 2:.1f}" cy="{y(relevant):.1f}" r="3.5" '
                         f'fill="#000"><title>{escape(week)}: {relevant} relevant articles'
                         '</title></circle>')
        if weeks <= 26 or i % 2 == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{TOP + PLOT_HEIGHT + 16}" '
                         f'text-anchor="middle" font-size="11">{escape(week.split("-")[-1])}'
                         '</text>')
    if not shown:
        parts.append(f'<text x="{WIDTH / 2}" y="{TOP + PLOT_HEIGHT / 2}" text-anchor="middle">'
                     'no relevant articles in this period</text>')
    legend = [(PALETTE[n % len(PALETTE)], s.name, "rect") for n, s in enumerate(shown)]
    legend.append(("#000", RELEVANT_LABEL, "circle"))
    column = (WIDTH - LEFT) / LEGEND_COLUMNS
    for n, (colour, name, mark) in enumerate(legend):
        lx = LEFT + (n % LEGEND_COLUMNS) * column
        ly = TOP + PLOT_HEIGHT + BOTTOM + (n // LEGEND_COLUMNS) * LEGEND_ROW
        parts.append(f'<rect x="{lx:.1f}" y="{ly - 10}" width="12" height="12" fill="{colour}"/>'
                     if mark == "rect" else
                     f'<circle cx="{lx + 6:.1f}" cy="{ly - 4}" r="4" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 18:.1f}" y="{ly}">{escape(name)}</text>')
    parts.append("</svg>")
    svg = "".join(parts)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + svg if standalone else svg


def title(stats: Stats) -> str:
    return (f"Relevant articles per topic per ISO week, {stats.weeks[0]} – {stats.weeks[-1]} "
            "(UTC): stacked bars of article–topic pairs, a dot for the week's relevant articles")
