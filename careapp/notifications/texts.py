"""Message texts: the default wording of each topic per service kind and language, and rendering.

A text is plain words with placeholders in braces, e.g. ``{member}``. Partner managers may reword any
topic for their service kinds (``MessageTemplate``); the placeholders they may use are PLACEHOLDERS,
checked when they save, so a typo is refused with a message rather than sent to a family. Rendering is
a plain substitution of known names: nothing in a template is ever evaluated.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from careapp.core.timefmt import to_local
from careapp.notifications.models import DEFAULT_LANGUAGE, LANGUAGES, Topic
from careapp.partners.models import ServiceKind

PLACEHOLDER = re.compile(r"\{(\w+)\}")

# What each placeholder becomes (shown to partner managers on the template page).
PLACEHOLDERS: dict[str, str] = {
    "member": "the household member the booking is for",
    "service": "the service's name",
    "partner": "your organisation's name",
    "place": "the service point and its address",
    "date": "the day, in the reader's language (2026年12月2日 星期三 / Wednesday 2 December 2026)",
    "start": "the local start time (09:00)",
    "end": "the local end time (11:30)",
    "offer_expires": "when an offered place must be accepted by (day and time)",
    "details": "what the booking asks for: the meal's mode, transport",
    "sheet": "the kitchen sheet: portions by dish and by mode, diets, and who must not be missed",
}

WEEKDAYS_ZH = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")
MEAL_MODES = {
    "zh_CN": {"dine_in": "堂食", "pick_up": "自取", "delivery": "送餐上门"},
    "en": {"dine_in": "eat at the canteen", "pick_up": "pick up", "delivery": "delivered home"},
}
DIET_TAGS = {
    "zh_CN": {"low_salt": "低盐", "low_sugar": "低糖", "soft": "软烂/切碎", "vegetarian": "素食", "halal": "清真"},
    "en": {"low_salt": "low salt", "low_sugar": "low sugar", "soft": "soft or minced", "vegetarian": "vegetarian",
           "halal": "halal"},
}


@dataclass(frozen=True)
class Text:
    subject: str
    body: str


# The defaults: (topic, language) for every kind, and (topic, kind, language) where a kind words it its own way.
DEFAULTS: dict[tuple[Topic, str], Text] = {
    (Topic.reminder, "zh_CN"): Text(
        "提醒：{member} {date} {start} {service}",
        "您好！{member} 预约了{partner}的「{service}」，时间 {date} {start}–{end}，地点：{place}。{details}\n"
        "如不能前往，请在截止时间前在 careapp 中取消，把名额留给候补的家庭。"),
    (Topic.reminder, "en"): Text(
        "Reminder: {member}, {service}, {date} {start}",
        "Hello! {member} is booked for {service} at {partner} on {date}, {start}-{end}, at {place}. {details}\n"
        "If {member} cannot come, please cancel in careapp before the cutoff so a waiting family gets the place."),
    (Topic.place_offered, "zh_CN"): Text(
        "有空位了：{service} {date} {start}",
        "{member} 候补的「{service}」（{date} {start}–{end}，{place}）有了空位，为您保留到 {offer_expires}。"
        "请在此之前登录 careapp 接受或放弃；过时名额将顺延给下一位。"),
    (Topic.place_offered, "en"): Text(
        "A place for {member}: {service}, {date} {start}",
        "A place came free in {service} ({date}, {start}-{end}, {place}) for {member}, who was waiting. "
        "It is held for you until {offer_expires}: accept or decline it in careapp before then, "
        "or it passes to the next family."),
    (Topic.waitlist_confirmed, "zh_CN"): Text(
        "候补成功：{member} {date} {start} {service}",
        "好消息！{member} 已从候补名单转为正式预约：{partner}「{service}」，{date} {start}–{end}，"
        "地点：{place}。{details}"),
    (Topic.waitlist_confirmed, "en"): Text(
        "Booked from the waiting list: {member}, {service}, {date} {start}",
        "Good news: {member} now has a place in {service} at {partner} on {date}, {start}-{end}, "
        "at {place}. {details}"),
    (Topic.slot_cancelled, "zh_CN"): Text(
        "已取消：{service} {date} {start}",
        "很抱歉，{partner}取消了「{service}」{date} {start}–{end} 的场次，{member} 的预约随之取消。"
        "如需其他时间，请在 careapp 中重新预约，或联系您的网格员。"),
    (Topic.slot_cancelled, "en"): Text(
        "Cancelled: {service}, {date} {start}",
        "We are sorry: {partner} has cancelled {service} on {date}, {start}-{end}, so {member}'s booking "
        "is cancelled too. Please book another time in careapp, or ask your grid worker."),
    (Topic.waitlist_closed, "zh_CN"): Text(
        "未能候补：{service} {date} {start}",
        "「{service}」{date} {start} 的预约已截止，{member} 在候补名单上没有等到空位，候补已结束。"
        "请在 careapp 中选择其他时间。"),
    (Topic.waitlist_closed, "en"): Text(
        "No place came free: {service}, {date} {start}",
        "Booking for {service} on {date} at {start} has closed and no place came free for {member}, "
        "so the waiting list has ended. Please choose another time in careapp."),
    (Topic.kitchen_sheet, "zh_CN"): Text(
        "备餐单：{service} {date} {start}",
        "{partner}「{service}」{date} {start} 的订餐已截止，以下是备餐单：\n\n{sheet}"),
    (Topic.kitchen_sheet, "en"): Text(
        "Kitchen sheet: {service}, {date} {start}",
        "Orders for {service} at {partner} on {date} at {start} have closed. The kitchen sheet:\n\n{sheet}"),
}
KIND_DEFAULTS: dict[tuple[Topic, ServiceKind, str], Text] = {
    (Topic.waitlist_confirmed, ServiceKind.meal, "zh_CN"): Text(
        "候补成功：{member} {date} {service}",
        "好消息！{member} 的{service}订餐已从候补转为正式订单：{date} {start}，{place}。{details}"),
    (Topic.waitlist_confirmed, ServiceKind.meal, "en"): Text(
        "Meal ordered from the waiting list: {member}, {service}, {date}",
        "Good news: {member}'s {service} on {date} at {start} ({place}) is ordered. {details}"),
    (Topic.reminder, ServiceKind.childcare, "zh_CN"): Text(
        "入托提醒：{member} {date} {start} {service}",
        "您好！{member} 预约了{partner}的「{service}」，{date} {start}–{end}，地点：{place}。"
        "入园时有晨检（测体温），离园时只能由您登记的接送人接走。"),
    (Topic.reminder, ServiceKind.childcare, "en"): Text(
        "Reminder: {member}, {service}, {date} {start}",
        "Hello! {member} is booked for {service} at {partner} on {date}, {start}-{end}, at {place}. "
        "There is a health check (temperature) on arrival, and only an adult on your collection list "
        "may take {member} home."),
}


def default_text(topic: Topic, kind: ServiceKind, language: str) -> Text:
    return KIND_DEFAULTS.get((topic, kind, language)) or DEFAULTS[(topic, language)]


def unknown_placeholders(text: str) -> list[str]:
    """Placeholders in a partner's wording that careapp does not know (refused when saving)."""
    return sorted({name for name in PLACEHOLDER.findall(text) if name not in PLACEHOLDERS})


