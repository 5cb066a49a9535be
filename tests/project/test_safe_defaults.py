"""Safe defaults with DEBUG off (issue 12, "Hardened for the open internet"): kiosk keys are required
unless `KIOSK_AUTH=optional` is chosen, which is then said at every start and by `check --deploy`;
start-up refuses short callback and maintenance tokens, a CBC key or IV that would be padded or
truncated (unless ENCRYPTION_LEGACY_KEY_PADDING=true), and production without a mail server (unless
EMAIL_BACKEND=console). The demo (DEBUG=true) keeps today's leniency. Real processes throughout."""

import json
import re
import secrets
import sys

from tests.support.processes import (
    PRODUCTION,
    PROJECT_ROOT,
    clean_environment,
    manage,
    one_line_error,
    run,
    start,
    started,
)

DEBUG_HINT = " On a development machine, run with DEBUG=true instead (or put DEBUG=true in .env, see .env.example)."
CONSOLE = "django.core.mail.backends.console.EmailBackend"
KEY, IV = "k" * 32, "i" * 16

OPTIONAL_WARNING = (
    "KIOSK_AUTH=optional: kiosks without a key are served, so a sale number alone (printed on the invoice, sent to "
    "Xendit) reads that sale's photos and uploads into it. Give every kiosk its key, then drop KIOSK_AUTH=optional: "
    "required is the default with DEBUG off."
)
NO_MAIL_SERVER = (
    "No mail server: MAIL_SERVER and EMAIL_PROVIDER are both empty, so customers would get no email. Set MAIL_SERVER "
    "(SMTP) or EMAIL_PROVIDER (an email service), or EMAIL_BACKEND=console to print every email on stdout instead, "
    "on purpose (nothing is sent)."
)


def refusal(env: dict[str, str]) -> str:
    """The one line `manage.py check` prints when the settings refuse to start, without its prefix."""
    line = one_line_error(manage(env, "check"))
    assert line.startswith("Photobox cannot start: "), line
    return line.removeprefix("Photobox cannot start: ")


def start_up_log(env: dict[str, str]) -> list[dict]:
    """The JSON log records (DEBUG off logs JSON) of a process that loads Django and stops."""
    result = start(env)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]


def cbc(key: str, iv: str, **values: str) -> dict[str, str]:
    return {
        **PRODUCTION,
        "ENCRYPTION_ENABLED": "true",
        "ENCRYPTION_MODE": "cbc",
        "ENCRYPTION_KEY": key,
        "ENCRYPTION_IV": iv,
        **values,
    }


# --- KIOSK_AUTH ---------------------------------------------------------------------------------


def test_kiosk_keys_are_required_by_default_with_debug_off():
    assert started(PRODUCTION, "KIOSK_AUTH") == {"KIOSK_AUTH": "required"}


def test_the_demo_keeps_kiosk_keys_optional_and_optional_is_chosen_explicitly_in_production():
    assert started({"DEBUG": "true"}, "KIOSK_AUTH") == {"KIOSK_AUTH": "optional"}
    assert started({**PRODUCTION, "KIOSK_AUTH": "optional"}, "KIOSK_AUTH") == {"KIOSK_AUTH": "optional"}


def test_optional_chosen_with_debug_off_is_logged_in_one_line_at_start():
    [record] = start_up_log({**PRODUCTION, "KIOSK_AUTH": "optional"})

    assert (record["level"], record["logger"], record["message"]) == ("WARNING", "photobox.startup", OPTIONAL_WARNING)
    # Not for required (the default), nor for the demo, nor when manage.py only prints help.
    assert start_up_log(PRODUCTION) == []
    assert start_up_log({**PRODUCTION, "KIOSK_AUTH": "required"}) == []
    assert not [r for r in start_up_log({"DEBUG": "true", "KIOSK_AUTH": "optional"}) if "KIOSK_AUTH" in r["message"]]
    helped = manage({"DEBUG": "false", "KIOSK_AUTH": "optional"}, "help")
    assert helped.returncode == 0, helped.stderr
    assert "KIOSK_AUTH" not in helped.stderr


def test_the_deployment_check_says_a_sale_number_alone_reads_photos_and_uploads():
    result = manage({**PRODUCTION, "KIOSK_AUTH": "optional"}, "check", "--deploy", "--fail-level", "WARNING")

    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert (
        "(photobox.W001) KIOSK_AUTH is not 'required': a sale number alone (printed on the invoice, sent to Xendit) "
        "is enough to read that sale's photos and to upload photos into it, which its customer is then emailed;"
    ) in output
    assert "then set KIOSK_AUTH=required, or leave it empty: required is the default with DEBUG off." in output


# --- Callback and maintenance tokens ----------------------------------------------------------------


