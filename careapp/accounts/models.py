from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careapp.core.db import UTCDateTime, db


class Role(str, enum.Enum):
    family = "family"
    partner_staff = "partner_staff"
    partner_manager = "partner_manager"
    community_staff = "community_staff"
    admin = "admin"


PARTNER_ROLES = frozenset({Role.partner_staff, Role.partner_manager})
DISTRICT_ROLES = frozenset({Role.community_staff, Role.admin})


class User(UserMixin, db.Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A mainland mobile number or an e-mail address.
    login: Mapped[str] = mapped_column(sa.String(120), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(
        sa.Enum(Role, name="role", native_enum=False, create_constraint=True, length=20))
    name: Mapped[str] = mapped_column(sa.String(100))
    email: Mapped[str | None] = mapped_column(sa.String(120))
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    partner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("partner_organisation.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(sa.ForeignKey("household.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # The language of pages and messages: zh_CN (the default) or en.
    language: Mapped[str] = mapped_column(sa.String(5), default="zh_CN", server_default="zh_CN")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    household = relationship("Household")
    partner = relationship("PartnerOrganisation", foreign_keys=[partner_id])

    __table_args__ = (
        # A family account belongs to a household; partner accounts to a partner.
        sa.CheckConstraint("role <> 'family' OR household_id IS NOT NULL", name="family_has_household"),
        sa.CheckConstraint(
            "role NOT IN ('partner_staff', 'partner_manager') OR partner_id IS NOT NULL",
            name="partner_account_has_partner"),
    )

    # Flask-Login: a deactivated account cannot log in.
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    # ... and a session opened before the account was switched off ends with the next request.
    @property
    def is_authenticated(self) -> bool:  # type: ignore[override]
        return self.active

    # --- permission questions, answered in one place ---

    @property
    def is_district(self) -> bool:
        """Community staff and admins read everything and book on behalf of residents."""
        return self.role in DISTRICT_ROLES

    def belongs_to_partner(self, partner_id: int) -> bool:
        return self.role in PARTNER_ROLES and self.partner_id == partner_id

    def manages_partner(self, partner_id: int) -> bool:
        """Services, slots, capacities and staff of a partner."""
        return self.role == Role.admin or (self.role == Role.partner_manager and self.partner_id == partner_id)

    def can_view_partner_rosters(self, partner_id: int) -> bool:
        return self.is_district or self.belongs_to_partner(partner_id)

    def can_act_for_household(self, household_id: int) -> bool:
        """Book, cancel and edit members: the family itself, or district staff on its behalf."""
        return self.is_district or (self.role == Role.family and self.household_id == household_id)

    def can_create_account(self, role: Role, partner_id: int | None) -> bool:
        if self.role == Role.admin:
            return True
        if self.role == Role.community_staff:
            return role in PARTNER_ROLES or role == Role.family
        if self.role == Role.partner_manager:
            return role in PARTNER_ROLES and partner_id == self.partner_id
        return False


class ApiToken(db.Model):
    """A bearer token for the JSON API; only its SHA-256 hash is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()

    def is_valid_at(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at
