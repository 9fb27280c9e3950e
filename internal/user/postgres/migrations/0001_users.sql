-- users holds one row per user.
--
-- The key collates as "C", so comparisons and ORDER BY are byte order, the
-- order user.Store.List promises, whatever the database's locale.
--
-- Attributes are json, not jsonb: json keeps the text user.EncodeAttributes
-- wrote byte for byte, where jsonb rewrites numbers (1e3 becomes 1000, -0
-- becomes 0) and refuses \u0000 in strings, which the conformance suite
-- stores. json still refuses text that is not JSON, and the CHECK refuses a
-- non-object, so a hand edit cannot store what Get could not decode.
--
-- Times are timestamptz: microseconds, the precision user.Timestamp keeps.
CREATE TABLE users (
	key        text COLLATE "C" NOT NULL PRIMARY KEY CHECK (octet_length(key) BETWEEN 1 AND 1024),
	attributes json NOT NULL CHECK (json_typeof(attributes) = 'object'),
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL
);
