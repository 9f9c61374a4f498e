"""Fixtures: the small data set, loaded into each test's fresh database."""

from __future__ import annotations

from pathlib import Path

import pytest

from .feeds import load_feeds, write_feeds


@pytest.fixture(scope="session")
def feeds_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("feeds")
    write_feeds(folder)
    return folder


@pytest.fixture
def loaded_url(database_url: str, feeds_dir: Path) -> str:
    """A fresh database with the small data set loaded."""
    load_feeds(database_url, feeds_dir)
    return database_url
