"""The rendered book as a reader gets it: opened in headless Chromium with the network cut off, from disk
(file://) and from a local web server, every page typesets its equations, loads its images, shows its
glued numbers, logs no error to the console and asks no other host for anything; from the first page,
"next" reaches every chapter. Screenshots of two chapters land in $RLHF_LITE_SCREENSHOTS (default: the
test's temporary folder) for a person to look at.

The browser is Debian's chromium (/usr/bin/chromium, or $RLHF_LITE_CHROMIUM), driven by Playwright; nothing
is downloaded at run time. `make test` installs chromium when it is missing (tools/ensure_chromium.sh).
"""

import functools
import http.server
import os
import re
import threading
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from rlhf_lite.book import toc_files

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("RLHF_LITE_CHROMIUM", "/usr/bin/chromium")
# Chromium's own background traffic (updates, safe browsing, sync) would be refused by a closed network.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]
PAGES = [f + ".html" for f in toc_files(ROOT)]
SHOTS = {"notebooks/01_theory.html": 6, "notebooks/06_iterative_dpo.html": 2}  # page -> which equation to show

# What a reader's browser would run into, measured on the page after it loaded.
PAGE_STATE = """() => {
  const main = document.querySelector('main') || document.body;
  const text = main.cloneNode(true);
  text.querySelectorAll('pre, code, script, style, mjx-container, .cell_input').forEach(e => e.remove());
  const t = text.textContent;
  return {
    math: document.querySelectorAll('.math').length,
    typeset: document.querySelectorAll('mjx-container').length,
    rawTeX: ['\\\\(', '\\\\[', '$$'].filter(s => t.includes(s)),
    glue: t.includes('{glue') ? [t.slice(t.indexOf('{glue'), t.indexOf('{glue') + 60)] : [],
    brokenImages: [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
    next: (document.querySelector('.prev-next-area a.right-next') || {}).href || null,
  };
}"""


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's (`apt-get install chromium`, as `make test` "
                    f"does through tools/ensure_chromium.sh) or set RLHF_LITE_CHROMIUM to a Chromium binary.")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def served(rendered):
    """The built site behind `python -m http.server`'s handler, on a free local port."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(rendered))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def visit(browser, url: str, allowed: tuple[str, ...]) -> dict:
    """Open ``url`` with every request outside ``allowed`` refused (and recorded), wait for MathJax, and
    return what the page holds, the refused requests and the console's errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    refused, errors = [], []

    def route(r):
        if r.request.url.startswith(allowed + ("data:", "blob:")):
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(url, wait_until="load")
    except PlaywrightError as e:  # a page the table of contents names but the build did not write
        return {"missing": str(e).splitlines()[0], "refused": refused, "errors": errors, "page": page,
                "context": context, "typeset": 0, "next": None}
    # MathJax typesets after the page loads: wait for it to start and finish (a page without math has none;
    # one whose MathJax was refused never starts, and is then measured as it is)
    try:
        page.wait_for_function("() => !window.MathJax || (MathJax.startup && MathJax.startup.promise)", timeout=8_000)
        page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    except PlaywrightTimeout:
        pass
    state = page.evaluate(PAGE_STATE)
    state.update(refused=refused, errors=errors, page=page, context=context)
    return state


def problems(state: dict) -> list[str]:
    if "missing" in state:
        return [f"could not open: {state['missing']}"]
    out = []
    if state["refused"]:
        out.append(f"asked other hosts for {state['refused']}")
    if state["errors"]:
        out.append(f"console errors {state['errors']}")
    if state["math"] and state["typeset"] < state["math"]:
        out.append(f"{state['math']} equations but {state['typeset']} typeset")
    if state["rawTeX"]:
        out.append(f"raw TeX left in the text: {state['rawTeX']}")
    if state["glue"]:
        out.append(f"unresolved glue: {state['glue']}")
    if state["brokenImages"]:
        out.append(f"images that did not load: {state['brokenImages']}")
    return out


@pytest.mark.parametrize("how", ["file", "http"])
def test_every_page_works_offline(browser, rendered, served, how, tmp_path):
    base, allowed = (rendered.as_uri(), ("file://",)) if how == "file" else (served, (served,))
    shots = Path(os.environ.get("RLHF_LITE_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    found, equations = {}, 0
    for rel in PAGES:
        state = visit(browser, f"{base}/{rel}", allowed)
        found[rel] = problems(state)
        equations += state["typeset"]
        if rel in SHOTS and how == "file":
            math = state["page"].locator("mjx-container")
            if math.count():
                math.nth(min(SHOTS[rel], math.count() - 1)).scroll_into_view_if_needed()
            state["page"].screenshot(path=str(shots / (Path(rel).stem + ".png")))
        state["context"].close()
    assert not {p: v for p, v in found.items() if v}, found
    assert equations > 50  # the theory and DPO chapters alone hold many: typesetting really happened


def test_next_links_reach_every_chapter_from_the_first_page(browser, rendered):
    # index.html only redirects (a meta refresh). Followed in the browser, the refresh can land while the
    # page is being read (it did once under load), so read its target here and start from there.
    target = re.search(r'url=([^"]+)"', (rendered / "index.html").read_text()).group(1)
    assert target == PAGES[0]  # the landing page is the first page of the table of contents
    url, seen = f"{rendered.as_uri()}/{target}", []
    for _ in range(len(PAGES) + 2):
        state = visit(browser, url, ("file://",))
        seen.append(state["page"].url.removeprefix(rendered.as_uri() + "/").split("#")[0])
        state["context"].close()
        if not state["next"]:
            break
        url = state["next"]
    assert [p for p in seen if p != "index.html"] == PAGES


def test_a_page_that_loads_mathjax_from_a_cdn_fails_the_checks(browser, tmp_path):
    """What the book did before it served MathJax itself: offline, the equations stay raw TeX."""
    page = tmp_path / "cdn.html"
    page.write_text('<html><head><script defer src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js">'
                    '</script></head><body><main><p>The reference <span class="math">\\(\\pi_0\\)</span>.</p>'
                    '<img src="missing.png"></main></body></html>')
    state = visit(browser, page.as_uri(), ("file://",))
    state["context"].close()
    found = " ".join(problems(state))
    assert "asked other hosts" in found and "1 equations but 0 typeset" in found
    assert "raw TeX" in found and "images that did not load" in found
