# One image for web (gunicorn), worker and beat.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    ALLIANCE_DATA_DIR=/app/var
WORKDIR /app
COPY pyproject.toml README.md ./
COPY requirements/base.lock ./requirements/
COPY alliance_portal ./alliance_portal
COPY accounts ./accounts
COPY core ./core
COPY careplans ./careplans
COPY catalogue ./catalogue
COPY photos ./photos
COPY checkins ./checkins
COPY messaging ./messaging
COPY clinic ./clinic
COPY reminders ./reminders
COPY flags ./flags
COPY interop ./interop
COPY demo ./demo
COPY templates ./templates
# Compiled translations are committed (scripts/check_translations says why): no gettext here.
COPY locale ./locale
COPY static ./static
COPY manage.py Procfile.demo ./
RUN pip install --require-hashes -r requirements/base.lock && pip install --no-deps . \
    && DJANGO_SECRET_KEY=collectstatic-only \
       MFA_ENCRYPTION_KEYS="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
       PHOTO_ENCRYPTION_KEYS="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
       python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 portal && mkdir -p /app/var/photos && chown -R portal /app/var
USER portal
EXPOSE 8000
CMD ["gunicorn", "alliance_portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
