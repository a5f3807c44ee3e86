"""Fixes the rendered book needs so that a reader's browser shows no error, offline or online, and one of style.

- sphinx-thebe 0.3.1 declares ``const THEBE_JS_URL`` in an inline script that reaches every page twice
  (added after the HTML builder has started, it lands in both Sphinx's registry and the builder's list),
  and the second declaration is a SyntaxError in the console. Identical scripts are kept once.
- pydata-sphinx-theme reads the colour mode from localStorage, and on a first visit (always, opened from
  disk) falls back to ``default_mode``, which Jupyter Book leaves empty: "Got invalid theme mode". The
  book's ``_config.yml`` sets it in ``html_context``; nothing to do here.

- myst-nb sets every ``{glue:text}`` value in bold (``span.pasted-text`` in its mystnb.css), so a sentence with
  a few numbers in it reads as shouting. ``static/book_fixes.css`` gives glued text the weight of the words
  around it (normal in prose, bold where the sentence is bold).

Why our own code: neither Jupyter Book nor the packages has a setting for the first or the last; each is one
event handler or one CSS rule. tests/test_browser.py opens every page and fails on any console error and on
a glued value that is heavier than its sentence.
"""
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    seen, kept = set(), []
    for js in context.get("script_files", []):
        # the two copies differ only in how they say "no file" (None or ""), which str() keeps apart
        key = (getattr(js, "filename", None) or "", repr(sorted(getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(js)
    context["script_files"] = kept


def _add_static(app, config):
    config.html_static_path = [*config.html_static_path, str(STATIC)]


def setup(app):
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    app.connect("config-inited", _add_static)
    app.add_css_file("book_fixes.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
