from django.http import HttpRequest

from .selectors import role_of


def portal_role(request: HttpRequest) -> dict[str, str | None]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"portal_role": None}
    return {"portal_role": role_of(user)}
