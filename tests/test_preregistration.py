"""Pre-registration of the claims (issue 25): every published claim is in the registry under the
protocol it was first published with, and a changed protocol needs an amendment."""
import dataclasses
import importlib.util
import json
from pathlib import Path

import pytest

from dcgan_lib import claims

REPO = Path(__file__).resolve().parent.parent


def _claims_table():
    spec = importlib.util.spec_from_file_location("claims_table", REPO / "ci" / "claims_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _registry():
    return json.loads((REPO / claims.REGISTRY_PATH).read_text())


def test_committed_claims_keep_their_registered_protocol_or_an_amendment():
    assert _claims_table().registry_problems() == []


def test_every_claim_has_a_protocol_and_a_valid_scope():
    for c in claims.CLAIMS:
        assert c.protocol is not None, c.id
        assert all(getattr(c.protocol, f.name).strip()
                   for f in dataclasses.fields(c.protocol)), c.id
        claims.check_scope(c.scope)


def test_fingerprint_covers_protocol_rule_and_baseline_not_wording_of_the_paper():
    c = claims.CLAIMS[2]
    moved = dataclasses.replace(c, protocol=dataclasses.replace(c.protocol, read="after 9 epochs"))
    assert moved.fingerprint != c.fingerprint
    assert dataclasses.replace(c, rule=claims.Threshold(0.8, 0.5)).fingerprint != c.fingerprint
    assert dataclasses.replace(c, baseline="something else").fingerprint != c.fingerprint
    assert dataclasses.replace(c, paper="other words").fingerprint == c.fingerprint
    assert dataclasses.replace(c, scope="stand-in: x").fingerprint == c.fingerprint


def test_a_changed_protocol_without_amendment_is_reported_and_an_amendment_clears_it():
    registry = _registry()
    c = next(x for x in claims.CLAIMS if x.id == "sec4.1-lsun")
    changed = dataclasses.replace(
        c, protocol=dataclasses.replace(c.protocol, read="after 40 epochs"))
    others = [x for x in claims.CLAIMS if x.id != c.id]
    problems = claims.check_registry(registry, {c.id}, others + [changed], claims.AMENDMENTS)
    assert len(problems) == 1 and problems[0].startswith("sec4.1-lsun:")
    assert "no amendment" in problems[0] and changed.fingerprint in problems[0]
    fix = claims.Amendment(c.id, "today", "40 epochs", "why", "0.9 after 4", "reproduced",
                           before=c.fingerprint, after=changed.fingerprint)
    assert claims.check_registry(registry, {c.id}, others + [changed],
                                 claims.AMENDMENTS + [fix]) == []
    # an amendment from another fingerprint does not clear it
    wrong = dataclasses.replace(fix, before="0123456789ab")
    assert claims.check_registry(registry, {c.id}, others + [changed],
                                 claims.AMENDMENTS + [wrong]) != []


def test_a_published_claim_missing_from_the_registry_is_reported():
    registry = _registry()
    del registry["claims"]["sec4-recipe"]
    problems = claims.check_registry(registry, {"sec4-recipe"})
    assert problems and "not registered" in problems[0] and "--register" in problems[0]
    assert claims.check_registry(registry, set()) == []   # unpublished: nothing to keep


def test_a_notebook_run_under_another_protocol_is_reported(monkeypatch):
    ct = _claims_table()
    real = claims.committed_verdicts(REPO / "book")
    cid = "sec4-recipe"
    row, payload, stem = real[cid]
    monkeypatch.setattr(claims, "committed_verdicts",
                        lambda book: {**real, cid: ({**row, "fingerprint": "0123456789ab"},
                                                    payload, stem)})
    problems = ct.registry_problems()
    assert any(p.startswith(cid) and "re-publish" in p for p in problems)
    # excused as awaiting re-publication: not a problem, and the tables do not show that
    # earlier reading as the claim's verdict
    assert not any(p.startswith(cid) for p in ct.registry_problems(excused={stem}))
    table = claims.readme_table(REPO / "book")
    line = next(ln for ln in table.splitlines() if ln.startswith(f"| **{cid}**"))
    assert "**not run here** (awaiting re-publication under the amended protocol; earlier " \
        f"verdict: {row['verdict']})" in line
    # the results page reads the notebooks itself: the row's fingerprint is that of another run
    real_fingerprint = claims.run_fingerprint
    monkeypatch.setattr(claims, "run_fingerprint", lambda r, reg: "0123456789ab"
                        if r["id"] == cid else real_fingerprint(r, reg))
    page = claims.results_page(REPO / "book")
    line = next(ln for ln in page.splitlines() if ln.startswith(f"- **{cid}**"))
    assert "run under an earlier protocol" in line


def test_register_adds_new_claims_and_never_changes_an_entry(tmp_path, monkeypatch):
    ct = _claims_table()
    (tmp_path / "book" / "data").mkdir(parents=True)
    registry = _registry()
    kept = registry["claims"]["sec4.1-lsun"]
    del registry["claims"]["sec4-recipe"]
    (tmp_path / claims.REGISTRY_PATH).write_text(json.dumps(registry))
    found = {"sec4-recipe": ({"this run": "0.95", "verdict": "reproduced"},
                             {"revision": "abcdef1234567"}, "02_training"),
             "sec4.1-lsun": ({"this run": "0.1", "verdict": "not reproduced"},
                             {"revision": "ffff"}, "03_datasets")}
    monkeypatch.setattr(claims, "committed_verdicts", lambda book: found)
    assert ct.register(tmp_path, date="2030-01-01") == ["sec4-recipe"]
    after = json.loads((tmp_path / claims.REGISTRY_PATH).read_text())["claims"]
    assert after["sec4.1-lsun"] == kept                      # the first reading stays
    assert after["sec4-recipe"]["first_reading"] == {"this run": "0.95", "verdict": "reproduced",
                                                     "revision": "abcdef123456"}
    assert after["sec4-recipe"]["fingerprint"] == next(
        c for c in claims.CLAIMS if c.id == "sec4-recipe").fingerprint


def test_the_registry_keeps_first_readings_that_later_amendments_changed():
    entries = _registry()["claims"]
    assert entries["sec4.1-lsun"]["first_reading"]["verdict"] == "partly"
    assert entries["sec3-stability"]["first_reading"]["verdict"] == "not reproduced"
    for a in claims.AMENDMENTS:
        assert a.claim in {c.id for c in claims.CLAIMS}
        assert a.verdict_before in claims.VERDICTS


def test_readme_table_shows_scope_amendments_and_counts_per_scope():
    table = claims.readme_table(REPO / "book")
    assert "| scope |" in table
    assert "implementation check: the library's modules" in table
    lsun = next(line for line in table.splitlines() if line.startswith("| **sec4.1-lsun**"))
    assert "amended 1x; first reading: partly" in lsun
    assert "0.7459" in table                                 # the reading before, in full
    for kind in claims.SCOPES:
        assert f"- {kind}: " in table


@pytest.mark.parametrize("bad", ["", "MNIST", "paper-data: x", None])
def test_scope_must_name_its_kind(bad):
    with pytest.raises(ValueError, match="scope"):
        claims.check_scope(bad)
