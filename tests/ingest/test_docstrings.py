import doctest
from types import ModuleType

import pytest

from storemon import store_ids
from storemon.ingest import feeds, parse, timestamps, validate


@pytest.mark.parametrize(
    "module", [feeds, parse, timestamps, validate, store_ids], ids=lambda m: m.__name__
)
def test_docstring_examples_hold(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
