"""Forgetting to draw objects (dcgan_lib.surgery, paper section 6.3.1): the box file, the
logistic regression on generator features, dropping feature maps, and the measures."""
import json
from pathlib import Path
from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest
import torch

from dcgan_lib import latent, surgery
from dcgan_lib.models import Generator

matplotlib.use("Agg")
REPO = Path(__file__).resolve().parent.parent


def box_dict(**over):
    d = {"format": "dcgan-boxes/1", "model": "tiny", "seed": 3, "n_samples": 6, "bn": "batch",
         "image_size": 16, "object": "blob",
         "samples": [{"sample": 0, "boxes": [{"box": [2, 3, 8, 9], "label": "a"}]},
                     {"sample": 2, "boxes": []},
                     {"sample": 4, "boxes": [{"box": [0, 0, 16, 4]}, {"box": [8, 8, 12, 16]}]}]}
    d.update(over)
    return d


@pytest.fixture(scope="module")
def G():
    torch.manual_seed(0)
    return Generator(16, nz=8, ngf=8, nc=1)


def test_round_trip(tmp_path):
    bf = surgery.validate(box_dict())
    assert bf.indices == [0, 2, 4] and bf.boxed == [0, 4] and bf.n_boxes() == 3
    assert bf.labels() == {0: "a"}
    p = surgery.save_boxes(bf, tmp_path / "b.json")
    again = surgery.load_boxes(p)
    assert again == bf
    assert json.loads(p.read_text())["samples"][2]["boxes"][1]["box"] == [8, 8, 12, 16]


@pytest.mark.parametrize("over, msg", [
    (dict(format="boxes"), "'format'"),
    (dict(seed="0"), "'seed' must be an integer"),
    (dict(bn="train"), "'bn'"),
    (dict(model=""), "'model'"),
    (dict(samples={}), "'samples' must be a list"),
    (dict(samples=[{"sample": 6, "boxes": []}]), r"samples\[0\].sample = 6 is outside"),
    (dict(samples=[{"sample": 1, "boxes": []}, {"sample": 1, "boxes": []}]), "twice"),
    (dict(samples=[{"sample": 1, "boxes": [{"box": [4, 0, 4, 5]}]}]), "0 <= x0 < x1 <= 16"),
    (dict(samples=[{"sample": 1, "boxes": [{"box": [0, 0, 17, 5]}]}]), r"boxes\[0\].box"),
    (dict(samples=[{"sample": 1, "boxes": [{"box": [0, 0, 5]}]}]), r"\[x0, y0, x1, y1\]"),
    (dict(samples=[{"sample": 1, "boxes": [{"box": [0, 0, 5.5, 5]}]}]), "integer"),
    (dict(samples=[{"sample": 1, "boxes": [{"box": [0, 0, 5, 5], "label": 7}]}]), "label"),
    (dict(samples=[{"sample": 1}]), "'sample' and 'boxes'"),
])
def test_validation_errors_name_source_and_field(over, msg):
    with pytest.raises(ValueError, match=msg) as e:
        surgery.validate(box_dict(**over), "my.json")
    assert "my.json" in str(e.value)


def test_missing_fields_bad_json_and_missing_file(tmp_path):
    d = box_dict()
    del d["seed"], d["image_size"]
    with pytest.raises(ValueError, match="missing field.*seed.*image_size"):
        surgery.validate(d)
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "dcgan-boxes/1",\n "seed": }')
    with pytest.raises(ValueError, match="bad.json: not valid JSON.*line 2"):
        surgery.load_boxes(bad)
    with pytest.raises(FileNotFoundError, match="BoxDrawer"):
        surgery.load_boxes(tmp_path / "nope.json")


def test_committed_svhn_box_file_is_valid():
    bf = surgery.load_boxes(REPO / "book" / "data" / "svhn_boxes.json")
    assert bf.model == "newmu-svhn-dcgan" and bf.image_size == 32
    assert len(bf.indices) >= 100 and len(bf.boxed) >= 50


def test_masks_and_cells():
    bf = surgery.validate(box_dict())
    m = surgery.pixel_masks(bf, [0, 2, 4])
    assert m.shape == (3, 16, 16)
    assert m[0].sum() == 36 and m[0, 3, 2] and not m[0, 9, 2] and not m[0, 3, 8]
    assert m[1].sum() == 0 and m[2].sum() == 16 * 4 + 4 * 8
    cells = surgery.cell_labels(bf.samples[0], 16, 4)          # cells 4px, centres 2, 6, 10, 14
    expected = torch.zeros(4, 4, dtype=torch.bool)
    expected[1, :2] = True                # centres x 2 and 6 in [2, 8), y 6 in [3, 9)
    assert torch.equal(cells, expected)


