"""The data generator (`careapp bench-data`): the tiny scale on the test database (SQLite, or PostgreSQL when
CAREAPP_TEST_DATABASE_URL is set). The generated rows must look to the app as if its own rules made them:
tallies, capacity, waitlists, the care rules, the scheduler's sweeps, the pages and the booking engine."""
from __future__ import annotations

import hashlib
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask import current_app

from careapp import create_app
from careapp.accounts.models import Role, User
from careapp.benchdata import BENCH_PASSWORD, SCALES, community_staff_login, family_login, partner_manager_login
from careapp.benchdata.generate import TABLES, DatabaseNotEmpty, generate
from careapp.booking import engine
from careapp.booking.models import HOLDS_PLACE, TALLIES, Booking, BookingStatus
from careapp.booking.policies import policy_for
from careapp.core.db import db
from careapp.core.timefmt import local_date
from careapp.households.models import CareRecipient, Household, RecipientKind
from careapp.households.services import register_family
from careapp.meals.models import MealMode, MealOrder
from careapp.meals.policy import delivery_reach
from careapp.meals.pricing import subsidy_for
from careapp.partners.models import (PartnerOrganisation, Service, ServiceKind, ServicePoint, Slot, SlotPattern,
                                     SlotStatus)
from careapp.partners.services import open_coming_slots
from tests.conftest import base_config, empty_tables
from tests.page_helpers import login

TINY = SCALES["tiny"]
SEED = 7


@pytest.fixture
def generated(app, clock):
    made = generate(TINY, seed=SEED, now=clock.now(), progress=False)
    db.session.rollback()  # read what the generator's own connection committed
    return made


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def held(slot_id_column) -> sa.ScalarSelect:
    return (sa.select(sa.func.count()).select_from(Booking)
            .where(Booking.slot_id == slot_id_column, Booking.status.in_(HOLDS_PLACE)).scalar_subquery())


# --- what was made ---

def test_the_tiny_scale_holds_what_its_table_says(generated, clock):
    assert count(Household) == TINY.households
    assert count(CareRecipient, CareRecipient.kind == RecipientKind.elder) == TINY.elders
    assert count(CareRecipient, CareRecipient.kind == RecipientKind.child) == TINY.children
    assert count(PartnerOrganisation) == TINY.partners
    assert count(Service) == TINY.services
    assert count(User, User.role == Role.family) == TINY.households
    # One slot per pattern and matching day, the last OPEN_DAYS_AHEAD days ahead (as the scheduler keeps them).
    today = local_date(clock.now())
    last = today + timedelta(days=current_app.config["OPEN_DAYS_AHEAD"])
    days = [last - timedelta(days=n) for n in range(TINY.days)]
    weekdays = db.session.scalars(sa.select(SlotPattern.weekday)).all()
    assert count(Slot) == sum(day.weekday() == weekday for day in days for weekday in weekdays)
    first_start = db.session.scalar(sa.select(sa.func.min(Slot.starts_at)))
    assert local_date(first_start) == days[-1]
    # The printed counts are the database's.
    assert generated.rows["booking"] == count(Booking) > TINY.bookings / 3
    assert generated.rows["slot"] == count(Slot)
    assert sum(generated.statuses.values()) == count(Booking)
    # Every meal booking has its order (the kitchen sheet, statements and subsidy claims read them).
    meal_bookings = count(Booking, Booking.slot_id.in_(
        sa.select(Slot.id).join(Service).where(Service.kind == ServiceKind.meal)))
    assert count(MealOrder) == meal_bookings > 0


def test_every_slot_tally_is_the_count_of_its_bookings(generated):
    for column, statuses in TALLIES.items():
        counted = (sa.select(sa.func.count()).select_from(Booking)
                   .where(Booking.slot_id == Slot.id, Booking.status.in_(statuses)).scalar_subquery())
        wrong = db.session.scalar(sa.select(sa.func.count()).select_from(Slot)
                                  .where(getattr(Slot, column) != counted))
        assert wrong == 0, column
    assert db.session.scalar(sa.select(sa.func.sum(Slot.booked_count))) > 0
    assert db.session.scalar(sa.select(sa.func.sum(Slot.attended_count))) > 0


