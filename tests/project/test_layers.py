"""Dependencies run one way: gallery -> payments -> pricing -> locations -> core.

Every module outside the tests and the migrations is parsed (its imports, wherever they are
written, functions included) and checked: an app imports only itself and the apps to its right,
and never another app's `admin` or `api` module. The staff screens (`backoffice`), the demo
(`demo`), the project (`photobox`), the benchmarks (`bench`) and the root scripts sit above every
app and may import any of them.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIPPED_DIRS = {"tests", "migrations", "node_modules", "locale", "templates", "static", "docs"}

# Lower imports nothing higher. Above the apps: anything not listed here.
APP_RANK = {"core": 0, "locations": 1, "pricing": 2, "payments": 3, "gallery": 4}
ABOVE_APPS = {"backoffice", "demo", "photobox", "bench", "manage", "gunicorn"}

# photobox/ is the project (settings, urls, wsgi): above the apps. Its environment reading
# (core.env) and start-up checks run before Django loads any app, so apps may not import them.


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[0].startswith(".") or SKIPPED_DIRS.intersection(relative.parts[:-1]):
            continue
        parts = list(relative.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if parts:
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(module: str, path: Path) -> set[str]:
    """The modules `module` imports: `from a import b` is a.b when b is a module, else a."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                names.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {name for name in names if name.split(".")[0] in APP_RANK or name.split(".")[0] in ABOVE_APPS}


def _app(module: str) -> str:
    return module.split(".")[0]


def _is_api_or_admin(module: str) -> bool:
    return any(part in {"api", "admin"} or part.startswith("admin_") for part in module.split(".")[1:])


def violations(module: str, imported: str) -> str | None:
    """Why `module` may not import `imported`, or None when it may."""
    importer, target = _app(module), _app(imported)
    if importer not in APP_RANK:
        return None  # above the apps: may import any of them
    if target not in APP_RANK:
        return f"{module} (an app) imports {imported}, which sits above the apps"
    if APP_RANK[target] > APP_RANK[importer]:
        return f"{module} imports {imported}: {importer} may not import {target}, which sits above it"
    if target not in {importer, "core"} and _is_api_or_admin(imported):
        return f"{module} imports {imported}: another app's API or admin module"
    return None


def test_every_app_imports_only_the_apps_below_it():
    problems = [
        problem
        for module, path in sorted(MODULES.items())
        for imported in sorted(_imports(module, path))
        if (problem := violations(module, imported))
    ]
    assert problems == []


@pytest.mark.parametrize(
    ("module", "imported", "allowed"),
    [
        ("gallery.services", "payments.models", True),
        ("payments.selectors", "gallery.models", False),
        ("pricing.selectors", "payments.models", False),
        ("locations.auth", "core.errors", True),
        ("gallery.api", "payments.api", False),
        ("gallery.api", "payments.selectors", True),
        ("payments.services", "gallery.admin", False),
        ("backoffice.sales.admin", "gallery.selectors", True),
        ("gallery.views", "gallery.api", True),
        ("payments.services", "photobox.settings", False),
        ("photobox.urls", "gallery.views", True),
        ("backoffice.sales", "gallery.admin", True),
    ],
)
def test_the_check_itself(module, imported, allowed):
    assert (violations(module, imported) is None) is allowed
