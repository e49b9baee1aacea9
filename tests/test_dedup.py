"""De-duplication by semantic hashing (paper section 4.1.1): dcgan_lib.dedup."""
import numpy as np
import pytest
import torch

from dcgan_lib import dedup


def random_images(n, size=28, seed=0, channels=None):
    g = torch.Generator().manual_seed(seed)
    shape = (n, size, size) if channels is None else (n, channels, size, size)
    return torch.randint(0, 256, shape, generator=g, dtype=torch.uint8)


def blobs(n, size=28, seed=0):
    """Smooth uint8 images (a bright ellipse each) for the perturbation tests."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    out = []
    for _ in range(n):
        cy, cx = rng.uniform(9, 19, 2)
        ry, rx = rng.uniform(4, 9, 2)
        v = rng.uniform(120, 250)
        out.append(((((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2) <= 1) * v)
    return torch.from_numpy(np.stack(out).astype(np.uint8))


def test_autoencoder_is_3072_128_3072():
    ae = dedup.DedupAutoencoder()
    assert ae.encoder[0].weight.shape == (128, 3072)
    assert ae.decoder.weight.shape == (3072, 128)
    assert isinstance(ae.encoder[1], torch.nn.ReLU)
    x = ae.prepare(random_images(5))          # grey 28x28 -> 3 x 32 x 32 centre crops
    assert x.shape == (5, 3072)
    assert ae(x).shape == (5, 3072)
    # grey replicated to three channels: the three colour planes of the input are equal
    planes = (x + ae.mean).view(5, 3, 32, 32)
    assert torch.equal(planes[:, 0], planes[:, 1]) and torch.equal(planes[:, 0], planes[:, 2])


def test_codes_threshold_the_relu_and_pack_to_16_bytes():
    torch.manual_seed(0)
    ae = dedup.DedupAutoencoder().eval()
    imgs = random_images(6, 32, channels=3)
    with torch.no_grad():
        pre = ae.encoder[0](ae.prepare(imgs))
    c = ae.codes(imgs)
    assert c.dtype == torch.bool and c.shape == (6, 128)
    assert torch.equal(c, pre > 0)
    assert torch.equal(ae.codes(imgs, threshold=0.1), pre > 0.1)
    k = ae.keys(imgs)
    assert k.shape == (6, 16) and k.dtype == np.uint8
    assert np.array_equal(np.unpackbits(k, axis=1).astype(bool), c.numpy())


def test_identical_images_collide_different_ones_do_not():
    ae = dedup.DedupAutoencoder().eval()
    imgs = random_images(20, seed=1)
    batch = torch.cat([imgs, imgs[[3, 7]]])
    idx, st = dedup.hash_stream([batch], ae.keys, verbose=False)
    assert idx.groups() == [[3, 20], [7, 21]]
    assert st.duplicates == 2 and st.images == 22


def test_hash_table_groups_a_planted_set_exactly():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 2, (50, 128)).astype(bool)
    codes[[10, 25, 40]] = codes[4]                       # group {4, 10, 25, 40}
    codes[33] = codes[8]                                 # group {8, 33}
    near = codes[12].copy()
    near[[0, 70]] ^= True                                # 2 bits from image 12
    codes = np.concatenate([codes, near[None]])         # index 50
    keys = np.packbits(codes, axis=1)
    exact = dedup.HashIndex(0)
    exact.add(keys)
    assert exact.groups() == [[4, 10, 25, 40], [8, 33]]
    lab = exact.labels()
    assert lab[25] == 4 and lab[33] == 8 and lab[50] == 50
    for t, with_near in ((1, False), (2, True), (3, True)):
        idx = dedup.HashIndex(t)
        idx.add(keys)
        want = [[4, 10, 25, 40], [8, 33]] + ([[12, 50]] if with_near else [])
        assert idx.groups() == want, t
        assert idx.comparisons < 50 * 49 // 2      # far fewer than all pairs
        assert (idx.comparisons > 0) == with_near   # identical codes need no check


def test_near_matches_agree_with_brute_force():
    """Bucket splitting finds every pair within Hamming distance t (pigeonhole)."""
    rng = np.random.default_rng(1)
    base = rng.integers(0, 2, (40, 64)).astype(bool)
    copies = base[rng.integers(0, 40, 160)]
    flips = rng.random(copies.shape) < 0.03
    codes = np.concatenate([base, copies ^ flips])
    keys = np.packbits(codes, axis=1)
    for t in (1, 3, 6):
        idx = dedup.HashIndex(t)
        idx.add(keys[:77])
        idx.add(keys[77:])
        lab = idx.labels()
        dist = (codes[:, None] != codes[None]).sum(-1)
        for i in range(len(codes)):
            kept = np.flatnonzero(lab == np.arange(len(codes)))
            earlier = kept[kept < i]
            d = dist[i, earlier]
            if lab[i] == i:        # kept: no earlier kept image within t
                assert not (d <= t).any()
            else:                  # duplicate of the nearest earlier kept image
                assert lab[i] in earlier and dist[i, lab[i]] == d.min() <= t


def test_streaming_equals_all_at_once():
    ae = dedup.DedupAutoencoder().eval()
    imgs = random_images(30, seed=2)
    imgs = torch.cat([imgs, imgs[:5], imgs[[1, 1]]])
    for t in (0, 4):
        whole, _ = dedup.hash_stream([imgs], ae.keys, t, verbose=False)
        parts, st = dedup.hash_stream((imgs[i:i + 7] for i in range(0, len(imgs), 7)),
                                      ae.keys, t, verbose=False)
        assert whole.groups() == parts.groups() and len(parts.groups()) >= 5
        assert np.array_equal(whole.labels(), parts.labels())
    assert st.images == 37 and st.images_per_s > 0


def test_uint8_batches_streams_arrays_and_datasets():
    from dcgan_lib.data import SyntheticShapes, to_uint8
    ds = SyntheticShapes(50, 16, 1)
    got = list(dedup.uint8_batches(ds, 16))          # DataLoader path, [-1, 1] -> uint8
    assert [len(b) for b in got] == [16, 16, 16, 2] and got[0].dtype == torch.uint8
    assert torch.equal(torch.cat(got), to_uint8(ds.images))
    arr = random_images(10).numpy()
    assert torch.equal(torch.cat(list(dedup.uint8_batches(arr, 4, limit=7))),
                       torch.from_numpy(arr[:7]))
    pairs = ((b, torch.zeros(len(b))) for b in dedup.uint8_batches(ds, 16))
    idx, st = dedup.hash_stream(pairs, dedup.exact_keys, verbose=False)
    assert st.images == 50
    with pytest.raises(ValueError, match="uint8_batches: arrays must hold uint8"):
        next(dedup.uint8_batches(np.zeros((3, 8, 8), np.float32)))


def test_exact_baseline_finds_byte_duplicates_only():
    imgs = random_images(40, seed=3)
    nudged = imgs[5].clone()
    nudged[0, 0] ^= 1                                    # one bit off: not a byte duplicate
    batch = torch.cat([imgs, imgs[[5, 9, 9]], nudged[None]])
    idx, _ = dedup.hash_stream([batch[:21], batch[21:]], dedup.exact_keys, verbose=False)
    assert idx.groups() == [[9, 41, 42], [5, 40]]
    assert idx.labels()[43] == 43


def test_phash_baseline_collides_on_identical_images():
    imgs = blobs(12, seed=4)
    k = dedup.phash_keys(torch.cat([imgs, imgs[:2]]))
    assert k.shape == (14, 8)
    idx = dedup.HashIndex(0)
    idx.add(k)
    assert [0, 12] in idx.groups() and [1, 13] in idx.groups()


def test_training_lowers_the_loss_and_is_seeded():
    imgs = blobs(256, seed=5)
    logs = []
    for _ in range(2):
        torch.manual_seed(123)  # weight init
        ae = dedup.DedupAutoencoder()
        logs.append(dedup.train_autoencoder(ae, imgs, epochs=10, batch_size=32, seed=0,
                                            log_every=0))
    assert [r["loss"] for r in logs[0]] == [r["loss"] for r in logs[1]]
    assert logs[0][-1]["loss"] < 0.7 * logs[0][0]["loss"]
    assert ae.mean.abs().sum() > 0 and not ae.training
    x = ae.prepare(imgs)
    with torch.no_grad():  # clean reconstruction beats predicting the mean image by far
        assert torch.nn.functional.mse_loss(ae(x), x) < 0.6 * (x ** 2).mean()


def test_save_load_round_trip(tmp_path):
    ae = dedup.DedupAutoencoder(align=True, dropout=0.3)
    ae.mean.normal_()
    ae.save(tmp_path / "ae.pt")
    back = dedup.DedupAutoencoder.load(tmp_path / "ae.pt")
    imgs = blobs(8, seed=6)
    assert back.config == ae.config
    assert np.array_equal(back.keys(imgs), ae.eval().keys(imgs))


def test_align_makes_shifted_and_relit_copies_nearly_equal():
    imgs = blobs(20, seed=7)
    moved = torch.roll(imgs, shifts=(1, -1), dims=(1, 2))
    relit = (imgs.float() * 0.85).round().to(torch.uint8)
    a = dedup.align_moments(dedup.centre_crops(imgs, 32, 1))
    for other in (moved, relit):
        b = dedup.align_moments(dedup.centre_crops(other, 32, 1))
        plain = (dedup.centre_crops(other, 32, 1) - dedup.centre_crops(imgs, 32, 1)).flatten(1)
        plain = plain / dedup.centre_crops(imgs, 32, 1).flatten(1).std(1, keepdim=True)
        assert (a - b).norm(dim=1).mean() < 0.5 * plain.norm(dim=1).mean()


def test_planted_duplicates_and_their_evaluation():
    imgs = blobs(30, seed=8)
    p = dedup.plant_duplicates(imgs, 4, seed=0)
    assert p.images.shape == (30 + 4 * 6, 1, 28, 28) and p.images.dtype == torch.uint8
    assert list(p.family[30:36]) == [0] * 6 and list(p.kind[30:36]) == list(dedup.KINDS)
    copy = p.kind == "copy"
    assert torch.equal(p.images[copy], p.images[p.family[copy]])
    assert not torch.equal(p.images[p.kind == "shift"], p.images[p.family[p.kind == "shift"]])
    perfect = dedup.evaluate_groups(p.family, p)
    assert perfect["precision"] == perfect["recall"] == 1 and perfect["pair_fpr"] == 0
    assert perfect["true_pairs"] == 4 * 21 and perfect["recall_crop"] == 1
    alone = dedup.evaluate_groups(np.arange(len(p.family)), p)
    assert alone["recall"] == 0 and alone["false_pairs"] == 0
    lumped = dedup.evaluate_groups(np.zeros(len(p.family), int), p)
    assert lumped["recall"] == 1 and lumped["pair_fpr"] == 1
    # exact hashing finds exactly the byte copies
    idx, _ = dedup.hash_stream([p.images], dedup.exact_keys, verbose=False)
    r = dedup.evaluate_groups(idx.labels(), p)
    assert r["recall_copy"] == 1 and r["precision"] == 1 and r["recall_shift"] == 0
    colour = dedup.plant_duplicates(random_images(5, 16, channels=3), 2, seed=1)
    assert colour.images.shape == (5 + 12, 3, 16, 16)


def test_sweep_rows_per_method_and_tolerance():
    p = dedup.plant_duplicates(blobs(30, seed=8), 4, seed=0)
    ae = dedup.DedupAutoencoder()
    ae.mean.copy_(ae.prepare(p.images[:30]).mean(0))     # untrained, centred: codes vary
    rows = dedup.sweep(p, {"exact": (dedup.exact_keys, [0]), "ae": (ae.keys, [0, 3])})
    assert [(r["method"], r["t"]) for r in rows] == [("exact", 0), ("ae", 0), ("ae", 3)]
    assert list(rows[0])[:11] == ["method", "t", "precision", "recall", "pair_fpr",
                                  "false_share", "true_pairs", "false_pairs", "duplicate_pairs",
                                  "keys_per_s", "checks"]
    assert {f"recall_{k}" for k in dedup.KINDS} <= set(rows[0])
    assert rows[0]["recall_copy"] == 1 and rows[0]["precision"] == 1     # byte copies only
    assert rows[0]["keys_per_s"] > 0 and rows[0]["checks"] == 0
    # each row is evaluate_groups of a fresh HashIndex(t) over the method's keys
    keys = ae.keys(p.images)
    for r in rows[1:]:
        index = dedup.HashIndex(r["t"])
        index.add(keys)
        ref = dedup.evaluate_groups(index.labels(), p)
        assert all(r[k] == v for k, v in ref.items()) and r["checks"] == index.comparisons
    assert dedup.sweep(p, {}) == []


def test_group_splits_counts_within_and_across():
    b = {"train": range(0, 10), "test": range(10, 15)}
    assert dedup.group_splits([[1, 2], [3, 11], [12, 13, 14], [4, 5, 12]], b) == \
        {"within train": 1, "within test": 1, "across": 2}


def test_clear_errors_on_bad_input():
    ae = dedup.DedupAutoencoder()
    with pytest.raises(ValueError, match=r"images: expected a batch of images shaped"):
        ae.keys(torch.zeros(4, 5, 28, 28))
    with pytest.raises(ValueError, match=r"images: expected a batch"):
        ae.keys(torch.zeros(28, 28).flatten())
    with pytest.raises(ValueError, match="exact_keys: expected a batch of uint8 .*to_uint8"):
        dedup.exact_keys(torch.zeros(3, 28, 28))
    with pytest.raises(ValueError, match="max_distance must be an integer >= 0"):
        dedup.HashIndex(-1)
    with pytest.raises(ValueError, match="max_distance > 0 needs packed binary codes"):
        dedup.HashIndex(2).add(dedup.exact_keys(random_images(2)))
    idx = dedup.HashIndex(0)
    idx.add(np.zeros((2, 16), np.uint8))
    with pytest.raises(ValueError, match="keys have 8 bytes, earlier ones 16"):
        idx.add(np.zeros((2, 8), np.uint8))
    with pytest.raises(ValueError, match="unknown perturbation 'blur'"):
        dedup.plant_duplicates(random_images(3), 1, kinds=("blur",))
    with pytest.raises(ValueError, match="n_sources must be in 1..3"):
        dedup.plant_duplicates(random_images(3), 5)
    with pytest.raises(ValueError, match="labels has 2 entries"):
        dedup.evaluate_groups(np.zeros(2), dedup.plant_duplicates(random_images(3), 1))
    with pytest.raises(ValueError, match="epochs must be > 0"):
        dedup.train_autoencoder(ae, random_images(3), epochs=0)
