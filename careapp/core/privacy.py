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


def mask_email(address: str) -> str:
    """wa***@example.com: the domain and a hint of the name, not an address anyone could write to."""
    local, at, domain = (address or "").strip().rpartition("@")
    if not at:
        return "***" if domain else ""
    shown = local[:2] if len(local) > 2 else local[:1] if len(local) > 1 else ""
    return f"{shown}***@{domain}"
