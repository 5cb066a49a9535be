"""The browser tests' own watch: what goes wrong on a page must reach `tab.problems`, or every
`assert tab.problems == []` in the other tests would pass whatever happened."""

import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python (requirements-dev.txt)")


def test_script_errors_http_errors_and_console_errors_are_all_reported(open_page, site):
    tab = open_page()
    page = tab.page
    page.goto(f"{site.url}/health")

    page.set_content(
        f"""<img src="{site.url}/media/no-such-photo.jpg" alt="">
        <script>console.error("kiosk script says no"); undefinedFunction();</script>"""
    )
    page.wait_for_load_state("load")

    assert any(p.startswith("HTTP 404: GET") and "no-such-photo.jpg" in p for p in tab.problems), tab.problems
    assert any("kiosk script says no" in p for p in tab.problems), tab.problems
    assert any("undefinedFunction" in p for p in tab.problems), tab.problems


def test_an_expected_error_answer_is_not_a_problem(open_page, site):
    tab = open_page()
    tab.expect_status(r"/gallery/", 404)

    response = tab.page.goto(f"{site.url}/gallery/TRX-1-20250101000000-NOPE0000/wrong-key")

    assert response.status == 404
    assert tab.problems == []
