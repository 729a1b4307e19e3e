"""Read infra/ as parsed Bicep trees (pycep), so the tests check structure rather than text.

pycep's tree does not tell a string literal from an identifier: ``name: 'default'`` and
``name: name`` both become ``"name"``-like strings. The helpers below resolve an identifier
only where the tests expect one (a variable, a parameter, a resource), and ``literal()``
asserts that a value the tests expect to be a literal is not a declared symbol.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from pycep import BicepParser

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
MAIN = INFRA / "main.bicep"


@lru_cache(maxsize=1)
def _parser() -> BicepParser:
    return BicepParser()


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


@lru_cache(maxsize=None)
def parse(path: Path) -> dict[str, Any]:
    return _parser().parse(text=path.read_text(encoding="utf-8"))


def rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


@dataclass(frozen=True)
class Resource:
    """One resource declaration, with loops and conditions unwrapped."""

    file: Path
    symbol: str
    type: str
    api_version: str
    existing: bool
    config: dict[str, Any]
    loop: dict[str, Any] | None
    condition: Any

    def __str__(self) -> str:
        return f"{rel(self.file)}:{self.symbol} ({self.type})"


@dataclass(frozen=True)
class Module:
    file: Path
    symbol: str
    path: Path
    config: dict[str, Any]
    loop: dict[str, Any] | None
    condition: Any

    @property
    def params(self) -> dict[str, Any]:
        return self.config.get("params", {})

    def __str__(self) -> str:
        return f"{rel(self.file)}:module {self.symbol}"


def unwrap(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None, Any]:
    """Strip the loop and condition wrappers pycep puts around a resource or module body."""
    loop = None
    condition = None
    while isinstance(config, dict) and "config" in config and ("loop_type" in config or "condition" in config):
        loop = loop or config.get("loop_type")
        condition = condition if condition is not None else config.get("condition")
        config = config["config"]
    return config, loop, condition


def resources(path: Path) -> list[Resource]:
    found = []
    for symbol, decl in parse(path).get("resources", {}).items():
        config, loop, condition = unwrap(decl["config"])
        found.append(Resource(path, symbol, decl["type"], decl["api_version"], decl["existing"],
                              config, loop, condition))
    return found


def all_resources(*, existing: bool | None = False) -> list[Resource]:
    return [r for f in bicep_files() for r in resources(f) if existing is None or r.existing == existing]


def resources_of_type(resource_type: str) -> list[Resource]:
    return [r for r in all_resources() if r.type.lower() == resource_type.lower()]


def modules(path: Path) -> list[Module]:
    found = []
    for symbol, decl in parse(path).get("modules", {}).items():
        config, loop, condition = unwrap(decl["config"])
        found.append(Module(path, symbol, (path.parent / decl["detail"]["path"]).resolve(), config, loop, condition))
    return found


def all_modules() -> list[Module]:
    return [m for f in bicep_files() for m in modules(f)]


def symbols(path: Path) -> set[str]:
    tree = parse(path)
    return {name for section in ("parameters", "variables", "resources", "modules", "types")
            for name in tree.get(section, {})}


def literal(path: Path, value: Any) -> Any:
    """``value`` as a literal: a string must not name a declared symbol of ``path``."""
    if isinstance(value, str):
        assert value not in symbols(path), f"{rel(path)}: expected a literal, found the symbol {value!r}"
    return value


def variable(path: Path, name: str) -> Any:
    variables = parse(path).get("variables", {})
    assert name in variables, f"{rel(path)}: no variable {name!r}"
    return variables[name]["value"]


def parameter(path: Path, name: str) -> dict[str, Any]:
    params = parse(path).get("parameters", {})
    assert name in params, f"{rel(path)}: no parameter {name!r}"
    return params[name]


def function(node: Any, kind: str | None = None) -> dict[str, Any] | None:
    """The function call ``node`` is (``{"function": {"type": ...}}``), if it is one of that kind."""
    if isinstance(node, dict) and isinstance(node.get("function"), dict):
        call = node["function"]
        if kind is None or call.get("type") == kind:
            return call
    return None


def json_loaded_by(path: Path, node: Any) -> tuple[Path, Any]:
    """Follow ``node`` (a variable name or a loadJsonContent() call) to the JSON file it loads."""
    if isinstance(node, str):
        node = variable(path, node)
    call = function(node, "load_json_content")
    assert call, f"{rel(path)}: expected loadJsonContent(...), found {node!r}"
    target = (path.parent / call["parameters"]["file_path"]).resolve()
    assert target.is_file(), f"{rel(path)}: loadJsonContent reads a missing file {target}"
    return target, json.loads(target.read_text(encoding="utf-8"))


def walk(node: Any) -> Iterator[Any]:
    """Every node of a tree, depth first."""
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def function_calls(node: Any) -> Iterator[dict[str, Any]]:
    for item in walk(node):
        call = function(item)
        if call:
            yield call


def accessor_chain(node: Any) -> list[Any] | None:
    """``a.b.c`` as ``['a', 'b', 'c']`` (pycep nests property accessors to the right)."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict) and isinstance(node.get("operator"), dict):
        op = node["operator"]
        if op.get("type") == "property_accessor":
            head = accessor_chain(op["operands"]["operand_1"])
            tail = accessor_chain(op["operands"]["operand_2"])
            if head is not None and tail is not None:
                return head + tail
    return None


def call_property(node: Any, function_type: str, prop: str) -> bool:
    """Whether ``node`` is ``fn().prop``, e.g. ``subscription().id`` (function type ``subscription``)."""
    if not (isinstance(node, dict) and isinstance(node.get("operator"), dict)):
        return False
    op = node["operator"]
    return (op.get("type") == "property_accessor" and function(op["operands"]["operand_1"], function_type) is not None
            and op["operands"]["operand_2"] == prop)


def key(name: str) -> str:
    """Object keys keep their quotes in pycep's tree when Bicep needs them ('azd-env-name')."""
    return name[1:-1] if len(name) >= 2 and name[0] == name[-1] == "'" else name


def keys(obj: dict[str, Any]) -> dict[str, Any]:
    return {key(k): v for k, v in obj.items()}


def decorator(decl: dict[str, Any], kind: str) -> Any:
    for deco in decl.get("decorators", []):
        if deco.get("type") == kind:
            return deco.get("argument")
    return None
