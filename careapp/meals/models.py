"""Meal help (老年助餐): dishes, the day's menus and meal orders.

A meal order is a booking of a meal slot (one portion of the slot's capacity) plus its
:class:`MealOrder`: how the meal reaches the elder, the dishes chosen, and the price and subsidy
fixed when the order was placed (later setting changes never rewrite what was charged).
"""
from __future__ import annotations

import enum
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from careapp.core.db import db
from careapp.households.models import split_tags


class MealMode(str, enum.Enum):
    dine_in = "dine_in"      # 堂食
    pick_up = "pick_up"      # 自取
    delivery = "delivery"    # 送餐上门


class Dish(db.Model):
    """A dish a canteen cooks, with the dietary needs it meets and the allergens it contains."""

    __tablename__ = "dish"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(sa.ForeignKey("partner_organisation.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    # DietTag values it meets, comma-separated ("low_salt,soft").
    diet_tags: Mapped[str | None] = mapped_column(sa.String(100))
    # Allergens it contains, comma-separated free words ("peanut,shrimp").
    allergens: Mapped[str | None] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (sa.UniqueConstraint("partner_id", "name"),)

    @property
    def diet_tag_list(self) -> list[str]:
        return split_tags(self.diet_tags)

    @property
    def allergen_list(self) -> list[str]:
        return split_tags(self.allergens)

    def as_dict(self) -> dict:
        return {"id": self.id, "partner_id": self.partner_id, "name": self.name,
                "diet_tags": self.diet_tag_list, "allergens": self.allergen_list, "active": self.active}


class MenuItem(db.Model):
    """A dish on a meal service's menu for one day (the menu of that day's lunch or dinner slot)."""

    __tablename__ = "menu_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"))
    day: Mapped[date]
    dish_id: Mapped[int] = mapped_column(sa.ForeignKey("dish.id"))

    dish: Mapped[Dish] = relationship()

    __table_args__ = (sa.UniqueConstraint("service_id", "day", "dish_id"),)


class MealOrder(db.Model):
    """The meal part of a booking: mode, price and subsidy fixed at ordering (money in fen)."""

    __tablename__ = "meal_order"

    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("booking.id"), primary_key=True)
    mode: Mapped[MealMode] = mapped_column(
        sa.Enum(MealMode, name="meal_mode", native_enum=False, create_constraint=True, length=10))
    price_fen: Mapped[int]
    subsidy_fen: Mapped[int]
    # The age tier ("60", "70", "80") and special group the subsidy was given for; None: no subsidy.
    subsidy_tier: Mapped[str | None] = mapped_column(sa.String(10))
    special_group: Mapped[str | None] = mapped_column(sa.String(10))

    dishes: Mapped[list[MealOrderDish]] = relationship(
        order_by="MealOrderDish.dish_id", cascade="all, delete-orphan")

    __table_args__ = (
        sa.CheckConstraint("price_fen >= 0", name="price_not_negative"),
        sa.CheckConstraint("subsidy_fen >= 0 AND subsidy_fen <= price_fen", name="subsidy_within_price"),
    )

    @property
    def to_pay_fen(self) -> int:
        return self.price_fen - self.subsidy_fen


class MealOrderDish(db.Model):
    __tablename__ = "meal_order_dish"

    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("meal_order.booking_id", ondelete="CASCADE"),
                                            primary_key=True)
    dish_id: Mapped[int] = mapped_column(sa.ForeignKey("dish.id"), primary_key=True)

    dish: Mapped[Dish] = relationship()
