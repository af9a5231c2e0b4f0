"""The care plan templates the demo hands out, as data: four conditions (acne, eczema, rosacea,
psoriasis), each with the goals a patient might name and a concern they might raise, and eight
templates of two or three revisions built from the steps below (``step`` names the same step
across revisions).

Besides daily and weekday steps, the templates hold every schedule kind a clinic uses
(``careplans/schedule.py``): a dupilumab pen every 2 weeks with a 3-day window for a late dose
(eczema), hydrocortisone "when needed" (eczema, once the flare has settled), a monthly liver
blood test on the 1st with a 5-day window (acne on isotretinoin) and 12-week doxycycline courses
that end on a date (acne flare, rosacea).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from careplans.models import ConcernCategory, Frequency, ItemKind, TimeOfDay

# --- Care plan templates -------------------------------------------------------------------------
# Plausible, generic regimens for demo data only; no licensed questionnaire content.


@dataclass(frozen=True, eq=False)
class StepSpec:
    """One plan item of a template; ``step`` names "the same step" across revisions."""

    step: str
    kind: str
    name: str
    instructions: str
    time_of_day: str
    minutes: int
    monthly_cost: Decimal  # in GBP; priced per currency with PRICE_LEVEL
    frequency: str = Frequency.DAILY
    weekdays: str = ""
    every_n_days: int | None = None
    every_n_weeks: int | None = None
    day_of_month: int | None = None
    window_days: int | None = None
    course_days: int | None = None  # a course: ends this many days after it starts (inclusive)
    ramp_every_n_days: int | None = None
    ramp_days: int | None = None
    contains_fragrance: bool = False
    animal_derived: bool = False
    pregnancy_unsafe: bool = False

    @property
    def key(self) -> str:  # what the fit check names a conflicting item by
        return self.step


@dataclass(frozen=True, eq=False)
class RevisionSpec:
    reason: str
    steps: tuple[StepSpec, ...]


@dataclass(frozen=True, eq=False)
class ConcernSpec:
    step: str
    category: str
    text: str
    reply: str


@dataclass(frozen=True, eq=False)
class Condition:
    name: str
    goals: tuple[str, ...]
    concern: ConcernSpec


@dataclass(frozen=True, eq=False)
class PlanTemplate:
    condition: Condition
    revisions: tuple[RevisionSpec, ...]
    concern: ConcernSpec | None = None  # instead of the condition's (a step the plan has)

    @property
    def patient_concern(self) -> ConcernSpec:
        return self.concern or self.condition.concern


ITEM_FIELDS = (
    "kind", "name", "instructions", "time_of_day", "frequency", "weekdays", "every_n_days",
    "every_n_weeks", "day_of_month", "window_days", "ramp_every_n_days", "ramp_days", "minutes",
    "monthly_cost", "contains_fragrance", "animal_derived", "pregnancy_unsafe",
)
MORNING, EVENING, BOTH = TimeOfDay.MORNING, TimeOfDay.EVENING, TimeOfDay.BOTH

ACNE_CLEANSER = StepSpec(
    "cleanser", ItemKind.SKINCARE, "Gentle foaming cleanser",
    "Wash with lukewarm water, then pat dry. No scrubs or flannels.", BOTH, 2, Decimal("6.00"),
)
BENZOYL_PEROXIDE = StepSpec(
    "benzoyl-peroxide", ItemKind.TOPICAL, "Benzoyl peroxide 4% wash",
    "Lather onto the spotty areas, leave for a minute, then rinse. It can bleach towels and "
    "pillowcases.", MORNING, 2, Decimal("7.50"),
)
ADAPALENE = StepSpec(
    "adapalene", ItemKind.TOPICAL, "Adapalene 0.1% gel",
    "A pea-sized amount spread thinly over the whole face on dry skin. Alternate nights for "
    "14 days, then nightly.", EVENING, 1, Decimal("18.50"),
    ramp_every_n_days=2, ramp_days=14, pregnancy_unsafe=True,
)
ADAPALENE_GENERIC = StepSpec(
    "adapalene", ItemKind.TOPICAL, "Adapalene 0.1% gel (generic)",
    "Same medicine, lower price: a pea-sized amount spread thinly over the whole face on dry "
    "skin, every night.", EVENING, 1, Decimal("6.50"),
    ramp_every_n_days=2, ramp_days=14, pregnancy_unsafe=True,
)
SPF_MOISTURISER = StepSpec(
    "spf", ItemKind.SKINCARE, "SPF 30 moisturiser",
    "Last step every morning, cloudy days too: adapalene makes skin burn more easily.",
    MORNING, 1, Decimal("9.00"),
)
DOXYCYCLINE = StepSpec(
    "doxycycline", ItemKind.ORAL, "Doxycycline 100 mg capsule",
    "One capsule with breakfast and a full glass of water; stay upright for 30 minutes "
    "afterwards. Use sun protection. A 12-week course: it stops on its end date.", MORNING, 1,
    Decimal("4.00"), course_days=12 * 7, pregnancy_unsafe=True,
)
ISOTRETINOIN = StepSpec(
    "isotretinoin", ItemKind.ORAL, "Isotretinoin 20 mg capsule",
    "One capsule with your evening meal. No pregnancy while taking it and for a month after; "
    "do not give blood.", EVENING, 1, Decimal("9.90"), pregnancy_unsafe=True,
)
LIP_BALM = StepSpec(
    "lip-balm", ItemKind.SKINCARE, "Lip balm (petroleum jelly)",
    "Isotretinoin dries the lips: apply morning and night, and whenever they feel tight.",
    BOTH, 1, Decimal("3.00"),
)
SPF_ON_ISOTRETINOIN = StepSpec(
    "spf", ItemKind.SKINCARE, "SPF 30 moisturiser",
    "Last step every morning, cloudy days too: isotretinoin makes skin burn more easily.",
    MORNING, 1, Decimal("9.00"),
)
LIVER_BLOOD_TEST = StepSpec(
    "blood-test", ItemKind.PROCEDURE, "Blood test: liver function and lipids",
    "At your GP surgery or the hospital phlebotomy clinic, in the first days of each month "
    "(fasting not needed). Log it on the day you have it; within 5 days of the 1st still counts.",
    MORNING, 1, Decimal("0.00"), frequency=Frequency.MONTHLY, day_of_month=1, window_days=5,
)
SOAP_SUBSTITUTE = StepSpec(
    "soap-substitute", ItemKind.SKINCARE, "Soap-free wash",
    "Use instead of soap or shower gel; pat dry gently.", MORNING, 2, Decimal("5.00"),
)
EMOLLIENT_CREAM = StepSpec(
    "emollient", ItemKind.SKINCARE, "Emollient cream",
    "Smooth on generously in the direction of hair growth, on clear skin too. Reapply after "
    "washing.", BOTH, 3, Decimal("8.00"),
)
EMOLLIENT_OINTMENT = StepSpec(
    "emollient", ItemKind.SKINCARE, "Emollient ointment with lanolin",
    "Richer than the cream: use it generously on dry areas, morning and night.",
    BOTH, 3, Decimal("9.50"), animal_derived=True,
)
HYDROCORTISONE = StepSpec(
    "hydrocortisone", ItemKind.TOPICAL, "Hydrocortisone 1% cream",
    "A thin layer on red, itchy flare areas only, once a day until calm (up to 7 days). Leave "
    "30 minutes between it and the emollient.", EVENING, 2, Decimal("4.50"),
)
HYDROCORTISONE_AS_NEEDED = StepSpec(
    "hydrocortisone", ItemKind.TOPICAL, "Hydrocortisone 1% cream",
    "Only when a patch flares: a thin layer on the red, itchy area once a day, for up to 7 "
    "days. Log each time you use it.", EVENING, 2, Decimal("2.50"),
    frequency=Frequency.AS_NEEDED,
)
DUPILUMAB = StepSpec(
    "dupilumab", ItemKind.INJECTION, "Dupilumab 300 mg pen",
    "One pen under the skin of the thigh or tummy every 2 weeks, rotating the site; take it "
    "out of the fridge 45 minutes before. Up to 3 days late still counts; later than that, "
    "call the clinic.", MORNING, 5, Decimal("0.00"),
    frequency=Frequency.EVERY_N_WEEKS, every_n_weeks=2, window_days=3,
)
BLEACH_BATH = StepSpec(
    "bleach-bath", ItemKind.SKINCARE, "Dilute bleach bath",
    "Half a cup (120 ml) of plain household bleach in a full bath; soak for 10 minutes, rinse, "
    "pat dry, then apply the emollient.", EVENING, 15, Decimal("1.50"),
    frequency=Frequency.WEEKDAYS, weekdays="03",
)
ROSACEA_CLEANSER = StepSpec(
    "cleanser", ItemKind.SKINCARE, "Gentle non-foaming cleanser",
    "Massage in with fingertips and rinse with cool water; avoid hot water.",
    BOTH, 2, Decimal("7.00"),
)
AZELAIC_ACID = StepSpec(
    "azelaic-acid", ItemKind.TOPICAL, "Azelaic acid 15% gel",
    "A thin layer over the whole face after cleansing. Mild tingling in the first weeks is "
    "common.", BOTH, 1, Decimal("16.00"),
)
AZELAIC_ACID_ONCE = StepSpec(
    "azelaic-acid", ItemKind.TOPICAL, "Azelaic acid 15% gel",
    "Once a day for now, in the evening: a thin layer over the whole face after cleansing.",
    EVENING, 1, Decimal("12.00"),
)
IVERMECTIN = StepSpec(
    "ivermectin", ItemKind.TOPICAL, "Ivermectin 1% cream",
    "A pea-sized amount on each area (forehead, chin, nose, each cheek), once a day.",
    EVENING, 1, Decimal("22.00"), pregnancy_unsafe=True,
)
DOXYCYCLINE_40 = StepSpec(
    "doxycycline", ItemKind.ORAL, "Doxycycline 40 mg modified-release capsule",
    "One capsule each morning with a full glass of water, for 12 weeks: it stops on its end "
    "date. Use sun protection.", MORNING, 1, Decimal("9.90"), course_days=12 * 7,
    pregnancy_unsafe=True,
)
MINERAL_SPF = StepSpec(
    "spf", ItemKind.SKINCARE, "Mineral SPF 50 sunscreen",
    "Every morning, all year round: sun is a common rosacea trigger.", MORNING, 1,
    Decimal("12.00"),
)
PSORIASIS_EMOLLIENT = StepSpec(
    "emollient", ItemKind.SKINCARE, "Emollient cream",
    "Generously on the plaques and dry skin; it softens scale so the treatments work better.",
    BOTH, 3, Decimal("8.00"),
)
CALCIPOTRIOL_FOAM = StepSpec(
    "calcipotriol-foam", ItemKind.TOPICAL, "Calcipotriol/betamethasone foam",
    "Once a day on the plaques only; not on the face, groin or skin folds. Wash your hands "
    "afterwards.", EVENING, 2, Decimal("28.00"),
)
CALCIPOTRIOL_FOAM_TWICE_WEEKLY = StepSpec(
    "calcipotriol-foam", ItemKind.TOPICAL, "Calcipotriol/betamethasone foam",
    "Twice a week, on the places where plaques were, to stop them coming back.",
    EVENING, 2, Decimal("14.00"), frequency=Frequency.WEEKDAYS, weekdays="25",
)
COAL_TAR_SHAMPOO = StepSpec(
    "coal-tar-shampoo", ItemKind.TOPICAL, "Coal tar shampoo",
    "Instead of your usual shampoo: massage into the scalp, leave for 5 minutes, rinse well.",
    EVENING, 5, Decimal("6.00"), frequency=Frequency.EVERY_N_DAYS, every_n_days=3,
    contains_fragrance=True,
)
COAL_TAR_SHAMPOO_EVERY_OTHER_DAY = StepSpec(
    "coal-tar-shampoo", ItemKind.TOPICAL, "Coal tar shampoo",
    "Every other day for now: massage into the scalp, leave for 5 minutes, rinse well.",
    EVENING, 5, Decimal("9.00"), frequency=Frequency.EVERY_N_DAYS, every_n_days=2,
    contains_fragrance=True,
)

ACNE = Condition("acne", (
    "Clear skin for my wedding in June.",
    "To stop feeling self-conscious on video calls at work.",
    "Not having to hide behind make-up every day.",
    "Fewer spots before I start university.",
), ConcernSpec(
    "benzoyl-peroxide", ConcernCategory.IRRITATING,
    "The wash leaves my skin tight and flaky by lunchtime.",
    "That is common in the first weeks. Rinse it off after a minute and use the moisturiser "
    "straight after; if it is still flaky in two weeks, tell us and we will change the plan.",
))
ECZEMA = Condition("eczema", (
    "Sleeping through the night without scratching.",
    "Hands that don't crack and bleed at work.",
    "Swimming with my kids again without a flare afterwards.",
    "Wearing wool jumpers again.",
), ConcernSpec(
    "emollient", ConcernCategory.NO_TIME,
    "I can't find time for the cream in the mornings before work.",
    "The evening layer matters most. In the morning, just do your hands and face: that takes "
    "a minute.",
))
ROSACEA = Condition("rosacea", (
    "Less redness when I present at work.",
    "Going for a run without my face burning for hours.",
    "People to stop asking if I'm sunburnt.",
), ConcernSpec(
    "spf", ConcernCategory.TOO_EXPENSIVE, "The mineral sunscreen costs more than I expected.",
    "Any fragrance-free SPF 30 or higher works; a supermarket own-brand one is fine.",
))
PSORIASIS = Condition("psoriasis", (
    "Wearing short sleeves this summer.",
    "No more flakes on my dark work clothes.",
    "Playing football without worrying about my knees showing.",
), ConcernSpec(
    "coal-tar-shampoo", ConcernCategory.UNCLEAR,
    "Do I use the shampoo instead of my normal one, or as well?",
    "Instead of your normal shampoo on the days it is due; on the other days use your usual one.",
))

ACNE_ISOTRETINOIN_CONCERN = ConcernSpec(
    "lip-balm", ConcernCategory.OTHER, "My lips are so dry they crack at the corners.",
    "That is the commonest effect of isotretinoin. Use the balm every couple of hours and a "
    "thick layer at night; tell us if they bleed.",
)
ACNE_START = RevisionSpec(
    "Your first plan: a gentle routine to clear spots and stop new ones forming.",
    (ACNE_CLEANSER, BENZOYL_PEROXIDE, ADAPALENE, SPF_MOISTURISER),
)
ACNE_GENERIC = RevisionSpec(
    "Switched to the generic adapalene to fit your budget.",
    (ACNE_CLEANSER, BENZOYL_PEROXIDE, ADAPALENE_GENERIC, SPF_MOISTURISER),
)
ACNE_FLARE = RevisionSpec(
    "Added doxycycline for up to 12 weeks to calm the inflamed spots faster.",
    (ACNE_CLEANSER, BENZOYL_PEROXIDE, ADAPALENE_GENERIC, SPF_MOISTURISER, DOXYCYCLINE),
)
ACNE_ISOTRETINOIN = RevisionSpec(
    "Your spots kept leaving marks despite the creams, so you have started isotretinoin; it "
    "needs a blood test at the start of each month.",
    (ACNE_CLEANSER, ISOTRETINOIN, LIP_BALM, SPF_ON_ISOTRETINOIN, LIVER_BLOOD_TEST),
)
ECZEMA_START = RevisionSpec(
    "Your first plan: repair your skin barrier and calm the flare.",
    (SOAP_SUBSTITUTE, EMOLLIENT_CREAM, HYDROCORTISONE),
)
ROSACEA_START = RevisionSpec(
    "Your first plan: calm the redness and protect your skin from triggers.",
    (ROSACEA_CLEANSER, AZELAIC_ACID, MINERAL_SPF),
)
ROSACEA_START_WITH_COURSE = RevisionSpec(
    "Your first plan: calm the redness and the bumps, with a 12-week course of low-dose "
    "doxycycline.",
    (ROSACEA_CLEANSER, AZELAIC_ACID, MINERAL_SPF, DOXYCYCLINE_40),
)
PSORIASIS_START = RevisionSpec(
    "Your first plan: flatten the plaques and clear the scaling on your scalp.",
    (PSORIASIS_EMOLLIENT, CALCIPOTRIOL_FOAM, COAL_TAR_SHAMPOO),
)
PSORIASIS_MAINTENANCE = RevisionSpec(
    "Your plaques have flattened, so the foam is now twice a week to keep them away.",
    (PSORIASIS_EMOLLIENT, CALCIPOTRIOL_FOAM_TWICE_WEEKLY, COAL_TAR_SHAMPOO),
)

ACNE_PLAN_WITH_ISOTRETINOIN = PlanTemplate(ACNE, (ACNE_START, ACNE_ISOTRETINOIN),
                                           concern=ACNE_ISOTRETINOIN_CONCERN)
ECZEMA_PLAN_WITH_DUPILUMAB = PlanTemplate(ECZEMA, (ECZEMA_START, RevisionSpec(
    "Started dupilumab injections every 2 weeks because the flares kept coming back despite "
    "the creams; the richer ointment stays, and the hydrocortisone is now only for a patch that "
    "flares.", (SOAP_SUBSTITUTE, EMOLLIENT_OINTMENT, HYDROCORTISONE_AS_NEEDED, DUPILUMAB),
)))
ACNE_PLAN_WITH_DOXYCYCLINE = PlanTemplate(ACNE, (ACNE_START, ACNE_GENERIC, ACNE_FLARE))
TEMPLATES: tuple[PlanTemplate, ...] = (
    ACNE_PLAN_WITH_ISOTRETINOIN,
    ACNE_PLAN_WITH_DOXYCYCLINE,
    PlanTemplate(ECZEMA, (ECZEMA_START, RevisionSpec(
        "Added a dilute bleach bath twice a week to cut down the skin infections that set off "
        "your flares; the hydrocortisone is now only for a patch that flares.",
        (SOAP_SUBSTITUTE, EMOLLIENT_CREAM, HYDROCORTISONE_AS_NEEDED, BLEACH_BATH),
    ))),
    ECZEMA_PLAN_WITH_DUPILUMAB,
    PlanTemplate(ROSACEA, (ROSACEA_START, RevisionSpec(
        "Added ivermectin cream at night for the bumps that azelaic acid alone did not clear.",
        (ROSACEA_CLEANSER, AZELAIC_ACID, MINERAL_SPF, IVERMECTIN),
    ))),
    PlanTemplate(ROSACEA, (ROSACEA_START_WITH_COURSE, RevisionSpec(
        "Azelaic acid once a day instead of twice, because it was stinging; the doxycycline "
        "course carries on until its end date.",
        (ROSACEA_CLEANSER, AZELAIC_ACID_ONCE, MINERAL_SPF, DOXYCYCLINE_40),
    ))),
    PlanTemplate(PSORIASIS, (PSORIASIS_START, PSORIASIS_MAINTENANCE)),
    PlanTemplate(PSORIASIS, (PSORIASIS_START, RevisionSpec(
        "The shampoo is now every other day, because the scalp scaling came back quickly.",
        (PSORIASIS_EMOLLIENT, CALCIPOTRIOL_FOAM, COAL_TAR_SHAMPOO_EVERY_OTHER_DAY),
    ), RevisionSpec(
        "Your plaques have flattened, so the foam is now twice a week to keep them away.",
        (PSORIASIS_EMOLLIENT, CALCIPOTRIOL_FOAM_TWICE_WEEKLY, COAL_TAR_SHAMPOO_EVERY_OTHER_DAY),
    ))),
)
