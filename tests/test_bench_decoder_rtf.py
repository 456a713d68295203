"""bench/decoder_rtf.py's side-by-side flow rows: what happens without the authors' code."""

import math
from argparse import Namespace

import pytest

from conftest import bench_script


@pytest.fixture(scope="module")
def bench():
    return bench_script("decoder_rtf")


def test_a_folder_that_is_not_a_checkout_fails_in_one_line(bench, tmp_path):
    (tmp_path / "cosyvoice").mkdir()  # a cosyvoice folder without the flow is not their checkout either
    with pytest.raises(SystemExit) as err:
        bench.authors_flow(tmp_path, {})
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"--authors {tmp_path.resolve()}: not a GLM-4-Voice checkout (no cosyvoice/flow/flow.py)")


def test_without_the_authors_code_each_size_says_why_it_is_missing(bench):
    rows = []
    bench.flow_pair_rows(Namespace(authors=None, configs=["tiny", "glm4voice"]), rows)
    assert [(part, setting, ratio) for part, setting, _, ratio in rows] == [
        ("flow tiny, ours vs authors'", "not run: no --authors", "-"),
        ("flow glm4voice, ours vs authors'", "not run: no --authors", "-")]
    assert all(math.isnan(rtf) for _, _, rtf, _ in rows)
