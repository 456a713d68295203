"""The blind listening test: agreement maths, a blinded page, unblinding, and the page driven in headless Chromium."""

import json
import math
import re
import shutil

import numpy as np
import pytest
import soundfile as sf

from audiorole.benchmark.__main__ import main as benchmark_main
from audiorole.listening_test.agreement import krippendorff_alpha
from audiorole.listening_test.collect import collect
from audiorole.listening_test.make import make_test
from eval_fakes import DEMO_SERIES, make_prepared, one_torch_thread  # noqa: F401

SYSTEMS = ("sys_alpha_secret", "sys_beta_secret")
CLIP = re.compile(r"^a/[0-9a-f]{16}\.wav$")


# ---- agreement --------------------------------------------------------------------------

def test_krippendorff_alpha_matches_the_textbook_example():
    """Krippendorff (2011), 'Computing Krippendorff's Alpha-Reliability', section C: 4 observers, 12 units,
    missing values: nominal 0.743, ordinal 0.815, interval 0.849."""
    n = None
    a = [1, 2, 3, 3, 2, 1, 4, 1, 2, n, n, n]
    b = [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, n, 3]
    c = [n, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, n]
    d = [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, n]
    units = list(zip(a, b, c, d))
    assert round(krippendorff_alpha(units, "nominal"), 3) == 0.743
    assert round(krippendorff_alpha(units, "ordinal"), 3) == 0.815
    assert round(krippendorff_alpha(units, "interval"), 3) == 0.849
    assert krippendorff_alpha([(1, 1), (2, 2), (5, 5)], "interval") == 1.0
    assert math.isnan(krippendorff_alpha([(1, n), (n, 2)]))  # nothing rated twice


# ---- make -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    prepared = make_prepared(tmp_path_factory.mktemp("prepared"), context=True)
    out = tmp_path_factory.mktemp("bench") / "demo"
    assert benchmark_main(["export", "--prepared", str(prepared), "--series", str(DEMO_SERIES), "--out", str(out)]) == 0
    quieter = out.parent / "beta"  # a second system: the reference replies, quieter and a tone added
    quieter.mkdir()
    for wav in (out / "reference").glob("*.wav"):
        wave, sr = sf.read(wav, dtype="float32")
        t = np.arange(len(wave)) / sr
        sf.write(quieter / wav.name, 0.3 * wave + 0.05 * np.sin(2 * np.pi * 440 * t), sr)
    return out


@pytest.fixture(scope="module")
def test_dir(bench, tmp_path_factory):
    out = tmp_path_factory.mktemp("listening")
    make_test(bench, {SYSTEMS[0]: bench / "reference", SYSTEMS[1]: bench.parent / "beta"}, out, show_text=True)
    return out


def page_data(test_dir) -> dict:
    text = (test_dir / "page" / "trials.js").read_text()
    return json.loads(text.removeprefix("window.LISTENING_TEST = ").rstrip().rstrip(";"))


def test_page_is_blind(test_dir, bench):
    data, key = page_data(test_dir), json.loads((test_dir / "key.json").read_text())
    items = [json.loads(line) for line in (bench / "items.jsonl").read_text().splitlines()]
    kinds = [t["kind"] for t in data["trials"]]
    assert kinds.count("naturalness") == kinds.count("character") == 2 * len(items)
    assert kinds.count("voice") == len(items)  # one pair per item; every character has a second item here
    assert set(key["trials"]) == {t["id"] for t in data["trials"]}
    page_text = "".join((test_dir / "page" / f).read_text() for f in ("index.html", "app.js", "style.css", "trials.js"))
    for secret in [*SYSTEMS, "beta", str(bench), "reference/", ".txt", *(i["id"] for i in items)]:
        assert secret not in page_text, secret
    urls = [t[k] for t in data["trials"] for k in ("clip", "reference", "a", "b") if k in t]
    assert urls and all(CLIP.match(u) for u in urls)
    assert sorted(p.name for p in (test_dir / "page" / "a").iterdir()) == sorted({u[2:] for u in urls})
    sides = [(key["trials"][t["id"]]["a"], key["trials"][t["id"]]["b"]) for t in data["trials"] if t["kind"] == "voice"]
    assert {s[0] for s in sides} == set(SYSTEMS)  # A/B sides drawn at random, not by name
    import pyloudnorm

    loud = [pyloudnorm.Meter(16000).integrated_loudness(sf.read(test_dir / "page" / u, dtype="float32")[0])
            for u in urls]
    assert np.allclose(loud, -23.0, atol=0.5)  # the quieter system is not heard as quieter
    info = sf.info(str(test_dir / "page" / urls[0]))
    assert info.channels == 1 and info.subtype == "PCM_16"
    folders = {SYSTEMS[0]: bench / "reference", SYSTEMS[1]: bench.parent / "beta"}
    for trial in (t for t in data["trials"] if t["kind"] == "naturalness"):  # each clip is the system the key names
        truth = key["trials"][trial["id"]]
        heard = sf.read(test_dir / "page" / trial["clip"], dtype="float32")[0]
        corr = {s: np.corrcoef(heard, sf.read(f / f"{truth['item']}.wav", dtype="float32")[0])[0, 1]
                for s, f in folders.items()}
        assert corr[truth["system"]] > 0.999 and min(corr.values()) < 0.99


