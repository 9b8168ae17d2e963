"""Request and response shapes of the shift, volunteer, day-roster, childcare-staffing and attendance routes."""
from __future__ import annotations

from datetime import date, time

from pydantic import Field

from careapp.api.schemas import Body, Count, Day, Id, Out, Query, RosterEntryOut, UtcTimestamp
from careapp.booking.queries import SlotAvailability
from careapp.partners.models import ChildClass, ServiceKind, SessionLength, ShiftRole, SlotStatus, Volunteer
from careapp.partners.roster_queries import DayRoster, ShiftView, person_name

LocalTime = time  # a wall-clock time in the sub-district's zone, e.g. "08:00"


# --- attendance (optional bodies: these routes took none at first) ---

class CheckInIn(Body):
    temperature: float | None = Field(None, description="The morning health check, °C (34.0-43.0).")
    health_notes: str | None = Field(None, max_length=500)


class CheckOutIn(Body):
    collected_by: Id | None = Field(None, description="Childcare: the id of one of the child's authorised adults. "
                                                      "Required there; anyone else is refused and the attempt logged.")


# --- shifts and volunteers ---

class ShiftIn(Body):
    day: Day = Field(description="Local date.")
    start_time: LocalTime = Field(description="Local time, e.g. 08:00.")
    end_time: LocalTime = Field(description="Local time, after start_time on the same day.")
    role: ShiftRole = Field(description="staff: worked by the partner's staff accounts (they count towards a "
                                        "childcare class's ratio); volunteer: by its volunteers.")
    title: str = Field(max_length=100)
    min_people: Count = Field(1, description="Fewer people than this flags the shift as below minimum.")
    max_people: Count = Field(1, description="No more people than this may be on it.")
    service_id: Id | None = Field(None, description="The class or service it staffs; must be at this service point.")


class ShiftPatch(Body):
    """Only the fields given change; ``service_id: null`` makes it a shift of the point in general."""

    day: Day | None = None
    start_time: LocalTime | None = None
    end_time: LocalTime | None = None
    role: ShiftRole | None = None
    title: str | None = Field(None, max_length=100)
    min_people: Count | None = None
    max_people: Count | None = None
    service_id: Id | None = None


class ShiftQuery(Query):
    day: Day | None = Field(None, description="Local date; default: today and the six days after it.")


class AssignmentIn(Body):
    """Exactly one of the two: a staff account for a staff shift, a volunteer for a volunteer shift."""

    user_id: Id | None = None
    volunteer_id: Id | None = None


class ShiftPersonOut(Out):
    assignment_id: int
    user_id: int | None
    volunteer_id: int | None
    name: str


class ShiftOut(Out):
    id: int
    service_point_id: int
    service_id: int | None
    day: date
    start_time: LocalTime
    end_time: LocalTime
    role: ShiftRole
    title: str
    min_people: int
    max_people: int
    people: list[ShiftPersonOut]
    below_minimum: bool = Field(description="Fewer people than min_people are on it.")

    @classmethod
    def of(cls, view: ShiftView) -> ShiftOut:
        shift = view.shift
        return cls(id=shift.id, service_point_id=shift.service_point_id, service_id=shift.service_id, day=shift.day,
                   start_time=shift.start_time, end_time=shift.end_time, role=shift.role, title=shift.title,
                   min_people=shift.min_people, max_people=shift.max_people, below_minimum=view.below_minimum,
                   people=[ShiftPersonOut(assignment_id=a.id, user_id=a.user_id, volunteer_id=a.volunteer_id,
                                          name=person_name(a)) for a in view.people])


class VolunteerIn(Body):
    name: str = Field(max_length=100)
    phone: str | None = Field(None, max_length=20)


class VolunteerOut(Out):
    id: int
    partner_id: int
    name: str
    phone: str | None
    active: bool

    @classmethod
    def of(cls, volunteer: Volunteer) -> VolunteerOut:
        return cls(id=volunteer.id, partner_id=volunteer.partner_id, name=volunteer.name, phone=volunteer.phone,
                   active=volunteer.active)


# --- day roster and childcare staffing ---

class DayQuery(Query):
    day: Day | None = Field(None, description="Local date; default: today.")


class StaffedSlotOut(Out):
    id: int
    service_id: int
    service_name: str
    kind: ServiceKind
    child_class: ChildClass | None
    session_length: SessionLength | None
    starts_at: UtcTimestamp
    ends_at: UtcTimestamp
    status: SlotStatus
    capacity: int = Field(description="The places offered (for childcare, at most the class size).")
    staffed_places: int | None = Field(description="What the staff rostered for the class allow (staff x children "
                                                   "per staff member); null where staffing does not limit places.")
    places: int = Field(description="The smaller of capacity and staffed_places: new bookings fit within it.")
    confirmed: int
    offered: int
    waitlisted: int
    available: int
    understaffed: bool = Field(description="More places are held than the staff allow: booked children keep "
                                           "theirs, new bookings wait, and the partner must roster more staff.")

    @classmethod
    def of(cls, row: SlotAvailability) -> StaffedSlotOut:
        slot, service = row.slot, row.service
        return cls(id=slot.id, service_id=service.id, service_name=service.name, kind=service.kind,
                   child_class=service.child_class, session_length=service.session_length, starts_at=slot.starts_at,
                   ends_at=slot.ends_at, status=slot.status, capacity=slot.capacity,
                   staffed_places=slot.staffed_places, places=slot.places, confirmed=row.confirmed,
                   offered=row.offered, waitlisted=row.waitlisted, available=row.available,
                   understaffed=row.understaffed)


class DaySlotOut(Out):
    slot: StaffedSlotOut
    people: list[RosterEntryOut]


class DayRosterOut(Out):
    service_point_id: int
    day: date
    slots: list[DaySlotOut] = Field(description="Who is coming, slot by slot.")
    shifts: list[ShiftOut] = Field(description="Who is working.")

    @classmethod
    def of(cls, roster: DayRoster, *, own_staff: bool) -> DayRosterOut:
        return cls(service_point_id=roster.point.id, day=roster.day,
                   slots=[DaySlotOut(slot=StaffedSlotOut.of(item.row),
                                     people=[RosterEntryOut.of(view, own_staff=own_staff) for view in item.people])
                          for item in roster.slots],
                   shifts=[ShiftOut.of(view) for view in roster.shifts])
