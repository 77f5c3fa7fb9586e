-- db/functions/20_report.sql - the copies of a report: unrolling a stored
-- copy, superseding it
--
-- Re-applied by every `ruad migrate`, after the numbered migrations, so
-- this file holds the current definition of each function below: change
-- a function here, not in a new numbered file (see db/README.md).  Every
-- statement is CREATE OR REPLACE; one that cannot be replaced (a new
-- return type or argument list) is dropped by a numbered migration first.
-- Definitions first made by: db/008_report_copies.sql.

-- report_unroll_dmarc - take stored DMARC reports out of every rollup
-- (the reverse of store_pg.c's sink_dmarc_rollup, api_rollup_dmarc and
-- api_rollup_dmarc_totals), before they are deleted.  A rollup row left
-- with no report (in the tables without a count of reports: with nothing
-- left to count) is deleted.  The first/last columns of the rows that
-- stay are kept, but for dmarc_span_ip's days: report_supersede stores a
-- copy with the same key (reporter, domain and range) in the same
-- transaction, so reporters' and domains' ranges stay what they were,
-- while the old copy's addresses need not be in the new one.
CREATE OR REPLACE FUNCTION report_unroll_dmarc(ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    WITH s AS (
        SELECT lower(r.policy_domain) AS policy_domain,
               (r.begin_at + (r.end_at - r.begin_at) / 2)::date AS day,
               x.source_ip, coalesce(lower(x.header_from), '') AS header_from,
               coalesce(x.disposition, '') AS disposition,
               coalesce(x.dkim, '') AS dkim, coalesce(x.spf, '') AS spf,
               api_sum8(coalesce(x.count, 0)) AS messages,
               count(DISTINCT r.id) AS reports
        FROM dmarc_record x JOIN dmarc_report r ON r.id = x.report_id
        WHERE r.id = ANY (ids) GROUP BY 1, 2, 3, 4, 5, 6, 7),
    gone AS (
        DELETE FROM dmarc_daily d USING s
        WHERE (d.policy_domain, d.day, d.header_from, d.disposition, d.dkim,
               d.spf) = (s.policy_domain, s.day, s.header_from,
               s.disposition, s.dkim, s.spf) AND
            d.source_ip IS NOT DISTINCT FROM s.source_ip AND
            d.reports <= s.reports)
    UPDATE dmarc_daily d SET messages = d.messages - s.messages,
        reports = d.reports - s.reports
    FROM s
    WHERE (d.policy_domain, d.day, d.header_from, d.disposition, d.dkim,
           d.spf) = (s.policy_domain, s.day, s.header_from, s.disposition,
           s.dkim, s.spf) AND
        d.source_ip IS NOT DISTINCT FROM s.source_ip AND
        d.reports > s.reports;

    WITH s AS (
        SELECT lower(r.policy_domain) AS policy_domain,
               (r.begin_at + (r.end_at - r.begin_at) / 2)::date AS day,
               r.reporter, coalesce(x.disposition, '') AS disposition,
               coalesce(x.dkim, '') AS dkim, coalesce(x.spf, '') AS spf,
               api_sum8(coalesce(x.count, 0)) AS messages
        FROM dmarc_record x JOIN dmarc_report r ON r.id = x.report_id
        WHERE r.id = ANY (ids) GROUP BY 1, 2, 3, 4, 5, 6),
    gone AS (
        DELETE FROM dmarc_daily_org d USING s
        WHERE (d.policy_domain, d.day, d.reporter, d.disposition, d.dkim,
               d.spf) = (s.policy_domain, s.day, s.reporter, s.disposition,
               s.dkim, s.spf) AND d.messages <= s.messages)
    UPDATE dmarc_daily_org d SET messages = d.messages - s.messages
    FROM s
    WHERE (d.policy_domain, d.day, d.reporter, d.disposition, d.dkim,
           d.spf) = (s.policy_domain, s.day, s.reporter, s.disposition,
           s.dkim, s.spf) AND d.messages > s.messages;

    WITH s AS (
        SELECT (r.begin_at + (r.end_at - r.begin_at) / 2)::date AS day,
               r.reporter, coalesce(x.disposition, '') AS disposition,
               coalesce(x.dkim, '') AS dkim, coalesce(x.spf, '') AS spf,
               api_sum8(coalesce(x.count, 0)) AS messages
        FROM dmarc_record x JOIN dmarc_report r ON r.id = x.report_id
        WHERE r.id = ANY (ids) GROUP BY 1, 2, 3, 4, 5),
    gone AS (
        DELETE FROM dmarc_daily_all d USING s
        WHERE (d.day, d.reporter, d.disposition, d.dkim, d.spf) =
              (s.day, s.reporter, s.disposition, s.dkim, s.spf) AND
            d.messages <= s.messages)
    UPDATE dmarc_daily_all d SET messages = d.messages - s.messages
    FROM s
    WHERE (d.day, d.reporter, d.disposition, d.dkim, d.spf) =
          (s.day, s.reporter, s.disposition, s.dkim, s.spf) AND
        d.messages > s.messages;

    WITH s AS (
        SELECT lower(r.policy_domain) AS policy_domain,
               (r.begin_at + (r.end_at - r.begin_at) / 2)::date AS day,
               r.reporter, count(*) AS reports,
               api_sum8(r.message_count) AS messages
        FROM dmarc_report r WHERE r.id = ANY (ids) GROUP BY 1, 2, 3),
    gone AS (
        DELETE FROM dmarc_daily_reports d USING s
        WHERE (d.policy_domain, d.day, d.reporter) =
              (s.policy_domain, s.day, s.reporter) AND
            d.reports <= s.reports)
    UPDATE dmarc_daily_reports d SET reports = d.reports - s.reports,
        messages = d.messages - s.messages
    FROM s
    WHERE (d.policy_domain, d.day, d.reporter) =
          (s.policy_domain, s.day, s.reporter) AND d.reports > s.reports;

    WITH s AS (
        SELECT lower(r.policy_domain) AS policy_domain,
               (r.begin_at + (r.end_at - r.begin_at) / 2)::date AS day,
               x.source_ip, r.reporter,
               api_sum8(coalesce(x.count, 0)) AS messages
        FROM dmarc_record x JOIN dmarc_report r ON r.id = x.report_id
        WHERE r.id = ANY (ids) GROUP BY 1, 2, 3, 4),
    gone AS (
        DELETE FROM dmarc_daily_ip_reporter d USING s
        WHERE (d.policy_domain, d.day, d.reporter) =
              (s.policy_domain, s.day, s.reporter) AND
            d.source_ip IS NOT DISTINCT FROM s.source_ip AND
            d.messages <= s.messages)
    UPDATE dmarc_daily_ip_reporter d SET messages = d.messages - s.messages
    FROM s
    WHERE (d.policy_domain, d.day, d.reporter) =
          (s.policy_domain, s.day, s.reporter) AND
        d.source_ip IS NOT DISTINCT FROM s.source_ip AND
        d.messages > s.messages;

    -- the spans: each column of a row holds at least what the reports
    -- put there, so equal totals mean nothing is left
    WITH s AS (
        SELECT sp.span, date_trunc(sp.unit, o.day::timestamp)::date AS start,
               o.source_ip, api_sum8(o.both_aligned) AS b,
               api_sum8(o.dkim_only) AS d, api_sum8(o.spf_only) AS s,
               api_sum8(o.neither) AS n, api_sum8(o.none_pass) AS pn,
               api_sum8(o.none_fail) AS fn, api_sum8(o.quarantine_pass) AS pq,
               api_sum8(o.quarantine_fail) AS fq,
               api_sum8(o.reject_pass) AS pr, api_sum8(o.reject_fail) AS fr,
               api_sum8(o.other_pass) AS po, api_sum8(o.other_fail) AS fo
        FROM api_dmarc_outcomes(ids) o
        CROSS JOIN (VALUES ('m'::"char", 'month'), ('y', 'year'))
            sp (span, unit)
        GROUP BY 1, 2, 3),
    gone AS (
        DELETE FROM dmarc_span_ip t USING s
        WHERE (t.span, t.start) = (s.span, s.start) AND
            t.source_ip IS NOT DISTINCT FROM s.source_ip AND
            t.both_aligned + t.dkim_only + t.spf_only + t.neither <=
                s.b + s.d + s.s + s.n)
    UPDATE dmarc_span_ip t SET both_aligned = t.both_aligned - s.b,
        dkim_only = t.dkim_only - s.d, spf_only = t.spf_only - s.s,
        neither = t.neither - s.n, none_pass = t.none_pass - s.pn,
        none_fail = t.none_fail - s.fn,
        quarantine_pass = t.quarantine_pass - s.pq,
        quarantine_fail = t.quarantine_fail - s.fq,
        reject_pass = t.reject_pass - s.pr,
        reject_fail = t.reject_fail - s.fr,
        other_pass = t.other_pass - s.po, other_fail = t.other_fail - s.fo
    FROM s
    WHERE (t.span, t.start) = (s.span, s.start) AND
        t.source_ip IS NOT DISTINCT FROM s.source_ip AND
        t.both_aligned + t.dkim_only + t.spf_only + t.neither >
            s.b + s.d + s.s + s.n;

    -- the days of the span rows that stay, from dmarc_daily (already
    -- without the reports)
    WITH s AS (
        SELECT DISTINCT sp.span, date_trunc(sp.unit, o.day::timestamp)::date
               AS start, o.source_ip,
               (date_trunc(sp.unit, o.day::timestamp) +
                ('1 ' || sp.unit)::interval)::date AS stop
        FROM api_dmarc_outcomes(ids) o
        CROSS JOIN (VALUES ('m'::"char", 'month'), ('y', 'year'))
            sp (span, unit)),
    m AS (
        SELECT s.span, s.start, s.source_ip,
               (SELECT min(d.day) FROM dmarc_daily d
                WHERE d.source_ip = s.source_ip AND d.day >= s.start AND
                    d.day < s.stop) AS first_day,
               (SELECT max(d.day) FROM dmarc_daily d
                WHERE d.source_ip = s.source_ip AND d.day >= s.start AND
                    d.day < s.stop) AS last_day
        FROM s WHERE s.source_ip IS NOT NULL
        UNION ALL
        SELECT s.span, s.start, NULL,
               (SELECT min(d.day) FROM dmarc_daily d
                WHERE d.source_ip IS NULL AND d.day >= s.start AND
                    d.day < s.stop),
               (SELECT max(d.day) FROM dmarc_daily d
                WHERE d.source_ip IS NULL AND d.day >= s.start AND
                    d.day < s.stop)
        FROM s WHERE s.source_ip IS NULL)
    UPDATE dmarc_span_ip t SET first_day = coalesce(m.first_day, t.first_day),
        last_day = coalesce(m.last_day, t.last_day)
    FROM m
    WHERE (t.span, t.start) = (m.span, m.start) AND
        t.source_ip IS NOT DISTINCT FROM m.source_ip;

    WITH s AS (
        SELECT sp.span, date_trunc(sp.unit, o.day::timestamp)::date AS start,
               o.header_from, api_sum8(o.both_aligned) AS b,
               api_sum8(o.dkim_only) AS d, api_sum8(o.spf_only) AS s,
               api_sum8(o.neither) AS n, api_sum8(o.none_pass) AS pn,
               api_sum8(o.none_fail) AS fn, api_sum8(o.quarantine_pass) AS pq,
               api_sum8(o.quarantine_fail) AS fq,
               api_sum8(o.reject_pass) AS pr, api_sum8(o.reject_fail) AS fr,
               api_sum8(o.other_pass) AS po, api_sum8(o.other_fail) AS fo
        FROM api_dmarc_outcomes(ids) o
        CROSS JOIN (VALUES ('m'::"char", 'month'), ('y', 'year'))
            sp (span, unit)
        GROUP BY 1, 2, 3),
    gone AS (
        DELETE FROM dmarc_span_from t USING s
        WHERE (t.span, t.start, t.header_from) =
              (s.span, s.start, s.header_from) AND
            t.both_aligned + t.dkim_only + t.spf_only + t.neither <=
                s.b + s.d + s.s + s.n)
    UPDATE dmarc_span_from t SET both_aligned = t.both_aligned - s.b,
        dkim_only = t.dkim_only - s.d, spf_only = t.spf_only - s.s,
        neither = t.neither - s.n, none_pass = t.none_pass - s.pn,
        none_fail = t.none_fail - s.fn,
        quarantine_pass = t.quarantine_pass - s.pq,
        quarantine_fail = t.quarantine_fail - s.fq,
        reject_pass = t.reject_pass - s.pr,
        reject_fail = t.reject_fail - s.fr,
        other_pass = t.other_pass - s.po, other_fail = t.other_fail - s.fo
    FROM s
    WHERE (t.span, t.start, t.header_from) =
          (s.span, s.start, s.header_from) AND
        t.both_aligned + t.dkim_only + t.spf_only + t.neither >
            s.b + s.d + s.s + s.n;

    WITH s AS (
        SELECT r.reporter, count(*) AS reports
        FROM dmarc_report r WHERE r.id = ANY (ids) GROUP BY 1),
    gone AS (
        DELETE FROM api_reporter a USING s
        WHERE (a.kind, a.reporter) = ('dmarc', s.reporter) AND
            a.reports <= s.reports)
    UPDATE api_reporter a SET reports = a.reports - s.reports
    FROM s
    WHERE (a.kind, a.reporter) = ('dmarc', s.reporter) AND
        a.reports > s.reports;

    WITH s AS (
        SELECT r.reporter, lower(r.policy_domain) AS policy_domain,
               count(*) AS reports, api_sum8(r.message_count) AS messages
        FROM dmarc_report r WHERE r.id = ANY (ids) GROUP BY 1, 2),
    gone AS (
        DELETE FROM api_reporter_domain a USING s
        WHERE (a.kind, a.reporter, a.policy_domain) =
              ('dmarc', s.reporter, s.policy_domain) AND
            a.reports <= s.reports)
    UPDATE api_reporter_domain a SET reports = a.reports - s.reports,
        messages = a.messages - s.messages
    FROM s
    WHERE (a.kind, a.reporter, a.policy_domain) =
          ('dmarc', s.reporter, s.policy_domain) AND a.reports > s.reports;
$$;

-- report_unroll_tlsrpt - take stored TLS reports out of every rollup (the
-- reverse of sink_tlsrpt_rollup, api_rollup_tlsrpt and
-- api_rollup_tlsrpt_totals), before they are deleted.  A copy under the
-- same key (organization and report id) may cover other days and
-- domains, so the first/last columns of the rows that stay are counted
-- again from the reports that stay.  Session rows only exist with
-- sessions (those functions add no zeros), so one with none left goes.
CREATE OR REPLACE FUNCTION report_unroll_tlsrpt(ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    WITH s AS (
        SELECT dom AS policy_domain, day, policy_type, result_type,
               sum(n)::bigint AS sessions FROM (
            SELECT lower(coalesce(p.policy_domain, '')) AS dom,
                   (r.begin_at + (r.end_at - r.begin_at) / 2)::date AS day,
                   p.policy_type, 'success' AS result_type,
                   coalesce(p.total_successful, 0) AS n
            FROM tlsrpt_policy p JOIN tlsrpt_report r ON r.id = p.report_id
            WHERE p.report_id = ANY (ids)
            UNION ALL
            SELECT lower(coalesce(p.policy_domain, '')),
                   (r.begin_at + (r.end_at - r.begin_at) / 2)::date,
                   p.policy_type, f.result_type,
                   coalesce(f.failed_session_count, 0)
            FROM tlsrpt_failure f JOIN tlsrpt_policy p ON
                p.report_id = f.report_id AND p.pol_no = f.pol_no
            JOIN tlsrpt_report r ON r.id = p.report_id
            WHERE f.report_id = ANY (ids)
            UNION ALL
            SELECT lower(coalesce(p.policy_domain, '')),
                   (r.begin_at + (r.end_at - r.begin_at) / 2)::date,
                   p.policy_type, 'unspecified',
                   p.total_failure - coalesce((SELECT
                       sum(f.failed_session_count) FROM tlsrpt_failure f
                       WHERE f.report_id = p.report_id AND
                       f.pol_no = p.pol_no), 0)
            FROM tlsrpt_policy p JOIN tlsrpt_report r ON r.id = p.report_id
            WHERE p.report_id = ANY (ids)) x
        -- sink_tlsrpt_rollup drops what is not above zero per report
        WHERE n > 0 GROUP BY 1, 2, 3, 4),
    gone AS (
        DELETE FROM tlsrpt_daily d USING s
        WHERE (d.policy_domain, d.day, d.policy_type, d.result_type) =
              (s.policy_domain, s.day, s.policy_type, s.result_type) AND
            d.sessions <= s.sessions)
    UPDATE tlsrpt_daily d SET sessions = d.sessions - s.sessions
    FROM s
    WHERE (d.policy_domain, d.day, d.policy_type, d.result_type) =
          (s.policy_domain, s.day, s.policy_type, s.result_type) AND
        d.sessions > s.sessions;

    WITH s AS (
        SELECT policy_domain, day, policy_type, result_type,
               receiving_mx_hostname, sending_mta_ip,
               sum(sessions)::bigint AS sessions
        FROM api_tlsrpt_sessions(ids) GROUP BY 1, 2, 3, 4, 5, 6),
    gone AS (
        DELETE FROM tlsrpt_daily_detail d USING s
        WHERE (d.policy_domain, d.day, d.policy_type, d.result_type,
               d.receiving_mx_hostname) = (s.policy_domain, s.day,
               s.policy_type, s.result_type, s.receiving_mx_hostname) AND
            d.sending_mta_ip IS NOT DISTINCT FROM s.sending_mta_ip AND
            d.sessions <= s.sessions)
    UPDATE tlsrpt_daily_detail d SET sessions = d.sessions - s.sessions
    FROM s
    WHERE (d.policy_domain, d.day, d.policy_type, d.result_type,
           d.receiving_mx_hostname) = (s.policy_domain, s.day,
           s.policy_type, s.result_type, s.receiving_mx_hostname) AND
        d.sending_mta_ip IS NOT DISTINCT FROM s.sending_mta_ip AND
        d.sessions > s.sessions;

    WITH s AS (
        SELECT day, policy_type, result_type, receiving_mx_hostname,
               sending_mta_ip, api_sum8(sessions) AS sessions
        FROM api_tlsrpt_sessions(ids) GROUP BY 1, 2, 3, 4, 5),
    gone AS (
        DELETE FROM tlsrpt_daily_all d USING s
        WHERE (d.day, d.policy_type, d.result_type,
               d.receiving_mx_hostname) = (s.day, s.policy_type,
               s.result_type, s.receiving_mx_hostname) AND
            d.sending_mta_ip IS NOT DISTINCT FROM s.sending_mta_ip AND
            d.sessions <= s.sessions)
    UPDATE tlsrpt_daily_all d SET sessions = d.sessions - s.sessions
    FROM s
    WHERE (d.day, d.policy_type, d.result_type, d.receiving_mx_hostname) =
          (s.day, s.policy_type, s.result_type, s.receiving_mx_hostname) AND
        d.sending_mta_ip IS NOT DISTINCT FROM s.sending_mta_ip AND
        d.sessions > s.sessions;

    WITH s AS (
        SELECT p.dom AS policy_domain,
               (r.begin_at + (r.end_at - r.begin_at) / 2)::date AS day,
               r.organization_name, count(DISTINCT r.id) AS reports,
               coalesce(sum(x.n), 0)::bigint AS sessions
        FROM tlsrpt_report r
        JOIN (SELECT DISTINCT report_id,
                     lower(coalesce(policy_domain, '')) AS dom
              FROM tlsrpt_policy WHERE report_id = ANY (ids)) p
            ON p.report_id = r.id
        LEFT JOIN (SELECT report_id, policy_domain, sum(sessions) AS n
              FROM api_tlsrpt_sessions(ids) GROUP BY 1, 2) x
            ON x.report_id = r.id AND x.policy_domain = p.dom
        WHERE r.id = ANY (ids) GROUP BY 1, 2, 3),
    gone AS (
        DELETE FROM tlsrpt_daily_reports d USING s
        WHERE (d.policy_domain, d.day, d.organization_name) =
              (s.policy_domain, s.day, s.organization_name) AND
            d.reports <= s.reports)
    UPDATE tlsrpt_daily_reports d SET reports = d.reports - s.reports,
        sessions = d.sessions - s.sessions,
        first_begin = coalesce(m.first_begin, d.first_begin),
        last_begin = coalesce(m.last_begin, d.last_begin),
        last_stored = coalesce(m.last_stored, d.last_stored)
    FROM s CROSS JOIN LATERAL (
        SELECT min(r.begin_at) AS first_begin, max(r.begin_at) AS last_begin,
               max(r.stored_at) AS last_stored
        FROM tlsrpt_report r
        WHERE r.organization_name = s.organization_name AND
            r.id <> ALL (ids) AND
            (r.begin_at + (r.end_at - r.begin_at) / 2)::date = s.day AND
            EXISTS (SELECT 1 FROM tlsrpt_policy p WHERE p.report_id = r.id
                    AND lower(coalesce(p.policy_domain, '')) =
                        s.policy_domain)) m
    WHERE (d.policy_domain, d.day, d.organization_name) =
          (s.policy_domain, s.day, s.organization_name) AND
        d.reports > s.reports;

    WITH s AS (
        SELECT r.organization_name AS reporter, count(*) AS reports
        FROM tlsrpt_report r WHERE r.id = ANY (ids) GROUP BY 1),
    gone AS (
        DELETE FROM api_reporter a USING s
        WHERE (a.kind, a.reporter) = ('tlsrpt', s.reporter) AND
            a.reports <= s.reports)
    UPDATE api_reporter a SET reports = a.reports - s.reports,
        first_begin = coalesce(m.first_begin, a.first_begin),
        last_begin = coalesce(m.last_begin, a.last_begin),
        last_stored = coalesce(m.last_stored, a.last_stored)
    FROM s CROSS JOIN LATERAL (
        SELECT min(r.begin_at) AS first_begin, max(r.begin_at) AS last_begin,
               max(r.stored_at) AS last_stored
        FROM tlsrpt_report r
        WHERE r.organization_name = s.reporter AND r.id <> ALL (ids)) m
    WHERE (a.kind, a.reporter) = ('tlsrpt', s.reporter) AND
        a.reports > s.reports;

    WITH s AS (
        SELECT r.organization_name AS reporter, p.dom AS policy_domain,
               count(DISTINCT r.id) AS reports,
               coalesce(sum(x.n), 0)::bigint AS messages
        FROM tlsrpt_report r
        JOIN (SELECT DISTINCT report_id,
                     lower(coalesce(policy_domain, '')) AS dom
              FROM tlsrpt_policy WHERE report_id = ANY (ids)) p
            ON p.report_id = r.id
        LEFT JOIN (SELECT report_id, policy_domain, sum(sessions) AS n
              FROM api_tlsrpt_sessions(ids) GROUP BY 1, 2) x
            ON x.report_id = r.id AND x.policy_domain = p.dom
        WHERE r.id = ANY (ids) GROUP BY 1, 2),
    gone AS (
        DELETE FROM api_reporter_domain a USING s
        WHERE (a.kind, a.reporter, a.policy_domain) =
              ('tlsrpt', s.reporter, s.policy_domain) AND
            a.reports <= s.reports)
    UPDATE api_reporter_domain a SET reports = a.reports - s.reports,
        messages = a.messages - s.messages,
        first_begin = coalesce(m.first_begin, a.first_begin),
        last_begin = coalesce(m.last_begin, a.last_begin)
    FROM s CROSS JOIN LATERAL (
        SELECT min(r.begin_at) AS first_begin, max(r.begin_at) AS last_begin
        FROM tlsrpt_report r
        WHERE r.organization_name = s.reporter AND r.id <> ALL (ids) AND
            EXISTS (SELECT 1 FROM tlsrpt_policy p WHERE p.report_id = r.id
                    AND lower(coalesce(p.policy_domain, '')) =
                        s.policy_domain)) m
    WHERE (a.kind, a.reporter, a.policy_domain) =
          ('tlsrpt', s.reporter, s.policy_domain) AND a.reports > s.reports;
$$;

-- report_supersede - stored report old (kind 'dmarc' or 'tlsrpt') gives
-- way to an authenticated copy arriving in inbound row by_inbound: out of
-- the rollups, deleted with its records, and its inbound row told why
-- ('superseded', or a warning when the row carried other reports too).
-- Answers the old report's inbound row (NULL: it was gone already).
CREATE OR REPLACE FUNCTION report_supersede(kind text, old bigint, by_inbound bigint)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    ib   bigint;
    what text;
BEGIN
    IF kind = 'dmarc' THEN
        PERFORM report_unroll_dmarc(ARRAY[old]);
        DELETE FROM dmarc_report WHERE id = old
        RETURNING inbound_id, format('dmarc %s %s %s', org_name, report_id,
            policy_domain) INTO ib, what;
    ELSE
        PERFORM report_unroll_tlsrpt(ARRAY[old]);
        DELETE FROM tlsrpt_report WHERE id = old
        RETURNING inbound_id, format('tlsrpt %s %s', organization_name,
            report_id) INTO ib, what;
    END IF;
    IF ib IS NULL THEN
        RETURN NULL;
    END IF;
    what := format('%s replaced by an authenticated copy (signed by its '
        'reporter) in inbound %s', what, by_inbound);
    IF EXISTS (SELECT 1 FROM dmarc_report WHERE inbound_id = ib) OR
       EXISTS (SELECT 1 FROM tlsrpt_report WHERE inbound_id = ib) THEN
        UPDATE inbound SET warnings = warnings || what WHERE id = ib;
    ELSE
        UPDATE inbound SET state = 'superseded', reason = what WHERE id = ib;
    END IF;
    RETURN ib;
END $$;
