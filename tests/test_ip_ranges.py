"""HARDEN_ALLOWED_IP_RANGES: what it takes, what it refuses at start-up and why (remediators/ip_ranges.py)."""
from __future__ import annotations

import pytest

from remediators.ip_ranges import canonical, canonical_bounds, parse_allowed_ip_ranges
from remediators.settings import Settings, SettingsError

SUB = "8f3c2a71-5b6d-4e0f-9a1b-2c3d4e5f6a7b"


def _settings(ranges: str) -> Settings:
    return Settings.from_env({"HARDEN_SUBSCRIPTION_IDS": SUB, "HARDEN_ALLOWED_IP_RANGES": ranges})


def test_comma_or_space_separated_normalised_and_deduplicated():
    assert _settings(" 20.30.40.0/24,52.1.2.3/32  52.1.2.3\n13.64.0.0/16 ").allowed_ip_ranges == (
        "20.30.40.0/24", "52.1.2.3", "13.64.0.0/16")
    assert _settings("").allowed_ip_ranges == ()


@pytest.mark.parametrize("value, says", [
    ("2001:db8::/32", "IPv6"),                       # Storage, Key Vault, Cosmos DB, SQL, messaging: IPv4 only
    ("10.1.0.0/16", "10.0.0.0/8"),                   # RFC 1918: Storage, Key Vault, Cosmos DB
    ("172.20.1.1", "172.16.0.0/12"),
    ("192.168.10.0/24", "192.168.0.0/16"),
    ("100.64.5.0/24", "100.64.0.0/10"),              # Cosmos DB's IpAddressOrRange
    ("8.0.0.0/6", "10.0.0.0/8"),                     # a public-looking range that contains a private one
    ("0.0.0.0", "0.0.0.0/8"),                        # "all of Azure" to Cosmos DB and SQL
    ("0.0.0.0/0", "not a public internet range"),
    ("127.0.0.1", "127.0.0.0/8"),
    ("20.30.40.5/24", "did you mean 20.30.40.0/24"),  # host bits set
    ("52.1.2.2/31", "list 52.1.2.2, 52.1.2.3 instead"),  # Storage: no /31
    ("office", "not an IPv4 address"),
    ("52.1.2.300", "not an IPv4 address"),
])
def test_a_range_any_service_refuses_is_a_start_up_error_naming_the_setting(value, says):
    with pytest.raises(SettingsError) as caught:
        _settings(f"20.30.40.0/24, {value}")
    assert "HARDEN_ALLOWED_IP_RANGES" in str(caught.value) and value in str(caught.value)
    assert says in str(caught.value)


def test_rule_values_as_services_echo_them_compare_equal():
    assert canonical("52.1.2.3/32") == canonical("52.1.2.3") == "52.1.2.3"      # Key Vault's echo, App Service CIDR
    assert canonical("20.30.40.0/24") == "20.30.40.0/24"
    assert canonical("AzureCloud") is None and canonical("Any") is None         # App Service service tags
    assert canonical_bounds("20.30.40.0", "20.30.40.255") == "20.30.40.0/24"    # SQL start/end
    assert canonical_bounds("52.1.2.3", "52.1.2.3") == "52.1.2.3"
    assert canonical_bounds("20.30.40.1", "20.30.40.9") == "20.30.40.1-20.30.40.9"  # never equals a configured range
    assert parse_allowed_ip_ranges("52.1.2.3/32") == ("52.1.2.3",)


def test_the_cli_refuses_to_start_with_a_bad_range_and_names_its_flag():
    import io

    from remediators import cli

    err = io.StringIO()
    code = cli.main(["scan", "--subscription", SUB, "--allowed-ip-ranges", "10.0.0.0/8"], environ={"HARDEN_SUBSCRIPTION_IDS": SUB},
                    stdout=io.StringIO(), stderr=err)
    assert code != 0
    assert "--allowed-ip-ranges" in err.getvalue() and "10.0.0.0/8" in err.getvalue(), err.getvalue()
