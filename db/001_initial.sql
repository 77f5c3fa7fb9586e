-- 001_initial.sql - inbound queue, normalised reports, daily rollups.
--
-- Applied by `ruad migrate` in one transaction and recorded in
-- schema_version.  Enumerations are text with CHECK constraints (easier to
-- extend than enum types); times are timestamptz; addresses are inet.

-- Everything received, byte for byte, before anything else happens.
CREATE TABLE inbound (
    id              bigserial PRIMARY KEY,
    received_at     timestamptz NOT NULL DEFAULT now(),
    channel         text NOT NULL
                    CHECK (channel IN ('smtp', 'https', 'import', 'imap')),
    peer_addr       inet,                 -- SMTP/HTTPS client
    source_name     text,                 -- import: file name; imap: mailbox
    smtp_helo       text,
    smtp_mail_from  text,
    smtp_rcpt_to    text[],
    tls_version     text,                 -- e.g. TLSv1.3, NULL if plaintext
    tls_cipher      text,
    content_type    text,
    size            bigint NOT NULL,
    raw             bytea NOT NULL,
    sha256          bytea NOT NULL,
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'processing', 'parsed',
                        'duplicate', 'not_a_report', 'malformed',
                        'too_large', 'unauthenticated', 'failed')),
    reason          text,                 -- why this verdict
    warnings        text[] NOT NULL DEFAULT '{}',
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    claimed_at      timestamptz,
    processed_at    timestamptz
);
-- most raw bytes are compressed already: do not try again
ALTER TABLE inbound ALTER COLUMN raw SET STORAGE EXTERNAL;
-- the workers' claim: oldest first among rows not yet decided
CREATE INDEX inbound_todo ON inbound (id)
    WHERE state IN ('pending', 'processing');
CREATE INDEX inbound_state_received ON inbound (state, received_at);
CREATE INDEX inbound_sha256 ON inbound (sha256);

CREATE TABLE dmarc_report (
    id                  bigserial PRIMARY KEY,
    inbound_id          bigint NOT NULL REFERENCES inbound (id),
    reporter            text NOT NULL,    -- lower(org_email or org_name)
    org_name            text NOT NULL,
    org_email           text,
    extra_contact_info  text,
    report_id           text NOT NULL,
    begin_at            timestamptz NOT NULL,
    end_at              timestamptz NOT NULL,
    errors              text[] NOT NULL DEFAULT '{}',
    version             text,
    generator           text,
    xmlns               text,
    policy_domain       text NOT NULL,
    policy_adkim        text,
    policy_aspf         text,
    policy_p            text,
    policy_sp           text,
    policy_np           text,
    policy_pct          integer,
    policy_fo           text,
    policy_testing      text,
    policy_discovery    text,
    record_count        bigint NOT NULL DEFAULT 0,
    message_count       bigint NOT NULL DEFAULT 0,
    stored_at           timestamptz NOT NULL DEFAULT now()
);
-- one report once, whichever way and however often it arrives
CREATE UNIQUE INDEX dmarc_report_key ON dmarc_report
    (reporter, report_id, lower(policy_domain), begin_at, end_at);
CREATE INDEX dmarc_report_domain_begin ON dmarc_report
    (lower(policy_domain), begin_at);
CREATE INDEX dmarc_report_inbound ON dmarc_report (inbound_id);

CREATE TABLE dmarc_record (
    report_id       bigint NOT NULL REFERENCES dmarc_report (id)
                    ON DELETE CASCADE,
    rec_no          integer NOT NULL,     -- 0-based, document order
    source_ip       inet,                 -- NULL when not an address
    source_ip_text  text,                 -- as given when not an address
    count           bigint,
    disposition     text,
    dkim            text,                 -- policy_evaluated
    spf             text,
    reasons         jsonb NOT NULL DEFAULT '[]', -- [{"type","comment"}]
    header_from     text,
    envelope_from   text,
    envelope_to     text,
    PRIMARY KEY (report_id, rec_no)
);
CREATE INDEX dmarc_record_source_ip ON dmarc_record (source_ip);

