"""The database itself keeps the audit log append-only.

Both databases refuse an UPDATE of an audit entry, except the one Django makes
when a user or workspace is deleted (``on_delete=SET_NULL``): the actor or
workspace set to NULL with every other column as it was, so ``actor_name``
still says who it was.

PostgreSQL also refuses a DELETE. TRUNCATE stays possible: it is how Django's
``flush`` (and so every transactional test) empties tables there, and row
triggers never see it; emptying the whole database is the operator's call.

SQLite gets no DELETE trigger: ``flush`` empties each table there with a plain
``DELETE FROM``, in no fixed order, which a trigger cannot tell from deleting
one entry, and a refused flush would break every transactional test and
``manage.py flush``. There deletion is refused by the model and the admin.
SQLite drops a table's triggers when a migration remakes the table, so any
later migration that alters AuditEvent must create the trigger again (the
tests in accounts/tests/test_audit.py fail if it is gone).
"""

from django.db import migrations

TABLE = "accounts_auditevent"
MESSAGE = "audit events are append-only"

# Every column unchanged, except actor_id and workspace_id, which may only become NULL.
SQLITE_UNCHANGED = " AND ".join(
    [
        f"NEW.{column} IS OLD.{column}"
        for column in ["id", "at", "actor_name", "action", "target", "ip_address", "detail"]
    ]
    + [
        f"(NEW.{column} IS OLD.{column} OR NEW.{column} IS NULL)"
        for column in ["actor_id", "workspace_id"]
    ]
)
POSTGRES_UNCHANGED = " AND ".join(
    [
        f"NEW.{column} IS NOT DISTINCT FROM OLD.{column}"
        for column in ["id", "at", "actor_name", "action", "target", "ip_address", "detail"]
    ]
    + [
        f"(NEW.{column} IS NULL OR NEW.{column} IS NOT DISTINCT FROM OLD.{column})"
        for column in ["actor_id", "workspace_id"]
    ]
)

FORWARD = {
    "sqlite": [
        f"""
        CREATE TRIGGER {TABLE}_no_update BEFORE UPDATE ON {TABLE}
        FOR EACH ROW WHEN NOT ({SQLITE_UNCHANGED})
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
        """,
    ],
    "postgresql": [
        f"""
        CREATE FUNCTION {TABLE}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'UPDATE' AND {POSTGRES_UNCHANGED} THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION '{MESSAGE}: % refused', TG_OP
                USING ERRCODE = 'integrity_constraint_violation';
        END
        $$
        """,
        f"""
        CREATE TRIGGER {TABLE}_no_update BEFORE UPDATE ON {TABLE}
        FOR EACH ROW EXECUTE FUNCTION {TABLE}_append_only()
        """,
        f"""
        CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE}
        FOR EACH ROW EXECUTE FUNCTION {TABLE}_append_only()
        """,
    ],
}
BACKWARD = {
    "sqlite": [f"DROP TRIGGER IF EXISTS {TABLE}_no_update"],
    "postgresql": [
        f"DROP TRIGGER IF EXISTS {TABLE}_no_delete ON {TABLE}",
        f"DROP TRIGGER IF EXISTS {TABLE}_no_update ON {TABLE}",
        f"DROP FUNCTION IF EXISTS {TABLE}_append_only()",
    ],
}


def _run(statements: dict[str, list[str]], schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in statements:
        raise NotImplementedError(f"No append-only audit triggers written for {vendor}.")
    for sql in statements[vendor]:
        schema_editor.execute(sql, params=None)


def forward(apps, schema_editor) -> None:
    _run(FORWARD, schema_editor)


def backward(apps, schema_editor) -> None:
    _run(BACKWARD, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_first_agreement"),
    ]

    operations = [
        migrations.RunPython(forward, backward),
    ]
