"""Flag quality on a labelled cohort: recall on declines, false flags on stable patients.

    .venv/bin/python -m benchmarks.flag_quality [--seeds 5] [--per-shape 30] [--nights 35]
        [--database-url postgres://user@host:5432/any]

Not a test: a script run by hand that prints figures measured in one run. It builds a
throwaway database (default: SQLite in a temporary directory, migrated, so it runs without
services; with ``--database-url postgres://...`` a fresh PostgreSQL database next to the one
named, created with ``psql`` and dropped after), then per seed one clinic (Europe/London) with
the cohort of ``benchmarks/cohort.py`` (see its docstring for the shapes and how behaviour is
drawn): ``--per-shape`` patients of every shape, histories ending on ``END``, loaded with
``bulk_create`` (check-ins saved at 20:00 local on their day).

Then night by night, for as_of from ``END - nights + 1`` to ``END``: the real sweep
(``flags.sweep.sweep`` at 02:00 local the day after as_of, every clinic at once), and at 09:00
the clinic reviews every open flag (``flags.services.flag_resolve``: "not a concern" on stable
patients, "supported" on declining ones), so a finding that still holds reopens on the next
day's data and repeated alarms are counted.

Definitions (printed in the header):

- delay of a flag on a decline patient = as_of of the night it opened - onset + 1 (1: raised
  on the sweep that first saw the onset day's data); "caught within N days" = the first flag
  (any sweep rule) with as_of >= onset has delay <= N, i.e. as_of in [onset, onset + N - 1].
- median days to first flag: over caught-ever patients (any delay in the observed nights);
  "never" = not flagged at or after onset in the observed nights.
- false flags per stable patient-month = flags opened on stable patients / (observed
  patient-nights / 30); a patient-night is an observed as_of on or after the plan start.
  Flags on decline patients before onset are false flags too, on a line of their own.
- per shape: the figure over all seeds pooled, and the min-max of the per-seed figures.
  Stable rows also show episodes per patient-month (a flag re-opened by the same rule on the
  next night, because the finding still held after the morning's resolution, counted once)
  and the share of patients flagged at least once; the goal is judged on flags opened.
- per rule: flags opened per rule and shape (declines: before and after onset together).

SQLite and PostgreSQL give the same figures for the same seeds (the sweep's two paths decide
alike). The default run (5 seeds x 17 shapes x 30 patients, 35 nights) takes about two minutes
on SQLite here.

Goals (PASS/FAIL each; exit status 0 only when all pass): recall within 7 days >= 0.90 for
every decline shape; recall within 3 days >= 0.60 for the abrupt declines (``ABRUPT_SHAPES``);
<= 0.05 false flags per stable patient-month for every stable shape. The low-but-steady
satisfaction shape is its own row, without a goal. Prints counts and rates only, never a
patient's data. Exit status 2 when setup fails.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from benchmarks import cohort

END = date(2026, 11, 29)  # the last as_of swept (fixed: the same seed gives the same figures)
ZONE = "Europe/London"
SWEEP_AT, REVIEW_AT, SAVED_AT = clock(2, 0), clock(9, 0), clock(20, 0)
GOAL_RECALL_7, GOAL_RECALL_3, GOAL_FALSE_PER_MONTH = 0.90, 0.60, 0.05
MFA_TEST_KEY = "dGVzdC1vbmx5LW1mYS1rZXktbm90LWEtc2VjcmV0ISE="  # test-only (scripts/test)


# --- Loading the cohort ------------------------------------------------------------------------


@dataclass
class Loaded:
    """One seed's clinic: database ids of the simulated patients."""

    seed: int
    sensitivity: str
    clinic_id: int
    reviewer_id: int
    patients: dict[int, cohort.Patient]  # patient pk -> simulated patient


def _local(day: date, at: clock) -> datetime:
    return datetime.combine(day, at, tzinfo=ZoneInfo(ZONE))


