"""The claims registry, its verdict rules, the chapters' verdict tables and the README's
claims table generated from the committed notebooks."""
import importlib.util
import json
import math
from pathlib import Path

import pytest

from dcgan_lib import book, claims
from dcgan_lib.claims import AsGoodAs, Beats, Exact, Measure, Threshold

REPO = Path(__file__).resolve().parent.parent


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, REPO / "ci" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ---- the rules: each verdict reached, and the edge cases -------------------------------------

def test_beats_lower_gives_every_verdict():
    rule = Beats("lower")
    base = Measure(20.0, 1.0)
    assert rule(Measure(15.0, 1.0), base)[0] == "reproduced"         # 5 > hypot(1, 1)
    assert rule(Measure(19.0, 1.0), base)[0] == "partly"             # 1 < 1.41
    assert rule(Measure(21.0, 0.1), base)[0] == "not reproduced"     # worse
    assert rule(Measure(20.0, 0.1), base)[0] == "not reproduced"     # equal is not better
    verdict, why = rule(Measure(10.0), base)                          # no spread: at best partly
    assert verdict == "partly" and "no spread" in why


def test_beats_higher_and_limit():
    assert Beats("higher")(Measure(0.8, 0.01), Measure(0.5, 0.01))[0] == "reproduced"
    assert Beats("higher")(Measure(0.4, 0.01), Measure(0.5, 0.01))[0] == "not reproduced"
    # smoother than the memoriser, but its interval passes the 2x-even limit: partly
    rule = Beats("lower", limit=2.0)
    assert rule(Measure(1.5, 0.2), Measure(9.0, 0.0))[0] == "reproduced"
    assert rule(Measure(2.5, 0.2), Measure(9.0, 0.0))[0] == "partly"


def test_as_good_as_bands():
    rule = AsGoodAs("lower", rel_tol=0.25)
    real = Measure(15.5, 0.7)
    assert rule(Measure(15.0, 0.7), real) == ("reproduced",           # better
                                              "better by 0.5, within the combined spread 0.9899")
    assert rule(Measure(16.0, 0.7), real)[1].startswith("worse by 0.5")
    assert rule(Measure(16.2, 0.7), real)[0] == "reproduced"          # worse within hypot
    assert rule(Measure(18.0, 0.7), real)[0] == "partly"              # 2.5 <= 0.99 + 3.875
    assert rule(Measure(23.6, 0.8), real)[0] == "not reproduced"      # the 23.63 vs 15.51
    assert rule(Measure(15.0), real)[0] == "partly"                   # no spread


def test_threshold_and_exact():
    rule = Threshold(0.9, 0.5)
    assert rule(Measure(0.97, 0.02))[0] == "reproduced"
    assert rule(Measure(0.92, 0.05))[0] == "partly"                   # interval reaches 0.87
    assert rule(Measure(0.95))[0] == "partly"                         # no spread
    assert rule(Measure(0.3, 0.01))[0] == "not reproduced"
    low = Threshold(0.01, 0.01, better="lower")
    assert low(Measure(0.002, 0.003))[0] == "reproduced"
    assert low(Measure(0.008, 0.005))[0] == "partly"
    assert low(Measure(0.05, 0.01))[0] == "not reproduced"
    assert Exact(5)(Measure(5, 0.0))[0] == "reproduced"
    assert Exact(5)(Measure(4, 0.0))[0] == "not reproduced"


def test_measure_helpers():
    m = Measure.from_samples([1.0, 2.0, 3.0])
    assert m.value == 2.0 and m.n == 3
    assert math.isclose(m.spread, 4.303 * 1.0 / math.sqrt(3), rel_tol=1e-3)
    assert Measure.from_samples([4.0]).spread is None
    b = Measure.binomial(10, 1000, scale=100)
    assert math.isclose(b.value, 1.0) and math.isclose(b.spread, 100 * 1.96 * math.sqrt(0.01 * 0.99 / 1000))
    assert Measure.binomial(0, 100).spread > 0                        # 0 events still uncertain
    assert Measure.of((3.0, 0.5)) == Measure(3.0, 0.5)
    assert Measure.of({"value": 1, "spread": None, "note": "x"}).note == "x"
    assert Measure(3.0, 0.5).text("%") == "3 ± 0.5%" and "(no spread)" in Measure(3.0).text()


