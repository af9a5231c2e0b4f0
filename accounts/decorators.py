"""View guards. A user outside the required role gets a 404, never a hint that the page exists."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse

from .selectors import PortalRole, role_of

View = Callable[..., HttpResponse]


def role_required(*roles: PortalRole) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            if role_of(request.user) not in roles:
                raise Http404
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


clinician_required = role_required("dermatologist", "staff")
dermatologist_required = role_required("dermatologist")
patient_required = role_required("patient")
