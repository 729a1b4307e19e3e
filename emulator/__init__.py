"""A local Azure Resource Manager emulator for tests: real azure-mgmt-* clients and
azure-identity's DefaultAzureCredential talk to it over HTTPS, unchanged.

    from emulator import Emulator, Fault
    with Emulator.start() as emu:
        monkeypatch.setenv(...) for each item of emu.env()
        client = NetworkManagementClient(DefaultAzureCredential(), sub, base_url=emu.url, polling_interval=0)

See README.md for the API and the ARM behaviours modelled.
"""

from .events import write_event
from .faults import Fault, FaultList
from .ids import resource_type_of
from .server import Emulator, RecordedRequest

__all__ = ["Emulator", "Fault", "FaultList", "RecordedRequest", "resource_type_of", "write_event"]
