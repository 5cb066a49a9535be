"""The funnel's summary of closed Jakarta days (summarise_funnel): the page reads it for the days it
has and counts the others from the sales, and the sum is always what counting every sale gives,
late events included once the summary ran again. Running it again changes nothing; two runs at
once leave the same rows as one."""

import threading
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone

from gallery.funnel import funnel, funnel_lines
from gallery.funnel_payments import channel_mix_and_median, paid_by_weekday_and_hour
from gallery.funnel_sources import Sources, sources
from gallery.funnel_summary import days_to_summarise, summarise_day, summarise_funnel
from gallery.models import EmailKind, EmailOutbox, FunnelDay, FunnelPayments, FunnelSummarisedDay, GalleryVisits
from gallery.visits import Visit, count_visit
from payments import transitions
from payments.models import Sale, SaleCause, SaleStatus
from tests.support.concurrency import run_concurrently

pytestmark = pytest.mark.postgresql  # the funnel is counted by PostgreSQL

FIRST, TODAY = date(2025, 3, 8), date(2025, 3, 12)
# 15:00 on 12 March in Jakarta: 8 to 11 March are closed days, 12 March is today.
NOW = datetime(2025, 3, 12, 8, 0, tzinfo=UTC)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def sales(make_sale, make_location, location):
    """Sales at two machines from 8 to 12 March (Jakarta), paid with several channels and times to
    pay, one started at 23:58 and paid after midnight, some with photos, email, visits; some not
    paid. Returns the ones the late events below act on."""
    other = make_location(machine_code="PB-002", name="Mall Kota Kasablanka")

    def sale(created, *, paid_after=None, where=location, channel="DANA", photos=False, emailed=False, visits=None):
        made = make_sale(
            status=SaleStatus.COMPLETED if paid_after else SaleStatus.EXPIRED, location=where, created_at=created,
            paid_at=created + paid_after if paid_after else None, payment_channel=channel if paid_after else "",
            email_sent_at=created + timedelta(minutes=10) if emailed else None,
        )  # fmt: skip
        if photos:
            EmailOutbox.objects.create(sale=made, kind=EmailKind.CUSTOMER_PHOTOS)
        for visit in visits or []:
            count_visit(sale_id=made.pk, visit=visit)
        return made

    late = {}
    for number, day in enumerate(range(8, 13)):
        start = utc(2025, 3, day - 1, 17, 0)  # 00:00 Jakarta
        sale(start + timedelta(hours=2), paid_after=timedelta(seconds=61 + number), photos=True, emailed=True,
             visits=[Visit.OPEN, Visit.ZIP_DOWNLOAD])  # fmt: skip
        sale(start + timedelta(hours=9, minutes=number), paid_after=timedelta(seconds=200), where=other, channel="OVO")
        sale(start + timedelta(hours=13), paid_after=timedelta(seconds=95, microseconds=600_000), channel="")
        sale(start + timedelta(hours=14))  # never paid
        late[day] = sale(start + timedelta(hours=5), paid_after=timedelta(seconds=45), photos=True)  # no email yet
    # Started at 23:58 on 9 March, paid at 00:02 on 10 March: started on the 9th, paid on the 10th
    # (at a machine that sold nothing else: on the 10th it has a payment and no funnel line).
    night = make_location(machine_code="PB-003", name="Stasiun Gambir")
    sale(utc(2025, 3, 9, 16, 58), paid_after=timedelta(minutes=4), where=night, channel="OVO")
    late["expired"] = sale(utc(2025, 3, 9, 6, 0))
    return late


def everything(period: Sources) -> dict:
    result = funnel(sources=period)
    return {
        "days": result.days,
        "locations": result.locations,
        "cells": [(cell.day, cell.location, cell.counts) for cell in result.cells],
        "totals": result.totals,
        "lines": list(funnel_lines(sources=period)),
        "hours": paid_by_weekday_and_hour(sources=period),
        "channels": channel_mix_and_median(sources=period),
    }


def counted_from_the_sales(period: Sources) -> dict:
    return everything(replace(period, summarised_days=[], live_ranges=[(period.date_from, period.date_to)]))


def period(**more) -> Sources:
    return sources(date_from=FIRST, date_to=TODAY, **more)


@pytest.mark.django_db
def test_closed_days_from_the_summary_plus_today_live_equal_counting_every_sale(sales, location):
    before = counted_from_the_sales(period())

    report = summarise_funnel(now=NOW)

    assert report.days == [date(2025, 3, day) for day in range(8, 12)]  # closed days only
    split = period()
    assert split.summarised_days == report.days
    assert split.live_ranges == [(TODAY, TODAY)]
    assert everything(split) == counted_from_the_sales(split) == before
    at_one_machine = period(location_ids=[location.pk])
    assert everything(at_one_machine) == counted_from_the_sales(at_one_machine)
    assert before["totals"].started == 5 * 5 + 2
    # 21 paid sales: 45 s five times, 61 to 65 s, 95.6 s five times (whole seconds: 96), 200 s five times,
    # 240 s: the middle one.
    assert before["channels"][1] == timedelta(seconds=96)


