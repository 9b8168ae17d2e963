"""Every model, imported in one place so the metadata (and Alembic) sees the whole schema."""
from careapp.accounts.models import ApiToken, Role, User  # noqa: F401
from careapp.booking.models import Booking, BookingStatus, EndReason, Enrolment  # noqa: F401
from careapp.core.audit import AuditEntry  # noqa: F401
from careapp.district.models import Building, Community, Grid  # noqa: F401
from careapp.family.models import CalendarFeed  # noqa: F401
from careapp.households.models import AuthorisedAdult, CareRecipient, Household, RecipientKind  # noqa: F401
from careapp.partners.models import (FillPolicy, PartnerKind, PartnerOrganisation, Service,  # noqa: F401
                                     Room, ServiceKind, ServicePoint, Shift, ShiftAssignment, Slot,
                                     SlotPattern, SlotStatus, Volunteer)
from careapp.meals.models import Dish, MealOrder, MealOrderDish, MenuItem  # noqa: F401
from careapp.notifications.models import Delivery, MessageTemplate, Notification  # noqa: F401
from careapp.scheduler.models import JobStatus, SchedulerLease  # noqa: F401
# With the listeners that keep each service point's home building as buildings and points change.
from careapp.coverage.homes import PointHome  # noqa: F401,E402
