"""Childcare (托育) and after-school care: classes by age band, class sizes, staff ratios, who may collect a child.

The numbers are those of 托育机构设置标准(试行) (2019); a service's ``class_size`` and ``children_per_staff``
override them. The standard gives no ratio for mixed classes and does not cover after-school care, so
those numbers are our choice (see docs/care-services.md).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from careapp.booking.policies import ServicePolicy, ineligible
from careapp.core.db import db
from careapp.core.errors import BadInput, RuleRefused
from careapp.core.i18n import gettext as _
from careapp.core.i18n import short_date
from careapp.core.timefmt import local_date
from careapp.households.models import AuthorisedAdult, CareRecipient, RecipientKind
from careapp.partners.models import ChildClass, Service, ServiceKind, Slot


@dataclass(frozen=True)
class ClassRule:
    """A class's age band in whole months (``from_months`` <= age < ``below_months``), its largest size and
    how many children one member of staff may look after."""

    name: str
    from_months: int | None
    below_months: int | None
    class_size: int
    children_per_staff: int


CLASS_RULES: dict[ChildClass, ClassRule] = {
    ChildClass.infant: ClassRule("乳儿班", 6, 12, 10, 3),
    ChildClass.toddler: ClassRule("托小班", 12, 24, 15, 5),
    ChildClass.preschool: ClassRule("托大班", 24, 36, 20, 7),
    # The standard allows mixed classes of children of 18 months or more, at most 18, but names no ratio:
    # we use the toddler class's 1:5, the strictest that applies to the youngest children in them.
    ChildClass.mixed: ClassRule("混龄班", 18, 36, 18, 5),
    # After-school care (四点半课堂) is for school children: no month band; the service should set its
    # class size and ratio, and these are only the fallback.
    ChildClass.after_school: ClassRule("四点半课堂", None, None, 25, 12),
}


def class_rule(service: Service) -> ClassRule | None:
    return CLASS_RULES.get(service.child_class) if service.child_class is not None else None


def class_size(service: Service) -> int | None:
    """The most children in one session of the class (None: the service has no class and sets no size)."""
    if service.class_size is not None:
        return service.class_size
    rule = class_rule(service)
    return rule.class_size if rule else None


def children_per_staff(service: Service) -> int | None:
    """Children one member of staff may look after (None: staffing does not limit this service)."""
    if service.children_per_staff is not None:
        return service.children_per_staff
    rule = class_rule(service)
    return rule.children_per_staff if rule else None


def limited_by_staffing(service: Service) -> bool:
    """A childcare service with a class or a ratio gets its places from the staff rostered for it."""
    return service.kind == ServiceKind.childcare and children_per_staff(service) is not None


class ChildcarePolicy(ServicePolicy):
    """Childcare serves children of the class's age band on the slot's date; a child leaves only with one of
    the family's authorised adults."""

    kind = ServiceKind.childcare
    recipient_kinds = frozenset({RecipientKind.child})

    def check_eligible(self, recipient: CareRecipient, slot: Slot, settings: Mapping[str, Any]) -> None:
        super().check_eligible(recipient, slot, settings)  # the kind of member and the service's own limits
        service, rule = slot.service, class_rule(slot.service)
        if rule is None:
            return
        day = local_date(slot.starts_at)
        months = recipient.age_in_months_on(day)
        if service.min_age_months is None and rule.from_months is not None and months < rule.from_months:
            raise ineligible("min_age", _("%(service)s (%(class_name)s) takes children from %(min)s months; "
                                          "%(name)s will be %(months)s months old on %(day)s.", service=service.name,
                                          class_name=rule.name, min=rule.from_months, name=recipient.name,
                                          months=months, day=short_date(day)))
        if service.max_age_months is None and rule.below_months is not None and months >= rule.below_months:
            raise ineligible("max_age", _("%(service)s (%(class_name)s) takes children under %(max)s months; "
                                          "%(name)s will be %(months)s months old on %(day)s.", service=service.name,
                                          class_name=rule.name, max=rule.below_months, name=recipient.name,
                                          months=months, day=short_date(day)))

    def capacity_limit(self, slot: Slot) -> int | None:
        """The class size; what the rostered staff allow is ``Slot.staffed_places`` (see childcare.staffing)."""
        return class_size(slot.service)

    def check_collection(self, booking, collected_by_id: int | None) -> None:
        child = booking.recipient
        if collected_by_id is None:
            raise BadInput(_("Choose who is collecting %(name)s: one of the adults the family has listed.",
                             name=child.name),
                           fields={"collected_by": "required"})
        adult = db.session.get(AuthorisedAdult, collected_by_id)
        if adult is None or adult.child_id != child.id or not adult.active:
            who = adult.name if adult is not None else _("Adult no. %(number)s", number=collected_by_id)
            raise RuleRefused(_("%(who)s is not on %(name)s's list of adults who may collect them. "
                                "Do not hand the child over; call the family.", who=who, name=child.name),
                              code="not_authorised_collector", fields={"collected_by": "not authorised"})