def test_no_slot_holds_more_than_its_places(generated):
    over = db.session.scalar(sa.select(sa.func.count()).select_from(Slot).where(held(Slot.id) > Slot.places))
    assert over == 0
    full = db.session.scalar(sa.select(sa.func.count()).select_from(Slot).where(held(Slot.id) == Slot.places))
    assert full > 0


def test_waitlists_are_in_arrival_order_and_only_where_slots_are_full(generated):
    rows = db.session.execute(
        sa.select(Booking.slot_id, Booking.waitlist_order, Booking.created_at)
        .where(Booking.waitlist_order.is_not(None)).order_by(Booking.slot_id, Booking.waitlist_order)).all()
    assert rows, "the tiny scale has waitlists"
    by_slot: dict[int, list] = {}
    for slot_id, order, created in rows:
        by_slot.setdefault(slot_id, []).append((order, created))
    for slot_id, entries in by_slot.items():
        orders = [order for order, _ in entries]
        assert orders == list(range(1, len(orders) + 1)), slot_id
        times = [created for _, created in entries]
        assert times == sorted(times), slot_id
    # Someone still waiting means every place is held.
    waiting_with_room = db.session.scalar(
        sa.select(sa.func.count()).select_from(Slot).where(
            sa.select(Booking.id).where(Booking.slot_id == Slot.id,
                                        Booking.status == BookingStatus.waitlisted).exists(),
            held(Slot.id) < Slot.places))
    assert waiting_with_room == 0


def test_nobody_has_two_live_bookings_in_one_slot_and_the_database_refuses_one(generated, clock):
    doubled = db.session.scalar(sa.select(sa.func.count()).select_from(
        sa.select(Booking.slot_id, Booking.recipient_id).where(Booking.status != BookingStatus.cancelled)
        .group_by(Booking.slot_id, Booking.recipient_id).having(sa.func.count() > 1).subquery()))
    assert doubled == 0
    live = db.session.scalar(sa.select(Booking).where(Booking.status == BookingStatus.confirmed).limit(1))
    db.session.add(Booking(slot_id=live.slot_id, recipient_id=live.recipient_id, status=BookingStatus.waitlisted,
                           created_at=clock.now(), updated_at=clock.now()))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_bookings_follow_the_care_rules_and_the_clock(generated, clock):
    """Each booking's member was eligible on the slot's day, booked while booking was open, and its state fits
    the time: nothing attended before the start, no confirmed place left unmarked after a checked slot ended."""
    now, config = clock.now(), current_app.config
    bookings = db.session.scalars(sa.select(Booking).options(
        sa.orm.joinedload(Booking.slot).joinedload(Slot.service), sa.orm.joinedload(Booking.recipient))).all()
    for booking in bookings:
        slot, policy = booking.slot, policy_for(booking.slot.service.kind)
        policy.check_eligible(booking.recipient, slot, config)
        assert slot.created_at <= booking.created_at < policy.booking_closes_at(slot), booking.id
        assert booking.created_at <= booking.updated_at <= now, booking.id
        if booking.status in (BookingStatus.checked_in, BookingStatus.checked_out, BookingStatus.no_show):
            assert slot.starts_at <= now and policy.marks_no_shows
        if booking.status == BookingStatus.confirmed and policy.marks_no_shows:
            assert slot.ends_at > now, booking.id
        if booking.status in (BookingStatus.waitlisted, BookingStatus.offered):
            assert now < policy.booking_closes_at(slot) and slot.status == SlotStatus.open
        if slot.status == SlotStatus.cancelled:
            assert booking.status == BookingStatus.cancelled
        if booking.status == BookingStatus.checked_out and slot.service.kind == ServiceKind.childcare:
            assert booking.collected_by.child_id == booking.recipient_id
    for order in db.session.scalars(sa.select(MealOrder)).all():
        booking = db.session.get(Booking, order.booking_id)
        service, day = booking.slot.service, local_date(booking.slot.starts_at)
        assert order.subsidy_fen == subsidy_for(booking.recipient, day, order.price_fen, config).fen
        if order.mode == MealMode.delivery:
            distance, radius = delivery_reach(booking.recipient, service, config)
            assert distance <= radius


