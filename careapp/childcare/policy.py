from __future__ import annotations

from careapp.booking.policies import ServicePolicy
from careapp.households.models import RecipientKind
from careapp.partners.models import ServiceKind


class ChildcarePolicy(ServicePolicy):
    """Childcare serves children; age bands come from the service's month limits."""

    kind = ServiceKind.childcare
    recipient_kinds = frozenset({RecipientKind.child})
