"""The table, the facts of the machine it was measured on, and the section of docs/performance.md it goes in."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
from collections.abc import Sequence
from pathlib import Path

from bench.common import Figure

START_MARKER = "<!-- bench:start -->"
END_MARKER = "<!-- bench:end -->"
COLUMNS = ("figure", "measured", "reference", "ratio", "target", "verdict")


def table(figures: Sequence[Figure]) -> str:
    rows = [COLUMNS, *((f.name, f.measured, f.reference, f.ratio, f.target, f.verdict) for f in figures)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)) + " |"

    return "\n".join([line(rows[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows[1:])])


def notes(figures: Sequence[Figure]) -> str:
    return "\n".join(f"- {note}" for figure in figures for note in figure.notes)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_facts(mariadb_version: str | None) -> str:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = ", ".join(f"{name} {importlib.metadata.version(name)}"
                         for name in ("boto3", "PyMySQL", "pulumi", "pulumi-aws", "moto"))
    facts = [f"{usable} CPUs ({cpu_model()})", platform.system(), f"Python {platform.python_version()}"]
    if mariadb_version:
        facts.append(f"MariaDB {mariadb_version}")
    return "; ".join([*facts, versions])


def section(figures: Sequence[Figure], command: str, mariadb_version: str | None, elapsed_s: float,
            today: datetime.date | None = None) -> str:
    """What goes between the performance page's markers."""
    today = today or datetime.datetime.now(datetime.UTC).date()
    minutes, seconds = divmod(round(elapsed_s), 60)
    return "\n".join([
        f"Measured {today.isoformat()} with `{command}` ({minutes} min {seconds:02d} s), on "
        f"{machine_facts(mariadb_version)}.",
        "",
        table(figures),
        "",
        notes(figures),
    ])


def rewrite_section(page: Path, body: str) -> None:
    """Replace what is between the markers with ``body``."""
    text = page.read_text()
    start, end = text.find(START_MARKER), text.find(END_MARKER)
    if start < 0 or end < start:
        raise ValueError(f"{page.name} has no {START_MARKER} ... {END_MARKER} block to rewrite")
    page.write_text(f"{text[:start]}{START_MARKER}\n{body}\n{text[end:]}")
