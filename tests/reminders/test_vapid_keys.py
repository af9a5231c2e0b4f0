"""``manage.py vapid_keys``: a usable VAPID pair, printed as environment variables."""

import base64
import io

from cryptography.hazmat.primitives.asymmetric import ec
from django.core.management import call_command
from py_vapid import Vapid


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_vapid_keys_prints_a_matching_pair_in_env_format():
    # given
    out = io.StringIO()
    # when
    call_command("vapid_keys", stdout=out)
    # then: the private key signs, and the public key is its uncompressed P-256 point
    lines = dict(line.split("=", 1) for line in out.getvalue().splitlines())
    assert set(lines) == {"VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY", "VAPID_SUBJECT"}
    vapid = Vapid.from_string(lines["VAPID_PRIVATE_KEY"])
    public = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), _unb64(lines["VAPID_PUBLIC_KEY"]))
    assert public.public_numbers() == vapid.public_key.public_numbers()
    assert "Authorization" in vapid.sign({"aud": "https://fcm.googleapis.com",
                                          "sub": "mailto:a@example.test", "exp": 2_000_000_000})
