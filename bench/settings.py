"""Production settings plus what the benchmarks need, and nothing else.

`DJANGO_SETTINGS_MODULE=bench.settings` is used by the benchmarks only: it adds a bare view to
the URLs (the baseline the poll is compared with) and an outermost middleware that counts the SQL
queries Django runs for each request and reports them in an `X-Bench-Queries` response header.
"""

from photobox.settings import *  # noqa: F403
from photobox.settings import MIDDLEWARE

ROOT_URLCONF = "bench.urls"
MIDDLEWARE = ["bench.middleware.QueryCountMiddleware", *MIDDLEWARE]
