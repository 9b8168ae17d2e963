from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careapp.core.db import UTCDateTime, db
from careapp.district.models import Building


class RecipientKind(str, enum.Enum):
    elder = "elder"
    child = "child"


class DietTag(str, enum.Enum):
    """Dietary needs that travel with a meal order to the kitchen (and tag the dishes that meet them)."""

    low_salt = "low_salt"
    low_sugar = "low_sugar"
    soft = "soft"            # soft / minced food
    vegetarian = "vegetarian"
    halal = "halal"


class SpecialGroup(str, enum.Enum):
    """Groups with an extra meal subsidy (city policy): 低保, 特困, 失能."""

    dibao = "dibao"          # 低保: minimum living allowance
    tekun = "tekun"          # 特困: extreme poverty support
    shineng = "shineng"      # 失能: disabled / lost abilities


def split_tags(text: str | None) -> list[str]:
    """Stored comma-separated tags as a list ("low_salt,soft" -> ["low_salt", "soft"])."""
    return [tag for tag in (text or "").split(",") if tag]


class Household(db.Model):
    """A family at a building; its user accounts book for its members."""

    __tablename__ = "household"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    building_id: Mapped[int] = mapped_column(sa.ForeignKey("building.id"), index=True)
    unit: Mapped[str | None] = mapped_column(sa.String(50))  # flat / room within the building
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set when the household asked for its data to be deleted: names, phones, addresses and health notes are gone;
    # the building and the members' birth year and month stay for the statistics (docs/privacy.md).
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    building: Mapped[Building] = relationship()
    members: Mapped[list[CareRecipient]] = relationship(
        back_populates="household", order_by="CareRecipient.id")


def years_between(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def months_between(born: date, on: date) -> int:
    return (on.year - born.year) * 12 + on.month - born.month - (on.day < born.day)


class CareRecipient(db.Model):
    """A household member careapp books care for: an elder or a child."""

    __tablename__ = "care_recipient"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("household.id"), index=True)
    kind: Mapped[RecipientKind] = mapped_column(
        sa.Enum(RecipientKind, name="recipient_kind", native_enum=False, create_constraint=True, length=10))
    name: Mapped[str] = mapped_column(sa.String(100))
    # PIPL: a birth date is the least the care rules need; no ID-card number.
    birth_date: Mapped[date]
    # GB/T 42195-2022: 0 能力完好 .. 4 完全丧失; elders only.
    ability_level: Mapped[int | None]
    diet: Mapped[str | None] = mapped_column(sa.String(200))
    # DietTag values, comma-separated, e.g. "low_salt,soft": what the kitchen must not miss.
    diet_tags: Mapped[str | None] = mapped_column(sa.String(100))
    special_group: Mapped[SpecialGroup | None] = mapped_column(
        sa.Enum(SpecialGroup, name="special_group", native_enum=False, create_constraint=True, length=10))
    # The member's own phone, for volunteers who deliver meals (shown masked on the delivery sheet).
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    allergies: Mapped[str | None] = mapped_column(sa.String(200))
    mobility: Mapped[str | None] = mapped_column(sa.String(200))
    medication_notes: Mapped[str | None] = mapped_column(sa.String(500))
    emergency_contact_name: Mapped[str | None] = mapped_column(sa.String(100))
    emergency_contact_phone: Mapped[str | None] = mapped_column(sa.String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    household: Mapped[Household] = relationship(back_populates="members")
    authorised_adults: Mapped[list[AuthorisedAdult]] = relationship(
        back_populates="child", order_by="AuthorisedAdult.id")

    __table_args__ = (
        sa.CheckConstraint("ability_level IS NULL OR ability_level BETWEEN 0 AND 4", name="ability_level_range"),
    )

    @property
    def diet_tag_list(self) -> list[DietTag]:
        return [DietTag(tag) for tag in split_tags(self.diet_tags)]

    def age_on(self, day: date) -> int:
        return years_between(self.birth_date, day)

    def age_in_months_on(self, day: date) -> int:
        return months_between(self.birth_date, day)

    @property
    def needs(self) -> dict[str, str | None]:
        return {
            "diet": self.diet,
            "allergies": self.allergies,
            "mobility": self.mobility,
            "medication_notes": self.medication_notes,
            "emergency_contact_name": self.emergency_contact_name,
            "emergency_contact_phone": self.emergency_contact_phone,
        }


NEED_FIELDS = ("diet", "allergies", "mobility", "medication_notes",
               "emergency_contact_name", "emergency_contact_phone")


class AuthorisedAdult(db.Model):
    """An adult the family allows to collect a child."""

    __tablename__ = "authorised_adult"

    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(sa.ForeignKey("care_recipient.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    relation: Mapped[str] = mapped_column(sa.String(50))
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    active: Mapped[bool] = mapped_column(default=True)

    child: Mapped[CareRecipient] = relationship(back_populates="authorised_adults")
