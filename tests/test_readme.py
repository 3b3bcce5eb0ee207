"""The README documents every setting and the two commands that set everything up."""

from __future__ import annotations

from pathlib import Path

from tusd_py.settings import ENV_PREFIX, settings_fields

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_the_readme_lists_every_setting_with_its_flag_and_variable() -> None:
    for f in settings_fields():
        assert f"`--{f.name.replace('_', '-')}`" in README
        assert f"`{ENV_PREFIX}{f.name.upper()}`" in README


def test_the_readme_shows_how_to_run_and_test() -> None:
    assert "make run" in README and "make test" in README
