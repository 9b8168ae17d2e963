"""Partner staff in a real browser: the nursery's morning and afternoon. Check a child in with the morning health
check, refuse to hand the child to anyone not on the family's list, and check the child out to an authorised
adult; the roster then says who collected the child. At a phone's size and a desktop's."""
from __future__ import annotations

import re
from datetime import time

import sqlalchemy as sa
from playwright.sync_api import Page, expect

from careapp.booking import engine
from careapp.booking.models import Booking, BookingStatus
from careapp.core.audit import AuditEntry
from careapp.core.db import db
from careapp.core.timefmt import format_local
from careapp.households.services import add_authorised_adult, remove_authorised_adult
from tests.factories import make_slot
from tests.browser.steps import log_in


def assert_no_sideways_scroll(page: Page) -> None:
    """Nothing pushes the page wider than the screen (wide tables scroll inside their own box)."""
    width, screen = page.evaluate("document.documentElement.scrollWidth"), page.viewport_size["width"]
    assert width <= screen, f"the page is {width} px wide on a {screen} px screen"


def booking_now(booking_id: int) -> Booking:
    """The booking as the database has it now (the live server wrote it in another thread)."""
    db.session.rollback()
    return db.session.get(Booking, booking_id)


def refusals_logged(booking_id: int) -> list[dict]:
    db.session.rollback()
    return [entry.after for entry in db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "booking.collection_refused",
                                    AuditEntry.object_id == booking_id).order_by(AuditEntry.id))]


