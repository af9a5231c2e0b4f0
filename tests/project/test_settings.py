"""The one settings module chooses services from the environment, with safe defaults."""

import json
import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from tests.conftest import IN_CI, PROJECT_DIR

PROBE = (
    "import json, django; from django.conf import settings; django.setup();"
    "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'],"
    " 'broker': settings.CELERY_BROKER_URL, 'email': settings.EMAIL_BACKEND,"
    " 'debug': settings.DEBUG, 'cache': settings.CACHES['default']['BACKEND']}))"
)
SERVICE_VARS = ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "EMAIL_URL", "DJANGO_DEBUG")


def _settings_with(tmp_path, **env_vars: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update(ALLIANCE_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="alliance_portal.settings",
               **env_vars)
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=PROJECT_DIR, env=env,
        capture_output=True, text=True, check=False,
    )


def test_embedded_default_uses_sqlite_filesystem_broker_and_file_email(tmp_path):
    result = _settings_with(tmp_path, DJANGO_SECRET_KEY="x" * 50)
    chosen = json.loads(result.stdout)
    assert chosen["engine"] == "django.db.backends.sqlite3"
    assert chosen["broker"].startswith("filesystem://")
    assert chosen["email"] == "django.core.mail.backends.filebased.EmailBackend"
    assert chosen["debug"] is False
    assert "dummy" not in chosen["cache"].lower()


def test_environment_selects_postgres_and_redis(tmp_path):
    result = _settings_with(
        tmp_path, DJANGO_SECRET_KEY="x" * 50,
        DATABASE_URL="postgres://u@db:5432/alliance", CELERY_BROKER_URL="redis://redis:6379/0",
    )
    chosen = json.loads(result.stdout)
    assert chosen["engine"] == "django.db.backends.postgresql"
    assert chosen["broker"] == "redis://redis:6379/0"


def test_secret_key_is_required_when_debug_is_off(tmp_path):
    result = _settings_with(tmp_path, DJANGO_SECRET_KEY="")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr


# Each secret at rest has a key variable of its own, with the same rules.
ENCRYPTION_KEY_VARS = ["MFA_ENCRYPTION_KEYS", "PHOTO_ENCRYPTION_KEYS"]


@pytest.mark.parametrize("variable", ENCRYPTION_KEY_VARS)
def test_encryption_keys_are_required_when_debug_is_off(tmp_path, variable):
    # given / when: a production-like environment without the key
    result = _settings_with(tmp_path, DJANGO_SECRET_KEY="x" * 50, **{variable: ""})
    # then
    assert result.returncode != 0
    assert f"{variable} is required" in result.stderr


@pytest.mark.parametrize("variable", ENCRYPTION_KEY_VARS)
def test_a_malformed_encryption_key_is_refused_without_being_shown(tmp_path, variable):
    # given / when
    result = _settings_with(tmp_path, DJANGO_SECRET_KEY="x" * 50,
                            **{variable: f"{Fernet.generate_key().decode()},not-a-key-4417"})
    # then
    assert result.returncode != 0
    assert f"{variable}: key 2 is not a Fernet key" in result.stderr
    assert "not-a-key-4417" not in result.stderr


@pytest.mark.parametrize("variable", ENCRYPTION_KEY_VARS)
def test_debug_without_encryption_keys_derives_a_stable_development_key(tmp_path, variable):
    # given / when: the embedded demo, run twice
    probe = ("import django; from django.conf import settings; django.setup();"
             f"print(settings.{variable}[0])")
    env = {k: v for k, v in os.environ.items() if k not in (*SERVICE_VARS, *ENCRYPTION_KEY_VARS)}
    env.update(ALLIANCE_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="alliance_portal.settings",
               DJANGO_DEBUG="true", DJANGO_SECRET_KEY="")
    keys = [subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_DIR, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
            for _ in range(2)]
    # then: a valid key, the same in every process (web, worker, beat, a restart)
    assert keys[0] == keys[1]
    Fernet(keys[0])


def test_the_photo_and_mfa_development_keys_differ(tmp_path):
    # given / when: one key leaking must not open the other's secrets
    probe = ("import django; from django.conf import settings; django.setup();"
             "print(settings.MFA_ENCRYPTION_KEYS[0] != settings.PHOTO_ENCRYPTION_KEYS[0])")
    env = {k: v for k, v in os.environ.items() if k not in (*SERVICE_VARS, *ENCRYPTION_KEY_VARS)}
    env.update(ALLIANCE_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="alliance_portal.settings",
               DJANGO_DEBUG="true", DJANGO_SECRET_KEY="")
    result = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_DIR, env=env,
                            capture_output=True, text=True, check=True)
    # then
    assert result.stdout.strip() == "True"


PHOTO_STORAGE_PROBE = ("import json, django; from django.conf import settings; django.setup();"
                       "print(json.dumps(settings.STORAGES['photos']))")
