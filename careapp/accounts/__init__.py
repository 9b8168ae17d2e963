"""User accounts, roles, API tokens and login."""