def test_partner_staff_check_a_child_in_and_out_only_to_an_authorised_adult(page: Page, world, clock):
    nursery = world.nursery
    now = clock.now()  # Tuesday 1 Dec 2026, 09:00
    # Today's full day of 托小班, 10:00-18:00, and 小明 of 李家 booked into it.
    slot = make_slot(nursery.services["托小班"], nursery.manager, now, days_ahead=0, start=time(10, 0), hours=8)
    child = world.family.add_child(now, name="小明", months=26)
    booking = engine.book(slot.id, child.id, by=world.family.user, now=now).booking
    assert booking.status == BookingStatus.confirmed
    # Who may collect 小明: his aunt, and his uncle (whom the family takes off the list during the day).
    aunt = add_authorised_adult(child_id=child.id, by=world.family.user, now=now, name="赵阿姨", relation="aunt",
                                phone="13900001111")
    uncle = add_authorised_adult(child_id=child.id, by=world.family.user, now=now, name="孙叔叔", relation="uncle",
                                 phone="13900002222")
    # Another family's child and the adult who collects her: not on 小明's list.
    other_child = world.other_family.add_child(now, name="张小红", months=30)
    stranger = add_authorised_adult(child_id=other_child.id, by=world.other_family.user, now=now, name="张先生",
                                    relation="father", phone="13900004444")
    clock.set(slot.starts_at)  # 10:00, the session starts

    # The nursery's staff logs in and lands on the partner's page; today's roster of the service point.
    log_in(page, nursery.staff.login)
    expect(page.get_by_role("heading", level=1)).to_have_text("艺涵托育园")
    page.get_by_role("link", name="Today's roster").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("day roster for 2026-12-01 (Tuesday)")
    coming = page.get_by_role("region", name=re.compile("^托小班, 10:00"))
    expect(coming.get_by_role("cell", name="小明", exact=True)).to_be_visible()
    expect(coming.get_by_role("cell", name=re.compile("赵阿姨 \\(aunt"))).to_be_visible()
    assert_no_sideways_scroll(page)
    page.snap("day-roster")

    # The slot's own roster: 小明's card with the health check fields and the check-in button.
    coming.get_by_role("link", name="托小班").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("托小班: who is booked")
    card = page.locator(f"#booking-{booking.id}")
    expect(card.get_by_role("heading", name="小明")).to_be_visible()
    expect(card).to_contain_text("May be collected by: 赵阿姨 (aunt, 13900001111), 孙叔叔 (uncle, 13900002222)")

    # Morning health check and check-in.
    card.get_by_label("Temperature °C (optional)").fill("36.8")
    card.get_by_label("Morning health check notes (optional)").fill("精神好, 无咳嗽")
    # Out of the field before the full-page screenshot, or Chromium scrolls it back into view under the next click.
    card.get_by_label("Morning health check notes (optional)").blur()
    page.snap("health-check")
    card.get_by_role("button", name="Check in 小明").click()
    expect(page.get_by_role("status")).to_have_text("小明 is checked in.")
    card = page.locator(f"#booking-{booking.id}")
    expect(card).to_contain_text("Checked in · in at 10:00")
    expect(card).to_contain_text("Health check: 36.8 °C 精神好, 无咳嗽")
    checked_in = booking_now(booking.id)
    assert checked_in.status == BookingStatus.checked_in and str(checked_in.health_temperature) == "36.8"
    page.snap("checked-in")

    # Afternoon. The page only offers the adults on the list, and never hands the child over by default:
    # pressing "Check out" without choosing who collects is refused, with a message.
    clock.advance(hours=6)  # 16:00
    page.reload()
    card = page.locator(f"#booking-{booking.id}")
    collector = card.get_by_label("Who is collecting 小明?")
    expect(collector.locator("option")).to_have_text(["Choose the adult", "赵阿姨 (aunt)", "孙叔叔 (uncle)"])
    card.get_by_role("button", name="Check out 小明").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Choose who is collecting 小明: one of the adults the family has listed.")
    expect(page.get_by_role("alert")).to_be_in_viewport()  # not scrolled away above the child's card
    expect(page.locator(f"#booking-{booking.id}-status")).to_contain_text("Checked in")

    # The family takes 孙叔叔 off the list while the roster stands open on the staff's phone; he comes to
    # collect and the staff, from the list on the screen, chooses him: refused, and the child stays.
    remove_authorised_adult(uncle.id, by=world.family.user, now=clock.now())
    card = page.locator(f"#booking-{booking.id}")
    card.get_by_label("Who is collecting 小明?").select_option(label="孙叔叔 (uncle)")
    card.get_by_role("button", name="Check out 小明").click()
    expect(page.get_by_role("alert")).to_have_text(
        "孙叔叔 is not on 小明's list of adults who may collect them. Do not hand the child over; call the family.")
    expect(page.get_by_role("alert")).to_be_in_viewport()
    card = page.locator(f"#booking-{booking.id}")
    expect(page.locator(f"#booking-{booking.id}-status")).to_contain_text("Checked in · in at 10:00")
    expect(page.locator(f"#booking-{booking.id}-status")).not_to_contain_text("out at")
    # The page now offers only 赵阿姨.
    expect(card.get_by_label("Who is collecting 小明?").locator("option")).to_have_text(
        ["Choose the adult", "赵阿姨 (aunt)"])
    page.snap("refused-removed-adult")

    # Someone on no list of 小明's at all (another child's father), put into the form by tampering with it:
    # the rule, not the page, decides, so this is refused too.
    select = card.get_by_label("Who is collecting 小明?")
    select.evaluate("(select, id) => select.add(new Option('张先生 (father)', id))", str(stranger.id))
    select.select_option(label="张先生 (father)")
    card.get_by_role("button", name="Check out 小明").click()
    expect(page.get_by_role("alert")).to_have_text(
        "张先生 is not on 小明's list of adults who may collect them. Do not hand the child over; call the family.")
    expect(page.get_by_role("alert")).to_be_in_viewport()
    expect(page.locator(f"#booking-{booking.id}-status")).not_to_contain_text("out at")
    assert booking_now(booking.id).status == BookingStatus.checked_in
    assert [entry["collected_by_id"] for entry in refusals_logged(booking.id)] == [uncle.id, stranger.id]
    page.snap("refused-stranger")

    # 赵阿姨 comes: she is on the list. 小明 is checked out to her.
    card = page.locator(f"#booking-{booking.id}")
    card.get_by_label("Who is collecting 小明?").select_option(label="赵阿姨 (aunt)")
    card.get_by_role("button", name="Check out 小明").click()
    expect(page.get_by_role("status")).to_have_text("小明 is checked out.")
    expect(page.locator(f"#booking-{booking.id}-status")).to_have_text(
        "Checked out · in at 10:00 · out at 16:00 · collected by 赵阿姨 (aunt)")
    expect(page.locator(f"#booking-{booking.id}").get_by_role("button")).to_have_count(0)
    done = booking_now(booking.id)
    assert done.status == BookingStatus.checked_out and done.collected_by_id == aunt.id
    assert format_local(done.checked_out_at, "%H:%M") == "16:00"
    page.snap("checked-out")

    # The day roster shows the day: in at 10:00, out at 16:00, the health check.
    page.get_by_role("link", name="Day roster of 艺涵托育园服务点").click()
    coming = page.get_by_role("region", name=re.compile("^托小班, 10:00"))
    row = coming.get_by_role("row", name=re.compile("小明"))
    expect(row).to_contain_text("Checked out")
    expect(row).to_contain_text("10:00 – 16:00")
    expect(row).to_contain_text("Health check: 36.8 °C 精神好, 无咳嗽")
    assert_no_sideways_scroll(page)
    page.snap("day-roster-after")
