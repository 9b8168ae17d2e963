"""A family in a real browser: registers, adds an elder and a child, books day care, enrols the elder in weekday
lunch delivery, joins a waiting list, accepts the place it is offered, cancels a booking, and switches the page
to Chinese and back. At a phone's size and a desktop's.
"""
from __future__ import annotations

import re
from datetime import time

import sqlalchemy as sa
from playwright.sync_api import Page, expect

from careapp.accounts.models import User
from careapp.booking import engine
from careapp.booking.models import Booking, BookingStatus
from careapp.core.db import db
from tests.enrolments_factories import FRI, MON, THU, TUE, WED, weekly
from tests.factories import make_slot

LOGIN = "13912345678"
PASSWORD = "wang-family-2026"


def status(page: Page):
    """The flash message that says what just happened (role status; errors are role alert)."""
    return page.get_by_role("status")


def card(page: Page, heading: str):
    """The card (a list item) whose heading is ``heading``."""
    return page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=heading, exact=True))


def add_person(page: Page, kind: str, name: str, born: str, ability: str | None = None,
               diet: str | None = None) -> None:
    """The household page's "Add a person" form."""
    page.get_by_role("link", name="Add a person").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^Add a person to "))
    page.get_by_role("radio", name=kind).check()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Birth date").fill(born)
    if ability:
        page.get_by_label("Ability level (elders only)").select_option(label=ability)
    if diet:
        page.get_by_role("checkbox", name=diet).check()
    page.get_by_role("button", name="Add this person").click()
    expect(status(page)).to_have_text(f"{name} is added to your household.")


