"""Distances on the ground between two coordinates (WGS-84 degrees)."""
from __future__ import annotations

from math import asin, cos, radians, sin, sqrt

# Mean radius of the Earth (IUGG), metres: the haversine's error is well under 0.5 % at a city's scale.
EARTH_RADIUS_M = 6_371_008.8


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two points (the haversine formula)."""
    phi1, phi2 = radians(lat1), radians(lat2)
    d_phi, d_lambda = phi2 - phi1, radians(lon2 - lon1)
    a = sin(d_phi / 2) ** 2 + cos(phi1) * cos(phi2) * sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * asin(min(1.0, sqrt(a)))
