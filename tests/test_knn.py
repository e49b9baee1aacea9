"""The nearest-neighbour metric of table 3 (appendix A.1)."""
import pytest
import torch
from sklearn.neighbors import KNeighborsClassifier

from dcgan_lib.knn import StreamingNN, chunks, nn_errors


def data(n, m, d=20, ny=4, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    centres = 3 * torch.randn(ny, d, generator=g, dtype=dtype)
    y = torch.randint(0, ny, (n,), generator=g)
    x = centres[y] + torch.randn(n, d, generator=g, dtype=dtype) * 2
    qy = torch.randint(0, ny, (m,), generator=g)
    q = centres[qy] + torch.randn(m, d, generator=g, dtype=dtype) * 2
    return x, y, q, qy


@pytest.mark.parametrize("block,chunk", [(7, 5), (64, 1000), (1000, 33)])
def test_streaming_1nn_equals_sklearn(block, chunk):
    x, y, q, _ = data(500, 300)
    ref = KNeighborsClassifier(1).fit(x.numpy(), y.numpy())
    knn = StreamingNN(q, block=block, dtype=torch.float64)
    for xc, yc in chunks(x, y, chunk):
        knn.partial_fit(xc, yc)
    assert knn.n_seen == 500
    assert knn.predict().tolist() == ref.predict(q.numpy()).tolist()
    dist, _ = ref.kneighbors(q.numpy(), 1)
    assert torch.allclose(knn.distances(), torch.as_tensor(dist[:, 0]), atol=1e-8)


def test_float32_images_match_sklearn():
    # image-like data in [-1, 1], 784 pixels, as in the book
    g = torch.Generator().manual_seed(1)
    x = torch.rand(2000, 1, 28, 28, generator=g) * 2 - 1
    y = torch.randint(0, 10, (2000,), generator=g)
    q = torch.rand(400, 1, 28, 28, generator=g) * 2 - 1
    knn = StreamingNN(q, block=256).partial_fit(x, y)
    ref = KNeighborsClassifier(1).fit(x.flatten(1).numpy(), y.numpy())
    assert (knn.predict().numpy() == ref.predict(q.flatten(1).numpy())).mean() == 1.0


def test_known_answer():
    # queries that are copies of reference points are classified as those points
    x, y, _, _ = data(200, 1)
    pick = torch.tensor([3, 50, 199, 0])
    knn = StreamingNN(x[pick] + 1e-6, dtype=torch.float64)
    knn.partial_fit(x[:100], y[:100]).partial_fit(x[100:], y[100:])
    assert torch.equal(knn.predict(), y[pick])
    assert knn.distances().max() < 1e-4
    # two points on a line: the boundary is half way
    ref_x = torch.tensor([[0.0], [10.0]])
    knn = StreamingNN(torch.tensor([[4.9], [5.1], [-3.0], [30.0]])).partial_fit(ref_x, torch.tensor([7, 2]))
    assert knn.predict().tolist() == [7, 2, 7, 2]
    assert torch.allclose(knn.distances(), torch.tensor([4.9, 4.9, 3.0, 20.0]))


def test_nn_errors_streaming_equals_one_shot_and_prefixes():
    x, y, q, qy = data(900, 250, seed=2)
    q2, qy2 = q[:100] + 0.5, qy[:100]
    sets = {"val": (q, qy), "test": (q2, qy2)}
    one = nn_errors([(x, y)], sets, at=[100, 450, 900], dtype=torch.float64, log=None)
    many = nn_errors(chunks(x, y, 37), sets, at=[100, 450, 900], dtype=torch.float64, log=None)
    for a, b in zip(one, many):
        assert (a["N"], a["val"], a["test"]) == (b["N"], b["val"], b["test"])
    assert [r["N"] for r in one] == [100, 450, 900]
    # every prefix equals a classifier fitted on that prefix only, for each query set
    for row in one:
        n = row["N"]
        ref = KNeighborsClassifier(1).fit(x[:n].numpy(), y[:n].numpy())
        for name, (qq, ll) in sets.items():
            err = (ref.predict(qq.numpy()) != ll.numpy()).mean()
            assert row[name] == pytest.approx(err)
    # at=None: the whole stream
    (whole,) = nn_errors(chunks(x, y, 100), sets, dtype=torch.float64, log=None)
    assert whole["N"] == 900 and whole["val"] == one[-1]["val"]


def test_stream_is_consumed_only_as_far_as_needed():
    x, y, q, qy = data(1000, 50)
    pulled = []

    def stream():
        for xc, yc in chunks(x, y, 100):
            pulled.append(len(xc))
            yield xc, yc

    nn_errors(stream(), {"q": (q, qy)}, at=[250], log=None)
    assert sum(pulled) == 300


def test_speed_is_logged():
    x, y, q, qy = data(300, 20)
    lines = []
    rows = nn_errors(chunks(x, y, 64), {"test": (q, qy)}, at=[300], log=lines.append)
    assert rows[0]["samples_per_s"] > 0 and "samples/s" in lines[0] and "300" in lines[0]


def test_errors_name_the_problem():
    x, y, q, qy = data(100, 10)
    with pytest.raises(ValueError, match="ended after 100 samples, before N=200"):
        nn_errors(chunks(x, y, 30), {"q": (q, qy)}, at=[50, 200], log=None)
    with pytest.raises(ValueError, match="values each but the queries have 20"):
        StreamingNN(q).partial_fit(torch.zeros(3, 21), torch.zeros(3))
    with pytest.raises(RuntimeError, match="partial_fit"):
        StreamingNN(q).predict()
    with pytest.raises(ValueError, match="positive"):
        nn_errors(chunks(x, y), {"q": (q, qy)}, at=[0], log=None)


def test_reused_distance_buffer_gives_brute_force_answers_for_any_chunk_sizes():
    """StreamingNN keeps one distance buffer between calls: chunks smaller and larger than
    the first, and than the block, still give brute force's nearest neighbours."""
    from dcgan_lib.knn import StreamingNN
    g = torch.Generator().manual_seed(1)
    q, x = torch.randn(13, 5, generator=g), torch.randn(40, 5, generator=g)
    y = torch.arange(40)
    knn = StreamingNN(q, block=8)
    start = 0
    for size in (3, 10, 1, 7, 19):
        knn.partial_fit(x[start:start + size], y[start:start + size])
        start += size
        want = torch.cdist(q, x[:start]).argmin(1)
        assert knn.predict().tolist() == want.tolist()


def test_log_grid_spans_lo_to_hi_evenly_in_log_n():
    from dcgan_lib.knn import log_grid
    assert log_grid(50_000, 10_000_000, 2) == [50_000, 158_114, 500_000, 1_581_139, 5_000_000,
                                                10_000_000]
    assert log_grid(1_000, 100_000, 1) == [1_000, 10_000, 100_000]
    assert log_grid(7, 7) == [7]
    with pytest.raises(ValueError):
        log_grid(0, 10)
