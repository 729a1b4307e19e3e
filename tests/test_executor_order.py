"""Which ready change the executor starts first (issue 13 item 5): open DNS gaps first, then the critical path."""
from __future__ import annotations

from remediators.executor import execute, remaining_chain
from remediators.model import Change, Phase
from remediators.plan import link


def _plan(started: list[str]) -> list[Change]:
    """An RA-GRS-like account: one zone, three endpoints, a zone group each, then public access off."""
    def change(phase: Phase, target: str, needs: tuple[str, ...] = ()) -> Change:
        return Change(phase=phase, target=target, summary=target, before=None, after=None, key=target,
                      needs=frozenset(needs), apply=lambda: started.append(target))

    changes = [change(Phase.PRIVATE_DNS_ZONE, "zone")]
    for group in ("blob", "blob_secondary", "file"):
        changes.append(change(Phase.PRIVATE_ENDPOINT, f"pe-{group}", ("zone",)))
        changes.append(change(Phase.PRIVATE_DNS_ZONE_GROUP, f"zg-{group}", (f"pe-{group}",)))
    changes.append(change(Phase.PUBLIC_ACCESS, "public-access-off"))
    return link(changes)


def test_one_at_a_time_a_zone_group_goes_before_the_next_endpoint():
    started: list[str] = []
    execution = execute(_plan(started), max_parallel=1)
    assert execution.complete
    # Each endpoint's name stops resolving publicly the moment it exists: its record comes next.
    assert started == ["zone", "pe-blob", "zg-blob", "pe-blob_secondary", "zg-blob_secondary", "pe-file", "zg-file",
                       "public-access-off"]


def test_the_longest_remaining_chain_starts_first():
    started: list[str] = []

    def change(phase: Phase, key: str, needs: tuple[str, ...] = ()) -> Change:
        return Change(phase=phase, target=key, summary=key, before=None, after=None, key=key, needs=frozenset(needs),
                      apply=lambda: started.append(key))

    # Planner order puts the short branches first; the subnet → VNet rule chain is the longer one.
    plan = link([change(Phase.FIREWALL_RULES, "ip-rules"),
                 change(Phase.PRIVATE_DNS_ZONE, "zone"),
                 change(Phase.PRIVATE_ENDPOINT, "pe", ("zone",)),
                 change(Phase.SUBNET_SERVICE_ENDPOINT, "subnet")])
    chain = remaining_chain(plan)
    assert chain["zone"] > chain["subnet"] > chain["ip-rules"]
    execute(plan, max_parallel=1)
    assert started[0] == "zone"