def test_family_registers_books_enrols_waits_accepts_and_cancels(page: Page, world, clock, app, monkeypatch):
    now = clock.now()  # Tuesday 1 December 2026, 09:00
    care_centre, nursery = world.care_centre, world.nursery
    # Day care tomorrow (Wednesday) 08:30-11:30, two places.
    daycare_slot = make_slot(world.daycare, care_centre.manager, now, days_ahead=1)
    # Lunch every weekday at the care centre's canteen (145 m from 1栋, inside its 1 km delivery radius).
    lunch = care_centre.services["午餐"]
    weekly(lunch, care_centre, now, [MON, TUE, WED, THU, FRI], start=time(11, 30), end=time(13, 0), open_days=7)
    # The nursery's toddler class on Friday has one place, already taken by 张家's 小红.
    class_slot = make_slot(nursery.services["托小班"], nursery.manager, now, days_ahead=3, capacity=1)
    theirs = world.other_family.add_child(now, name="小红")
    their_booking = engine.book(class_slot.id, theirs.id, by=world.other_family.user, now=now).booking
    db.session.rollback()  # end the test's read: the server's threads write from here on

    def menu():
        return page.get_by_role("navigation", name="Main")

    # Register: the family's name, a login, a password twice, its building.
    page.goto("/")
    menu().get_by_role("link", name="Register a family").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Register your family")
    page.get_by_label("Your family's name").fill("王家")
    page.get_by_label("Mobile number or e-mail").fill(LOGIN)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_label("Your building").select_option(label=f"{world.building.name} ({world.building.address})")
    page.get_by_label("Flat or room (optional)").fill("2单元301")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("王家")
    expect(page.get_by_text("Nobody added yet.")).to_be_visible()
    page.snap("home-new")

    # Add an elder (78, mildly impaired: day care takes levels 0-2) and a child of two.
    add_person(page, "Elder", "王秀英", "1948-05-20", ability="1 - mildly impaired", diet="Low salt")
    add_person(page, "Child", "王小宝", "2024-10-15")
    expect(page.get_by_role("heading", name="People in your household")).to_be_visible()
    expect(card(page, "王秀英")).to_contain_text("Elder, 78 years · ability level 1 - mildly impaired")
    expect(card(page, "王小宝")).to_contain_text("Child, 25 months")
    page.snap("home")

    # Find care: day care tomorrow, and book it for 王秀英.
    menu().get_by_role("link", name="Find care").click()
    page.get_by_label("Kind of care").select_option(label="Day care")
    page.get_by_role("button", name="Find").click()
    slot_card = card(page, "日间照料")
    expect(slot_card).to_contain_text("2026-12-02 08:30")
    expect(slot_card).to_contain_text("2 of 2 places left")
    page.snap("slot-finder")
    slot_card.get_by_role("link", name="日间照料").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("日间照料")
    page.get_by_label("Who is the place for?").select_option(label="王秀英")
    page.get_by_role("button", name="Book").click()
    expect(status(page)).to_have_text("王秀英, 日间照料 at 普康养老服务中心, 2026-12-02 08:30: confirmed.")
    expect(card(page, "王秀英: 日间照料")).to_contain_text("Confirmed")
    page.snap("booked")

    # Book every week: lunch delivered home on weekdays.
    page.get_by_role("link", name="Book every week").click()
    page.get_by_label("Who is it for?").select_option(label="王秀英 (elder)")
    page.get_by_label("Which service?").select_option(label="午餐 - Meal help, 普康养老服务中心")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("午餐 every week for 王秀英")
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"):
        expect(page.get_by_role("checkbox", name=day)).to_be_checked()
    page.get_by_role("radio", name="Delivered home").check()
    page.get_by_role("button", name="Enrol").click()
    # Booked at once into the open weekdays ahead; not today's lunch, whose ordering closed at 09:00.
    expect(status(page)).to_contain_text("王秀英 is enrolled in 午餐: every weekday (Monday to Friday). "
                                         "Booked 5 coming day(s). Not booked on 1 day(s)")
    enrolment = card(page, "王秀英: 午餐").filter(has_text="Every weekday")
    expect(enrolment).to_contain_text("Every weekday (Monday to Friday)")
    expect(enrolment).to_contain_text("Delivered home")
    expect(enrolment).to_contain_text("Active")
    # Tomorrow's lunch: the day's set meal, delivered, at the price less the subsidy for a 78-year-old.
    meal = card(page, "王秀英: 午餐").filter(has_text="2026-12-02 11:30")
    expect(meal.filter(has_text="Delivered home")).to_contain_text("to pay ¥13.00")
    page.snap("enrolled")

    # The nursery's class on Friday is full: 王小宝 joins the waiting list.
    menu().get_by_role("link", name="Find care").click()
    page.get_by_label("Kind of care").select_option(label="Childcare")
    page.get_by_role("button", name="Find").click()
    card(page, "托小班").get_by_role("link", name="托小班").click()
    expect(page.get_by_text("This slot is full.")).to_be_visible()
    page.get_by_label("Who is the place for?").select_option(label="王小宝")
    page.get_by_role("button", name="Book").click()
    expect(status(page)).to_have_text("王小宝, 托小班 at 艺涵托育园, 2026-12-04 08:30: waitlisted, position 1.")
    expect(card(page, "王小宝: 托小班")).to_contain_text("On the waiting list, number 1 in line")
    page.snap("waitlisted")

    # 张家 cancels 小红's place; the nursery offers it to 王小宝 (fill policy "offer", 12 hours to answer).
    engine.cancel(their_booking.id, by=world.other_family.user, now=now)
    db.session.rollback()
    page.reload()
    expect(card(page, "王小宝: 托小班")).to_contain_text("Place offered. Please answer by 2026-12-01 21:00")
    # The Messages inbox has the news; its link leads to the slot, where the family answers.
    menu().get_by_role("link", name="Messages (1 new)").click()
    news = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=re.compile("托小班")))
    expect(news).to_contain_text("Unread")
    expect(news).to_contain_text("王小宝")
    page.snap("offer")
    news.get_by_role("link", name="See the slot this is about").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("托小班")
    mine = card(page, "王小宝")
    expect(mine).to_contain_text("Place offered. Please answer by 2026-12-01 21:00")
    page.snap("offer-slot")
    mine.get_by_role("button", name="Accept the place").click()
    expect(status(page)).to_have_text(
        "王小宝, 托小班 at 艺涵托育园, 2026-12-04 08:30: the place is yours, confirmed.")
    expect(card(page, "王小宝: 托小班")).to_contain_text("Confirmed")

    # Cancel tomorrow's day care: the page asks first.
    card(page, "王秀英: 日间照料").get_by_role("link", name="Cancel this booking").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel 日间照料 for 王秀英?")
    page.snap("cancel-confirm")
    page.get_by_role("button", name="Yes, cancel it").click()
    expect(status(page)).to_have_text("王秀英, 日间照料 at 普康养老服务中心, 2026-12-02 08:30: cancelled.")
    expect(card(page, "王秀英: 日间照料")).to_have_count(0)
    page.snap("cancelled")

    # Switch the language with the header's button. The suite pins pages to English; from here the app chooses
    # as in production: this family registered in English, so English until they press 中文.
    monkeypatch.setitem(app.config, "FIXED_LANGUAGE", None)
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    chinese_menu = page.get_by_role("navigation", name="主菜单")
    expect(chinese_menu.get_by_role("link", name="我的家庭", exact=True)).to_be_visible()
    expect(chinese_menu.get_by_role("link", name="找服务", exact=True)).to_be_visible()
    expect(card(page, "王小宝：托小班")).to_contain_text("已确认")
    page.snap("chinese")
    db.session.rollback()
    assert db.session.scalar(sa.select(User.language).where(User.login == LOGIN)) == "zh_CN"
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(menu().get_by_role("link", name="My family", exact=True)).to_be_visible()

    db.session.rollback()
    statuses = dict(db.session.execute(sa.select(Booking.slot_id, Booking.status)
                                       .where(Booking.slot_id.in_([daycare_slot.id, class_slot.id]),
                                              Booking.recipient_id != theirs.id)).all())
    assert statuses == {daycare_slot.id: BookingStatus.cancelled, class_slot.id: BookingStatus.confirmed}
