"""Sites -> points: the matcher (names -> index places), the geocoders, and the "near" box."""
