"""Shared building blocks every care service uses: clock, errors, database helpers, audit."""
