"""The rendered book as a reader gets it: opened in headless Chromium with the network cut off, from disk
(file://) and from a local web server, every page typesets its equations, loads its images, shows its
glued numbers, logs no error to the console and asks no other host for anything; from the first page,
"next" reaches every chapter. Screenshots of two chapters land in $RLHF_LITE_SCREENSHOTS (default: the
test's temporary folder) for a person to look at.

Each page is also read at the column's width (1280 px window, about 688 px of text), with every hidden output and
dropdown opened, since a reader can open them: every figure's smallest text is at least 9 CSS pixels as shown
(the size in points each figure's PNG carries, rlhf_lite.plots.record_text_sizes, times the scale the page shows
it at), no table is wider than the column, glued values are set in the weight of their sentence, nothing names
a path on the machine that built the book, and no stage log line ("[sft] ...") is left showing.

The browser is Debian's chromium (/usr/bin/chromium, or $RLHF_LITE_CHROMIUM), driven by Playwright; nothing
is downloaded at run time. `make test` installs chromium when it is missing (tools/ensure_chromium.sh).
"""

import base64
import functools
import http.server
import os
import re
import threading
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from rlhf_lite.site.book import toc_files
from rlhf_lite.plots import text_record

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


# What the page gives a reader at the column's width, read in two steps: first what shows as the page loads
# (the log lines a reader sees, glued values), then with every hidden output and dropdown opened (the rest).
READING = """() => {
  const main = document.querySelector('main') || document.body;
  const article = main.querySelector('article') || main;
  const headings = [...article.querySelectorAll('h1, h2, h3')];
  const near = el => {  // the section a thing is in, to name it
    const before = headings.filter(h => h.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING);
    return before.length ? before[before.length - 1].textContent.replace(/#$/, '').trim() : '';
  };
  const shownOutput = [...main.querySelectorAll('.cell_output')].map(o => o.innerText).join('\\n');
  const glue = [...main.querySelectorAll('span.pasted-text')].map(g => ({
    text: g.textContent.slice(0, 40), near: near(g),
    weight: getComputedStyle(g).fontWeight, around: getComputedStyle(g.parentElement).fontWeight}));
  main.querySelectorAll('details').forEach(d => { d.open = true; });
  main.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
  const style = getComputedStyle(article);
  const column = article.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const images = [...article.querySelectorAll('img')].map((im, i) => ({
    n: i + 1, src: im.currentSrc || im.src, natural: im.naturalWidth, shown: im.getBoundingClientRect().width,
    near: near(im)}));
  const tables = [...article.querySelectorAll('table')].map((t, i) => ({
    n: i + 1, width: t.getBoundingClientRect().width, near: near(t),
    head: [...(t.rows[0] || {cells: []}).cells].map(c => c.textContent.trim()).join(' | ').slice(0, 80)}));
  const all = document.body.cloneNode(true);
  all.querySelectorAll('script, style').forEach(e => e.remove());
  return {column, images, tables, glue, shownOutput, text: all.textContent};
}"""
MIN_TEXT_PX = 9  # the smallest text a figure may show, in CSS pixels at the column's width
# a place on the machine that built the book: home and scratch folders, a Python object's repr of one, or a
# cached run's folder (runs/<profile>-<hash>)
MACHINE_PATH = re.compile(r"(?<![\w.~])(?:/tmp|/work|/root|/home|/Users|/var/folders|/private/var)/[^\s'\")]*"
                          r"|(?:Posix|Windows)Path\(|file:///\S*|\bruns/[\w.-]*-[0-9a-f]{8,}\S*")
# a stage's log line as the package prints it: "[sft] ...", "[iter 2] ...", "[data] ..."
STAGE_LOG = re.compile(r"^[ \t]*\[[a-z][\w.-]*(?: [\w.-]+)?\] .*$", re.M)


def read_page(state: dict) -> dict:
    return state["page"].evaluate(READING)


def image_bytes(src: str, site: Path, base: str) -> bytes | None:
    """The bytes of an image the page shows, from the built site on disk (or the data: URI itself)."""
    if src.startswith("data:"):
        return base64.b64decode(src.split(",", 1)[1]) if ";base64," in src else None
    if src.startswith("file:"):
        path = Path(unquote(urlparse(src).path))
    else:
        path = site / unquote(src.removeprefix(base + "/"))
    return path.read_bytes() if path.is_file() else None


def figure_problems(reading: dict, site: Path, base: str) -> list[str]:
    """Every figure whose smallest text is under MIN_TEXT_PX as shown, or that says nothing of its text."""
    out = []
    for im in reading["images"]:
        file = "inline" if im["src"].startswith("data:") else Path(urlparse(im["src"]).path).name
        file = re.sub(r"^([0-9a-f]{12})[0-9a-f]{20,}", r"\1...", file)  # myst-nb names images by their hash
        name = f"figure {im['n']} ({file}"
        name += f", in '{im['near']}')" if im["near"] else ")"
        data = image_bytes(im["src"], site, base)
        try:
            record = text_record(data) if data else None
        except ValueError:  # not a PNG
            record = None
        if record is None:
            out.append(f"{name}: its image carries no text-size record (draw it in a chapter the book executes, or "
                       f"save it with rlhf_lite.plots.save_png), so its smallest text cannot be measured")
            continue
        if record.get("min_px") is None:
            continue  # a figure without text
        shown = im["shown"] or min(im["natural"], reading["column"])  # not laid out: as it would show
        px = record["min_px"] * shown / im["natural"]
        if px < MIN_TEXT_PX:
            out.append(f"{name}: smallest text {record['text']!r} is {record['min_pt']:g} pt, {px:.1f} px as shown "
                       f"(a {record['size_in'][0]:g} x {record['size_in'][1]:g} in figure at {record['dpi']:g} dpi, "
                       f"{im['natural']} px wide, shown at {shown:.0f} px); at least {MIN_TEXT_PX} px is readable")
    return out