def test_feature_layer_is_second_highest_conv():
    g64 = Generator(64, nz=8, ngf=4, nc=3)
    g32 = Generator(32, nz=8, ngf=4, nc=3)
    with torch.no_grad():
        from dcgan_lib.models import activations
        with activations(g64) as a64, activations(g32) as a32:
            g64(torch.randn(2, 8)), g32(torch.randn(2, 8))
    assert a64[surgery.feature_layer(g64)].shape[-1] == 16    # 64px: the 16x16 layer
    assert a32[surgery.feature_layer(g32)].shape[-1] == 8     # 32px: the 8x8 layer


def test_drop_channels_zeroes_maps_everywhere_and_only_inside(G):
    layer = surgery.feature_layer(G)
    seen = {}
    h = G.blocks[layer + 1].register_forward_pre_hook(lambda m, inp: seen.update(x=inp[0]))
    z = latent.seeded_z(G, 4, 0)
    with torch.no_grad():
        G(z)
        full = seen["x"].clone()
        with surgery.drop_channels(G, layer, [0, 3]):
            G(z)
        dropped = seen["x"].clone()
        G(z)
    h.remove()
    assert (full[:, [0, 3]] != 0).any()
    assert (dropped[:, [0, 3]] == 0).all()                       # every location
    assert torch.equal(dropped[:, [1, 2]], full[:, [1, 2]])
    assert torch.equal(seen["x"], full)                          # hook removed on exit
    with pytest.raises(IndexError, match="outside"):
        with surgery.drop_channels(G, layer, [999]), torch.no_grad():
            G(z)


def test_box_samples_and_generate_pair(G):
    bf = surgery.validate(box_dict())
    z, images, feats = surgery.box_samples(G, bf)
    assert torch.equal(z, latent.seeded_z(G, 6, 3))
    assert torch.allclose(images, latent.decode(G, z, "batch", batch_size=6))
    assert feats.shape == (6, 16, 4, 4)                          # ngf 8: 16 maps at 4x4
    before, after = surgery.generate_pair(G, z, 0, [])
    assert torch.equal(before, after)
    b2, a2, f2 = surgery.generate_pair(G, z, 0, [1, 2], record=True)
    assert not torch.equal(b2, a2) and f2.shape[0] == 6
    wrong = surgery.validate(box_dict(image_size=32, samples=[]))
    with pytest.raises(ValueError, match="wrong model"):
        surgery.box_samples(G, wrong)


def test_logistic_regression_finds_the_planted_channels():
    rng = np.random.default_rng(0)
    n, C, s = 30, 6, 4
    bf = surgery.BoxFile("planted", 0, n, 16, samples={
        i: [surgery.Box(4, 4, 12, 12)] if i % 3 else [] for i in range(n)})
    inside = surgery.cell_labels(bf.samples[1], 16, s).float()
    feats = torch.from_numpy(rng.normal(0, 1, (n, C, s, s))).float()
    feats[:, 2] += 3 * inside                                    # maps 2 and 4 fire on the object
    feats[:, 4] += 2 * inside
    feats[:, 5] -= 2 * inside                                    # map 5 is off on it
    X, y, where = surgery.object_dataset(feats, bf, neg_per_pos=1.0, seed=0)
    assert set(np.unique(where[:, 0])) == set(bf.boxed)          # negatives from boxed images
    assert y.sum() == 4 * len(bf.boxed) and (y == 0).sum() == 4 * len(bf.boxed)
    clf, info = surgery.fit_object_classifier(X, y, groups=where[:, 0])
    assert info["cv_accuracy"] > 0.9
    ch = surgery.object_channels(clf)
    assert 2 in ch and 4 in ch and 5 not in ch
    masks = surgery.predicted_masks(clf, feats[:3], 16)
    assert masks.shape == (3, 16, 16)
    assert masks[1, 4:12, 4:12].all() and not masks[1, :4].any()
    with pytest.raises(ValueError, match="features must be"):
        surgery.object_dataset(feats[:5], bf)
    ctrl = surgery.random_channels(C, 2, seed=0, exclude=ch)
    assert len(ctrl) == 2 and not set(ctrl) & set(ch)