def load(patients: list[cohort.Patient], *, seed: int, sensitivity: str) -> Loaded:
    """The seed's clinic (with this flag sensitivity), staff, dermatologist and patients with
    plans and check-ins, in bulk."""
    from django.db import transaction

    from accounts.models import Clinic, ClinicMembership, Patient, Role, User
    from careplans.models import CarePlan, PlanRevision
    from checkins.models import AlliancePulse, CheckIn
    from flags.models import FlagSettings

    tag = f"{sensitivity}-{seed}"
    with transaction.atomic():
        clinic = Clinic.objects.create(name=f"Flag quality {tag}", timezone=ZONE)
        FlagSettings.objects.create(clinic=clinic, sensitivity=sensitivity)
        derm = User.objects.create(email=f"derm-{tag}@quality.test")
        reviewer = User.objects.create(email=f"staff-{tag}@quality.test")
        ClinicMembership.objects.create(user=derm, clinic=clinic, role=Role.DERMATOLOGIST)
        ClinicMembership.objects.create(user=reviewer, clinic=clinic, role=Role.STAFF)
        emails = {f"p{tag}-{p.number}@quality.test": p for p in patients}
        User.objects.bulk_create(User(email=email) for email in emails)
        users = dict(User.objects.filter(email__in=emails).values_list("email", "pk"))
        Patient.objects.bulk_create(
            Patient(user_id=users[email], clinic=clinic, dermatologist=derm, timezone=ZONE)
            for email in emails)
        by_user = dict(Patient.objects.filter(clinic=clinic).values_list("user_id", "pk"))
        simulated = {by_user[users[email]]: p for email, p in emails.items()}
        CarePlan.objects.bulk_create(
            CarePlan(patient_id=pk, starts_on=p.plan_start, current_number=len(p.revisions))
            for pk, p in simulated.items())
        plans = dict(CarePlan.objects.filter(patient__clinic=clinic)
                     .values_list("patient_id", "pk"))
        PlanRevision.objects.bulk_create(
            PlanRevision(plan_id=plans[pk], number=number, author=derm, effective_from=start,
                         reviews_on=start + timedelta(weeks=12), reason="Simulated",
                         total_monthly_cost=0)
            for pk, p in simulated.items() for number, start in enumerate(p.revisions, 1))
        revisions = {(plan, number): pk for plan, number, pk in PlanRevision.objects
                     .filter(plan__patient__clinic=clinic)
                     .values_list("plan_id", "number", "pk")}
        CheckIn.objects.bulk_create((
            CheckIn(patient_id=pk, local_date=d.local_date,
                    revision_id=revisions[plans[pk], d.revision], steps_due=d.steps_due,
                    steps_done=d.steps_done, satisfaction=d.satisfaction,
                    partnership_question=d.partnership_question, partnership=d.partnership,
                    created_at=_local(d.local_date, SAVED_AT),
                    updated_at=_local(d.local_date, SAVED_AT))
            for pk, p in simulated.items() for d in p.days), batch_size=5000)
        ids = {(patient, day): pk for patient, day, pk in CheckIn.objects
               .filter(patient__clinic=clinic).values_list("patient_id", "local_date", "pk")}
        AlliancePulse.objects.bulk_create((
            AlliancePulse(checkin_id=ids[pk, d.local_date], patient_id=pk,
                          local_date=d.local_date, heard=d.pulse[0], shared_goals=d.pulse[1],
                          fits_life=d.pulse[2], safe_to_raise=d.pulse[3], total=sum(d.pulse))
            for pk, p in simulated.items() for d in p.days if d.pulse), batch_size=5000)
    return Loaded(seed=seed, sensitivity=sensitivity, clinic_id=clinic.pk,
                  reviewer_id=reviewer.pk, patients=simulated)


# --- Night by night ---------------------------------------------------------------------------


@dataclass
class Opened:
    patient_id: int
    rule: str
    as_of: date


def run_nights(*, first: date, last: date, onsets: dict[int, date]) -> list[Opened]:
    """Sweep every night from as_of ``first`` to ``last``, resolving every open flag the
    morning after; the flags opened, with the as_of of the night that opened them."""
    from accounts.models import ClinicMembership
    from flags.models import Flag, Resolution
    from flags.services import flag_resolve
    from flags.sweep import sweep

    reviewers = {m.clinic_id: m.user for m in
                 ClinicMembership.objects.filter(role="staff").select_related("user")}
    opened: list[Opened] = []
    as_of = first
    while as_of <= last:
        now = _local(as_of + timedelta(days=1), SWEEP_AT)
        sweep(now=now)
        opened += [Opened(pk, rule, as_of) for pk, rule in
                   Flag.objects.filter(opened_at=now).values_list("patient_id", "rule")]
        morning = _local(as_of + timedelta(days=1), REVIEW_AT)
        for flag in Flag.objects.open().select_related("patient"):
            onset = onsets.get(flag.patient_id)  # declining: "supported"; else "not a concern"
            resolution = (Resolution.SUPPORTED if onset is not None and as_of >= onset
                          else Resolution.NOT_A_CONCERN)
            flag_resolve(flag=flag, actor=reviewers[flag.clinic_id], resolution=resolution,
                         now=morning)
        as_of += timedelta(days=1)
    return opened


