"""The SDK versions the tests ran are the ones that deploy (issue 7, "Dependencies").

Older azure-mgmt-* models behave differently (``Vault.as_dict()`` keys, a ``Subnet`` that
is not subscriptable), which would silently drop rules the remediators write back whole.
So requirements.txt is an exact lock (compiled from requirements.in by ``make lock``) that
the deployment installs, and the installed packages must not be older than it.
"""
from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ("requirements.txt", "requirements-dev.txt", "requirements-checkov.txt")


def pins(lock: str) -> dict[str, tuple[Requirement, int]]:
    """``name → (requirement, line number)`` for every requirement line of a lock."""
    found: dict[str, tuple[Requirement, int]] = {}
    for number, line in enumerate((ROOT / lock).read_text().splitlines(), 1):
        text = line.split(" #", 1)[0].strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith("-"):
            pytest.fail(f"{lock}:{number}: {text!r}: a lock lists packages only (edit the .in file, then make lock)")
        req = Requirement(text)
        found[canonicalize_name(req.name)] = (req, number)
    return found


def pinned_version(req: Requirement) -> Version | None:
    specs = list(req.specifier)
    return Version(specs[0].version) if len(specs) == 1 and specs[0].operator == "==" else None


@pytest.mark.parametrize("lock", LOCKS)
def test_every_requirement_is_pinned_exactly_by_the_compiler(lock):
    lines = (ROOT / lock).read_text().splitlines()
    assert "make lock" in "\n".join(lines[:3]), f"{lock} is not the output of `make lock`"
    for name, (req, number) in pins(lock).items():
        assert pinned_version(req) is not None, f"{lock}:{number}: {req} is not an exact pin (==)"
        # Every pin the compiler wrote says where it comes from; a hand-added line does not.
        following = lines[number] if number < len(lines) else ""
        assert re.match(r"\s+# via", following), (
            f"{lock}:{number}: {name} was added by hand: add it to the matching .in file and run `make lock`")


def test_the_dev_lock_tests_exactly_what_deploys():
    runtime, dev = pins("requirements.txt"), pins("requirements-dev.txt")
    different = {name: (str(req), str(dev.get(name, (None,))[0])) for name, (req, _) in runtime.items()
                 if name not in dev or str(dev[name][0].specifier) != str(req.specifier)}
    assert not different, f"requirements-dev.txt does not pin the runtime as requirements.txt does: {different}"


def test_the_lock_satisfies_the_declared_ranges():
    runtime = pins("requirements.txt")
    for source, lock in (("requirements.in", runtime), ("requirements-dev.in", pins("requirements-dev.txt"))):
        for line in (ROOT / source).read_text().splitlines():
            text = line.split("#", 1)[0].strip()
            if not text or text.startswith("-"):
                continue
            req = Requirement(text)
            name = canonicalize_name(req.name)
            assert name in lock, f"{source}: {req.name} is missing from its lock: run `make lock`"
            assert req.specifier.contains(pinned_version(lock[name][0]), prereleases=True), (
                f"{source}: {req} is not satisfied by the lock's {lock[name][0]}: run `make lock`")


def test_installed_packages_are_not_older_than_the_lock():
    too_old, missing = [], []
    for name, (req, _) in pins("requirements-dev.txt").items():
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            missing.append(str(req))
            continue
        if installed < pinned_version(req):
            too_old.append(f"{name} {installed} < {pinned_version(req)}")
    assert not missing, f"not installed (run make setup): {missing}"
    assert not too_old, f"installed older than the lock (run make setup): {too_old}"
