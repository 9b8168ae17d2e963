"""The monthly service statistics report a sub-district sends up to its district: people served and services
delivered by service kind, community and age band, new enrolments, and the waiting list at the month's end.

Every number is defined in docs/monthly-report.md. In short, for a calendar month in the sub-district's zone:

- a service delivered is a booking of a slot starting in the month that was attended (checked in, or in and
  out); meal help also counts a meal served as the canteens' subsidy claims count it;
- people are distinct household members, counted in the community of their home and in their age band on the
  month's last day;
- a new enrolment is a standing booking made in the month;
- someone is waiting when, at the month's last instant, one of their bookings was on a waiting list for a slot
  that had not started (taken from the audit trail, so a later promotion does not rewrite the past).

The rule takes the month, the zone and ``now`` as arguments and never reads the request or the app's settings.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.styles import Font

from careapp.booking.models import Booking, BookingStatus, Enrolment
from careapp.booking.policies import policy_for
from careapp.core.audit import AuditEntry
from careapp.core.db import db
from careapp.core.exports import append_rows, set_widths
from careapp.core.i18n import gettext as _, short_date
from careapp.coverage.bands import SHOWN, AgeBand, band_column
from careapp.district.models import Building, Community, Grid
from careapp.households.models import CareRecipient, Household
from careapp.booking.models import ATTENDED
from careapp.core.months import Month
from careapp.meals.billing import served
from careapp.partners.models import Service, ServiceKind, Slot

# The smallest step of a stored time: the month's last instant is one before the next month's first.
INSTANT = timedelta(microseconds=1)


# --- the definitions, as SQL ---

def delivered(now: datetime) -> sa.ColumnElement[bool]:
    """A service delivered, over Booking joined to its Slot and Service: attended in every kind. Meal help
    also counts a meal that stayed booked until its meal time was over (canteens do not check each elder in),
    by the one definition of a meal served, so this report and the canteens' subsidy claims agree."""
    return sa.or_(Booking.status.in_(ATTENDED), sa.and_(Service.kind == ServiceKind.meal, served(now)))


def on_waiting_list_at(moment: datetime) -> sa.ColumnElement[bool]:
    """A booking on its slot's waiting list at ``moment``, for a slot not started by then.

    A booking joins a waiting list only when it is made (``waitlist_order`` is set then and kept), and it
    leaves at its first status change away from waitlisted (promoted, offered or ended), which the booking
    engine audits in the same transaction: so the state at any past moment is exact."""
    left = sa.select(AuditEntry.id).where(
        AuditEntry.object_type == Booking.__tablename__, AuditEntry.object_id == Booking.id,
        AuditEntry.before["status"].as_string() == BookingStatus.waitlisted.value, AuditEntry.at <= moment)
    return sa.and_(Booking.waitlist_order.is_not(None), Booking.created_at <= moment, Slot.starts_at > moment,
                   ~left.exists())


def _at_home(stmt: sa.Select, recipient_id: sa.ColumnElement[int], month: Month) -> sa.Select:
    """Add the person's id, home community and age band (on the month's last day) to ``stmt``: what every table
    of the report is grouped by."""
    return (stmt.add_columns(CareRecipient.id.label("recipient_id"), Grid.community_id.label("community_id"),
                             band_column(month.last_day).label("band"))
            .join(CareRecipient, CareRecipient.id == recipient_id)
            .join(Household, Household.id == CareRecipient.household_id)
            .join(Building, Building.id == Household.building_id)
            .join(Grid, Grid.id == Building.grid_id))


def _bookings(*where: sa.ColumnElement[bool], month: Month) -> sa.Subquery:
    stmt = (sa.select(Service.kind.label("kind"), Booking.id.label("item")).select_from(Booking)
            .join(Slot, Slot.id == Booking.slot_id).join(Service, Service.id == Slot.service_id))
    return _at_home(stmt, Booking.recipient_id, month).where(*where).subquery()


def _enrolments(*where: sa.ColumnElement[bool], month: Month) -> sa.Subquery:
    stmt = (sa.select(Service.kind.label("kind"), Enrolment.id.label("item")).select_from(Enrolment)
            .join(Service, Service.id == Enrolment.service_id))
    return _at_home(stmt, Enrolment.recipient_id, month).where(*where).subquery()


