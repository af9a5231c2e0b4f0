"""The portal's own published Questionnaires: the daily check-in and the alliance pulse.

Both are ours, in our own words (the pulse is not a licensed instrument:
docs, /work/shared/domain-notes.md "Instruments and licences"). A QuestionnaireResponse names
one of them by canonical ``url|version``; every linkId it answers is defined here, once.
Bump a version when an item changes meaning; keep the old linkIds readable.

Step logs (adherence per step) are an item group per step inside the check-in's response
(``steps`` → ``step``: key, name, routine, done, skip reason, date taken, counted). Why: a step
log only means something within its day's check-in (the steps due that day, the day's
counts); the group keeps them together in the one resource the patient submitted, costs no
extra resource per step (a 10,000-patient export would otherwise carry millions of tiny
Observations), and a reader who wants per-step adherence sums ``done`` over ``counted`` steps
by ``step.key`` (the same step across plan revisions), as ``checkins/adherence.py`` does.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from django.utils import translation

from checkins.models import PARTNERSHIP_QUESTIONS, SideEffect, SkipReason

CANONICAL_BASE = "https://alliance-portal.example/fhir/Questionnaire"
CHECKIN_ID = "alliance-checkin"
PULSE_ID = "alliance-pulse"
CHECKIN_VERSION = "1"
PULSE_VERSION = "1"
CHECKIN_URL = f"{CANONICAL_BASE}/{CHECKIN_ID}"
PULSE_URL = f"{CANONICAL_BASE}/{PULSE_ID}"
CHECKIN_CANONICAL = f"{CHECKIN_URL}|{CHECKIN_VERSION}"
PULSE_CANONICAL = f"{PULSE_URL}|{PULSE_VERSION}"
ANSWER_SYSTEM = "https://alliance-portal.example/fhir/CodeSystem/"
SLOT_SYSTEM = ANSWER_SYSTEM + "routine"
SKIP_REASON_SYSTEM = ANSWER_SYSTEM + "skip-reason"
SIDE_EFFECT_SYSTEM = ANSWER_SYSTEM + "side-effect"
PARTNERSHIP_SYSTEM = ANSWER_SYSTEM + "partnership-question"
SLOTS = {"morning": "Morning", "evening": "Evening", "as_needed": "When needed"}
PULSE_LINK_IDS = tuple(PARTNERSHIP_QUESTIONS)  # heard, shared_goals, fits_life, safe_to_raise


def _options(system: str, choices: Any) -> list[dict[str, Any]]:
    return [{"valueCoding": {"system": system, "code": str(value), "display": str(label)}}
            for value, label in choices]


def _item(link_id: str, text: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"linkId": link_id, "text": text, "type": kind, **extra}


def _score(link_id: str, text: str, low: int, high: int) -> dict[str, Any]:
    """An integer rated from ``low`` to ``high`` (minValue/maxValue extensions)."""
    return _item(link_id, text, "integer", extension=[
        {"url": "http://hl7.org/fhir/StructureDefinition/minValue", "valueInteger": low},
        {"url": "http://hl7.org/fhir/StructureDefinition/maxValue", "valueInteger": high},
    ])


def _published(resource_id: str, url: str, version: str, title: str, description: str,
               items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Questionnaire", "id": resource_id, "url": url, "version": version,
        "name": resource_id.replace("-", "_").title().replace("_", ""), "title": title,
        "status": "active", "subjectType": ["Patient"], "language": "en",
        "publisher": "Alliance Portal", "description": description,
        "copyright": "Written for Alliance Portal; free to use. Not a licensed instrument.",
        "item": items,
    }


def checkin_questionnaire() -> dict[str, Any]:
    """The daily check-in, as the patient answers it (English: the published wording)."""
    return copy.deepcopy(_checkin_questionnaire())


def pulse_questionnaire() -> dict[str, Any]:
    """The alliance pulse: four 0-10 questions in our own words, and their total."""
    return copy.deepcopy(_pulse_questionnaire())


@cache
def _checkin_questionnaire() -> dict[str, Any]:
    with translation.override("en"):
        step = _item("step", "A step of the plan", "group", repeats=True, item=[
            _item("step.key", "Which step (the same across plan revisions)", "string"),
            _item("step.name", "The step's name", "string"),
            _item("step.slot", "Routine", "choice",
                  answerOption=_options(SLOT_SYSTEM, SLOTS.items())),
            _item("step.done", "Done", "boolean"),
            _item("step.skip-reason", "Why it was skipped", "choice",
                  answerOption=_options(SKIP_REASON_SYSTEM, SkipReason.choices)),
            _item("step.taken-on", "The date it was done", "date"),
            _item("step.counted", "Counted in the day's steps due (not an as-needed use)",
                  "boolean"),
        ])
        items = [
            _item("steps", "The day's steps", "group", item=[
                _item("steps.due", "Steps due", "integer"),
                _item("steps.done", "Steps done", "integer"),
                step,
            ]),
            _score("satisfaction", "How satisfied are you with your plan? (1-5)", 1, 5),
            _score("itch", "Itch or discomfort today (0-10)", 0, 10),
            _item("side-effect", "Side effects", "group", item=[
                _item("side-effect.severity", "How bad", "choice",
                      answerOption=_options(SIDE_EFFECT_SYSTEM, SideEffect.choices)),
                _item("side-effect.step", "Which step you think caused it", "string"),
                _item("side-effect.text", "What happened", "string"),
            ]),
            _item("note", "Anything else", "text"),
            _item("partnership", "The week's partnership question", "group", item=[
                _item("partnership.question", "Question", "choice",
                      answerOption=_options(PARTNERSHIP_SYSTEM, PARTNERSHIP_QUESTIONS.items())),
                _score("partnership.answer", "Answer (0-10)", 0, 10),
            ]),
        ]
        return _published(CHECKIN_ID, CHECKIN_URL, CHECKIN_VERSION, "Daily check-in",
                          "What the patient did of their plan today, skipped and why, and "
                          "how they feel.", items)


@cache
def _pulse_questionnaire() -> dict[str, Any]:
    with translation.override("en"):
        items = [_score(link_id, str(text), 0, 10)
                 for link_id, text in PARTNERSHIP_QUESTIONS.items()]
        items.append(_score("total", "Total (0-40)", 0, 40))
        return _published(PULSE_ID, PULSE_URL, PULSE_VERSION, "Alliance pulse",
                          "How the partnership with the care team feels, in four questions "
                          "(0 = not at all, 10 = completely).", items)


def questionnaires() -> list[dict[str, Any]]:
    return [checkin_questionnaire(), pulse_questionnaire()]


def link_ids(questionnaire: dict[str, Any]) -> set[str]:
    """Every linkId a Questionnaire defines, nested ones included."""
    found: set[str] = set()
    stack = list(questionnaire["item"])
    while stack:
        item = stack.pop()
        found.add(item["linkId"])
        stack.extend(item.get("item", []))
    return found
