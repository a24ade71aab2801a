"""Knowledge-base search: FTS5 on SQLite, a tsvector column with a GIN index on PostgreSQL

Revision ID: 0015
Revises: 0014

See storage/kb_search.py. SQLite: an FTS5 table with external content on kb_entry, kept in
sync by triggers (a later batch migration that recreates kb_entry must recreate them), and
an fts5vocab table over it. PostgreSQL: a stored generated tsvector, its GIN index, and
kb_term (entries per word, the totals under the empty word) kept by a trigger. Both are
filled from the rows already there.
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

SQLITE_UP = (
    "CREATE VIRTUAL TABLE kb_entry_fts USING fts5(question, text, content='kb_entry', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 0')",
    "CREATE VIRTUAL TABLE kb_entry_terms USING fts5vocab(kb_entry_fts, 'row')",
    "CREATE TRIGGER kb_entry_fts_insert AFTER INSERT ON kb_entry BEGIN "
    "INSERT INTO kb_entry_fts(rowid, question, text) VALUES (new.id, new.question, new.text); "
    "END",
    "CREATE TRIGGER kb_entry_fts_delete AFTER DELETE ON kb_entry BEGIN "
    "INSERT INTO kb_entry_fts(kb_entry_fts, rowid, question, text) "
    "VALUES ('delete', old.id, old.question, old.text); END",
    "CREATE TRIGGER kb_entry_fts_update AFTER UPDATE OF question, text ON kb_entry BEGIN "
    "INSERT INTO kb_entry_fts(kb_entry_fts, rowid, question, text) "
    "VALUES ('delete', old.id, old.question, old.text); "
    "INSERT INTO kb_entry_fts(rowid, question, text) VALUES (new.id, new.question, new.text); "
    "END",
    "INSERT INTO kb_entry_fts(kb_entry_fts) VALUES ('rebuild')",
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS kb_entry_fts_update",
    "DROP TRIGGER IF EXISTS kb_entry_fts_delete",
    "DROP TRIGGER IF EXISTS kb_entry_fts_insert",
    "DROP TABLE IF EXISTS kb_entry_terms",
    "DROP TABLE IF EXISTS kb_entry_fts",
)

# words and their position counts of a tsvector; '' carries the entry's word total
_WORDS = (
    "SELECT lexeme AS term, coalesce(array_length(positions, 1), 1) AS n FROM unnest({v}.search)"
    " UNION ALL SELECT '', coalesce(sum(coalesce(array_length(positions, 1), 1)), 0)"
    " FROM unnest({v}.search)"
)
PG_UP = (
    "ALTER TABLE kb_entry ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('simple', "
    "regexp_replace(coalesce(question, '') || ' ' || coalesce(text, ''), '[^[:alnum:]]+', ' ', "
    "'g'))) STORED",
    "CREATE INDEX ix_kb_entry_search ON kb_entry USING gin (search)",
    "CREATE TABLE kb_term (term text PRIMARY KEY, docs bigint NOT NULL, tokens bigint NOT NULL)",
    f"""CREATE FUNCTION kb_term_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    INSERT INTO kb_term (term, docs, tokens)
      SELECT w.term, -1, -w.n FROM ({_WORDS.format(v="OLD")}) w ORDER BY w.term
      ON CONFLICT (term) DO UPDATE
        SET docs = kb_term.docs + excluded.docs, tokens = kb_term.tokens + excluded.tokens;
    DELETE FROM kb_term WHERE term = ANY(tsvector_to_array(OLD.search)) AND docs <= 0;
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    INSERT INTO kb_term (term, docs, tokens)
      SELECT w.term, 1, w.n FROM ({_WORDS.format(v="NEW")}) w ORDER BY w.term
      ON CONFLICT (term) DO UPDATE
        SET docs = kb_term.docs + excluded.docs, tokens = kb_term.tokens + excluded.tokens;
  END IF;
  RETURN NULL;
END
$$""",
    "CREATE TRIGGER kb_term_count AFTER INSERT OR DELETE OR UPDATE OF question, text "
    "ON kb_entry FOR EACH ROW EXECUTE FUNCTION kb_term_count()",
    "INSERT INTO kb_term (term, docs, tokens) SELECT lexeme, count(*), "
    "sum(coalesce(array_length(positions, 1), 1)) FROM kb_entry, unnest(search) GROUP BY lexeme",
    "INSERT INTO kb_term (term, docs, tokens) SELECT '', count(*), coalesce(sum(("
    "SELECT sum(coalesce(array_length(positions, 1), 1)) FROM unnest(search))), 0) FROM kb_entry",
)
PG_DOWN = (
    "DROP TRIGGER IF EXISTS kb_term_count ON kb_entry",
    "DROP FUNCTION IF EXISTS kb_term_count()",
    "DROP TABLE IF EXISTS kb_term",
    "DROP INDEX IF EXISTS ix_kb_entry_search",
    "ALTER TABLE kb_entry DROP COLUMN IF EXISTS search",
)


def _run(statements: tuple[str, ...]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _run(SQLITE_UP if sqlite else PG_UP)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _run(SQLITE_DOWN if sqlite else PG_DOWN)