# --- Figures ----------------------------------------------------------------------------------


@dataclass
class ShapeFigures:
    """One shape in one seed."""

    patients: int = 0
    caught3: int = 0
    caught7: int = 0
    delays: list[int] = field(default_factory=list)  # first flag at/after onset, in days
    never: int = 0
    flags: int = 0  # stable: all; decline: before onset
    nights: int = 0  # stable: observed patient-nights; decline: before onset
    rules: Counter = field(default_factory=Counter)
    flagged: int = 0  # stable: patients with at least one flag
    episodes: int = 0  # stable: flags not opened by the same rule the night before

    @property
    def per_month(self) -> float:
        return self.flags / (self.nights / 30) if self.nights else 0.0


def figures(loaded: Loaded, opened: list[Opened], *, first: date,
            last: date) -> dict[str, ShapeFigures]:
    by_patient: dict[int, list[Opened]] = defaultdict(list)
    for o in opened:
        if o.patient_id in loaded.patients:
            by_patient[o.patient_id].append(o)
    result: dict[str, ShapeFigures] = defaultdict(ShapeFigures)
    for pk, p in loaded.patients.items():
        f = result[p.shape]
        f.patients += 1
        flags = sorted(by_patient[pk], key=lambda o: o.as_of)
        f.rules.update(o.rule for o in flags)
        observed_from = max(first, p.plan_start)
        if p.onset is None:
            f.flags += len(flags)
            f.flagged += bool(flags)
            nights_of = {(o.rule, o.as_of) for o in flags}
            f.episodes += sum((o.rule, o.as_of - timedelta(days=1)) not in nights_of
                              for o in flags)
            f.nights += max(0, (last - observed_from).days + 1)
            continue
        f.flags += sum(1 for o in flags if o.as_of < p.onset)
        f.nights += max(0, (p.onset - observed_from).days)
        after = [o for o in flags if o.as_of >= p.onset]
        if not after:
            f.never += 1
            continue
        delay = (after[0].as_of - p.onset).days + 1
        f.delays.append(delay)
        f.caught3 += delay <= 3
        f.caught7 += delay <= 7
    return result


def _spread(values: list[float], fmt: str = ".2f") -> str:
    if len(values) < 2:
        return ""
    return f" ({min(values):{fmt}}-{max(values):{fmt}})"


