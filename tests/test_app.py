"""`python -m audiorole.app`: which runs it finds, what a reply is, and the page driven in headless Chromium.

The log folder is built by ``app_fakes``: mara has a finished run with a tiny decoder and no
semantic adapter (so replies are retrieved from her training lines and spoken by the
decoder), june's decoder export is broken, otis's run is unfinished.
"""

import io
import json
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import soundfile as sf

from app_fakes import EVAL_ITEMS, make_logs, mara_train_lines
from audiorole.app import catalog as runs
from audiorole.app import samples
from audiorole.app.page import Talk
from conftest import ROOT
from eval_fakes import one_torch_thread  # noqa: F401


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    return make_logs(tmp_path_factory.mktemp("app"))


# ---- fast: the catalog, the samples, one-line errors -------------------------------------------

def test_the_catalog_finds_finished_runs_and_says_why_it_skips_the_others(logs, tmp_path):
    found = runs.find(logs)
    assert list(found.characters) == ["mara", "june"] and found.problem() is None  # the newest first
    mara = found.characters["mara"]
    assert mara.decoder.parent.name.endswith("_1") and mara.adapter is None and mara.n_steps == 2
    assert mara.prepared == logs.parent / "prepared"
    assert found.skipped == ["2026-01-01_00-00-02-000000_3: unfinished (no run.json)"]
    assert [p.name for p in found.eval_runs] == ["2026-01-02_00-00-00-000000_1"]
    assert "no such folder" in runs.find(tmp_path / "nowhere").problem()
    assert "run `python train.py` first" in runs.find(tmp_path).problem()


def test_a_newer_run_gives_the_character_its_voice(logs, tmp_path):
    shutil.copytree(logs, tmp_path / "logs")
    newer = tmp_path / "logs" / "train" / "runs" / "2026-03-01_00-00-00-000000_9"
    shutil.copytree(tmp_path / "logs" / "train" / "runs" / "2026-01-01_00-00-01-000000_1", newer)
    assert runs.find(tmp_path / "logs").characters["mara"].decoder == newer / "decoder"
    (newer / "run.json").write_text(json.dumps({"status": "failed", "error": "killed"}))
    found = runs.find(tmp_path / "logs")
    assert found.characters["mara"].decoder.parent.name.endswith("_1")
    assert "2026-03-01_00-00-00-000000_9: status failed: killed" in found.skipped


def test_an_evaluate_run_reads_as_items_with_ground_truth_first(logs):
    [run] = runs.find(logs).eval_runs
    items = samples.load(run)
    assert [i.id for i in items] == list(EVAL_ITEMS)
    first = items[0]
    assert [a.system for a in first.answers] == ["ground_truth", "decoder"] and first.reference == "mara line 0 0"
    assert all(a.audio.is_file() for a in first.answers)
    assert samples.score_line(first.answers[0]) == "AP 0.900, WER 0.100"


def test_bad_input_is_one_line_in_the_page(logs, tmp_path):
    talk = Talk(runs.find(logs))
    audio, text, note, _ = talk.reply("june", "mara: Cast off.", None)
    assert audio is None and text == "" and note.startswith("error: ") and "flow.pt" in note and "\n" not in note
    assert talk.reply("mara", "  ", None)[2].startswith("error: type the scene's previous lines")
    assert talk.reply("nobody", "mara: hi", None)[2].startswith("error: pick a character")
    empty = Talk(runs.find(tmp_path))
    assert empty.describe(None).startswith("error: ") and "python train.py" in empty.describe(None)
    with pytest.raises(Exception, match="not an evaluate.py report"):
        samples.load(tmp_path)


def test_the_app_commands_in_the_readme_and_docs_parse():
    from audiorole.app.__main__ import arguments
    from test_readme_commands import COMMANDS, entry_point

    shown = [entry_point(c)[1] for _, c in COMMANDS if entry_point(c)[0] == "audiorole.app"]
    assert len(shown) >= 3
    for args in shown:
        arguments().parse_args(args)  # an unknown option exits (SystemExit) and fails the test


# ---- slow: a reply, and the page in a browser -------------------------------------------------

@pytest.mark.slow
def test_without_an_adapter_the_reply_is_a_training_line_in_the_characters_voice(logs):
    talk = Talk(runs.find(logs))
    audio, text, note, scene = talk.reply("mara", "otis: mara line 2 3", None)
    assert text in mara_train_lines(logs.parent / "prepared") and note.startswith("retrieved: training reply")
    rate, wave = audio
    assert rate == 22050 and 0.8 < len(wave) / rate < 2.0  # a 1.2 s reply: 15 speech tokens at 12.5 Hz
    assert scene == "otis: mara line 2 3"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chromium():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed (pip install -e .[dev])")
    pytest.importorskip("gradio", reason="gradio not installed (bash scripts/install.sh installs the app extra)")
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not browser or not driver:
        pytest.skip("Chromium or its driver is absent (apt-get install chromium chromium-driver)")
    return webdriver, browser, driver