def test_the_scheduler_finds_nothing_left_to_do(generated, clock):
    """Slots are open as far ahead as the scheduler keeps them, offers and waitlists are settled, and every
    ended slot has its no-shows marked: the generated history is what the scheduled jobs leave behind."""
    now = clock.now()
    assert open_coming_slots(now=now, days=current_app.config["OPEN_DAYS_AHEAD"]) == []
    assert engine.mark_no_shows(now=now) == 0
    assert engine.expire_offers(now=now) == 0
    assert engine.fill_free_places(now=now) == 0
    assert engine.close_waitlists(now=now) == 0


# --- reproducible, and never mixed with other data ---

CHECKED_TABLES = ("building", "household", "care_recipient", "service", "enrolment", "slot", "booking",
                  "meal_order")


def checksum() -> str:
    digest = hashlib.sha256()
    with db.engine.connect() as connection:
        for table in CHECKED_TABLES:
            for row in connection.exec_driver_sql(f'SELECT * FROM "{table}" ORDER BY 1'):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def test_the_same_seed_gives_the_same_data(app, clock):
    first = generate(TINY, seed=SEED, now=clock.now(), progress=False)
    same = checksum()
    db.session.remove()
    empty_tables()
    again = generate(TINY, seed=SEED, now=clock.now(), progress=False)
    assert checksum() == same and again.rows == first.rows and again.statuses == first.statuses
    db.session.remove()
    empty_tables()
    generate(TINY, seed=SEED + 1, now=clock.now(), progress=False)
    assert checksum() != same


def test_a_database_with_data_is_refused_and_left_as_it_was(generated, clock):
    before = {table: db.session.scalar(sa.text(f'SELECT count(*) FROM "{table}"')) for table in TABLES}
    with pytest.raises(DatabaseNotEmpty) as refused:
        generate(TINY, seed=SEED, now=clock.now(), progress=False)
    assert "booking" in refused.value.message and "empty database" in refused.value.message
    db.session.rollback()
    assert {table: db.session.scalar(sa.text(f'SELECT count(*) FROM "{table}"')) for table in TABLES} == before


def test_one_real_household_is_enough_to_refuse(app, clock):
    from tests.factories import World

    World.build(clock.now())
    with pytest.raises(DatabaseNotEmpty):
        generate(TINY, seed=SEED, now=clock.now(), progress=False)


def test_the_schema_is_as_the_migrations_left_it(app, clock):
    """On PostgreSQL the big tables' indexes and foreign keys are made again after loading: same names, same
    definitions."""
    def described(index: dict) -> str:
        return repr({**index, "dialect_options": {k: str(v) for k, v in index.get("dialect_options", {}).items()}})

    def schema() -> dict:
        inspector = sa.inspect(db.engine)
        return {table: (sorted(map(described, inspector.get_indexes(table))),
                        sorted(map(repr, inspector.get_foreign_keys(table))),
                        sorted(map(repr, inspector.get_unique_constraints(table))))
                for table in ("slot", "booking", "meal_order", "meal_order_dish")}

    before = schema()
    generate(TINY, seed=SEED, now=clock.now(), progress=False)
    db.session.remove()
    assert schema() == before


# --- the app works on the generated data ---

