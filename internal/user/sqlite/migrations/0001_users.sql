-- users holds one row per user. The key is the primary key, and the table
-- has no rowid, so Get is a single B-tree lookup. Attributes are JSON text
-- exactly as user.EncodeAttributes wrote it (kept as text, not parsed, so
-- numbers keep their literal form); the CHECK stops a hand edit from
-- storing something Get could not decode. Times are UTC RFC 3339 text with
-- microseconds, fixed width, so they sort and read well.
CREATE TABLE users (
	key        TEXT NOT NULL PRIMARY KEY,
	attributes TEXT NOT NULL CHECK (json_valid(attributes) AND json_type(attributes) = 'object'),
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;
