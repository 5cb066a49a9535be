"""backoffice: the staff screens in the Django admin (sales, problems, refunds, emails, reports, CSV)."""
