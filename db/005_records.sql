-- 005_records.sql - the records behind a row (GET /api/v1/dmarc/records):
-- one function answering a record as JSON, used by the report detail and
-- the records list alike.

-- api_dmarc_record - one record of a report with its auth results
CREATE FUNCTION api_dmarc_record(x dmarc_record) RETURNS jsonb
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
CREATE FUNCTION api_dmarc_record_item(x dmarc_record, r dmarc_report)
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
