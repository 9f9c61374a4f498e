"""docs/configuration.md lists every setting there is."""

from pathlib import Path

from storemon.settings import Settings

DOC = Path(__file__).parents[2] / "docs" / "configuration.md"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text()
    missing = [n for n in Settings.model_fields if f"`STOREMON_{n.upper()}`" not in text]
    assert not missing, f"document these in docs/configuration.md: {missing}"
