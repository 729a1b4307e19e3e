"""Every registered service is complete: spec, RBAC list, tests, and a place in the event filter."""
from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

from remediators import registry
from remediators.services.base import ServiceRemediator
from tests.remediation import RemediationContract

SERVICES = {type(s).__module__.rsplit(".", 1)[-1]: s for s in registry.SERVICES}


def test_every_service_module_is_registered():
    modules = {p.stem for p in (Path(registry.__file__).parent / "services").glob("*.py")}
    shared = {"__init__", "base", "common", "network_acls", "messaging"}
    assert modules - shared == set(SERVICES)


@pytest.mark.parametrize("module", sorted(SERVICES))
def test_spec_is_complete(module):
    spec = SERVICES[module].spec
    # A top-level type, or a child that is a resource of its own (an App Service slot, Policy judges it apart).
    assert (spec.resource_type.count("/") == 1 or spec.resource_type == "Microsoft.Web/sites/slots") \
        and spec.display_name
    assert spec.service_endpoint.startswith("Microsoft.")
    assert spec.private_link_groups
    for group in spec.private_link_groups:
        assert group.group_id and group.dns_zone.startswith("privatelink.")
    assert spec.operations and all(op.startswith(spec.resource_type + "/") for op in spec.operations)
    read = f"{spec.resource_type}/read"
    assert read in spec.rbac_actions and any(a.endswith("privateEndpointConnectionsApproval/action")
                                             for a in spec.rbac_actions)


@pytest.mark.parametrize("module", sorted(SERVICES))
def test_docstring_is_the_source_of_the_rbac_actions(module):
    service = SERVICES[module]
    doc = inspect.getdoc(type(service)) or ""
    for action in service.spec.rbac_actions:
        assert action in doc


@pytest.mark.parametrize("module", sorted(SERVICES))
def test_every_service_runs_the_remediation_contract(module):
    tests = importlib.import_module(f"tests.services.test_{module}")
    contracts = [c for _, c in inspect.getmembers(tests, inspect.isclass)
                 if issubclass(c, RemediationContract) and c is not RemediationContract]
    assert contracts, f"tests/services/test_{module}.py has no RemediationContract subclass"
    assert any(c.operation in SERVICES[module].spec.operations for c in contracts)


@pytest.mark.parametrize("module", sorted(SERVICES))
def test_every_service_is_in_the_event_filter(module):
    assert set(SERVICES[module].spec.operations) <= set(registry.event_filter_operations())


def test_event_filter_fits_event_grid_limits():
    # Event Grid allows 25 advanced-filter values per subscription in total.
    assert len(registry.event_filter_operations()) <= 25
    assert "Microsoft.Resources/tags/write" in registry.event_filter_operations()


def test_registered_services_are_remediators():
    assert all(isinstance(s, ServiceRemediator) for s in registry.SERVICES)
    assert len({s.spec.resource_type.lower() for s in registry.SERVICES}) == len(registry.SERVICES) == 8


def test_slot_writes_are_in_the_event_filter_and_reach_the_slot_not_its_site():
    """Issue 14 item 5: a slot's own writes (and its config's) re-evaluate the slot."""
    from remediators.events import triage

    ops = registry.event_filter_operations()
    assert {"Microsoft.Web/sites/slots/write", "Microsoft.Web/sites/slots/config/write"} <= set(ops)
    # Its connections live on the site (the endpoint targets the site): no slot connection operation.
    assert "Microsoft.Web/sites/slots/privateEndpointConnections/write" not in ops
    sub = "00000000-0000-0000-0000-0000000000aa"
    site = f"/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.Web/sites/app1"
    for subject, operation, target in (
            (f"{site}/slots/staging", "Microsoft.Web/sites/slots/write", f"{site}/slots/staging"),
            (f"{site}/slots/staging/config/web", "Microsoft.Web/sites/slots/config/write", f"{site}/slots/staging"),
            (f"{site}/slots/staging/providers/Microsoft.Resources/tags/default", "Microsoft.Resources/tags/write",
             f"{site}/slots/staging"),
            (f"{site}/config/web", "Microsoft.Web/sites/config/write", site)):
        event = {"eventType": "Microsoft.Resources.ResourceWriteSuccess", "subject": subject, "id": "e1",
                 "data": {"operationName": operation}}
        request = triage(event, frozenset({sub})).request
        assert request is not None and request.resource_id.lower() == target.lower(), subject
