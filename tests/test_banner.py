"""The site-wide data banner (issue 15): synthetic data say so, a real file is named."""

import shutil

import yaml

from calaim import ROOT
from calaim.book import banner, chapter


def _stage(tmp_path):
    stage = tmp_path / "stage"
    stage.mkdir()
    shutil.copy2(ROOT / "_config.yml", stage / "_config.yml")
    return stage


def test_the_default_data_get_the_synthetic_banner(tmp_path):
    stage = _stage(tmp_path)
    text = banner.stage_banner(stage, chapter.DEFAULT_DATA)
    assert 'data-kind="synthetic"' in text and "Synthetic data" in text
    config = yaml.safe_load((stage / "_config.yml").read_text(encoding="utf-8"))
    assert config["html"]["announcement"] == text
    assert config["title"] == yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["title"]


def test_a_real_file_is_named_and_escaped(tmp_path):
    stage = _stage(tmp_path)
    data = tmp_path / "wave<2024>.csv"
    data.write_text("resp_id\n1\n", encoding="utf-8")
    text = banner.stage_banner(stage, data)
    assert 'data-kind="file"' in text and "<code>wave&lt;2024&gt;.csv</code>" in text
    assert "ynthetic" not in text


def test_no_data_and_no_remote_fetch():
    assert 'data-kind="none"' in banner.banner_html(None, False)
    for args in ((None, False), ("x.csv", False), ("x.csv", True)):
        assert not banner.banner_html(*args).startswith("http")  # the theme would fetch that URL
