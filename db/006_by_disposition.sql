-- 006_by_disposition.sql - a DMARC summary group's messages by
-- disposition and DMARC result (pass: an aligned DKIM or SPF pass), for
-- the dashboard's compliance chart.  The rollups already keep the
-- disposition with the outcomes; this only shapes the answer.

-- api_dmarc_by_disposition - {"by_disposition": {"none": {"pass", "fail"},
-- "quarantine": ..., "reject": ..., "other": ...}}
CREATE FUNCTION api_dmarc_by_disposition(none_pass numeric,
    none_fail numeric, quarantine_pass numeric, quarantine_fail numeric,
    reject_pass numeric, reject_fail numeric, other_pass numeric,
    other_fail numeric) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('by_disposition', jsonb_build_object(
        'none', jsonb_build_object('pass', coalesce(none_pass, 0),
            'fail', coalesce(none_fail, 0)),
        'quarantine', jsonb_build_object('pass',
            coalesce(quarantine_pass, 0), 'fail',
            coalesce(quarantine_fail, 0)),
        'reject', jsonb_build_object('pass', coalesce(reject_pass, 0),
            'fail', coalesce(reject_fail, 0)),
        'other', jsonb_build_object('pass', coalesce(other_pass, 0),
            'fail', coalesce(other_fail, 0))))
$$;
