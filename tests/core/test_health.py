import pytest
from django.db import DatabaseError


@pytest.mark.django_db
def test_healthz_reports_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_healthz_reports_503_when_database_fails(client, monkeypatch):
    from core import views

    class BrokenCursor:
        def __enter__(self):
            raise DatabaseError("down")

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(views.connection, "cursor", lambda: BrokenCursor())
    assert client.get("/healthz").status_code == 503


@pytest.mark.django_db
def test_benchmark_endpoint_is_not_routed_by_default(client, patient_a):
    client.force_login(patient_a.user)
    assert client.post("/bench/noop").status_code == 404
