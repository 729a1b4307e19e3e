"""Evaluate the few Bicep expressions main.bicep builds its app settings from, as a deployment would.

No Bicep CLI here (/work/shared/azure-facts.md), so this reads pycep's tree
(tests/infra/bicep_tree.py) and evaluates the subset the settings use: parameters (from
main.parameters.json after azd's ``${VAR=default}`` substitution), variables, string interpolation,
``cond ? a : b``, ``empty()``, ``subscription().subscriptionId``. A module output cannot be known
offline and evaluates to ``<module.outputs.name>``. Anything else raises, so a test never passes on
an expression this evaluator does not understand.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Mapping

from tests.infra import bicep_tree as bt

_PLACEHOLDER = re.compile(r"\$\{([A-Z0-9_]+)(?:=([^}]*))?\}")
_INTERPOLATION = re.compile(r"\$\{([^}]*)\}")


class Unsupported(AssertionError):
    """An expression outside the evaluated subset."""


def azd_parameters(parameters_file: Path, env: Mapping[str, str], declared: Mapping[str, Any]) -> dict[str, Any]:
    """main.parameters.json as azd passes it: ``${VAR}`` from the azd environment (``=default`` when unset,
    '' otherwise), converted to each parameter's declared type."""
    raw = json.loads(parameters_file.read_text(encoding="utf-8"))["parameters"]
    values: dict[str, Any] = {}
    for name, entry in raw.items():
        text = _PLACEHOLDER.sub(lambda m: env.get(m.group(1), m.group(2) or ""), entry["value"])
        kind = declared[name]["type"]
        values[name] = {"bool": lambda v: v == "true", "int": int}.get(kind, str)(text)
    return values


class Evaluator:
    def __init__(self, path: Path, parameters: Mapping[str, Any], *, subscription_id: str) -> None:
        tree = bt.parse(path)
        self._params = {n: parameters.get(n, p.get("default")) for n, p in tree.get("parameters", {}).items()}
        self._variables = {n: v["value"] for n, v in tree.get("variables", {}).items()}
        self._modules = set(tree.get("modules", {}))
        self._subscription_id = subscription_id

    def variable(self, name: str) -> Any:
        return self.eval(self._variables[name])

    def eval(self, node: Any) -> Any:  # noqa: PLR0911 - one branch per expression kind
        if isinstance(node, (bool, int)) or node is None:
            return node
        if isinstance(node, str):
            if node in self._params:
                return self._params[node]
            if node in self._variables:
                return self.variable(node)
            return _INTERPOLATION.sub(lambda m: str(self._eval_text(m.group(1).strip())), node)
        if isinstance(node, dict) and "operator" in node:
            op = node["operator"]
            operands = op["operands"]
            if op["type"] == "conditional":
                return self.eval(operands["true_value"] if self.eval(operands["condition"])
                                 else operands["false_value"])
            if op["type"] == "property_accessor":
                chain = bt.accessor_chain(node)
                if bt.call_property(node, "subscription", "subscriptionId"):
                    return self._subscription_id
                if chain and chain[0] in self._modules and chain[1] == "outputs":
                    return f"<{'.'.join(chain)}>"
        if isinstance(node, dict) and "function" in node:
            call = node["function"]
            if call["type"] == "empty":
                return not self.eval(next(iter(call["parameters"].values())))
        if isinstance(node, dict) and not {"operator", "function"} & set(node):
            return {bt.key(k): self.eval(v) for k, v in node.items()}
        raise Unsupported(f"not evaluated offline: {node!r}")

    def _eval_text(self, expression: str) -> Any:
        if expression == "subscription().subscriptionId":
            return self._subscription_id
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", expression):
            return self.eval(expression)
        raise Unsupported(f"not evaluated offline: ${{{expression}}}")
