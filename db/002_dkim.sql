-- 002_dkim.sql - the DKIM verdict of mailed reports (RFC 6376).
--
-- On the inbound row (the mail) and on each report it carried: the result
-- (pass, fail, none, temperror, permerror; NULL when not mailed), the
-- passing signature's d= and s=, and whether d= is aligned (same
-- organisational domain, public suffix list) with the From domain.
ALTER TABLE inbound
    ADD COLUMN dkim_result   text CHECK (dkim_result IN ('pass', 'fail',
        'none', 'temperror', 'permerror')),
    ADD COLUMN dkim_domain   text,
    ADD COLUMN dkim_selector text,
    ADD COLUMN dkim_aligned  boolean,
    ADD COLUMN from_domain   text;
ALTER TABLE dmarc_report
    ADD COLUMN dkim_result   text,
    ADD COLUMN dkim_domain   text,
    ADD COLUMN dkim_aligned  boolean;
ALTER TABLE tlsrpt_report
    ADD COLUMN dkim_result   text,
    ADD COLUMN dkim_domain   text,
    ADD COLUMN dkim_aligned  boolean;
