"""Schemathesis against the live schema: a real instance (gunicorn, production settings with
KIOSK_AUTH=required, PostgreSQL, the payment simulator, photos on local disk) is fuzzed through
every operation its /api/schema/ documents, with every check schemathesis has, from a fixed seed.
No 5xx, no answer the schema does not describe, no valid request refused, no invalid one accepted,
no documented authentication left unenforced.

Every failure it ever found is a plain regression test elsewhere (tests/project/test_fuzz_regressions.py).
The run's figures are written to artifacts/schemathesis/ (summary.txt, junit.xml)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from locations.services import issue_kiosk_key
from payments.models import SaleStatus
from tests.support.live_instances import instances
from tests.support.processes import PROJECT_ROOT

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
# CI's run is fixed; PHOTOBOX_FUZZ_SEED / PHOTOBOX_FUZZ_EXAMPLES explore further by hand.
SEED = int(os.environ.get("PHOTOBOX_FUZZ_SEED", "20261127"))
MAX_EXAMPLES = int(os.environ.get("PHOTOBOX_FUZZ_EXAMPLES", "100"))
ARTIFACTS = PROJECT_ROOT / "artifacts" / "schemathesis"
CALLBACK_TOKEN = "fuzz-callback-token-0123456789abcdef"
MAINTENANCE_TOKEN = "fuzz-maintenance-token-0123456789abcdef"


# Half of the generated ids are real ones, so the fuzzer gets past "not found" into the sale,
# upload and poll logic. Some answers depend on rules or state the schema cannot state, and are
# expected for valid requests too: an upload's file must really be a JPEG or PNG (400) for a paid
# sale (422); a paid or expired sale's QR image is gone (410).
CONFIG = """
[dictionaries]
sales = {{ values = {sales} }}
locations = {{ values = {locations} }}
prices = {{ values = {prices} }}

[parameters]
"path.external_id" = {{ dictionary = "sales", probability = 0.5 }}
"body.location_id" = {{ dictionary = "locations", probability = 0.5 }}
"body.price_id" = {{ dictionary = "prices", probability = 0.5 }}

# A request line longer than the HTTP server takes is refused by it with 414 (documented).
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "414", "415", "422", "428", "429"]

[[operations]]
include-operation-id = "upload_photos"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422", "429"]

# A code the fuzzer makes up is (nearly always) no open activation code: 422, as for a typo.
[[operations]]
include-operation-id = "kiosk_activate"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]

[[operations]]
include-operation-id-regex = "^sale_qr_"
checks.positive_data_acceptance.expected-statuses = ["2xx", "304", "401", "403", "404", "410", "429"]
"""


def test_schemathesis_finds_nothing_wrong(tmp_path, make_sale, location, price):
    _, kiosk_key = issue_kiosk_key(location=location, label="fuzzer")
    sales = [make_sale(), make_sale(status=SaleStatus.COMPLETED), make_sale(status=SaleStatus.EXPIRED)]
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        CONFIG.format(
            sales=json.dumps([sale.external_id for sale in sales]),
            locations=json.dumps([location.pk]),
            prices=json.dumps([str(price.pk)]),
        )
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    with instances(
        1,
        KIOSK_AUTH="required",
        ENCRYPTION_ENABLED="true",
        ENCRYPTION_MODE="gcm",
        ENCRYPTION_KEY="0123456789abcdef" * 4,
        TRUSTED_PROXY_COUNT="0",
        MEDIA_ROOT=str(tmp_path / "media"),
        XENDIT_CALLBACK_TOKEN=CALLBACK_TOKEN,
        MAINTENANCE_TOKEN=MAINTENANCE_TOKEN,
        # The fuzzer sends hundreds of requests a minute from one address: the limits would answer
        # most of them 429 (documented, and allowed) and hide everything behind it.
        RATE_LIMIT_SALE_CREATE="off",
        RATE_LIMIT_PHOTO_MISSES="off",
        RATE_LIMIT_WEBHOOK_BAD_TOKEN="off",
        RATE_LIMIT_ACTIVATION_WRONG="off",
    ) as (url,):
        result = subprocess.run(
            [
                str(SCHEMATHESIS),
                "--config-file",
                str(config),
                "run",
                f"{url}/api/schema/?format=json",
                "--url",
                url,
                "--checks",
                "all",
                "--seed",
                str(SEED),
                "--max-examples",
                str(MAX_EXAMPLES),
                "--workers",
                "1",
                "--header",
                f"Authorization: Bearer {kiosk_key}",
                # The right tokens, so the webhook and the cleanup are fuzzed past their token checks
                # (the missing_required_header check still leaves them out to see the 401).
                "--header",
                f"x-callback-token: {CALLBACK_TOKEN}",
                "--header",
                f"X-Maintenance-Token: {MAINTENANCE_TOKEN}",
                "--request-timeout",
                "30",
                "--report",
                "junit,ndjson",
                "--report-dir",
                str(tmp_path / "report"),
                "--report-junit-path",
                str(ARTIFACTS / "junit.xml"),
                "--no-color",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
    output = result.stdout + result.stderr
    (ARTIFACTS / "output.txt").write_text(output)
    summary = summarise(tmp_path / "report", output)
    (ARTIFACTS / "summary.txt").write_text(json.dumps(summary, indent=2) + "\n")

    assert result.returncode == 0, output
    assert summary["operations"] >= 10, summary
    assert summary["test_cases"] >= 10 * MAX_EXAMPLES, summary


def summarise(report_dir: Path, output: str) -> dict:
    """What the run did: operations tested, test cases generated, failures, from its output."""
    cases = re.search(r"(\d+) generated", output)
    operations = re.search(r"API Operations:\s*(\d+) selected", output) or re.search(r"(\d+) selected", output)
    return {
        "seed": SEED,
        "max_examples": MAX_EXAMPLES,
        "operations": int(operations.group(1)) if operations else 0,
        "test_cases": int(cases.group(1)) if cases else 0,
        "summary_lines": [line for line in output.splitlines() if re.search(r"generated|passed|failed|Seed", line)],
    }
