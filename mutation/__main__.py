"""Mutation testing of the money modules: `.venv/bin/python -m mutation MODULE... | all`.

Each module gets its own mutmut work directory in `.mutation/<module>/` (not committed): links to
the project, and a pyproject.toml telling mutmut which file to mutate and which tests to run. A run
starts afresh; `--survivors` runs again only the mutants that survived last time (after writing a
test for them). The report subtracts the mutants listed in mutation/equivalent.toml.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from mutation.modules import MODULES
from mutation.report import ModuleResult, module_result, print_module, print_total

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutation"
# What the tests need from the project: every package (tests import them all through Django's
# settings), and the files some tests read (templates, the README, the docs).
PACKAGES = ("core", "locations", "pricing", "payments", "gallery", "photobox", "backoffice", "demo")
FILES = ("templates", "locale", "docs", "README.md", "manage.py", ".env.example", "mutation")
# --reuse-db: every mutant's test run uses the test database the first run made (migrations once).
# No randomised order, stop at the first failure: a killed mutant costs one failing test.
PYTEST_ARGS = ("-p", "no:cacheprovider", "--reuse-db", "-p", "no:randomly", "-p", "mutation.fresh_db")


def changed_since_last_run(name: str) -> bool:
    """A source changed since its mutants were made: mutmut numbers them anew, so last run's
    survivors no longer name the same changes."""
    mutants = WORK / name / "mutants"
    return any(
        not (mutants / source).exists() or (ROOT / source).stat().st_mtime > (mutants / source).stat().st_mtime
        for source in MODULES[name].sources
    )


def prepare(name: str, *, fresh: bool) -> Path:
    work = WORK / name
    if fresh and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    for entry in (*PACKAGES, *FILES, "tests"):
        link = work / entry
        if not link.is_symlink():
            link.symlink_to(ROOT / entry)
    module = MODULES[name]
    config = "\n".join(
        [
            "",
            "[tool.mutmut]",
            f"source_paths = {list(PACKAGES)!r}",
            f"only_mutate = {list(module.sources)!r}",
            f"also_copy = {list(FILES)!r}",
            f"pytest_add_cli_args_test_selection = {list(module.tests)!r}",
            f"pytest_add_cli_args = {[*PYTEST_ARGS, *(f'--deselect={test}' for test in module.skip)]!r}",
            "",
        ]
    )
    # The project's own pytest settings (DJANGO_SETTINGS_MODULE, markers) plus mutmut's.
    (work / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text() + config.replace("'", '"'))
    return work


def snapshot_path() -> Path:
    return WORK / f"{os.environ['DATABASE_URL'].rsplit('/', 1)[-1]}.snapshot.json"


def create_test_database() -> None:
    """The test database made anew and migrated, and a snapshot of what the migrations put in it,
    which mutation/fresh_db.py loads at the start of every mutant's test session."""
    code = (
        "import django, sys; django.setup(); from django.db import connection; "
        "connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False); "
        "open(sys.argv[1], 'w').write(connection.creation.serialize_db_to_string())"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    WORK.mkdir(exist_ok=True)
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code, str(snapshot_path())], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"Could not make the test database:\n{done.stderr}")


def forget(work: Path, names: list[str]) -> None:
    """Mark these mutants unchecked in mutmut's results, so its next run tries them again."""
    for meta in (work / "mutants").rglob("*.py.meta"):
        data = json.loads(meta.read_text())
        results = data["exit_code_by_key"]
        if any(name in results for name in names):
            results.update({name: None for name in names if name in results})
            meta.write_text(json.dumps(data, indent=4))


def run_mutmut(work: Path) -> None:
    """Run every mutant without a result: all of them in a fresh work directory; after `forget`,
    those forgotten (and any whose cached result mutmut dropped, e.g. after the pytest options
    changed)."""
    mutmut = Path(sys.executable).with_name("mutmut")
    log = work / "mutmut.log"
    with log.open("w") as out:
        done = subprocess.run(  # noqa: S603
            [str(mutmut), "run", "--max-children", "1"],
            cwd=work,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PHOTOBOX_MUTATION_SNAPSHOT": str(snapshot_path())},
        )
    if done.returncode != 0:
        tail = log.read_text()[-3000:]
        raise SystemExit(f"mutmut failed ({done.returncode}); the end of {log}:\n{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m mutation", description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"all, or some of: {', '.join(MODULES)}")
    parser.add_argument("--survivors", action="store_true", help="run again only the last run's survivors")
    parser.add_argument("--report", action="store_true", help="only print the last run's report")
    parser.add_argument("--list", action="store_true", help="list the modules and their tests")
    args = parser.parse_args()
    if args.list or not args.modules:
        for name, module in MODULES.items():
            print(f"{name}: {module.what}\n  mutates {' '.join(module.sources)}\n  tests {' '.join(module.tests)}")
        return
    names = list(MODULES) if args.modules == ["all"] else args.modules
    unknown = [n for n in names if n not in MODULES]
    if unknown:
        parser.error(f"unknown module(s) {', '.join(unknown)}; choose from: {', '.join(MODULES)}")
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        parser.error("set DATABASE_URL=postgres://... (the row-lock and concurrency tests need PostgreSQL)")
    if not args.report:
        create_test_database()

    results: list[ModuleResult] = []
    for name in names:
        started = time.monotonic()
        again = args.survivors and not changed_since_last_run(name)
        if args.survivors and not again:
            print(f"{name}: its code changed since the last run: running all its mutants")
        work = prepare(name, fresh=not (again or args.report))
        if not args.report:
            if again:
                forget(work, module_result(name, work).survivor_names)
            print(f"{name}: running mutmut ({work / 'mutmut.log'})", flush=True)
            run_mutmut(work)
        result = module_result(name, work, seconds=time.monotonic() - started)
        print_module(result)
        results.append(result)
    if len(results) > 1:
        print_total(results)


if __name__ == "__main__":
    main()
