"""Part 3 of bench/run.py, run as a process of its own so its peak memory is the scheduler work's.

    python bench/speed_scheduler.py --smtp-port PORT   # CAREAPP_DATABASE_URL etc. set by run.py

1. ``open_slots_job`` with ``now`` a week after the data: a week of slots opened and standing enrolments
   booked into them.
2. 10,000 due e-mails: a reminder notification (``outbox.add_once``) for each of the next confirmed
   bookings, each with one e-mail delivery to the family account; then ``send_due`` (the scheduler's
   sender, one run sends at most 10,000) to a local aiosmtpd server, against the same messages (built
   beforehand, so only the transport is timed) by a bare ``smtplib`` loop over one connection.
Prints one JSON line of figures, the last line of its output.
"""
from __future__ import annotations

import argparse
import json
import smtplib
import sys
import time
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from speed_common import peak_rss_mb

MESSAGES = 10_000


def count(table: str) -> int:
    from careapp.core.db import db

    return db.session.scalar(sa.text(f"SELECT count(*) FROM {table}"))


def open_a_week(now: datetime) -> dict:
    from careapp.scheduler.jobs import open_slots_job

    slots, bookings = count("slot"), count("booking")
    started = time.perf_counter()
    open_slots_job(now + timedelta(days=7))
    seconds = time.perf_counter() - started
    return {"open_seconds": seconds, "slots_opened": count("slot") - slots,
            "enrolment_bookings": count("booking") - bookings}


def write_notifications(now: datetime) -> dict:
    """One reminder per coming confirmed booking until MESSAGES e-mails are pending, 500 bookings a
    transaction, written the way the reminder job writes them (outbox.bookings_for_notices, outbox.add_all)."""
    from careapp.booking.models import Booking, BookingStatus
    from careapp.core.db import db, write_transaction
    from careapp.notifications.models import Topic
    from careapp.notifications.outbox import add_all, booking_notification, bookings_for_notices
    from careapp.partners.models import Slot

    ids = list(db.session.scalars(
        sa.select(Booking.id).join(Slot, Slot.id == Booking.slot_id)
        .where(Slot.starts_at > now + timedelta(hours=2), Booking.status == BookingStatus.confirmed)
        .order_by(Slot.starts_at, Booking.id).limit(MESSAGES * 2)))
    db.session.rollback()
    started = time.perf_counter()
    for start in range(0, len(ids), 500):
        if count("delivery") >= MESSAGES:
            break
        with write_transaction():
            add_all([booking_notification(booking, Topic.reminder, "reminder:bench", now=now)
                     for booking in bookings_for_notices(ids[start:start + 500])])
    return {"write_seconds": time.perf_counter() - started, "deliveries": count("delivery")}


def send_with_careapp(now: datetime) -> dict:
    from careapp.notifications.delivery import send_due

    started = time.perf_counter()
    sent = send_due(now=now)
    seconds = time.perf_counter() - started
    return {"careapp_sent": sent, "careapp_seconds": seconds, "careapp_rate": sent / seconds}


def sent_messages() -> list[tuple[str, bytes]]:
    """The messages careapp sent, built as its SMTP sender builds them (read as plain rows, 1,000 at a time)."""
    from flask import current_app

    from careapp.core.db import db
    from careapp.notifications.channels import SmtpSender
    from careapp.notifications.models import Delivery, DeliveryStatus, Notification, Topic
    from careapp.notifications.outbox import render_facts, wordings_of
    from careapp.partners.models import Service

    builder = SmtpSender(current_app.config)
    rows = db.session.execute(
        sa.select(Delivery.id, Delivery.address, Delivery.language, Notification.topic, Notification.params,
                  Service.kind, Service.partner_id)
        .join(Notification, Notification.id == Delivery.notification_id)
        .join(Service, Service.id == Notification.service_id)
        .where(Delivery.status == DeliveryStatus.sent).order_by(Delivery.id).execution_options(yield_per=1000))
    wordings = wordings_of(set(db.session.scalars(sa.select(Service.partner_id).distinct())),
                           {Topic.reminder}, {"zh_CN", "en"})
    messages = [(row.address, builder.message(row.address, render_facts(row.topic, row.kind, row.partner_id,
                                                                       row.params, row.language, wordings),
                                              f"<bare.{row.id}@bench.example>")) for row in rows]
    db.session.rollback()
    return messages


def send_bare(messages: list[tuple[str, bytes]], port: int) -> dict:
    started = time.perf_counter()
    smtp = smtplib.SMTP("127.0.0.1", port, timeout=20)
    for address, data in messages:
        smtp.sendmail("careapp@localhost", [address], data)
    smtp.quit()
    seconds = time.perf_counter() - started
    return {"bare_sent": len(messages), "bare_seconds": seconds, "bare_rate": len(messages) / seconds,
            "message_bytes": sum(len(data) for _, data in messages) / max(len(messages), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smtp-port", type=int, required=True)
    args = parser.parse_args()
    from careapp import create_app

    app = create_app()
    now = datetime.now(timezone.utc)
    figures: dict = {}
    with app.app_context():
        figures.update(open_a_week(now))
        figures["peak_rss_mb_open"] = peak_rss_mb()
        figures.update(write_notifications(now))
        figures["peak_rss_mb_write"] = peak_rss_mb()
        figures.update(send_with_careapp(now))
        figures["peak_rss_mb_send"] = peak_rss_mb()
        messages = sent_messages()
        figures.update(send_bare(messages, args.smtp_port))
    figures["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(figures))


if __name__ == "__main__":
    sys.exit(main())
