"""A calendar month in the sub-district's zone: what billing statements, subsidy claims and the monthly report
are made for, and how a month is written in a link (``2026-11``)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask import has_request_context

from careapp.core.errors import BadInput
from careapp.core.i18n import current_language, gettext as _
from careapp.core.timefmt import from_local, local_date

MONTH_TEXT = re.compile(r"([0-9]{4})-([0-9]{2})")
MONTH_LABEL = {"zh_CN": "y年M月", "en": "MMMM y"}  # Babel (CLDR) patterns
MONTH_NAME = {"zh_CN": "M月", "en": "MMMM"}
FIRST_YEAR, LAST_YEAR = 2000, 2100


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month in the sub-district's zone."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str | None) -> Month:
        match = MONTH_TEXT.fullmatch(text or "")
        if not match or not 1 <= int(match.group(2)) <= 12 or not FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR:
            raise BadInput(_("Give the month as year and month, for example 2026-11 (from %(first)s to %(last)s).",
                             first=FIRST_YEAR, last=LAST_YEAR), fields={"month": "YYYY-MM"})
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, moment: datetime) -> Month:
        """The local month a moment falls in."""
        day = local_date(moment)
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def label(self) -> str:
        """The month in words: 2026年11月 / November 2026 (in the page's language; English outside a request)."""
        if not has_request_context():
            return self.first_day.strftime("%B %Y")
        language = current_language()
        return format_date(self.first_day, MONTH_LABEL[language], locale=language)

    @property
    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def bounds(self, zone: ZoneInfo | None = None) -> tuple[datetime, datetime]:
        """[start, end) of the month as UTC moments (local midnight of the 1st to that of the next 1st), in
        ``zone`` (by default the sub-district's: callers outside a request pass it)."""
        return from_local(self.first_day, time(0), zone), from_local(self.next.first_day, time(0), zone)

    @property
    def last_day(self) -> date:
        return self.next.first_day - timedelta(days=1)


def month_name(day: date) -> str:
    """The name of the month a day is in: 11月 / November (in the page's language; English outside a request)."""
    if not has_request_context():
        return day.strftime("%B")
    language = current_language()
    return format_date(day, MONTH_NAME[language], locale=language)
