"""The drill worker's settings: the project's, plus the flag sweep's chunk size from the
environment (``flags/tasks.py`` reads ``FLAGS_SWEEP_CHUNK_SIZE``; production leaves it unset), so
a sweep over a few hundred patients lasts long enough to be killed mid-way."""

import os

from alliance_portal.settings import *  # noqa: F403

FLAGS_SWEEP_CHUNK_SIZE = int(os.environ.get("FLAGS_SWEEP_CHUNK_SIZE", "2000"))
