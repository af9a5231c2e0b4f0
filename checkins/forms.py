from __future__ import annotations

from datetime import date

from django import forms
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from careplans.schedule import AS_NEEDED, DueStep

from .models import PARTNERSHIP_QUESTIONS, AlliancePulse, SideEffect, SkipReason
from .selectors import SavedDay
from .services import PULSE_FIELDS, StepAnswer, Wellbeing

STATUS_CHOICES = [("done", gettext_lazy("Done")), ("skipped", gettext_lazy("Skipped"))]
# A windowed dose before its last day: not doing it yet is no miss.
NOT_YET_CHOICES = [("done", gettext_lazy("Done")), ("not_yet", gettext_lazy("Not yet"))]
NEW_STEP_HELP = gettext_lazy("New in your plan since you checked in: not answered yet.")
# Short: a phone-wide select shows ~35 characters.
NO_LONGER_IN_PLAN = gettext_lazy("%(name)s (removed)")
PARTNERSHIP_HELP = gettext_lazy(
    "0 = not at all, 10 = completely. Optional: leave it blank to skip this week.")


def step_field(step: DueStep) -> str:
    return f"step_{step.item.pk}_{step.slot}"


def reason_field(step: DueStep) -> str:
    return f"reason_{step.item.pk}_{step.slot}"


def taken_field(step: DueStep) -> str:
    return f"taken_{step.item.pk}_{step.slot}"


def used_field(step: DueStep) -> str:
    return f"used_{step.item.pk}"


def _day(day: date) -> str:
    return formats.date_format(day, _("l j F"))


def window_note(step: DueStep) -> str:
    """Where a dated step stands: "Due today…", "Late: still counts until…", "Last day…"."""
    if step.item.frequency in ("every_n_weeks", "monthly", "once") and not step.windowed:
        return _("Due today, %(day)s.") % {"day": _day(step.day)}
    if not step.windowed:
        return ""
    if not step.late:
        if step.last_day == step.day:
            return _("Due today, %(day)s.") % {"day": _day(step.day)}
        return _("Due today. If you do it later, it still counts until %(last)s.") % {
            "last": _day(step.last_day)}
    if step.optional:
        return _("Late (due %(due)s), but it still counts until %(last)s.") % {
            "due": _day(step.scheduled_on), "last": _day(step.last_day)}
    return _("Late (due %(due)s): today is the last day it counts.") % {
        "due": _day(step.scheduled_on)}


