"""Checks a real browser page must pass on every product page: it fits a phone and a desktop without sideways
scrolling, every field has a label, every button a name, nothing but buttons and links acts on a click, and the
tab order is the document's (no positive tabindex). Used by the Playwright tests (`page` is Playwright's)."""

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}

# What sticks out on the right when the page is wider than the window (the first few, to name the culprit).
_OVERFLOW_JS = """() => {
  const width = window.innerWidth;
  const wide = [];
  if (document.documentElement.scrollWidth > width) {
    for (const el of document.body.querySelectorAll('*')) {
      const right = el.getBoundingClientRect().right;
      if (right > width + 1) {
        const cls = typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
        wide.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${cls} (right edge ${Math.round(right)})`);
        if (wide.length >= 6) break;
      }
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: width, wide};
}"""

_ACCESSIBILITY_JS = """() => {
  const visible = (el) => el.getClientRects().length > 0 || el.type === 'radio' || el.type === 'checkbox';
  const named = (el, text) => (text || '').trim() || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.title;
  const describe = (el) => el.outerHTML.slice(0, 160);
  const fields = [...document.querySelectorAll('input, select, textarea')].filter(
    (el) => el.type !== 'hidden' && !['submit', 'button', 'reset', 'image'].includes(el.type) && visible(el));
  // A label's text, or the alt text of an image inside it (Django admin's search box is labelled by an icon).
  const labelText = (label) => label.textContent + [...label.querySelectorAll('img[alt]')].map((img) => img.alt).join(' ');
  const unlabelled = fields.filter((el) => !named(el, [...(el.labels || [])].map(labelText).join(' ')));
  const buttons = [...document.querySelectorAll('button, input[type=submit], input[type=button], [role=button]')];
  const unnamed = buttons.filter((el) => !named(el, el.tagName === 'INPUT' ? el.value : el.textContent));
  // A click target that is neither a button nor a link (a[role=button] is announced as a button: Django admin's).
  const fakeButtons = [...document.querySelectorAll('[onclick]:not(button):not(input):not([role=button]), a[href="#"]:not([role=button])')];
  const positiveTabindex = [...document.querySelectorAll('[tabindex]')].filter((el) => el.tabIndex > 0);
  return {
    unlabelled: unlabelled.map(describe), unnamed: unnamed.map(describe),
    fakeButtons: fakeButtons.map(describe), positiveTabindex: positiveTabindex.map(describe),
  };
}"""


def horizontal_overflow(page) -> dict:
    return page.evaluate(_OVERFLOW_JS)


def assert_page_fits_and_is_labelled(page, name: str = "") -> None:
    """The page as loaded, laid out at phone and desktop width (the viewport is left at phone width)."""
    name = name or page.url
    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        page.wait_for_function(f"window.innerWidth === {size['width']}")
        measured = horizontal_overflow(page)
        assert measured["scrollWidth"] <= measured["innerWidth"], (
            f"{name} scrolls sideways at {size['width']} px: {measured}"
        )
    problems = page.evaluate(_ACCESSIBILITY_JS)
    assert problems == {"unlabelled": [], "unnamed": [], "fakeButtons": [], "positiveTabindex": []}, (
        f"{name}: {problems}"
    )


def tab_to(page, predicate_js: str, *, max_presses: int = 40) -> None:
    """Press Tab until the focused element satisfies `predicate_js` (a JS function of the element)."""
    for _ in range(max_presses):
        page.keyboard.press("Tab")
        if page.evaluate(f"({predicate_js})(document.activeElement)"):
            return
    raise AssertionError(
        f"Tab never reached the element ({predicate_js}) in {max_presses} presses on {page.url}"
    )


def focus_is_visible(page) -> bool:
    """Whether the focused element draws a focus ring (an outline or a box shadow)."""
    return page.evaluate(
        """() => { const style = getComputedStyle(document.activeElement);
                   return (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none'; }"""
    )
