"""The built wheel: one top-level import name, every package of the source tree, migrations as package data,
and an installed copy that works from a directory with its own ``collectors/`` folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built from a copy so that setuptools' build/ and egg-info never land in the checkout.
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    for name in ("smarter_obs", "collectors", "provisioning"):
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (path,) = out.glob("smarter_obs-*.whl")
    return path


def _source_files(folder: str, package: str, suffixes: tuple[str, ...]) -> set[str]:
    root = REPO / folder
    return {
        f"{package}/{p.relative_to(root).as_posix()}"
        for p in root.rglob("*")
        if p.is_file() and p.suffix in suffixes and "__pycache__" not in p.parts
    }


def test_wheel_has_one_top_level_name_and_every_module(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert top == {"smarter_obs"}
    expected = (
        _source_files("smarter_obs", "smarter_obs", (".py",))
        | _source_files("collectors", "smarter_obs/collectors", (".py",))
        | _source_files("provisioning", "smarter_obs/provisioning", (".py", ".sql", ".yaml"))
    )
    assert expected - names == set(), "files of the source tree missing from the wheel"
    assert any(n.startswith("smarter_obs/collectors/spans/") for n in names)
    assert "smarter_obs/provisioning/clickhouse/0001_otel_traces.sql" in names


def test_installed_wheel_runs_beside_a_foreign_collectors_folder(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    # The dependencies come from the test environment's site-packages (appended to sys.path, so its
    # editable smarter_obs finder is not activated): the venv imports smarter_obs from the wheel only.
    site = Path(
        subprocess.check_output(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    (site / "test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    work = tmp_path / "project"
    (work / "collectors").mkdir(parents=True)
    (work / "collectors" / "__init__.py").write_text("raise ImportError('the foreign collectors package')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTER_OBS_")}
    env["SMARTER_OBS_HOME"] = str(work / ".smarter-obs")
    script = venv / "bin" / "smarter-obs"

    located = subprocess.run(
        [
            str(python),
            "-c",
            "import smarter_obs.collectors.spans as m, smarter_obs.db.clickhouse as c;"
            "print(m.__file__); print(c.migrations_dir())",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    assert all(line.startswith(str(site)) for line in located), located

    spans_help = subprocess.run(
        [str(script), "collect", "spans", "--help"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert spans_help.returncode == 0, spans_help.stderr
    assert "OTLP" in spans_help.stdout

    migrate = subprocess.run(
        [str(script), "db", "migrate"], cwd=work, env=env, capture_output=True, text=True, timeout=240
    )
    assert migrate.returncode == 0, migrate.stderr
    for store in ("clickhouse", "postgres"):
        count = len(list((REPO / "provisioning" / store).glob("*.sql")))
        assert f"{store}: {count} applied, 0 already applied" in migrate.stdout
