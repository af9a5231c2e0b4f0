"""History tables refuse UPDATE, DELETE and TRUNCATE in PostgreSQL itself, not only in the ORM.

``accounts.ImmutableModel`` already refuses changes through the ORM; these triggers also stop
plain SQL (a psql session, a bad data migration). The table owner can still drop a trigger: this
guards against mistakes, not against the database administrator.

Migrations use :class:`AppendOnlyTable` (``core/migrations/0002`` for audit events). Apps above
``core`` can protect their own history tables the same way, depending on that migration.
"""

from __future__ import annotations

from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ProjectState

# Django's test flush TRUNCATEs every table between transactional tests; only a session that
# sets this (the test suite's connections, see tests/conftest.py) may truncate history.
HISTORY_TRUNCATE_SETTING = "alliance.allow_history_truncate"
FUNCTION = "alliance_history_append_only"

CREATE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE'
       AND coalesce(current_setting('{HISTORY_TRUNCATE_SETTING}', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
"""


def _is_postgresql(schema_editor: BaseDatabaseSchemaEditor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


class AppendOnlyTable(Operation):
    """Install (reverse: remove) the append-only triggers on ``model``'s table; PostgreSQL only,
    a no-op elsewhere."""

    reversible = True
    reduces_to_sql = True

    def __init__(self, model: str) -> None:
        self.model = model  # "app_label.ModelName"

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        pass  # Triggers are not part of Django's model state.

    def _table(self, state: ProjectState) -> str:
        return state.apps.get_model(self.model)._meta.db_table

    def database_forwards(self, app_label: str, schema_editor: BaseDatabaseSchemaEditor,
                          from_state: ProjectState, to_state: ProjectState) -> None:
        if not _is_postgresql(schema_editor):
            return
        table = schema_editor.quote_name(self._table(to_state))
        schema_editor.execute(CREATE_FUNCTION, params=None)  # None: its % are not placeholders
        for name, sql in _triggers(self._table(to_state), table).items():
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table};")
            schema_editor.execute(sql)

    def database_backwards(self, app_label: str, schema_editor: BaseDatabaseSchemaEditor,
                           from_state: ProjectState, to_state: ProjectState) -> None:
        if not _is_postgresql(schema_editor):
            return
        table = schema_editor.quote_name(self._table(from_state))
        for name in _triggers(self._table(from_state), table):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table};")

    def describe(self) -> str:
        return f"Refuse UPDATE, DELETE and TRUNCATE on {self.model} (PostgreSQL)"

    @property
    def migration_name_fragment(self) -> str:
        return f"append_only_{self.model.split('.')[-1].lower()}"


def _triggers(table_name: str, quoted_table: str) -> dict[str, str]:
    rows, truncate = f"{table_name}_append_only", f"{table_name}_no_truncate"
    return {
        rows: f"CREATE TRIGGER {rows} BEFORE UPDATE OR DELETE ON {quoted_table} "
              f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}();",
        truncate: f"CREATE TRIGGER {truncate} BEFORE TRUNCATE ON {quoted_table} "
                  f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}();",
    }
