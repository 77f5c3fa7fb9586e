-- 004_imap.sql - where each IMAP source stands (RFC 3501 2.3.1.1).
--
-- A mailbox's UIDs hold only while its UIDVALIDITY stays the same, so
-- both are kept: every message up to last_uid has been stored.  Each
-- stored message is recorded with its inbound row in the same
-- transaction; acted_at is set once the action (keep, flag \Seen, move)
-- is done, so a crash in between repeats the action, never the store.
CREATE TABLE imap_mailbox (
    source       text NOT NULL,           -- imap.NAME
    mailbox      text NOT NULL,           -- the url, without credentials
    uidvalidity  bigint NOT NULL,
    last_uid     bigint NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, mailbox)
);

CREATE TABLE imap_message (
    source       text NOT NULL,
    mailbox      text NOT NULL,
    uidvalidity  bigint NOT NULL,
    uid          bigint NOT NULL,
    inbound_id   bigint NOT NULL REFERENCES inbound (id),
    stored_at    timestamptz NOT NULL DEFAULT now(),
    acted_at     timestamptz,             -- NULL: the action is still due
    action       text NOT NULL
                 CHECK (action IN ('keep', 'flag', 'move', 'stale')),
    PRIMARY KEY (source, mailbox, uidvalidity, uid)
);
-- the actions still due, looked at each poll
CREATE INDEX imap_message_due ON imap_message (source, mailbox)
    WHERE acted_at IS NULL;
CREATE INDEX imap_message_inbound ON imap_message (inbound_id);
