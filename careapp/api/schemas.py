"""Request and response shapes of the JSON API (pydantic v2); the OpenAPI document is generated from them.

Bounds here are about types and storage, not care rules: ids and counts fit PostgreSQL's
``integer``, text fits its column, times fit the years Python can compute with. Whether a
value is acceptable for the care rules is decided by the services and the engine.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema,
                      field_validator)

from careapp.core.validation import CONTROL_CHARACTERS, MAX_ID
from careapp.accounts.models import Role, User
from careapp.booking.models import Booking, BookingStatus, EndReason
from careapp.booking.queries import BookingView, SlotAvailability
from careapp.core.timefmt import local_date
from careapp.households.models import AuthorisedAdult, CareRecipient, DietTag, RecipientKind, SpecialGroup
from careapp.partners.models import (ChildClass, FillPolicy, MealTime, PartnerKind, PartnerOrganisation,
                                     ServiceKind, SessionLength, SlotStatus)

# Keeps local-time and offset arithmetic (one day either side) inside Python's years 1..9999.
MIN_YEAR, MAX_YEAR = 1900, 9998

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Count = Annotated[int, Field(ge=0, le=MAX_ID)]
Day = Annotated[date, Field(ge=date(MIN_YEAR, 1, 1), le=date(MAX_YEAR, 12, 31))]


def _in_utc(moment: datetime) -> datetime:
    try:
        moment = moment.astimezone(timezone.utc)
    except OverflowError:  # e.g. 9999-12-31T23:00-05:00 is past the last year Python knows
        raise ValueError(f"must be between the years {MIN_YEAR} and {MAX_YEAR}") from None
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise ValueError(f"must be between the years {MIN_YEAR} and {MAX_YEAR}")
    return moment


# Input: ISO 8601 with an offset ("2026-12-02T08:30:00+08:00"); a time without one is ambiguous.
DateTimeWithOffset = Annotated[AwareDatetime, AfterValidator(_in_utc)]
# Output: always UTC with an explicit offset, whatever zone the value was built in.
UtcTimestamp = Annotated[
    datetime,
    PlainSerializer(lambda moment: moment.astimezone(timezone.utc).isoformat(), return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class _Input(BaseModel):
    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        if isinstance(value, str) and CONTROL_CHARACTERS.search(value):
            raise ValueError("must not contain control characters")
        return value


class Body(_Input):
    """A JSON request body: JSON's own types only (no "5" for 5), no unknown fields (catches typos)."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


