"""Household rules: families register, add the people they care for and who may collect a child."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from careapp.accounts.models import Role, User
from careapp.accounts.services import MOBILE, new_user
from careapp.core import audit
from careapp.core.db import db, write_transaction
from careapp.core.errors import Conflict, BadInput, Forbidden, NotFound
from careapp.core.i18n import gettext as _
from careapp.district.models import Building
from careapp.households.models import (NEED_FIELDS, AuthorisedAdult, CareRecipient, DietTag, Household,
                                       RecipientKind, SpecialGroup)

# What the kitchen, the subsidy and the delivery volunteers need of an elder, beside the care needs.
MEAL_PROFILE_FIELDS = ("diet_tags", "special_group", "phone")


def register_family(*, login: str, password: str, name: str, building_id: int, now: datetime,
                    email: str | None = None, phone: str | None = None, unit: str | None = None,
                    language: str = "zh_CN") -> User:
    """A family registers itself: a household at a building and its first account, in one transaction.
    ``language`` is the one the family registered in: their pages and messages stay in it."""
    name = (name or "").strip()
    if not name:
        raise BadInput(_("Please give your name."), fields={"name": "required"})
    with write_transaction():
        if db.session.get(Building, building_id) is None:
            raise BadInput(_("Please choose your building from the list."), fields={"building_id": "unknown building"})
        household = Household(name=name, building_id=building_id, unit=unit, created_at=now)
        db.session.add(household)
        db.session.flush()
        user = new_user(login=login, password=password, role=Role.family, name=name, now=now,
                        email=email, phone=phone, household_id=household.id, language=language)
        audit.record("household.registered", household, actor=user, now=now,
                     after={"building_id": building_id, "login": user.login})
        return user


def _check_recipient_fields(kind: RecipientKind, birth_date: date, ability_level: int | None, now: datetime) -> None:
    if birth_date > now.date():
        raise BadInput(_("The birth date is in the future."), fields={"birth_date": "in the future"})
    if birth_date.year < 1900:
        raise BadInput(_("Please check the birth date."), fields={"birth_date": "before 1900"})
    if ability_level is not None:
        if kind != RecipientKind.elder:
            raise BadInput(_("An ability level is assessed for elders only."), fields={"ability_level": "elders only"})
        if not 0 <= ability_level <= 4:
            raise BadInput(_("The ability level is 0 to 4 (GB/T 42195-2022)."), fields={"ability_level": "0-4"})


def diet_tags_text(tags: Iterable[str | DietTag] | None) -> str | None:
    """DietTag values as stored ("low_salt,soft", in the declared order); an unknown tag is bad input."""
    wanted = set()
    for tag in tags or ():
        try:
            wanted.add(DietTag(tag))
        except ValueError:
            raise BadInput(_("%(tag)s is not a dietary need; choose from %(tags)s.", tag=str(tag),
                             tags=", ".join(t.value for t in DietTag)), fields={"diet_tags": "unknown tag"}) from None
    return ",".join(tag.value for tag in DietTag if tag in wanted) or None


def _special_group(value: str | SpecialGroup | None) -> SpecialGroup | None:
    if value in (None, ""):
        return None
    try:
        return SpecialGroup(value)
    except ValueError:
        raise BadInput(_("Choose a special group from the list, or none."), fields={"special_group": "unknown"}) \
            from None


def mobile_number(phone: str | None) -> str | None:
    """A member's own phone: a mainland mobile number, 11 digits starting 13-19 (spaces and dashes ignored)."""
    number = "".join((phone or "").split()).replace("-", "")
    if not number:
        return None
    if not MOBILE.fullmatch(number):
        raise BadInput(_("Give a mobile number of 11 digits starting 13 to 19, for example 13912345678."),
                       fields={"phone": "11-digit mobile"})
    return number


def _meal_profile(values: dict[str, Any]) -> dict[str, Any]:
    """diet_tags, special_group and phone checked and in their stored form (only those given)."""
    checks = {"diet_tags": diet_tags_text, "special_group": _special_group, "phone": mobile_number}
    return {name: checks[name](value) for name, value in values.items()}


