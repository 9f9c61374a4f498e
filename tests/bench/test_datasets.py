"""Where the benchmarks' data sets come from (no benchmark is run here)."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).parents[2] / "bench"
STOREMON = Path("/venv/bin/storemon")


@pytest.fixture(scope="module")
def harness() -> ModuleType:
    # bench/ is a folder of scripts, not a package: load the module by path.
    spec = importlib.util.spec_from_file_location("bench_harness", BENCH / "harness.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_shared_generator_makes_the_data_sets_when_it_is_there(
    harness: ModuleType, tmp_path: Path
) -> None:
    make_dataset = tmp_path / "make_dataset.py"
    make_dataset.write_text("", encoding="utf-8")
    command = harness.dataset_generator(make_dataset, STOREMON)
    assert command[1:] == [str(make_dataset)]


def test_a_fresh_clone_without_the_shared_generator_uses_storemon_sample(
    harness: ModuleType, tmp_path: Path
) -> None:
    command = harness.dataset_generator(tmp_path / "absent" / "make_dataset.py", STOREMON)
    assert command == [str(STOREMON), "sample"]


def test_storemon_sample_takes_the_arguments_the_harness_passes() -> None:
    # ensure_dataset runs GENERATOR OUT_DIR --scale K: the command must accept that.
    import typer.main

    from storemon.cli.main import app

    sample = typer.main.get_group(app).commands["sample"]
    arguments = [p.name for p in sample.params if p.param_type_name == "argument"]
    options = {o for p in sample.params if p.param_type_name == "option" for o in p.opts}
    assert len(arguments) == 1
    assert "--scale" in options


def test_a_data_set_is_made_once_then_reused_and_says_what_made_it(
    harness: ModuleType, tmp_path: Path
) -> None:
    runs = tmp_path / "runs.txt"
    stand_in = tmp_path / "make_tiny.py"
    stand_in.write_text(
        textwrap.dedent(f"""
            import pathlib, sys
            out = pathlib.Path(sys.argv[1])
            assert sys.argv[2:] == ["--scale", "3"], sys.argv
            out.mkdir(parents=True)
            for name in {sorted(harness.FEED_FILES.values())!r}:
                (out / name).write_text("store_id\\n")
            with open({str(runs)!r}, "a") as runs:
                runs.write("run\\n")
        """),
        encoding="utf-8",
    )
    generator = [sys.executable, str(stand_in)]
    folder = tmp_path / "data" / "s3"
    files = harness.ensure_dataset(generator, folder, 3)
    assert all(path.is_file() for path in files.values())
    assert not folder.with_name("s3.partial").exists()
    assert harness.dataset_origin(folder) == f"{Path(sys.executable).name} make_tiny.py"
    assert harness.ensure_dataset(generator, folder, 3) == files
    assert runs.read_text().count("run") == 1
