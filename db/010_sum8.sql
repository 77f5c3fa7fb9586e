-- 010_sum8.sql - the rollups add bigint to bigint.  sum(bigint) answers
-- numeric and keeps a numeric state per group: for a report of 100,000
-- records from 96,000 addresses the month and year rows of
-- api_rollup_dmarc_totals took 2.5 s, 1.2 s of it numeric arithmetic.
-- api_sum8 keeps the bigint in place (int8pl: an overflow is an error, as
-- when the sum is stored in a bigint column anyway).  The two functions
-- are those of 003 and 007 with sum replaced; the summaries over the
-- span rollups (store_api.c) use it too.

CREATE AGGREGATE api_sum8(bigint) (SFUNC = int8pl, STYPE = bigint);

-- api_rollup_dmarc - as in 003_api.sql
CREATE OR REPLACE FUNCTION api_rollup_dmarc(ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO dmarc_daily_org AS d
    SELECT lower(r.policy_domain), (r.begin_at + (r.end_at - r.begin_at) / 2)::date,
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
    SELECT lower(r.policy_domain), (r.begin_at + (r.end_at - r.begin_at) / 2)::date,
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
    SELECT lower(r.policy_domain), (r.begin_at + (r.end_at - r.begin_at) / 2)::date,
           x.source_ip, r.reporter, api_sum8(coalesce(x.count, 0))
    FROM dmarc_record x JOIN dmarc_report r ON r.id = x.report_id
    WHERE r.id = ANY (ids)
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (policy_domain, day, source_ip, reporter)
    DO UPDATE SET messages = d.messages + excluded.messages;
$$;

-- api_rollup_dmarc_totals - as in 007_totals.sql
CREATE OR REPLACE FUNCTION api_rollup_dmarc_totals(ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO dmarc_span_ip AS t
    SELECT s.span, date_trunc(s.unit, o.day::timestamp)::date, o.source_ip,
           api_sum8(o.both_aligned), api_sum8(o.dkim_only), api_sum8(o.spf_only),
           api_sum8(o.neither), api_sum8(o.none_pass), api_sum8(o.none_fail),
           api_sum8(o.quarantine_pass), api_sum8(o.quarantine_fail),
           api_sum8(o.reject_pass), api_sum8(o.reject_fail), api_sum8(o.other_pass),
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
           api_sum8(o.quarantine_fail), api_sum8(o.reject_pass), api_sum8(o.reject_fail),
           api_sum8(o.other_pass), api_sum8(o.other_fail)
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