def report(per_seed: list[dict[str, ShapeFigures]], args: argparse.Namespace) -> bool:
    """Print the tables; whether every goal is met."""
    rules = sorted({r for seed in per_seed for f in seed.values() for r in f.rules})
    print("\nDECLINES: recall within 3 and 7 days of onset (pooled over seeds; per-seed "
          "min-max)")
    print(f"{'shape':22} {'n':>5} {'recall<=3d':>20} {'recall<=7d':>20} {'median d':>14} "
          f"{'never':>6} {'pre-onset/pt-mo':>16}")
    for shape in cohort.DECLINE_SHAPES:
        seeds = [s[shape] for s in per_seed if shape in s]
        n = sum(f.patients for f in seeds)
        r3 = sum(f.caught3 for f in seeds) / n
        r7 = sum(f.caught7 for f in seeds) / n
        delays = [d for f in seeds for d in f.delays]
        median = f"{statistics.median(delays):.1f}" if delays else "-"
        medians = [statistics.median(f.delays) for f in seeds if f.delays]
        pre_flags, pre_nights = sum(f.flags for f in seeds), sum(f.nights for f in seeds)
        pre = pre_flags / (pre_nights / 30) if pre_nights else 0.0
        print(f"{shape:22} {n:5d} "
              f"{r3:8.2f}{_spread([f.caught3 / f.patients for f in seeds]):>12} "
              f"{r7:8.2f}{_spread([f.caught7 / f.patients for f in seeds]):>12} "
              f"{median:>5}{_spread(medians, '.1f'):>9} {sum(f.never for f in seeds):6d} "
              f"{pre:16.3f}")
    print("\nSTABLE: false flags per stable patient-month (pooled; per-seed min-max)")
    print(f"{'shape':24} {'n':>5} {'pt-months':>10} {'flags':>6} {'per pt-month':>24} "
          f"{'episodes/pt-mo':>15} {'pts flagged':>12}")
    for shape in cohort.STABLE_SHAPES + cohort.OWN_ROW_SHAPES:
        seeds = [s[shape] for s in per_seed if shape in s]
        flags, nights = sum(f.flags for f in seeds), sum(f.nights for f in seeds)
        rate = flags / (nights / 30) if nights else 0.0
        label = shape + (" *" if shape in cohort.OWN_ROW_SHAPES else "")
        print(f"{label:24} {sum(f.patients for f in seeds):5d} {nights / 30:10.1f} "
              f"{flags:6d} {rate:10.3f}{_spread([f.per_month for f in seeds], '.3f'):>14} "
              f"{sum(f.episodes for f in seeds) / (nights / 30) if nights else 0:15.3f} "
              f"{sum(f.flagged for f in seeds) / sum(f.patients for f in seeds):12.2f}")
    print("  episodes: a flag re-opened by the same rule on the next night (the finding still "
          "held after the morning's resolution) counted once; pts flagged: share of patients "
          "with any flag")
    print("  * own row: persistently low but steady satisfaction; whether it flags is a "
          "product decision (not a false flag, not a miss)")
    print("\nFLAGS OPENED PER RULE AND SHAPE (all seeds; declines: before and after onset)")
    print(f"{'shape':24} " + " ".join(f"{r[:16]:>16}" for r in rules))
    for shape in cohort.SHAPES:
        counts = Counter()
        for s in per_seed:
            if shape in s:
                counts.update(s[shape].rules)
        print(f"{shape:24} " + " ".join(f"{counts[r]:16d}" for r in rules))
    goals = goal_figures(per_seed)
    print("\nGOALS")
    for (what, shape), (value, passed) in goals.items():
        print(f"  {what}, {shape}: {value:.3f} {'PASS' if passed else 'FAIL'}")
    ok = all(passed for _, passed in goals.values())
    print(f"all goals met: {'yes' if ok else 'NO'}")
    return ok


RECALL_7 = f"recall within 7 days >= {GOAL_RECALL_7:.2f}"
RECALL_3 = f"recall within 3 days >= {GOAL_RECALL_3:.2f} (abrupt)"
FALSE = f"false flags per patient-month <= {GOAL_FALSE_PER_MONTH:.2f}"


def goal_figures(per_seed: list[dict[str, ShapeFigures]]
                 ) -> dict[tuple[str, str], tuple[float, bool]]:
    """Every goal's figure (pooled over seeds) and whether it is met."""
    goals: dict[tuple[str, str], tuple[float, bool]] = {}

    def pooled(shape: str) -> list[ShapeFigures]:
        return [s[shape] for s in per_seed if shape in s]

    for shape in cohort.DECLINE_SHAPES:
        seeds = pooled(shape)
        r7 = sum(f.caught7 for f in seeds) / sum(f.patients for f in seeds)
        goals[RECALL_7, shape] = (r7, r7 >= GOAL_RECALL_7)
    for shape in cohort.ABRUPT_SHAPES:
        seeds = pooled(shape)
        r3 = sum(f.caught3 for f in seeds) / sum(f.patients for f in seeds)
        goals[RECALL_3, shape] = (r3, r3 >= GOAL_RECALL_3)
    for shape in cohort.STABLE_SHAPES:
        seeds = pooled(shape)
        flags, nights = sum(f.flags for f in seeds), sum(f.nights for f in seeds)
        rate = flags / (nights / 30) if nights else 0.0
        goals[FALSE, shape] = (rate, rate <= GOAL_FALSE_PER_MONTH)
    return goals


def frontier(by_sensitivity: dict[str, list[dict[str, ShapeFigures]]]) -> None:
    """One line per sensitivity: what a clinic trades when it moves the setting."""
    print("\nSENSITIVITY (the clinic's setting): goal figures side by side")
    names = list(by_sensitivity)
    figures_of = {name: goal_figures(per_seed) for name, per_seed in by_sensitivity.items()}
    print(f"{'goal':52} " + " ".join(f"{name:>9}" for name in names))
    for key in figures_of[names[0]]:
        cells = " ".join(f"{figures_of[name][key][0]:8.3f}{'' if figures_of[name][key][1] else '!'}"
                         for name in names)
        print(f"{key[0][:32]:32} {key[1]:19} {cells}")
    print("  ! = goal not met")


