"""Generated populations for benchmarks: ``careapp bench-data --scale district|city --seed N``.

A reproducible district (or city) of buildings around Wuhu, households with their elders and children,
accounts, partners with their services and a year of slots from weekly patterns, standing enrolments, and
the bookings families made, lived through by the booking engine's rules (docs/bench-data.md). The same
seed and the same "now" give the same rows.

Rows go straight into the database in batches (COPY on PostgreSQL), with ids given here, not through the
app's rules: this is data to measure reading and booking against, not a test of writing it. There are no
audit entries or notifications for the generated history.

    from careapp.benchdata.generate import generate
    generate(SCALES["district"], seed=1, now=clock_now)   # in an app context, on an empty migrated database

This package's top level holds only the scales and the generated logins (cheap to import, for the CLI and
the benchmarks); the generator itself is careapp.benchdata.generate.
"""
from careapp.benchdata.scales import (ADMIN_LOGIN, BENCH_PASSWORD, SCALES, Scale, community_staff_login,
                                      family_login, partner_manager_login, partner_staff_login)

__all__ = ["ADMIN_LOGIN", "BENCH_PASSWORD", "SCALES", "Scale", "community_staff_login", "family_login",
           "partner_manager_login", "partner_staff_login"]
