"""The patient's message forms: a new conversation (topic, severity for a side effect, the text)
and a reply, each with an optional photo of their own diary and an optional step of their plan.

The choices offered are the patient's own (their photos, their plan's steps), so an id that is
not theirs fails validation here before the service checks it again."""

from __future__ import annotations

from uuid import UUID

from django import forms
from django.db.models import QuerySet
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from careplans.models import PlanItem
from photos.models import Photo

from .models import BODY_MAX_LENGTH, PATIENT_TOPICS, Severity, Topic
from .services import Attachment


class DiaryPhotoField(forms.ModelChoiceField):
    def to_python(self, value: object) -> Photo | None:
        try:
            return super().to_python(value)
        except forms.ValidationError:  # not even a photo id (not a UUID): the same answer
            raise forms.ValidationError(self.error_messages["invalid_choice"],
                                        code="invalid_choice") from None

    def label_from_instance(self, obj: Photo) -> str:
        return _("%(area)s, %(day)s") % {"area": obj.area.label,
                                          "day": date_format(obj.taken_on, "j M Y")}


class MessageForm(forms.Form):
    """A reply: the text, and optionally a diary photo and a plan step it is about."""

    body = forms.CharField(
        label=_("Your message"), max_length=BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": BODY_MAX_LENGTH}),
        error_messages={"required": _("Write your message first.")},
    )
    photo = DiaryPhotoField(
        queryset=Photo.objects.none(), required=False, to_field_name="public_id",
        label=_("Attach a photo from my diary (optional)"), empty_label=_("No photo"),
        error_messages={"invalid_choice": _("Choose one of your own photos.")},
    )
    plan_item = forms.ChoiceField(
        required=False, label=_("About this step of my plan (optional)"),
        error_messages={"invalid_choice": _("Choose one of the steps of your plan.")},
    )

    def __init__(self, *args: object, photos: QuerySet[Photo] | None,
                 plan_items: list[PlanItem], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if photos is None:  # no photo consent: nothing to attach
            del self.fields["photo"]
        else:
            self.fields["photo"].queryset = photos.order_by("-taken_on", "-uploaded_at")
        self._steps = {str(item.key): item.name for item in plan_items}
        if self._steps:
            self.fields["plan_item"].choices = [("", _("No particular step")),
                                                *self._steps.items()]
        else:
            del self.fields["plan_item"]

    def clean(self) -> dict:
        data = super().clean()
        # Not offered (no diary, no plan) yet posted anyway: refused, not silently dropped.
        if "photo" not in self.fields and self.data.get("photo"):
            self.add_error(None, _("Choose one of your own photos."))
        if "plan_item" not in self.fields and self.data.get("plan_item"):
            self.add_error(None, _("Choose one of the steps of your plan."))
        return data

    def attachment(self) -> Attachment:
        """The photo and plan step chosen (call after ``is_valid()``)."""
        data = self.cleaned_data
        key = data.get("plan_item") or ""
        return Attachment(photo=data.get("photo"), plan_item_key=UUID(key) if key else None,
                          plan_item_name=self._steps.get(key, ""))


class ThreadStartForm(MessageForm):
    """A new conversation. The severity question is always on the page (it works without
    JavaScript); it is required only when the message is about a side effect."""

    topic = forms.ChoiceField(
        label=_("What is your message about?"), widget=forms.RadioSelect,
        choices=[(topic.value, topic.label) for topic in PATIENT_TOPICS],
        error_messages={"required": _("Choose what your message is about.")},
    )
    severity = forms.ChoiceField(
        label=_("If it is a side effect: how bad is it?"), widget=forms.RadioSelect,
        choices=Severity.choices, required=False,
    )

    private = forms.BooleanField(
        required=False, label=_("Private: only me and my care team"),
        help_text=_("The people who help you with your care will not see this conversation. "
                    "Once private, it stays private."),
    )

    field_order = ["topic", "severity", "body", "photo", "plan_item", "private"]

    def __init__(self, *args: object, offer_private: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if not offer_private:  # a caregiver, or a patient nobody helps: never asked
            del self.fields["private"]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("topic") == Topic.SIDE_EFFECT and not data.get("severity"):
            self.add_error("severity", _("Say how bad the side effect is."))
        elif data.get("topic") and data.get("topic") != Topic.SIDE_EFFECT:
            data["severity"] = ""
        if "private" not in self.fields and self.data.get("private"):
            self.add_error(None, _("Only the patient can make a conversation private, and "
                                   "only when someone helps them with their care."))
        return data
