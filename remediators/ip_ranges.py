"""``HARDEN_ALLOWED_IP_RANGES``: the public IPv4 addresses and ranges ``service-endpoint`` lets in.

One list serves all seven services, so it takes only what *every* service accepts; a value any of
them refuses is a start-up error (:class:`InvalidIpRange`), never a failed write half-way through a
plan. What each service refuses, in its own words:

- IPv4 only. Storage: "Only IPv4 addresses are supported for configuration of storage firewall rules"
  (learn.microsoft.com/azure/storage/common/storage-network-security, "Restrictions for IP network
  rules"). Key Vault: "Only IPv4 addresses are supported at this time" (learn.microsoft.com/azure/
  key-vault/general/network-security). Cosmos DB: "A single IPv4 address or a single IPv4 address range
  in CIDR format" (azure-rest-api-specs cosmos-db Microsoft.DocumentDB, ``IpAddressOrRange``).
  Service Bus and Event Hubs: "IPv4 addresses or IPv4 address ranges (in CIDR ... notation)"
  (service-bus-messaging/service-bus-ip-filtering, event-hubs/event-hubs-ip-filtering). SQL's
  ``startIpAddress``/``endIpAddress`` are IPv4. Only App Service also takes IPv6.
- Public addresses only. Storage and Key Vault: "IP address ranges reserved for private networks (as
  defined in RFC 1918) aren't allowed in IP rules" (10/8, 172.16/12, 192.168/16; same pages). Cosmos DB
  adds 100.64.0.0/10 (shared address space): IPs "cannot be contained in one of the following ranges:
  10.0.0.0/8, 100.64.0.0/10, 172.16.0.0/12, 192.168.0.0/16, since these are not enforceable by the IP
  address filter" (``IpAddressOrRange``). We also refuse the other ranges that never arrive from the
  internet (loopback, link-local, multicast, reserved; Storage: "allowed only for *public internet* IP
  addresses") and 0.0.0.0/8: to Cosmos DB and SQL, 0.0.0.0 means "every Azure datacenter".
- No host bits: Cosmos DB wants IPs "well-formatted" (``23.40.210.0/8`` in its example notwithstanding,
  a range whose address is not its network is a typo we refuse to guess at).
- /31 and /32: "Small address ranges that use /31 or /32 prefix sizes are not supported. Configure these
  ranges by using individual IP address rules" (Storage, same section; Key Vault's page said so too). A
  /32 is written as its address; a /31 is refused with its two addresses to list instead.

Values are compared normalised (:func:`canonical`): Key Vault echoes a single address as ``a.b.c.d/32``
(/work/shared/azure-facts.md), App Service stores CIDR only, SQL stores start and end addresses.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any, Iterable

#: Networks no service lets into an IP rule (module docstring, with the service that says so).
NOT_PUBLIC = tuple(ipaddress.IPv4Network(n) for n in (
    "0.0.0.0/8",        # 0.0.0.0 is "all of Azure" to Cosmos DB and SQL
    "10.0.0.0/8",       # RFC 1918: Storage, Key Vault, Cosmos DB
    "100.64.0.0/10",    # shared address space: Cosmos DB
    "127.0.0.0/8",      # loopback: not a public internet address (Storage)
    "169.254.0.0/16",   # link-local: idem
    "172.16.0.0/12",    # RFC 1918
    "192.168.0.0/16",   # RFC 1918
    "224.0.0.0/4",      # multicast: idem
    "240.0.0.0/4",      # reserved, and 255.255.255.255: idem
))
SETTING = "HARDEN_ALLOWED_IP_RANGES"


class InvalidIpRange(ValueError):
    """A configured range some service would refuse; the message says which rule and what to write."""


def parse_allowed_ip_ranges(value: str) -> tuple[str, ...]:
    """The canonical ranges of ``HARDEN_ALLOWED_IP_RANGES`` (comma- or space-separated), in order, once each.

    :raises InvalidIpRange: For the first value a service would refuse.
    """
    ranges: list[str] = []
    for item in (i for i in re.split(r"[,\s]+", value) if i):
        canonical_range = _validated(item)
        if canonical_range not in ranges:
            ranges.append(canonical_range)
    return tuple(ranges)


def _validated(item: str) -> str:
    try:
        network = ipaddress.ip_network(item, strict=False)
    except ValueError as exc:
        raise InvalidIpRange(f"{SETTING}: {item!r} is not an IPv4 address or CIDR range (e.g. 20.30.40.0/24)") from exc
    if network.version != 4:
        raise InvalidIpRange(f"{SETTING}: {item!r} is IPv6; Storage, Key Vault, Cosmos DB, SQL, Service Bus and "
                             "Event Hubs take IPv4 addresses only")
    if "/" in item and network.network_address != ipaddress.ip_interface(item).ip:
        raise InvalidIpRange(f"{SETTING}: {item!r} has host bits set; did you mean {network}?")
    for reserved in NOT_PUBLIC:
        if network.overlaps(reserved):
            raise InvalidIpRange(f"{SETTING}: {item!r} overlaps {reserved}, which is not a public internet range: "
                                 "Storage and Key Vault refuse private (RFC 1918) ranges in IP rules, Cosmos DB also "
                                 "100.64.0.0/10, and 0.0.0.0 means all of Azure to Cosmos DB and SQL")
    if network.prefixlen == 31:
        first, second = network
        raise InvalidIpRange(f"{SETTING}: {item!r} is a /31, which Storage refuses (\"configure these ranges by "
                             f"using individual IP address rules\"): list {first}, {second} instead")
    return canonical_network(network)


def canonical_network(network: ipaddress.IPv4Network) -> str:
    """A single address as itself, a range as ``network/prefix``."""
    return str(network.network_address) if network.prefixlen == 32 else str(network)


def canonical(value: Any) -> str | None:
    """An IP rule's value as read, normalised for comparison (``1.2.3.4/32`` is ``1.2.3.4``).

    ``None`` for something that is not an address or range (an App Service service tag, ``Any``): such a
    rule is someone else's and never matches a configured range.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None
    if network.version != 4:
        return str(network)
    return canonical_network(network)


