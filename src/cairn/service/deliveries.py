"""Sending the outbox's webhooks: at least once, signed, with back-off and a give-up time.

A worker ``claim``\\ s a due delivery (a conditional update that sets a lease; PostgreSQL
skips rows another process has locked), so several processes send each delivery once
between them, and a delivery whose worker died is taken again when its lease runs out:
at least once, never lost. ``attempt`` checks the integration's URL again (a fresh DNS
lookup, ``webhook_targets.check_url``), POSTs the body to the checked address, and keeps
the attempt in ``webhook_attempt`` (status, duration, the first bytes of the answer or
why there was none). A 2xx answer delivers; anything else (3xx included: redirects are
never followed) is retried after ``backoff_seconds`` doubled per failure, until the give-up
time, when the delivery is ``failed``.

Each request carries ``X-Cairn-Signature: sha256=<hex HMAC-SHA256 of the body with the
integration's secret>`` (when it has one), ``X-Cairn-Timestamp`` (Unix seconds of the
attempt), ``X-Cairn-Event`` (the event type), ``X-Cairn-Event-Id`` (one per event) and
``Idempotency-Key`` (one per delivery, the same on every retry): docs/automations.md.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import logging
import secrets
import threading
import time
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import and_, or_, select, update

from cairn.db.models import (
    Automation,
    AutomationEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookIntegration,
    utcnow,
)
from cairn.service.outbox import DELIVERED, PENDING, on_recorded
from cairn.service.webhook_targets import check_url

if TYPE_CHECKING:
    from cairn.service.resources import Store

log = logging.getLogger(__name__)

FAILED = "failed"
RESPONSE_HEAD_BYTES = 512
USER_AGENT = "cairn-webhooks/1"
_due = threading.Event()  # set when this process records deliveries: wakes its workers


def wake() -> None:
    """Wake this process's delivery workers (new deliveries, or stopping)."""
    _due.set()


def wait_for_work(timeout: float) -> None:
    """Return when ``wake`` is called, or after ``timeout`` seconds."""
    _due.wait(timeout)
    _due.clear()


on_recorded(wake)


@dataclasses.dataclass(frozen=True)
class Job:
    """A due delivery claimed by one worker (``token``) until its lease runs out."""

    id: int
    token: str


def _as_utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def claim(store: Store, delivery_id: int | None = None) -> Job | None:
    """Take the oldest due pending delivery nobody holds (or the pending delivery
    ``delivery_id``, due or not); None when there is none.

    Raises: sqlalchemy errors.
    """
    now = utcnow()
    free = or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now)
    if delivery_id is None:
        due = and_(WebhookDelivery.state == PENDING, WebhookDelivery.next_attempt_at <= now, free)
    else:
        due = and_(WebhookDelivery.state == PENDING, WebhookDelivery.id == delivery_id, free)
    token = secrets.token_hex(16)
    with store.db.write() as session:
        row_id = session.execute(
            select(WebhookDelivery.id)
            .where(due)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).scalar_one_or_none()
        if row_id is None:
            return None
        lease = now + dt.timedelta(seconds=store.webhooks.lease_seconds)
        taken = session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == row_id, due)
            .values(token=token, lease_until=lease)
        )
        if getattr(taken, "rowcount", 0) != 1:
            return None
        return Job(row_id, token)


@dataclasses.dataclass(frozen=True)
class _Request:
    url: str
    secret: str | None
    body: str
    event_type: str
    event_uid: str
    delivery_uid: str


def _load(store: Store, job: Job) -> _Request | None:
    with store.db.read() as session:
        row = session.execute(
            select(WebhookDelivery, AutomationEvent, Automation)
            .join(AutomationEvent, WebhookDelivery.event_id == AutomationEvent.id)
            .join(Automation, WebhookDelivery.automation_id == Automation.id)
            .where(WebhookDelivery.id == job.id)
        ).one_or_none()
        if row is None:
            return None
        delivery, event, automation = row
        integration = (
            session.get(WebhookIntegration, automation.integration_id)
            if automation.integration_id is not None
            else None
        )
        if integration is None:
            return _Request("", None, delivery.body, event.event_type, event.uid, delivery.uid)
        return _Request(
            integration.url,
            integration.secret,
            delivery.body,
            event.event_type,
            event.uid,
            delivery.uid,
        )


