from django.urls import path

from . import views

urlpatterns = [
    path("clinic/catalogue/", views.catalogue_list, name="catalogue_list"),
    path("clinic/catalogue/add/", views.catalogue_item_add, name="catalogue_item_add"),
    path("clinic/catalogue/export/", views.catalogue_export, name="catalogue_export"),
    path("clinic/catalogue/import/", views.catalogue_import_view, name="catalogue_import"),
    path("clinic/catalogue/<int:item_id>/edit/", views.catalogue_item_edit,
         name="catalogue_item_edit"),
    path("clinic/catalogue/<int:item_id>/retire/", views.catalogue_item_retire,
         name="catalogue_item_retire"),
    path("clinic/catalogue/<int:item_id>/restore/", views.catalogue_item_restore,
         name="catalogue_item_restore"),
    path("clinic/templates/", views.template_list, name="template_list"),
    path("clinic/templates/add/", views.template_add, name="template_add"),
    path("clinic/templates/<int:template_id>/", views.template_detail, name="template_detail"),
    path("clinic/templates/<int:template_id>/edit/", views.template_edit, name="template_edit"),
    path("clinic/templates/<int:template_id>/steps/add/", views.template_step_add_view,
         name="template_step_add"),
    path("clinic/templates/<int:template_id>/steps/<int:step_id>/", views.template_step_change,
         name="template_step_change"),
]