# ---- the registry ----------------------------------------------------------------------------

def test_registry_covers_every_chapter_with_valid_claims():
    chapters = sorted(p.stem for p in (REPO / "book").glob("[0-9][0-9]_*.py"))
    assert chapters and {c.chapter for c in claims.CLAIMS} == set(chapters)
    ids = [c.id for c in claims.CLAIMS]
    assert len(ids) == len(set(ids))
    for c in claims.CLAIMS:
        assert c.rule.text and c.section and c.paper and c.statement and c.baseline, c.id
        if isinstance(c.rule, (Beats, AsGoodAs)):
            assert c.baseline_metric or c.baseline_value, c.id
            assert c.baseline_metric != c.metric, c.id


def test_missing_or_nan_measurement_is_not_run_here_and_typos_are_errors():
    rows = claims.decide("05_classification", {"probe_error": 12.0})
    by_id = {r["id"]: r for r in rows}
    assert by_id["table2-probe"]["verdict"] == "not run here"         # baseline missing
    assert by_id["table1-transfer"]["verdict"] == "not run here"
    assert claims.decide("05_classification", {"probe_error": float("nan"),
                                                "probe_error_pixels": 20.0}
                         )[1]["verdict"] == "not run here"
    with pytest.raises(ValueError, match="not a metric"):
        claims.decide("05_classification", {"probe_eror": 12.0})


# ---- Run.verdicts: the table, its files, the notebook output ---------------------------------

def fake_measurements():
    """One measurement set for chapter 05 reaching three verdicts: reproduced (table2-probe:
    clearly below pixels), partly (table1-transfer: below pixels within the spread), not
    reproduced (table2-vs-supervised: above the supervised CNN)."""
    return {"probe_error": Measure(12.0, 0.3, 10, "Fashion-MNIST, 100/class"),
            "probe_error_pixels": (18.0, 0.4),
            "transfer_error": (17.8, 0.5),
            "probe_error_supervised": (11.0, 0.2)}


