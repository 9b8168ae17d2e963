"""Community staff: partners and their slots, booking on behalf of residents."""
