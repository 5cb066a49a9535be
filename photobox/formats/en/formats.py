"""English (the admin's language): `07 Dec 2026 09:34` instead of Django's `Dec. 7, 2026, 9:34 a.m.`."""

DATETIME_FORMAT = "d M Y H:i"
SHORT_DATETIME_FORMAT = "d M Y H:i"
DATE_FORMAT = "d M Y"
SHORT_DATE_FORMAT = "d M Y"
TIME_FORMAT = "H:i"
