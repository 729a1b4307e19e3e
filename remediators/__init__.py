"""Event-driven network hardening for Azure PaaS resources.

Where things happen:
- ``events``: an Event Grid event becomes a queued :class:`HardenRequest` (no ARM calls).
- ``engine``: a request becomes a plan (read, decide) and a plan becomes ARM writes.
- ``network``: the shared private endpoint, private DNS and subnet service-endpoint plans.
- ``services/``: one module per resource type, reading and writing its own firewall.
- ``notify``: every outcome becomes a CloudEvent on the notification topic.
"""