def test_region_change_and_verdict_known_answers():
    before = torch.zeros(2, 1, 4, 4)
    after = before.clone()
    after[:, :, :2, :2] = 1.0                                    # change only in the box
    after[:, :, 3, 3] = 0.5
    masks = torch.zeros(2, 4, 4, dtype=torch.bool)
    masks[:, :2, :2] = True
    r = surgery.region_change(before, after, masks)
    assert r["inside"] == pytest.approx(1.0) and r["outside"] == pytest.approx(0.5 / 12)
    assert r["ratio"] == pytest.approx(24.0)
    probs = {id(before): np.array([[0.9, 0.1], [0.2, 0.8]]),
             id(after): np.array([[0.4, 0.6], [0.1, 0.9]])}
    v = surgery.verdict(lambda x: probs[id(x)], before, after)
    assert v == pytest.approx({"unchanged": 0.5, "confidence_before": 0.85,
                               "confidence_after": 0.65})
    feats = {id(before): "b", id(after): "a"}                    # classify on features
    by_feature = {"b": probs[id(before)], "a": probs[id(after)]}
    assert surgery.verdict(by_feature.get, before, after, featurize=lambda x: feats[id(x)]) == v


def test_box_drawer_bookkeeping_and_figure():
    bf = surgery.BoxFile("tiny", 0, 3, 16)
    images = torch.zeros(3, 1, 16, 16)
    d = surgery.BoxDrawer(images, bf, label="digit")
    b = d.add(0, 9.7, 2.2, 3.4, 12.9)                          # corners in any order
    assert (b.x0, b.y0, b.x1, b.y1, b.label) == (3, 2, 10, 13, "digit")
    assert d.add(0, -3, -1, 40, 5).x1 == 16                     # clipped to the image
    with pytest.raises(ValueError, match="empty"):
        d.add(0, 20, 20, 30, 30)
    fig = d.show()
    assert fig is not None and 0 in bf.samples
    d.on_select(SimpleNamespace(xdata=1.0, ydata=1.0), SimpleNamespace(xdata=4.0, ydata=5.0))
    assert len(bf.samples[0]) == 3
    d.on_key(SimpleNamespace(key="u"))
    assert len(bf.samples[0]) == 2
    d.on_key(SimpleNamespace(key="n"))
    assert d.current == 1 and bf.samples[1] == []               # looked at, no object
    d.on_key(SimpleNamespace(key="n")); d.on_key(SimpleNamespace(key="n"))
    assert d.current == 2                                       # stays on the last sample
    surgery.validate(surgery.to_dict(bf))                       # what it drew is a valid file
    with pytest.raises(ValueError, match="images for a box file"):
        surgery.BoxDrawer(images[:2], bf)
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_draw_boxes_on_outlines_only():
    x = -torch.ones(1, 3, 8, 8)
    out = surgery.draw_boxes_on(x, [[surgery.Box(2, 2, 6, 6)]])
    changed = (out != x).any(1)[0]
    assert changed[2, 2:6].all() and changed[5, 2:6].all() and changed[2:6, 2].all()
    assert not changed[3:5, 3:5].any() and changed.sum() == 12


def test_structure_change_sees_an_erased_object_not_a_colour_shift():
    before = torch.zeros(2, 3, 8, 8)
    before[:, :, 2:6, 3] = 1.0                               # a vertical stroke in the box
    before[:, :, 7, :] = 0.5                                 # a horizontal edge outside
    masks = torch.zeros(2, 8, 8, dtype=torch.bool)
    masks[:, 1:6, 1:6] = True
    erased = before.clone()
    erased[:, :, 2:6, 3] = 0.0
    s = surgery.structure_change(before, erased, masks)
    assert s["inside_kept"] == pytest.approx(0.0) and s["outside_kept"] == pytest.approx(1.0)
    tinted = before + 0.3                                    # colour shift: structure kept
    t = surgery.structure_change(before, tinted, masks)
    assert t["inside_kept"] == pytest.approx(1.0) and t["outside_kept"] == pytest.approx(1.0)
    assert surgery.region_change(before, tinted, masks)["inside"] == pytest.approx(0.3)
    with pytest.raises(ValueError, match="inside and outside"):
        surgery.edge_energy(before, torch.ones(2, 8, 8, dtype=torch.bool))


# ------------------------------------------------------------------ boxes for a batch run
def test_bright_boxes_find_the_bright_region_and_nothing_in_a_flat_image():
    g = torch.Generator().manual_seed(0)
    img = torch.rand(2, 3, 32, 32, generator=g) * 0.2 - 0.8       # dark, textured
    img[0, :, 4:12, 18:28] = 0.9                                   # one bright "window"
    img[1] = 0.0                                                   # flat: no region stands out
    boxes = surgery.bright_boxes(img)
    assert len(boxes) == 2 and boxes[1] == []
    (b,), want = boxes[0], surgery.Box(18, 4, 28, 12)
    inter = max(0, min(b.x1, want.x1) - max(b.x0, want.x0)) * \
        max(0, min(b.y1, want.y1) - max(b.y0, want.y0))
    assert inter / (b.area + want.area - inter) > 0.6, b