@pytest.fixture
def app_url(logs):
    """The app as a user starts it, on the fake log folder, until the test ends."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "audiorole.app", "--logs", str(logs), "--port", str(port),
                             "--no-browser"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 600  # a loaded 2-core machine takes minutes to import torch and gradio
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"the app exited: {proc.stdout.read()[-3000:]}")
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("the app did not serve within 600 s")
    yield url
    proc.terminate()
    proc.wait(timeout=30)


@pytest.mark.slow
def test_page_in_headless_chromium_answers_a_scene_with_speech_and_text(app_url, logs):
    webdriver, browser_path, driver_path = _chromium()
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = browser_path
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--mute-audio",
                "--autoplay-policy=no-user-gesture-required"):
        options.add_argument(arg)
    browser = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        browser.get(app_url)
        wait = WebDriverWait(browser, 600)
        wait.until(lambda b: "No semantic-stage adapter" in b.find_element(By.ID, "how").text)
        browser.find_element(By.CSS_SELECTOR, "#scene textarea").send_keys("otis: mara line 2 3")
        browser.find_element(By.ID, "reply").click()
        wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "#reply_text textarea").get_attribute("value"))
        text = browser.find_element(By.CSS_SELECTOR, "#reply_text textarea").get_attribute("value")
        assert text in mara_train_lines(logs.parent / "prepared")
        note = browser.find_element(By.ID, "note").text
        assert note.startswith("retrieved: training reply") and re.search(r"\d\.\d s of speech", note)

        # The reply's audio, fetched as the page's player fetches it: its length is what the note says.
        source = wait.until(lambda b: b.execute_script(
            "const a = document.querySelector('#reply_audio a[download]'); return a && a.href;"))
        with urllib.request.urlopen(source, timeout=30) as response:
            wave, rate = sf.read(io.BytesIO(response.read()), dtype="float32")
        assert rate == 22050 and 0.8 < len(wave) / rate < 2.0
        assert f"{len(wave) / rate:.1f} s of speech" in note

        # A broken export: one line in the page, no traceback.
        browser.find_element(By.CSS_SELECTOR, "#character input").click()
        # The list renders after the click; wait for it rather than read it at once.
        wait.until(lambda b: next((o for o in b.find_elements(By.CSS_SELECTOR, "[role=option]")
                                   if o.text.strip() == "june"), None)).click()
        browser.find_element(By.ID, "reply").click()
        wait.until(lambda b: b.find_element(By.ID, "note").text.startswith("error: "))
        note = browser.find_element(By.ID, "note").text
        assert "flow.pt" in note and "Traceback" not in browser.page_source

        # The samples tab: the ground truth and the decoder side by side, with their scores.
        wait.until(lambda b: next((t for t in b.find_elements(By.CSS_SELECTOR, "[role=tab]")
                                   if "Samples" in t.text), None)).click()
        wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, ".sample audio")) == 2)
        page = browser.find_element(By.TAG_NAME, "body").text
        assert "ground_truth" in page and "decoder" in page and "AP 0.900" in page and "mara line 0 0" in page
    finally:
        browser.quit()


@pytest.mark.slow
def test_with_an_adapter_the_app_says_what_audiorole_reply_says(make_cfg, tmp_path_factory, tmp_path):
    import torch

    from audiorole import reply
    from audiorole.app.catalog import Character
    from audiorole.app.respond import Responder
    from flow_fakes import tiny_flow
    from semantic_build import build, semantic_cfg
    from semantic_fakes import make_prepared as make_semantic

    prepared, series = make_semantic(tmp_path_factory.mktemp("semantic_app"))
    module, _ = build(semantic_cfg(make_cfg, prepared, series))
    with torch.no_grad():  # a trained-looking adapter: nonzero LoRA factors
        for name, p in module.model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.05, generator=torch.Generator().manual_seed(len(name)))
    adapter = module.export(tmp_path / "lm") / "adapter"
    tiny_flow().save(tmp_path / "decoder")
    character = Character(name="ann", decoder=tmp_path / "decoder", adapter=adapter, prepared=prepared, series=series,
                          n_steps=2)
    responder = Responder(character, {"max_new_tokens": 40})
    assert responder.mode == "lm" and "words from the trained LM" in responder.describe()
    answer = responder.reply(reply.parse_context("bob: Well, I suppose."))
    assert reply.main(["--adapter", str(adapter), "--series", str(series), "--character", "ann", "--context",
                       "bob: Well, I suppose.", "--max-new-tokens", "40", "--steps", "2", "--decoder",
                       str(tmp_path / "decoder"), "--out", str(tmp_path / "cli.wav")]) == 0
    assert answer.text == (tmp_path / "cli.txt").read_text().strip() and answer.how == "written by the trained LM"
    wave, rate = sf.read(tmp_path / "cli.wav", dtype="float32")
    assert rate == answer.sample_rate and len(wave) == len(answer.wave)
