"""DESIGN.md, the core contract: ranet.core is pure. It imports no clock,
socket, thread, event loop, file system or global random source, directly or
through the ranet modules it uses; the simulator and the runtime inject those."""

from __future__ import annotations

import ast
from pathlib import Path

import ranet.core

FORBIDDEN = {
    "asyncio",
    "socket",
    "threading",
    "multiprocessing",
    "time",
    "os",
    "random",
    "selectors",
    "subprocess",
    "datetime",
    "io",
    "pathlib",
}
SRC = Path(ranet.core.__file__).resolve().parents[1]


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def module_path(name: str) -> Path | None:
    if not name.startswith("ranet"):
        return None
    relative = Path(*name.split(".")[1:])
    for candidate in (SRC / relative.with_suffix(".py"), SRC / relative / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def test_core_and_everything_it_imports_is_free_of_io() -> None:
    seen: set[Path] = set()
    pending = [*sorted((SRC / "core").glob("*.py"))]
    offenders = []
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imports_of(path):
            if name.split(".")[0] in FORBIDDEN:
                offenders.append(f"{path.relative_to(SRC)} imports {name}")
            nested = module_path(name)
            if nested is not None:
                pending.append(nested)
    assert not offenders, offenders
    assert SRC / "errors.py" in seen  # the walk really follows ranet imports


def test_the_purity_check_detects_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import time\nfrom os import path\nfrom ranet.core import log\n")
    assert {"time", "os", "ranet.core"} <= imports_of(sample)
