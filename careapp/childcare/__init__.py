"""Childcare (托育) and after-school care."""
