-- 003_api.sql - what the query API (/api/v1) reads: more daily rollups,
-- the indexes its keyset pagination walks, and one SQL function per
-- endpoint answering a JSON document.
--
-- The rollups are kept by deferred triggers: when the transaction that
-- stored a report commits, its rows are added (a report rolled back to
-- its savepoint, e.g. a duplicate, leaves no trace).  A report counts on
-- the UTC day of the middle of its range, as in dmarc_daily.
--
-- TLS reports: a sending MTA that applies both an MTA-STS and a DANE
-- policy may report the same sessions under each.  Per report and policy
-- domain one policy is counted: the one with the most sessions (tlsa,
-- then sts, then the rest on a tie, then document order).

CREATE INDEX dmarc_report_begin ON dmarc_report (begin_at, id);
CREATE INDEX dmarc_report_domain_begin_id ON dmarc_report
    (lower(policy_domain), begin_at, id);
CREATE INDEX tlsrpt_report_begin ON tlsrpt_report (begin_at, id);
CREATE INDEX inbound_state_id ON inbound (state, id);
CREATE INDEX inbound_channel_id ON inbound (channel, id);

-- A domain's rows of a rollup lie all over the table (they arrive day by
-- day): covering keys let a summary read them from the index alone.
DROP INDEX dmarc_daily_key;
CREATE UNIQUE INDEX dmarc_daily_key ON dmarc_daily
    (policy_domain, day, source_ip, header_from, disposition, dkim, spf)
    INCLUDE (messages) NULLS NOT DISTINCT;

-- DMARC messages per reporter and outcome (group_by org, day, disposition)
CREATE TABLE dmarc_daily_org (
    policy_domain   text NOT NULL,        -- lower case
    day             date NOT NULL,
    reporter        text NOT NULL,
    disposition     text NOT NULL,
    dkim            text NOT NULL,
    spf             text NOT NULL,
    messages        bigint NOT NULL,
    PRIMARY KEY (policy_domain, day, reporter, disposition, dkim, spf)
        INCLUDE (messages)
);
CREATE INDEX dmarc_daily_org_day ON dmarc_daily_org (day);

-- The same over all domains: summaries without a domain read this
CREATE TABLE dmarc_daily_all (
    day             date NOT NULL,
    reporter        text NOT NULL,
    disposition     text NOT NULL,
    dkim            text NOT NULL,
    spf             text NOT NULL,
    messages        bigint NOT NULL,
    PRIMARY KEY (day, reporter, disposition, dkim, spf)
);

-- Reports per domain, day and reporter (domains, reporters)
CREATE TABLE dmarc_daily_reports (
    policy_domain   text NOT NULL,
    day             date NOT NULL,
    reporter        text NOT NULL,
    org_name        text NOT NULL,        -- the latest seen
    reports         bigint NOT NULL,
    messages        bigint NOT NULL,
    first_begin     timestamptz NOT NULL,
    last_begin      timestamptz NOT NULL,
    last_stored     timestamptz NOT NULL,
    PRIMARY KEY (policy_domain, day, reporter)
);

-- Which reporters saw a source address (sources)
CREATE TABLE dmarc_daily_ip_reporter (
    policy_domain   text NOT NULL,
    day             date NOT NULL,
    source_ip       inet,
    reporter        text NOT NULL,
    messages        bigint NOT NULL
);
CREATE UNIQUE INDEX dmarc_daily_ip_reporter_key ON dmarc_daily_ip_reporter
    (policy_domain, day, source_ip, reporter) INCLUDE (messages)
    NULLS NOT DISTINCT;
CREATE INDEX dmarc_daily_ip_reporter_ip ON dmarc_daily_ip_reporter
    (source_ip, day);

-- TLS sessions of the counted policies, with the failure details
CREATE TABLE tlsrpt_daily_detail (
    policy_domain         text NOT NULL,  -- lower case, '' if none
    day                   date NOT NULL,
    policy_type           text NOT NULL,
    result_type           text NOT NULL,  -- 'success' or a failure type
    receiving_mx_hostname text NOT NULL,  -- lower case, '' if none
    sending_mta_ip        inet,
    sessions              bigint NOT NULL
);
CREATE UNIQUE INDEX tlsrpt_daily_detail_key ON tlsrpt_daily_detail
    (policy_domain, day, policy_type, result_type, receiving_mx_hostname,
     sending_mta_ip) INCLUDE (sessions) NULLS NOT DISTINCT;
