"""Clinic pages for the catalogue and regimen templates.

The clinic's dermatologists, staff and administrators read them; dermatologists and clinic
administrators change them (others get a 404, as for every page outside a role). Every object
is reached through a queryset scoped to the user's clinic, so another clinic's id is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.decorators import role_required
from careplans.models import ItemKind

from . import csv_io
from .forms import CatalogueImportForm, CatalogueItemForm, RegimenTemplateForm, TemplateStepForm
from .models import MAX_TEMPLATE_STEPS
from .selectors import (
    catalogue_item_for,
    catalogue_items_for,
    catalogue_search,
    clinic_of_member,
    may_change_catalogue,
    routine_groups,
    template_for,
    template_step_for,
    template_summary,
    templates_listing,
)
from .services import (
    TemplateFullError,
    catalogue_import,
    catalogue_item_save,
    catalogue_item_set_active,
    template_save,
    template_step_add,
    template_step_move,
    template_step_take_out,
)

reader_required = role_required("dermatologist", "staff", "admin")
editor_required = role_required("dermatologist", "admin")


@reader_required
def catalogue_list(request: HttpRequest) -> HttpResponse:
    clinic = clinic_of_member(request.user)
    query = request.GET.get("q", "").replace("\x00", "").strip()[:100]
    kind = request.GET.get("kind", "")
    kind = kind if kind in ItemKind.values else ""
    include_retired = request.GET.get("retired") == "on"
    items = list(catalogue_search(request.user, query=query, kind=kind,
                                  include_retired=include_retired))
    return render(request, "catalogue/catalogue_list.html", {
        "items": items, "query": query, "kind": kind, "include_retired": include_retired,
        "kinds": ItemKind.choices, "currency": clinic.currency,
        "can_change": may_change_catalogue(request.user),
    })


@editor_required
def catalogue_item_add(request: HttpRequest) -> HttpResponse:
    return _item_form(request, item=None)


@editor_required
def catalogue_item_edit(request: HttpRequest, item_id: int) -> HttpResponse:
    return _item_form(request, item=catalogue_item_for(request.user, item_id))


def _item_form(request: HttpRequest, *, item: object) -> HttpResponse:
    clinic = clinic_of_member(request.user)
    form = CatalogueItemForm(request.POST or None, instance=item, clinic=clinic)
    if request.method == "POST" and form.is_valid():
        saved = catalogue_item_save(
            clinic=clinic, actor=request.user, item=item,
            data={f: form.cleaned_data[f] for f in form.Meta.fields},
        )
        messages.success(request, _("Saved “%(name)s”.") % {"name": saved.name})
        return redirect("catalogue_list")
    return render(request, "catalogue/catalogue_item_form.html",
                  {"form": form, "item": item, "currency": clinic.currency})


@editor_required
def catalogue_item_retire(request: HttpRequest, item_id: int) -> HttpResponse:
    item = catalogue_item_for(request.user, item_id)  # another clinic's: 404 before 405
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    catalogue_item_set_active(item=item, actor=request.user, active=False)
    messages.success(request, _("Retired “%(name)s”: it is no longer offered for new plans "
                                "and templates. Plans that have it keep it.") % {"name": item.name})
    return redirect("catalogue_list")


@editor_required
def catalogue_item_restore(request: HttpRequest, item_id: int) -> HttpResponse:
    item = catalogue_item_for(request.user, item_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    catalogue_item_set_active(item=item, actor=request.user, active=True)
    messages.success(request, _("“%(name)s” is offered again.") % {"name": item.name})
    return redirect("catalogue_list")


@reader_required
def catalogue_export(request: HttpRequest) -> HttpResponse:
    items = catalogue_items_for(request.user).select_related("generic_alternative") \
        .order_by("name", "id")
    response = HttpResponse(csv_io.export_csv(items), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="catalogue.csv"'
    return response


@editor_required
def catalogue_import_view(request: HttpRequest) -> HttpResponse:
    clinic = clinic_of_member(request.user)
    form = CatalogueImportForm(request.POST or None, request.FILES or None)
    parsed = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        data = upload.read(csv_io.MAX_FILE_BYTES + 1)
        existing = {i.name.lower(): i for i in catalogue_items_for(request.user)}
        parsed = csv_io.parse_csv(data, existing=existing)
        if not parsed.errors:
            result = catalogue_import(clinic=clinic, actor=request.user, parsed=parsed)
            messages.success(request, _("Imported the file: %(added)s added, %(updated)s "
                                        "updated.") % {"added": result.added,
                                                       "updated": result.updated})
            return redirect("catalogue_list")
    return render(request, "catalogue/catalogue_import.html", {
        "form": form, "parsed": parsed, "header": ",".join(csv_io.HEADER),
        "columns": csv_io.COLUMN_HELP,
        "currency": clinic.currency,
    }, status=400 if parsed is not None and parsed.errors else 200)


@reader_required
def template_list(request: HttpRequest) -> HttpResponse:
    clinic = clinic_of_member(request.user)
    templates = list(templates_listing(request.user))
    rows = [(t, template_summary(t, currency=clinic.currency)) for t in templates]
    return render(request, "catalogue/template_list.html", {
        "rows": rows, "currency": clinic.currency,
        "can_change": may_change_catalogue(request.user),
    })


@editor_required
def template_add(request: HttpRequest) -> HttpResponse:
    return _template_form(request, template=None)


@editor_required
def template_edit(request: HttpRequest, template_id: int) -> HttpResponse:
    return _template_form(request, template=template_for(request.user, template_id))


def _template_form(request: HttpRequest, *, template: object) -> HttpResponse:
    clinic = clinic_of_member(request.user)
    form = RegimenTemplateForm(request.POST or None, instance=template, clinic=clinic)
    if request.method == "POST" and form.is_valid():
        saved = template_save(clinic=clinic, actor=request.user, template=template,
                              data={f: form.cleaned_data[f] for f in form.Meta.fields})
        messages.success(request, _("Saved the template “%(name)s”.") % {"name": saved.name})
        return redirect("template_detail", template_id=saved.pk)
    return render(request, "catalogue/template_form.html", {"form": form, "template": template})


@reader_required
def template_detail(request: HttpRequest, template_id: int,
                    step_form: TemplateStepForm | None = None) -> HttpResponse:
    clinic = clinic_of_member(request.user)
    template = template_for(request.user, template_id)
    steps = list(template.steps.all())
    can_change = may_change_catalogue(request.user)
    return render(request, "catalogue/template_detail.html", {
        "template": template, "steps": steps, "groups": routine_groups(steps),
        "summary": template_summary(template, currency=clinic.currency),
        "currency": clinic.currency, "can_change": can_change,
        "step_form": (step_form or TemplateStepForm(template=template)) if can_change else None,
        "full": len(steps) >= MAX_TEMPLATE_STEPS,
    }, status=400 if step_form is not None else 200)


@editor_required
def template_step_add_view(request: HttpRequest, template_id: int) -> HttpResponse:
    template = template_for(request.user, template_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = TemplateStepForm(request.POST, template=template)
    if not form.is_valid():
        return template_detail(request, template_id, step_form=form)
    try:
        step = template_step_add(template=template, actor=request.user,
                                 data=form.data_for_service())
    except TemplateFullError:
        messages.error(request, _("A template holds at most %(most)s steps.")
                       % {"most": MAX_TEMPLATE_STEPS})
    else:
        messages.success(request, _("Added “%(name)s” as step %(position)s.")
                         % {"name": step.catalogue_item.name, "position": step.position})
    return redirect("template_detail", template_id=template.pk)


@editor_required
def template_step_change(request: HttpRequest, template_id: int, step_id: int) -> HttpResponse:
    """Plain POST buttons: move a step up or down, or take it out of the template."""
    template = template_for(request.user, template_id)
    step = template_step_for(template, step_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    action = request.POST.get("action")
    if action in ("up", "down"):
        template_step_move(step=step, actor=request.user, by=-1 if action == "up" else 1)
    elif action == "take_out":
        template_step_take_out(step=step, actor=request.user)
        messages.success(request, _("Took “%(name)s” out of the template.")
                         % {"name": step.catalogue_item.name})
    return redirect(f"{template.get_absolute_url()}#steps")
