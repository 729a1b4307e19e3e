"""Builds the engine from app settings: the one place real credentials are made."""
from __future__ import annotations

import os
from functools import lru_cache

from azure.identity import DefaultAzureCredential

from .arm import ArmClients
from .dispatch import dispatcher_or_none
from .engine import Engine
from .notify import Notifier
from .settings import Settings
from .static_website import LOCAL_BLOB_SETTING, local_blob_service_for
from .throttle import budget_for


@lru_cache(maxsize=4)
def credential_for(client_id: str | None) -> DefaultAzureCredential:
    """One credential (and token cache) per identity, shared by the engine and Resource Graph."""
    return DefaultAzureCredential(managed_identity_client_id=client_id)


@lru_cache(maxsize=4)
def engine_for(settings: Settings) -> Engine:
    """One engine per distinct configuration."""
    credential = credential_for(settings.client_id)
    # Unset in Azure: each account's own blob endpoint, with the managed identity (static_website.py).
    blob_service_for = local_blob_service_for(os.environ.get(LOCAL_BLOB_SETTING))

    @lru_cache(maxsize=16)
    def clients_for(subscription_id: str) -> ArmClients:
        return ArmClients(credential, subscription_id, endpoint=settings.arm_endpoint,
                          polling_interval=settings.poll_interval_seconds,
                          budget=budget_for(settings.arm_endpoint, subscription_id,
                                            writes_per_second=settings.arm_writes_per_second,
                                            reads_per_second=settings.arm_reads_per_second),
                          blob_service_for=blob_service_for)

    notifier = Notifier.for_topic(settings.notify_topic_endpoint, key=settings.notify_topic_key,
                                  credential=credential)
    # Email/Teams/Slack from their app settings (remediators/dispatch.py); None when none is set.
    dispatcher = dispatcher_or_none(credential)
    return Engine(settings, clients_for=clients_for, notifier=notifier, dispatcher=dispatcher)
