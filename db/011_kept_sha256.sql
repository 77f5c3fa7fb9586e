-- 011_kept_sha256.sql - a report received again byte for byte is not kept
-- again (a flood of one body, a sender's retry, an IMAP message fetched
-- twice).
--
-- kept_sha256 is set on the one row that keeps a body for receipt by
-- SMTP, HTTPS and IMAP: the SHA-256 of the bytes as the sender sent them
-- (for SMTP without ruad's own Received header, which differs every
-- time; sha256 stays the digest of raw).  Its unique index makes the
-- check part of the insert (ON CONFLICT ... DO NOTHING), race-free across
-- instances, with no lookup of its own.  NULL on too_large rows (they
-- keep no bytes), on `ruad import` rows (the admin asked for them), and
-- on every row but the oldest of a body stored more than once before
-- this migration, so a database holding such rows migrates as it is.  No
-- row is removed or changed otherwise; reprocess works on any row.
ALTER TABLE inbound ADD COLUMN kept_sha256 bytea;

UPDATE inbound SET kept_sha256 = sha256
WHERE id IN (SELECT DISTINCT ON (sha256) id FROM inbound
             WHERE state <> 'too_large' AND channel <> 'import'
             ORDER BY sha256, id);

CREATE UNIQUE INDEX inbound_kept_sha256 ON inbound (kept_sha256)
    WHERE kept_sha256 IS NOT NULL;
