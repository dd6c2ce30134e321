"""The package as a user installs it (issue 9, part 7): the wheel holds the whole program,
and the program installed from it, outside the checkout, answers ``--version``, serves
``/healthz`` and verifies a store.

The wheel is built offline from a copy of the sources (no build isolation: setuptools comes
with the test tools). The fresh environment gets the wheel alone; its dependencies are the
ones this environment already installed, reached through a ``.pth`` line (only paths, so
this environment's editable hook for the checkout stays off). Every module is checked to
come from the fresh environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "projections", "api", "simulation")
#: What is not part of a package: build and cache litter.
LITTER = ("__pycache__", "*.pyc", "*.pyo", "*.db", "*.db-wal", "*.db-shm", "*.egg-info")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", *PACKAGES):
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns(*LITTER))
        else:
            shutil.copy2(path, source / name)
    for extra in ROOT.glob("LICENSE*"):
        shutil.copy2(extra, source / extra.name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--no-build-isolation", "--wheel-dir", str(work / "dist"), str(source)],
        check=True, cwd=work, timeout=300,
    )
    (built,) = (work / "dist").glob("yishi-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed; its ``bin`` directory."""
    home = tmp_path_factory.mktemp("fresh")
    venv.EnvBuilder(with_pip=False).create(home / "env")
    python = home / "env" / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--disable-pip-version-check", "--no-deps", "--no-index", str(wheel)],
        check=True, cwd=home, timeout=300,
    )
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True, cwd=home,
    ).stdout.strip()
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (Path(purelib) / "yishi-test-dependencies.pth").write_text(
        "".join(f"{path}\n" for path in sorted(ours)), encoding="utf-8"
    )
    return home / "env" / "bin"


def clean_env() -> dict[str, str]:
    """This process's environment without anything that points at the checkout."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"} and not k.startswith("YISHI_")}
    env["PATH"] = "/usr/bin:/bin"
    return env


def source_files() -> Iterator[str]:
    """Every file of the packages in the checkout, as a path inside the wheel."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*")):
            relative = path.relative_to(ROOT)
            if path.is_file() and not any(relative.match(p) or p.strip("*") in relative.parts
                                          for p in LITTER):
                yield relative.as_posix()


def test_the_wheel_holds_every_module_and_data_file_of_the_packages(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA")))
    expected = set(source_files())
    assert {"api/http/app.py", "domain/application.py", "projections/runner.py"} <= expected
    assert expected - names == set()
    assert not {n for n in names if n.startswith(("tests/", "bench/", "docs/"))}
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert f"Version: {version}".encode() in metadata


def test_the_installed_program_runs_from_the_wheel_alone(installed: Path, tmp_path: Path) -> None:
    env = clean_env()
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    shown = subprocess.run([str(installed / "yishi"), "--version"], check=True, cwd=tmp_path,
                           env=env, capture_output=True, text=True, timeout=60)
    assert shown.stdout == f"yishi {version}\n"

    where = subprocess.run(
        [str(installed / "python"), "-c",
         "import api.http.app, domain.application, projections.runner as p; print(p.__file__)"],
        check=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    ).stdout.strip()
    assert Path(where).is_relative_to(installed.parent), where
    assert not Path(where).is_relative_to(ROOT)

    url = "sqlite:///store.db"  # relative: in the working directory, outside the checkout
    directory = tmp_path / "directory.csv"
    directory.write_text("level,code,name,parent,households,kind,provider,provider_from\n"
                         "street,S1,示范街道,,,,,\ncommunity,C1,幸福社区,S1,,,,\n"
                         "compound,JX,锦绣佳苑,C1,420,,,\n", encoding="utf-8")
    subprocess.run([str(installed / "yishi"), "--database-url", url, "directory", "import",
                    str(directory)], check=True, cwd=tmp_path, env=env, capture_output=True,
                   text=True, timeout=60)
    port = free_port()
    server = subprocess.Popen(
        [str(installed / "yishi"), "--database-url", url, "serve", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    with server:
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                    break
                except httpx.TransportError:
                    assert server.poll() is None, server.stderr.read() if server.stderr else ""
                    assert time.monotonic() < deadline, "yishi serve did not answer in 60 s"
                    time.sleep(0.1)
            assert health.status_code == 200
            token = subprocess.run(
                [str(installed / "yishi"), "--database-url", url, "token", "create",
                 "--role", "resident", "--compound", "JX"],
                check=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
            ).stdout.strip()
            reported = httpx.post(
                f"http://127.0.0.1:{port}/cases", headers={"Authorization": f"Bearer {token}"},
                json={"compound_id": "JX", "community_id": "C1", "title": "地下车库漏水",
                      "description": "3号楼地库下雨就漏水", "category": "facilities",
                      "channel": "wechat"}, timeout=30,
            )
            assert reported.status_code == 201, reported.text
        finally:
            server.terminate()
            server.wait(timeout=30)

    verified = subprocess.run([str(installed / "yishi"), "--database-url", url, "verify"],
                              check=False, cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=120)
    assert (verified.returncode, verified.stderr) == (0, "")
    assert "checked 1 case(s), 1 event(s): 1 valid, 0 broken" in verified.stdout
