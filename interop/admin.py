"""The OAuth toolkit's own admin pages would show client secrets and tokens across clinics:
they are not registered. A clinic's system clients are managed through ``ClinicClient``."""

from django.contrib import admin
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

for _model in (get_application_model(), get_access_token_model(), get_grant_model(),
               get_id_token_model(), get_refresh_token_model()):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
