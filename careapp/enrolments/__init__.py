"""Standing enrolments: a recipient booked into every new slot of a service on chosen weekdays."""
