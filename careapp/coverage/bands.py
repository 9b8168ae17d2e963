"""Age bands of the people careapp serves, as community staff and the district's reports count them.

Elders by decade from 60 (the day-care age), children by the stage of care: under 3 (托育), 3 to 5
(kindergarten age, 托幼), 6 and over (after school). A person's band is worked out on a given day, in
Python (``band_of``) or inside a query (``band_column``), from the same table, so both always agree.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from careapp.core.i18n import lazy_gettext as _l
from careapp.households.models import CareRecipient, RecipientKind


@dataclass(frozen=True)
class AgeBand:
    key: str
    kind: RecipientKind
    from_years: int  # the band holds ages from_years up to the next band's from_years - 1
    label: str  # lazy: in the page's language when shown


# Within a kind, from oldest to youngest: a person falls in the first band whose from_years they have reached.
BANDS: tuple[AgeBand, ...] = (
    AgeBand("elder_80", RecipientKind.elder, 80, _l("80 and over")),
    AgeBand("elder_70", RecipientKind.elder, 70, _l("70–79")),
    AgeBand("elder_60", RecipientKind.elder, 0, _l("under 70")),
    AgeBand("child_6", RecipientKind.child, 6, _l("6 and over")),
    AgeBand("child_3", RecipientKind.child, 3, _l("3–5")),
    AgeBand("child_0", RecipientKind.child, 0, _l("under 3")),
)

# The order pages and reports show them in: by kind, youngest first.
SHOWN = tuple(sorted(BANDS, key=lambda band: (band.kind != RecipientKind.elder, band.from_years)))
BY_KEY = {band.key: band for band in BANDS}


def years_before(day: date, years: int) -> date:
    """The day ``years`` years before ``day`` (29 February falls back to the 28th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def band_of(kind: RecipientKind, birth_date: date, on: date) -> AgeBand:
    """The band a person of ``kind`` born on ``birth_date`` is in on the day ``on``."""
    for band in BANDS:
        if band.kind == kind and birth_date <= years_before(on, band.from_years):
            return band
    raise ValueError(f"{birth_date} is after {on}")


def band_column(on: date) -> sa.ColumnElement[str]:
    """SQL for the band key of ``CareRecipient`` on the day ``on``: the same rule as ``band_of``.

    Someone born after ``on`` (a date typed wrong) falls in the youngest band of their kind."""
    whens = [((CareRecipient.kind == band.kind) & (CareRecipient.birth_date <= years_before(on, band.from_years)),
              band.key) for band in BANDS]
    youngest_child = [band.key for band in BANDS if band.kind == RecipientKind.child][-1]
    youngest_elder = [band.key for band in BANDS if band.kind == RecipientKind.elder][-1]
    fallback = sa.case((CareRecipient.kind == RecipientKind.child, youngest_child), else_=youngest_elder)
    return sa.case(*whens, else_=fallback)
