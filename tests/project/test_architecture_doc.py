"""docs/architecture.md describes the code as it is: every module, name and path it writes in
backquotes exists. A rename that forgets the page fails here."""

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "architecture.md").read_text()
PACKAGES = {"core", "locations", "pricing", "payments", "gallery", "backoffice", "demo", "photobox"}
QUOTED = re.findall(r"`([^`\n]+)`", PAGE)

DOTTED = sorted({q for q in QUOTED if re.fullmatch(r"[a-z_]+(\.[A-Za-z_]+)+", q) and q.split(".")[0] in PACKAGES})
PATHS = sorted({q for q in QUOTED if re.fullmatch(r"[\w.-]+(/[\w.-]*)+", q)})


def resolve(dotted: str) -> object:
    """Import the longest module prefix of `dotted`, then look up the rest as attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            target = getattr(target, name)
        return target
    raise ModuleNotFoundError(dotted)


def test_the_page_names_code():
    assert len(DOTTED) > 30
    assert len(PATHS) > 5


@pytest.mark.parametrize("dotted", DOTTED)
def test_every_name_on_the_page_exists(dotted):
    assert resolve(dotted) is not None


@pytest.mark.parametrize("path", PATHS)
def test_every_path_on_the_page_exists(path):
    assert (ROOT / path).exists(), path