def add_recipient(*, household_id: int, by: User, now: datetime, kind: RecipientKind, name: str,
                  birth_date: date, ability_level: int | None = None, needs: dict | None = None,
                  diet_tags: Iterable[str] | None = None, special_group: str | SpecialGroup | None = None,
                  phone: str | None = None) -> CareRecipient:
    """Add a member. ``needs`` holds the care needs (NEED_FIELDS) and may also carry the meal profile
    (diet_tags, special_group, phone), which can be given as arguments too."""
    if not by.can_act_for_household(household_id):
        raise Forbidden(_("You may only add members to your own household."))
    name = (name or "").strip()
    if not name:
        raise BadInput(_("Please give the member's name."), fields={"name": "required"})
    _check_recipient_fields(kind, birth_date, ability_level, now)
    needs = dict(needs or {})
    unknown = set(needs) - set(NEED_FIELDS) - set(MEAL_PROFILE_FIELDS)
    if unknown:
        raise BadInput(_("Unknown needs: %(names)s", names=", ".join(sorted(unknown))),
                       fields={"needs": "unknown keys"})
    given = {"diet_tags": diet_tags, "special_group": special_group, "phone": phone}
    profile = _meal_profile({**{field: needs.pop(field) for field in MEAL_PROFILE_FIELDS if field in needs},
                             **{field: value for field, value in given.items() if value is not None}})
    if profile.get("special_group") is not None and kind != RecipientKind.elder:
        raise BadInput(_("A special group is recorded for elders only."), fields={"special_group": "elders only"})
    with write_transaction():
        if db.session.get(Household, household_id) is None:
            raise NotFound(_("No such household."))
        recipient = CareRecipient(household_id=household_id, kind=kind, name=name, birth_date=birth_date,
                                  ability_level=ability_level, created_at=now, **needs, **profile)
        db.session.add(recipient)
        db.session.flush()
        audit.record("recipient.added", recipient, actor=by, now=now,
                     after={"kind": kind, "name": name, "birth_date": birth_date.isoformat(), **profile})
        return recipient


MEAL_NEEDS = ("diet_tags", "special_group", "phone", "diet", "allergies")


def update_meal_needs(*, member_id: int, by: User, now: datetime, **changes: Any) -> CareRecipient:
    """Change what meal help needs to know of a member: diet_tags, special_group, phone, diet, allergies.
    Only the fields given change; an empty value clears one."""
    unknown = set(changes) - set(MEAL_NEEDS)
    if unknown:
        raise BadInput(_("Unknown fields: %(names)s", names=", ".join(sorted(unknown))),
                       fields={name: "unknown" for name in unknown})
    profile = _meal_profile({name: value for name, value in changes.items() if name in MEAL_PROFILE_FIELDS})
    for name in ("diet", "allergies"):
        if name in changes:
            text = (changes[name] or "").strip()
            if len(text) > 200:
                raise BadInput(_("At most 200 characters."), fields={name: "max 200"})
            profile[name] = text or None
    with write_transaction():
        member = db.session.get(CareRecipient, member_id)
        if member is None:
            raise NotFound(_("No such household member."))
        if not by.can_act_for_household(member.household_id):
            raise Forbidden(_("You may only change your own household."))
        if profile.get("special_group") is not None and member.kind != RecipientKind.elder:
            raise BadInput(_("A special group is recorded for elders only."), fields={"special_group": "elders only"})
        before = {name: getattr(member, name) for name in profile}
        for name, value in profile.items():
            setattr(member, name, value)
        audit.record("recipient.meal_needs_changed", member, actor=by, now=now, before=before, after=profile)
        return member


def add_authorised_adult(*, child_id: int, by: User, now: datetime, name: str, relation: str,
                         phone: str | None = None) -> AuthorisedAdult:
    with write_transaction():
        child = db.session.get(CareRecipient, child_id)
        if child is None:
            raise NotFound(_("No such household member."))
        if not by.can_act_for_household(child.household_id):
            raise Forbidden(_("You may only change your own household."))
        if child.kind != RecipientKind.child:
            raise BadInput(_("Authorised adults collect children only."), fields={"child_id": "not a child"})
        if not (name or "").strip():
            raise BadInput(_("Please give the adult's name."), fields={"name": "required"})
        adult = AuthorisedAdult(child_id=child.id, name=name.strip(), relation=(relation or "").strip(),
                                phone=mobile_number(phone))
        db.session.add(adult)
        db.session.flush()
        audit.record("authorised_adult.added", adult, actor=by, now=now, after={"name": adult.name})
        return adult


def remove_authorised_adult(adult_id: int, *, by: User, now: datetime) -> AuthorisedAdult:
    """Take an adult off a child's list: from now on staff may not hand the child to them. The row stays
    (inactive), so past check-outs still say who collected."""
    with write_transaction():
        adult = db.session.get(AuthorisedAdult, adult_id)
        if adult is None:
            raise NotFound(_("No such adult."))
        if not by.can_act_for_household(adult.child.household_id):
            raise Forbidden(_("You may only change your own household."))
        if not adult.active:
            raise Conflict(_("%(adult)s is already off %(child)s's list.", adult=adult.name, child=adult.child.name),
                           code="wrong_state")
        adult.active = False
        audit.record("authorised_adult.removed", adult, actor=by, now=now, before={"active": True},
                     after={"active": False})
        return adult
