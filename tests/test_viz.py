import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from dcgan_lib import viz  # noqa: E402


def test_native_grids_shows_every_image_at_side_pixels_without_resampling():
    panels = {"64px": torch.rand(8, 1, 64, 64) * 2 - 1, "32px": torch.rand(8, 3, 32, 32) * 2 - 1}
    fig = viz.native_grids(panels, 4, gap=0.0)
    dpi = plt.rcParams["figure.dpi"]
    w_px, h_px = fig.get_figwidth() * dpi, fig.get_figheight() * dpi
    assert h_px == pytest.approx(2 * 65 + 1)                   # two rows of 64 + 1 padding
    assert w_px == pytest.approx(2 * (4 * 65 + 1))             # two panels of four columns
    shown = [ax.get_images()[0].get_array().shape for ax in fig.axes]
    assert shown == [(131, 261, 3), (131, 261, 3)]              # the 32px grid enlarged twice
    assert [ax.get_title() for ax in fig.axes] == ["64px", "32px"]
    plt.close(fig)
