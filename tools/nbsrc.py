"""Write a notebook from a plain-Python cell list (so chapter sources diff and review as text).

Usage: python tools/nbsrc.py notebooks/02_lite_world.py  -> notebooks/02_lite_world.ipynb
The source file separates cells with lines '# %% [markdown]' or '# %% tags=a,b' (code).
Markdown cells have each line prefixed with '# '. Why not jupytext: one small file does it,
and it keeps the dependency list to what readers need.
"""

import sys
from pathlib import Path

import nbformat


def parse(text: str):
    cells, kind, tags, buf = [], None, [], []

    def flush():
        if kind is None:
            return
        src = "\n".join(buf).strip("\n")
        if kind == "markdown":
            src = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in src.splitlines())
            cells.append(nbformat.v4.new_markdown_cell(src))
        else:
            c = nbformat.v4.new_code_cell(src)
            if tags:
                c.metadata["tags"] = tags
            cells.append(c)

    for line in text.splitlines():
        if line.startswith("# %%"):
            flush()
            buf = []
            rest = line[4:].strip()
            if rest.startswith("[markdown]"):
                kind, tags = "markdown", []
            else:
                kind = "code"
                tags = rest.split("=", 1)[1].split(",") if rest.startswith("tags=") else []
        else:
            buf.append(line)
    flush()
    return cells


def main(path):
    src = Path(path)
    nb = nbformat.v4.new_notebook()
    nb.cells = parse(src.read_text())
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    out = src.with_suffix(".ipynb")
    nbformat.write(nb, str(out))
    print(f"wrote {out} ({len(nb.cells)} cells)")


if __name__ == "__main__":
    for p in sys.argv[1:]:
        main(p)
