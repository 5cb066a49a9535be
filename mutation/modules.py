"""The money modules mutation testing covers, and the test files that matter for each.

mutmut runs the listed test files once to learn which test calls which function, then runs only
those tests against each mutant of that function. Tests that start servers, browsers or
Schemathesis are left out: they are slow, and what they check is covered in-process here.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class MoneyModule:
    sources: tuple[str, ...]
    tests: tuple[str, ...]
    what: str
    # Tests of those files left out: slow, and proving nothing about this module's rules.
    skip: tuple[str, ...] = ()


# Migrates the database back and forth (14 s): it is about the migration, not the transitions.
MIGRATION_TEST = "tests/payments/test_transitions.py::test_the_migration_builds_rows_from_what_earlier_versions_kept"


def later_runs(test: str, *, kinds: tuple[str, ...] = ("",), repeat: int = 5) -> tuple[str, ...]:
    """A race test's runs after its first (REPEAT = range(5) in its file; `kinds`: the ids of its
    other parameter, e.g. "percent-"). Repeated to catch a race lost once in a while; against a
    mutant the first run kills what the others would, and each costs a table flush (about 1 s)."""
    return tuple(f"{test}[{kind}{attempt}]" for kind in kinds for attempt in range(1, repeat))


NOTICE_RACES = "tests/payments/test_concurrency.py::"
VOUCHER_RACES = "tests/payments/test_voucher_concurrency.py::"

MODULES: dict[str, MoneyModule] = {
    "transitions": MoneyModule(
        what="every change of a sale's status and its history row",
        sources=("payments/transitions.py",),
        tests=(
            "tests/payments/test_transitions.py",
            "tests/payments/test_transition_records.py",
            "tests/payments/test_cancel_sale.py",
            "tests/payments/test_expire_sales.py",
            "tests/payments/test_late_payments.py",
            "tests/payments/test_money_mutants.py",
            "tests/payments/test_concurrency.py",
            "tests/payments/test_refunds.py",
            "tests/payments/test_vouchers.py",
            # Each transition's change to its price's quota counters.
            "tests/pricing/test_quota_counts.py",
        ),
        skip=(MIGRATION_TEST,),
    ),
    "notices": MoneyModule(
        what="applying a payment notice (webhook, reconciliation, simulator) and whether it may complete a sale",
        sources=("payments/events.py", "payments/completion.py"),
        tests=(
            "tests/payments/test_webhook.py",
            "tests/payments/test_notice_records.py",
            "tests/payments/test_transitions.py",
            "tests/payments/test_notice_verification.py",
            "tests/payments/test_late_payments.py",
            "tests/payments/test_expire_sales.py",
            "tests/payments/test_simulator.py",
            "tests/backoffice/test_admin_problems.py",
            "tests/payments/test_money_mutants.py",
            "tests/payments/test_concurrency.py",
            "tests/payments/test_notice_explanations.py",
            "tests/payments/test_stored_before_applied.py",
        ),
        skip=(
            MIGRATION_TEST,
            *later_runs(NOTICE_RACES + "test_eight_identical_webhooks_at_once_complete_the_sale_once"),
            *later_runs(NOTICE_RACES + "test_expiry_racing_a_payment_never_loses_the_payment"),
            *later_runs(NOTICE_RACES + "test_the_same_refund_webhook_at_once_settles_it_once"),
            *later_runs(NOTICE_RACES + "test_overlapping_refund_checks_send_an_unconfirmed_refund_once"),
            *later_runs(NOTICE_RACES + "test_concurrent_expiry_runs_expire_each_sale_once"),
        ),
    ),
    # The refund rules, settling and history are tested in-process (the simulator, or the fake
    # Xendit for its answers): each mutant runs in a second or two. The admin's refund pages
    # (tests/backoffice/test_admin_refunds.py) show the same rules through slower page requests.
    "refunds": MoneyModule(
        what="what may be refunded, asking Xendit, settling",
        sources=("payments/refunds/services.py", "payments/refunds/selectors.py", "payments/refunds/history.py"),
        tests=(
            "tests/payments/test_refund_rules.py",
            "tests/payments/test_refund_answers.py",
            "tests/payments/test_refund_settling.py",
            "tests/payments/test_refund_history.py",
            "tests/payments/test_refunds.py",
            "tests/payments/test_simulated_refunds.py",
        ),
        # Wait 1.5 s each for a lost answer: which refund a notice adopts is tested directly.
        skip=(
            "tests/payments/test_refunds.py::test_a_webhook_before_xendits_answer_settles_the_refund_it_belongs_to",
            "tests/payments/test_refunds.py::test_an_unconfirmed_refund_is_found_in_xendits_list_not_sent_twice",
        ),
    ),
    "quota": MoneyModule(
        what="locking a price for a sale and its quota, the quota counters and their repair",
        sources=("pricing/services.py",),
        tests=(
            "tests/pricing/test_price_refusals.py",
            "tests/pricing/test_quota_counts.py",
            "tests/payments/test_create_sale_queries.py",
            "tests/payments/test_quota_concurrency.py",
            "tests/payments/test_create_sale.py",
            "tests/pricing/test_prices.py",
            "tests/pricing/test_price_locations.py",
            "tests/payments/test_concurrency.py",
            "tests/payments/test_money_mutants.py",
        ),
    ),
    "vouchers": MoneyModule(
        what="what a voucher takes off, taking a use, giving it back",
        sources=("pricing/vouchers.py",),
        tests=(
            "tests/pricing/test_vouchers.py",
            "tests/payments/test_vouchers.py",
            "tests/payments/test_voucher_concurrency.py",
            "tests/gallery/test_vouchers.py",
            "tests/pricing/test_voucher_batches.py",
            "tests/pricing/test_voucher_redeem.py",
        ),
        skip=(
            *later_runs(
                VOUCHER_RACES + "test_a_voucher_of_three_uses_typed_at_twelve_kiosks_at_once_is_used_three_times",
                kinds=("percent-", "free-"),
            ),
            *later_runs(VOUCHER_RACES + "test_one_use_per_email_holds_when_one_customer_tries_at_every_kiosk"),
            *later_runs(VOUCHER_RACES + "test_cancelling_and_selling_at_once_never_overuses_the_voucher"),
            *later_runs(VOUCHER_RACES + "test_one_idempotency_key_sent_by_six_retries_at_once_uses_the_voucher_once"),
        ),
    ),
    "idempotency": MoneyModule(
        what="Idempotency-Key: claiming a key, replaying an answer",
        # core/sql.py writes the claims and their answers (and the create's other one-row statements).
        sources=("payments/idempotency.py", "core/sql.py"),
        tests=(
            "tests/payments/test_idempotency_races.py",
            "tests/payments/test_idempotency_claims.py",
            "tests/payments/test_create_sale.py",
            "tests/payments/test_money_mutants.py",
            "tests/payments/test_concurrency.py",
            "tests/locations/test_kiosk_keys.py",
            # core/sql.py's other users: the machine read with its heartbeat, the QR fields, the answer.
            "tests/payments/test_out_of_service_sales.py",
            "tests/payments/test_create_sale_queries.py",
            "tests/payments/test_sale_serializers.py",
            "tests/locations/test_location_read.py",
        ),
    ),
    "kiosk_auth": MoneyModule(
        what="the kiosk-key authentication",
        sources=("locations/auth.py",),
        tests=(
            "tests/locations/test_kiosk_keys.py",
            "tests/locations/test_kiosk_key_header.py",
            "tests/locations/test_activation.py",
            "tests/locations/test_heartbeat.py",
        ),
    ),
    "upload": MoneyModule(
        what="the upload and its reservation of photos",
        sources=("gallery/uploads.py",),
        tests=(
            "tests/gallery/test_upload_log_lines.py",
            "tests/gallery/test_interrupted_upload_rechecks.py",
            "tests/gallery/test_upload.py",
            "tests/gallery/test_upload_limits.py",
            "tests/gallery/test_interrupted_uploads.py",
        ),
        # These two start gunicorn and kill its worker: slow, and run outside the mutated process.
        skip=(
            "tests/gallery/test_interrupted_uploads.py::"
            "test_a_worker_killed_mid_upload_then_a_retry_with_re_encoded_photos_sends_the_email",
            "tests/gallery/test_interrupted_uploads.py::"
            "test_a_worker_killed_mid_upload_and_no_retry_send_emails_sends_the_stored_photos",
        ),
    ),
    "outbox": MoneyModule(
        what="the customer email and staff alerts outbox",
        sources=("gallery/outbox.py",),
        tests=(
            "tests/gallery/test_outbox_rules.py",
            "tests/gallery/test_emails.py",
            "tests/gallery/test_email_state.py",
            "tests/backoffice/test_staff_alerts.py",
        ),
    ),
    "cleanup": MoneyModule(
        what="deleting photos past retention",
        sources=("gallery/cleanup.py",),
        tests=(
            "tests/gallery/test_cleanup_runs.py",
            "tests/gallery/test_cleanup.py",
            "tests/gallery/test_retention_mutants.py",
        ),
        # About uploads, and timed: on a busy machine it fails for the time, not for a mutant.
        skip=("tests/gallery/test_cleanup.py::test_twelve_photos_upload_in_parallel",),
    ),
    "encryption": MoneyModule(
        what="response encryption (AES-CBC and AES-GCM)",
        sources=("core/encryption.py",),
        tests=(
            "tests/core/test_encryption.py",
            "tests/core/test_encryption_gcm.py",
            "tests/core/test_encryption_messages.py",
        ),
    ),
    "ratelimit": MoneyModule(
        what="rate limits",
        sources=("core/ratelimit.py",),
        tests=(
            "tests/core/test_rate_limit_counters.py",
            "tests/core/test_rate_limits.py",
            "tests/payments/test_xendit_rate_limits.py",
            "tests/core/test_admin_lockout.py",
        ),
    ),
}
