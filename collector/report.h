/*
 * report.h - the normalised in-memory model of DMARC aggregate reports
 * (RFC 7489 appendix C, RFC 9990) and SMTP TLS reports (RFC 8460), and the
 * driver that turns raw bytes (gzip, zip or plain) into them.
 *
 * Every string is owned by the struct that holds it, NUL-terminated UTF-8,
 * and NULL when the report did not carry the value.  A DMARC report is
 * streamed: its records are handed to a sink one at a time and never held
 * together, so memory does not grow with the number of records.  A TLS
 * report is small (capped before parsing) and built whole.
 *
 * docs/report-json.md describes the same model as `ruad parse` prints it.
 */
#ifndef RUAD_REPORT_H
#define RUAD_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "result.h"

/* Limits for one input; report_limits_default() fills them from limits.h. */
struct report_limits {
    uint64_t decomp_out_max;     /* decompressed bytes per input */
    uint64_t decomp_ratio_max;   /* out/in past decomp_ratio_grace */
    uint64_t decomp_ratio_grace;
    unsigned zip_members_max;    /* report members taken from a zip */
    unsigned xml_depth_max;
    size_t   text_max;           /* bytes in one XML text value */
    uint64_t records_max;        /* records per DMARC report */
    size_t   json_max;           /* bytes of one TLS report */
    unsigned json_depth_max;
    uint64_t json_values_max;    /* JSON values in one TLS report */
    size_t   json_string_max;
    uint64_t tlsrpt_policies_max;
    uint64_t tlsrpt_details_max;
    unsigned mime_depth_max;     /* nesting of multiparts and message/rfc822 */
    unsigned mime_parts_max;     /* MIME parts walked in one message */
    size_t   mime_header_max;    /* bytes of one header block */
};

void report_limits_default(struct report_limits *lim);

/*
 * What went wrong or looked odd while reading one input.  Warnings are
 * kept up to PARSE_WARNINGS_MAX, then only counted.  error holds the first
 * error, empty if none.
 */
struct report_diag {
    char   **warnings;          /* owned */
    size_t   n_warnings;
    size_t   cap_warnings;
    size_t   dropped;           /* warnings past the cap */
    char     error[512];
    char     prefix[128];       /* prepended to messages ("member x: ") */
};

