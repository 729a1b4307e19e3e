"""Deterministic fault simulation (issue 13 item 8): a seeded sample in the suite; benchmarks/simulate.py runs all.

Each case injects one fault class at one step of one service's plan (tests/simulation.py explains the
steps, the fault classes and the invariants), delivers until quiet and judges the invariants. The sample
holds every fault class at every kind of step, in both modes, with the service drawn by a fixed seed.

Cases that fail today because of a known issue-13 bug are ``xfail(strict=True)`` with the item they
wait for: when the fix lands they XPASS, the suite goes red, and the mark is removed. ``known_failure``
is the one statement of which cases those are; benchmarks/simulate.py checks the full matrix against it.
"""
from __future__ import annotations

import random
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest

from localdev.landing_zone import seed_network
from remediators.cloud import forget_clouds
from remediators.runtime import engine_for
from remediators.throttle import forget_budgets
from tests.simulation import (FAULTS, MODES, READ_FAULTS, SERVICES, Baseline, KillSwitch, PublicAccessWatch, Simulator, Step,
                              Verdict, applies, dns_problems, print_figures)

SEED = 13


def known_failure(service: str, mode: str, baseline: Baseline, step: Step, fault: str) -> str | None:
    """The known issue-13 bug that makes this case fail today, or None when it must pass.

    None left: the last one (a Cosmos DB account's own write ending Failed) is fixed by
    ``ResourceState.own_write_failed``. A new known failure goes here, with its issue.
    """
    return None


# -- the seeded sample ------------------------------------------------------------------------------------

KINDS = {"private": ("dns-zone", "vnet-link", "endpoint", "zone-group", "resource"),
         "service-endpoint": ("subnet", "resource")}
# Plans without a kind of step (SQL's virtual network rule needs no subnet write: the subnet has Microsoft.Sql),
# and resource writes that are not long-running (they cannot end Failed later).
_NO_STEP = {("sql", "service-endpoint", "subnet")}
_LONG_RUNNING_RESOURCE_WRITE = {"private": {"sql", "cosmosdb"}, "service-endpoint": {"cosmosdb"}}
# The suite's step of a kind is its first write, except ``resource``: its last write, the one that closes access.


def _suite_cases() -> list[Any]:
    rng = random.Random(SEED)
    params = []
    for fault in FAULTS:
        for mode in MODES:
            for kind in KINDS[mode]:
                services = sorted(s for s in SERVICES if (s, mode, kind) not in _NO_STEP
                                  and (fault != "operation-failed" or kind != "resource"
                                       or s in _LONG_RUNNING_RESOURCE_WRITE[mode]))
                service = rng.choice(services)
                reason = _static_known_failure(service, mode, kind, fault)
                marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                params.append(pytest.param(service, mode, kind, fault, marks=marks,
                                           id=f"{service}-{mode}-{kind}-{fault}"))
    return params


def _static_known_failure(service: str, mode: str, kind: str, fault: str) -> str | None:
    """:func:`known_failure` for the suite's steps, decidable before any baseline ran (checked against it)."""
    return None


def suite_step(baseline: Baseline, kind: str) -> Step:
    steps = [s for s in baseline.steps if s.kind == kind]
    assert steps, f"the plan has no {kind} step: {[s.label for s in baseline.steps]}"
    return steps[-1] if kind == "resource" else steps[0]


# -- fixtures ----------------------------------------------------------------------------------------------

_baselines: dict[tuple[str, str], Baseline] = {}
_tally = {"runs": 0, "checks": 0}