CREATE INDEX tlsrpt_daily_detail_day ON tlsrpt_daily_detail (day);

CREATE TABLE tlsrpt_daily_reports (
    policy_domain     text NOT NULL,
    day               date NOT NULL,
    organization_name text NOT NULL,
    reports           bigint NOT NULL,
    sessions          bigint NOT NULL,
    first_begin       timestamptz NOT NULL,
    last_begin        timestamptz NOT NULL,
    last_stored       timestamptz NOT NULL,
    PRIMARY KEY (policy_domain, day, organization_name)
);

-- api_rollup_dmarc - add stored DMARC reports to the API's rollups
CREATE FUNCTION api_rollup_dmarc(ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO dmarc_daily_org AS d
    SELECT lower(r.policy_domain), (r.begin_at + (r.end_at - r.begin_at) / 2)::date,
           r.reporter, coalesce(x.disposition, ''), coalesce(x.dkim, ''),
           coalesce(x.spf, ''), sum(coalesce(x.count, 0))
    FROM dmarc_record x JOIN dmarc_report r ON r.id = x.report_id
    WHERE r.id = ANY (ids)
    GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (policy_domain, day, reporter, disposition, dkim, spf)
    DO UPDATE SET messages = d.messages + excluded.messages;

    INSERT INTO dmarc_daily_all AS d
    SELECT (r.begin_at + (r.end_at - r.begin_at) / 2)::date,
           r.reporter, coalesce(x.disposition, ''), coalesce(x.dkim, ''),
           coalesce(x.spf, ''), sum(coalesce(x.count, 0))
    FROM dmarc_record x JOIN dmarc_report r ON r.id = x.report_id
    WHERE r.id = ANY (ids)
    GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (day, reporter, disposition, dkim, spf)
    DO UPDATE SET messages = d.messages + excluded.messages;

    INSERT INTO dmarc_daily_reports AS d
    SELECT lower(r.policy_domain), (r.begin_at + (r.end_at - r.begin_at) / 2)::date,
           r.reporter, max(r.org_name), count(*), sum(r.message_count),
           min(r.begin_at), max(r.begin_at), max(r.stored_at)
    FROM dmarc_report r WHERE r.id = ANY (ids)
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (policy_domain, day, reporter) DO UPDATE SET
        org_name = excluded.org_name,
        reports = d.reports + excluded.reports,
        messages = d.messages + excluded.messages,
        first_begin = least(d.first_begin, excluded.first_begin),
        last_begin = greatest(d.last_begin, excluded.last_begin),
        last_stored = greatest(d.last_stored, excluded.last_stored);

    INSERT INTO dmarc_daily_ip_reporter AS d
    SELECT lower(r.policy_domain), (r.begin_at + (r.end_at - r.begin_at) / 2)::date,
           x.source_ip, r.reporter, sum(coalesce(x.count, 0))
    FROM dmarc_record x JOIN dmarc_report r ON r.id = x.report_id
    WHERE r.id = ANY (ids)
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (policy_domain, day, source_ip, reporter)
    DO UPDATE SET messages = d.messages + excluded.messages;
$$;

-- api_tlsrpt_counted - the policies whose sessions count (see the top)
CREATE FUNCTION api_tlsrpt_counted(ids bigint[])
RETURNS TABLE (report_id bigint, pol_no integer) LANGUAGE sql STABLE AS $$
    SELECT DISTINCT ON (p.report_id, lower(coalesce(p.policy_domain, '')))
           p.report_id, p.pol_no
    FROM tlsrpt_policy p WHERE p.report_id = ANY (ids)
    ORDER BY p.report_id, lower(coalesce(p.policy_domain, '')),
        coalesce(p.total_successful, 0) + coalesce(p.total_failure, 0) DESC,
        CASE p.policy_type WHEN 'tlsa' THEN 0 WHEN 'sts' THEN 1 ELSE 2 END,
        p.pol_no
$$;

-- api_tlsrpt_sessions - session rows of the counted policies: successes,
-- each failure detail, and failures the details do not account for
CREATE FUNCTION api_tlsrpt_sessions(ids bigint[])
RETURNS TABLE (report_id bigint, policy_domain text, day date,
    policy_type text, result_type text, receiving_mx_hostname text,
    sending_mta_ip inet, sessions bigint)
LANGUAGE sql STABLE AS $$
    WITH c AS (SELECT * FROM api_tlsrpt_counted(ids)),
    p AS (
        SELECT p.*, lower(coalesce(p.policy_domain, '')) AS dom,
               (r.begin_at + (r.end_at - r.begin_at) / 2)::date AS d
        FROM c JOIN tlsrpt_policy p USING (report_id, pol_no)
        JOIN tlsrpt_report r ON r.id = p.report_id)
    SELECT p.report_id, p.dom, p.d, p.policy_type, 'success', '',
           NULL::inet, coalesce(p.total_successful, 0)
    FROM p WHERE coalesce(p.total_successful, 0) > 0
    UNION ALL
    SELECT p.report_id, p.dom, p.d, p.policy_type, f.result_type,
           lower(coalesce(f.receiving_mx_hostname, '')), f.sending_mta_ip,
           coalesce(f.failed_session_count, 0)
    FROM p JOIN tlsrpt_failure f ON f.report_id = p.report_id AND
        f.pol_no = p.pol_no
    WHERE coalesce(f.failed_session_count, 0) > 0
    UNION ALL
    SELECT p.report_id, p.dom, p.d, p.policy_type, 'unspecified', '',
           NULL::inet, n
    FROM (SELECT p.*, coalesce(p.total_failure, 0) -
            coalesce((SELECT sum(coalesce(f.failed_session_count, 0))
            FROM tlsrpt_failure f WHERE f.report_id = p.report_id AND
            f.pol_no = p.pol_no), 0) AS n FROM p) p
    WHERE n > 0
$$;

-- api_rollup_tlsrpt - add stored TLS reports to the API's rollups
CREATE FUNCTION api_rollup_tlsrpt(ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO tlsrpt_daily_detail AS d
    SELECT policy_domain, day, policy_type, result_type,
           receiving_mx_hostname, sending_mta_ip, sum(sessions)
    FROM api_tlsrpt_sessions(ids)
    GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (policy_domain, day, policy_type, result_type,
        receiving_mx_hostname, sending_mta_ip)
    DO UPDATE SET sessions = d.sessions + excluded.sessions;

    INSERT INTO tlsrpt_daily_reports AS d
    SELECT dom, (r.begin_at + (r.end_at - r.begin_at) / 2)::date,
           r.organization_name, count(DISTINCT r.id), coalesce(sum(s.n), 0),
           min(r.begin_at), max(r.begin_at), max(r.stored_at)
    FROM tlsrpt_report r
    JOIN (SELECT DISTINCT report_id, lower(coalesce(policy_domain, '')) AS dom
          FROM tlsrpt_policy WHERE report_id = ANY (ids)) p
        ON p.report_id = r.id
    LEFT JOIN (SELECT report_id, policy_domain, sum(sessions) AS n
          FROM api_tlsrpt_sessions(ids) GROUP BY 1, 2) s
        ON s.report_id = r.id AND s.policy_domain = p.dom
    WHERE r.id = ANY (ids)
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (policy_domain, day, organization_name) DO UPDATE SET
        reports = d.reports + excluded.reports,
        sessions = d.sessions + excluded.sessions,
        first_begin = least(d.first_begin, excluded.first_begin),
        last_begin = greatest(d.last_begin, excluded.last_begin),
        last_stored = greatest(d.last_stored, excluded.last_stored);
$$;

CREATE FUNCTION api_rollup_dmarc_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM api_rollup_dmarc(ARRAY[NEW.id]);
    RETURN NULL;
END $$;

CREATE FUNCTION api_rollup_tlsrpt_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM api_rollup_tlsrpt(ARRAY[NEW.id]);
    RETURN NULL;
END $$;

-- at commit, when the report's records and policies are all in
CREATE CONSTRAINT TRIGGER dmarc_report_api_rollup AFTER INSERT ON dmarc_report
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION api_rollup_dmarc_trigger();
CREATE CONSTRAINT TRIGGER tlsrpt_report_api_rollup AFTER INSERT
    ON tlsrpt_report DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION api_rollup_tlsrpt_trigger();

-- Reports stored before this migration
SELECT api_rollup_dmarc(coalesce(array_agg(id), '{}')) FROM dmarc_report;
SELECT api_rollup_tlsrpt(coalesce(array_agg(id), '{}')) FROM tlsrpt_report;

-- api_ts - RFC 3339 in UTC, whole seconds
CREATE FUNCTION api_ts(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

-- ---- JSON of the API's items (docs/openapi.json has the schemas) ----

CREATE FUNCTION api_dmarc_item(r dmarc_report) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', r.id, 'inbound_id', r.inbound_id,
        'reporter', r.reporter, 'org_name', r.org_name,
        'org_email', r.org_email, 'report_id', r.report_id,
        'begin', api_ts(r.begin_at), 'end', api_ts(r.end_at),
        'policy_domain', r.policy_domain,
        'policy', jsonb_build_object('adkim', r.policy_adkim,
            'aspf', r.policy_aspf, 'p', r.policy_p, 'sp', r.policy_sp,
            'np', r.policy_np, 'pct', r.policy_pct, 'fo', r.policy_fo,
            'testing', r.policy_testing, 'discovery', r.policy_discovery),
        'record_count', r.record_count, 'message_count', r.message_count,
        'stored_at', api_ts(r.stored_at),
        'dkim', jsonb_build_object('result', r.dkim_result,
            'domain', r.dkim_domain, 'aligned', r.dkim_aligned))
$$;

CREATE FUNCTION api_inbound_dkim(inbound_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN i.channel IN ('smtp', 'imap') OR
            i.dkim_result IS NOT NULL THEN
        jsonb_build_object('result', i.dkim_result,
            'domain', i.dkim_domain, 'selector', i.dkim_selector,
            'aligned', i.dkim_aligned, 'from_domain', i.from_domain)
        END
    FROM inbound i WHERE i.id = inbound_id
$$;

CREATE FUNCTION api_dmarc_report(report bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT api_dmarc_item(r) || jsonb_build_object(
        'errors', to_jsonb(r.errors), 'version', r.version,
        'generator', r.generator,
        'extra_contact_info', r.extra_contact_info,
        'inbound_dkim', api_inbound_dkim(r.inbound_id),
        'records', coalesce((SELECT jsonb_agg(jsonb_build_object(
            'source_ip', coalesce(host(x.source_ip), x.source_ip_text),
            'count', x.count, 'disposition', x.disposition,
            'dkim', x.dkim, 'spf', x.spf, 'reasons', x.reasons,
            'header_from', x.header_from,
            'envelope_from', x.envelope_from,
            'envelope_to', x.envelope_to,
            'dkim_results', coalesce((SELECT jsonb_agg(jsonb_build_object(
                'domain', k.domain, 'selector', k.selector,
                'result', k.result, 'human_result', k.human_result)
                ORDER BY k.idx) FROM dmarc_dkim_result k
                WHERE k.report_id = x.report_id AND k.rec_no = x.rec_no),
                '[]'),
            'spf_results', coalesce((SELECT jsonb_agg(jsonb_build_object(
                'domain', s.domain, 'scope', s.scope,
                'result', s.result, 'human_result', s.human_result)
                ORDER BY s.idx) FROM dmarc_spf_result s
                WHERE s.report_id = x.report_id AND s.rec_no = x.rec_no),
                '[]')) ORDER BY x.rec_no)
            FROM dmarc_record x WHERE x.report_id = r.id), '[]'))
    FROM dmarc_report r WHERE r.id = report
$$;

CREATE FUNCTION api_tlsrpt_item(r tlsrpt_report) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', r.id, 'inbound_id', r.inbound_id,
        'organization_name', r.organization_name,
        'contact_info', r.contact_info, 'report_id', r.report_id,
        'begin', api_ts(r.begin_at), 'end', api_ts(r.end_at),
        'stored_at', api_ts(r.stored_at),
        'dkim', jsonb_build_object('result', r.dkim_result,
            'domain', r.dkim_domain, 'aligned', r.dkim_aligned),
        'policies', coalesce((SELECT jsonb_agg(jsonb_build_object(
            'policy_type', p.policy_type, 'policy_domain', p.policy_domain,
            'total_successful', p.total_successful,
            'total_failure', p.total_failure) ORDER BY p.pol_no)
            FROM tlsrpt_policy p WHERE p.report_id = r.id), '[]'))
$$;

CREATE FUNCTION api_tlsrpt_report(report bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT api_tlsrpt_item(r) || jsonb_build_object(
        'inbound_dkim', api_inbound_dkim(r.inbound_id),
        'policies', coalesce((SELECT jsonb_agg(jsonb_build_object(
            'policy_type', p.policy_type, 'policy_domain', p.policy_domain,
            'policy_string', to_jsonb(p.policy_string),
            'mx_host', to_jsonb(p.mx_host),
            'total_successful', p.total_successful,
            'total_failure', p.total_failure,
            'failures', coalesce((SELECT jsonb_agg(jsonb_build_object(
                'result_type', f.result_type,
                'sending_mta_ip', host(f.sending_mta_ip),
                'receiving_mx_hostname', f.receiving_mx_hostname,
                'receiving_mx_helo', f.receiving_mx_helo,
                'receiving_ip', host(f.receiving_ip),
                'failed_session_count', f.failed_session_count,
                'additional_information', f.additional_information,
                'failure_reason_code', f.failure_reason_code)
                ORDER BY f.det_no) FROM tlsrpt_failure f
                WHERE f.report_id = p.report_id AND f.pol_no = p.pol_no),
                '[]')) ORDER BY p.pol_no)
            FROM tlsrpt_policy p WHERE p.report_id = r.id), '[]'))
    FROM tlsrpt_report r WHERE r.id = report
$$;

-- api_inbound_item - by id: a whole inbound row would carry raw along
CREATE FUNCTION api_inbound_item(inbound_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', i.id, 'received_at', api_ts(i.received_at),
        'channel', i.channel, 'peer_addr', host(i.peer_addr),
        'source_name', i.source_name, 'smtp_helo', i.smtp_helo,
        'smtp_mail_from', i.smtp_mail_from, 'tls_version', i.tls_version,
        'content_type', i.content_type, 'size', i.size, 'state', i.state,
        'reason', i.reason, 'warnings', to_jsonb(i.warnings),
        'attempts', i.attempts, 'processed_at', api_ts(i.processed_at),
        'dkim', jsonb_build_object('result', i.dkim_result,
            'domain', i.dkim_domain, 'selector', i.dkim_selector,
            'aligned', i.dkim_aligned, 'from_domain', i.from_domain),
        'dmarc_reports', coalesce((SELECT jsonb_agg(r.id ORDER BY r.id)
            FROM dmarc_report r WHERE r.inbound_id = i.id), '[]'),
        'tlsrpt_reports', coalesce((SELECT jsonb_agg(r.id ORDER BY r.id)
            FROM tlsrpt_report r WHERE r.inbound_id = i.id), '[]'))
    FROM inbound i WHERE i.id = inbound_id
$$;

-- api_dmarc_counts - one summary group's numbers
CREATE FUNCTION api_dmarc_counts(messages numeric, n_both numeric,
    dkim_only numeric, spf_only numeric, neither numeric, d_none numeric,
    d_quarantine numeric, d_reject numeric, d_other numeric) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('messages', coalesce(messages, 0),
        'outcome', jsonb_build_object('both_aligned', coalesce(n_both, 0),
            'dkim_aligned_only', coalesce(dkim_only, 0),
            'spf_aligned_only', coalesce(spf_only, 0),
            'neither', coalesce(neither, 0)),
        'disposition', jsonb_build_object('none', coalesce(d_none, 0),
            'quarantine', coalesce(d_quarantine, 0),
            'reject', coalesce(d_reject, 0),
            'other', coalesce(d_other, 0)))
$$;
