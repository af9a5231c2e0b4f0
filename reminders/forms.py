import base64
import binascii
import string

from cryptography.hazmat.primitives.asymmetric import ec
from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from careplans.describe import WEEKDAY_NAMES

from .channels import push_endpoint_allowed
from .models import Channel, ReminderSettings


class ReminderSettingsForm(forms.ModelForm):
    weekdays = forms.MultipleChoiceField(
        choices=[(str(n), name) for n, name in enumerate(WEEKDAY_NAMES)],
        widget=forms.CheckboxSelectMultiple, required=False, label=gettext_lazy("On these days"),
    )

    class Meta:
        model = ReminderSettings
        fields = ["enabled", "local_time", "weekdays", "channel", "include_goal"]
        widgets = {"local_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                   "channel": forms.RadioSelect}
        labels = {"channel": gettext_lazy("Channel")}

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.initial["weekdays"] = list(self.instance.weekdays)
        # Push is chosen on the phone itself (reminders/_push.html), never here.
        self.fields["channel"].choices = [(Channel.EMAIL.value, Channel.EMAIL.label)]

    def clean_weekdays(self) -> str:
        days = "".join(sorted(set(self.cleaned_data["weekdays"])))
        if self.cleaned_data.get("enabled") and not days:
            raise forms.ValidationError(_("Choose at least one day, or turn reminders off."))
        return days


class CaregiverRemindersForm(forms.Form):
    """A caregiver's own choices, on the Reminders page of a child they act for."""

    receives = forms.BooleanField(label=gettext_lazy("Send me this child's reminders"),
                                  required=False)
    combined = forms.BooleanField(
        label=gettext_lazy("One reminder for all the children I help"), required=False,
        help_text=gettext_lazy("One email on an evening naming each child whose check-in is "
                               "still to do, instead of one per child."))


BASE64URL = frozenset(string.ascii_letters + string.digits + "-_")


def _b64url_bytes(value: str) -> bytes | None:
    """The bytes of unpadded base64url text, or None if it is not exactly that."""
    if not value or not set(value) <= BASE64URL:
        return None
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None


class PushSubscriptionForm(forms.Form):
    """The browser's ``PushSubscription.toJSON()``, flattened: an endpoint at one of the push
    services (``WEBPUSH_SERVICE_HOSTS``) over https, and the two keys of RFC 8291."""

    endpoint = forms.CharField(max_length=1024, strip=False)
    p256dh = forms.CharField(max_length=100, strip=False)
    auth = forms.CharField(max_length=32, strip=False)

    def clean_endpoint(self) -> str:
        endpoint = self.cleaned_data["endpoint"]
        if not push_endpoint_allowed(endpoint):
            raise forms.ValidationError(
                "The endpoint is not an https address of a known push service.")
        return endpoint

    def clean_p256dh(self) -> str:
        key = self.cleaned_data["p256dh"]
        raw = _b64url_bytes(key)
        try:
            if raw is None or len(raw) != 65:
                raise ValueError
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
        except ValueError:
            raise forms.ValidationError(
                "The p256dh key is not a P-256 public key in base64url.") from None
        return key

    def clean_auth(self) -> str:
        secret = self.cleaned_data["auth"]
        raw = _b64url_bytes(secret)
        if raw is None or len(raw) != 16:
            raise forms.ValidationError("The auth secret is not 16 bytes in base64url.")
        return secret