def test_a_short_callback_token_is_refused():
    assert refusal({**PRODUCTION, "XENDIT_CALLBACK_TOKEN": "a" * 12}) == (
        "XENDIT_CALLBACK_TOKEN is too short (12 characters): use at least 32, the token from Xendit's dashboard is "
        "longer; copy it whole from Settings > Webhooks > Callback verification token." + DEBUG_HINT
    )


def test_a_short_callback_token_is_refused_with_the_xendit_gateway_too():
    env = {**PRODUCTION, "PAYMENT_GATEWAY": "xendit", "XENDIT_API_KEY": "xnd_development_abc"}

    assert refusal({**env, "XENDIT_CALLBACK_TOKEN": "a"}).startswith("XENDIT_CALLBACK_TOKEN is too short (1 character)")
    assert started({**env, "XENDIT_CALLBACK_TOKEN": "a" * 32}, "PAYMENT_GATEWAY") == {"PAYMENT_GATEWAY": "xendit"}


def test_a_short_maintenance_token_is_refused():
    assert refusal({**PRODUCTION, "MAINTENANCE_TOKEN": "b" * 5}) == (
        'MAINTENANCE_TOKEN is too short (5 characters): use at least 32, e.g. python -c "import secrets; '
        'print(secrets.token_urlsafe(32))", or leave it empty to turn the cleanup endpoint off.' + DEBUG_HINT
    )


def test_tokens_start_from_32_characters_and_empty_ones_keep_their_meaning():
    for name in ("XENDIT_CALLBACK_TOKEN", "MAINTENANCE_TOKEN"):
        assert refusal({**PRODUCTION, name: "t" * 31}).startswith(f"{name} is too short (31 characters)")
        assert started({**PRODUCTION, name: "t" * 32}, name) == {name: "t" * 32}
        # Empty: every webhook refused / the cleanup endpoint off, as before (tests/payments/test_webhook.py,
        # tests/gallery/test_cleanup.py).
        assert started({**PRODUCTION, name: ""}, name) == {name: ""}


def test_the_demo_takes_short_tokens_as_before():
    env = {"DEBUG": "true", "XENDIT_CALLBACK_TOKEN": "a", "MAINTENANCE_TOKEN": "b"}

    assert started(env, "XENDIT_CALLBACK_TOKEN", "MAINTENANCE_TOKEN") == {
        "XENDIT_CALLBACK_TOKEN": "a",
        "MAINTENANCE_TOKEN": "b",
    }
    assert refusal({**PRODUCTION, "XENDIT_CALLBACK_TOKEN": "a"}).startswith("XENDIT_CALLBACK_TOKEN is too short")


# --- The CBC key and IV -----------------------------------------------------------------------------


def test_a_short_cbc_key_is_refused():
    assert refusal(cbc("abc", IV)) == (
        "ENCRYPTION_KEY is 3 characters: ENCRYPTION_MODE=cbc needs exactly 32 ASCII characters (e.g. openssl rand "
        "-hex 16). Kiosks built on the earlier service's truncated or zero-padded values: set "
        "ENCRYPTION_LEGACY_KEY_PADDING=true to keep padding them." + DEBUG_HINT
    )


def test_a_cbc_iv_of_another_length_is_refused():
    assert refusal(cbc(KEY, "i" * 17)) == (
        "ENCRYPTION_IV is 17 characters: ENCRYPTION_MODE=cbc needs exactly 16 ASCII characters (e.g. openssl rand "
        "-hex 8). Kiosks built on the earlier service's truncated or zero-padded values: set "
        "ENCRYPTION_LEGACY_KEY_PADDING=true to keep padding them." + DEBUG_HINT
    )


def test_every_cbc_key_or_iv_that_would_be_truncated_or_padded_is_refused():
    assert refusal(cbc("k" * 33, IV)).startswith("ENCRYPTION_KEY is 33 characters: ")
    assert refusal(cbc("é" * 32, IV)).startswith("ENCRYPTION_KEY is 32 characters, not all ASCII: ")
    assert refusal(cbc(KEY, "i" * 15)).startswith("ENCRYPTION_IV is 15 characters: ")
    assert refusal(cbc("change_me", "change_me")).startswith("ENCRYPTION_KEY is 9 characters: ")


def test_exact_cbc_values_gcm_encryption_off_and_the_demo_still_start():
    assert refusal(cbc("abc", IV)).startswith("ENCRYPTION_KEY is 3 characters")
    assert started(cbc(KEY, IV), "ENCRYPTION_KEY", "ENCRYPTION_IV") == {"ENCRYPTION_KEY": KEY, "ENCRYPTION_IV": IV}
    assert start_up_log(cbc(KEY, IV)) == []
    # Not enabled: the values are not used.
    assert started(cbc("abc", "x", ENCRYPTION_ENABLED="false"), "ENCRYPTION_ENABLED") == {"ENCRYPTION_ENABLED": False}
    # The demo pads as before (core/encryption.py warns when the cipher is made).
    assert started(cbc("abc", "x", DEBUG="true"), "ENCRYPTION_KEY") == {"ENCRYPTION_KEY": "abc"}


