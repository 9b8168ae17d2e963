"""Showing residents' data to those who need less of it (PIPL: the least data the work needs)."""
from __future__ import annotations


def mask_phone(number: str | None) -> str:
    """138****1234: enough to recognise a number (a volunteer at the door, community staff on a list),
    not to copy it. Shown whole only to the partner's own staff, who may need to call."""
    digits = (number or "").strip()
    if not digits:
        return ""
    if len(digits) < 7:
        return "****"
    return digits[:3] + "****" + digits[-4:]
