"""Demo catalogue and regimen templates: common dermatology products and medicines by generic
name, with plausible monthly prices (GBP, converted for a clinic in another currency), cheaper
generics where a product has one, the properties the fit check reads, and four templates.

``seed_catalogue(clinic)`` is idempotent: an item or template already there (by name, any
case) is left as the clinic may have edited it, and a template's steps are added only when it
is created. Prices are what a patient typically pays a month (a prescription charge of 9.90
for prescribed medicines, shelf prices for pharmacy products, 0 for hospital-supplied ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction

from accounts.models import Clinic
from catalogue.models import CatalogueItem, RegimenTemplate, TemplateStep

# Rough rates from GBP, rounded to a sensible step in that currency: good enough for a demo.
RATES = {"GBP": (Decimal("1"), Decimal("0.10")), "EUR": (Decimal("1.17"), Decimal("0.10")),
         "USD": (Decimal("1.27"), Decimal("0.10")), "AUD": (Decimal("1.93"), Decimal("0.10")),
         "NZD": (Decimal("2.10"), Decimal("0.10")), "INR": (Decimal("105"), Decimal("5")),
         "BRL": (Decimal("6.9"), Decimal("0.50"))}

PREGNANCY = {"pregnancy_unsafe": True}


@dataclass(frozen=True)
class Product:
    name: str
    kind: str
    time_of_day: str
    minutes: int
    gbp: str
    instructions: str
    frequency: str = "daily"
    weekdays: str = ""
    every_n_days: int | None = None
    every_n_weeks: int | None = None
    day_of_month: int | None = None
    window_days: int | None = None
    course_weeks: int | None = None
    generic: str = ""  # the name of the cheaper equivalent
    contains_fragrance: bool = False
    animal_derived: bool = False
    pregnancy_unsafe: bool = False


PRODUCTS: tuple[Product, ...] = (
    # Cleansing and moisturising
    Product("Gentle foaming cleanser", "skincare", "both", 2, "6.50",
            "Wash with lukewarm water, pat dry. Fragrance-free."),
    Product("Emollient wash (soap substitute)", "skincare", "both", 2, "4.50",
            "Use instead of soap and shower gel for washing."),
    Product("Ceramide moisturising cream", "skincare", "both", 2, "12.00",
            "Apply to the whole face and body after washing, smoothing in the direction of "
            "hair growth.", generic="Emollient cream (paraffin-based)"),
    Product("Emollient cream (paraffin-based)", "skincare", "both", 2, "5.50",
            "Apply generously to the whole body after washing, and whenever the skin feels "
            "dry."),
    Product("Emollient ointment (white soft paraffin and liquid paraffin)", "skincare", "both",
            3, "4.00", "A thick layer on very dry or cracked skin; greasy, best at night. "
                       "Keep away from flames: it soaks into fabric."),
    Product("Emollient ointment with wool fat (lanolin)", "skincare", "both", 3, "6.00",
            "On very dry patches. Contains lanolin from sheep's wool.", animal_derived=True),
    Product("Colloidal oatmeal cream", "skincare", "both", 2, "8.50",
            "Apply to itchy, dry areas as often as needed."),
    Product("Non-comedogenic moisturising lotion", "skincare", "both", 1, "9.00",
            "A light layer on the face; will not block pores.",
            generic="Non-comedogenic moisturising lotion (own-label)"),
    Product("Non-comedogenic moisturising lotion (own-label)", "skincare", "both", 1, "4.00",
            "A light layer on the face; will not block pores."),
    Product("Sunscreen SPF 50, mineral (zinc oxide)", "skincare", "morning", 1, "14.00",
            "Last step of the morning: two finger-lengths for face and neck; reapply every "
            "2 hours outdoors.", generic="Sunscreen SPF 50 (own-label)"),
    Product("Sunscreen SPF 50 (own-label)", "skincare", "morning", 1, "6.00",
            "Last step of the morning: two finger-lengths for face and neck; reapply every "
            "2 hours outdoors."),
    Product("Emollient bath additive (light liquid paraffin)", "skincare", "evening", 5, "7.00",
            "Add to a lukewarm bath; soak 10 minutes, pat dry. Careful: the bath gets "
            "slippery."),
    Product("Urea 10% cream", "skincare", "evening", 2, "8.00",
            "On thick, rough skin (heels, elbows), not on broken skin."),
    # Acne and rosacea
    Product("Benzoyl peroxide 5% gel", "topical", "morning", 1, "7.50",
            "A thin layer on the whole affected area after washing. Bleaches towels and "
            "clothes."),
    Product("Adapalene 0.1% gel (original brand)", "topical", "evening", 1, "18.00",
            "A pea-sized amount for the whole face, on dry skin. Not in pregnancy.",
            generic="Adapalene 0.1% gel (generic)", **PREGNANCY),
    Product("Adapalene 0.1% gel (generic)", "topical", "evening", 1, "9.50",
            "A pea-sized amount for the whole face, on dry skin. Not in pregnancy.",
            **PREGNANCY),
    Product("Tretinoin 0.025% cream", "topical", "evening", 1, "16.00",
            "A pea-sized amount on dry skin, 20 minutes after washing. Not in pregnancy.",
            **PREGNANCY),
    Product("Azelaic acid 15% gel", "topical", "morning", 1, "17.50",
            "A thin layer on the affected areas; tingling at first is common and settles."),
    Product("Clindamycin 1% gel (original brand)", "topical", "morning", 1, "11.00",
            "A thin layer on the affected areas. Use with benzoyl peroxide, not alone.",
            generic="Clindamycin 1% gel (generic)"),
    Product("Clindamycin 1% gel (generic)", "topical", "morning", 1, "6.00",
            "A thin layer on the affected areas. Use with benzoyl peroxide, not alone."),
    Product("Ivermectin 1% cream (original brand)", "topical", "evening", 1, "22.00",
            "A pea-sized amount for each part of the face (forehead, chin, nose, each cheek). "
            "Not in pregnancy.", generic="Ivermectin 1% cream (generic)", **PREGNANCY),
    Product("Ivermectin 1% cream (generic)", "topical", "evening", 1, "13.00",
            "A pea-sized amount for each part of the face (forehead, chin, nose, each cheek). "
            "Not in pregnancy.", **PREGNANCY),
    Product("Metronidazole 0.75% gel", "topical", "evening", 1, "9.00",
            "A thin layer on the affected areas of the face."),
    # Eczema and psoriasis
    Product("Hydrocortisone 1% cream", "topical", "evening", 1, "3.50",
            "A thin layer on inflamed areas only (one fingertip unit covers two palms), "
            "15 minutes after the emollient."),
    Product("Clobetasone butyrate 0.05% cream", "topical", "evening", 1, "6.50",
            "A thin layer on inflamed areas only, not the face unless told to."),
    Product("Mometasone furoate 0.1% ointment (original brand)", "topical", "evening", 1, "9.00",
            "A thin layer on the plaques only, once a day.",
            generic="Mometasone furoate 0.1% ointment (generic)"),
    Product("Mometasone furoate 0.1% ointment (generic)", "topical", "evening", 1, "4.50",
            "A thin layer on the plaques only, once a day."),
    Product("Tacrolimus 0.1% ointment (original brand)", "topical", "evening", 2, "58.00",
            "A thin layer where eczema usually flares; a warm or burning feeling in the first "
            "days is common.", generic="Tacrolimus 0.1% ointment (generic)"),
    Product("Tacrolimus 0.1% ointment (generic)", "topical", "evening", 2, "35.00",
            "A thin layer where eczema usually flares; a warm or burning feeling in the first "
            "days is common."),
    Product("Calcipotriol 50 micrograms/g ointment (original brand)", "topical", "morning", 2,
            "24.00", "A thin layer on the plaques; wash hands afterwards. At most 100 g a "
                     "week.", generic="Calcipotriol 50 micrograms/g ointment (generic)"),
    Product("Calcipotriol 50 micrograms/g ointment (generic)", "topical", "morning", 2, "15.00",
            "A thin layer on the plaques; wash hands afterwards. At most 100 g a week."),
    Product("Coal tar 4% shampoo", "topical", "evening", 5, "5.50",
            "Massage into the scalp, leave 5 minutes, rinse well. Has a tar scent.",
            frequency="weekdays", weekdays="03", contains_fragrance=True),
    # Tablets and injections
    Product("Cetirizine 10 mg tablets", "oral", "evening", 1, "2.00",
            "One tablet in the evening for itch; may make you drowsy."),
    Product("Doxycycline 100 mg capsules", "oral", "morning", 1, "9.90",
            "One capsule with a full glass of water, sitting or standing; not before lying "
            "down. Avoid strong sun. Not in pregnancy.", **PREGNANCY),
    Product("Lymecycline 408 mg capsules", "oral", "morning", 1, "9.90",
            "One capsule with a full glass of water. Not in pregnancy.", **PREGNANCY),
    Product("Isotretinoin 20 mg capsules", "oral", "evening", 1, "9.90",
            "With food. Pregnancy prevention programme: a negative test before each month's "
            "prescription; no blood donation.", **PREGNANCY),
    Product("Methotrexate 2.5 mg tablets (weekly dose)", "oral", "morning", 1, "9.90",
            "Once a WEEK on the same day, the number of tablets prescribed; never daily. "
            "Not in pregnancy (nor for 6 months before trying).",
            frequency="weekdays", weekdays="0", **PREGNANCY),
    Product("Folic acid 5 mg tablets", "oral", "morning", 1, "2.00",
            "One tablet once a week, on a different day from methotrexate.",
            frequency="weekdays", weekdays="3"),
    Product("Dupilumab 300 mg pre-filled pen", "injection", "morning", 5, "0.00",
            "Under the skin of the thigh or tummy every 2 weeks; supplied by the hospital's "
            "homecare service.", frequency="every_n_weeks", every_n_weeks=2, window_days=3),
    Product("Doxycycline 40 mg modified-release capsules", "oral", "morning", 1, "14.00",
            "One capsule each morning with a full glass of water, at least an hour before "
            "food; not before lying down. Avoid strong sun. Not in pregnancy.",
            course_weeks=12, **PREGNANCY),
    # Monitoring
    Product("Liver function blood test", "procedure", "morning", 15, "0.00",
            "A blood test of the liver and blood fats while taking isotretinoin, at the GP "
            "surgery or the hospital's blood test clinic; no need to fast.",
            frequency="monthly", day_of_month=1, window_days=5),
    # Habits
    Product("Fresh pillowcase", "lifestyle", "evening", 2, "0.00",
            "Change the pillowcase twice a week.", frequency="weekdays", weekdays="03"),
)


@dataclass(frozen=True)
class Step:
    product: str
    time_of_day: str | None = None  # None: the product's usual time
    frequency: str | None = None
    weekdays: str = ""
    every_n_days: int | None = None
    ramp_every_n_days: int | None = None
    ramp_days: int | None = None
    instructions: str = ""
    first_dose_after_days: int = 0


WINDOWED = ("every_n_weeks", "monthly", "once")
TEMPLATES: dict[str, tuple[str, tuple[Step, ...]]] = {
    "Acne starter": (
        "Mild to moderate acne: benzoyl peroxide in the morning, a retinoid at night that "
        "starts every third night and builds up to nightly over four weeks.",
        (
            Step("Gentle foaming cleanser"),
            Step("Benzoyl peroxide 5% gel"),
            Step("Non-comedogenic moisturising lotion (own-label)"),
            Step("Sunscreen SPF 50 (own-label)"),
            Step("Adapalene 0.1% gel (generic)", ramp_every_n_days=3, ramp_days=28,
                 instructions="Every third night for the first four weeks, then every night. "
                              "A pea-sized amount for the whole face, on dry skin."),
            Step("Fresh pillowcase"),
        ),
    ),
    "Atopic dermatitis maintenance": (
        "Keeping eczema quiet between flares: plenty of emollient, a soap substitute, and "
        "tacrolimus twice a week where it usually flares (proactive treatment).",
        (
            Step("Emollient wash (soap substitute)"),
            Step("Emollient cream (paraffin-based)"),
            Step("Emollient bath additive (light liquid paraffin)"),
            Step("Tacrolimus 0.1% ointment (generic)", frequency="weekdays", weekdays="03",
                 instructions="Monday and Thursday evenings, where the eczema usually flares, "
                              "even when the skin looks clear."),
            Step("Cetirizine 10 mg tablets"),
        ),
    ),
    "Psoriasis topical": (
        "Plaque psoriasis on the body and scalp: calcipotriol in the morning, a potent "
        "steroid at night, an emollient, and a tar shampoo twice a week.",
        (
            Step("Emollient ointment (white soft paraffin and liquid paraffin)"),
            Step("Calcipotriol 50 micrograms/g ointment (generic)"),
            Step("Mometasone furoate 0.1% ointment (generic)"),
            Step("Coal tar 4% shampoo"),
        ),
    ),
    "Rosacea": (
        "Papulopustular rosacea: ivermectin at night, azelaic acid in the morning starting on "
        "alternate days, a 12-week course of low-dose doxycycline, a gentle routine and daily "
        "sunscreen.",
        (
            Step("Gentle foaming cleanser"),
            Step("Azelaic acid 15% gel", ramp_every_n_days=2, ramp_days=14,
                 instructions="Alternate mornings for the first two weeks, then every morning. "
                              "Tingling at first is common and settles."),
            Step("Sunscreen SPF 50, mineral (zinc oxide)"),
            Step("Ivermectin 1% cream (generic)"),
            Step("Doxycycline 40 mg modified-release capsules"),
            Step("Ceramide moisturising cream", time_of_day="evening"),
        ),
    ),
}


def _price(gbp: str, currency: str) -> Decimal:
    rate, step = RATES.get(currency, RATES["GBP"])
    return ((Decimal(gbp) * rate) / step).quantize(Decimal("1"), ROUND_HALF_UP) * step


@transaction.atomic
def seed_catalogue(clinic: Clinic) -> dict[str, int]:
    """The demo catalogue and templates for ``clinic``; returns how many of each it added."""
    existing = {i.name.lower(): i for i in CatalogueItem.objects.filter(clinic=clinic)}
    added_items = 0
    for product in PRODUCTS:
        if product.name.lower() in existing:
            continue
        existing[product.name.lower()] = CatalogueItem.objects.create(
            clinic=clinic, name=product.name, kind=product.kind,
            instructions=product.instructions, time_of_day=product.time_of_day,
            frequency=product.frequency, weekdays=product.weekdays,
            every_n_days=product.every_n_days, every_n_weeks=product.every_n_weeks,
            day_of_month=product.day_of_month, window_days=product.window_days,
            course_weeks=product.course_weeks, minutes=product.minutes,
            monthly_cost=_price(product.gbp, clinic.currency),
            contains_fragrance=product.contains_fragrance,
            animal_derived=product.animal_derived, pregnancy_unsafe=product.pregnancy_unsafe,
        )
        added_items += 1
    for product in PRODUCTS:
        item = existing[product.name.lower()]
        if product.generic and item.generic_alternative_id is None:
            item.generic_alternative = existing[product.generic.lower()]
            item.save(update_fields=["generic_alternative"])
    added_templates = added_steps = 0
    for name, (description, steps) in TEMPLATES.items():
        if RegimenTemplate.objects.filter(clinic=clinic, name__iexact=name).exists():
            continue
        template = RegimenTemplate.objects.create(clinic=clinic, name=name,
                                                  description=description)
        added_templates += 1
        for position, step in enumerate(steps, start=1):
            item = existing[step.product.lower()]
            frequency = step.frequency or item.frequency
            TemplateStep.objects.create(
                template=template, position=position, catalogue_item=item,
                time_of_day=step.time_of_day or item.time_of_day, frequency=frequency,
                weekdays=(step.weekdays or item.weekdays) if frequency == "weekdays" else "",
                every_n_days=(step.every_n_days or item.every_n_days)
                if frequency == "every_n_days" else None,
                ramp_every_n_days=step.ramp_every_n_days, ramp_days=step.ramp_days,
                instructions=step.instructions,
                # A dated schedule and a course as the item usually has them.
                every_n_weeks=item.every_n_weeks if frequency == "every_n_weeks" else None,
                day_of_month=item.day_of_month if frequency == "monthly" else None,
                window_days=item.window_days if frequency in WINDOWED else None,
                course_weeks=item.course_weeks if frequency != "once" else None,
                first_dose_after_days=step.first_dose_after_days,
            )
            added_steps += 1
    return {"catalogue_items": added_items, "regimen_templates": added_templates,
            "template_steps": added_steps}
