-- 007_totals.sql - what keeps the query API fast over all domains and
-- long ranges (tests/bench/bench_api: a year of one summary grouped by
-- source address over all domains read 7 million dmarc_daily rows; now it
-- reads one row per address):
--
--   dmarc_span_ip, dmarc_span_from: DMARC messages per source address and
--       per header_from domain, without the policy domain, summed per
--       calendar month ('m') and per year ('y').  A summary reads the
--       whole years and whole months of its range here and only the
--       ragged days at either end from dmarc_daily.  The outcome and
--       disposition splits are columns: a group is one row, not one row
--       per outcome.
--   tlsrpt_daily_all: tlsrpt_daily_detail without the policy domain.
--   api_reporter, api_reporter_domain: each reporter, and each reporter's
--       domains, over all time (GET /api/v1/reporters and /domains).
--   indexes for the ragged days and for a sources page's addresses;
--   api_sum8, a bigint sum kept in place; api_dmarc_fields, a summary
--   group as json text.
--
-- Kept like 003's rollups: by the deferred triggers, when the report's
-- transaction commits, in key order (two workers adding to the same rows
-- take their locks in the same order).  The day of a report is the UTC
-- day of the middle of its range, as everywhere.

-- api_sum8 - sum of bigint as bigint.  sum(bigint) answers numeric and
-- keeps a numeric state per group: for a report of 100,000 records from
-- 96,000 addresses the span rows below took 2.5 s, 1.2 s of it numeric
-- arithmetic; over all domains a summary by source_ip sums 76,000 groups
-- a year, five times slower with numeric.  int8pl keeps the state in
-- place; an overflow is an error, as when the sum is stored in a bigint
-- column anyway.
CREATE AGGREGATE api_sum8(bigint) (SFUNC = int8pl, STYPE = bigint);

-- The ragged days at the ends of a range over all domains.  A day's rows
-- are written in the few days after it, so the table is in day order
-- but for a little: a block range index finds them, and costs a report's
-- rows nothing like another btree.
CREATE INDEX dmarc_daily_day ON dmarc_daily USING brin (day);

-- GET /api/v1/dmarc/sources reads the header_from domains and reporters
-- of its page's addresses from covering indexes: an address's rows lie on
-- a different heap page for each day, its index entries lie together.
CREATE INDEX dmarc_daily_ip ON dmarc_daily (source_ip, day)
    INCLUDE (header_from);
DROP INDEX dmarc_daily_ip_reporter_ip;
CREATE INDEX dmarc_daily_ip_reporter_ip ON dmarc_daily_ip_reporter
    (source_ip, day) INCLUDE (reporter);

CREATE TABLE dmarc_span_ip (
    span              "char" NOT NULL,  -- 'm' calendar month, 'y' year
    start             date NOT NULL,    -- its first day
    source_ip         inet,
    -- messages by outcome (aligned DKIM pass, aligned SPF pass) ...
    both_aligned      bigint NOT NULL,
    dkim_only         bigint NOT NULL,
    spf_only          bigint NOT NULL,
    neither           bigint NOT NULL,
    -- ... and by disposition, DMARC pass (either aligned) or fail
    none_pass         bigint NOT NULL,
    none_fail         bigint NOT NULL,
    quarantine_pass   bigint NOT NULL,
    quarantine_fail   bigint NOT NULL,
    reject_pass       bigint NOT NULL,
    reject_fail       bigint NOT NULL,
    other_pass        bigint NOT NULL,
    other_fail        bigint NOT NULL,
    first_day         date NOT NULL,
    last_day          date NOT NULL
);
CREATE UNIQUE INDEX dmarc_span_ip_key ON dmarc_span_ip
    (span, start, source_ip) NULLS NOT DISTINCT;

