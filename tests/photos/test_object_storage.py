"""Photos in an S3-compatible object store (production's ``PHOTO_STORAGE_BUCKET``), against a local
moto server this module starts: never the internet (issue 18, "Storage that scales out")."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from django.urls import reverse

from photos import crypto
from photos.services import photo_consent_withdraw, photo_image, photo_keys_rotate
from tests.factories import photo_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

BUCKET = "alliance-photos-test"
PREFIX = "photos"
# Fake credentials: moto accepts any; boto3 must never find real ones or an instance profile.
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
}
STORED_NAME = re.compile(rf"{PREFIX}/[0-9a-f]{{32}}\.bin")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A moto server (S3 API) on a free local port, for this module's tests."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_AWS_ENV.items():
            patch.setenv(name, value)
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
                    break
                except (urllib.error.URLError, OSError):
                    if server.poll() is not None or time.monotonic() > deadline:
                        pytest.fail("the local moto S3 server did not start")
                    time.sleep(0.2)
            yield endpoint
        finally:
            server.terminate()
            server.wait(timeout=10)


def _client(endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def bucket(s3_endpoint, settings):
    """An empty bucket, and ``STORAGES["photos"]`` pointing at it as settings.py does when
    ``PHOTO_STORAGE_BUCKET`` is set."""
    s3 = _client(s3_endpoint)
    s3.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {**settings.STORAGES, "photos": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": BUCKET, "endpoint_url": s3_endpoint, "region_name": "us-east-1",
            "access_key": "testing", "secret_key": "testing", "location": PREFIX,
            "default_acl": "private", "file_overwrite": False, "querystring_auth": True,
        },
    }}
    yield s3
    for stored in _objects(s3):
        s3.delete_object(Bucket=BUCKET, Key=stored)
    s3.delete_bucket(Bucket=BUCKET)


def _objects(s3) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def _body(s3, key: str) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def test_a_photo_and_its_thumbnail_are_encrypted_objects_under_random_names(bucket, patient_a,
                                                                           now):
    # when
    photo = photo_for(patient_a, area_code="back", now=now)
    # then: two objects, the image's and the thumbnail's, named by nothing but chance
    keys = sorted(_objects(bucket))
    assert keys == sorted([f"{PREFIX}/{photo.image_name}", f"{PREFIX}/{photo.thumbnail_name}"])
    for key in keys:
        assert STORED_NAME.fullmatch(key), key
        # nothing that says whose or what: only hex, not the photo's public id, no area
        assert photo.public_id.hex not in key
        assert "back" not in key
        at_rest = _body(bucket, key)
        assert not at_rest.startswith(b"\xff\xd8")  # no JPEG magic: a Fernet token
        assert crypto.decrypt(at_rest).startswith(b"\xff\xd8")
    assert photo_image(photo, thumbnail=True).startswith(b"\xff\xd8")


def test_the_patient_and_their_dermatologist_are_served_the_images(bucket, client, patient_a,
                                                                   derm, now):
    # given
    photo = photo_for(patient_a, now=now)
    expected = photo_image(photo)
    # when / then
    client.force_login(patient_a.user)
    for name in ("my_photo_image", "my_photo_thumbnail"):
        response = client.get(reverse(name, args=[photo.public_id]))
        assert response.status_code == 200, name
        assert response.content.startswith(b"\xff\xd8")
    assert client.get(reverse("my_photo_image", args=[photo.public_id])).content == expected
    client.force_login(derm)
    for name in ("clinic_photo_image", "clinic_photo_thumbnail"):
        response = client.get(reverse(name, args=[photo.public_id]))
        assert response.status_code == 200, name
        assert response.content.startswith(b"\xff\xd8")


def test_withdrawal_deletes_both_objects_from_the_bucket(bucket, patient_a, now,
                                                         django_capture_on_commit_callbacks):
    # given
    photo = photo_for(patient_a, now=now)
    assert len(_objects(bucket)) == 2
    # when
    with django_capture_on_commit_callbacks(execute=True):
        photo_consent_withdraw(patient=patient_a, by=patient_a.user, now=now)
    # then: the bucket is empty; the row remains, saying the photo was deleted
    assert _objects(bucket) == []
    photo.refresh_from_db()
    assert (photo.image_name, photo.thumbnail_name) == ("", "")
    assert photo.deleted_at == now


def test_key_rotation_rewrites_the_objects_under_the_new_key(bucket, settings, patient_a, now):
    # given: a photo stored under the old key
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PHOTO_ENCRYPTION_KEYS = [old]
    photo = photo_for(patient_a, now=now)
    before = set(_objects(bucket))
    # when: the new key goes in front and the files are rotated
    settings.PHOTO_ENCRYPTION_KEYS = [new, old]
    assert photo_keys_rotate() == (2, 0)
    # then: new objects that only the new key opens, the old ones gone
    after = set(_objects(bucket))
    assert len(after) == 2
    assert not after & before
    settings.PHOTO_ENCRYPTION_KEYS = [new]
    photo.refresh_from_db()
    for key in after:
        Fernet(new.encode()).decrypt(_body(bucket, key))
    assert photo_image(photo).startswith(b"\xff\xd8")