def header(args: argparse.Namespace, first: date) -> None:
    print(f"flag quality: {args.seeds} seeds x {len(cohort.SHAPES)} shapes x "
          f"{args.per_shape} patients; nights as_of {first} .. {END} ({args.nights}); "
          f"sweep 02:00 {ZONE}, every open flag resolved 09:00")
    print("definitions: delay = as_of of the night the first flag (any rule) opened at or "
          "after onset - onset + 1; caught within N days = delay <= N (as_of in [onset, "
          "onset + N - 1]); median over caught patients; never = no flag at/after onset in "
          "the observed nights; false flags per patient-month = flags opened on stable "
          "patients / (observed patient-nights / 30), pre-onset flags of decline patients "
          "likewise over their pre-onset nights")
    print(f"abrupt declines (3-day goal): {', '.join(cohort.ABRUPT_SHAPES)}")


# --- Running it ---------------------------------------------------------------------------------


def measure(args: argparse.Namespace) -> bool:
    first = cohort.first_night(END, args.nights)
    header(args, first)
    started = time.perf_counter()
    loaded = []
    for seed in range(1, args.seeds + 1):
        patients = cohort.generate(seed=seed, per_shape=args.per_shape, end=END,
                                   nights=args.nights)
        loaded += [load(patients, seed=seed, sensitivity=sensitivity)
                   for sensitivity in args.sensitivity]
    checkins = sum(len(p.days) for seeded in loaded for p in seeded.patients.values())
    print(f"setup: {sum(len(s.patients) for s in loaded)} patients, {checkins} check-ins, "
          f"generated and loaded in {time.perf_counter() - started:.0f} s")
    swept = time.perf_counter()
    onsets = {pk: p.onset for seeded in loaded for pk, p in seeded.patients.items() if p.onset}
    opened = run_nights(first=first, last=END, onsets=onsets)
    print(f"{args.nights} nights swept in {time.perf_counter() - swept:.0f} s; "
          f"{len(opened)} flags opened")
    by_sensitivity = {
        sensitivity: [figures(seeded, opened, first=first, last=END) for seeded in loaded
                      if seeded.sensitivity == sensitivity]
        for sensitivity in args.sensitivity}
    met = {}
    for sensitivity, per_seed in by_sensitivity.items():
        print(f"\n===== sensitivity: {sensitivity} =====")
        met[sensitivity] = report(per_seed, args)
    if len(by_sensitivity) > 1:
        frontier(by_sensitivity)
    return met.get("balanced", any(met.values()))


def _django(database_url: str, data_dir: Path) -> None:
    os.environ.update({
        "DATABASE_URL": database_url, "ALLIANCE_DATA_DIR": str(data_dir),
        "DJANGO_SECRET_KEY": "benchmark-only", "MFA_ENCRYPTION_KEYS": MFA_TEST_KEY,
        "CACHE_URL": "locmemcache://", "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "alliance_portal.settings",
    })
    os.environ.pop("DJANGO_DEBUG", None)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--per-shape", type=int, default=30)
    parser.add_argument("--nights", type=int, default=35)
    parser.add_argument("--sensitivity", nargs="+", default=["balanced"],
                        choices=["earlier", "balanced", "fewer"],
                        help="the clinics' FlagSettings.sensitivity; several: each on its own "
                        "copy of the cohort, with a side-by-side table of the goal figures")
    parser.add_argument("--database-url", help="postgres://... : a fresh database on that "
                        "server (created and dropped); default: SQLite in a temporary folder")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="flag-quality-") as tmp:
        data_dir = Path(tmp)
        admin_url = name = None
        try:
            if args.database_url:
                from benchmarks.checkin_throughput import _psql
                parts = urlsplit(args.database_url)
                name = f"bench_quality_{os.getpid()}"
                admin_url = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
                _psql(admin_url, f"CREATE DATABASE {name}")
                url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))
            else:
                url = f"sqlite:///{data_dir / 'quality.sqlite3'}"
            try:
                _django(url, data_dir)
            except Exception as error:
                print(f"setup failed: {type(error).__name__}: {error}")
                return 2
            ok = measure(args)
        finally:
            if admin_url:
                from django.db import connections
                connections.close_all()
                from benchmarks.checkin_throughput import _psql
                _psql(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    print(f"elapsed: {time.perf_counter() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