def test_make_refuses_what_it_cannot_do(bench, tmp_path):
    from audiorole.errors import AudioroleError

    with pytest.raises(AudioroleError, match="two or more --system"):
        make_test(bench, {"one": bench / "reference"}, tmp_path)
    (tmp_path / "page").mkdir()
    (tmp_path / "page" / "mine.txt").write_text("keep me")
    with pytest.raises(AudioroleError, match="not a listening-test page"):
        make_test(bench, {"x": bench / "reference", "y": bench.parent / "beta"}, tmp_path)


# ---- collect ----------------------------------------------------------------------------

def answers_for(key: dict, rater: str, rule) -> dict:
    return {"test": key["test"], "rater": rater,
            "answers": {tid: {"value": rule(t), "ms": 1000} for tid, t in key["trials"].items()}}


def prefers_alpha(trial):
    if trial["kind"] == "voice":
        return "A" if trial["a"] == SYSTEMS[0] else "B"
    return 5 if trial["system"] == SYSTEMS[0] else 2


def test_collect_unblinds_rates_scores_agreement_and_judge_correlation(test_dir, tmp_path):
    key = json.loads((test_dir / "key.json").read_text())
    files = []
    for k, rater in enumerate(("ana", "bo")):
        files.append(tmp_path / f"{rater}.json")
        files[-1].write_text(json.dumps(answers_for(key, rater, prefers_alpha)))
    (tmp_path / "broken.json").write_text("{not json")
    other = dict(answers_for(key, "cy", prefers_alpha), test="another")
    (tmp_path / "other.json").write_text(json.dumps(other))
    judge_rows = {s: [] for s in SYSTEMS}
    items = sorted({t["item"] for t in key["trials"].values()})
    for k, item in enumerate(items):  # the evaluator agrees with people on AQ, disagrees on CP
        judge_rows[SYSTEMS[0]].append({"id": item, "aq": 4.0 + 0.01 * k, "cp": 0.1, "ap": 0.9})
        judge_rows[SYSTEMS[1]].append({"id": item, "aq": 2.0 + 0.01 * k, "cp": 0.9, "ap": 0.2})
    run = tmp_path / "run"
    run.mkdir()
    (run / "eval.json").write_text(json.dumps({"systems": [{"name": s, "per_item": r} for s, r in judge_rows.items()]}))

    result, errors = collect([*files, tmp_path / "broken.json", tmp_path / "other.json"], test_dir / "key.json",
                             run, wandb_log=False)
    assert len(errors) == 2 and errors[0].startswith(f"{tmp_path / 'broken.json'}: not an answer file")
    assert errors[1].startswith(f"{tmp_path / 'other.json'}: answers test 'another'")
    assert result["raters"] == ["ana", "bo"] and result["answers"] == 2 * len(key["trials"])
    [pair] = result["voice"]["pairs"].values()
    assert pair["preferred"] == SYSTEMS[0] and pair["mean"] == 1.0 and pair["items"] == len(items)
    assert result["naturalness"][SYSTEMS[0]]["mean"] == 5.0 and result["character"][SYSTEMS[1]]["mean"] == 2.0
    assert result["agreement"]["naturalness"]["alpha"] == 1.0 and result["agreement"]["voice"]["alpha"] == 1.0
    corr = result["judge_correlation"]
    assert corr["naturalness"]["rho"] > 0.8 and corr["character"]["rho"] < -0.8 and corr["voice"]["rho"] > 0.8
    assert (run / "listening.md").is_file() and (run / "listening.json").is_file()
    assert "Krippendorff" in (run / "listening.md").read_text()


