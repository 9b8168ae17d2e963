"""Elderly day care (日间照料)."""