def _tally(facts: sa.Subquery, *keys: str) -> dict[tuple, tuple[int, int]]:
    """(distinct people, rows) per value of ``keys``: one grouped query. The band is grouped in this outer
    query, not where it is computed, because PostgreSQL cannot tell two bound copies of its CASE are equal."""
    columns = [facts.c[key] for key in keys]
    stmt = sa.select(*columns, sa.func.count(sa.distinct(facts.c.recipient_id)), sa.func.count(facts.c.item))
    return {tuple(row[:-2]): (row[-2], row[-1]) for row in db.session.execute(stmt.group_by(*columns))}


# --- the statistics ---

def _matches(key: tuple, wanted: tuple) -> bool:
    return all(want is None or part == want for part, want in zip(key, wanted))


@dataclass(frozen=True)
class MonthlyStatistics:
    """The month's numbers, keyed by (service kind, community id, band key) or a prefix of it; the totals
    below add them up, which is exact because each person has one home community and one band."""

    month: Month
    generated_at: datetime  # local time
    complete: bool          # the month is over
    waiting_at: datetime    # local time: the month's last instant, or now while the month runs
    communities: tuple[tuple[int, str], ...]
    served: Mapping[tuple, tuple[int, int]]    # (kind, community, band) -> (people, services)
    served_any: Mapping[tuple, int]            # (community, band) -> people served by any kind of service
    enrolments: Mapping[tuple, int]            # (kind, community, band) -> new enrolments
    waiting: Mapping[tuple, int]               # (kind, community) -> people waiting
    waiting_any: Mapping[tuple, int]           # (community,) -> people waiting for any kind

    def people_served(self, kind: ServiceKind | None = None, community: int | None = None,
                      band: str | None = None) -> int:
        if kind is None:  # someone served by two kinds is one person
            return sum(people for key, people in self.served_any.items() if _matches(key, (community, band)))
        return sum(people for key, (people, _count) in self.served.items() if _matches(key, (kind, community, band)))

    def services(self, kind: ServiceKind | None = None, community: int | None = None, band: str | None = None) -> int:
        return sum(count for key, (_people, count) in self.served.items() if _matches(key, (kind, community, band)))

    def new_enrolments(self, kind: ServiceKind | None = None, community: int | None = None,
                       band: str | None = None) -> int:
        return sum(count for key, count in self.enrolments.items() if _matches(key, (kind, community, band)))

    def people_waiting(self, kind: ServiceKind | None = None, community: int | None = None) -> int:
        if kind is None:
            return sum(people for key, people in self.waiting_any.items() if _matches(key, (community,)))
        return sum(people for key, people in self.waiting.items() if _matches(key, (kind, community)))

    def bands_of(self, kind: ServiceKind) -> list[AgeBand]:
        """The bands the kind serves, and any other that has numbers (a member whose kind was changed)."""
        return [band for band in SHOWN if policy_for(kind).serves(band.kind)
                or self.services(kind, band=band.key) or self.new_enrolments(kind, band=band.key)]


def monthly_statistics(month: Month, *, zone: ZoneInfo, now: datetime) -> MonthlyStatistics:
    """The month's statistics in six queries, however many bookings there are."""
    start, end = month.bounds(zone)
    moment = min(end - INSTANT, now)
    served_rows = _bookings(Slot.starts_at >= start, Slot.starts_at < end, delivered(now), month=month)
    waiting_rows = _bookings(on_waiting_list_at(moment), month=month)
    new_rows = _enrolments(Enrolment.created_at >= start, Enrolment.created_at < end, month=month)
    # Sorted here, by code point: a database's collation would order Chinese names differently per engine.
    communities = sorted(db.session.execute(sa.select(Community.id, Community.name)), key=lambda row: row.name)
    return MonthlyStatistics(
        month=month, generated_at=now.astimezone(zone), complete=now >= end, waiting_at=moment.astimezone(zone),
        communities=tuple((community_id, name) for community_id, name in communities),
        served=_tally(served_rows, "kind", "community_id", "band"),
        served_any={key: people for key, (people, _count) in _tally(served_rows, "community_id", "band").items()},
        enrolments={key: count for key, (_people, count) in _tally(new_rows, "kind", "community_id", "band").items()},
        waiting={key: people for key, (people, _count) in _tally(waiting_rows, "kind", "community_id").items()},
        waiting_any={key: people for key, (people, _count) in _tally(waiting_rows, "community_id").items()})


# --- the tables, as the page and the spreadsheet both show them ---

@dataclass(frozen=True)
class Table:
    key: str           # the page's anchor
    sheet: str         # the spreadsheet's sheet name (31 characters at most)
    title: str
    headers: tuple[str, ...]
    rows: list[tuple]  # words first, then numbers
    total: tuple

    @property
    def words(self) -> int:
        """How many columns, from the left, hold words rather than numbers."""
        return sum(isinstance(value, str) for value in self.total)


