"""Families registering at a building and the members they book care for."""
from __future__ import annotations

from typing import Any

from pydantic import Field

from careapp.accounts.models import User
from careapp.api.registry import api, register_rate_limit
from careapp.api.schemas import (
    AuthorisedAdultIn,
    AuthorisedAdultOut,
    BuildingOut,
    BuildingQuery,
    FamilyIn,
    FamilyOut,
    HouseholdQuery,
    MealNeedsIn,
    Out,
    RecipientIn,
    RecipientOut,
)
from careapp.core.clock import now
from careapp.core.db import db
from careapp.core.errors import BadInput, Forbidden, NotFound
from careapp.core.i18n import gettext as _
from careapp.district.queries import find_buildings
from careapp.core.privacy import phone_for
from careapp.households.erasure import erase_household, may_erase
from careapp.households.export import household_data
from careapp.households.models import AuthorisedAdult, CareRecipient, RecipientKind
from careapp.households.queries import household_with_members
from careapp.households.services import (
    add_authorised_adult,
    add_recipient,
    register_family,
    remove_authorised_adult,
    update_meal_needs,
)


@api.route("POST", "/families", summary="Register a household at a building, with its first account", auth=False,
           status=201, body=FamilyIn, response=FamilyOut, errors=(409,), rate_limit=register_rate_limit)
def register(body: FamilyIn) -> FamilyOut:
    user = register_family(login=body.login, password=body.password, name=body.name, building_id=body.building_id,
                           email=body.email, phone=body.phone, unit=body.unit, now=now())
    return FamilyOut(user_id=user.id, household_id=user.household_id)


@api.route("GET", "/buildings", summary="Buildings to register at, by grid and part of the name", auth=False,
           query=BuildingQuery, response=list[BuildingOut])
def buildings(query: BuildingQuery) -> list[BuildingOut]:
    return [BuildingOut(**building.as_dict())
            for building in find_buildings(grid_id=query.grid_id, name_contains=query.q)]


def _recipient_out(user: User, recipient: CareRecipient) -> RecipientOut:
    """A member as ``user`` may see them: phones whole for the household itself, masked for staff acting for it."""
    out = RecipientOut.of(recipient)
    needs = out.needs.model_copy(update={"emergency_contact_phone": phone_for(
        user, recipient, recipient.emergency_contact_phone) or None})
    return out.model_copy(update={"phone": phone_for(user, recipient) or None, "needs": needs})


def _adult_out(user: User, adult: AuthorisedAdult) -> AuthorisedAdultOut:
    return AuthorisedAdultOut.of(adult).model_copy(update={"phone": phone_for(user, adult) or None})


def _household_for(user: User, household_id: int | None) -> int:
    """The household a request is about: the one named, else the caller's own."""
    household_id = household_id if household_id is not None else user.household_id
    if household_id is None:
        raise BadInput(_("Say which household this is for."), fields={"household_id": "required"})
    return household_id


@api.route("GET", "/recipients", summary="A household's members (your own, or one you act for)",
           query=HouseholdQuery, response=list[RecipientOut], errors=(403, 404))
def recipients(user: User, query: HouseholdQuery) -> list[RecipientOut]:
    household_id = _household_for(user, query.household_id)
    # Access first: whether another household exists is none of a family's business.
    if not user.can_act_for_household(household_id):
        raise Forbidden(_("You may only see your own household."))
    household = household_with_members(household_id)
    if household is None:
        raise NotFound(_("No such household."))
    return [_recipient_out(user, member) for member in household.members]


@api.route("POST", "/recipients", summary="Add an elder or a child to a household", status=201,
           body=RecipientIn, response=RecipientOut, errors=(403, 404))
def create_recipient(user: User, body: RecipientIn) -> RecipientOut:
    recipient = add_recipient(household_id=_household_for(user, body.household_id), by=user, now=now(),
                              kind=body.kind, name=body.name, birth_date=body.birth_date,
                              ability_level=body.ability_level,
                              needs=body.needs.model_dump(exclude_none=True) if body.needs else None,
                              diet_tags=body.diet_tags, special_group=body.special_group, phone=body.phone)
    return _recipient_out(user, recipient)


