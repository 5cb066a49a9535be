"""Date formats for the admin, one per language (settings.FORMAT_MODULE_PATH = "photobox.formats").

Staff read every date as `07 Dec 2026 09:34`, in Jakarta time (settings.TIME_ZONE): the helpers'
format (backoffice.tools.jakarta_time), now also that of Django's own date fields on change pages and
in list columns. Only output formats are set: forms still read what Django's locale reads.
"""
