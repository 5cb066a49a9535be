"""The project as a whole: settings and start-up, deployment (gunicorn, nginx, several instances),
the home page, health and media URLs, and the API's schema, contract, fuzzing and query budgets."""
