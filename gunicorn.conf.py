"""Gunicorn settings for Photobox: `gunicorn -c gunicorn.conf.py photobox.wsgi`.

Every value can be changed from the environment (or the project's .env, read the way
photobox/settings/ reads it: variables already set win). See README, "Deploying".
"""

import logging
import multiprocessing
import os
from pathlib import Path

import environ
from gunicorn.glogging import Logger

BASE_DIR = Path(__file__).resolve().parent
environ.Env.read_env(BASE_DIR / ".env")


def _int(name: str, default: int, minimum: int = 1) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {value!r}.") from None
    if number < minimum:
        raise SystemExit(f"{name} must be at least {minimum}, got {number}.")
    return number


# --- Where to listen ---------------------------------------------------------------------------
# Behind a reverse proxy on the same machine: 127.0.0.1:8000. Platforms that hand out a port in
# $PORT get 0.0.0.0:$PORT. GUNICORN_BIND wins over both (e.g. unix:/run/photobox/gunicorn.sock).
if os.environ.get("GUNICORN_BIND", "").strip():
    bind = [address.strip() for address in os.environ["GUNICORN_BIND"].split(",") if address.strip()]
elif os.environ.get("PORT", "").strip():
    bind = [f"0.0.0.0:{_int('PORT', 8000)}"]
else:
    bind = ["127.0.0.1:8000"]
# PORT mode faces clients directly: nothing buffers the responses, so a client that stops reading
# (a phone that asked for a gallery ZIP and went to sleep) holds a worker thread until it reads on
# or goes away, and a few of them hold every thread: the kiosks' polls then time out. nginx as in
# the README (response buffering, on by default) takes the whole response off gunicorn at once.
PORT_MODE = not os.environ.get("GUNICORN_BIND", "").strip() and bool(os.environ.get("PORT", "").strip())

# --- Workers ---------------------------------------------------------------------------------------
# Processes x threads, from the cores: one worker per core of 4 threads each was the fastest
# configuration bench.poll_configs measured among 1, 2 and 4 workers per core x 1, 2, 4 and 8
# threads (bench/README.md, "How the server configuration changes the poll"): more processes only
# take turns on the same cores, fewer threads leave a core idle while a thread waits on PostgreSQL.
# Each thread can hold a PostgreSQL connection (two with DB_POLL_CONNECTION): on a machine with
# many cores mind the database's connection budget (README, "Deploying"; GUNICORN_WORKERS wins).
WORKERS_PER_CORE = 1
workers = _int("GUNICORN_WORKERS", multiprocessing.cpu_count() * WORKERS_PER_CORE)
# Threads: a kiosk's photo upload waits on Cloudinary for seconds; other requests go on meanwhile
# (with 1 or 2 threads a few uploads at once hold every thread of a worker).
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)
# Xendit gives up on a webhook after 30 s: a stuck worker is replaced well before that.
timeout = _int("GUNICORN_TIMEOUT", 25)
# On restart/deploy, requests under way get this long to finish.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 20)
# Seconds to keep an idle connection from the proxy open (nginx reuses them with keepalive).
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Worker restarts cost ~1 s of CPU each and stall the requests behind them (bench/README.md: with
# 2,000 a worker restarted every 1.5 s at 1,300 polls/s); off unless asked for as a leak guard.
max_requests = _int("GUNICORN_MAX_REQUESTS", 0, minimum=0)
max_requests_jitter = max(max_requests // 10, 0)
# Heartbeat files in memory, not on a possibly slow disk (the usual advice for containers).
if Path("/dev/shm").is_dir():  # noqa: S108 - gunicorn's heartbeat files, not data
    worker_tmp_dir = "/dev/shm"  # noqa: S108

# gunicornc's control socket: only where asked for (by default every gunicorn of a user would
# share one path, ~/.gunicorn/gunicorn.ctl).
if os.environ.get("GUNICORN_CONTROL_SOCKET", "").strip():
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"].strip()
else:
    control_socket_disable = True

# --- The proxy in front ----------------------------------------------------------------------------
# Addresses allowed to set X-Forwarded-For/-Proto (the proxy's). Django decides HTTPS from
# SECURE_PROXY_SSL_HEADER; this only lets gunicorn log the real client address.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")


# --- Logs ---------------------------------------------------------------------------------------
# Errors on stderr. The access log (stdout, one line per request: who, what, status, bytes, how
# long (ms) and the request id, the X-Request-ID response header that is also on the app's lines)
# is off unless GUNICORN_ACCESS_LOG=true: behind nginx, nginx logs every request already, and the
# line cost the poll a fifth of its CPU as JSON (bench/README.md). With LOG_FORMAT=json (the
# default when DEBUG is off) each line is a JSON object through the app's formatter
# (core/logging.py); with LOG_FORMAT=plain, the plain line below, which costs less.
def _flag(name: str) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value in ("", "false", "0", "no", "off"):
        return False
    if value in ("true", "1", "yes", "on"):
        return True
    raise SystemExit(f"{name} must be true or false, got {value!r}.")


accesslog = "-" if _flag("GUNICORN_ACCESS_LOG") else None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").strip().lower() or "info"
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s "%(a)s"'


def _debug() -> bool:
    """DEBUG as core/env.py reads it (off unless set to a true word)."""
    return os.environ.get("DEBUG", "").strip().lower() in ("true", "1", "yes", "on")


def _log_format() -> str:
    chosen = os.environ.get("LOG_FORMAT", "").strip().lower()
    if chosen in ("json", "plain"):
        return chosen
    return "plain" if _debug() else "json"


class PhotoboxLogger(Logger):
    """Gunicorn's logger, writing its access and error lines with the app's formatter."""

    def setup(self, cfg):
        super().setup(cfg)
        from core.logging import JsonFormatter, PlainFormatter

        json_lines = _log_format() == "json"
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if json_lines:
                    handler.setFormatter(JsonFormatter())
                elif log is self.error_log:
                    handler.setFormatter(PlainFormatter())
                else:
                    handler.setFormatter(logging.Formatter("%(message)s"))


logger_class = PhotoboxLogger


def post_worker_init(worker):
    # Move everything imported at start-up out of the garbage collector's reach: full collections
    # of those objects paused workers for tens of ms (bench/README.md: poll p99 59 -> 36 ms).
    import gc

    gc.collect()
    gc.freeze()


def when_ready(server):
    # Said once, by the master, as soon as it listens (see PORT_MODE above).
    if PORT_MODE and not _debug():
        server.log.warning(
            "PORT mode (%s) is not for production: facing clients directly lets slow readers (a stalled "
            "gallery ZIP download) hold worker threads and stall the kiosks' polls; use the nginx setup "
            "in the README (Deploying, 5. nginx in front) and GUNICORN_BIND instead of PORT.",
            ", ".join(bind),
        )
