"""docs/kiosk-contract.md, the document kiosk builders read, names every operation of the API.

Every operation in the OpenAPI schema (kiosk, webhook, maintenance, health and simulator alike)
must appear in the contract as `METHOD /path`, so a change to the API that forgets the contract
fails here. There is no exclusion list: the staff-facing and development-only operations have
their short sections in the contract too. And the other way round: every `METHOD /api/...` the
contract names exists, so the contract never describes a removed or renamed endpoint.
"""

import re
from pathlib import Path

import pytest
from django.test import Client

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "kiosk-contract.md"
METHODS = ("get", "post", "put", "patch", "delete")
# A path ends where the text stops naming it: not inside a longer path (`/transactions` is not
# named by `/transactions/{external_id}/photos`, nor `/cleanup` by `/cleanup-old-folders`).
PATH_END = r"(?![\w/{}.-])"


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


@pytest.fixture(scope="module")
def contract() -> str:
    return CONTRACT.read_text()


def operations(schema: dict) -> list[tuple[str, str]]:
    return [(method.upper(), path) for path, item in schema["paths"].items() for method in item if method in METHODS]


def path_pattern(path: str) -> str:
    """`/transactions/{external_id}` as a regex: a parameter may be named differently in the text."""
    parts = re.split(r"\{[^}]+\}", path)
    return r"\{[A-Za-z_]+\}".join(re.escape(part) for part in parts) + PATH_END


def test_the_schema_has_the_operations_this_test_is_about(schema):
    # Guards the test itself: an empty or unreadable schema would make the next test pass vacuously.
    assert ("POST", "/api/v1/transactions") in operations(schema)
    assert ("GET", "/api/v1/transactions/external/{external_id}") in operations(schema)
    assert len(operations(schema)) >= 10


def test_every_operation_of_the_schema_is_in_the_contract(schema, contract):
    missing = [
        f"{method} {path}"
        for method, path in operations(schema)
        if not re.search(rf"\b{method} {path_pattern(path)}", contract)
    ]

    assert missing == [], f"add these to {CONTRACT.name} (in the same commit as the API change)"


def test_every_api_operation_the_contract_names_exists(schema, contract):
    in_schema = {(method, re.sub(r"\{[^}]+\}", "{}", path)) for method, path in operations(schema)}
    named = {
        (method, re.sub(r"\{[^}]+\}", "{}", path))
        for method, path in re.findall(r"\b(GET|POST|PUT|PATCH|DELETE) (/api/[\w/{}.-]*[\w}])", contract)
    }

    assert named, "the contract names no API operation at all"
    assert sorted(named - in_schema) == []
