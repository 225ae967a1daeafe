"""Markdown tables of figures per target, and of goals met or missed."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable  # (figures, baseline figures or None) -> number or None
    fmt: str


@dataclass(frozen=True)
class Goal:
    label: str
    value: Callable  # as Column.value
    passes: Callable  # number -> bool
    fmt: str


def figures_table(results, columns, baseline):
    """Return one row per target of `results` ({target: figures}), one column per `columns`."""
    rows = [
        [name] + [_format(column.value(figures, baseline), column.fmt) for column in columns]
        for name, figures in results.items()
    ]
    return _markdown(["target"] + [column.header for column in columns], rows)


def goals_table(results, goals, baseline):
    """Return one row per goal, with PASS or MISS and the measured value for each target."""
    rows = []
    for goal in goals:
        row = [goal.label]
        for figures in results.values():
            value = goal.value(figures, baseline)
            verdict = "n/a" if value is None else "PASS" if goal.passes(value) else "MISS"
            row.append(f"{verdict} ({_format(value, goal.fmt)})" if value is not None else verdict)
        rows.append(row)
    return _markdown(["goal"] + list(results), rows)


def _format(value, fmt):
    return "–" if value is None else fmt.format(value)


def _markdown(header, rows):
    """Lay out a markdown table: the first column names things, the rest are figures."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(cells):
        name, *figures = (str(cell) for cell in cells)
        padded = [name.ljust(widths[0])]
        padded += [text.rjust(width) for text, width in zip(figures, widths[1:], strict=True)]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "-" * (widths[0] + 2) + "".join(f"|{'-' * (w + 1)}:" for w in widths[1:]) + "|"
    return "\n".join([line(header), rule, *map(line, rows)])