@pytest.fixture(scope="module", autouse=True)
def report_figures(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if _tally["runs"]:
        print_figures(request.config, [f"fault simulation (seed {SEED}): {_tally['runs']} runs, "
                                       f"{_tally['checks']} invariant checks"])


@pytest.fixture
def simulator(host, emulator, lz, monkeypatch) -> Simulator:
    kill = KillSwitch(urlsplit(emulator.url).netloc)
    kill.install(monkeypatch.setattr)
    # A healthy delivery against the instant emulator never goes seconds without an ARM request.
    return Simulator(host, emulator, lz, kill, stall_after_s=3.0, deadline_s=60.0)


def _reset_world(sim: Simulator) -> None:
    """What the ``lz`` and ``host`` fixtures did before the test, again (the same landing zone and settings)."""
    sim.emu.reset()
    forget_clouds()
    forget_budgets()
    engine_for.cache_clear()
    sim.lz = seed_network(sim.emu)
    sim.host.clear()


def baseline_of(sim: Simulator, service: str, mode: str) -> Baseline:
    if (service, mode) not in _baselines:
        _baselines[(service, mode)] = sim.baseline(service, mode)
        _reset_world(sim)
    return _baselines[(service, mode)]


# -- tests -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("service", "mode", "kind", "fault"), _suite_cases())
def test_a_fault_at_any_step_keeps_the_invariants(simulator, service, mode, kind, fault):
    baseline = baseline_of(simulator, service, mode)
    step = suite_step(baseline, kind)
    assert applies(fault, step), f"{fault} cannot happen at {step.label}"
    assert known_failure(service, mode, baseline, step, fault) == _static_known_failure(service, mode, kind, fault), \
        "the suite's marks disagree with known_failure: update _static_known_failure"
    verdict = simulator.run_case(service, mode, baseline, step, fault)
    _tally["runs"] += simulator.runs
    _tally["checks"] += simulator.checks
    assert verdict.ok, verdict.summary()


@pytest.mark.parametrize("fault", READ_FAULTS)
def test_a_fault_at_the_first_read_keeps_the_invariants(simulator, fault):
    baseline = baseline_of(simulator, "keyvault", "private")
    verdict = simulator.run_case("keyvault", "private", baseline, baseline.read, fault)
    _tally["runs"] += simulator.runs
    _tally["checks"] += simulator.checks
    assert verdict.ok, verdict.summary()


def test_without_faults_every_plan_holds_the_invariants_and_has_the_steps_the_sample_names(simulator):
    """The baselines themselves: every kind the sample injects at exists, and a clean run passes every check."""
    for service in SERVICES:
        for mode in MODES:
            baseline = baseline_of(simulator, service, mode)
            for kind in KINDS[mode]:
                assert (service, mode, kind) in _NO_STEP or baseline.first(kind) is not None, (service, mode, kind)
            assert suite_step(baseline, "resource").lro == (service in _LONG_RUNNING_RESOURCE_WRITE[mode]), \
                (service, mode, [s.label for s in baseline.steps])
            # The marks decided before any baseline ran agree with known_failure, whatever the seed draws.
            for kind in KINDS[mode]:
                if (service, mode, kind) in _NO_STEP:
                    continue
                step = suite_step(baseline, kind)
                for fault in FAULTS:
                    if applies(fault, step):
                        assert known_failure(service, mode, baseline, step, fault) == \
                            _static_known_failure(service, mode, kind, fault), (service, mode, kind, fault)


def test_the_judge_sees_public_access_closed_before_the_endpoint_is_ready(simulator):
    """A check that cannot fail is a defect: public access off while the endpoint is missing, then Failed."""
    baseline = baseline_of(simulator, "keyvault", "private")
    rid = simulator.seed("keyvault", "private", "sim01")
    vault = simulator.emu.get(rid)
    simulator.emu.seed(rid, {**vault, "properties": {**vault["properties"], "publicNetworkAccess": "Disabled"}})
    verdict = Verdict("keyvault", "private", "-", "by hand")
    PublicAccessWatch(verdict, baseline)(simulator.emu, "PATCH", rid, 200)
    assert verdict.failed("public-access-last") and "missing" in verdict.violations[0], verdict.violations
    (endpoint, zones), = baseline.endpoints.items()
    assert dns_problems(simulator.emu, endpoint, zones), "no endpoint, so no DNS registration"
