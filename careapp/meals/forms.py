"""Forms of the meal help pages: dishes, a day's menu, copying a week, an order, a member's meal needs."""
from __future__ import annotations

from wtforms import BooleanField, DateField, HiddenField, RadioField, SelectField, StringField, SubmitField, TelField
from wtforms.validators import InputRequired, Length, Optional, Regexp

from careapp.households.models import DietTag, SpecialGroup
from careapp.meals.models import MealMode
from careapp.pages import LABELS, PageForm, options, within_years
from careapp.partners.forms import CheckboxesField

DIET_TAG_CHOICES = options((tag.value, LABELS["diet_tag"][tag]) for tag in DietTag)
MOBILE_FIELD = Regexp(r"^\s*1[3-9]\d{9}\s*$", message="Give a mobile number of 11 digits starting 13 to 19, "
                                                       "for example 13912345678.")


class DishForm(PageForm):
    name = StringField("Name of the dish", [InputRequired("Please give the dish a name."), Length(max=100)],
                       description="For example 清蒸鱼 or 番茄炒蛋.")
    diet_tags = CheckboxesField("Suits these diets", choices=DIET_TAG_CHOICES,
                                description="Tick each diet this dish is fit for.")
    allergens = StringField("Contains these allergens (optional)", [Optional(), Length(max=200)],
                            description="Separate them with commas, for example 花生, 虾, 牛奶.")
    submit = SubmitField("Add this dish")


class DishEditForm(DishForm):
    active = BooleanField("Still cooked (untick to take it off the list for new menus)")
    submit = SubmitField("Save the dish")


class MenuForm(PageForm):
    dish_ids = CheckboxesField("Dishes on this day's menu", coerce=int,
                               description="Families choose from these when they order. No dishes: the set meal.")
    submit = SubmitField("Save the menu")


class CopyWeekForm(PageForm):
    week = DateField("Week starting", [InputRequired("Please give the Monday of the week to copy."),
                                       within_years(2000, 2100)])
    submit = SubmitField("Copy to the next week")


class OrderForm(PageForm):
    recipient_id = HiddenField()
    mode = RadioField("How should the meal reach them?", validators=[InputRequired("Please choose how.")],
                      choices=options((mode.value, LABELS["meal_mode"][mode]) for mode in MealMode))
    dish_ids = CheckboxesField("Dishes (optional)", coerce=int,
                               description="Choose none for the day's set meal.")
    submit = SubmitField("Order this meal")


class MealNeedsForm(PageForm):
    diet_tags = CheckboxesField("Dietary needs", choices=DIET_TAG_CHOICES,
                                description="The kitchen sees these on every meal order.")
    diet = StringField("Other diet notes (optional)", [Optional(), Length(max=200)])
    allergies = StringField("Allergies (optional)", [Optional(), Length(max=200)],
                            description="Separate them with commas, for example 花生, 虾.")
    special_group = SelectField("Extra meal subsidy group (optional)", validators=[Optional()],
                                choices=options([("", "None")] + [(group.value, LABELS["special_group"][group])
                                                                   for group in SpecialGroup]),
                                description="Only if the community has confirmed it; the canteen's subsidy "
                                            "claim lists it for checking.")
    phone = TelField("Their own mobile phone (optional)", [Optional(), MOBILE_FIELD],
                     description="Volunteers who deliver meals call this number (they see it partly hidden).")
    submit = SubmitField("Save")
