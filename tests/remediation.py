"""The contract every service's remediation tests run, through the real function code.

A service's test module subclasses :class:`RemediationContract`, says how to
seed one of its resources, and how to check the emulator's state after each
mode. The contract then proves, for that service: both modes end to end, the
order endpoint → DNS → public access off, idempotency (the event delivered
twice, plus every event our own writes raised, makes zero writes), the tag
write path, dry run, opt-out, untagged and unknown tag values.
"""
from __future__ import annotations

from typing import Any, Mapping


from emulator import Emulator
from emulator.events import write_event
from localdev.host import LocalHost
from localdev.landing_zone import LandingZone

TAGS_SUFFIX = "/providers/Microsoft.Resources/tags/default"


def outcomes(emu: Emulator) -> list[dict[str, Any]]:
    """The data of every notification published so far."""
    return [n["data"] for n in emu.notifications]


def deliver(host: LocalHost, emu: Emulator, resource_id: str, operation: str) -> dict[str, Any]:
    """One write event through trigger → queue → worker; returns the published outcome.

    When the outcome is ``hardened``, the event is delivered again together with
    every event our writes raised, and nothing more may be written: so every
    remediation test proves idempotency, whether it says so or not.
    """
    before = len(emu.notifications)
    assert host.deliver(write_event(resource_id, operation)) is not None, "the trigger dropped the event"
    host.run_queue()
    published = outcomes(emu)[before:]
    assert published, "no outcome was published"
    outcome = published[-1]
    if outcome["status"] == "hardened":
        _assert_second_pass_writes_nothing(host, emu, resource_id, operation)
    return outcome


def _assert_second_pass_writes_nothing(host: LocalHost, emu: Emulator, resource_id: str, operation: str) -> None:
    written = len(emu.writes())
    for event in [write_event(resource_id, operation), *emu.drain_events()]:
        host.deliver(event)
    host.run_queue()
    again = [f"{r.method} {r.path}" for r in emu.writes()[written:]]
    assert again == [], f"a second delivery wrote again: {again}"
    assert emu.drain_events() == []


def settle(host: LocalHost, emu: Emulator, resource_id: str, operation: str) -> list[dict[str, Any]]:
    """Redeliver the event and every event our writes raised; assert nothing more is written.

    Returns the outcomes of that second pass; the request log then holds only its calls.
    """
    emu.clear_requests()
    before = len(emu.notifications)
    _assert_second_pass_writes_nothing(host, emu, resource_id, operation)
    return outcomes(emu)[before:]


def subnet_without(body: Mapping[str, Any], *volatile: str) -> dict[str, Any]:
    props = {k: v for k, v in body["properties"].items() if k not in volatile}
    return {"id": body["id"], "properties": props}