class CheckInForm(forms.Form):
    """The full daily check-in, built from the steps due that day."""

    local_date = forms.DateField(widget=forms.HiddenInput)
    satisfaction = forms.TypedChoiceField(
        choices=[(n, str(n)) for n in range(1, 6)], coerce=int, required=False,
        empty_value=None, widget=forms.RadioSelect,
        label=gettext_lazy("How satisfied are you with your plan? (1 = not at all, 5 = very)"),
    )
    itch = forms.IntegerField(
        min_value=0, max_value=10, required=False,
        label=gettext_lazy("Itch or discomfort today (0 = none, 10 = worst)"),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    side_effect = forms.ChoiceField(
        choices=SideEffect.choices, initial=SideEffect.NONE, widget=forms.RadioSelect,
        label=gettext_lazy("Side effects"),
    )
    side_effect_item = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, label=gettext_lazy("Which step caused it?")
    )
    side_effect_text = forms.CharField(
        max_length=300, required=False, label=gettext_lazy("What happened? (short)")
    )
    note = forms.CharField(
        max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2}),
        label=gettext_lazy("Anything else for your dermatologist?"),
    )

    def __init__(self, *args: object, steps: list[DueStep], ask_pulse: bool,
                 saved: SavedDay | None = None, partnership_question: str = "",
                 as_needed: list[DueStep] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.steps = steps
        self.as_needed = as_needed or []
        self.ask_pulse = ask_pulse
        self.partnership_question = partnership_question
        new_steps = {(s.item.pk, s.slot) for s in saved.new_steps} if saved else set()
        for step in steps:
            is_new = (step.item.pk, step.slot) in new_steps
            note = window_note(step)
            if step.windowed:
                # A dose: never pre-ticked Done; before its last day "Not yet" is no miss.
                initial = "not_yet" if step.optional else None
            else:  # a fresh form starts at Done; a step added since the check-in, unanswered
                initial = None if saved else "done"
            self.fields[step_field(step)] = forms.ChoiceField(
                choices=NOT_YET_CHOICES if step.optional else STATUS_CHOICES,
                widget=forms.RadioSelect, label=step.item.name, initial=initial,
                help_text=NEW_STEP_HELP if is_new else note,
            )
            self.fields[reason_field(step)] = forms.ChoiceField(
                choices=[("", _("Choose a reason")), *SkipReason.choices], required=False,
                label=_("Why was %(name)s skipped?") % {"name": step.item.name},
            )
            if step.windowed:
                self.fields[taken_field(step)] = forms.DateField(
                    required=False, initial=step.day,
                    widget=forms.DateInput(attrs={"type": "date",
                                                  "min": step.scheduled_on.isoformat(),
                                                  "max": step.day.isoformat()}),
                    label=_("Day you did %(name)s") % {"name": step.item.name},
                    help_text=_("If done: today, or the earlier day you did it."),
                )
        for step in self.as_needed:
            self.fields[used_field(step)] = forms.BooleanField(
                required=False, label=_("I used %(name)s") % {"name": step.item.name},
            )
        self.fields["side_effect_item"].choices = [
            ("", _("Not sure")), *_side_effect_steps([*steps, *self.as_needed], saved)
        ]
        if ask_pulse:
            for name in PULSE_FIELDS:
                self.fields[f"pulse_{name}"] = forms.TypedChoiceField(
                    choices=[(n, str(n)) for n in range(11)], coerce=int, required=False,
                    empty_value=None, widget=forms.RadioSelect,
                    label=AlliancePulse.QUESTIONS[name],
                )

        if partnership_question:
            self.fields["partnership"] = forms.TypedChoiceField(
                choices=[(n, str(n)) for n in range(11)], coerce=int, required=False,
                empty_value=None, widget=forms.RadioSelect,
                label=PARTNERSHIP_QUESTIONS[partnership_question], help_text=PARTNERSHIP_HELP,
                error_messages={"invalid_choice": _("Choose a number from 0 to 10, or leave "
                                                    "it blank to skip this week.")},
            )

    def partnership_field(self) -> forms.BoundField | None:
        return self["partnership"] if self.partnership_question else None

    def partnership(self) -> int | None:
        return self.cleaned_data.get("partnership") if self.partnership_question else None

    def step_rows(self) -> list[tuple[DueStep, forms.BoundField, forms.BoundField,
                                      forms.BoundField | None]]:
        return [(s, self[step_field(s)], self[reason_field(s)],
                 self[taken_field(s)] if s.windowed else None) for s in self.steps]

    def as_needed_rows(self) -> list[tuple[DueStep, forms.BoundField]]:
        return [(s, self[used_field(s)]) for s in self.as_needed]

    def pulse_fields(self) -> list[forms.BoundField]:
        return [self[f"pulse_{name}"] for name in PULSE_FIELDS] if self.ask_pulse else []

    def clean(self) -> dict:
        data = super().clean()
        for step in self.steps:
            if data.get(step_field(step)) == "skipped" and not data.get(reason_field(step)):
                self.add_error(reason_field(step), _("Tell us why %(name)s was skipped.")
                               % {"name": step.item.name})
            taken = data.get(taken_field(step)) if step.windowed else None
            if taken and data.get(step_field(step)) == "done" and not (
                    step.scheduled_on <= taken <= step.day):
                self.add_error(taken_field(step), _(
                    "Give a day from %(first)s to %(last)s: a dose counts from the day it "
                    "was due.") % {"first": _day(step.scheduled_on), "last": _day(step.day)})
        if self.ask_pulse:
            answered = [data.get(f"pulse_{n}") is not None for n in PULSE_FIELDS]
            if any(answered) and not all(answered):
                raise forms.ValidationError(
                    _("Answer all four partnership questions, or leave all four for next time.")
                )
        return data

    def answers(self) -> list[StepAnswer]:
        answers = []
        for step in self.steps:
            done = self.cleaned_data[step_field(step)] == "done"
            answers.append(StepAnswer(
                item_id=step.item.pk, slot=step.slot, done=done,
                skip_reason="" if done or step.optional
                else self.cleaned_data.get(reason_field(step)) or "",
                taken_on=self.cleaned_data.get(taken_field(step)) if done and step.windowed
                else None,
            ))
        answers += [StepAnswer(item_id=step.item.pk, slot=step.slot, done=True)
                    for step in self.as_needed if self.cleaned_data.get(used_field(step))]
        return answers

    def wellbeing(self) -> Wellbeing:
        data = self.cleaned_data
        return Wellbeing(
            satisfaction=data.get("satisfaction"), itch=data.get("itch"),
            side_effect=data["side_effect"], side_effect_item_id=data.get("side_effect_item"),
            side_effect_text=data.get("side_effect_text", ""), note=data.get("note", ""),
        )

    def pulse(self) -> dict[str, int] | None:
        if not self.ask_pulse or self.cleaned_data.get("pulse_heard") is None:
            return None
        return {name: self.cleaned_data[f"pulse_{name}"] for name in PULSE_FIELDS}


def _side_effect_steps(steps: list[DueStep], saved: SavedDay | None) -> list[tuple[int, str]]:
    """The day's steps: those due now, then those answered before a revision took them out."""
    items = {step.item.pk: step.item.name for step in steps}
    for log in saved.no_longer_due if saved else []:
        items.setdefault(log.item_id, NO_LONGER_IN_PLAN % {"name": log.item.name})
    return list(items.items())


def initial_from(saved: SavedDay | None, local_date: date) -> dict:
    """Pre-fill the form with what the patient already logged that day, step by step as the
    plan is now (steps added since are left unanswered)."""
    initial: dict[str, object] = {"local_date": local_date}
    if saved is None:
        return initial
    for (item_id, slot), log in saved.answers.items():
        if slot == AS_NEEDED:
            initial[f"used_{item_id}"] = log.done
            continue
        initial[f"step_{item_id}_{slot}"] = "done" if log.done else "skipped"
        initial[f"reason_{item_id}_{slot}"] = log.skip_reason
        if log.taken_on:
            initial[f"taken_{item_id}_{slot}"] = log.taken_on
    checkin = saved.checkin
    initial.update(
        satisfaction=checkin.satisfaction, itch=checkin.itch, side_effect=checkin.side_effect,
        side_effect_item=saved.side_effect_item_id, side_effect_text=checkin.side_effect_text,
        note=checkin.note,
    )
    if checkin.partnership is not None:
        initial["partnership"] = checkin.partnership
    pulse = getattr(checkin, "pulse", None)
    if pulse is not None:
        initial.update({f"pulse_{name}": getattr(pulse, name) for name in PULSE_FIELDS})
    return initial
