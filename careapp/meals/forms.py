"""Forms of the meal help pages: dishes, a day's menu, copying a week, an order, a member's meal needs."""
from __future__ import annotations

import re

from wtforms import BooleanField, DateField, HiddenField, RadioField, SelectField, StringField, SubmitField, TelField
from wtforms.validators import InputRequired, Length, Optional, Regexp

from careapp.core.i18n import lazy_gettext as _l
from careapp.households.models import DietTag, SpecialGroup
from careapp.meals.models import MealMode
from careapp.pages import LABELS, PageForm, options, within_years
from careapp.partners.forms import CheckboxesField

DIET_TAG_CHOICES = options((tag.value, LABELS["diet_tag"][tag]) for tag in DietTag)
# (A compiled pattern: the pattern is not a text a person reads.)
MOBILE_FIELD = Regexp(re.compile(r"^\s*1[3-9]\d{9}\s*$"),
                      message=_l("Give a mobile number of 11 digits starting 13 to 19, for example 13912345678."))


class DishForm(PageForm):
    name = StringField(_l("Name of the dish"), [InputRequired(_l("Please give the dish a name.")), Length(max=100)],
                       description=_l("For example 清蒸鱼 or 番茄炒蛋."))
    diet_tags = CheckboxesField(_l("Suits these diets"), choices=DIET_TAG_CHOICES,
                                description=_l("Tick each diet this dish is fit for."))
    allergens = StringField(_l("Contains these allergens (optional)"), [Optional(), Length(max=200)],
                            description=_l("Separate them with commas, for example 花生, 虾, 牛奶."))
    submit = SubmitField(_l("Add this dish"))


class DishEditForm(DishForm):
    active = BooleanField(_l("Still cooked (untick to take it off the list for new menus)"))
    submit = SubmitField(_l("Save the dish"))


class MenuForm(PageForm):
    dish_ids = CheckboxesField(_l("Dishes on this day's menu"), coerce=int,
                               description=_l("Families choose from these when they order. No dishes: the set meal."))
    submit = SubmitField(_l("Save the menu"))


class CopyWeekForm(PageForm):
    week = DateField(_l("Week starting"), [InputRequired(_l("Please give the Monday of the week to copy.")),
                                       within_years(2000, 2100)])
    submit = SubmitField(_l("Copy to the next week"))


class OrderForm(PageForm):
    recipient_id = HiddenField()
    mode = RadioField(_l("How should the meal reach them?"), validators=[InputRequired(_l("Please choose how."))],
                      choices=options((mode.value, LABELS["meal_mode"][mode]) for mode in MealMode))
    dish_ids = CheckboxesField(_l("Dishes (optional)"), coerce=int,
                               description=_l("Choose none for the day's set meal."))
    submit = SubmitField(_l("Order this meal"))


class MealNeedsForm(PageForm):
    diet_tags = CheckboxesField(_l("Dietary needs"), choices=DIET_TAG_CHOICES,
                                description=_l("The kitchen sees these on every meal order."))
    diet = StringField(_l("Other diet notes (optional)"), [Optional(), Length(max=200)])
    allergies = StringField(_l("Allergies (optional)"), [Optional(), Length(max=200)],
                            description=_l("Separate them with commas, for example 花生, 虾."))
    special_group = SelectField(_l("Extra meal subsidy group (optional)"), validators=[Optional()],
                                choices=options([("", _l("None"))] + [(group.value, LABELS["special_group"][group])
                                                                   for group in SpecialGroup]),
                                description=_l("Only if the community has confirmed it; the canteen's subsidy "
                                               "claim lists it for checking."))
    phone = TelField(_l("Their own mobile phone (optional)"), [Optional(), MOBILE_FIELD],
                     description=_l("Volunteers who deliver meals call this number (they see it partly hidden)."))
    submit = SubmitField(_l("Save"))
