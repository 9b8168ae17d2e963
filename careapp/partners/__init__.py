"""Partner organisations, their service points, services and slots."""
