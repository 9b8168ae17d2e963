"""Meal help for elders (老年助餐)."""
