"""Household rules: families register, add the people they care for and who may collect a child."""
from __future__ import annotations

from datetime import date, datetime

from careapp.accounts.models import Role, User
from careapp.accounts.services import new_user
from careapp.core import audit
from careapp.core.db import db, write_transaction
from careapp.core.errors import BadInput, Forbidden, NotFound
from careapp.district.models import Building
from careapp.households.models import NEED_FIELDS, AuthorisedAdult, CareRecipient, Household, RecipientKind


def register_family(*, login: str, password: str, name: str, building_id: int, now: datetime,
                    email: str | None = None, phone: str | None = None, unit: str | None = None) -> User:
    """A family registers itself: a household at a building and its first account, in one transaction."""
    name = (name or "").strip()
    if not name:
        raise BadInput("Please give your name.", fields={"name": "required"})
    with write_transaction():
        if db.session.get(Building, building_id) is None:
            raise BadInput("Please choose your building from the list.", fields={"building_id": "unknown building"})
        household = Household(name=name, building_id=building_id, unit=unit, created_at=now)
        db.session.add(household)
        db.session.flush()
        user = new_user(login=login, password=password, role=Role.family, name=name, now=now,
                        email=email, phone=phone, household_id=household.id)
        audit.record("household.registered", household, actor=user, now=now,
                     after={"building_id": building_id, "login": user.login})
        return user


def _check_recipient_fields(kind: RecipientKind, birth_date: date, ability_level: int | None, now: datetime) -> None:
    if birth_date > now.date():
        raise BadInput("The birth date is in the future.", fields={"birth_date": "in the future"})
    if birth_date.year < 1900:
        raise BadInput("Please check the birth date.", fields={"birth_date": "before 1900"})
    if ability_level is not None:
        if kind != RecipientKind.elder:
            raise BadInput("An ability level is assessed for elders only.", fields={"ability_level": "elders only"})
        if not 0 <= ability_level <= 4:
            raise BadInput("The ability level is 0 to 4 (GB/T 42195-2022).", fields={"ability_level": "0-4"})


def add_recipient(*, household_id: int, by: User, now: datetime, kind: RecipientKind, name: str,
                  birth_date: date, ability_level: int | None = None, needs: dict | None = None) -> CareRecipient:
    if not by.can_act_for_household(household_id):
        raise Forbidden("You may only add members to your own household.")
    name = (name or "").strip()
    if not name:
        raise BadInput("Please give the member's name.", fields={"name": "required"})
    _check_recipient_fields(kind, birth_date, ability_level, now)
    unknown = set(needs or {}) - set(NEED_FIELDS)
    if unknown:
        raise BadInput("Unknown needs: " + ", ".join(sorted(unknown)), fields={"needs": "unknown keys"})
    with write_transaction():
        if db.session.get(Household, household_id) is None:
            raise NotFound("No such household.")
        recipient = CareRecipient(household_id=household_id, kind=kind, name=name, birth_date=birth_date,
                                  ability_level=ability_level, created_at=now, **(needs or {}))
        db.session.add(recipient)
        db.session.flush()
        audit.record("recipient.added", recipient, actor=by, now=now,
                     after={"kind": kind, "name": name, "birth_date": birth_date.isoformat()})
        return recipient


def add_authorised_adult(*, child_id: int, by: User, now: datetime, name: str, relation: str,
                         phone: str | None = None) -> AuthorisedAdult:
    with write_transaction():
        child = db.session.get(CareRecipient, child_id)
        if child is None:
            raise NotFound("No such household member.")
        if not by.can_act_for_household(child.household_id):
            raise Forbidden("You may only change your own household.")
        if child.kind != RecipientKind.child:
            raise BadInput("Authorised adults collect children only.", fields={"child_id": "not a child"})
        if not (name or "").strip():
            raise BadInput("Please give the adult's name.", fields={"name": "required"})
        adult = AuthorisedAdult(child_id=child.id, name=name.strip(), relation=relation.strip(), phone=phone)
        db.session.add(adult)
        db.session.flush()
        audit.record("authorised_adult.added", adult, actor=by, now=now, after={"name": adult.name})
        return adult
