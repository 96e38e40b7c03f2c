"""The Content-Security-Policy: on every response, and no page breaks it.

Every browser test checks the pages it opens (browser_fixtures.no_csp_violations); this file opens the pages
no other browser test does (the admin, the API docs, the join, erase and lockout pages) and proves the check works.
"""

import urllib.request

import pytest
import browser_fixtures
from browser_fixtures import log_in, open_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_it_sends_the_policy_with_pages_and_static_files(page_server):
    for path in ("/accounts/login/", "/static/css/smartsession.css", "/healthz"):
        with urllib.request.urlopen(f"{page_server.url}{path}", timeout=10) as response:
            policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]


async def test_it_finds_no_violations_on_the_admin_the_api_docs_and_the_join_and_lockout_pages(
    page_server, launch_browser
):
    page = await open_page(await launch_browser())
    await log_in(page, page_server, "root", then="/admin/")
    assert await page.title() == "Site administration | Django site admin"
    for path in ("/admin/auth/user/", "/admin/sessions_app/session/", "/admin/classroom/classroom/"):
        assert (await page.goto(f"{page_server.url}{path}")).status == 200, path
    await page.click("#result_list tbody th a")  # a class's change page, with its members inline
    await page.wait_for_selector("#content-main form")
    await page.goto(f"{page_server.url}/api/docs/")
    await page.wait_for_selector(".swagger-ui .info .title")

    student = await open_page(await launch_browser())
    await log_in(student, page_server, "sam")
    await student.goto(f"{page_server.url}/join/")
    await student.fill("#id_code", "NOSUCHCODE")
    await student.click("form.panel button[type=submit]")
    await student.wait_for_selector("#id_code[aria-invalid=true], .errorlist")
    await student.goto(f"{page_server.url}/history/erase/")  # the confirmation before erasing one's records
    await student.wait_for_selector("h1")

    stranger = await open_page(await launch_browser())
    await stranger.goto(f"{page_server.url}/accounts/login/")
    for _ in range(5):  # settings.AXES_FAILURE_LIMIT wrong passwords: the last one gets the lockout page
        await stranger.fill("#id_username", "nobody-at-all")
        await stranger.fill("#id_password", "wrong")
        await stranger.click("button[type=submit]")
        await stranger.wait_for_load_state()
    assert "Too many failed logins" in await stranger.text_content("h1")


async def test_it_would_report_a_violation(page_server, launch_browser):
    page = await open_page(await launch_browser())
    await page.goto(f"{page_server.url}/accounts/login/")
    await page.evaluate("document.head.append(Object.assign(document.createElement('script'), {textContent: '1'}))")
    for _ in range(50):  # the report arrives through an exposed function, asynchronously
        if browser_fixtures.csp_violations:
            break
        await page.wait_for_timeout(100)
    assert browser_fixtures.csp_violations == ["script-src-elem blocked inline on /accounts/login/"]
    browser_fixtures.csp_violations.clear()
