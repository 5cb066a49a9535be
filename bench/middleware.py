from contextlib import ExitStack

from django.db import connections

from bench.harness.common import COUNT_QUERIES_HEADER, QUERY_COUNT_HEADER

# Sent by the counting requests only (bench.harness.COUNT_REQUEST): the load rounds run the
# shipped middleware alone, not this one's per-connection wrappers (~15 µs a request).
COUNT_REQUEST_META = "HTTP_" + COUNT_QUERIES_HEADER.upper().replace("-", "_")


class QueryCountMiddleware:
    """Counts the SQL queries Django runs for a request (as `django_assert_num_queries` does), on
    every database alias (the poll reads through its own, photobox/settings/database.py), and
    reports them in a response header, for the requests that ask (COUNT_REQUEST_META). Benchmarks
    only: see bench/settings.py."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if COUNT_REQUEST_META not in request.META:
            return self.get_response(request)
        count = 0

        def counter(execute, sql, params, many, context):
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        with ExitStack() as wrappers:
            for connection in connections.all():
                wrappers.enter_context(connection.execute_wrapper(counter))
            response = self.get_response(request)
        response[QUERY_COUNT_HEADER] = str(count)
        return response
