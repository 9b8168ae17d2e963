"""Coverage for community staff: who lives within reach of which service (the 15-minute service circle),
places offered against demand, per sub-district, community, grid and building; and the reports a
sub-district sends up to its district."""