def tables(stats: MonthlyStatistics, labels: Mapping[str, Mapping[Any, str]]) -> list[Table]:
    """The report's four tables, in the language of the request. ``labels`` are the page's words for service and
    member kinds."""
    # Plain text (a lazy label read outside a request would not go into a spreadsheet cell).
    kind_label, member_label = ({key: str(label) for key, label in labels[table].items()}
                                for table in ("service_kind", "recipient_kind"))
    waiting = _("People waiting at month end") if stats.complete else _("People waiting now")
    measures = (_("People served"), _("Services delivered"), _("New enrolments"), waiting)
    service, community_, all_services, all_communities = _("Service"), _("Community"), _("All services"), \
        _("All communities")

    def numbers(kind: ServiceKind | None = None, community: int | None = None) -> tuple[int, ...]:
        return (stats.people_served(kind, community), stats.services(kind, community),
                stats.new_enrolments(kind, community), stats.people_waiting(kind, community))

    total = numbers()
    by_band = [(kind_label[kind], name, _("%(kind)s: %(band)s", kind=member_label[band.kind], band=band.label),
                stats.people_served(kind, community, band.key), stats.services(kind, community, band.key),
                stats.new_enrolments(kind, community, band.key))
               for kind in ServiceKind for community, name in stats.communities for band in stats.bands_of(kind)]
    return [
        Table("summary", _("Summary"), _("By kind of service"), (service, *measures),
              [(kind_label[kind], *numbers(kind)) for kind in ServiceKind], (all_services, *total)),
        Table("communities", _("By community"), _("By community (all services)"), (community_, *measures),
              [(name, *numbers(community=community)) for community, name in stats.communities],
              (all_communities, *total)),
        Table("bands", _("By age band"), _("By kind of service, community and age band"),
              (service, community_, _("Age band"), *measures[:3]), by_band,
              (all_services, all_communities, _("All ages"), *total[:3])),
        Table("waiting", _("Waiting list"), _("Waiting lists by kind of service and community"),
              (service, community_, waiting),
              [(kind_label[kind], name, stats.people_waiting(kind, community))
               for kind in ServiceKind for community, name in stats.communities],
              (all_services, all_communities, total[3])),
    ]


def describe(stats: MonthlyStatistics) -> str:
    """The line under the title: what the month, the ages and the waiting list are taken at."""
    month = {"month": str(stats.month), "first": short_date(stats.month.first_day),
             "last": short_date(stats.month.last_day), "made": _moment(stats.generated_at)}
    if stats.complete:
        return _("Month %(month)s (%(first)s to %(last)s). Ages on %(last)s. Waiting lists at the month's end. "
                 "Made %(made)s.", **month)
    return _("Month %(month)s (%(first)s to %(last)s). Ages on %(last)s. Waiting lists at %(waiting)s (month not "
             "over). Made %(made)s.", waiting=_moment(stats.waiting_at), **month)


def _moment(local: datetime) -> str:
    """A local moment as the report writes it: 2026-12-01 09:00 / 2026年12月1日 09:00 (already in the report's zone,
    which may not be the app's)."""
    return f"{short_date(local.date())} {local:%H:%M}"


# --- the spreadsheet ---

def monthly_workbook(stats: MonthlyStatistics, report: list[Table], *, sub_district: str) -> bytes:
    """The report as an .xlsx, one sheet per table: a title naming the sub-district and month, the header row
    frozen, numbers as numbers, the total row in bold. Words that a spreadsheet would run as a formula are
    neutralised (names come from users)."""
    book = Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    for table in report:
        sheet = book.create_sheet(table.sheet)
        append_rows(sheet, [[_("Monthly service statistics: %(sub_district)s, %(month)s", sub_district=sub_district,
                               month=stats.month.label)], [table.title],
                            [describe(stats)], [None]])
        header = sheet.max_row + 1
        append_rows(sheet, [table.headers, *table.rows, table.total])
        sheet["A1"].font = Font(bold=True, size=14)
        for cell in (*sheet[header], *sheet[sheet.max_row]):
            cell.font = bold
        sheet.freeze_panes = sheet.cell(row=header + 1, column=1)
        set_widths(sheet, [min(40, max(10, *(_width(value) + 2 for value in column)))
                           for column in zip(table.headers, *table.rows, table.total)])
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _width(value: object) -> int:
    """Characters a cell needs: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in str(value))
