"""docker-compose.yml cannot run here (no Docker engine); keep it honest against the project."""

import importlib
import re
import shlex
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT_DIR

COMPOSE = yaml.safe_load((PROJECT_DIR / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ["web", "worker", "beat"]


def test_the_five_services_exist_with_healthchecks():
    assert set(SERVICES) == {"web", "worker", "beat", "postgres", "redis"}
    for name, service in SERVICES.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_postgres_keeps_its_data_in_a_volume():
    volume = SERVICES["postgres"]["volumes"][0].split(":")[0]
    assert volume in COMPOSE["volumes"]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_use_postgres_and_redis_and_wait_for_them(name):
    service = SERVICES[name]
    env = service["environment"]
    assert env["DATABASE_URL"].startswith("postgres://")
    assert env["CELERY_BROKER_URL"].startswith("redis://")
    assert set(service["depends_on"]) == {"postgres", "redis"}
    assert service["build"] == "."


@pytest.mark.parametrize("name", APP_SERVICES)
@pytest.mark.parametrize("variable", ["DJANGO_SECRET_KEY", "MFA_ENCRYPTION_KEYS",
                                      "PHOTO_ENCRYPTION_KEYS"])
def test_app_services_refuse_to_start_without_their_keys(name, variable):
    # Compose's ${VAR:?message} stops `docker compose up` when .env lacks the key.
    assert SERVICES[name]["environment"][variable].startswith(f"${{{variable}:?")


def _commands(service: dict) -> list[list[str]]:
    command = service["command"]
    if isinstance(command, list):
        command = " ".join(command)
    if command.startswith("sh -c "):
        command = shlex.split(command)[2]
    return [shlex.split(part) for part in re.split(r"&&", command)]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_command_exists_in_the_project(name):
    for argv in _commands(SERVICES[name]):
        program = argv[0]
        if program == "python":
            assert argv[1] == "manage.py"
            from django.core.management import get_commands

            assert argv[2] in get_commands(), argv
        elif program == "gunicorn":
            module, attribute = argv[1].split(":")
            assert hasattr(importlib.import_module(module), attribute), argv
        elif program == "celery":
            assert argv[1:3] == ["-A", "alliance_portal"]
            assert argv[3] in {"worker", "beat"}
            assert importlib.import_module("alliance_portal").celery_app is not None
        else:
            pytest.fail(f"unexpected program {program!r} in {name}")
        installed = shutil.which(program, path=str(Path(sys.executable).parent))
        assert installed or program == "python", f"{program} is not installed"


def test_dockerfile_copies_every_project_package():
    dockerfile = (PROJECT_DIR / "Dockerfile").read_text()
    packages = [p.name for p in PROJECT_DIR.iterdir() if (p / "__init__.py").exists()
                and p.name not in {"tests", "benchmarks"}]
    for package in packages:
        assert re.search(rf"^COPY {package} ", dockerfile, re.MULTILINE), package
    packaged = (PROJECT_DIR / "pyproject.toml").read_text()
    for package in packages:
        assert f'"{package}*"' in packaged, f"{package} missing from pyproject packages"
    assert Path(PROJECT_DIR / "manage.py").exists()
