from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from careapp.booking.policies import ServicePolicy
from careapp.core.errors import BadInput, RuleRefused
from careapp.core.i18n import gettext as _
from careapp.households.models import RecipientKind
from careapp.partners.models import ServiceKind


class DaycarePolicy(ServicePolicy):
    """Day care serves elders aged DAYCARE_MIN_AGE (default 60) or more, unless the service sets its own minimum."""

    kind = ServiceKind.daycare
    recipient_kinds = frozenset({RecipientKind.elder})

    def min_age_years(self, service, settings: Mapping[str, Any]) -> int | None:
        if service.min_age_years is not None:
            return service.min_age_years
        return settings["DAYCARE_MIN_AGE"]

    def apply_options(self, booking, options: dict[str, Any], settings: Mapping[str, Any], *,
                      now: datetime) -> None:
        booking.needs_transport = needs_transport(booking.slot.service, options)

    def options_of(self, booking) -> dict[str, Any]:
        return {"needs_transport": booking.needs_transport}

    def standing_options(self, recipient, service, options: dict[str, Any],
                         settings: Mapping[str, Any]) -> dict[str, Any]:
        return {"needs_transport": needs_transport(service, options)}


def needs_transport(service, options: Mapping[str, Any]) -> bool:
    """Day care asks one thing: does this person need fetching and bringing home (接送)?"""
    unknown = set(options) - {"needs_transport"}
    if unknown:
        raise BadInput(_("Day care bookings only ask whether transport is needed."),
                       fields={name: "not accepted here" for name in sorted(unknown)})
    wanted = options.get("needs_transport", False)
    if not isinstance(wanted, bool):
        raise BadInput(_("Say yes or no to transport."), fields={"needs_transport": "true or false"})
    if wanted and not service.transport:
        raise RuleRefused(_("%(service)s does not offer transport.", service=service.name), code="no_transport",
                          fields={"needs_transport": "not offered"})
    return wanted
