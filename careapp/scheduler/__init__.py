"""Scheduled jobs (plain functions taking ``now``) and the APScheduler process that triggers them."""
