"""What differs between service kinds: who may book, when booking closes, how many fit.

The engine asks the slot's policy; it never branches on the kind itself. Each
care service package (daycare, meals, childcare) defines its policy as a
subclass of :class:`ServicePolicy`.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from careapp.core.errors import BadInput, RuleRefused
from careapp.core.i18n import gettext as _
from careapp.core.i18n import local_time
from careapp.core.timefmt import local_date
from careapp.households.models import CareRecipient, RecipientKind
from careapp.partners.models import ServiceKind, Slot


def ineligible(rule: str, message: str) -> RuleRefused:
    """A refusal that names the rule, e.g. code ``ineligible`` with fields {"rule": "min_age"}."""
    return RuleRefused(message, code="ineligible", fields={"rule": rule})


class ServicePolicy:
    kind: ServiceKind = ServiceKind.activity
    # Which household members the kind serves; None: anyone.
    recipient_kinds: frozenset[RecipientKind] | None = None
    default_booking_cutoff_minutes = 0
    default_cancel_cutoff_minutes = 0
    # After a slot ends, a confirmed booking never checked in is a no-show. Kinds whose staff do not
    # check each person in (a canteen's meals) say False: their confirmed bookings stand as served.
    marks_no_shows = True
    # Confirmed bookings get reminders at the CAREAPP_REMINDERS lead times (careapp.notifications.reminders).
    sends_reminders = True

    # --- eligibility ---

    def serves(self, kind: RecipientKind) -> bool:
        """Whether this kind of care is for elders, children or both (pages offer only those members)."""
        return self.recipient_kinds is None or kind in self.recipient_kinds

    def check_eligible(self, recipient: CareRecipient, slot: Slot, settings: Mapping[str, Any]) -> None:
        """Raise ``ineligible`` naming the first rule the recipient fails on the slot's date."""
        service = slot.service
        if not self.serves(recipient.kind):
            if self.recipient_kinds == {RecipientKind.elder}:
                message = _("%(service)s is for elder members only.", service=service.name)
            elif self.recipient_kinds == {RecipientKind.child}:
                message = _("%(service)s is for child members only.", service=service.name)
            else:
                message = _("%(service)s is for child or elder members only.", service=service.name)
            raise ineligible("recipient_kind", message)
        day = local_date(slot.starts_at)
        years, months = recipient.age_on(day), recipient.age_in_months_on(day)
        min_years = self.min_age_years(service, settings)
        if min_years is not None and years < min_years:
            raise ineligible("min_age", _("%(service)s is for people aged %(min)s or more; "
                                          "%(name)s will be %(years)s on that day.", service=service.name,
                                          min=min_years, name=recipient.name, years=years))
        if service.max_age_years is not None and years > service.max_age_years:
            raise ineligible("max_age", _("%(service)s is for people aged %(max)s or less.", service=service.name,
                                          max=service.max_age_years))
        if service.min_age_months is not None and months < service.min_age_months:
            raise ineligible("min_age", _("%(service)s takes children from %(min)s months; "
                                          "%(name)s will be %(months)s months old on that day.",
                                          service=service.name, min=service.min_age_months, name=recipient.name,
                                          months=months))
        if service.max_age_months is not None and months > service.max_age_months:
            raise ineligible("max_age", _("%(service)s takes children up to %(max)s months; "
                                          "%(name)s will be %(months)s months old on that day.",
                                          service=service.name, max=service.max_age_months, name=recipient.name,
                                          months=months))
        levels = service.accepted_ability_levels
        if levels is not None and (recipient.ability_level is None or recipient.ability_level not in levels):
            accepted = ", ".join(str(level) for level in sorted(levels))
            if recipient.ability_level is None:
                raise ineligible("ability_level", _("%(service)s accepts ability levels %(levels)s; "
                                                    "%(name)s has no ability level recorded.",
                                                    service=service.name, levels=accepted, name=recipient.name))
            raise ineligible("ability_level", _("%(service)s accepts ability levels %(levels)s; "
                                                "%(name)s's level is %(level)s.", service=service.name,
                                                levels=accepted, name=recipient.name,
                                                level=recipient.ability_level))

    def min_age_years(self, service, settings: Mapping[str, Any]) -> int | None:
        return service.min_age_years

    # --- cutoffs ---

    def booking_closes_at(self, slot: Slot) -> datetime:
        minutes = slot.service.booking_cutoff_minutes
        return slot.starts_at - timedelta(minutes=self.default_booking_cutoff_minutes if minutes is None else minutes)

    def cancellation_closes_at(self, slot: Slot) -> datetime:
        minutes = slot.service.cancel_cutoff_minutes
        return slot.starts_at - timedelta(minutes=self.default_cancel_cutoff_minutes if minutes is None else minutes)

    def check_booking_open(self, slot: Slot, now: datetime) -> None:
        closes = self.booking_closes_at(slot)
        if now >= closes:
            raise RuleRefused(_("Booking for this slot closed at %(time)s.", time=local_time(closes)),
                              code="past_cutoff",
                              fields={"cutoff": closes.isoformat()})

    def check_cancellation_open(self, slot: Slot, now: datetime) -> None:
        closes = self.cancellation_closes_at(slot)
        if now >= closes:
            raise RuleRefused(_("Cancellation for this slot closed at %(time)s.", time=local_time(closes)),
                              code="past_cutoff", fields={"cutoff": closes.isoformat()})

    def check_change_open(self, slot: Slot, now: datetime) -> None:
        """Changing a booking's options closes when cancelling does."""
        self.check_cancellation_open(slot, now)

    # --- what a booking asks for beyond a place ---

    def apply_options(self, booking, options: dict[str, Any], settings: Mapping[str, Any], *,
                      now: datetime) -> None:
        """Check and record the kind's booking options (called with the booking flushed, slot locked).

        Raise BadInput or RuleRefused to refuse; the whole booking or change then rolls back.
        """
        if options:
            raise BadInput(_("This service takes no booking options."),
                           fields={name: "not accepted here" for name in options})

    def options_of(self, booking) -> dict[str, Any]:
        """The options as recorded, for the audit log and the API."""
        return {}

    def standing_options(self, recipient: CareRecipient, service, options: dict[str, Any],
                         settings: Mapping[str, Any]) -> dict[str, Any]:
        """Check, once at enrolment, the options every booking of a standing enrolment will carry, and
        return them as ``apply_options`` takes them (so a bad choice is refused now, not skipped each day)."""
        if options:
            raise BadInput(_("%(service)s takes no booking options.", service=service.name),
                           fields={name: "not accepted here" for name in options})
        return {}

    # --- attendance ---

    def check_collection(self, booking, collected_by_id: int | None) -> None:
        """Refuse a check-out to the wrong person (code ``not_authorised_collector``).

        Only childcare asks who collects; anywhere else a named collector is a mistake to refuse, not to store.
        """
        if collected_by_id is not None:
            raise BadInput(_("Only a check-out from childcare names the adult who collects."),
                           fields={"collected_by": "not asked here"})

    # --- capacity ---

    def capacity_limit(self, slot: Slot) -> int | None:
        """The most places the kind's rules allow in this slot (None: no rule beyond the partner's).

        This is the fixed limit (a class size); a limit that moves with staffing is kept in
        ``Slot.staffed_places`` and lowers ``Slot.places`` instead.
        """
        return None


class ActivityPolicy(ServicePolicy):
    """Activities and the reading room: open to every household member."""


@cache
def _registry() -> dict[ServiceKind, ServicePolicy]:
    from careapp.childcare.policy import ChildcarePolicy
    from careapp.daycare.policy import DaycarePolicy
    from careapp.meals.policy import MealPolicy

    policies = [DaycarePolicy(), MealPolicy(), ChildcarePolicy(), ActivityPolicy()]
    return {policy.kind: policy for policy in policies}


def policy_for(kind: ServiceKind) -> ServicePolicy:
    return _registry()[kind]