class RemediationContract:
    """Subclass per service: set ``operation``; implement ``seed`` and the ``check_*`` hooks."""

    operation: str
    #: groups a private resource of this seed gets endpoints for
    groups: tuple[str, ...]
    zones: tuple[str, ...]

    def seed(self, emu: Emulator, lz: LandingZone, name: str, tags: Mapping[str, str] | None) -> str:
        raise NotImplementedError

    def check_private(self, emu: Emulator, lz: LandingZone, resource_id: str) -> None:
        raise NotImplementedError

    def check_service_endpoint(self, emu: Emulator, lz: LandingZone, resource_id: str) -> None:
        raise NotImplementedError

    def check_untouched(self, emu: Emulator, resource_id: str, before: Mapping[str, Any]) -> None:
        after = emu.get(resource_id)
        assert after["properties"] == before["properties"]

    service_endpoint: str

    def endpoint_name(self, resource_id: str, group: str) -> str:
        """Our endpoint's name for ``group`` (an App Service slot's is named after its site)."""
        return f"pe-{resource_id.rsplit('/', 1)[-1]}-{group.lower()}"

    def link_target(self, resource_id: str) -> str:
        """What our endpoints' ``privateLinkServiceId`` names (a slot's: its site)."""
        return resource_id

    # -- the contract -------------------------------------------------------

    def test_private_creates_endpoint_then_dns_then_closes_public_access(self, host, emulator, lz):
        # Operations take (scaled) time, so the order below is checked against when each one finished.
        emulator.timing.scale = 0.001
        rid = self.seed(emulator, lz, self.name("priv"), {"harden": "private"})
        outcome = deliver(host, emulator, rid, self.operation)
        assert outcome["status"] == "hardened", outcome
        assert outcome["tag"] == {"harden": "private"}

        for group in self.groups:
            pe = emulator.get(f"{lz.rg_id(lz.network_rg)}/providers/Microsoft.Network/privateEndpoints/"
                              f"{self.endpoint_name(rid, group)}")
            assert pe is not None, f"no private endpoint for {group}"
            connection = pe["properties"]["privateLinkServiceConnections"][0]["properties"]
            assert connection["groupIds"] == [group]
            assert connection["privateLinkServiceId"].lower() == self.link_target(rid).lower()
            assert pe["properties"]["subnet"]["id"].lower() == lz.endpoint_subnet_id.lower()
        for zone in self.zones:
            zone_id = f"{lz.rg_id(lz.dns_rg)}/providers/Microsoft.Network/privateDnsZones/{zone}"
            assert emulator.get(zone_id)["location"] == "global"
        self.check_private(emulator, lz, rid)

        # DNS → endpoint → zone group → the resource's own lockdown, each step started only once
        # everything it needs had finished (long-running operations included).
        writes = [r for r in emulator.writes() if r.status < 400]
        dns = [r for r in writes if r.resource_type.startswith("Microsoft.Network/privateDnsZones")]
        endpoints = [r for r in writes if r.resource_type == "Microsoft.Network/privateEndpoints"]
        groups = [r for r in writes if r.resource_type == "Microsoft.Network/privateEndpoints/privateDnsZoneGroups"]
        own = [r for r in writes if not r.resource_type.startswith("Microsoft.Network/")]
        assert endpoints and groups and own
        assert max((r.completed_at for r in dns), default=0) <= min(r.started_at for r in endpoints)
        for group in groups:
            endpoint = [r for r in endpoints if group.path.lower().startswith(r.path.lower() + "/")]
            assert all(r.completed_at <= group.started_at for r in endpoint), (group.path, endpoint)
        assert max(r.completed_at for r in groups) <= min(r.started_at for r in own)
        changes = outcome["changes"]
        assert len(changes) == len(emulator.writes()), "every write is reported, and nothing else"

        second = settle(host, emulator, rid, self.operation)
        assert {o["reasonCode"] for o in second if o["resourceId"].lower() == rid.lower()} == {"already-compliant"}

    def test_service_endpoint_allows_subnets_denies_the_rest_and_keeps_the_subnet(self, host, emulator, lz):
        rid = self.seed(emulator, lz, self.name("se"), {"harden": "service-endpoint"})
        subnet_before = emulator.get(lz.workload_subnet_id)
        outcome = deliver(host, emulator, rid, self.operation)
        assert outcome["status"] == "hardened", outcome

        subnet_after = emulator.get(lz.workload_subnet_id)
        services = [e["service"] for e in subnet_after["properties"]["serviceEndpoints"]]
        assert services == [*(e["service"] for e in subnet_before["properties"]["serviceEndpoints"]),
                            self.service_endpoint] or self.service_endpoint in [
                                e["service"] for e in subnet_before["properties"]["serviceEndpoints"]]
        volatile = ("serviceEndpoints", "provisioningState", "ipConfigurations")
        assert subnet_without(subnet_after, *volatile) == subnet_without(subnet_before, *volatile)
        self.check_service_endpoint(emulator, lz, rid)

        settle(host, emulator, rid, self.operation)

    def test_tag_write_triggers_hardening(self, host, emulator, lz):
        rid = self.seed(emulator, lz, self.name("tag"), {"Harden": "Service-Endpoint"})
        outcome = deliver(host, emulator, rid + TAGS_SUFFIX, "Microsoft.Resources/tags/write")
        assert outcome["status"] == "hardened", outcome
        assert outcome["resourceId"].lower() == rid.lower()

    def test_off_is_never_touched(self, host, emulator, lz):
        rid = self.seed(emulator, lz, self.name("off"), {"harden": "OFF"})
        before = emulator.get(rid)
        emulator.clear_requests()
        outcome = deliver(host, emulator, rid, self.operation)
        assert (outcome["status"], outcome["reasonCode"]) == ("skipped", "opted-out")
        assert emulator.writes() == []
        self.check_untouched(emulator, rid, before)

    def test_untagged_public_resource_is_reported_not_changed(self, host, emulator, lz):
        rid = self.seed(emulator, lz, self.name("untagged"), None)
        emulator.clear_requests()
        outcome = deliver(host, emulator, rid, self.operation)
        assert (outcome["status"], outcome["reasonCode"]) == ("skipped", "untagged-public")
        assert "harden=private" in outcome["reason"]
        assert emulator.writes() == []

    def test_unknown_tag_value_is_an_error_naming_the_allowed_values(self, host, emulator, lz):
        rid = self.seed(emulator, lz, self.name("typo"), {"harden": "privat"})
        emulator.clear_requests()
        outcome = deliver(host, emulator, rid, self.operation)
        assert (outcome["status"], outcome["reasonCode"]) == ("failed", "unknown-tag-value")
        assert "private, service-endpoint, off" in outcome["reason"]
        assert emulator.writes() == []

    def test_dry_run_plans_and_writes_nothing(self, host, emulator, lz, monkeypatch):
        monkeypatch.setenv("HARDEN_DRY_RUN", "true")
        rid = self.seed(emulator, lz, self.name("dry"), {"harden": "private"})
        emulator.clear_requests()
        outcome = deliver(host, emulator, rid, self.operation)
        assert outcome["status"] == "planned", outcome
        assert outcome["changes"], "a dry run lists what it would change"
        assert emulator.writes() == []

    def name(self, suffix: str) -> str:
        stem = type(self).__name__.removeprefix("Test").lower()[:8]
        return f"{stem}{suffix}01"