def canonical_bounds(start: Any, end: Any) -> str | None:
    """A SQL firewall rule (start and end address) in the same normal form, where it is one range."""
    try:
        first, last = ipaddress.IPv4Address(str(start)), ipaddress.IPv4Address(str(end))
    except ValueError:
        return None
    blocks = list(ipaddress.summarize_address_range(first, last)) if first <= last else []
    if len(blocks) == 1:
        return canonical_network(blocks[0])
    return f"{first}-{last}"


def bounds(canonical_range: str) -> tuple[str, str]:
    """First and last address of a canonical range (SQL firewall rules are written this way)."""
    network = ipaddress.IPv4Network(canonical_range)
    return str(network.network_address), str(network.broadcast_address)


def as_cidr(canonical_range: str) -> str:
    """CIDR always (App Service's ``ipAddress`` is CIDR: a single address is ``a.b.c.d/32``)."""
    return str(ipaddress.IPv4Network(canonical_range))


def rule_name(canonical_range: str) -> str:
    """A deterministic rule name for our rule (SQL firewall rules, App Service restrictions: at most 32
    characters, no ``/``)."""
    return "harden-ip-" + canonical_range.replace("/", "-")


def missing_ranges(wanted: Iterable[str], present: Iterable[str]) -> list[str]:
    """Configured ranges that no rule allows yet (compared normalised), in configuration order."""
    have = set(present)
    return [r for r in wanted if r not in have]


def canonical_set(values: Iterable[Any]) -> frozenset[str]:
    return frozenset(c for c in (canonical(v) for v in values) if c is not None)
