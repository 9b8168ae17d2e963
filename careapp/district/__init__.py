"""The sub-district's structure: communities, grids and buildings."""
