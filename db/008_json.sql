-- 008_json.sql - the DMARC summary's groups built as json text, not
-- jsonb: a summary answers up to 1,001 groups, and a jsonb object per
-- group (then merged with ||) cost five times as much as the query that
-- counts them.

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
