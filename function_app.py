"""Azure Functions entry points (Python v2 programming model): wiring only.

Event Grid → queue ``resource-events`` (default, infra/: no inbound access) →
``on_queued_resource_event``: triage (no ARM call for an event out of scope), then
the ARM work in place: one queue hop. Or Event Grid push → ``on_resource_event``
(infra/ parameter eventDelivery), which triages and enqueues → queue
``harden-requests`` → ``harden_resource`` (ARM work); the sweep enqueues there too.
The logic lives in ``remediators/``.
"""
import os

import azure.functions as func

from remediators.handlers import accept_event, event_as_dict, handle_queued_event, process_message
from remediators.runtime import engine_for
from remediators.settings import Settings, subscriptions_from_env
from remediators.sweep import run_scheduled_sweep

QUEUE_NAME = "harden-requests"
EVENTS_QUEUE_NAME = "resource-events"  # infra/main.bicep queueNames.events

app = func.FunctionApp()


@app.function_name("on_resource_event")
@app.event_grid_trigger(arg_name="event")
@app.queue_output(arg_name="requests", queue_name=QUEUE_NAME, connection="AzureWebJobsStorage")
def on_resource_event(event: func.EventGridEvent, requests: func.Out[str]) -> None:
    message = accept_event(event_as_dict(event), subscriptions_from_env())
    if message is not None:
        requests.set(message)


@app.function_name("on_queued_resource_event")
@app.queue_trigger(arg_name="message", queue_name=EVENTS_QUEUE_NAME, connection="AzureWebJobsStorage")
def on_queued_resource_event(message: func.QueueMessage) -> None:
    handle_queued_event(message.get_body(), subscriptions_from_env(), lambda: engine_for(Settings.from_env()))


@app.function_name("harden_resource")
@app.queue_trigger(arg_name="message", queue_name=QUEUE_NAME, connection="AzureWebJobsStorage")
def harden_resource(message: func.QueueMessage) -> None:
    process_message(message.get_body().decode("utf-8"), engine_for(Settings.from_env()))


# The scheduled sweep (remediators/sweep.py): catches resources that existed before us, lost
# events and drift; it only enqueues, so the worker above stays the one writer. NCRONTAB with
# seconds (learn.microsoft.com/azure/azure-functions/functions-bindings-timer#ncrontab-expressions);
# read when the worker indexes the app, so changing the app setting (which restarts it) applies.
SWEEP_SCHEDULE = os.environ.get("HARDEN_SWEEP_SCHEDULE") or "0 30 3 * * *"  # daily, 03:30 UTC


# It sends to the queue itself (no output binding, which sends only after the function returns),
# so that each resource's claim is written only once its message is queued (remediators/sweep.py).
@app.function_name("sweep_estate")
@app.timer_trigger(arg_name="timer", schedule=SWEEP_SCHEDULE, run_on_startup=False, use_monitor=True)
def sweep_estate(timer: func.TimerRequest) -> None:
    run_scheduled_sweep(Settings.from_env(), os.environ, queue_name=QUEUE_NAME)