@api.route("PATCH", "/recipients/{recipient_id}/meal-needs", body=MealNeedsIn, response=RecipientOut,
           errors=(403,), summary="Change a member's dietary needs, allergies, subsidy group or own phone")
def change_meal_needs(user: User, recipient_id: int, body: MealNeedsIn) -> RecipientOut:
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise BadInput(_("Give at least one field to change."))
    return _recipient_out(user, update_meal_needs(member_id=recipient_id, by=user, now=now(), **changes))


# --- who may collect a child ---

def _child_for(user: User, recipient_id: int) -> CareRecipient:
    child = db.session.get(CareRecipient, recipient_id)
    if child is None:
        raise NotFound(_("No such household member."))
    if not user.can_act_for_household(child.household_id):
        raise Forbidden(_("You may only see your own household."))
    if child.kind != RecipientKind.child:
        raise NotFound(_("Only a child has adults who may collect them."))
    return child


@api.route("GET", "/recipients/{recipient_id}/authorised-adults", response=list[AuthorisedAdultOut],
           errors=(403,), summary="The adults who may collect a child (the family's list; removed ones included)")
def authorised_adults(user: User, recipient_id: int) -> list[AuthorisedAdultOut]:
    child = _child_for(user, recipient_id)
    return [_adult_out(user, adult) for adult in child.authorised_adults]


@api.route("POST", "/recipients/{recipient_id}/authorised-adults", status=201, body=AuthorisedAdultIn,
           response=AuthorisedAdultOut, errors=(403,), summary="Add an adult who may collect a child")
def add_adult(user: User, recipient_id: int, body: AuthorisedAdultIn) -> AuthorisedAdultOut:
    adult = add_authorised_adult(child_id=_child_for(user, recipient_id).id, by=user, now=now(), name=body.name,
                                 relation=body.relation, phone=body.phone)
    return _adult_out(user, adult)


@api.route("POST", "/authorised-adults/{adult_id}/remove", response=AuthorisedAdultOut, errors=(403, 409),
           summary="Take an adult off a child's list: staff may no longer hand the child to them")
def remove_adult(user: User, adult_id: int) -> AuthorisedAdultOut:
    return _adult_out(user, remove_authorised_adult(adult_id, by=user, now=now()))


# --- the household's own data (PIPL; docs/privacy.md) ---

@api.route("GET", "/households/{household_id}/export", response=dict[str, Any], errors=(403, 404),
           summary="Everything careapp holds about a household, as one JSON document (the household itself)")
def export_household(user: User, household_id: int) -> dict[str, Any]:
    if not may_erase(user, household_id):
        raise Forbidden(_("Only the household itself may download or delete its data."))
    return household_data(household_id, now=now())


class ErasureOut(Out):
    household_id: int
    bookings_cancelled: int = Field(description="Bookings still to come, cancelled (freed places went to the "
                                                "waiting list).")
    bookings_kept: int = Field(description="Bookings past their cancellation cutoff: kept, under a number.")
    enrolments_ended: int
    accounts_closed: int = Field(description="The household's accounts, closed; their tokens are revoked.")


@api.route("POST", "/households/{household_id}/erase", response=ErasureOut, errors=(403, 404, 409),
           summary="Delete a household's data at once: anonymised, keeping what the statistics count "
                   "(the household itself; cannot be undone)")
def erase(user: User, household_id: int) -> ErasureOut:
    erasure = erase_household(household_id, by=user, now=now())
    return ErasureOut(household_id=erasure.household_id, bookings_cancelled=erasure.bookings_cancelled,
                      bookings_kept=erasure.bookings_kept, enrolments_ended=erasure.enrolments_ended,
                      accounts_closed=erasure.accounts_closed)
