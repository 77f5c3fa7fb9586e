-- db/functions/10_api.sql - the API's functions: rollups, summaries and the
-- JSON of reports
--
-- Re-applied by every `ruad migrate`, after the numbered migrations, so
-- this file holds the current definition of each function below: change
-- a function here, not in a new numbered file (see db/README.md).  Every
-- statement is CREATE OR REPLACE; one that cannot be replaced (a new
-- return type or argument list) is dropped by a numbered migration first.
-- Definitions first made by: db/003_api.sql, db/005_records.sql,
-- db/007_totals.sql.

-- api_tlsrpt_counted - the policies whose sessions count (see db/003_api.sql)
CREATE OR REPLACE FUNCTION api_tlsrpt_counted(ids bigint[])
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
CREATE OR REPLACE FUNCTION api_tlsrpt_sessions(ids bigint[])
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
CREATE OR REPLACE FUNCTION api_rollup_tlsrpt(ids bigint[]) RETURNS void
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

-- api_ts - RFC 3339 in UTC, whole seconds
CREATE OR REPLACE FUNCTION api_ts(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

CREATE OR REPLACE FUNCTION api_dmarc_item(r dmarc_report) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION api_inbound_dkim(inbound_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN i.channel IN ('smtp', 'imap') OR
            i.dkim_result IS NOT NULL THEN
        jsonb_build_object('result', i.dkim_result,
            'domain', i.dkim_domain, 'selector', i.dkim_selector,
            'aligned', i.dkim_aligned, 'from_domain', i.from_domain)
        END
    FROM inbound i WHERE i.id = inbound_id
$$;

CREATE OR REPLACE FUNCTION api_tlsrpt_item(r tlsrpt_report) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION api_tlsrpt_report(report bigint) RETURNS jsonb
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
CREATE OR REPLACE FUNCTION api_inbound_item(inbound_id bigint) RETURNS jsonb
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

-- api_dmarc_record - one record of a report with its auth results
CREATE OR REPLACE FUNCTION api_dmarc_record(x dmarc_record) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
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
            WHERE k.report_id = x.report_id AND k.rec_no = x.rec_no), '[]'),
        'spf_results', coalesce((SELECT jsonb_agg(jsonb_build_object(
            'domain', s.domain, 'scope', s.scope,
            'result', s.result, 'human_result', s.human_result)
            ORDER BY s.idx) FROM dmarc_spf_result s
            WHERE s.report_id = x.report_id AND s.rec_no = x.rec_no), '[]'))
$$;

-- api_dmarc_record_item - a record of the list, with its report's keys
CREATE OR REPLACE FUNCTION api_dmarc_record_item(x dmarc_record, r dmarc_report)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('report', r.id, 'rec_no', x.rec_no,
        'reporter', r.reporter, 'org_name', r.org_name,
        'report_id', r.report_id, 'policy_domain', r.policy_domain,
        'begin', api_ts(r.begin_at), 'end', api_ts(r.end_at))
        || api_dmarc_record(x)
$$;

