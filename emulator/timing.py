"""How long Azure takes: long-running operations finish after a per-type duration.

ARM answers a long-running write at once and reports ``InProgress`` on the
status URL until the provider is done
(learn.microsoft.com/azure/azure-resource-manager/management/async-operations).
The resource's new state is stored when the write is accepted (as today), and
the operation's status turns ``Succeeded`` (or ``Failed``) only once its
duration has passed, so a client that waits for the poller sees real time go
by, and a client that does not wait is caught by the request log
(``RecordedRequest.completed_at``).

Durations are seconds of *Azure* time per resource type, multiplied by
``scale`` (0 = instant, the default for unit tests; the ordering tests and the
exposure benchmark use e.g. 0.01: one Azure second is 10 ms here), and by a
random factor in ``[1 - jitter, 1 + jitter]`` when ``jitter`` is set. They are
observations, not guarantees, and are listed as a guess in emulator/README.md:

- private endpoint create: 30-60 s (hashicorp/terraform-provider-azurerm#28112's
  log shows endpoints "Still creating... [29s elapsed]", #17649's likewise); 45 s.
- private DNS zone create and VNet link: tens of seconds each (the Private DNS
  RP's own long-running operations); 30 s. A guess.
- private DNS zone group: about 10 s. A guess.
- subnet update (service endpoint): 10-35 s (#28112: a subnet's NSG association
  "Creation complete after 35s"); 10 s. SQL VNet rule: about 30 s (SQL's
  async VNet-rule validation). A guess.
- SQL server update, Cosmos DB account update: 30 s and 60 s (Cosmos updates
  replicate to every region; learn.microsoft.com/azure/cosmos-db/how-to-configure-firewall
  says firewall changes "may take up to 15 minutes" to propagate).
- Synchronous writes (Key Vault, Storage PATCH, network rule sets, site config):
  1-2 s of request latency (``SYNC_SECONDS``).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

# Longest prefix first (lower-case ARM types).
LRO_SECONDS: dict[str, float] = {
    "microsoft.network/privateendpoints/privatednszonegroups": 10.0,
    "microsoft.network/privateendpoints": 45.0,
    "microsoft.network/privatednszones/virtualnetworklinks": 30.0,
    "microsoft.network/privatednszones": 30.0,
    "microsoft.network/virtualnetworks/subnets": 10.0,
    "microsoft.network/virtualnetworks": 10.0,
    "microsoft.sql/servers/virtualnetworkrules": 30.0,
    "microsoft.sql/servers": 30.0,
    "microsoft.documentdb/databaseaccounts": 60.0,
    "microsoft.web/sites": 20.0,
}
DEFAULT_LRO_SECONDS = 20.0
SYNC_SECONDS = 1.5


@dataclass
class Timing:
    """Durations the emulator gives writes. ``scale=0`` (default) makes everything instant."""

    scale: float = 0.0
    jitter: float = 0.0
    lro_seconds: dict[str, float] = field(default_factory=lambda: dict(LRO_SECONDS))
    sync_seconds: float = SYNC_SECONDS
    rng: random.Random = field(default_factory=random.Random)

    def _scaled(self, seconds: float) -> float:
        if self.scale <= 0:
            return 0.0
        factor = self.rng.uniform(1 - self.jitter, 1 + self.jitter) if self.jitter else 1.0
        return max(0.0, seconds * self.scale * factor)

    def lro(self, resource_type: str) -> float:
        """Seconds (emulator time) until a long-running write on this type finishes."""
        kind = resource_type.lower()
        match = max((prefix for prefix in self.lro_seconds if kind.startswith(prefix)), key=len, default=None)
        return self._scaled(self.lro_seconds[match] if match else DEFAULT_LRO_SECONDS)

    def sync(self) -> float:
        """Seconds (emulator time) a synchronous write takes to answer."""
        return self._scaled(self.sync_seconds)

    def reset(self) -> None:
        self.scale, self.jitter = 0.0, 0.0
        self.rng = random.Random()
        self.lro_seconds = dict(LRO_SECONDS)
        self.sync_seconds = SYNC_SECONDS
