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
    assert spec.resource_type.count("/") == 1 and spec.display_name
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
    assert len({s.spec.resource_type.lower() for s in registry.SERVICES}) == len(registry.SERVICES) == 7
