"""Showing residents' data to those who need less of it (PIPL: the least data the work needs).

Who sees a resident's phone number whole is decided in one place, ``sees_whole_phone``; every page, export and
API answer that shows a resident's number goes through it (or through ``phone_for``, which applies it):

- the household itself (its own family accounts) sees its numbers whole;
- the staff of the partner that serves the person (the partner whose roster, transport list or check-out the
  number is on) see it whole: they may need to call the family, the driver or an authorised adult;
- everyone else sees it masked (138****1234): community staff and administrators on their lists and on the
  household pages they open on a resident's behalf, other partners, other households, and delivery
  volunteers (the meal delivery sheet is printed for volunteers, so it is masked for every reader).

See docs/privacy.md.
"""
from __future__ import annotations

from typing import Any


def mask_phone(number: str | None) -> str:
    """138****1234: enough to recognise a number (a volunteer at the door, community staff on a list),
    not to copy it."""
    digits = (number or "").strip()
    if not digits:
        return ""
    if len(digits) < 7:
        return "****"
    return digits[:3] + "****" + digits[-4:]


def mask_email(address: str) -> str:
    """wa***@example.com: the domain and a hint of the name, not an address anyone could write to."""
    local, at, domain = (address or "").strip().rpartition("@")
    if not at:
        return "***" if domain else ""
    shown = local[:2] if len(local) > 2 else local[:1] if len(local) > 1 else ""
    return f"{shown}***@{domain}"


def sees_whole_phone(viewer: Any, *, household_id: int | None = None, partner_id: int | None = None) -> bool:
    """Whether ``viewer`` sees a resident's number whole: the resident's own household (``household_id``), or
    the staff of the partner serving them where the number is shown (``partner_id``). Everyone else: masked."""
    from careapp.accounts.models import PARTNER_ROLES, Role

    if viewer is None or not getattr(viewer, "is_authenticated", False):
        return False
    role = viewer.role
    if role == Role.family:
        return household_id is not None and viewer.household_id == household_id
    if role in PARTNER_ROLES:
        return partner_id is not None and viewer.partner_id == partner_id
    return False  # community staff and administrators: masked on every list


def household_of(person: Any) -> int | None:
    """The household a number belongs to: a member's, an authorised adult's child's, a household's own."""
    if person is None:
        return None
    if hasattr(person, "child"):  # an AuthorisedAdult
        return person.child.household_id
    if hasattr(person, "household_id"):  # a CareRecipient (or a family User)
        return person.household_id
    return getattr(person, "id", None)  # a Household


def phone_for(viewer: Any, person: Any, number: str | None = None, *, partner_id: int | None = None) -> str:
    """``person``'s phone (or ``number``, e.g. their emergency contact's) as ``viewer`` may see it: whole or
    masked, by ``sees_whole_phone``. ``partner_id`` is the partner whose page or list shows it."""
    if number is None:
        number = getattr(person, "phone", None)
    if not number:
        return ""
    if sees_whole_phone(viewer, household_id=household_of(person), partner_id=partner_id):
        return number
    return mask_phone(number)
