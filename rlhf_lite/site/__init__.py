"""The book's site: what turns the chapters' runs into pages, apart from the pipeline that trains and measures.

- ``book``: the build (stage the notebooks, execute them under papermill in a profile, render with Jupyter Book);
- ``pages``: the notebooks staged for a build, with each chapter's "Run this chapter" box;
- ``times``: the chapters' measured run times (bench/chapter_times.json) worded for the pages and the README;
- ``claims``: the paper's claims and how each is read from the chapters' results;
- ``scorecard``: the verdict of each claim, by a written rule, and its page;
- ``course``, ``course_plan``: the course guide's generated tables and its timed one-day plan.

The site may import the plumbing at the bottom of the package (``io``, ``parallel``, ``stats``); nothing in the
pipeline imports the site (pyproject.toml's import contracts, run by tests/test_layout.py). Its modules are
``io.PRESENTATION_MODULES``: editing them re-runs chapters, never their training.
"""