def layout_problems(reading: dict, site: Path, base: str) -> list[str]:
    out = figure_problems(reading, site, base)
    for t in reading["tables"]:
        if t["width"] > reading["column"] + 1:
            out.append(f"table {t['n']} ({t['head']!r}{', in ' + repr(t['near']) if t['near'] else ''}) is "
                       f"{t['width']:.0f} px wide in a {reading['column']:.0f} px column")
    for g in reading["glue"]:
        if g["weight"] != g["around"]:
            out.append(f"glued value {g['text']!r} (in {g['near']!r}) has font-weight {g['weight']}, its sentence "
                       f"{g['around']}")
    paths = sorted(set(m.group(0)[:80].rstrip(".,;:") for m in MACHINE_PATH.finditer(reading["text"])))
    if paths:
        out.append(f"names {len(paths)} path(s) on the machine that built it, e.g. {paths[:4]}")
    logs = [m.group(0).strip()[:80] for m in STAGE_LOG.finditer(reading["shownOutput"])]
    if logs:
        out.append(f"shows {len(logs)} stage log line(s), e.g. {logs[:3]}")
    return out


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


def test_every_page_reads_at_the_column_width(browser, rendered):
    """Figures readable, tables inside the column, glued values in the prose's weight, no machine paths and no stage
    log lines, on every page at 1280 px (see the module docstring). The findings name page and figure or table."""
    found, glued = {}, []
    for rel in PAGES:
        state = visit(browser, f"{rendered.as_uri()}/{rel}", ("file://",))
        if "missing" in state:
            found[rel] = [f"could not open: {state['missing']}"]
            continue
        reading = read_page(state)
        state["context"].close()
        glued += [g["weight"] for g in reading["glue"]]
        found[rel] = layout_problems(reading, rendered, rendered.as_uri())
    assert not {p: v for p, v in found.items() if v}, "\n".join(
        f"{p}:\n  " + "\n  ".join(v) for p, v in found.items() if v)
    assert "400" in glued  # glued values were measured, and those in plain prose are set in normal weight


def test_a_page_a_reader_cannot_read_at_the_column_width_fails_the_checks(browser, tmp_path):
    """A planted page with each fault beside its fixed twin: only the faults are named."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rlhf_lite.plots import save_png

    for name, (width, fontsize) in {"tiny.png": (11, 6), "fine.png": (6, 10)}.items():
        fig, ax = plt.subplots(figsize=(width, 3))
        ax.plot([0, 1], label="an arm")
        ax.legend(fontsize=fontsize)
        ax.tick_params(labelsize=fontsize)
        save_png(fig, tmp_path / name, dpi=100)
        plt.close(fig)
    plt.figure().savefig(tmp_path / "bare.png")  # saved without a record
    cells = "".join(f"<td>column {i}</td>" for i in range(30))
    (tmp_path / "page.html").write_text(f"""<html><head><style>
      span.pasted-text {{ font-weight: bold; }} img {{ max-width: 100%; }} article {{ width: 688px; }}
    </style></head><body><main><article class="bd-article"><h2>Results</h2>
      <p>Glued <span class="pasted-text">0.52</span>,
         <strong>bold <span class="pasted-text">0.61</span></strong>.</p>
      <img src="tiny.png"><img src="fine.png"><img src="bare.png">
      <table><tr>{cells}</tr></table><table><tr><td>narrow</td></tr></table>
      <details><div class="cell_output"><pre>wrote /tmp/rlhf/results/x.json</pre></div></details>
      <div class="cell_output"><pre>[iter 1] DPO on 512 pairs\n[0.1, 0.2]\n</pre></div>
    </article></main></body></html>""")
    state = visit(browser, (tmp_path / "page.html").as_uri(), ("file://",))
    found = layout_problems(read_page(state), tmp_path, tmp_path.as_uri())
    state["context"].close()
    said = "\n".join(found)
    assert len(found) == 6, said
    assert re.search(r"figure 1 \(tiny\.png, in 'Results'\): smallest text .* is 6 pt, [4-5]\.\d px as shown", said)
    assert "fine.png" not in said and "figure 3 (bare.png" in said and "no text-size record" in said
    assert "table 1 ('column 0 | column 1" in said and "table 2" not in said
    assert "glued value '0.52'" in said and "0.61" not in said  # bold where its sentence is bold is fine
    assert "/tmp/rlhf/results/x.json" in said  # inside an output a reader can open
    assert "[iter 1] DPO on 512 pairs" in said and "[0.1" not in said