@pytest.mark.django_db
def test_late_events_reach_past_days_at_the_next_run(sales):
    summarise_funnel(now=NOW)
    # A gallery opened and downloaded days later, an email delivered after retries, a late payment
    # of an expired sale, a refund: each changes a closed day.
    count_visit(sale_id=sales[9].pk, visit=Visit.OPEN)
    count_visit(sale_id=sales[9].pk, visit=Visit.PHOTO_DOWNLOAD)
    Sale.objects.filter(pk=sales[10].pk).update(email_sent_at=utc(2025, 3, 11, 3, 0), updated_at=timezone.now())
    expired = sales["expired"]
    transitions.complete(
        sale=expired, paid_at=utc(2025, 3, 10, 5, 0), paid_amount=expired.amount, payment_id="qrpy_late",
        channel="SHOPEEPAY", receipt_id="", cause=SaleCause.WEBHOOK,
    )  # fmt: skip
    transitions.refund(sale=Sale.objects.get(pk=sales[11].pk))
    stale = period()
    assert everything(stale) != counted_from_the_sales(stale)  # past days lag until the next run

    assert set(days_to_summarise(now=NOW)) >= {date(2025, 3, 9), date(2025, 3, 10), date(2025, 3, 11)}
    summarise_funnel(now=NOW)

    fresh = period()
    assert everything(fresh) == counted_from_the_sales(fresh)
    assert fresh.live_ranges == [(TODAY, TODAY)]


@pytest.mark.django_db
def test_running_it_again_changes_nothing_and_skips_settled_days(sales):
    summarise_funnel(now=NOW)
    rows = summary_rows()

    summarise_funnel(now=NOW)
    assert summary_rows() == rows

    # Galleries closed (photos deleted), nothing changed for a month: nothing left to summarise.
    month_ago = NOW - timedelta(days=30)
    Sale.objects.update(photos_deleted_at=NOW, updated_at=month_ago)
    GalleryVisits.objects.update(first_opened_at=month_ago)
    EmailOutbox.objects.update(created_at=month_ago)
    summarise_funnel(now=NOW)
    assert summarise_funnel(now=NOW).days == []
    assert summary_rows() == rows

    # ...until a customer opens an expired gallery for the first time: its day changes.
    count_visit(sale_id=sales[10].pk, visit=Visit.OPEN)
    assert summarise_funnel(now=NOW).days == [date(2025, 3, 10)]
    assert summary_rows() != rows


def summary_rows() -> tuple:
    return (
        sorted(FunnelDay.objects.values_list(*[f.attname for f in FunnelDay._meta.fields if f.name != "id"])),
        sorted(FunnelPayments.objects.values_list("day", "location", "channel", "seconds_to_pay", "sales", "amount")),
        sorted(FunnelSummarisedDay.objects.values_list("day", flat=True)),
    )


@pytest.mark.django_db
def test_the_command_summarises_the_closed_days_and_says_so(sales, capsys):
    call_command("summarise_funnel")

    output = capsys.readouterr().out
    # Every closed day from the first sale's on (today's date is later than the sales').
    assert output.startswith("summarised ")
    assert "2025-03-08 to " in output
    assert not FunnelSummarisedDay.objects.filter(day__gte=timezone.localdate()).exists()


def wait_until_a_query_waits_for(pid: int) -> None:
    """Return once another connection's query is blocked by backend `pid`'s locks."""
    deadline = time.monotonic() + 10
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted AND %s = ANY(pg_blocking_pids(pid))", [pid])
            if cursor.fetchone()[0]:
                return
            time.sleep(0.01)
    raise AssertionError("The second run never waited for the first: both rewrote the day at once")


@pytest.mark.django_db(transaction=True)
def test_two_runs_rewriting_the_same_day_at_once_leave_it_right(sales):
    """Run A writes 9 March and holds its transaction open after taking the day's row; run B, on
    its own connection, starts on the same day and must wait; A commits; B then rewrites it."""
    day = date(2025, 3, 9)
    summarise_day(day=day)
    expected = summary_rows()
    count_visit(sale_id=sales[9].pk, visit=Visit.OPEN)  # the day changed: both runs rewrite it
    a_holds_the_day, b_waits = threading.Event(), threading.Event()
    a_pid: list[int] = []

    def pause_after_taking_the_day(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.lstrip().startswith(f"INSERT INTO {connection.ops.quote_name(FunnelSummarisedDay._meta.db_table)}"):
            a_pid.append(context["connection"].connection.info.backend_pid)
            a_holds_the_day.set()
            assert b_waits.wait(timeout=10)
        return result

    def run(index: int) -> None:
        if index == 0:
            with connection.execute_wrapper(pause_after_taking_the_day):
                summarise_day(day=day)
        else:
            assert a_holds_the_day.wait(timeout=10)
            threading.Thread(target=release_a_once_b_waits).start()
            summarise_day(day=day)

    def release_a_once_b_waits() -> None:
        try:
            wait_until_a_query_waits_for(a_pid[0])
            b_waits.set()
        finally:
            connections.close_all()

    assert run_concurrently(run, 2) == [None, None]

    rows = summary_rows()
    assert rows != expected  # the visit counts
    assert FunnelDay.objects.filter(day=day).count() == 3  # one row per machine, never twice
    split = sources(date_from=day, date_to=day)
    assert split.summarised_days == [day]
    assert everything(split) == counted_from_the_sales(split)


@pytest.mark.django_db(transaction=True)
def test_two_whole_runs_at_once_summarise_every_day_right(sales):
    results = run_concurrently(lambda index: summarise_funnel(now=NOW), 2)

    assert not [result for result in results if isinstance(result, Exception)]
    split = period()
    assert split.summarised_days == [date(2025, 3, day) for day in range(8, 12)]
    assert everything(split) == counted_from_the_sales(split)
