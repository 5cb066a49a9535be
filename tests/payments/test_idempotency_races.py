"""The Idempotency-Key claim when other requests with the same key act between its statements: a
claim released between our failed insert and our read, released twice, a dead request's claim
answered or taken over by another retry just before we delete it, a slow request's claim of the same
moment, and a claim exactly as old as the stale time.

Real threads on PostgreSQL: the other request runs in its own thread (its own connection), forced
in right after the statement of ours it must follow (a database execute wrapper on our connection)."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from payments.idempotency import STALE_CLAIM, claim, complete, release
from payments.models import IdempotencyKey
from tests.support.concurrency import in_thread

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

BODY = b'{"location_id": 1, "price_id": "p"}'
ANSWER = b'{"success": true}'


def is_claim_insert(sql: str) -> bool:
    return sql.startswith('INSERT INTO "payments_idempotencykey"')


def is_claim_read(sql: str) -> bool:
    return sql.startswith("SELECT") and '"payments_idempotencykey"' in sql


class Script:
    """A database execute wrapper: after our next statement `steps[0][0]` matches (an insert that
    failed included), run `steps[0][1]` in another thread to its end, then go on."""

    def __init__(self, *steps: tuple[Callable[[str], bool], Callable[[], object]]) -> None:
        self.steps = list(steps)

    def __call__(self, execute, sql, params, many, context):
        try:
            return execute(sql, params, many, context)
        finally:
            if self.steps and self.steps[0][0](sql):
                _, action = self.steps.pop(0)
                in_thread(action)


def test_a_claim_released_between_our_insert_and_our_read_is_ours_on_the_next_try():
    """The first request failed (a 5xx answer releases its key) just after our insert collided."""
    first = claim(key="K", body=BODY)
    script = Script((is_claim_insert, lambda: release(first)))

    with connection.execute_wrapper(script):
        ours = claim(key="K", body=BODY)

    assert not script.steps, "the race did not happen"
    assert (ours.conflict, ours.replay_status) == ("", None)
    assert IdempotencyKey.objects.get(key="K").status_code is None


def test_a_key_claimed_and_released_under_us_twice_is_answered_in_progress_not_tried_again():
    """Two tries at most: each insert collides with a claim that is gone when we read it."""
    first = claim(key="K", body=BODY)
    third: list = []
    script = Script(
        (is_claim_insert, lambda: release(first)),
        (is_claim_read, lambda: third.append(claim(key="K", body=BODY))),
        (is_claim_insert, lambda: release(third[0])),
    )

    with connection.execute_wrapper(script):
        ours = claim(key="K", body=BODY)

    assert not script.steps, "the race did not happen"
    assert (ours.key, ours.conflict, ours.replay_status) == ("K", "in_progress", None)
    assert not IdempotencyKey.objects.filter(key="K").exists()


def dead_claim(key: str = "K"):
    """A claim whose request looks dead: made longer ago than the stale time, never answered."""
    made = claim(key=key, body=BODY)
    IdempotencyKey.objects.filter(key=key).update(created_at=timezone.now() - STALE_CLAIM - timedelta(seconds=5))
    return made


def test_a_dead_looking_claim_answered_just_before_we_take_it_over_is_replayed():
    slow = dead_claim()
    script = Script((is_claim_read, lambda: complete(slow, status_code=201, body=ANSWER, sale_id=None)))

    with connection.execute_wrapper(script):
        ours = claim(key="K", body=BODY)

    assert not script.steps, "the race did not happen"
    assert (ours.replay_status, ours.replay_body) == (201, ANSWER)
    assert IdempotencyKey.objects.get(key="K").status_code == 201


def test_a_dead_claim_another_retry_took_over_just_before_us_stays_that_retrys():
    dead_claim()
    other: list = []
    script = Script((is_claim_read, lambda: other.append(claim(key="K", body=BODY))))

    with connection.execute_wrapper(script):
        ours = claim(key="K", body=BODY)

    assert not script.steps, "the race did not happen"
    assert other[0].conflict == ""
    assert ours.conflict == "in_progress"
    complete(other[0], status_code=201, body=ANSWER, sale_id=None)
    assert IdempotencyKey.objects.get(key="K").status_code == 201


def test_taking_over_a_dead_claim_leaves_another_keys_claim_made_at_the_same_moment():
    """Two requests claimed their keys in the same microsecond; one died, the other is slow but
    answers: its answer is stored for its retries."""
    dead_claim("K1")
    slow = claim(key="K2", body=BODY)
    same_moment = IdempotencyKey.objects.get(key="K1").created_at
    IdempotencyKey.objects.filter(key="K2").update(created_at=same_moment)

    assert claim(key="K1", body=BODY).conflict == ""
    complete(slow, status_code=201, body=ANSWER, sale_id=None)

    assert claim(key="K2", body=BODY).replay_status == 201


@pytest.mark.django_db
def test_a_claim_exactly_as_old_as_the_stale_time_is_taken_over(monkeypatch):
    moment = timezone.now()
    claim(key="K", body=BODY)
    IdempotencyKey.objects.filter(key="K").update(created_at=moment - STALE_CLAIM)
    monkeypatch.setattr(timezone, "now", lambda: moment)

    assert claim(key="K", body=BODY).conflict == ""


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "replayed"), [(500, None), (499, 499)])
def test_an_answer_of_500_or_more_is_not_kept_for_retries_and_one_below_is(status, replayed):
    first = claim(key="K", body=BODY)

    complete(first, status_code=status, body=b'{"success": false}', sale_id=None)

    retry = claim(key="K", body=BODY)
    assert (retry.conflict, retry.replay_status) == ("", replayed)
