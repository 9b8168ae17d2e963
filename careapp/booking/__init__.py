"""The one booking engine every service kind shares, and the policies that differ per kind."""
