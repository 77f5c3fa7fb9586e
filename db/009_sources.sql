-- 009_sources.sql - GET /api/v1/dmarc/sources reads the header_from
-- domains and reporters of its page's addresses from covering indexes:
-- an address's rows lie on a different heap page for each day, its index
-- entries lie together.

DROP INDEX dmarc_daily_ip;
CREATE INDEX dmarc_daily_ip ON dmarc_daily (source_ip, day)
    INCLUDE (header_from);

DROP INDEX dmarc_daily_ip_reporter_ip;
CREATE INDEX dmarc_daily_ip_reporter_ip ON dmarc_daily_ip_reporter
    (source_ip, day) INCLUDE (reporter);
