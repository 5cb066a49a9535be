"""Production settings plus what the benchmarks need, and nothing else.

`DJANGO_SETTINGS_MODULE=bench.settings` is used by the benchmarks only: it adds a bare view to
the URLs (the baseline the poll is compared with) and an outermost middleware that counts the SQL
queries Django runs for each request and reports them in an `X-Bench-Queries` response header.
"""

import os

from photobox.settings import *  # noqa: F403
from photobox.settings import DATABASES, MIDDLEWARE

ROOT_URLCONF = "bench.urls"
MIDDLEWARE = ["bench.middleware.QueryCountMiddleware", *MIDDLEWARE]

# BENCH_SERVER_SIDE_BINDING=1: Django's documented OPTIONS["server_side_binding"], under which
# every query (the poll's too) binds on the server and prepare_threshold takes effect.
if os.environ.get("BENCH_SERVER_SIDE_BINDING"):
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
