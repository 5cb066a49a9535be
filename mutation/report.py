"""Reading a module's mutmut results: each mutant's fate, its change, and the equivalent ones."""

import ast
import contextlib
import json
import os
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mutation.modules import MODULES

EQUIVALENT_FILE = Path(__file__).with_name("equivalent.toml")
KILLED = {1, 3}
SURVIVED = {0}
NO_TESTS = {5, 33}
TIMEOUT = {36, 24, -24, 152, 255}


@dataclass(frozen=True)
class Mutant:
    name: str  # mutmut's, for `mutmut show` in .mutation/<module>/ (it changes when the code does)
    file: str
    function: str
    line: int
    original: str
    mutated: str


@dataclass
class ModuleResult:
    name: str
    total: int = 0
    killed: int = 0
    timed_out: int = 0
    equivalent: int = 0
    unchecked: int = 0  # no result: the run was cut short
    survivors: list[Mutant] = field(default_factory=list)
    untested: list[Mutant] = field(default_factory=list)
    other: list[tuple[Mutant, int | None]] = field(default_factory=list)
    seconds: float | None = None

    @property
    def real(self) -> int:
        """The mutants that count: checked, and not equivalent."""
        return self.total - self.equivalent - self.unchecked

    @property
    def caught(self) -> int:
        # A mutant that makes the tests hang is caught as surely as one that makes them fail.
        return self.killed + self.timed_out

    @property
    def survivor_names(self) -> list[str]:
        return [m.name for m in (*self.survivors, *self.untested)] + [m.name for m, _ in self.other]


def load_equivalents() -> list[dict[str, str]]:
    return tomllib.loads(EQUIVALENT_FILE.read_text()).get("equivalent", [])


def _is_listed(mutant: Mutant, equivalents: list[dict[str, str]]) -> bool:
    return any(
        e["file"] == mutant.file
        and e["function"] == mutant.function
        and e["original"] == mutant.original
        and e["mutant"] == mutant.mutated
        for e in equivalents
    )


@contextlib.contextmanager
def _inside(work: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(work)
    try:
        yield
    finally:
        os.chdir(before)


def _function_spans(source: Path) -> dict[str, tuple[int, int]]:
    spans: dict[str, tuple[int, int]] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                spans[prefix + child.name] = (child.lineno, child.end_lineno or child.lineno)
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")

    visit(ast.parse(source.read_text()), "")
    return spans


def _describe(name: str, file: str, work: Path, spans: dict[str, tuple[int, int]], lines: list[str]) -> Mutant:
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.utils.format_utils import orig_function_and_class_names_from_key

    with _inside(work):
        diff = get_diff_for_mutant(name, path=file)
    function, class_name = orig_function_and_class_names_from_key(name)
    function = f"{class_name}.{function}" if class_name else function
    body = diff.splitlines()[2:]
    original = "\n".join(line[1:].strip() for line in body if line.startswith("-"))
    mutated = "\n".join(line[1:].strip() for line in body if line.startswith("+"))
    start, end = spans.get(function, (1, len(lines)))
    first = original.splitlines()[0] if original else ""
    line = next((n for n in range(start, end + 1) if first and lines[n - 1].strip() == first), start)
    return Mutant(name=name, file=file, function=function, line=line, original=original, mutated=mutated)


def module_result(name: str, work: Path, seconds: float | None = None) -> ModuleResult:
    result = ModuleResult(name=name, seconds=seconds)
    equivalents = load_equivalents()
    for file in MODULES[name].sources:
        meta = work / "mutants" / (file + ".meta")
        if not meta.exists():
            continue
        source = work / file
        spans, lines = _function_spans(source), source.read_text().splitlines()
        for key, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            result.total += 1
            if code in KILLED:
                result.killed += 1
                continue
            if code in TIMEOUT:
                result.timed_out += 1
                continue
            if code is None:
                result.unchecked += 1
                continue
            mutant = _describe(key, file, work, spans, lines)
            if _is_listed(mutant, equivalents):
                result.equivalent += 1
            elif code in SURVIVED:
                result.survivors.append(mutant)
            elif code in NO_TESTS:
                result.untested.append(mutant)
            else:
                result.other.append((mutant, code))
    return result


def _rate(caught: int, real: int) -> str:
    return f"{100 * caught / real:.1f} %" if real else "–"


def _show(label: str, mutant: Mutant) -> None:
    print(f"  {label} {mutant.file}:{mutant.line} in {mutant.function}  ({mutant.name})")
    for before in mutant.original.splitlines():
        print(f"      - {before}")
    for after in mutant.mutated.splitlines():
        print(f"      + {after}")


def print_module(r: ModuleResult) -> None:
    took = f", {r.seconds / 60:.1f} min" if r.seconds is not None else ""
    print(
        f"{r.name}: {r.total} mutants, {r.killed} killed, {r.timed_out} timed out, {len(r.survivors)} survived, "
        f"{len(r.untested)} run by no test, {len(r.other)} other, {r.equivalent} equivalent"
        + (f", {r.unchecked} NOT CHECKED (run cut short)" if r.unchecked else "")
        + "; "
        f"kill rate {_rate(r.caught, r.real)} ({r.caught}/{r.real}){took}"
    )
    for mutant in r.survivors:
        _show("survived", mutant)
    for mutant in r.untested:
        _show("no test runs it", mutant)
    for mutant, code in r.other:
        _show(f"exit code {code}", mutant)


def print_total(results: list[ModuleResult]) -> None:
    caught, real = sum(r.caught for r in results), sum(r.real for r in results)
    equivalent, total = sum(r.equivalent for r in results), sum(r.total for r in results)
    seconds = [r.seconds for r in results if r.seconds is not None]
    took = f", {sum(seconds) / 60:.1f} min" if seconds else ""
    print(f"total: {total} mutants, {equivalent} equivalent; kill rate {_rate(caught, real)} ({caught}/{real}){took}")