def test_intervals_shrink_with_items_and_disagreement_lowers_alpha(test_dir, tmp_path):
    key = json.loads((test_dir / "key.json").read_text())
    rng = np.random.default_rng(0)
    files = []
    for rater in ("ana", "bo", "cy"):
        files.append(tmp_path / f"{rater}.json")
        files[-1].write_text(json.dumps(answers_for(key, rater, lambda t: (["A", "B"][rng.integers(2)] if t["kind"] == "voice"
                                                                           else int(rng.integers(1, 6))))))
    result, _ = collect(files, test_dir / "key.json", out_dir=tmp_path, wandb_log=False)
    assert abs(result["agreement"]["naturalness"]["alpha"]) < 0.3  # random raters barely agree
    block = result["naturalness"][SYSTEMS[0]]
    assert block["low"] < block["mean"] < block["high"] and block["ratings"] == 3 * block["items"]


# ---- the page in a real browser ---------------------------------------------------------

def chromium():
    """A headless Chromium WebDriver, or a skip saying what is missing."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed (pip install -e .[dev])")
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not browser or not driver:
        pytest.skip("Chromium or its driver is absent (apt-get install chromium chromium-driver)")
    return webdriver, browser, driver


@pytest.mark.slow
def test_page_driven_in_headless_chromium_unblinds_to_the_answers_given(test_dir, tmp_path, monkeypatch):
    import functools
    import http.server
    import threading
    import time

    webdriver, browser, driver_path = chromium()
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--mute-audio",
                "--autoplay-policy=no-user-gesture-required", "--window-size=1100,900"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    key = json.loads((test_dir / "key.json").read_text())
    rng = np.random.default_rng(1)
    wanted = {tid: (["A", "B"][rng.integers(2)] if t["kind"] == "voice" else int(rng.integers(1, 6)))
              for tid, t in key["trials"].items()}
    browser = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        browser.get((test_dir / "page" / "index.html").as_uri())
        browser.find_element(By.ID, "rater").send_keys("ana")
        browser.find_element(By.ID, "begin").click()
        body = browser.find_element(By.TAG_NAME, "body")
        store = f"arp-listening-test:{key['test']}"
        order = browser.execute_script(f"return JSON.parse(localStorage.getItem('{store}')).order")
        assert sorted(order) == sorted(wanted) and order != sorted(wanted)  # this rater's own shuffled order
        for n in range(len(wanted)):
            state = browser.execute_script(f"return JSON.parse(localStorage.getItem('{store}'))")
            tid = state["order"][state["pos"]]
            assert f"Trial {n + 1} of {len(wanted)}" in browser.find_element(By.ID, "progress-text").text
            answers = browser.find_elements(By.CLASS_NAME, "answer")
            assert all(not b.is_enabled() for b in answers)  # nothing to answer before the clips are played
            for clip in browser.find_elements(By.CLASS_NAME, "clip"):
                body.send_keys(clip.text.split("key ")[1][0].lower())
            value = wanted[tid]
            body.send_keys({"A": "1", "B": "2"}.get(value, str(value)))
            body.send_keys("\ue007")  # Enter: next
        assert browser.find_element(By.ID, "done").is_displayed()
        browser.find_element(By.ID, "save-end").click()
        deadline = time.monotonic() + 10
        while not list(downloads.glob("listening-*.json")) and time.monotonic() < deadline:
            time.sleep(0.1)
        [saved] = list(downloads.glob("listening-*.json"))

        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(test_dir / "page"))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:  # the same page served over HTTP: trials load, a clip URL resolves
            browser.get(f"http://127.0.0.1:{server.server_address[1]}/index.html")
            assert browser.execute_script("return window.LISTENING_TEST.trials.length") == len(wanted)
            clip = page_data(test_dir)["trials"][0].get("clip") or page_data(test_dir)["trials"][0]["a"]
            assert browser.execute_script(f"return fetch('{clip}').then(r => r.status)") == 200
        finally:
            server.shutdown()
    finally:
        browser.quit()

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    result, errors = collect([saved], test_dir / "key.json", out_dir=tmp_path / "out")
    assert errors == []
    records = json.loads((tmp_path / "out" / "listening.json").read_text())["records"]
    assert {r["trial"]: r["value"] for r in records} == wanted
    assert {r["trial"]: r.get("system") or (r["a"], r["b"]) for r in records} == \
        {tid: t.get("system") or (t["a"], t["b"]) for tid, t in key["trials"].items()}
    assert result["wandb_dir"] and (tmp_path / "out" / "wandb").is_dir()