def test_generated_accounts_log_in_and_their_pages_answer(generated, client, clock):
    now = clock.now()
    household_id = db.session.scalar(
        sa.select(CareRecipient.household_id).join(Booking, Booking.recipient_id == CareRecipient.id)
        .join(Slot, Slot.id == Booking.slot_id)
        .where(Slot.starts_at > now, Booking.status == BookingStatus.confirmed).order_by(Booking.id).limit(1))
    family = db.session.scalar(sa.select(User).where(User.login == family_login(household_id)))
    login(client, family, BENCH_PASSWORD)
    home = client.get("/family/")
    assert home.status_code == 200
    member = db.session.scalar(sa.select(CareRecipient.name).where(CareRecipient.household_id == household_id))
    assert member in home.get_data(as_text=True)
    assert client.get("/booking/slots").status_code == 200

    canteen = db.session.scalar(sa.select(Service).where(Service.kind == ServiceKind.meal).order_by(Service.id))
    manager = db.session.scalar(sa.select(User).where(User.login == partner_manager_login(canteen.partner_id)))
    client_ = client.application.test_client()
    login(client_, manager, BENCH_PASSWORD)
    assert client_.get(f"/partners/{canteen.partner_id}").status_code == 200
    lunch = db.session.scalar(sa.select(Slot).where(Slot.service_id == canteen.id, Slot.starts_at > now)
                              .order_by(Slot.starts_at).limit(1))
    assert client_.get(f"/booking/slots/{lunch.id}").status_code == 200
    assert client_.get(f"/meals/slots/{lunch.id}/kitchen").status_code == 200
    point = db.session.scalar(sa.select(ServicePoint.id).where(ServicePoint.partner_id == canteen.partner_id))
    assert client_.get(f"/partners/points/{point}/day").status_code == 200

    staff = db.session.scalar(sa.select(User).where(User.login == community_staff_login(1)))
    grid_worker = client.application.test_client()
    login(grid_worker, staff, BENCH_PASSWORD)
    assert grid_worker.get("/community/").status_code == 200
    assert grid_worker.get("/community/coverage/").status_code == 200


def test_the_booking_engine_books_into_a_generated_slot(generated, clock):
    """After the generator's own ids, the app's next ids follow on (PostgreSQL: the sequences were moved)."""
    now = clock.now()
    last_booking = db.session.scalar(sa.select(sa.func.max(Booking.id)))
    slot = db.session.scalar(
        sa.select(Slot).join(Service).where(Service.kind == ServiceKind.activity, Service.min_age_years == 60,
                                           Slot.starts_at > now + timedelta(days=2), held(Slot.id) < Slot.places)
        .order_by(Slot.starts_at).limit(1))
    booked = sa.select(Booking.recipient_id).where(Booking.slot_id == slot.id,
                                                   Booking.status != BookingStatus.cancelled)
    elder = db.session.scalar(sa.select(CareRecipient).where(CareRecipient.kind == RecipientKind.elder,
                                                             CareRecipient.id.not_in(booked)).limit(1))
    family = db.session.scalar(sa.select(User).where(User.household_id == elder.household_id))
    tally = slot.booked_count
    result = engine.book(slot.id, elder.id, by=family, now=now)
    assert result.booking.status == BookingStatus.confirmed and result.booking.id == last_booking + 1
    db.session.refresh(slot)
    assert slot.booked_count == tally + 1
    # A new family registers beside the generated ones.
    building_id = db.session.scalar(sa.select(Household.building_id).limit(1))
    user = register_family(login="13912345678", password="a-new-password", name="新来的一家",
                           building_id=building_id, now=now)
    assert user.household_id == TINY.households + 1
    assert user.id == db.session.scalar(sa.select(sa.func.max(User.id)))


# --- the command ---

def test_the_command_generates_prints_the_counts_and_refuses_to_run_twice(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["bench-data", "--scale", "tiny", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "Generated the tiny scale (seed 3" in result.output and BENCH_PASSWORD in result.output
    db.session.rollback()
    assert f"booking {count(Booking):>10,}".replace(" ", "") in result.output.replace(" ", "")
    again = runner.invoke(args=["bench-data", "--scale", "tiny", "--seed", "3"])
    assert again.exit_code != 0 and "already holds data" in again.output and "Traceback" not in again.output


def test_the_command_pins_now_for_a_repeatable_run(app):
    result = app.test_cli_runner().invoke(args=["bench-data", "--scale", "tiny", "--now", "2026-06-01T10:30"])
    assert result.exit_code == 0, result.output
    assert "as of 2026-06-01 10:30" in result.output
    db.session.rollback()
    latest = db.session.scalar(sa.select(sa.func.max(Slot.starts_at)))
    assert local_date(latest) == date(2026, 6, 1) + timedelta(days=current_app.config["OPEN_DAYS_AHEAD"])


def test_the_command_wants_a_migrated_database(tmp_path):
    app = create_app(base_config("sqlite:///" + str(tmp_path / "empty.db")), instance_path=str(tmp_path / "i"))
    result = app.test_cli_runner().invoke(args=["bench-data", "--scale", "tiny"])
    assert result.exit_code != 0 and "run `careapp init-db` first" in result.output
    with app.app_context():
        db.engine.dispose()
