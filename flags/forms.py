"""Forms of the flag pages: the queue's filters and the four review actions.

Choices that name people are limited to the requesting clinician's clinic, so a foreign user
id is a form error (never a write).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User

from .models import Outreach, Resolution, Rule
from .selectors import QUEUE_OPEN, QueueFilters, clinic_dermatologists, flag_assignees

NOTE_MAX = 2000
STATE_CHOICES = [
    (QUEUE_OPEN, _("Open (new or acknowledged)")),
    ("new", _("New")),
    ("acknowledged", _("Acknowledged")),
    ("resolved", _("Resolved")),
]


class ClinicianChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return f"{obj.display_name} ({obj.membership.get_role_display()})"


class QueueFilterForm(forms.Form):
    """GET filters of the queue. Invalid values are reported and fall back to the default."""

    rule = forms.ChoiceField(label=_("Rule"), required=False,
                             choices=[("", _("Any rule")), *Rule.choices])
    state = forms.ChoiceField(label=_("State"), required=False, choices=STATE_CHOICES)
    dermatologist = forms.TypedChoiceField(label=_("Dermatologist"), required=False, coerce=int,
                                           empty_value=None)
    mine = forms.BooleanField(label=_("Only flags assigned to me"), required=False)
    # What the dermatologist's "Alliance at risk" panel lists (its "See all" link).
    routed = forms.BooleanField(label=_("Only alliance at risk or escalated"), required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["dermatologist"].choices = [("", _("Any dermatologist"))] + [
            (d.pk, d.display_name) for d in clinic_dermatologists(user)
        ]

    def filters(self) -> QueueFilters:
        """The valid filters (call after ``is_valid()``; invalid fields use their default)."""
        data = getattr(self, "cleaned_data", {})
        return QueueFilters(
            rule=data.get("rule") or "",
            state=data.get("state") or QUEUE_OPEN,
            dermatologist_id=data.get("dermatologist"),
            assigned_to_id=self.user.pk if data.get("mine") else None,
            routed=bool(data.get("routed")),
        )


class AssignForm(forms.Form):
    assignee = ClinicianChoiceField(
        label=_("Assign to"), queryset=User.objects.none(), empty_label=None,
        help_text=_("Someone on this clinic's team who will follow it up."),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"assignee": user.pk})
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = flag_assignees(user)


class OutreachForm(forms.ModelForm):
    class Meta:
        model = Outreach
        fields = ["channel", "outcome", "note", "message_to_patient"]
        widgets = {
            "channel": forms.RadioSelect,
            "outcome": forms.RadioSelect,
            "note": forms.Textarea(attrs={"rows": 3}),
            "message_to_patient": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {
            "channel": _("How"),
            "outcome": _("Outcome"),
            "note": _("Note for the clinic (optional)"),
            "message_to_patient": _("Message to the patient (optional)"),
        }
        help_texts = {
            "note": _("Only the clinic team sees this."),
            "message_to_patient": _("The patient reads this under “Messages”, with your name, "
                                    "and can answer it."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.pop("user", None)
        super().__init__(*args, **kwargs)
        # Model choices include a blank row; a radio group does not need one.
        for name in ("channel", "outcome"):
            self.fields[name].choices = [c for c in self.fields[name].choices if c[0]]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if (data.get("channel") == Outreach.Channel.MESSAGE
                and not (data.get("message_to_patient") or "").strip()):
            self.add_error("message_to_patient", gettext("Write the message for a portal message."))
        return data


class EscalateForm(forms.Form):
    note = forms.CharField(
        label=_("Note for the dermatologist"), max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What you found and what you would like them to do."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.pop("user", None)
        super().__init__(*args, **kwargs)

    def clean_note(self) -> str:
        note = self.cleaned_data["note"].strip()
        if not note:
            raise forms.ValidationError(gettext("Write a note for the dermatologist."))
        return note


class ResolveForm(forms.Form):
    resolution = forms.ChoiceField(label=_("Resolution"), choices=Resolution.choices,
                                   widget=forms.RadioSelect)
    note = forms.CharField(
        label=_("Note"), required=False, max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when the resolution is “Other”."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.pop("user", None)
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["note"] = (data.get("note") or "").strip()
        if data.get("resolution") == Resolution.OTHER and not data["note"]:
            self.add_error("note", gettext("Say what happened when the resolution is “Other”."))
        return data
