"""Run.figure's title and provenance stamp never overlap the figure's other text or its axes,
whatever layout the chapter used."""
import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from dcgan_lib import book  # noqa: E402


def area(a, b) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def drawn_texts(fig):
    """Every visible, non-empty text the figure draws (tick labels of ticks outside the view
    limits exist as Text objects but are not drawn)."""
    hidden = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not lo - 1e-9 <= tick.get_loc() <= hi + 1e-9:
                    hidden |= {id(tick.label1), id(tick.label2)}
    return [t for t in fig.findobj(Text)
            if t.get_visible() and t.get_text().strip() and id(t) not in hidden]


def make(layout):
    fig, axes = plt.subplots(1, 3, figsize=(7, 2.6),
                             layout="constrained" if layout == "constrained" else None)
    for i, ax in enumerate(axes):
        ax.plot([0, 1], [0, 1])
        ax.set_xlabel(f"a long x label {i}\nover two lines")
        ax.set_title(f"panel {i}, with a long title")
    if layout == "tight_layout":          # what chapters do before run.figure(fig, title=...)
        fig.tight_layout()
    if layout == "crowded":               # axes pushed to the figure's edges
        fig.subplots_adjust(bottom=0.0, top=1.0, left=0.05, right=0.98)
    return fig


@pytest.mark.parametrize("layout", ["none", "tight_layout", "constrained", "crowded"])
def test_stamp_and_title_overlap_nothing(tmp_path, monkeypatch, layout):
    monkeypatch.delenv("DCGAN_PROFILE", raising=False)
    run = book.setup("99_test", "cpu", 0, "", str(tmp_path))
    fig = make(layout)
    run.figure(fig, f"fig_{layout}", title="A suptitle that could hit the panel titles")
    assert (run.out / f"fig_{layout}.png").exists()
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    texts = drawn_texts(fig)
    stamp = [t for t in texts if t.get_text() == run.caption]
    title = [t for t in texts if t.get_text().startswith("A suptitle")]
    assert len(stamp) == 1 and len(title) == 1
    boxes = {id(t): t.get_window_extent(r) for t in texts}
    axes = [ax.get_window_extent(r) for ax in fig.axes]
    xlabels = [ax.xaxis.label.get_window_extent(r) for ax in fig.axes]
    for special in (stamp[0], title[0]):
        box = boxes[id(special)]
        for t in texts:
            if t is not special:
                assert area(box, boxes[id(t)]) == 0, (layout, special.get_text(), t.get_text())
        for ax in axes:
            assert area(box, ax) == 0, (layout, special.get_text(), "axes")
    # under the x-labels, above nothing else: the stamp is the lowest text of the figure
    assert boxes[id(stamp[0])].y1 <= min(b.y0 for b in xlabels)
    assert boxes[id(title[0])].y0 >= max(boxes[id(ax.title)].y1 for ax in fig.axes)
    plt.close(fig)
