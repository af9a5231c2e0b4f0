from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Clinic
from careplans.describe import WEEKDAY_NAMES
from careplans.models import Frequency, TimeOfDay

from .models import CatalogueItem, RegimenTemplate, TemplateStep
from .selectors import items_offered
from .services import ITEM_DATA_FIELDS, STEP_DATA_FIELDS


def _weekday_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        choices=[(str(i), name) for i, name in enumerate(WEEKDAY_NAMES)], required=False,
        widget=forms.CheckboxSelectMultiple, label=_("Days of the week"),
        help_text=_("Only for “On chosen days of the week”."),
    )


class _ScheduleMixin:
    """The page shows each schedule field only for the kinds that use it (``.schedule-form``
    in portal.css, as the plan editor's rows); the model clears the others on save."""

    def clean_weekdays(self) -> str:
        return "".join(sorted(set(self.cleaned_data.get("weekdays") or [])))


class CatalogueItemForm(_ScheduleMixin, forms.ModelForm):
    weekdays = _weekday_field()

    class Meta:
        model = CatalogueItem
        fields = ITEM_DATA_FIELDS
        widgets = {"instructions": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.clinic_id is None:
            self.instance.clinic = clinic
        self.initial["weekdays"] = list(self.instance.weekdays)
        alternatives = CatalogueItem.objects.filter(clinic=clinic).order_by("name", "id")
        if self.instance.pk:
            alternatives = alternatives.exclude(pk=self.instance.pk)
        self.fields["generic_alternative"].queryset = alternatives
        self.fields["generic_alternative"].empty_label = gettext("None")
        self.fields["generic_alternative"].help_text = _(
            "A cheaper equivalent in this catalogue; the plan editor offers the swap and shows "
            "the saving.")
        self.fields["every_n_days"].help_text = _("Only for “Every few days”.")
        self.fields["monthly_cost"].widget.attrs.update(step="0.01", min="0")
        self.fields["monthly_cost"].label = _("Typical monthly cost (%(currency)s)") % {
            "currency": clinic.currency}
        self.fields["minutes"].widget.attrs.update(min="0", max="120")


class CatalogueImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"),
                           help_text=_("UTF-8, comma-separated, with the header row below."))


class RegimenTemplateForm(forms.ModelForm):
    class Meta:
        model = RegimenTemplate
        fields = ("name", "description", "active")
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.clinic_id is None:
            self.instance.clinic = clinic


class TemplateStepForm(_ScheduleMixin, forms.ModelForm):
    """A step added from the catalogue: the item's usual time and frequency unless changed."""

    weekdays = _weekday_field()
    time_of_day = forms.ChoiceField(
        required=False, label=_("When"),
        choices=[("", _("The item's usual time")), *TimeOfDay.choices],
    )
    frequency = forms.ChoiceField(
        required=False, label=_("How often"),
        choices=[("", _("The item's usual frequency")), *Frequency.choices],
    )

    class Meta:
        model = TemplateStep
        fields = STEP_DATA_FIELDS
        widgets = {"instructions": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, template: RegimenTemplate, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.template = template
        self.instance.position = 0  # set by the service
        self.fields["catalogue_item"].queryset = items_offered(template.clinic_id)
        self.fields["catalogue_item"].label = _("Product or medicine")
        self.fields["catalogue_item"].empty_label = gettext("Choose from the catalogue")
        self.fields["first_dose_after_days"].required = False
        self.fields["ramp_every_n_days"].help_text = _("2 = alternate days.")
        self.fields["ramp_days"].help_text = _(
            "For example every 3rd night for 28 days, then as usual.")

    def clean_first_dose_after_days(self) -> int:
        return self.cleaned_data.get("first_dose_after_days") or 0

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        item = data.get("catalogue_item")
        if item is not None:
            if not data.get("time_of_day"):
                data["time_of_day"] = item.time_of_day
            if not data.get("frequency"):
                data["frequency"] = item.frequency
                for field in ("weekdays", "every_n_days", "every_n_weeks", "day_of_month",
                              "window_days", "course_weeks"):
                    data[field] = data.get(field) or getattr(item, field)
                self.instance.frequency = data["frequency"]
        return data

    def data_for_service(self) -> dict[str, Any]:
        return {field: self.cleaned_data[field] for field in STEP_DATA_FIELDS}