void report_diag_init(struct report_diag *d);
void report_diag_free(struct report_diag *d);
void report_diag_warn(struct report_diag *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* report_diag_fail - record the error (the first one wins); returns rc */
enum ruad_rc report_diag_fail(struct report_diag *d, enum ruad_rc rc,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- DMARC aggregate reports ---- */

struct dmarc_policy {
    char    *domain;
    char    *adkim, *aspf;       /* r | s */
    char    *p, *sp, *np;        /* none | quarantine | reject */
    char    *fo;                 /* as published, e.g. "0:d" */
    char    *testing;            /* RFC 9990: n | y */
    char    *discovery_method;   /* RFC 9990: psl | treewalk */
    int64_t  pct;
    bool     has_pct;
};

/* The report as a whole, without its records. */
struct dmarc_report {
    char    *version;
    char    *org_name;
    char    *org_email;
    char    *extra_contact_info;
    char    *report_id;
    int64_t  begin, end;         /* seconds since the epoch, UTC */
    bool     has_begin, has_end;
    char   **errors;             /* report_metadata/error, n_errors of them */
    size_t   n_errors;
    char    *generator;          /* RFC 9990 */
    char    *xmlns;              /* namespace of <feedback>, NULL if none */
    struct dmarc_policy policy;
    uint64_t n_records;          /* records handed to the sink */
    uint64_t n_messages;         /* sum of their counts */
};

struct dmarc_reason {
    char *type;
    char *comment;
};

struct dmarc_dkim_auth {
    char *domain, *selector, *result, *human_result;
};

struct dmarc_spf_auth {
    char *domain, *scope, *result, *human_result;
};

struct dmarc_record {
    char                   *source_ip;   /* canonical form when valid */
    uint64_t                count;
    bool                    has_count;
    char                   *disposition; /* policy_evaluated */
    char                   *dkim, *spf;  /* policy_evaluated: pass | fail */
    struct dmarc_reason    *reasons;
    size_t                  n_reasons;
    char                   *header_from;
    char                   *envelope_from;
    char                   *envelope_to;
    struct dmarc_dkim_auth *dkim_auth;
    size_t                  n_dkim_auth;
    struct dmarc_spf_auth  *spf_auth;
    size_t                  n_spf_auth;
};

void dmarc_report_clear(struct dmarc_report *r);   /* frees members */
void dmarc_record_clear(struct dmarc_record *r);   /* frees members */

/* ---- SMTP TLS reports ---- */

struct tlsrpt_failure {
    char     *result_type;
    char     *sending_mta_ip;
    char     *receiving_mx_hostname;
    char     *receiving_mx_helo;
    char     *receiving_ip;
    uint64_t  failed_session_count;
    bool      has_failed_session_count;
    char     *additional_information;
    char     *failure_reason_code;
};

struct tlsrpt_policy {
    char                  *policy_type;   /* sts | tlsa | no-policy-found */
    char                 **policy_string; /* n_policy_string lines */
    size_t                 n_policy_string;
    char                  *policy_domain;
    char                 **mx_host;       /* n_mx_host patterns */
    size_t                 n_mx_host;
    uint64_t               total_successful_session_count;
    uint64_t               total_failure_session_count;
    bool                   has_total_successful, has_total_failure;
    struct tlsrpt_failure *failures;
    size_t                 n_failures;
};

struct tlsrpt_report {
    char                 *organization_name;
    char                 *contact_info;
    char                 *report_id;
    int64_t               begin, end;     /* seconds since the epoch, UTC */
    bool                  has_begin, has_end;
    struct tlsrpt_policy *policies;
    size_t                n_policies;
};

void tlsrpt_report_free(struct tlsrpt_report *r);  /* NULL is a no-op */

/* ---- streaming ---- */

/*
 * report_read_fn - pull up to cap bytes into buf; *got == 0 means the end
 * of the current part.  Anything but RUAD_OK stops the parse.
 */
typedef enum ruad_rc (*report_read_fn)(void *ctx, char *buf, size_t cap,
    size_t *got);

/*
 * Where parsed reports go.  Callbacks may be NULL.  A non-OK return stops
 * the parse with that code.
 *
 * dmarc_record: one record, with the report as known so far (report
 *     metadata and policy normally come first, but the sink must not rely
 *     on it; dmarc_done has the final values).
 * dmarc_done:   the report is complete and has every required field.
 * dmarc_abort:  the report whose records were handed on was refused;
 *     forget them.
 * tlsrpt_done:  one complete TLS report (borrowed for the call).
 */
struct report_sink {
    void *ctx;
    enum ruad_rc (*dmarc_record)(void *ctx, const struct dmarc_report *rep,
        const struct dmarc_record *rec);
    enum ruad_rc (*dmarc_done)(void *ctx, const struct dmarc_report *rep);
    void         (*dmarc_abort)(void *ctx);
    enum ruad_rc (*tlsrpt_done)(void *ctx, const struct tlsrpt_report *rep);
};

/*
 * report_parse_fd / report_parse_mem - decompress (by magic bytes), detect
 * the report type (XML or JSON) of each part and parse it into the sink.
 * Returns RUAD_OK if at least one report was delivered, else the first
 * error (its text is in diag->error).  *n_reports counts reports handed
 * to the sink.
 */
enum ruad_rc report_parse_fd(int fd, const struct report_limits *lim,
    const struct report_sink *sink, struct report_diag *diag,
    unsigned *n_reports);
enum ruad_rc report_parse_mem(const void *data, size_t len,
    const struct report_limits *lim, const struct report_sink *sink,
    struct report_diag *diag, unsigned *n_reports);

/*
 * report_sniff_tlsrpt - could (data, len) be a TLS report, the only thing
 * POST /tlsrpt takes (RFC 8460 3)?  Only the first bytes of its first
 * part are decompressed and looked at.  RUAD_OK: they begin a JSON object
 * (or tell nothing yet); RUAD_UNSUPPORTED: they are something else (XML:
 * a DMARC report); RUAD_MALFORMED: empty, or they cannot be decompressed;
 * RUAD_NOMEM.  why gets a sentence saying which.
 */
enum ruad_rc report_sniff_tlsrpt(const void *data, size_t len,
    const struct report_limits *lim, char *why, size_t whylen);

/*
 * report_is_raw - do these first bytes look like a report file (gzip, zip,
 * XML, JSON) rather than a mail?
 */
bool report_is_raw(const char *p, size_t n);

/* report_looks_like_mail - does it start like RFC 5322 (a header field or
 * an mbox "From " line)? */
bool report_looks_like_mail(const char *p, size_t n);

/*
 * report_parse_mail - every report part of a mail (mime.c), each through
 * report_parse_mem().  RUAD_UNSUPPORTED for a mail without reports or a
 * failure/ARF report.  Errors of single parts become warnings when
 * another part gave a report.
 */
enum ruad_rc report_parse_mail(const char *msg, size_t len,
    const struct report_limits *lim, const struct report_sink *sink,
    struct report_diag *diag, unsigned *n_reports);

/* ---- helpers shared by the parsers ---- */

/*
 * report_fmt_time - RFC 3339 UTC ("2024-03-31T23:59:59Z") into dst, which
 * must hold 32 bytes.
 */
void report_fmt_time(int64_t t, char dst[32]);

/*
 * report_days_from_civil - days since 1970-01-01 of a proleptic Gregorian
 * date (H. Hinnant's algorithm); report_civil_from_days is its inverse.
 */
int64_t report_days_from_civil(int64_t y, int m, int d);
void report_civil_from_days(int64_t z, int64_t *y, int *m, int *d);

/* report_hexval - the value of hex digit c, -1 if it is none */
int report_hexval(char c);

/* report_strndup - copy of (p, n) with a NUL; NULL on allocation failure */
char *report_strndup(const char *p, size_t n);

/* Earliest and latest times accepted in reports (1970 .. 9999). */
#define REPORT_TIME_MIN 0
#define REPORT_TIME_MAX 253402300799LL

#endif /* RUAD_REPORT_H */