CREATE OR REPLACE FUNCTION api_dmarc_report(report bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT api_dmarc_item(r) || jsonb_build_object(
        'errors', to_jsonb(r.errors), 'version', r.version,
        'generator', r.generator,
        'extra_contact_info', r.extra_contact_info,
        'inbound_dkim', api_inbound_dkim(r.inbound_id),
        'records', coalesce((SELECT jsonb_agg(api_dmarc_record(x)
            ORDER BY x.rec_no) FROM dmarc_record x
            WHERE x.report_id = r.id), '[]'))
    FROM dmarc_report r WHERE r.id = report
$$;

-- api_dmarc_outcomes - each record of the reports with its messages in
-- exactly one outcome column and one disposition column
CREATE OR REPLACE FUNCTION api_dmarc_outcomes(ids bigint[])
RETURNS TABLE (day date, source_ip inet, header_from text,
    both_aligned bigint, dkim_only bigint, spf_only bigint, neither bigint,
    none_pass bigint, none_fail bigint, quarantine_pass bigint,
    quarantine_fail bigint, reject_pass bigint, reject_fail bigint,
    other_pass bigint, other_fail bigint)
LANGUAGE sql STABLE AS $$
    SELECT x.day, x.source_ip, x.header_from,
        CASE WHEN x.dk AND x.sp THEN x.c ELSE 0 END,
        CASE WHEN x.dk AND NOT x.sp THEN x.c ELSE 0 END,
        CASE WHEN x.sp AND NOT x.dk THEN x.c ELSE 0 END,
        CASE WHEN NOT x.dk AND NOT x.sp THEN x.c ELSE 0 END,
        CASE WHEN x.disp = 'none' AND x.pass THEN x.c ELSE 0 END,
        CASE WHEN x.disp = 'none' AND NOT x.pass THEN x.c ELSE 0 END,
        CASE WHEN x.disp = 'quarantine' AND x.pass THEN x.c ELSE 0 END,
        CASE WHEN x.disp = 'quarantine' AND NOT x.pass THEN x.c ELSE 0 END,
        CASE WHEN x.disp = 'reject' AND x.pass THEN x.c ELSE 0 END,
        CASE WHEN x.disp = 'reject' AND NOT x.pass THEN x.c ELSE 0 END,
        CASE WHEN x.disp = 'other' AND x.pass THEN x.c ELSE 0 END,
        CASE WHEN x.disp = 'other' AND NOT x.pass THEN x.c ELSE 0 END
    FROM (SELECT (r.begin_at + (r.end_at - r.begin_at) / 2)::date AS day,
            x.source_ip, coalesce(lower(x.header_from), '') AS header_from,
            coalesce(x.count, 0) AS c,
            coalesce(x.dkim, '') = 'pass' AS dk,
            coalesce(x.spf, '') = 'pass' AS sp,
            coalesce(x.dkim, '') = 'pass' OR
                coalesce(x.spf, '') = 'pass' AS pass,
            CASE WHEN x.disposition IN ('none', 'quarantine', 'reject')
                THEN x.disposition ELSE 'other' END AS disp
          FROM dmarc_record x JOIN dmarc_report r ON r.id = x.report_id
          WHERE r.id = ANY (ids)) x
$$;

-- api_rollup_dmarc_totals - add stored DMARC reports to the rollups of
-- db/007_totals.sql
CREATE OR REPLACE FUNCTION api_rollup_dmarc_totals(ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO dmarc_span_ip AS t
    SELECT s.span, date_trunc(s.unit, o.day::timestamp)::date, o.source_ip,
           api_sum8(o.both_aligned), api_sum8(o.dkim_only),
           api_sum8(o.spf_only), api_sum8(o.neither), api_sum8(o.none_pass),
           api_sum8(o.none_fail), api_sum8(o.quarantine_pass),
           api_sum8(o.quarantine_fail), api_sum8(o.reject_pass),
           api_sum8(o.reject_fail), api_sum8(o.other_pass),
           api_sum8(o.other_fail), min(o.day), max(o.day)
    FROM api_dmarc_outcomes(ids) o
    CROSS JOIN (VALUES ('m'::"char", 'month'), ('y', 'year')) s (span, unit)
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (span, start, source_ip) DO UPDATE SET
        both_aligned = t.both_aligned + excluded.both_aligned,
        dkim_only = t.dkim_only + excluded.dkim_only,
        spf_only = t.spf_only + excluded.spf_only,
        neither = t.neither + excluded.neither,
        none_pass = t.none_pass + excluded.none_pass,
        none_fail = t.none_fail + excluded.none_fail,
        quarantine_pass = t.quarantine_pass + excluded.quarantine_pass,
        quarantine_fail = t.quarantine_fail + excluded.quarantine_fail,
        reject_pass = t.reject_pass + excluded.reject_pass,
        reject_fail = t.reject_fail + excluded.reject_fail,
        other_pass = t.other_pass + excluded.other_pass,
        other_fail = t.other_fail + excluded.other_fail,
        first_day = least(t.first_day, excluded.first_day),
        last_day = greatest(t.last_day, excluded.last_day);

    INSERT INTO dmarc_span_from AS t
    SELECT s.span, date_trunc(s.unit, o.day::timestamp)::date,
           o.header_from, api_sum8(o.both_aligned), api_sum8(o.dkim_only),
           api_sum8(o.spf_only), api_sum8(o.neither), api_sum8(o.none_pass),
           api_sum8(o.none_fail), api_sum8(o.quarantine_pass),
           api_sum8(o.quarantine_fail), api_sum8(o.reject_pass),
           api_sum8(o.reject_fail), api_sum8(o.other_pass),
           api_sum8(o.other_fail)
    FROM api_dmarc_outcomes(ids) o
    CROSS JOIN (VALUES ('m'::"char", 'month'), ('y', 'year')) s (span, unit)
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (span, start, header_from) DO UPDATE SET
        both_aligned = t.both_aligned + excluded.both_aligned,
        dkim_only = t.dkim_only + excluded.dkim_only,
        spf_only = t.spf_only + excluded.spf_only,
        neither = t.neither + excluded.neither,
        none_pass = t.none_pass + excluded.none_pass,
        none_fail = t.none_fail + excluded.none_fail,
        quarantine_pass = t.quarantine_pass + excluded.quarantine_pass,
        quarantine_fail = t.quarantine_fail + excluded.quarantine_fail,
        reject_pass = t.reject_pass + excluded.reject_pass,
        reject_fail = t.reject_fail + excluded.reject_fail,
        other_pass = t.other_pass + excluded.other_pass,
        other_fail = t.other_fail + excluded.other_fail;

    INSERT INTO api_reporter AS a
    SELECT 'dmarc', r.reporter, max(r.org_name), count(*), min(r.begin_at),
           max(r.begin_at), max(r.stored_at)
    FROM dmarc_report r WHERE r.id = ANY (ids)
    GROUP BY 2 ORDER BY 2
    ON CONFLICT (kind, reporter) DO UPDATE SET
        org_name = excluded.org_name,
        reports = a.reports + excluded.reports,
        first_begin = least(a.first_begin, excluded.first_begin),
        last_begin = greatest(a.last_begin, excluded.last_begin),
        last_stored = greatest(a.last_stored, excluded.last_stored);

    INSERT INTO api_reporter_domain AS a
    SELECT 'dmarc', r.reporter, lower(r.policy_domain), count(*),
           api_sum8(r.message_count), min(r.begin_at), max(r.begin_at)
    FROM dmarc_report r WHERE r.id = ANY (ids)
    GROUP BY 2, 3 ORDER BY 2, 3
    ON CONFLICT (kind, reporter, policy_domain) DO UPDATE SET
        reports = a.reports + excluded.reports,
        messages = a.messages + excluded.messages,
        first_begin = least(a.first_begin, excluded.first_begin),
        last_begin = greatest(a.last_begin, excluded.last_begin);
$$;

-- api_rollup_tlsrpt_totals - add stored TLS reports to the rollups of
-- db/007_totals.sql
CREATE OR REPLACE FUNCTION api_rollup_tlsrpt_totals(ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO tlsrpt_daily_all AS d
    SELECT day, policy_type, result_type, receiving_mx_hostname,
           sending_mta_ip, api_sum8(sessions)
    FROM api_tlsrpt_sessions(ids)
    GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (day, policy_type, result_type, receiving_mx_hostname,
        sending_mta_ip)
    DO UPDATE SET sessions = d.sessions + excluded.sessions;

    INSERT INTO api_reporter AS a
    SELECT 'tlsrpt', r.organization_name, r.organization_name, count(*),
           min(r.begin_at), max(r.begin_at), max(r.stored_at)
    FROM tlsrpt_report r WHERE r.id = ANY (ids)
    GROUP BY 2 ORDER BY 2
    ON CONFLICT (kind, reporter) DO UPDATE SET
        reports = a.reports + excluded.reports,
        first_begin = least(a.first_begin, excluded.first_begin),
        last_begin = greatest(a.last_begin, excluded.last_begin),
        last_stored = greatest(a.last_stored, excluded.last_stored);

    -- a report counts once for each policy domain it names
    INSERT INTO api_reporter_domain AS a
    SELECT 'tlsrpt', r.organization_name, p.dom, count(DISTINCT r.id),
           coalesce(sum(s.n), 0), min(r.begin_at), max(r.begin_at)
    FROM tlsrpt_report r
    JOIN (SELECT DISTINCT report_id, lower(coalesce(policy_domain, '')) AS dom
          FROM tlsrpt_policy WHERE report_id = ANY (ids)) p
        ON p.report_id = r.id
    LEFT JOIN (SELECT report_id, policy_domain, sum(sessions) AS n
          FROM api_tlsrpt_sessions(ids) GROUP BY 1, 2) s
        ON s.report_id = r.id AND s.policy_domain = p.dom
    WHERE r.id = ANY (ids)
    GROUP BY 2, 3 ORDER BY 2, 3
    ON CONFLICT (kind, reporter, policy_domain) DO UPDATE SET
        reports = a.reports + excluded.reports,
        messages = a.messages + excluded.messages,
        first_begin = least(a.first_begin, excluded.first_begin),
        last_begin = greatest(a.last_begin, excluded.last_begin);
$$;

-- api_rollup_dmarc - 003's, with api_sum8
CREATE OR REPLACE FUNCTION api_rollup_dmarc(ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO dmarc_daily_org AS d
    SELECT lower(r.policy_domain),
           (r.begin_at + (r.end_at - r.begin_at) / 2)::date,
           r.reporter, coalesce(x.disposition, ''), coalesce(x.dkim, ''),
           coalesce(x.spf, ''), api_sum8(coalesce(x.count, 0))
    FROM dmarc_record x JOIN dmarc_report r ON r.id = x.report_id
    WHERE r.id = ANY (ids)
    GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (policy_domain, day, reporter, disposition, dkim, spf)
    DO UPDATE SET messages = d.messages + excluded.messages;

    INSERT INTO dmarc_daily_all AS d
    SELECT (r.begin_at + (r.end_at - r.begin_at) / 2)::date,
           r.reporter, coalesce(x.disposition, ''), coalesce(x.dkim, ''),
           coalesce(x.spf, ''), api_sum8(coalesce(x.count, 0))
    FROM dmarc_record x JOIN dmarc_report r ON r.id = x.report_id
    WHERE r.id = ANY (ids)
    GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (day, reporter, disposition, dkim, spf)
    DO UPDATE SET messages = d.messages + excluded.messages;

    INSERT INTO dmarc_daily_reports AS d
    SELECT lower(r.policy_domain),
           (r.begin_at + (r.end_at - r.begin_at) / 2)::date,
           r.reporter, max(r.org_name), count(*), api_sum8(r.message_count),
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
    SELECT lower(r.policy_domain),
           (r.begin_at + (r.end_at - r.begin_at) / 2)::date,
           x.source_ip, r.reporter, api_sum8(coalesce(x.count, 0))
    FROM dmarc_record x JOIN dmarc_report r ON r.id = x.report_id
    WHERE r.id = ANY (ids)
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (policy_domain, day, source_ip, reporter)
    DO UPDATE SET messages = d.messages + excluded.messages;
$$;

CREATE OR REPLACE FUNCTION api_rollup_dmarc_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM api_rollup_dmarc(ARRAY[NEW.id]);
    PERFORM api_rollup_dmarc_totals(ARRAY[NEW.id]);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION api_rollup_tlsrpt_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM api_rollup_tlsrpt(ARRAY[NEW.id]);
    PERFORM api_rollup_tlsrpt_totals(ARRAY[NEW.id]);
    RETURN NULL;
END $$;

-- A summary builds its groups as json text, not jsonb: up to 1,001
-- groups, and a jsonb object per group (then merged with ||) cost five
-- times as much as the query that counts them.
-- api_dmarc_fields - a summary group's numbers, from the twelve sums of
-- store_api.c, as the members of a JSON object without its braces (the
-- caller adds "key" to a group, nothing to the totals)
CREATE OR REPLACE FUNCTION api_dmarc_fields(b numeric, d numeric, s numeric,
    n numeric, pn numeric, fn numeric, pq numeric, fq numeric, pr numeric,
    fr numeric, po numeric, fo numeric) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT left(substr(json_build_object(
        'messages', b + d + s + n,
        'outcome', json_build_object('both_aligned', b,
            'dkim_aligned_only', d, 'spf_aligned_only', s, 'neither', n),
        'disposition', json_build_object('none', pn + fn,
            'quarantine', pq + fq, 'reject', pr + fr, 'other', po + fo),
        'by_disposition', json_build_object(
            'none', json_build_object('pass', pn, 'fail', fn),
            'quarantine', json_build_object('pass', pq, 'fail', fq),
            'reject', json_build_object('pass', pr, 'fail', fr),
            'other', json_build_object('pass', po, 'fail', fo)))::text, 2), -1)
$$;
