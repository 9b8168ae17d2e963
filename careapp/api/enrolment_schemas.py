"""Request and response shapes of the standing-enrolment and day-care routes."""
from __future__ import annotations

from datetime import date, time
from typing import Annotated

from pydantic import Field

from careapp.api.schemas import Body, Day, Id, Out, Query, UtcTimestamp
from careapp.booking.models import BookingStatus, Enrolment, EnrolmentStatus
from careapp.daycare.queries import TransportRow
from careapp.enrolments.services import EnrolmentChange
from careapp.meals.models import MealMode
from careapp.partners.models import ServiceKind

Weekday = Annotated[int, Field(ge=0, le=6, description="0 = Monday ... 6 = Sunday")]


class EnrolmentQuery(Query):
    household_id: Id | None = Field(None, description="Community staff and admins: the household to act for "
                                                      "(required for them). Default: your own household.")


class EnrolmentIn(Body):
    recipient_id: Id
    service_id: Id
    weekdays: list[Weekday] = Field(min_length=1, max_length=7, description="Every week on these days.")
    starts_on: Day = Field(description="Local date, today or later.")
    ends_on: Day | None = Field(None, description="Last local date (inclusive); default: until ended.")
    start_time: time | None = Field(None, description="Only the session starting at this local time (e.g. "
                                                      "\"08:30:00\"); default: every session of the day.")
    needs_transport: bool | None = Field(None, description="Day care with transport: fetch and bring home (接送).")
    meal_mode: MealMode | None = Field(None, description="Meal help: required, how the meal comes.")

    def options(self) -> dict:
        chosen = {}
        if self.needs_transport is not None:
            chosen["needs_transport"] = self.needs_transport
        if self.meal_mode is not None:
            chosen["mode"] = self.meal_mode.value
        return chosen


class PauseIn(Body):
    resumes_on: Day = Field(description="The local date it starts again (after today).")


class EndIn(Body):
    ends_on: Day = Field(description="The last local date it runs: today ends it at once; a later day keeps it "
                                     "running until then.")


class EnrolmentOut(Out):
    id: int
    household_id: int
    recipient_id: int
    recipient_name: str
    service_id: int
    service_name: str
    kind: ServiceKind
    partner_id: int
    weekdays: list[int]
    start_time: time | None
    starts_on: date
    ends_on: date | None
    status: EnrolmentStatus
    resumes_on: date | None = Field(description="While paused: the day it starts again.")
    needs_transport: bool
    meal_mode: MealMode | None
    created_at: UtcTimestamp

    @classmethod
    def of(cls, enrolment: Enrolment) -> EnrolmentOut:
        service = enrolment.service
        return cls(id=enrolment.id, household_id=enrolment.recipient.household_id,
                   recipient_id=enrolment.recipient_id, recipient_name=enrolment.recipient.name,
                   service_id=service.id, service_name=service.name, kind=service.kind, partner_id=service.partner_id,
                   weekdays=enrolment.weekday_list, start_time=enrolment.start_time, starts_on=enrolment.starts_on,
                   ends_on=enrolment.ends_on, status=enrolment.status, resumes_on=enrolment.resumes_on,
                   needs_transport=enrolment.needs_transport,
                   meal_mode=MealMode(enrolment.meal_mode) if enrolment.meal_mode else None,
                   created_at=enrolment.created_at)


class BookedOut(Out):
    slot_id: int
    booking_id: int
    status: BookingStatus
    waitlist_position: int | None


class SkippedOut(Out):
    slot_id: int
    code: str = Field(description="Why not booked: the engine's refusal code, \"paused\" or \"already_booked\".")
    rule: str | None = Field(description="For code \"ineligible\": the rule, e.g. min_age.")
    message: str


class EnrolmentChangeOut(Out):
    enrolment: EnrolmentOut
    booked: list[BookedOut] = Field(description="Bookings made now (enrolling, resuming).")
    skipped: list[SkippedOut] = Field(description="Open slots it was not booked into, with the reason.")
    cancelled: int = Field(description="Bookings cancelled (pausing, ending).")
    kept_booking_ids: list[int] = Field(description="Confirmed bookings kept because cancelling had closed.")

    @classmethod
    def of(cls, change: EnrolmentChange) -> EnrolmentChangeOut:
        summary = change.summary
        return cls(enrolment=EnrolmentOut.of(change.enrolment),
                   booked=[BookedOut(slot_id=b.slot_id, booking_id=b.booking_id, status=b.status,
                                     waitlist_position=b.waitlist_position) for b in summary.booked],
                   skipped=[SkippedOut(slot_id=s.slot_id, code=s.code, rule=s.rule, message=s.message)
                            for s in summary.skipped],
                   cancelled=change.cancelled, kept_booking_ids=[booking.id for booking in change.kept])


class TransportQuery(Query):
    day: Day | None = Field(None, description="Local date; default today.")


class TransportEntryOut(Out):
    booking_id: int
    status: BookingStatus
    slot_id: int
    service_id: int
    service_name: str
    starts_at: UtcTimestamp
    ends_at: UtcTimestamp
    recipient_id: int
    name: str
    building: str
    address: str = Field(description="Building address, building name and flat.")
    phone: str | None = Field(description="The person's phone, else their emergency contact's; masked unless "
                                          "you are this partner's staff.")
    mobility: str | None

    @classmethod
    def of(cls, row: TransportRow, *, whole_phones: bool) -> TransportEntryOut:
        return cls(booking_id=row.booking.id, status=row.booking.status, slot_id=row.slot.id,
                   service_id=row.service.id, service_name=row.service.name, starts_at=row.slot.starts_at,
                   ends_at=row.slot.ends_at, recipient_id=row.recipient.id, name=row.recipient.name,
                   building=row.building.name, address=row.address, phone=row.phone_for(whole_phones) or None,
                   mobility=row.recipient.mobility)