CREATE TABLE dmarc_span_from (
    span              "char" NOT NULL,
    start             date NOT NULL,
    header_from       text NOT NULL,    -- lower case, '' if none
    both_aligned      bigint NOT NULL,
    dkim_only         bigint NOT NULL,
    spf_only          bigint NOT NULL,
    neither           bigint NOT NULL,
    none_pass         bigint NOT NULL,
    none_fail         bigint NOT NULL,
    quarantine_pass   bigint NOT NULL,
    quarantine_fail   bigint NOT NULL,
    reject_pass       bigint NOT NULL,
    reject_fail       bigint NOT NULL,
    other_pass        bigint NOT NULL,
    other_fail        bigint NOT NULL,
    PRIMARY KEY (span, start, header_from)
);

CREATE TABLE tlsrpt_daily_all (
    day                   date NOT NULL,
    policy_type           text NOT NULL,
    result_type           text NOT NULL,
    receiving_mx_hostname text NOT NULL,
    sending_mta_ip        inet,
    sessions              bigint NOT NULL
);
CREATE UNIQUE INDEX tlsrpt_daily_all_key ON tlsrpt_daily_all
    (day, policy_type, result_type, receiving_mx_hostname, sending_mta_ip)
    INCLUDE (sessions) NULLS NOT DISTINCT;

CREATE TABLE api_reporter (
    kind              text NOT NULL,    -- 'dmarc' or 'tlsrpt'
    reporter          text NOT NULL,    -- DMARC: email; TLS: organization
    org_name          text NOT NULL,    -- the latest seen
    reports           bigint NOT NULL,
    first_begin       timestamptz NOT NULL,
    last_begin        timestamptz NOT NULL,
    last_stored       timestamptz NOT NULL,
    PRIMARY KEY (kind, reporter)
);

CREATE TABLE api_reporter_domain (
    kind              text NOT NULL,
    reporter          text NOT NULL,
    policy_domain     text NOT NULL,    -- lower case; TLS: '' if none
    reports           bigint NOT NULL,
    messages          bigint NOT NULL,  -- TLS: sessions counted
    first_begin       timestamptz NOT NULL,
    last_begin        timestamptz NOT NULL,
    PRIMARY KEY (kind, reporter, policy_domain)
);

-- api_dmarc_outcomes - each record of the reports with its messages in
-- exactly one outcome column and one disposition column
CREATE FUNCTION api_dmarc_outcomes(ids bigint[])
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

-- api_rollup_dmarc_totals - add stored DMARC reports to the rollups above
CREATE FUNCTION api_rollup_dmarc_totals(ids bigint[]) RETURNS void
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

-- api_rollup_tlsrpt_totals - add stored TLS reports to the rollups above
CREATE FUNCTION api_rollup_tlsrpt_totals(ids bigint[]) RETURNS void
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

-- Reports stored before this migration, 50,000 at a time
DO $$
DECLARE
    lo bigint;
BEGIN
    FOR lo IN SELECT generate_series(min(id), max(id), 50000)
              FROM dmarc_report LOOP
        PERFORM api_rollup_dmarc_totals(ARRAY(SELECT id FROM dmarc_report
            WHERE id >= lo AND id < lo + 50000));
    END LOOP;
    FOR lo IN SELECT generate_series(min(id), max(id), 50000)
              FROM tlsrpt_report LOOP
        PERFORM api_rollup_tlsrpt_totals(ARRAY(SELECT id FROM tlsrpt_report
            WHERE id >= lo AND id < lo + 50000));
    END LOOP;
END $$;

-- A summary builds its groups as json text, not jsonb: up to 1,001
-- groups, and a jsonb object per group (then merged with ||) cost five
-- times as much as the query that counts them.
-- api_dmarc_fields - a summary group's numbers, from the twelve sums of
-- store_api.c, as the members of a JSON object without its braces (the
-- caller adds "key" to a group, nothing to the totals)
CREATE FUNCTION api_dmarc_fields(b numeric, d numeric, s numeric,
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

-- what the summaries used before
DROP FUNCTION api_dmarc_counts(numeric, numeric, numeric, numeric, numeric,
    numeric, numeric, numeric, numeric);
DROP FUNCTION api_dmarc_by_disposition(numeric, numeric, numeric, numeric,
    numeric, numeric, numeric, numeric);