def test_window_boxes_use_the_users_boxes_for_this_checkpoint_only(G, tmp_path):
    ck = tmp_path / "best.pt"
    ck.write_bytes(b"weights of this model")
    mid = surgery.model_id(ck)
    assert mid.startswith("best.pt sha256:") and len(mid.split(":")[1]) == 16
    drawn = surgery.BoxFile(mid, 0, 6, 16, object="window",
                            samples={0: [surgery.Box(1, 1, 5, 5)], 1: []})
    path = surgery.save_boxes(drawn, tmp_path / "windows.json")
    bf, how = surgery.window_boxes(G, ck, path, n_samples=6)
    assert how.startswith("hand-drawn") and bf.samples == drawn.samples
    ck.write_bytes(b"a retrained model")                 # the boxes were for the old one
    bf, how = surgery.window_boxes(G, ck, path, n_samples=6)
    assert how.startswith(surgery.STAND_IN) and "not this checkpoint" in how
    assert surgery.STAND_IN in bf.object and surgery.STAND_IN in bf.note
    assert bf.n_samples == 6 and bf.indices == list(range(6)) and bf.image_size == 16
    assert bf.model == surgery.model_id(ck)
    bf, how = surgery.window_boxes(G, ck, tmp_path / "none.json", n_samples=6)
    assert "no hand-drawn box file" in how
    with pytest.raises(FileNotFoundError, match="full_boxes .*none.json"):
        surgery.window_boxes(G, ck, tmp_path / "none.json", explicit=True)


def test_control_draws_and_paired_comparison_over_draws(G):
    draws = surgery.control_draws(16, 3, 4, seed=5, exclude=[0, 1])
    assert len(draws) == 4 and draws[0] == surgery.random_channels(16, 3, seed=5, exclude=[0, 1])
    assert all(len(d) == 3 and not {0, 1} & set(d) for d in draws)
    assert len({tuple(d) for d in draws}) > 1                    # independent draws differ
    with pytest.raises(ValueError, match="at least one draw"):
        surgery.control_draws(16, 3, 0)
    # over_draws: each draw's images are generate_pair's `after` for that draw
    z = latent.seeded_z(G, 6, 1)
    seen = surgery.over_draws(G, z, 0, draws[:2], lambda a: {"first": a[:, 0, 0, 0],
                                                              "n": [len(a)] * len(a)},
                              batch_size=6)
    assert seen["first"].shape == (2, 6) and (seen["n"] == 6).all()
    for d, channels in enumerate(draws[:2]):
        _, after = surgery.generate_pair(G, z, 0, channels, batch_size=6)
        assert np.allclose(seen["first"][d], after[:, 0, 0, 0].numpy())
    # paired: the difference per sample, the draws averaged per sample; NaN samples dropped
    obj = np.array([1.0, 2.0, np.nan, 4.0])
    ctrl = np.array([[2.0, 2.0, 1.0, 5.0], [4.0, 4.0, 1.0, np.nan]])
    p = surgery.paired_against_draws(obj, ctrl)
    assert p["kept"].tolist() == [True, True, False, False]
    assert np.allclose(p["control"], [3.0, 3.0]) and np.allclose(p["diff"], [-2.0, -1.0])
    assert np.allclose(p["draw_means"], [2.0, 4.0])             # one draw alone: 2 or 4
    with pytest.raises(ValueError, match="draws must be"):
        surgery.paired_against_draws(obj, ctrl[:, :3])
    # per_image(keep_all): one value per image, NaN where the filtered version drops it
    before = torch.zeros(3, 1, 4, 4)
    before[:, :, 1, 1] = 1.0                                     # structure inside the box
    after = before.clone()
    after[0, :, 3, 3] = 0.5                                      # image 1: no change outside
    after[2, :, 3, 3] = 0.5
    masks = torch.zeros(3, 4, 4, dtype=torch.bool)
    masks[:, :2, :2] = True
    full = surgery.per_image(before, after, masks, keep_all=True)
    short = surgery.per_image(before, after, masks)
    assert np.isnan(full["change_ratio"][1]) and len(short["change_ratio"]) == 2
    assert np.allclose(full["structure_kept_inside"][[0, 2]], short["structure_kept_inside"])


def test_predicted_class_pairs_a_verdict_sample_by_sample():
    before, after = torch.zeros(2, 1, 2, 2), torch.ones(2, 1, 2, 2)
    probs = {id(before): np.array([[0.9, 0.1], [0.2, 0.8]]),
             id(after): np.array([[0.4, 0.6], [0.1, 0.9]])}
    cb = surgery.predicted_class(lambda x: probs[id(x)], before)
    ca = surgery.predicted_class(lambda x: probs[id(x)], after)
    assert (cb == ca).tolist() == [False, True]
    assert (cb == ca).mean() == surgery.verdict(lambda x: probs[id(x)], before, after)["unchanged"]
