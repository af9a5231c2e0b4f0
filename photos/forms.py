from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from . import imaging
from .models import BodyArea


class AreaChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: BodyArea) -> str:
        return obj.label


class PhotoForm(forms.Form):
    """A body area and a photo. ``capture`` asks a phone for its back camera; a computer (or a
    phone's "Photo library") picks a file. The file is checked in ``photos.imaging``."""

    area = AreaChoiceField(queryset=BodyArea.objects.none(),
                           label=pgettext_lazy("photo", "Where on your body"),
                           empty_label=None)
    photo = forms.FileField(
        label=_("Take or choose a photo"),
        help_text=_("JPEG, PNG or HEIC, up to 20 MB."),
        widget=forms.FileInput(attrs={"accept": "image/*", "capture": "environment"}),
        error_messages={"required": _("Choose or take a photo first."),
                        "empty": _("That file is empty. Please choose a photo.")},
    )

    def __init__(self, *args: object, areas: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = areas

    def clean_photo(self) -> object:
        upload = self.cleaned_data["photo"]
        if upload.size > imaging.MAX_UPLOAD_BYTES:  # before a byte of it is decoded
            raise forms.ValidationError(
                _("That photo is larger than 20 MB. Please choose a smaller one."))
        return upload


class WithdrawForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I understand that my photos will be deleted for good."),
        error_messages={"required": _("Tick the box to confirm: your photos cannot be brought "
                                      "back.")},
    )
