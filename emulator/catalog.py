"""The rules table: resource type (case-insensitive) -> :class:`~emulator.rules.Rule`.

Types not listed get a plain synchronous CRUD rule, so seeding/reading e.g. an NSG or a
route table that a subnet references just works.
"""

from __future__ import annotations

from . import network, paas, privatelink
from .rules import Rule

SUBSCRIPTION = Rule(
    type="Microsoft.Resources/subscriptions",
    provisioning_state=False,
    implicit=lambda store, path: {"subscriptionId": path.subscription, "displayName": path.subscription,
                                  "state": "Enabled"},
)
# Resource groups exist implicitly: tests need not create them (a PUT or seed stores one explicitly).
RESOURCE_GROUP = Rule(
    type="Microsoft.Resources/resourceGroups",
    tracked=True,
    implicit=lambda store, path: {"location": "westeurope", "properties": {"provisioningState": "Succeeded"}},
)

RULES: dict[str, Rule] = {
    r.type.lower(): r
    for r in (
        *network.RULES,
        *paas.RULES,
        *(privatelink.connection_rule(t) for t in privatelink.TARGETS.values()),
        SUBSCRIPTION,
        RESOURCE_GROUP,
    )
}
_GENERIC: dict[str, Rule] = {}


def rule_for(rtype: str) -> Rule:
    key = rtype.lower()
    rule = RULES.get(key)
    if rule is None:
        rule = _GENERIC.setdefault(key, Rule(type=rtype, provisioning_state=False))
    return rule


def canonical_type(rtype: str) -> str:
    return rule_for(rtype).type
