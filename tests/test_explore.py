"""dcgan_lib.explore: the latent-space controls of chapters 06 and 09 (issue 26.6)."""
import io

import matplotlib
import pytest
import torch
from hypothesis import given, settings, strategies as st
from PIL import Image

from dcgan_lib import explore, latent
from dcgan_lib.models import Generator

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def G():
    torch.manual_seed(0)
    return Generator(16, nz=8, ngf=8, nc=1).eval()


def test_walk_images_start_and_end_at_the_chosen_samples(G):
    ex = explore.walk(G, n=6, seed=3, steps=5)
    imgs, labels = ex.images(a=2, b=4, t=0.0)
    assert imgs.shape == (5 + 2 + 1, 1, 16, 16) and len(labels) == len(imgs)
    z, ctx = latent.seeded_z(G, 6, 3), latent.seeded_z(G, 64, 10)
    ends = torch.cat([latent.decode(G, z[i:i + 1], context=ctx) for i in (2, 4)])   # each alone
    assert torch.allclose(imgs[0], ends[0], atol=1e-5)
    assert torch.allclose(imgs[6], ends[1], atol=1e-5)
    assert torch.allclose(imgs[-1], imgs[0], atol=1e-5)        # t = 0: the last image is a
    assert labels[0] == "#2" and labels[6] == "#4" and labels[-1] == "t=0.00"


def test_walk_method_changes_the_middle_not_the_ends(G):
    ex = explore.walk(G, n=4, steps=3)
    lin, _ = ex.images(a=0, b=1, spherical=0)
    sph, _ = ex.images(a=0, b=1, spherical=1)
    assert torch.allclose(lin[0], sph[0], atol=1e-5) and torch.allclose(lin[4], sph[4], atol=1e-5)
    assert not torch.allclose(lin[2], sph[2], atol=1e-4)      # positive control: they differ


def test_direction_at_alpha_zero_is_the_sample_and_moves_with_alpha(G):
    d = torch.randn(8, generator=torch.Generator().manual_seed(1))
    ex = explore.direction(G, d, n=4, alphas=(-1.0, 0.0, 1.0))
    imgs, labels = ex.images(i=1, alpha=0.0)
    assert imgs.shape == (4, 1, 16, 16) and labels[-1] == "alpha +0.00"
    assert torch.allclose(imgs[-1], imgs[1], atol=1e-5)        # alpha 0 is the unmoved sample
    moved, _ = ex.images(i=1, alpha=1.0)
    assert torch.allclose(moved[-1], moved[2], atol=1e-5)      # the slider's alpha 1 = the row's
    assert not torch.allclose(moved[-1], imgs[-1], atol=1e-4)


def test_arithmetic_is_a_minus_b_plus_c_in_z_and_in_pixels(G):
    ex = explore.arithmetic(G, n=5, seed=2)
    imgs, labels = ex.images(a=3, b=3, c=1)                     # a - a + c = c
    assert imgs.shape == (5, 1, 16, 16) and labels[3] == "z: a - b + c"
    assert torch.allclose(imgs[3], imgs[2], atol=1e-5)
    assert torch.allclose(imgs[4], imgs[2].clamp(-1, 1), atol=1e-5)
    other, _ = ex.images(a=0, b=3, c=1)
    assert not torch.allclose(other[3], imgs[3], atol=1e-4)


def test_values_are_checked_by_name_and_range(G):
    ex = explore.walk(G, n=4)
    with pytest.raises(ValueError, match=r"a must be in \[0, 3\], got 9"):
        ex.images(a=9)
    with pytest.raises(ValueError, match="no control named"):
        ex.images(nosuch=1)


def test_widget_redraws_its_picture_when_a_slider_moves(G):
    pytest.importorskip("ipywidgets")
    ex = explore.direction(G, torch.ones(8), n=4)
    box = ex.widget()
    assert set(box.controls) == {"i", "alpha"}
    before = box.picture.value
    assert before == ex.png()
    box.controls["alpha"].value = -2.0
    assert box.picture.value != before and box.picture.value == ex.png(alpha=-2.0)
    img = Image.open(io.BytesIO(box.picture.value))
    assert img.format == "PNG" and img.size[1] == 16 + 2 * 2      # one row of 16 px images


def test_show_falls_back_to_the_static_figure_without_a_front_end(G, monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.delenv(explore.WIDGETS_ENV, raising=False)
    assert not explore.live()
    fig = explore.show(explore.arithmetic(G, n=4))
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) == 5
    assert fig.axes[3].get_title() == "z: a - b + c"


def test_show_displays_the_widget_in_a_jupyter_server_kernel(G, monkeypatch):
    pytest.importorskip("ipywidgets")
    monkeypatch.setenv("JPY_SESSION_NAME", "book/06_latent_walk.ipynb")
    monkeypatch.delenv(explore.WIDGETS_ENV, raising=False)
    assert explore.live()
    box = explore.show(explore.walk(G, n=4))
    assert hasattr(box, "controls") and set(box.controls) == {"a", "b", "t", "spherical"}
    monkeypatch.setenv(explore.WIDGETS_ENV, "0")                 # forced off
    assert not explore.live()


@settings(max_examples=25, deadline=None)
@given(a=st.integers(0, 3), b=st.integers(0, 3), t=st.floats(0, 1), sph=st.integers(0, 1))
def test_any_slider_position_gives_finite_images_in_range(G, a, b, t, sph):
    imgs, labels = explore.walk(G, n=4, steps=2).images(a=a, b=b, t=t, spherical=sph)
    assert imgs.shape == (5, 1, 16, 16) and len(labels) == 5
    assert torch.isfinite(imgs).all() and imgs.abs().max() <= 1
