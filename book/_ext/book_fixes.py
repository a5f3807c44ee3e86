"""Two fixes the rendered book needs so that a reader's browser shows no error, offline or online.

- sphinx-thebe 0.3.1 declares ``const THEBE_JS_URL`` in an inline script that reaches every page twice
  (added after the HTML builder has started, it lands in both Sphinx's registry and the builder's list),
  and the second declaration is a SyntaxError in the console. Identical scripts are kept once.
- pydata-sphinx-theme reads the colour mode from localStorage, and on a first visit (always, opened from
  disk) falls back to ``default_mode``, which Jupyter Book leaves empty: "Got invalid theme mode". The
  book's ``_config.yml`` sets it in ``html_context``; nothing to do here.

Why our own code: neither Jupyter Book nor the two packages has a setting for the first; it is one event
handler. tests/test_browser.py opens every page and fails on any console error.
"""


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    seen, kept = set(), []
    for js in context.get("script_files", []):
        # the two copies differ only in how they say "no file" (None or ""), which str() keeps apart
        key = (getattr(js, "filename", None) or "", repr(sorted(getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(js)
    context["script_files"] = kept


def setup(app):
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
