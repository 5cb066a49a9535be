"""Printing figures."""

import dataclasses
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.harness.machine import machine

# --- Output ---------------------------------------------------------------------------------------


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence], notes: Sequence[str] = ()) -> None:
    cells = [[str(c) for c in header]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    print(f"({machine()})")
    print("| " + " | ".join(c.ljust(w) for c, w in zip(cells[0], widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells[1:]:
        print("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |")
    for line in notes:
        print(line)
    sys.stdout.flush()


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def write_json(path: str | None, figures) -> None:
    if path:
        Path(path).write_text(json.dumps(figures, indent=2, default=_plain) + "\n")


def _plain(value):
    """A Load (or another dataclass) as its fields, so --json files can be read back; else text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value) | {"rps": getattr(value, "rps", None)}
    return str(value)


def log_file(name: str) -> Path:
    directory = Path(tempfile.gettempdir()) / "photobox-bench"
    directory.mkdir(exist_ok=True)
    return directory / f"{name}-{os.getpid()}.log"