CREATE TABLE dmarc_dkim_result (
    report_id       bigint NOT NULL,
    rec_no          integer NOT NULL,
    idx             smallint NOT NULL,
    domain          text,
    selector        text,
    result          text,
    human_result    text,
    PRIMARY KEY (report_id, rec_no, idx),
    FOREIGN KEY (report_id, rec_no) REFERENCES dmarc_record
        ON DELETE CASCADE
);

CREATE TABLE dmarc_spf_result (
    report_id       bigint NOT NULL,
    rec_no          integer NOT NULL,
    idx             smallint NOT NULL,
    domain          text,
    scope           text,
    result          text,
    human_result    text,
    PRIMARY KEY (report_id, rec_no, idx),
    FOREIGN KEY (report_id, rec_no) REFERENCES dmarc_record
        ON DELETE CASCADE
);

CREATE TABLE tlsrpt_report (
    id                  bigserial PRIMARY KEY,
    inbound_id          bigint NOT NULL REFERENCES inbound (id),
    organization_name   text NOT NULL,
    contact_info        text,
    report_id           text NOT NULL,
    begin_at            timestamptz NOT NULL,
    end_at              timestamptz NOT NULL,
    stored_at           timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX tlsrpt_report_key ON tlsrpt_report
    (organization_name, report_id);
CREATE INDEX tlsrpt_report_inbound ON tlsrpt_report (inbound_id);

CREATE TABLE tlsrpt_policy (
    report_id           bigint NOT NULL REFERENCES tlsrpt_report (id)
                        ON DELETE CASCADE,
    pol_no              integer NOT NULL,
    policy_type         text NOT NULL,
    policy_string       text[] NOT NULL DEFAULT '{}',
    policy_domain       text,
    mx_host             text[] NOT NULL DEFAULT '{}',
    total_successful    bigint,
    total_failure       bigint,
    PRIMARY KEY (report_id, pol_no)
);
CREATE INDEX tlsrpt_policy_domain ON tlsrpt_policy (lower(policy_domain));

CREATE TABLE tlsrpt_failure (
    report_id               bigint NOT NULL,
    pol_no                  integer NOT NULL,
    det_no                  integer NOT NULL,
    result_type             text NOT NULL,
    sending_mta_ip          inet,
    receiving_mx_hostname   text,
    receiving_mx_helo       text,
    receiving_ip            inet,
    failed_session_count    bigint,
    additional_information  text,
    failure_reason_code     text,
    PRIMARY KEY (report_id, pol_no, det_no),
    FOREIGN KEY (report_id, pol_no) REFERENCES tlsrpt_policy
        ON DELETE CASCADE
);

-- Daily rollups, kept in the transaction that stores the report.  The day
-- is the UTC date of the middle of the report's range (reporters cut days
-- at their own midnight).
CREATE TABLE dmarc_daily (
    policy_domain   text NOT NULL,        -- lower case
    day             date NOT NULL,
    source_ip       inet,
    header_from     text NOT NULL DEFAULT '',
    disposition     text NOT NULL DEFAULT '',
    dkim            text NOT NULL DEFAULT '',   -- policy_evaluated
    spf             text NOT NULL DEFAULT '',
    messages        bigint NOT NULL DEFAULT 0,
    reports         bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX dmarc_daily_key ON dmarc_daily
    (policy_domain, day, source_ip, header_from, disposition, dkim, spf)
    NULLS NOT DISTINCT;

CREATE TABLE tlsrpt_daily (
    policy_domain   text NOT NULL,        -- lower case
    day             date NOT NULL,
    policy_type     text NOT NULL,
    result_type     text NOT NULL,        -- 'success' or a failure type
    sessions        bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (policy_domain, day, policy_type, result_type)
);
