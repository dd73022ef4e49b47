"""The full-text table of the shared data search (``portal.fulltext``): an FTS5
virtual table on SQLite, a table of tsvectors with a GIN index on PostgreSQL. No
model: ``portal.fulltext`` writes and reads the rows in SQL."""

from django.db import migrations


class VendorSQL(migrations.RunSQL):
    """RunSQL on one database vendor only; a no-op on the others."""

    def __init__(self, vendor, sql, reverse_sql):
        super().__init__(sql, reverse_sql)
        self.vendor = vendor

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == self.vendor:
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == self.vendor:
            super().database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return f"Raw SQL on {self.vendor} only"


class Migration(migrations.Migration):
    initial = True
    dependencies: list[tuple[str, str]] = []

    operations = [
        VendorSQL(
            "sqlite",
            [
                "CREATE VIRTUAL TABLE search_study_fts USING fts5("
                "study_accession UNINDEXED, release_id UNINDEXED, body, "
                "tokenize = 'porter unicode61 remove_diacritics 2')"
            ],
            ["DROP TABLE IF EXISTS search_study_fts"],
        ),
        VendorSQL(
            "postgresql",
            [
                "CREATE TABLE search_study_fts ("
                "release_id bigint NOT NULL, study_accession varchar(15) NOT NULL, "
                "body tsvector NOT NULL, PRIMARY KEY (release_id, study_accession))",
                "CREATE INDEX search_study_fts_body ON search_study_fts USING gin (body)",
            ],
            ["DROP TABLE IF EXISTS search_study_fts"],
        ),
    ]
