"""core: the API envelope and its error handler, encryption, rate limits, logging, the admin login
lockout, and what a database that cannot be reached looks like."""