def test_legacy_key_padding_keeps_the_old_keys_working_and_says_so_at_start():
    env = cbc("abc", "x", ENCRYPTION_LEGACY_KEY_PADDING="true")
    assert refusal({**env, "ENCRYPTION_LEGACY_KEY_PADDING": ""}).startswith("ENCRYPTION_KEY is 3 characters")

    [record] = start_up_log(env)

    assert (record["level"], record["logger"]) == ("WARNING", "photobox.startup")
    assert record["message"] == (
        "ENCRYPTION_LEGACY_KEY_PADDING=true: ENCRYPTION_KEY (3 characters) and ENCRYPTION_IV (1 character) are "
        "truncated or padded with '0' to 32 and 16, as kiosks built for the earlier service expect. Give new kiosks "
        "exact values, or ENCRYPTION_MODE=gcm."
    )
    # The key the kiosks were built with, padded exactly as the earlier service did.
    padded = manage(
        env,
        "shell",
        "--verbosity",
        "0",
        "--command",
        "from core.encryption import response_cipher; c = response_cipher(); print(c._key, c._iv)",
    )
    assert padded.returncode == 0, padded.stderr
    assert padded.stdout.split() == ["b'abc" + "0" * 29 + "'", "b'x" + "0" * 15 + "'"]


# --- Email --------------------------------------------------------------------------------------------


def test_production_without_a_mail_server_is_refused():
    assert refusal({**PRODUCTION, "EMAIL_BACKEND": ""}) == NO_MAIL_SERVER + DEBUG_HINT


def test_email_backend_console_is_the_explicit_escape():
    assert refusal({**PRODUCTION, "EMAIL_BACKEND": ""}).startswith("No mail server")

    assert started({**PRODUCTION, "EMAIL_BACKEND": "console"}, "EMAIL_BACKEND") == {"EMAIL_BACKEND": CONSOLE}
    assert started({**PRODUCTION, "EMAIL_BACKEND": "Console"}, "EMAIL_BACKEND") == {"EMAIL_BACKEND": CONSOLE}


def test_a_mail_server_or_an_email_service_needs_no_email_backend():
    assert refusal({**PRODUCTION, "EMAIL_BACKEND": ""}).startswith("No mail server")

    smtp = {**PRODUCTION, "EMAIL_BACKEND": "", "MAIL_SERVER": "smtp.example.com"}
    esp = {**PRODUCTION, "EMAIL_BACKEND": "", "EMAIL_PROVIDER": "sendgrid", "ANYMAIL_SENDGRID_API_KEY": "x"}
    assert started(smtp, "EMAIL_BACKEND") == {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend"}
    assert started(esp, "EMAIL_BACKEND") == {"EMAIL_BACKEND": "anymail.backends.sendgrid.EmailBackend"}
    # A configured server is used even when EMAIL_BACKEND=console is left over: nothing is printed instead.
    assert started({**smtp, "EMAIL_BACKEND": "console"}, "EMAIL_BACKEND") == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend"
    }


def test_email_backend_takes_console_only():
    assert refusal({**PRODUCTION, "EMAIL_BACKEND": "smtp"}) == (
        "EMAIL_BACKEND can only be console (emails printed on stdout, nothing sent), got 'smtp': SMTP is MAIL_SERVER, "
        "an email service EMAIL_PROVIDER."
    )


def test_the_demo_prints_emails_on_the_console_by_default():
    assert started({"DEBUG": "true"}, "EMAIL_BACKEND") == {"EMAIL_BACKEND": CONSOLE}
    assert refusal({**PRODUCTION, "EMAIL_BACKEND": ""}).startswith("No mail server")


# --- The documented production environments -----------------------------------------------------------


def ci_deploy_check_environment() -> dict[str, str]:
    """The variables .ci/run sets for `manage.py check --deploy`, a `$(...)` replaced by a random value."""
    text = (PROJECT_ROOT / ".ci" / "run").read_text().replace("\\\n", " ")
    [line] = [line for line in text.splitlines() if "check --deploy" in line and line.lstrip().startswith("env ")]
    assignments = line.partition("manage.py")[0]
    values = dict(re.findall(r'\b([A-Z][A-Z0-9_]*)=("\$\(.*?\)"|\S+)', assignments))
    return {name: secrets.token_urlsafe(50) if value.startswith('"$(') else value for name, value in values.items()}


def test_the_ci_deployment_check_environment_passes_with_no_warning():
    environment = ci_deploy_check_environment()
    assert environment["DEBUG"] == "false"

    result = run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], clean_environment(**environment)
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert result.stderr == ""
