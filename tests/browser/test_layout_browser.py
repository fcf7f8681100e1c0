"""Layout a reader sees at phone and desktop widths: the menu wraps, wide tables scroll in
their own box instead of widening the page, and the keyboard focus ring can be seen."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.conftest import EDITOR_EMAIL, EDITOR_PASSWORD, screenshot

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def _context_page(browser: object, viewport: dict[str, int]) -> Iterator[Page]:
    assert isinstance(browser, Browser)
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def phone(browser: object) -> Iterator[Page]:
    yield from _context_page(browser, PHONE)


@pytest.fixture
def desktop(browser: object) -> Iterator[Page]:
    yield from _context_page(browser, DESKTOP)


def _sign_in(page: Page, live_url: str) -> None:
    page.goto(f"{live_url}/login?next=/")
    page.get_by_label("E-mail").fill(EDITOR_EMAIL)
    page.get_by_label("Password").fill(EDITOR_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_url}/")


def _boxes(page: Page, selector: str) -> list[dict[str, float]]:
    boxes = []
    for link in page.locator(selector).all():
        box = link.bounding_box()
        assert box is not None, f"{selector} has an invisible item"
        boxes.append(box)
    assert boxes, f"nothing matches {selector}"
    return boxes


@pytest.mark.parametrize("signed_in", [False, True], ids=["reader", "editor"])
def test_phone_menu_wraps_inside_the_screen(phone: Page, live_url: str, signed_in: bool) -> None:
    if signed_in:
        _sign_in(phone, live_url)
    phone.goto(f"{live_url}/")
    screenshot(phone, f"phone-header-{'editor' if signed_in else 'reader'}")
    for box in _boxes(phone, "header.site a, header.site button"):
        assert box["x"] >= 0, box
        assert box["x"] + box["width"] <= PHONE["width"], box
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]


def test_desktop_header_signed_in_keeps_the_menu_on_one_row(desktop: Page, live_url: str) -> None:
    _sign_in(desktop, live_url)
    desktop.goto(f"{live_url}/commitments")
    screenshot(desktop, "desktop-header-editor")
    menu = _boxes(desktop, "nav[aria-label='Main'] a")
    assert len({round(box["y"]) for box in menu}) == 1, "the main menu wraps at 1280px"
    # The account links sit in their own bar above the menu, not in a stray second row.
    account = _boxes(desktop, "nav[aria-label='Account'] a, nav[aria-label='Account'] button")
    assert max(box["y"] + box["height"] for box in account) <= min(box["y"] for box in menu)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/commitments/2",  # the demo's €31.4 million pledge: the money table
        "/commitments/1",  # the plan: indicator tables
        "/funding",
        "/reviews/due",
        "/indicators/1",
        "/rates",
        "/commitments/1/history",
        "/docs",
    ],
)
def test_phone_page_is_no_wider_than_the_screen(phone: Page, live_url: str, path: str) -> None:
    response = phone.goto(f"{live_url}{path}")
    assert response is not None
    assert response.status == 200
    screenshot(phone, "phone" + path.replace("/", "-").rstrip("-"))
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= phone.evaluate("innerWidth"), f"{path} is {width}px wide"


def test_phone_wide_table_scrolls_in_a_named_focusable_region(phone: Page, live_url: str) -> None:
    phone.goto(f"{live_url}/reviews/due")
    region = phone.get_by_role("region", name="Reviews overdue or due")
    assert region.get_attribute("tabindex") == "0"
    scroll = region.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert scroll[0] > scroll[1], "the table fits; this test no longer shows it scrolling"


# What the focus ring is drawn over: the element under a point just outside the focused
# element's box (outlines are not hit-tested), then the first opaque background up its tree.
RING_JS = """el => {
  const s = getComputedStyle(el);
  const r = el.getBoundingClientRect();
  const off = parseFloat(s.outlineOffset) + parseFloat(s.outlineWidth) / 2;
  const x = Math.max(0, r.left - off), y = r.top + r.height / 2;
  let under = document.elementFromPoint(x, y);
  while (under && under !== el.ownerDocument.documentElement) {
    const bg = getComputedStyle(under).backgroundColor;
    if (bg && bg !== 'rgba(0, 0, 0, 0)' && bg !== 'transparent') break;
    under = under.parentElement;
  }
  const bg = under ? getComputedStyle(under).backgroundColor : 'rgb(255, 255, 255)';
  return {tag: el.tagName, text: (el.innerText || el.getAttribute('aria-label') || '').slice(0, 30),
          style: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor, bg};
}"""


def _luminance(css: str) -> float:
    parts = css[css.index("(") + 1 : css.index(")")].split(",")
    channels = []
    for part in parts[:3]:
        c = float(part) / 255
        channels.append(c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
    r, g, b = channels
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_helper() -> None:
    assert round(contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)"), 1) == 21.0
    # The old ring: yellow on the light page background.
    assert contrast("rgb(242, 183, 5)", "rgb(251, 251, 253)") < 3


@pytest.mark.parametrize("signed_in", [False, True], ids=["reader", "editor"])
def test_keyboard_focus_ring_contrasts_with_header_and_page(
    desktop: Page, live_url: str, signed_in: bool
) -> None:
    if signed_in:
        _sign_in(desktop, live_url)
    desktop.goto(f"{live_url}/commitments")
    seen = []
    for _ in range(30):  # skip link, header, search form, the first facets
        desktop.keyboard.press("Tab")
        ring = desktop.evaluate_handle("document.activeElement").evaluate(RING_JS)
        seen.append(ring)
        assert ring["style"] != "none", ring
        assert ring["width"] >= 2, ring
        assert contrast(ring["color"], ring["bg"]) >= 3, ring
    screenshot(desktop, "focus-ring")
    backgrounds = {ring["bg"] for ring in seen}
    assert len(backgrounds) >= 2, f"only one background was tested: {backgrounds}"


# Rendered size of each chart's text: its font size in SVG units times the SVG's scale.
CHART_TEXT_JS = """() => [...document.querySelectorAll('svg.chart')].map(svg => {
  const text = svg.querySelector('text');
  return text ? parseFloat(getComputedStyle(text).fontSize) * svg.getScreenCTM().a : null;
}).filter(size => size !== null)"""


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("path", ["/", "/funding", "/indicators/1"])
def test_chart_text_is_readable(browser: object, live_url: str, path: str, width: int) -> None:
    for page in _context_page(browser, {"width": width, "height": 900}):
        page.goto(f"{live_url}{path}")
        sizes = page.evaluate(CHART_TEXT_JS)
        assert sizes, f"no chart on {path}"
        assert min(sizes) >= 11, (path, width, sizes)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
