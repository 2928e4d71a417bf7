"""The smoke run's report in a real browser: headless Chromium (Debian's `chromium`, installed by
`scripts/setup.sh --test`) driven by playwright. At 1280 px the page must not scroll sideways,
every image must load, nothing may log a console error, and the verdict section must be there.
Screenshots go under the results folder (screenshots/) for a person to look at."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
WIDTH = 1280
WIDE_TABLE = "<table><tr>" + "".join(f"<td>column_{i}_with_a_long_name</td>" for i in range(80)) + "</tr></table>"


@dataclass
class Rendered:
    scroll_width: int
    client_width: int
    broken_images: list[str]
    images: int
    console_errors: list[str]
    first_h2: str

    @property
    def overflows(self) -> bool:
        return self.scroll_width > self.client_width


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (scripts/setup.sh --test does) "
                    "or set CHROMIUM to a Chromium binary")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


def render(browser, page_file: Path, screenshot: Path | None = None) -> Rendered:
    """Open `page_file` at 1280 px and measure what the test asserts; optionally screenshot it."""
    page = browser.new_page(viewport={"width": WIDTH, "height": 900})
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(page_file.resolve().as_uri(), wait_until="load")
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    broken = page.evaluate("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
                           ".map(i => i.alt)")
    images = page.evaluate("document.images.length")
    first_h2 = page.evaluate("(document.querySelector('h2') || {textContent: ''}).textContent")
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot))  # the first screen
        page.screenshot(path=str(screenshot.with_name(screenshot.stem + "-full.png")), full_page=True)
    page.close()
    return Rendered(widths[0], widths[1], broken, images, errors, first_h2)


def test_smoke_report_fits_1280px_and_loads_in_chromium(browser, smoke_run):
    shot = smoke_run / "screenshots" / f"report-{WIDTH}.png"
    seen = render(browser, smoke_run / "report" / "index.html", shot)
    assert not seen.overflows, f"page scrolls sideways: scrollWidth {seen.scroll_width} > {seen.client_width}"
    assert seen.images >= 4 and not seen.broken_images, seen.broken_images
    assert not seen.console_errors, seen.console_errors
    assert seen.first_h2 == "Verdicts"
    assert shot.stat().st_size > 10_000 and shot.with_name(shot.stem + "-full.png").is_file()


def test_the_overflow_check_catches_a_wide_table(browser, smoke_run, tmp_path):
    """The check must fail on a page with a table wider than the page, and pass when the same
    table sits in the report's scrolling wrapper."""
    page = (smoke_run / "report" / "index.html").read_text(encoding="utf-8")
    bare = tmp_path / "wide-bare.html"
    bare.write_text(page.replace("<body>", "<body>" + WIDE_TABLE, 1), encoding="utf-8")
    wrapped = tmp_path / "wide-wrapped.html"
    wrapped.write_text(page.replace("<body>", f'<body><div class="table-wrap">{WIDE_TABLE}</div>', 1),
                       encoding="utf-8")
    assert render(browser, bare, smoke_run / "screenshots" / "wide-table-overflow.png").overflows
    assert not render(browser, wrapped).overflows
