"""The smallest text of every figure a chapter shows, carried in its PNG (rlhf_lite.plots.record_text_sizes and
save_png) for the browser test to turn into pixels as shown: measured on what the renderer draws, written as a
valid PNG chunk, and switched on for every chapter the book executes (rlhf_lite.site.book.execute_notebook)."""
import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pytest  # noqa: E402

from rlhf_lite.plots import save_png, smallest_text, text_record, with_text_record  # noqa: E402


def test_smallest_text_is_the_smallest_text_drawn():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], label="arm")
    ax.legend(fontsize=7)
    ax.set_title("a title", fontsize=14)
    ax.text(0.5, 0.5, "hidden", fontsize=3, visible=False)  # never drawn
    ax.text(0.5, 0.5, "", fontsize=2)  # empty: nothing to read
    assert smallest_text(fig) == {"min_pt": 7.0, "text": "arm", "size_in": [4.0, 3.0]}
    ax.annotate("note", (0.2, 0.2), fontsize=5.5)
    assert smallest_text(fig)["min_pt"] == 5.5 and smallest_text(fig)["text"] == "note"
    plt.close(fig)
    bare, ax = plt.subplots()
    ax.axis("off")
    assert smallest_text(bare)["min_pt"] is None
    plt.close(bare)


def test_the_record_rides_in_a_valid_png_and_replaces_an_older_one(tmp_path):
    from PIL import Image

    fig, ax = plt.subplots(figsize=(5, 2))
    ax.set_xlabel("x", fontsize=6)
    ax.tick_params(labelsize=8)
    path = save_png(fig, tmp_path / "f.png", dpi=120)
    plt.close(fig)
    png = path.read_bytes()
    record = text_record(png)
    assert record["min_pt"] == 6 and record["dpi"] == 120 and record["min_px"] == pytest.approx(6 * 120 / 72)
    again = with_text_record(png, {**record, "min_pt": 9.0})
    assert text_record(again)["min_pt"] == 9.0 and again.count(b"rlhf_lite:text") == 1
    Image.open(io.BytesIO(again)).load()  # every chunk's CRC checks out
    assert Image.open(io.BytesIO(again)).size == Image.open(io.BytesIO(png)).size
    assert text_record(plt_png()) is None
    with pytest.raises(ValueError, match="not a PNG"):
        text_record(b"GIF89a")


def plt_png() -> bytes:
    buf = io.BytesIO()
    plt.figure().savefig(buf, format="png")
    plt.close("all")
    return buf.getvalue()


def test_every_way_a_chapter_shows_a_figure_carries_the_record(tmp_path):
    """The book's kernel (execute_notebook) records figures shown at a cell's end, by plt.show, display and glue,
    in the PNG the page will show; a chapter needs no line of its own."""
    from rlhf_lite.site.book import execute_notebook

    cells = ["profile = 'ci'",
             "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.set_title('end of cell', fontsize=5)",
             "fig, ax = plt.subplots()\nax.plot([0, 1], label='shown')\nax.legend(fontsize=6)\nplt.show()",
             "from IPython.display import display\nfig, ax = plt.subplots()\nax.set_xlabel('displayed', fontsize=7)\n"
             "display(fig)\nplt.close(fig)",
             "from myst_nb import glue\nfig, ax = plt.subplots()\nax.set_ylabel('glued', fontsize=8)\n"
             "glue('f', fig, display=False)\nplt.close(fig)"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells], metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(nb, tmp_path / "figs.ipynb")
    execute_notebook(tmp_path / "figs.ipynb", tmp_path / "out.ipynb", "ci")
    found = []
    for cell in nbformat.read(tmp_path / "out.ipynb", 4).cells:
        for o in cell.get("outputs", []):
            png = next((v for k, v in o.get("data", {}).items() if k.endswith("image/png")), None)
            if png:
                r = text_record(base64.b64decode(png))
                found.append(r and (r["text"], r["min_pt"]))
    assert found == [("end of cell", 5), ("shown", 6), ("displayed", 7), ("glued", 8)]
