"""The remediation contract plus the checks Service Bus and Event Hubs share.

Both keep their firewall in ``networkRuleSets/default`` and their public switch
in two places; only the provider, the tiers and the service endpoint differ.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from emulator import Emulator
from localdev.landing_zone import LandingZone
from tests.remediation import RemediationContract, deliver

IP_RULES = [{"ipMask": "203.0.113.0/24", "action": "Allow"}, {"ipMask": "198.51.100.7", "action": "Allow"}]


def rule_set_of(emu: Emulator, rid: str) -> Mapping[str, Any]:
    return emu.get(f"{rid}/networkRuleSets/default")["properties"]


def calls(emu: Emulator) -> list[tuple[str, str]]:
    return [(r.method, r.path.lower()) for r in emu.arm_calls()]


class MessagingContract(RemediationContract):
    """Subclass per provider: set the attributes below (and ``operation``, ``service_endpoint``)."""

    seed_namespace: Callable[..., str]  # a staticmethod
    supported_tier: str
    unsupported_tiers: tuple[str, ...]
    unsupported_reason: str
    groups = ("namespace",)
    zones = ("privatelink.servicebus.windows.net",)

    def seed(self, emu, lz: LandingZone, name: str, tags: Mapping[str, str] | None, **kwargs: Any) -> str:
        kwargs.setdefault("tier", self.supported_tier)
        return type(self).seed_namespace(emu, lz, f"ns-{name}", tags=tags, **kwargs)

    def check_private(self, emu, lz, rid):
        namespace = emu.get(rid)["properties"]
        assert namespace["publicNetworkAccess"] == "Disabled"
        assert rule_set_of(emu, rid)["publicNetworkAccess"] == "Disabled"
        endpoints = [c["properties"]["privateEndpoint"]["id"] for c in namespace["privateEndpointConnections"]]
        assert any(e.endswith("-theirs") for e in endpoints), "someone else's private endpoint is kept"

    def check_service_endpoint(self, emu, lz, rid):
        rule_set = rule_set_of(emu, rid)
        assert rule_set["defaultAction"] == "Deny"
        assert rule_set["virtualNetworkRules"] == [
            {"subnet": {"id": lz.workload_subnet_id}, "ignoreMissingVnetServiceEndpoint": False}]
        assert rule_set["publicNetworkAccess"] == "Enabled"
        assert emu.get(rid)["properties"]["publicNetworkAccess"] == "Enabled"

    # -- shared extras -------------------------------------------------------------

    def test_tiers_without_network_features_are_unsupported_and_untouched(self, host, emulator, lz):
        for tier in self.unsupported_tiers:
            for mode in ("private", "service-endpoint"):
                rid = self.seed(emulator, lz, self.name(f"{tier[:3]}{mode[:2]}".lower()), {"harden": mode}, tier=tier)
                emulator.clear_requests()
                outcome = deliver(host, emulator, rid, self.operation)
                assert (outcome["status"], outcome["reasonCode"]) == ("unsupported", "unsupported"), outcome
                assert self.unsupported_reason in outcome["reason"]
                assert "harden=off" in outcome["reason"], "the reason names the way out"
                assert emulator.writes() == []
                assert calls(emulator) == [("GET", rid.lower())], "the namespace GET alone decides"

    def test_ip_rules_and_trusted_service_access_are_kept(self, host, emulator, lz):
        for mode in ("service-endpoint", "private"):
            rid = self.seed(emulator, lz, self.name(f"keep{mode[:2]}"), {"harden": mode}, rule_set={
                "defaultAction": "Allow", "ipRules": IP_RULES, "trustedServiceAccessEnabled": True,
                "virtualNetworkRules": [], "publicNetworkAccess": "Enabled"})
            outcome = deliver(host, emulator, rid, self.operation)
            assert outcome["status"] == "hardened", outcome
            rule_set = rule_set_of(emulator, rid)
            assert rule_set["ipRules"] == IP_RULES
            assert rule_set["trustedServiceAccessEnabled"] is True
            if mode == "private":
                assert rule_set["defaultAction"] == "Allow", "private mode only turns the public switches off"
                assert rule_set["virtualNetworkRules"] == []

    def test_existing_vnet_rules_are_kept_and_only_missing_subnets_added(self, host, emulator, lz):
        theirs = {"subnet": {"id": lz.endpoint_subnet_id}, "ignoreMissingVnetServiceEndpoint": True}
        rid = self.seed(emulator, lz, self.name("vnetkeep"), {"harden": "service-endpoint"},
                        rule_set={"defaultAction": "Deny", "ipRules": [], "virtualNetworkRules": [theirs]})
        outcome = deliver(host, emulator, rid, self.operation)
        assert outcome["status"] == "hardened", outcome
        assert rule_set_of(emulator, rid)["virtualNetworkRules"] == [
            theirs, {"subnet": {"id": lz.workload_subnet_id}, "ignoreMissingVnetServiceEndpoint": False}]

    def test_compliant_check_reads_the_namespace_and_its_rule_set_only(self, host, emulator, lz):
        for mode in ("private", "service-endpoint"):
            rid = self.seed(emulator, lz, self.name(f"gets{mode[:2]}"), {"harden": mode})
            assert deliver(host, emulator, rid, self.operation)["status"] == "hardened"
            emulator.clear_requests()
            outcome = deliver(host, emulator, rid, self.operation)
            assert outcome["reasonCode"] == "already-compliant", outcome
            assert calls(emulator) == [("GET", rid.lower()), ("GET", f"{rid}/networkRuleSets/default".lower())]

    def test_off_and_untagged_reads(self, host, emulator, lz):
        off = self.seed(emulator, lz, self.name("offgets"), {"harden": "off"})
        emulator.clear_requests()
        deliver(host, emulator, off, self.operation)
        assert calls(emulator) == [("GET", off.lower())]

        firewalled = self.seed(emulator, lz, self.name("fwall"), None, rule_set={
            "defaultAction": "Deny", "ipRules": IP_RULES, "virtualNetworkRules": []})
        emulator.clear_requests()
        outcome = deliver(host, emulator, firewalled, self.operation)
        assert outcome["reasonCode"] == "untagged", "a namespace whose firewall denies is not reported as open"
        assert calls(emulator) == [("GET", firewalled.lower()),
                                   ("GET", f"{firewalled}/networkRuleSets/default".lower())]

    def test_deny_without_rules_is_still_open(self, host, emulator, lz):
        # "If there are no IP and virtual network rules, the namespace can be accessed over the public internet."
        rid = self.seed(emulator, lz, self.name("denynone"), None,
                        rule_set={"defaultAction": "Deny", "ipRules": [], "virtualNetworkRules": []})
        outcome = deliver(host, emulator, rid, self.operation)
        assert outcome["reasonCode"] == "untagged-public"

    def test_namespace_update_answered_202_without_a_body_still_hardens(self, host, emulator, lz):
        # Namespaces_Update documents a bodiless 202 (accepted); the generated client would
        # try to decode it, so the remediator reads only the status.
        from emulator import Fault

        rid = self.seed(emulator, lz, self.name("acc"), {"harden": "private"})
        fault = emulator.faults.add(Fault(method="PATCH", path_contains=rid.rsplit("/", 1)[-1], status=202))
        outcome = deliver(host, emulator, rid, self.operation)
        assert fault.hits == 1
        assert outcome["status"] == "hardened", outcome
        assert emulator.get(rid)["properties"]["publicNetworkAccess"] == "Disabled"