def fill(text: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), text)


def language_of(code: str | None) -> str:
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


# --- the values of the placeholders, in the reader's language ---

def local_day(moment: datetime, language: str) -> str:
    local = to_local(moment)
    if language == "zh_CN":
        return f"{local.year}年{local.month}月{local.day}日 {WEEKDAYS_ZH[local.weekday()]}"
    return f"{local.strftime('%A')} {local.day} {local.strftime('%B %Y')}"


def local_time(moment: datetime) -> str:
    return to_local(moment).strftime("%H:%M")


def values_for(params: dict[str, Any], language: str) -> dict[str, str]:
    """Turn a notification's stored facts into the placeholder values of one language."""
    starts = datetime.fromisoformat(params["starts_at"])
    ends = datetime.fromisoformat(params["ends_at"])
    values = {name: str(params.get(name) or "") for name in ("member", "service", "partner", "place")}
    values.update(date=local_day(starts, language), start=local_time(starts), end=local_time(ends),
                  details=_details(params, language), sheet=_sheet(params.get("sheet"), language))
    offer = params.get("offer_expires_at")
    values["offer_expires"] = (f"{local_day(datetime.fromisoformat(offer), language)} "
                               f"{local_time(datetime.fromisoformat(offer))}") if offer else ""
    return values


def _details(params: dict[str, Any], language: str) -> str:
    parts = []
    if params.get("meal_mode"):
        mode = MEAL_MODES[language].get(params["meal_mode"], params["meal_mode"])
        parts.append(f"用餐方式：{mode}。" if language == "zh_CN" else f"The meal: {mode}.")
    if params.get("needs_transport"):
        parts.append("中心会安排接送。" if language == "zh_CN" else "The centre will fetch and bring them home.")
    return " ".join(parts)


def _sheet(sheet: dict[str, Any] | None, language: str) -> str:
    if not sheet:
        return ""
    zh = language == "zh_CN"
    modes, tags = MEAL_MODES[language], DIET_TAGS[language]
    lines = [f"{'总份数' if zh else 'Meals in all'}: {sheet['total']}"]
    lines += [f"{'按菜品' if zh else 'By dish'}:"] + [f"  {name} × {count}" for name, count in sheet["by_dish"]]
    lines += [f"{'按方式' if zh else 'By mode'}:"] + [f"  {modes.get(mode, mode)} × {count}"
                                                      for mode, count in sheet["by_mode"]]
    if sheet["by_diet"]:
        lines += [f"{'饮食要求' if zh else 'Diets'}:"] + [f"  {tags.get(tag, tag)} × {count}"
                                                          for tag, count in sheet["by_diet"]]
    if sheet["attention"]:
        lines += [f"{'请勿遗漏' if zh else 'Do not miss'}:"] + [f"  {name}: {note}" for name, note in sheet["attention"]]
    if sheet.get("waiting"):
        lines.append(f"{'仍在候补' if zh else 'Still waiting'}: {sheet['waiting']}")
    return "\n".join(lines)
