/*
 * limits.h - the limits on what peers send and what it may cost (sizes,
 * counts, depths, rates, deadlines): each a named default with its source,
 * the ones a setting can move among them.  A module's own internal bounds
 * (a parser's scratch sizes, a batch's rows) stay beside its code.
 *
 * Config can move a limit only within the bounds given in config.c.  Each
 * limit has a test one step past it (tests/unit/, tests/integration/).
 */
#ifndef RUAD_LIMITS_H
#define RUAD_LIMITS_H

/*
 * Decompression (decompress.c).  Reports are small (a busy domain's daily
 * Google report is a few MB of XML); a 1 GiB zip bomb is 1 MB on the wire.
 */
#define DECOMP_OUT_MAX        (256ull << 20) /* decompressed bytes per input */
#define DECOMP_RATIO_MAX      200            /* out/in, zip-bomb guard */
#define DECOMP_RATIO_GRACE    (1ull << 20)   /* ratio checked past this */
#define DECOMP_ZIP_MEMBERS_MAX 16            /* report members per zip */
#define DECOMP_ZIP_ENTRIES_MAX 1024          /* central directory entries */
#define DECOMP_NEST_MAX       1              /* gzip in gzip unwrapped once */

/*
 * DMARC aggregate XML (dmarc_xml.c).  The deepest legal path is
 * feedback/record/auth_results/dkim/human_result (5), plus a wrapper or
 * two seen in the wild; extensions may nest a little more.
 */
#define DMARC_XML_DEPTH_MAX   32             /* element nesting */
#define DMARC_TEXT_MAX        4096           /* bytes in one text value */
#define DMARC_RECORDS_MAX     10000000       /* records in one report */
#define DMARC_AUTH_MAX        100            /* dkim or spf results per record */
#define DMARC_REASONS_MAX     100            /* reasons per record */
#define DMARC_ERRORS_MAX      100            /* report_metadata/error values */

/* SMTP TLS reports (tlsrpt_json.c).  RFC 8460 reports are small. */
#define TLSRPT_JSON_MAX       (16u << 20)    /* bytes of JSON, checked first */
#define TLSRPT_VALUES_MAX     500000         /* JSON values, checked first:
                                                jansson's memory grows with
                                                them (10,000 failure details
                                                are about 100,000) */
#define TLSRPT_DEPTH_MAX      16             /* legal reports nest 5 deep */
#define TLSRPT_POLICIES_MAX   10000
#define TLSRPT_DETAILS_MAX    1000000        /* failure details in a report */
#define TLSRPT_STRING_MAX     65536          /* bytes in one string value */

/* Report emails (mime.c). */
#define MIME_DEPTH_MAX        8              /* multipart / rfc822 nesting */
#define MIME_PARTS_MAX        64             /* parts walked per message */
#define MIME_HEADER_MAX       (256u << 10)   /* bytes of one header block */

/* HTTPS receiver (http_server.c).  libmicrohttpd has no body cap. */
#define HTTP_BODY_MAX         (16u << 20)    /* bytes of one POST body */
#define HTTP_TIMEOUT_S        30             /* idle connection, seconds */
#define HTTP_HEADER_TIMEOUT_S 20             /* from connection (or, kept
                                                alive, the request's first
                                                byte) to the end of the
                                                headers; Apache
                                                mod_reqtimeout: 20-40 */
#define HTTP_BODY_TIMEOUT_S   120            /* headers to the end of the
                                                body: 16 MiB at 140 KB/s */
#define HTTP_CONN_MAX         1000           /* connections in all */
#define HTTP_CONN_PER_IP_MAX  64             /* connections from one IPv4
                                                address or IPv6 /64 */
#define HTTP_THREADS          8              /* request threads */
#define HTTP_OPS_CACHE_MS     5000           /* /metrics and /readyz share
                                                one database answer this
                                                long (http_ops_cache_ms) */
/* The dashboard's files (http_static.c): the longest path in web/ is
 * about 40 bytes, 3 deep. */
#define HTTP_STATIC_PATH_MAX  1024           /* bytes of the request path */
#define HTTP_STATIC_DEPTH_MAX 16             /* segments in the path */
#define HTTP_STATIC_NAME_MAX  255            /* bytes of one segment (NAME_MAX) */
#define HTTP_STATIC_ETAGS_MAX 64             /* entity tags in If-None-Match */
#define WORKERS_DEFAULT       2              /* report-processing threads */
#define STORE_THREADS         2              /* committing what arrives
                                                (receipt.c), in batches */

