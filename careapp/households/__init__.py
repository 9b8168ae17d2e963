"""Households and the people careapp cares for (elders and children)."""
