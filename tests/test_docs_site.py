"""The documentation: the site builds with no warning, and no link of the README or a docs page is broken.

``mkdocs build`` runs strict (mkdocs.yml): a broken link or anchor between pages, a page
missing from the nav or a nav entry without a page fails it. Links from the README (which
is outside the site) are checked here, anchors included, the way GitHub resolves them.
"""

import os
import re
import subprocess
import sys

import pytest
from markdown.extensions.toc import slugify

from audiorole.utils.conf_reference import main as conf_reference_main
from audiorole.utils.conf_reference import reference
from conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
GENERATED = {ROOT / "docs" / "configuration_reference.md"}  # written at build time by scripts/mkdocs_hooks.py
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def test_the_site_builds_strict(tmp_path):
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "WARNING" not in proc.stderr, proc.stderr[-3000:]
    site = tmp_path / "site"
    page = (site / "configuration_reference.html").read_text(encoding="utf-8")
    assert "data/prep/diarize" in page and "audiorole.prep.diarize.Diarize" in page  # the generated page is in
    players = re.findall(r'<audio[^>]*\ssrc="([^"]+)"', (site / "samples.html").read_text(encoding="utf-8"))
    assert players and all((site / src).is_file() for src in players)  # the demo's clips play on the site


def _anchors(page) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return {slugify(h.strip(), "-") for h in re.findall(r"^#+ (.+)$", text, flags=re.M)}


def _links(page) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    links = LINK.findall(text) + re.findall(r'<(?:audio|source|img)[^>]*\ssrc="([^"]+)"', text)
    return [link for link in links if not re.match(r"[a-z]+:", link)]  # http(s), mailto: not followed offline


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_link_of_a_page_resolves(page):
    broken = []
    for link in _links(page):
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        if path in GENERATED:
            continue
        if not path.exists() or ROOT not in path.parents and path != ROOT:
            broken.append(f"{link} (no such file in the repo)")
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            broken.append(f"{link} (no heading '{anchor}' in {path.relative_to(ROOT)})")
    assert not broken, f"{page.relative_to(ROOT)}: broken links: {broken}"


def test_the_readme_stays_a_front_page():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; move the detail to a docs page"


def test_the_configuration_reference_covers_every_config_file(tmp_path, capsys):
    text = reference()
    conf = ROOT / "conf"
    for path in conf.rglob("*.yaml"):
        group = path.parent.relative_to(conf).as_posix()
        if group != ".":
            assert f"### `{group}`" in text and f"| `{path.stem}` |" in text, path
    assert "| `character.name` |" in text or "`character.name`" in text  # character=custom leaves the name to you
    assert conf_reference_main(["--out", str(tmp_path / "ref.md")]) == 0
    assert (tmp_path / "ref.md").read_text(encoding="utf-8") == text
