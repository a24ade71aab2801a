"""Knowledge-base postings: each word's entries by impact, so a search reads the best first

Revision ID: 0016
Revises: 0015

See storage/kb_search.py (``Postings``) and docs/decisions/ (kb postings). ``kb_posting``
holds (entry, word, impact): the entry's vote factor times its BM25 weight for the word
at the reference length in ``kb_posting_ref``, indexed by (word, impact). Both are filled
from the rows already there, the reference being their average length (40 words for an
empty knowledge base).

PostgreSQL: a trigger rebuilds an entry's postings from its tsvector whenever its words
or votes change, and the tsvector's GIN index, which no search reads any more, goes.
SQLite: triggers list written entries in ``kb_posting_stale`` (and drop a deleted one's
postings); ``kb_search.refresh`` rebuilds theirs in Python before a search. The backfill
reads the words from FTS5 (an fts5vocab 'instance' table), so no Python runs here.
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

DEFAULT_LENGTH = 40.0  # kb_search.DEFAULT_LENGTH
K1, B = 1.2, 0.75


def _impact(tf: str, length: str, votes: str, day: str) -> str:
    """kb_search.impact in SQL (``ref`` and ``ref_day`` from kb_posting_ref)."""
    return (
        f"LEAST(3.0, GREATEST(0.2, 1.0 + 0.25 * ({votes}))) * {tf} * {K1 + 1} "
        f"/ ({tf} + {K1} * ({1 - B} + {B} * {length} / ref)) "
        f"/ (1.0 + 0.5 * GREATEST(0.0, ref_day - ({day})) / 180.0)"
    )


def _sqlite_impact(tf: str, length: str, votes: str, day: str) -> str:
    return _impact(tf, length, votes, day).replace("LEAST", "min").replace("GREATEST", "max")


SQLITE_DAY = "julianday({}) - 2440587.5"  # days since 1970 (kb_search.day)
PG_DAY = "EXTRACT(EPOCH FROM {}) / 86400.0"
SQLITE_NOW = SQLITE_DAY.format("'now'")
PG_NOW = PG_DAY.format("CAST(now() AT TIME ZONE 'UTC' AS timestamp)")
SQLITE_ENTRY = _sqlite_impact(
    "t.n", "d.dl", "e.votes_up - e.votes_down", SQLITE_DAY.format("e.created_at")
)
PG_ENTRY = _impact("w.n", "l.dl", "e.votes_up - e.votes_down", PG_DAY.format("e.created_at"))
PG_NEW = _impact("w.n", "l.dl", "NEW.votes_up - NEW.votes_down", PG_DAY.format("NEW.created_at"))


SQLITE_UP = (
    "CREATE TABLE kb_posting (entry_id INTEGER NOT NULL, term TEXT NOT NULL, "
    "impact REAL NOT NULL, tf INTEGER NOT NULL, dl INTEGER NOT NULL, "
    "PRIMARY KEY (entry_id, term)) WITHOUT ROWID",
    "CREATE TABLE kb_posting_ref (avgdl REAL NOT NULL, day REAL NOT NULL)",
    "CREATE TABLE kb_posting_stale (entry_id INTEGER PRIMARY KEY)",
    "CREATE TABLE kb_term (term TEXT PRIMARY KEY, docs INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE VIRTUAL TABLE temp.kb_entry_words USING fts5vocab(main, kb_entry_fts, 'instance')",
    "CREATE TEMP TABLE kb_tf AS SELECT doc, term, count(*) AS n FROM temp.kb_entry_words "
    "GROUP BY doc, term",
    "CREATE TEMP TABLE kb_dl AS SELECT doc, sum(n) AS dl FROM temp.kb_tf GROUP BY doc",
    "INSERT INTO kb_posting_ref (avgdl, day) SELECT CASE WHEN (SELECT sum(dl) FROM temp.kb_dl) > 0 "
    "THEN (SELECT sum(dl) FROM temp.kb_dl) * 1.0 / (SELECT count(*) FROM kb_entry) "
    f"ELSE {DEFAULT_LENGTH} END, coalesce((SELECT max({SQLITE_DAY.format('created_at')}) "
    f"FROM kb_entry), {SQLITE_NOW})",
    "INSERT INTO kb_posting (entry_id, term, impact, tf, dl) "
    f"SELECT t.doc, t.term, {SQLITE_ENTRY}, t.n, d.dl "
    "FROM temp.kb_tf t JOIN temp.kb_dl d ON d.doc = t.doc JOIN kb_entry e ON e.id = t.doc "
    "CROSS JOIN (SELECT avgdl AS ref, day AS ref_day FROM kb_posting_ref) r",
    "INSERT INTO kb_term (term, docs) SELECT term, count(*) FROM temp.kb_tf GROUP BY term",
    "DROP TABLE temp.kb_tf",
    "DROP TABLE temp.kb_dl",
    "DROP TABLE temp.kb_entry_words",
    "CREATE INDEX ix_kb_posting_term ON kb_posting (term, impact, entry_id)",
    "CREATE TRIGGER kb_posting_insert AFTER INSERT ON kb_entry BEGIN "
    "INSERT OR IGNORE INTO kb_posting_stale (entry_id) VALUES (new.id); END",
    "CREATE TRIGGER kb_posting_update AFTER UPDATE OF question, text, votes_up, votes_down, "
    "created_at "
    "ON kb_entry BEGIN INSERT OR IGNORE INTO kb_posting_stale (entry_id) VALUES (new.id); END",
    "CREATE TRIGGER kb_posting_delete AFTER DELETE ON kb_entry BEGIN "
    "UPDATE kb_term SET docs = docs - 1 "
    "WHERE term IN (SELECT term FROM kb_posting WHERE entry_id = old.id); "
    "DELETE FROM kb_term WHERE docs <= 0 "
    "AND term IN (SELECT term FROM kb_posting WHERE entry_id = old.id); "
    "DELETE FROM kb_posting WHERE entry_id = old.id; "
    "DELETE FROM kb_posting_stale WHERE entry_id = old.id; END",
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS kb_posting_delete",
    "DROP TRIGGER IF EXISTS kb_posting_update",
    "DROP TRIGGER IF EXISTS kb_posting_insert",
    "DROP TABLE IF EXISTS kb_term",
    "DROP TABLE IF EXISTS kb_posting_stale",
    "DROP TABLE IF EXISTS kb_posting_ref",
    "DROP TABLE IF EXISTS kb_posting",
)

# an entry's words with their counts, and its length, from its tsvector
_COUNTS = "SELECT lexeme AS term, coalesce(array_length(positions, 1), 1) AS n FROM unnest({v})"
PG_UP = (
    "CREATE TABLE kb_posting (entry_id integer NOT NULL, term text NOT NULL, "
    "impact double precision NOT NULL, tf integer NOT NULL, dl integer NOT NULL, "
    "PRIMARY KEY (entry_id, term))",
    "CREATE TABLE kb_posting_ref (avgdl double precision NOT NULL, day double precision NOT NULL)",
    "INSERT INTO kb_posting_ref (avgdl, day) SELECT coalesce((SELECT tokens::float8 / docs "
    f"FROM kb_term WHERE term = '' AND docs > 0 AND tokens > 0), {DEFAULT_LENGTH}), "
    f"coalesce((SELECT max({PG_DAY.format('created_at')}) FROM kb_entry), "
    f"{PG_NOW})",
    "INSERT INTO kb_posting (entry_id, term, impact, tf, dl) "
    f"SELECT e.id, w.term, {PG_ENTRY}, w.n, l.dl "
    "FROM kb_entry e CROSS JOIN (SELECT avgdl AS ref, day AS ref_day FROM kb_posting_ref) r "
    "CROSS JOIN LATERAL (SELECT sum(coalesce(array_length(positions, 1), 1)) AS dl "
    "FROM unnest(e.search)) l "
    f"CROSS JOIN LATERAL ({_COUNTS.format(v='e.search')}) w",
    "CREATE INDEX ix_kb_posting_term ON kb_posting (term, impact, entry_id)",
    f"""CREATE FUNCTION kb_posting_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    DELETE FROM kb_posting WHERE entry_id = OLD.id;
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    INSERT INTO kb_posting (entry_id, term, impact, tf, dl)
      SELECT NEW.id, w.term, {PG_NEW}, w.n, l.dl
      FROM (SELECT avgdl AS ref, day AS ref_day FROM kb_posting_ref) r
      CROSS JOIN (SELECT sum(coalesce(array_length(positions, 1), 1)) AS dl
                  FROM unnest(NEW.search)) l
      CROSS JOIN ({_COUNTS.format(v="NEW.search")}) w;
  END IF;
  RETURN NULL;
END
$$""",
    "CREATE TRIGGER kb_posting_sync AFTER INSERT OR DELETE OR UPDATE OF question, text, "
    "votes_up, votes_down, created_at ON kb_entry FOR EACH ROW EXECUTE FUNCTION kb_posting_sync()",
    "DROP INDEX IF EXISTS ix_kb_entry_search",
    "ANALYZE kb_posting",
)
PG_DOWN = (
    "DROP TRIGGER IF EXISTS kb_posting_sync ON kb_entry",
    "DROP FUNCTION IF EXISTS kb_posting_sync()",
    "DROP TABLE IF EXISTS kb_posting_ref",
    "DROP TABLE IF EXISTS kb_posting",
    "CREATE INDEX IF NOT EXISTS ix_kb_entry_search ON kb_entry USING gin (search)",
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