/* SMTP (smtp_session.c, smtp_server.c). */
#define SMTP_CMD_LINE_MAX     512            /* RFC 5321 4.5.3.1.4, with CRLF */
#define SMTP_TEXT_LINE_MAX    (64u << 10)    /* RFC 5321 4.5.3.1.6 says 1000;
                                                real mail breaks it, so up
                                                to this, then 552 */
#define SMTP_MSG_MAX          (25u << 20)    /* counted while reading DATA */
#define SMTP_RCPT_MAX         100            /* RFC 5321 4.5.3.1.8 minimum */
#define SMTP_ERRORS_MAX       10             /* then 421 (Postfix's
                                                hard_error_limit is 20) */
#define SMTP_IDLE_TIMEOUT_S   300            /* RFC 5321 4.5.3.2.7 */
#define SMTP_DATA_TIMEOUT_S   600            /* 354 to the final dot; RFC
                                                5321 4.5.3.2.6 waits 10 min
                                                for our reply to it: 25 MiB
                                                at 43 KB/s */
#define SMTP_SESSION_TIMEOUT_S 1800          /* a whole session, however
                                                busy (command trickles) */
#define SMTP_CONN_MAX         2000           /* sessions in all */
#define SMTP_CONN_PER_IP_MAX  50             /* sessions from one IPv4
                                                address or IPv6 /64 */
#define SMTP_GREET_DELAY_MS   300            /* pregreet check */

/*
 * Bytes of messages and bodies in memory while they arrive and are
 * stored, SMTP and HTTP together (membudget.c): without it 2000 SMTP
 * sessions could hold 25 MiB each.  Past it: 421 4.3.1 / 503.
 */
#define RECEIVE_BUFFERED_MAX  (256ull << 20)
#define RECEIVE_TRIM_MIN      (1u << 20)     /* blocks this large are
                                                mmapped (M_MMAP_THRESHOLD):
                                                free gives them back */
#define MALLOC_ARENAS_MAX     4              /* glibc arenas (M_ARENA_MAX);
                                                default 8 per core */

/*
 * Report rate limits (ratelimit.c), per instance, per channel: a real
 * reporter sends a collector a few hundred reports a day (Google, one of
 * the biggest, about one per domain and day), so these stay far above
 * that and only stop floods.  Behind a relay every mail has the relay's
 * address: raise rate_limit_per_ip there, or set it to 0.
 */
#define RATE_WINDOW_S         60             /* seconds of one window */
#define RATE_PER_IP           600            /* reports per window from one
                                                address (IPv6: its /64) */
#define RATE_PER_SENDER       600            /* mails per window from one
                                                MAIL FROM domain */
#define RATE_KEYS_MAX         16384          /* keys remembered per limiter
                                                (16 bytes each) */
#define RATE_PROBE            8              /* slots a key may sit in */
#define RATE_LOG_MS           1000           /* one refusal line per this */

/*
 * DKIM key lookups (dns.c, worker.c).  A mail's keys are asked all at
 * once, within one budget for the whole mail; what is unanswered then is
 * a temperror: the row waits (uncounted) and is tried again, until
 * DKIM_GIVEUP_S after it was received, when the temperror stands (no
 * pass) and the DKIM policy decides.  While every other worker is waiting
 * on DNS, a worker gets DKIM_DNS_BUSY_MS only, so slow or silent name
 * servers never hold all workers.
 */
#define DNS_TIMEOUT_MS        5000           /* per try; two tries */
#define DKIM_DNS_BUDGET_MS    10000          /* all of a mail's lookups */
#define DKIM_DNS_BUSY_MS      1000           /* ...when the others wait */
#define DKIM_RETRY_S          300            /* first retry after temperror */
#define DKIM_GIVEUP_S         (3 * 86400)    /* temperror retried this long */

/* Receiving (receipt.c): bigger things are kept as a too_large fact. */
#define INBOUND_IMPORT_MAX    (64u << 20)    /* bytes of one imported file */

/* IMAP sources (imap.c): per source, settable as imap.NAME.KEY. */
#define IMAP_POLL_S           300            /* seconds between polls */
#define IMAP_BATCH            100            /* messages listed per round */
#define IMAP_BATCH_MAX        10000
#define IMAP_MSG_MAX          (25u << 20)    /* as SMTP_MSG_MAX */
#define IMAP_TIMEOUT_S        120            /* one IMAP command */
#define IMAP_BACKOFF_MIN_S    2              /* first retry after a failure */
#define IMAP_BACKOFF_MAX_S    900            /* doubling up to this */
#define IMAP_TOKEN_MAX        16384          /* bytes of a password/token */

/* Messages kept per parsed file; past this one summary line is added. */
#define PARSE_WARNINGS_MAX    100

#endif /* RUAD_LIMITS_H */