def signature(secret: str, body: bytes) -> str:
    """The ``X-Cairn-Signature`` value of ``body``: ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one attempt got: a status and the first bytes of the answer, or an error."""

    status_code: int | None
    response_head: str | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _send(store: Store, request: _Request) -> Outcome:
    if not request.url:
        return Outcome(None, None, "the automation has no webhook integration any more")
    policy = store.webhooks
    try:
        target = check_url(request.url, policy)
    except ValueError as exc:
        return Outcome(None, None, f"refused: {exc}")
    body = request.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Host": target.host_header,
        "X-Cairn-Timestamp": str(int(time.time())),
        "X-Cairn-Event": request.event_type,
        "X-Cairn-Event-Id": request.event_uid,
        "Idempotency-Key": request.delivery_uid,
    }
    if request.secret:
        headers["X-Cairn-Signature"] = signature(request.secret, body)
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        with httpx.Client(
            timeout=policy.timeout_seconds, follow_redirects=False, trust_env=False
        ) as client:
            response = client.post(
                target.connect_url, content=body, headers=headers, extensions=extensions
            )
            head = response.content[:RESPONSE_HEAD_BYTES].decode("utf-8", "replace")
    except httpx.HTTPError as exc:
        return Outcome(None, None, f"{type(exc).__name__}: {exc}"[:RESPONSE_HEAD_BYTES])
    return Outcome(response.status_code, head, None)


def attempt(store: Store, job: Job) -> Outcome | None:
    """Send the claimed delivery once and record the attempt and what follows from it
    (delivered, retried later, or failed after the give-up time). None when the delivery
    is gone or no longer this worker's.

    Raises: sqlalchemy errors (the outcome could not be written: the lease runs out and
    the delivery is sent again).
    """
    request = _load(store, job)
    if request is None:
        return None
    started = utcnow()
    clock = time.monotonic()
    outcome = _send(store, request)
    duration_ms = int((time.monotonic() - clock) * 1000)
    with store.db.write() as session:
        delivery = session.get(WebhookDelivery, job.id, with_for_update=True)
        if delivery is None or delivery.token != job.token:
            return None
        delivery.attempts += 1
        session.add(
            WebhookAttempt(
                delivery_id=delivery.id,
                number=delivery.attempts,
                started_at=started,
                duration_ms=duration_ms,
                status_code=outcome.status_code,
                response_head=outcome.response_head,
                error=outcome.error,
            )
        )
        now = utcnow()
        delivery.token, delivery.lease_until = None, None
        if outcome.delivered:
            delivery.state, delivery.finished_at = DELIVERED, now
            return outcome
        policy = store.webhooks
        delay = min(
            policy.backoff_seconds * 2 ** (delivery.attempts - 1), policy.max_backoff_seconds
        )
        retry_at = now + dt.timedelta(seconds=delay)
        if retry_at > _as_utc(delivery.give_up_at):
            delivery.state, delivery.finished_at = FAILED, now
        else:
            delivery.next_attempt_at = retry_at
    return outcome


def deliver_due(store: Store, stopping: threading.Event | None = None) -> int:
    """Send every delivery due now, one after another; returns how many attempts were
    made. Raises: sqlalchemy errors."""
    made = 0
    while stopping is None or not stopping.is_set():
        job = claim(store)
        if job is None:
            return made
        attempt(store, job)
        made += 1
    return made


def deliver_pending(store: Store) -> int:
    """Try every pending delivery once now, due or waiting for a retry (``cairn
    automation deliver``); returns how many attempts were made. Raises: sqlalchemy
    errors."""
    with store.db.read() as session:
        pending = session.scalars(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.state == PENDING)
            .order_by(WebhookDelivery.id)
        ).all()
    made = 0
    for delivery_id in pending:
        job = claim(store, delivery_id)
        if job is not None:  # else another worker holds it, or it is done
            attempt(store, job)
            made += 1
    return made


def next_due_in(store: Store) -> float | None:
    """Seconds until the next pending delivery is due (0 if one is), None if none is
    pending."""
    with store.db.read() as session:
        when = session.scalar(
            select(WebhookDelivery.next_attempt_at)
            .where(WebhookDelivery.state == PENDING)
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(1)
        )
    if when is None:
        return None
    return max(0.0, (_as_utc(when) - utcnow()).total_seconds())


def send_until(store: Store, stopping: threading.Event, idle_seconds: float) -> None:
    """Send what is due, then sleep until the next delivery is due, new work is recorded
    or ``idle_seconds`` pass, until ``stopping`` is set: the body of the server's sender
    thread and of the embedded store's. A failed round is logged and tried again after
    ``idle_seconds``; it never ends the loop. Raises nothing.
    """
    while not stopping.is_set():
        delay = idle_seconds
        try:
            deliver_due(store, stopping)
            due = next_due_in(store)
            if due is not None:
                delay = min(max(due, 0.05), idle_seconds)
        except Exception:
            log.exception("sending webhooks failed; trying again in %s s", idle_seconds)
        wait_for_work(delay)
