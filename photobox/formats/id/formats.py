"""Indonesian (the admin with ADMIN_LANGUAGE_CODE=id): `07 Des 2026 09:34`, as in English.

Customer pages and emails write their dates with explicit formats (`j F Y`), so these reach the
admin only.
"""

DATETIME_FORMAT = "d M Y H:i"
SHORT_DATETIME_FORMAT = "d M Y H:i"
DATE_FORMAT = "d M Y"
SHORT_DATE_FORMAT = "d M Y"
TIME_FORMAT = "H:i"
