"""Every example test runs against the engine and against the slow reference:
the hand-computed numbers pin both, so the reference earns its place as the
oracle of the property tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from storemon.engine.model import Report

from .reference import reference_report, reference_rounded_columns

ComputeReport = Callable[..., Report]
RoundedColumns = Callable[[Report], dict]


@pytest.fixture(params=["engine", "reference"])
def compute_report(request: pytest.FixtureRequest) -> ComputeReport:
    if request.param == "reference":
        return reference_report
    from storemon.engine import compute_report

    return compute_report


@pytest.fixture(params=["engine", "reference"])
def rounded_columns(request: pytest.FixtureRequest) -> RoundedColumns:
    if request.param == "reference":
        return reference_rounded_columns
    from storemon.engine import rounded_columns

    return rounded_columns
