"""Photo work off the request: ids only in arguments, never an image, a name or a note."""

from celery import shared_task

from core.periodic import each_isolated

from . import services


@shared_task(name="photos.tasks.photo_thumbnail_make")
def photo_thumbnail_make(photo_id: int) -> None:
    services.photo_thumbnail_make(photo_id=photo_id)


@shared_task(name="photos.tasks.photos_sweep")
def photos_sweep() -> None:
    """Catch up: thumbnails whose task was lost (broker down), and the files of withdrawn
    photos that could not be deleted at once (storage down)."""
    each_isolated(services.thumbnails_pending_ids(),
                  lambda photo_id: services.photo_thumbnail_make(photo_id=photo_id),
                  task="photos sweep", what=lambda photo_id: f"photo {photo_id}")
    services.photo_files_delete()