class Query(_Input):
    """Query parameters arrive as text, so numbers, dates and kinds are parsed from it; unknown names are refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


# The languages of messages (careapp.notifications.models.LANGUAGES).
Language = Literal["zh_CN", "en"]


class Out(BaseModel):
    """A response: built by the views from what the rules and read models return, never parsed from a client."""


class ErrorDetail(Out):
    code: str
    message: str
    fields: dict[str, str] = Field(description="The input fields at fault, each with what is wrong.")


class ErrorResponse(Out):
    error: ErrorDetail


# --- accounts ---

class TokenIn(Body):
    login: str = Field(min_length=1, max_length=120, description="Mobile number or e-mail address.")
    password: str = Field(min_length=1, max_length=256)


class TokenOut(Out):
    token: str = Field(description="Send as 'Authorization: Bearer TOKEN'. Shown once; only its hash is kept.")
    expires_at: UtcTimestamp


class MeOut(Out):
    id: int
    login: str
    name: str
    role: Role
    partner_id: int | None
    household_id: int | None
    language: Language = Field(description="The language of the account's messages.")

    @classmethod
    def of(cls, user: User) -> MeOut:
        return cls(id=user.id, login=user.login, name=user.name, role=user.role, partner_id=user.partner_id,
                   household_id=user.household_id, language=user.language)


class LanguageIn(Body):
    language: Language


# --- households ---

class FamilyIn(Body):
    login: str = Field(max_length=120, description="Mobile number (11 digits, 1[3-9]...) or e-mail address.")
    password: str = Field(max_length=256)
    name: str = Field(max_length=100)
    building_id: Id
    email: str | None = Field(None, max_length=120)
    phone: str | None = Field(None, max_length=20)
    unit: str | None = Field(None, max_length=50, description="Flat or room within the building.")


class FamilyOut(Out):
    user_id: int
    household_id: int


class BuildingQuery(Query):
    grid_id: Id | None = None
    q: str | None = Field(None, max_length=100, description="Part of the building's name.")


class BuildingOut(Out):
    id: int
    name: str
    address: str
    grid_id: int
    community_id: int
    latitude: float
    longitude: float


class Needs(Body):
    """What carers must know; travels to rosters. Lengths are those of the columns."""

    diet: str | None = Field(None, max_length=200)
    allergies: str | None = Field(None, max_length=200)
    mobility: str | None = Field(None, max_length=200)
    medication_notes: str | None = Field(None, max_length=500)
    emergency_contact_name: str | None = Field(None, max_length=100)
    emergency_contact_phone: str | None = Field(None, max_length=20)


class HouseholdQuery(Query):
    household_id: Id | None = Field(None, description="Community staff and admins: the household to act for.")


class RecipientIn(Body):
    household_id: Id | None = Field(None, description="Default: your own household. Staff acting on behalf: "
                                                      "required.")
    name: str = Field(max_length=100)
    kind: RecipientKind
    birth_date: date
    ability_level: Count | None = Field(None, description="Elders: GB/T 42195-2022 level, 0 (able) to 4.")
    needs: Needs | None = None
    diet_tags: list[DietTag] | None = Field(None, max_length=len(DietTag),
                                            description="Dietary needs the kitchen sees on every meal order.")
    special_group: SpecialGroup | None = Field(None, description="Elders: a group with an extra meal subsidy.")
    phone: str | None = Field(None, max_length=20, description="The member's own mobile (11 digits, 1[3-9]...), "
                                                               "for meal delivery.")


class MealNeedsIn(Body):
    """Only the fields sent change; null or "" clears a field."""

    diet_tags: list[DietTag] | None = Field(None, max_length=len(DietTag))
    special_group: SpecialGroup | None = None
    phone: str | None = Field(None, max_length=20)
    diet: str | None = Field(None, max_length=200)
    allergies: str | None = Field(None, max_length=200)


class RecipientOut(Out):
    id: int
    household_id: int
    kind: RecipientKind
    name: str
    birth_date: date
    ability_level: int | None
    needs: Needs
    diet_tags: list[DietTag]
    special_group: SpecialGroup | None
    phone: str | None

    @classmethod
    def of(cls, recipient: CareRecipient) -> RecipientOut:
        return cls(id=recipient.id, household_id=recipient.household_id, kind=recipient.kind, name=recipient.name,
                   birth_date=recipient.birth_date, ability_level=recipient.ability_level,
                   needs=Needs.model_construct(**recipient.needs), diet_tags=recipient.diet_tag_list,
                   special_group=recipient.special_group, phone=recipient.phone)


# --- partners ---

class PartnerIn(Body):
    name: str = Field(max_length=120)
    kind: PartnerKind
    phone: str | None = Field(None, max_length=20)


class ServicePointIn(Body):
    name: str = Field(max_length=120)
    address: str = Field(max_length=200)
    latitude: float
    longitude: float


class ServicePointOut(Out):
    id: int
    partner_id: int
    name: str
    address: str
    latitude: float
    longitude: float


class ServiceIn(Body):
    kind: ServiceKind
    name: str = Field(max_length=120)
    capacity: Count = Field(description="Places per slot unless a slot sets its own.")
    service_point_id: Id
    fill_policy: FillPolicy = FillPolicy.auto
    offer_hours: Count | None = Field(None, description="fill_policy offer: hours an offered place is held.")
    booking_cutoff_minutes: Count | None = Field(None, description="Minutes before the start; default: the kind's.")
    cancel_cutoff_minutes: Count | None = None
    min_age_years: Count | None = None
    max_age_years: Count | None = None
    min_age_months: Count | None = None
    max_age_months: Count | None = None
    ability_levels: list[Count] | None = Field(None, description="Accepted GB/T 42195-2022 levels; default: all.")
    description: str | None = Field(None, max_length=2000)
    room_id: Id | None = Field(None, description="A room of the service's point.")
    session_length: SessionLength | None = Field(None, description="Day care: half_day or full_day; childcare: "
                                                                   "also occasional or after_school.")
    lunch_included: bool | None = Field(None, description="Day care only.")
    transport: bool | None = Field(None, description="Day care only: the centre fetches and brings people home.")
    meal: MealTime | None = Field(None, description="Meal help: required (lunch or dinner); refused for others.")
    price_fen: Count | None = Field(None, description="Meal help: price of a meal before subsidy, in fen "
                                                      "(default: the MEAL_PRICE setting).")
    delivery_radius_m: Count | None = Field(None, description="Meal help: delivers within this many metres "
                                                              "(default: the MEAL_DELIVERY_RADIUS setting).")
    child_class: ChildClass | None = Field(None, description="Childcare only: the class.")
    class_size: Count | None = Field(None, description="Childcare only: most children (default: the standard's).")
    children_per_staff: Count | None = Field(None, description="Childcare only (default: the standard's ratio).")

    def settings(self) -> dict[str, Any]:
        """The optional settings that were given (an absent one keeps the kind's default)."""
        return self.model_dump(exclude_none=True, exclude={"kind", "name", "capacity", "service_point_id"})


class ServiceOut(Out):
    id: int
    partner_id: int
    service_point_id: int
    kind: ServiceKind
    name: str
    default_capacity: int
    fill_policy: FillPolicy
    offer_hours: int
    booking_cutoff_minutes: int | None
    cancel_cutoff_minutes: int | None
    min_age_years: int | None
    max_age_years: int | None
    min_age_months: int | None
    max_age_months: int | None
    ability_levels: list[int] | None
    active: bool
    room_id: int | None
    session_length: SessionLength | None
    lunch_included: bool
    transport: bool
    meal: MealTime | None
    price_fen: int | None
    delivery_radius_m: int | None
    child_class: ChildClass | None
    class_size: int | None
    children_per_staff: int | None


class PartnerOut(Out):
    id: int
    name: str
    kind: PartnerKind
    approved: bool
    phone: str | None
    service_points: list[ServicePointOut]
    services: list[ServiceOut]

    @classmethod
    def of(cls, partner: PartnerOrganisation) -> PartnerOut:
        return cls(**partner.as_dict(), phone=partner.phone,
                   service_points=[ServicePointOut(**point.as_dict()) for point in partner.service_points],
                   services=[ServiceOut(**service.as_dict()) for service in partner.services])


# --- slots and bookings ---

class SlotIn(Body):
    starts_at: DateTimeWithOffset
    ends_at: DateTimeWithOffset
    capacity: Count | None = Field(None, description="Default: the service's capacity.")


class CapacityIn(Body):
    capacity: Count


class SlotQuery(Query):
    kind: ServiceKind | None = None
    partner_id: Id | None = None
    service_id: Id | None = None
    date_from: Day | None = Field(None, description="Local date (the sub-district's zone), inclusive.")
    date_to: Day | None = Field(None, description="Local date, inclusive.")


class SlotOut(Out):
    id: int
    service_id: int
    service_name: str
    kind: ServiceKind
    partner_id: int
    partner_name: str
    service_point_id: int
    starts_at: UtcTimestamp
    ends_at: UtcTimestamp
    capacity: int
    status: SlotStatus
    confirmed: int = Field(description="Places taken (confirmed or attended).")
    offered: int
    waitlisted: int
    available: int

    @classmethod
    def of(cls, availability: SlotAvailability) -> SlotOut:
        return cls.model_validate(availability.as_dict())


class BookingIn(Body):
    recipient_id: Id
    needs_transport: bool | None = Field(None, description="Day care with transport: fetch and bring this person "
                                                           "home (接送). Refused where the service has none.")

    def options(self) -> dict[str, Any]:
        """The booking options that were given, as the service kind's policy takes them."""
        return self.model_dump(exclude_none=True, exclude={"recipient_id"})


class BookingQuery(Query):
    slot_id: Id | None = None


class AuthorisedAdultIn(Body):
    name: str = Field(min_length=1, max_length=100)
    relation: str = Field(min_length=1, max_length=50, description="e.g. 父亲, 外婆")
    phone: str | None = Field(None, max_length=20, description="A mainland mobile number.")


class AuthorisedAdultOut(Out):
    id: int
    child_id: int
    name: str
    relation: str
    phone: str | None
    active: bool = Field(description="false: taken off the list; staff may not hand the child to them.")

    @classmethod
    def of(cls, adult: AuthorisedAdult) -> AuthorisedAdultOut:
        return cls(id=adult.id, child_id=adult.child_id, name=adult.name, relation=adult.relation,
                   phone=adult.phone, active=adult.active)


class BookingOut(Out):
    id: int
    slot_id: int
    recipient_id: int
    recipient_name: str
    status: BookingStatus
    waitlist_position: int | None = Field(description="1 = next in line; only while waitlisted.")
    offer_expires_at: UtcTimestamp | None
    end_reason: EndReason | None
    service_id: int
    service_name: str
    kind: ServiceKind
    partner_id: int
    starts_at: UtcTimestamp
    ends_at: UtcTimestamp
    checked_in_at: UtcTimestamp | None
    checked_out_at: UtcTimestamp | None
    needs_transport: bool = Field(description="Day care: fetched and brought home (接送).")
    enrolment_id: int | None = Field(description="The standing enrolment that made it; null when booked by hand.")

    @classmethod
    def of(cls, booking: Booking, waitlist_position: int | None) -> BookingOut:
        slot, service = booking.slot, booking.slot.service
        return cls(id=booking.id, slot_id=slot.id, recipient_id=booking.recipient_id,
                   recipient_name=booking.recipient.name, status=booking.status, waitlist_position=waitlist_position,
                   offer_expires_at=booking.offer_expires_at, end_reason=booking.end_reason, service_id=service.id,
                   service_name=service.name, kind=service.kind, partner_id=service.partner_id,
                   starts_at=slot.starts_at, ends_at=slot.ends_at, checked_in_at=booking.checked_in_at,
                   checked_out_at=booking.checked_out_at, needs_transport=booking.needs_transport,
                   enrolment_id=booking.enrolment_id)


class RosterRecipientOut(Out):
    id: int
    name: str
    kind: RecipientKind
    age: int = Field(description="Whole years on the slot's local date.")
    age_months: int = Field(description="Whole months on the slot's local date (childcare counts these).")
    needs: Needs | None = Field(description="Health notes, allergies, mobility aid, emergency contact: shown to that "
                                            "partner's own staff only (null for anyone else).")


class HealthCheckOut(Out):
    temperature: float | None = Field(description="°C, taken at check-in.")
    notes: str | None


class CollectorOut(Out):
    id: int
    name: str
    relation: str


class RosterEntryOut(Out):
    booking_id: int
    recipient: RosterRecipientOut
    status: BookingStatus
    waitlist_position: int | None
    checked_in_at: UtcTimestamp | None
    checked_out_at: UtcTimestamp | None
    health_check: HealthCheckOut | None = Field(description="The morning health check; that partner's staff only.")
    collected_by: CollectorOut | None = Field(description="The authorised adult who collected the child; that "
                                                          "partner's staff only.")

    @classmethod
    def of(cls, view: BookingView, *, own_staff: bool) -> RosterEntryOut:
        """``own_staff``: the viewer works for the slot's partner, so sees needs, health checks and collectors."""
        booking, recipient = view.booking, view.booking.recipient
        day = local_date(booking.slot.starts_at)
        health = collector = None
        if own_staff and (booking.health_temperature is not None or booking.health_notes):
            temperature = float(booking.health_temperature) if booking.health_temperature is not None else None
            health = HealthCheckOut(temperature=temperature, notes=booking.health_notes)
        if own_staff and booking.collected_by is not None:
            adult = booking.collected_by
            collector = CollectorOut(id=adult.id, name=adult.name, relation=adult.relation)
        return cls(booking_id=booking.id, status=booking.status, waitlist_position=view.waitlist_position,
                   checked_in_at=booking.checked_in_at, checked_out_at=booking.checked_out_at,
                   health_check=health, collected_by=collector,
                   recipient=RosterRecipientOut(id=recipient.id, name=recipient.name, kind=recipient.kind,
                                                age=recipient.age_on(day), age_months=recipient.age_in_months_on(day),
                                                needs=Needs.model_construct(**recipient.needs) if own_staff else None))