PHOTO_STORAGE_VARS = ("PHOTO_STORAGE_BUCKET", "PHOTO_STORAGE_ENDPOINT_URL", "PHOTO_STORAGE_REGION",
                      "PHOTO_STORAGE_ACCESS_KEY_ID", "PHOTO_STORAGE_SECRET_ACCESS_KEY",
                      "PHOTO_STORAGE_PREFIX")


def _photo_storage_settings(tmp_path, **env_vars: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in (*SERVICE_VARS, *PHOTO_STORAGE_VARS)}
    env.update(ALLIANCE_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="alliance_portal.settings",
               DJANGO_SECRET_KEY="x" * 50, **env_vars)
    result = subprocess.run([sys.executable, "-c", PHOTO_STORAGE_PROBE], cwd=PROJECT_DIR, env=env,
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def test_photos_are_kept_under_the_data_folder_by_default(tmp_path):
    # when
    chosen = _photo_storage_settings(tmp_path)
    # then: private to the portal's user
    assert chosen["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    assert chosen["OPTIONS"]["location"] == str((tmp_path / "photos").resolve())
    assert chosen["OPTIONS"]["base_url"] is None
    assert (chosen["OPTIONS"]["directory_permissions_mode"],
            chosen["OPTIONS"]["file_permissions_mode"]) == (0o700, 0o600)


def test_a_photo_storage_bucket_selects_the_s3_compatible_object_store(tmp_path):
    # when
    chosen = _photo_storage_settings(
        tmp_path, PHOTO_STORAGE_BUCKET="clinic-photos",
        PHOTO_STORAGE_ENDPOINT_URL="https://s3.storage.example", PHOTO_STORAGE_REGION="eu-west-2",
        PHOTO_STORAGE_ACCESS_KEY_ID="AKEXAMPLE", PHOTO_STORAGE_SECRET_ACCESS_KEY="s3cret-4417")
    # then: fetched by the portal only, never overwritten; no ACL header (objects are as private
    # as the bucket, and buckets with ACLs disabled refuse one)
    assert chosen == {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": "clinic-photos", "endpoint_url": "https://s3.storage.example",
        "region_name": "eu-west-2", "access_key": "AKEXAMPLE", "secret_key": "s3cret-4417",
        "location": "photos", "default_acl": None, "file_overwrite": False,
        "querystring_auth": True}}


def test_aws_s3_needs_no_endpoint_and_the_prefix_can_change(tmp_path):
    # when: AWS itself (no endpoint; credentials from the instance's role)
    chosen = _photo_storage_settings(tmp_path, PHOTO_STORAGE_BUCKET="clinic-photos",
                                     PHOTO_STORAGE_PREFIX="portal/photos")
    # then
    options = chosen["OPTIONS"]
    assert (options["endpoint_url"], options["access_key"], options["secret_key"]) == (
        None, None, None)
    assert options["location"] == "portal/photos"


def test_ci_runs_against_postgresql_and_redis():
    """In CI the suite must exercise the production services, not the embedded default."""
    from django.conf import settings

    if not IN_CI:
        pytest.skip("only meaningful in CI")
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert settings.CELERY_BROKER_URL.startswith("redis://")


PUSH_PROBE = ("import django; from django.conf import settings; django.setup();"
              "print(settings.WEBPUSH_ENABLED, settings.WEBPUSH_ALLOW_HTTP)")


def _push_settings(tmp_path, **env_vars: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS and
           not k.startswith("VAPID_")}
    env.update(ALLIANCE_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="alliance_portal.settings",
               DJANGO_SECRET_KEY="x" * 50, **env_vars)
    return subprocess.run([sys.executable, "-c", PUSH_PROBE], cwd=PROJECT_DIR, env=env,
                          capture_output=True, text=True, check=False)


def _vapid_env() -> dict[str, str]:
    from reminders.management.commands.vapid_keys import vapid_key_pair

    public, private = vapid_key_pair()
    return {"VAPID_PUBLIC_KEY": public, "VAPID_PRIVATE_KEY": private,
            "VAPID_SUBJECT": "mailto:reminders@clinic.example"}


def test_push_is_off_without_vapid_keys_and_on_with_all_three(tmp_path):
    # when
    off = _push_settings(tmp_path)
    on = _push_settings(tmp_path, **_vapid_env())
    # then: never plain http outside tests
    assert off.stdout.split() == ["False", "False"]
    assert on.stdout.split() == ["True", "False"]


@pytest.mark.parametrize("missing", ["VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY", "VAPID_SUBJECT"])
def test_push_refuses_to_start_with_part_of_its_keys(tmp_path, missing):
    # given / when
    result = _push_settings(tmp_path, **{**_vapid_env(), missing: ""})
    # then
    assert result.returncode != 0
    assert "need VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT together" in result.stderr


def test_a_malformed_vapid_private_key_is_refused_without_being_shown(tmp_path):
    # given / when
    result = _push_settings(tmp_path, **{**_vapid_env(), "VAPID_PRIVATE_KEY": "secret-4417"})
    # then
    assert result.returncode != 0
    assert "VAPID_PRIVATE_KEY is not a key made by `manage.py vapid_keys`" in result.stderr
    assert "secret-4417" not in result.stderr