def test_run_verdicts_prints_saves_and_logs(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DCGAN_PROFILE", raising=False)
    run = book.setup("05_classification", "cpu", 0, "", str(tmp_path))
    capsys.readouterr()
    rows = run.verdicts(fake_measurements())
    verdicts = {r["id"]: r["verdict"] for r in rows}
    assert verdicts == {"table1-transfer": "partly", "table2-probe": "reproduced",
                        "table2-vs-supervised": "not reproduced"}
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header == ["claim", "paper", "this", "run", "baseline", "verdict"]
    assert "12 ± 0.3% (n=10); Fashion-MNIST, 100/class" in out
    assert "raw pixels: 18 ± 0.4%" in out and "22.48%" in out
    assert "Verdicts 05_classification" in out and run.caption in out
    saved = json.loads((run.out / "verdicts.json").read_text())
    assert saved["chapter"] == "05_classification" and saved["profile"] == "cpu"
    assert [r["verdict"] for r in saved["rows"]] == [r["verdict"] for r in rows]
    csv_head = (run.out / "verdicts.csv").read_text().splitlines()[0].split(",")
    assert csv_head[:6] == ["id", "claim", "paper", "this run", "baseline", "verdict"]
    metrics = json.loads((run.out / "metrics.json").read_text())
    assert metrics["probe_error"] == 12.0 and metrics["probe_error 95% spread"] == 0.3


def test_every_chapter_can_reach_every_rule_outcome():
    """A fake measurement for every claim: better by far -> reproduced for each one."""
    for c in claims.CLAIMS:
        rule = c.rule
        if isinstance(rule, Exact):
            m = {c.metric: Measure(rule.expected, 0.0)}
        elif isinstance(rule, Threshold):
            v = rule.reproduced_at + (0.05 if rule.better == "higher" else -0.005)
            m = {c.metric: Measure(v, 0.001)}
        else:
            b = c.baseline_value.value if c.baseline_value else 10.0
            good = b - 0.005 if rule.better == "lower" else b + 5
            if getattr(rule, "limit", None) is not None:     # within the limit too
                good = rule.limit - 0.1 if rule.better == "lower" else rule.limit + 0.05
            if not c.metric.endswith("_paired_diff"):       # a difference may be negative
                good = max(good, 0.0)
            m = {c.metric: Measure(good, 0.0001)}
            if c.baseline_metric:
                if rule.better == "higher":
                    b = min(b, good - 0.5)  # a measured baseline below a limit of its own
                m[c.baseline_metric] = Measure(b, 0.0001)
            if c.paired_metric:                              # the same gain, paired
                m[c.paired_metric] = Measure(good - b, 0.0001)
        row = c.decide(m)
        assert row["verdict"] == "reproduced", (c.id, row["why"])


# ---- the README's claims table ---------------------------------------------------------------

def fake_notebook(payloads):
    cells = [{"cell_type": "code", "source": "run.verdicts(...)", "metadata": {},
              "execution_count": 1, "outputs": [book.verdicts_output(p) for p in payloads]}]
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def payload_for(chapter, measured, revision="abc1234"):
    return {"format": book.VERDICTS_FORMAT, "chapter": chapter, "profile": "cpu", "scale": "",
            "seed": 0, "revision": revision, "rows": claims.decide(chapter, measured)}


def test_readme_table_reads_verdicts_from_notebook_outputs(tmp_path):
    bookdir = tmp_path / "book"
    bookdir.mkdir()
    nb = fake_notebook([payload_for("05_classification", fake_measurements())])
    (bookdir / "05_classification.ipynb").write_text(json.dumps(nb))
    (bookdir / "02_training.ipynb").write_text(json.dumps(fake_notebook([])))
    found = claims.committed_verdicts(bookdir)
    assert {k: v[0]["verdict"] for k, v in found.items()} == {
        "table1-transfer": "partly", "table2-probe": "reproduced",
        "table2-vs-supervised": "not reproduced"}
    table = claims.readme_table(bookdir)
    lines = {ln.split("**")[1]: ln for ln in table.splitlines() if ln.startswith("| **")}
    assert set(lines) == {c.id for c in claims.CLAIMS}
    assert "**reproduced**" in lines["table2-probe"] and "`cpu` @ `abc1234`" in lines["table2-probe"]
    assert "12 ± 0.3%" in lines["table2-probe"]
    assert "**not run here**" in lines["sec4-recipe"] and "no verdict table" in lines["sec4-recipe"]
    n_impl = sum(c.scope.startswith("implementation check") for c in claims.CLAIMS)
    n_paper = sum(c.scope.startswith("paper data") for c in claims.CLAIMS)
    n_stand = len(claims.CLAIMS) - n_impl - n_paper
    assert n_paper and n_stand > 3  # chapter 10's claims are on MNIST itself
    assert f"- stand-in: {n_stand} (1 reproduced, 1 partly, 1 not " \
        f"reproduced, {n_stand - 3} not run here)" in table
    assert f"- implementation check: {n_impl} ({n_impl} not run here)" in table
    assert f"- paper data: {n_paper} ({n_paper} not run here)" in table
    readme = "intro\n<!-- claims-table:start -->\nold\n<!-- claims-table:end -->\nafter\n"
    new = claims.replace_readme_section(readme, table)
    assert new.startswith("intro\n" + claims.README_START) and new.endswith("-->\nafter\n")
    assert claims.replace_readme_section(new, table) == new


def test_readme_table_rejects_conflicts_and_unknown_claims(tmp_path):
    bookdir = tmp_path / "book"
    bookdir.mkdir()
    p1 = payload_for("05_classification", fake_measurements())
    p2 = payload_for("05_classification", {**fake_measurements(), "probe_error": (30.0, 0.1)})
    (bookdir / "05_classification.ipynb").write_text(json.dumps(fake_notebook([p1, p2])))
    with pytest.raises(ValueError, match="verdicts"):
        claims.committed_verdicts(bookdir)
    p1["rows"][0]["id"] = "no-such-claim"
    (bookdir / "05_classification.ipynb").write_text(json.dumps(fake_notebook([p1])))
    with pytest.raises(ValueError, match="not in"):
        claims.committed_verdicts(bookdir)


def test_a_measured_verdict_wins_over_not_run_here(tmp_path):
    """Chapter 03 runs once per set-up: the lsun run cannot measure the faces claim."""
    bookdir = tmp_path / "book"
    bookdir.mkdir()
    lsun = payload_for("03_datasets", {"lsun_fd_gap_closed": (0.95, 0.01)})
    faces = payload_for("03_datasets", {"faces_fd_gap_closed": (0.3, 0.05)})
    (bookdir / "03_datasets.ipynb").write_text(json.dumps(fake_notebook([lsun, faces])))
    found = claims.committed_verdicts(bookdir)
    assert found["sec4.1-lsun"][0]["verdict"] == "reproduced"
    assert found["sec4.2-faces"][0]["verdict"] == "not reproduced"


def test_readme_claims_table_matches_the_committed_notebooks():
    """The README's section is exactly what ci/claims_table.py makes of book/*.ipynb."""
    script = load_script("claims_table")
    readme = (REPO / "README.md").read_text()
    assert claims.README_START in readme and claims.README_END in readme
    assert script.expected_readme(REPO) == readme, \
        "README.md's claims table is out of date: run python ci/claims_table.py"


def test_nan_spread_counts_as_no_spread_and_payload_is_json():
    import numpy as np
    m = Measure(np.float64(12.0), float("nan"), np.int64(10))
    assert m.spread is None and type(m.value) is float and type(m.n) is int
    assert Beats("lower")(m, Measure(20.0, 0.1))[0] == "partly"
    rows = claims.decide("05_classification", {"probe_error": m, "probe_error_pixels": 20.0})
    json.dumps(rows, allow_nan=False)


def test_direction_claim_needs_more_than_chance():
    """Against measured random directions (issue 25: no assumed chance rate), and 'reliably'
    needs 0.9; a random direction that happens to move the attribute lifts the baseline."""
    c = next(c for c in claims.CLAIMS if c.id == "fig8-direction")
    rand = {"direction_moved_random": (0.5, 0.04)}
    assert c.decide({"direction_moved": (0.95, 0.03), **rand})["verdict"] == "reproduced"
    assert c.decide({"direction_moved": (0.75, 0.05), **rand})["verdict"] == "partly"
    assert c.decide({"direction_moved": (0.5, 0.05), **rand})["verdict"] == "not reproduced"
    assert c.decide({"direction_moved": (0.95, 0.03),
                     "direction_moved_random": (0.93, 0.04)})["verdict"] == "partly"
    assert c.decide({"direction_moved": (0.95, 0.03)})["verdict"] == "not run here"  # none assumed
    kept = next(c for c in claims.CLAIMS if c.id == "fig8-kept")
    assert kept.decide({"direction_class_kept": (0.62, 0.05)})["verdict"] == "partly"
    assert kept.decide({"direction_class_kept": (0.97, 0.02)})["verdict"] == "reproduced"
    assert kept.decide({"direction_class_kept": (0.3, 0.05)})["verdict"] == "not reproduced"


def test_structural_measurements_of_chapter_01():
    import torch.nn as nn
    from dcgan_lib.models import Discriminator, Generator
    G = Generator(64, nz=100, ngf=128, nc=3, variant="paper")
    assert claims.figure1_layers_match(G) == 5
    assert claims.figure1_layers_match(Generator(64, nz=100, ngf=64, nc=3)) == 1   # only 64x64x3
    for variant in ("paper", "torch"):
        g = claims.architecture_guidelines(Generator(64, 100, 64, 3, variant),
                                           Discriminator(64, 64, 3, variant))
        assert len(g) == 5 and all(g.values()), (variant, g)
    D = Discriminator(64, 64, 3, "paper")
    D.blocks[1].append(nn.MaxPool2d(1))                        # break two guidelines
    D.blocks[0].append(nn.BatchNorm2d(64))
    g = claims.architecture_guidelines(G, D)
    assert not g["strided convolutions, no pooling"]
    assert not g["batch-norm, but not on G's output or D's input"]
    assert sum(g.values()) == 3


def test_scope_default_override_and_refusals():
    rows = claims.decide("01_architecture", {"figure1_layers_match": 5, "guidelines_met": 5})
    assert all(r["scope"].startswith("implementation check") for r in rows)
    rows = claims.decide("10_conditional", {}, scope="paper data: MNIST")
    assert {r["scope"] for r in rows} == {"paper data: MNIST"}
    with pytest.raises(ValueError, match="scope"):
        claims.decide("10_conditional", {}, scope="MNIST")
    with pytest.raises(ValueError, match="not of chapter"):
        claims.decide("10_conditional", {}, scope={"fig1-generator": "stand-in"})


# ---- McNemar's paired test (chapter 10's table 3 rows, scored on the same test digits) ----------
def test_mcnemar_matches_the_exact_binomial_test():
    from scipy.stats import binomtest
    a = [True] * 30 + [False] * 12 + [True] * 5 + [False] * 53   # b=30, c=12, 5 both wrong
    b = [False] * 30 + [True] * 12 + [True] * 5 + [False] * 53
    r = claims.mcnemar(a, b)
    assert (r.b, r.c, r.n) == (30, 12, 100)
    assert r.p == pytest.approx(binomtest(30, 42, 0.5).pvalue, rel=1e-9)
    assert r.difference == pytest.approx(0.18)
    less = claims.mcnemar(b, a, alternative="less")      # b errs less than a
    assert less.p == pytest.approx(binomtest(12, 42, 0.5, alternative="less").pvalue, rel=1e-9)
    assert claims.mcnemar(b, a, alternative="greater").p == pytest.approx(
        binomtest(12, 42, 0.5, alternative="greater").pvalue, rel=1e-9)
    assert claims.mcnemar([True, False], [True, False]).p == 1.0      # no discordant item
    assert "McNemar exact, two-sided" in r.text("DCGAN", "GAN") and "level 0.05" in r.text()
    with pytest.raises(ValueError, match="same test items"):
        claims.mcnemar([True], [True, False])
    with pytest.raises(ValueError, match="alternative"):
        claims.mcnemar([True], [False], alternative="bigger")


def test_mcnemar_detects_a_planted_difference_and_not_a_null_one():
    """Positive control: classifier B errs on 2.0% of 10,000 items, A on 3.0% (the gap between
    table 3's real-data and 10M-sample rows); the test must reject. Negative control: two
    classifiers of the same 3% error rate, errors drawn independently; over 200 such pairs the
    test must reject at about its level (5%), not more."""
    import torch
    g = torch.Generator().manual_seed(0)
    n = 10_000
    wrong_b = torch.rand(n, generator=g) < 0.02
    wrong_a = wrong_b | (torch.rand(n, generator=g) < 0.0102)
    r = claims.mcnemar(wrong_a, wrong_b)
    assert r.reject and r.p < 1e-6 and r.b > r.c
    assert claims.mcnemar(wrong_a, wrong_b, alternative="greater").reject
    assert not claims.mcnemar(wrong_a, wrong_b, alternative="less").reject
    rejections = 0
    for _ in range(200):
        x, y = torch.rand(n, generator=g) < 0.03, torch.rand(n, generator=g) < 0.03
        rejections += claims.mcnemar(x, y).reject
    assert rejections <= 20, rejections          # 5% expected; exact test is conservative


def test_a_paired_metric_decides_on_the_differences_and_the_limit_on_the_share():
    c = next(c for c in claims.CLAIMS if c.id == "sec6.3.1-unreadable")
    assert c.paired_metric in claims.metric_names(c.chapter)
    share, ctrl = Measure(0.40, 0.03), Measure(0.46, 0.03)
    # the paired differences decide: tight -> reproduced, loose -> partly, whatever the
    # unpaired comparison of the two shares says (here reproduced)
    assert Beats("lower")(share, ctrl)[0] == "reproduced"
    tight = {c.metric: share, c.baseline_metric: ctrl,
             c.paired_metric: Measure(-0.06, 0.01)}
    assert c.decide(tight)["verdict"] == "reproduced"
    loose = {**tight, c.paired_metric: Measure(-0.06, 0.08)}
    assert c.decide(loose)["verdict"] == "partly"
    assert "paired" in c.decide(loose)["why"]
    above = {c.metric: Measure(0.66, 0.03), c.baseline_metric: Measure(0.74, 0.03),
             c.paired_metric: Measure(-0.08, 0.02)}
    row = c.decide(above)                     # lower beyond the spread, but not at most 0.5
    assert row["verdict"] == "partly" and "limit 0.5" in row["why"]
    assert c.decide({c.metric: share, c.baseline_metric: ctrl})["verdict"] == "not run here"
    assert c.decide({})["verdict"] == "not run here"      # no classifier (full): not run here
    worse = {**tight, c.paired_metric: Measure(0.02, 0.01)}
    assert c.decide(worse)["verdict"] == "not reproduced"
