"""The audit log refuses UPDATE and DELETE at the database, whoever connects."""

from django.db import migrations

TRIGGER = """
CREATE OR REPLACE FUNCTION organisations_auditlog_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER organisations_auditlog_append_only
    BEFORE UPDATE OR DELETE ON organisations_auditlog
    FOR EACH ROW EXECUTE FUNCTION organisations_auditlog_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS organisations_auditlog_append_only ON organisations_auditlog;
DROP FUNCTION IF EXISTS organisations_auditlog_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("organisations", "0002_apitoken_auditlog")]
    operations = [migrations.RunPython(forwards, backwards)]
