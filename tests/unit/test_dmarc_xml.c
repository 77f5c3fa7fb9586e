/*
 * test_dmarc_xml.c - the DMARC XML parser on inputs made here: both schema
 * generations, tolerated oddities, broken XML, attacks, and every limit
 * one step past.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc_xml.h"
#include "limits.h"
#include "report.h"

/* A reader over memory that hands out at most `chunk` bytes a call. */
struct memrd {
    const char *p;
    size_t      len, off, chunk;
};

static enum ruad_rc
memrd_read(void *ctx, char *buf, size_t cap, size_t *got)
{
    struct memrd *m = ctx;
    size_t        n = m->len - m->off;

    if (n > cap)
        n = cap;
    if (m->chunk && n > m->chunk)
        n = m->chunk;
    memcpy(buf, m->p + m->off, n);
    m->off += n;
    *got = n;
    return RUAD_OK;
}

/* What the sink saw. */
struct seen {
    unsigned records, done, aborts;
    uint64_t messages;
    char     first_ip[64], last_ip[64], org[128], domain[128], rid[128];
    char     disp[32], ad_result[32], as_scope[32], reason[32];
    char     header_from[128], envelope_to[128], human[128], selector[64];
    char     version[16], np[16], testing[8], disc[16], generator[64];
    int64_t  begin, end, pct;
    size_t   n_errors, n_dkim, n_spf;
};

static void
cp(char *dst, size_t n, const char *s)
{
    snprintf(dst, n, "%s", s ? s : "(null)");
}

static enum ruad_rc
seen_record(void *ctx, const struct dmarc_report *rep,
    const struct dmarc_record *r)
{
    struct seen *s = ctx;

    (void)rep;
    if (s->records == 0) {
        cp(s->first_ip, sizeof(s->first_ip), r->source_ip);
        cp(s->disp, sizeof(s->disp), r->disposition);
        cp(s->header_from, sizeof(s->header_from), r->header_from);
        cp(s->envelope_to, sizeof(s->envelope_to), r->envelope_to);
        cp(s->ad_result, sizeof(s->ad_result),
            r->n_dkim_auth ? r->dkim_auth[0].result : NULL);
        cp(s->selector, sizeof(s->selector),
            r->n_dkim_auth ? r->dkim_auth[0].selector : NULL);
        cp(s->human, sizeof(s->human),
            r->n_dkim_auth ? r->dkim_auth[0].human_result : NULL);
        cp(s->as_scope, sizeof(s->as_scope),
            r->n_spf_auth ? r->spf_auth[0].scope : NULL);
        cp(s->reason, sizeof(s->reason),
            r->n_reasons ? r->reasons[0].type : NULL);
        s->n_dkim = r->n_dkim_auth;
        s->n_spf = r->n_spf_auth;
    }
    cp(s->last_ip, sizeof(s->last_ip), r->source_ip);
    s->records++;
    if (r->has_count)
        s->messages += r->count;
    return RUAD_OK;
}

static enum ruad_rc
seen_done(void *ctx, const struct dmarc_report *r)
{
    struct seen *s = ctx;

    s->done++;
    cp(s->org, sizeof(s->org), r->org_name);
    cp(s->domain, sizeof(s->domain), r->policy.domain);
    cp(s->rid, sizeof(s->rid), r->report_id);
    cp(s->version, sizeof(s->version), r->version);
    cp(s->np, sizeof(s->np), r->policy.np);
    cp(s->testing, sizeof(s->testing), r->policy.testing);
    cp(s->disc, sizeof(s->disc), r->policy.discovery_method);
    cp(s->generator, sizeof(s->generator), r->generator);
    s->begin = r->begin;
    s->end = r->end;
    s->pct = r->policy.has_pct ? r->policy.pct : -1;
    s->n_errors = r->n_errors;
    return RUAD_OK;
}

static void
seen_abort(void *ctx)
{
    ((struct seen *)ctx)->aborts++;
}

static enum ruad_rc
run(const char *xml, size_t len, const struct report_limits *lim,
    struct seen *s, struct report_diag *d, size_t chunk)
{
    struct memrd       m = { xml, len, 0, chunk };
    struct report_sink sink = { s, seen_record, seen_done, seen_abort, NULL };

    memset(s, 0, sizeof(*s));
    report_diag_init(d);
    return dmarc_xml_parse(memrd_read, &m, lim, &sink, d);
}

static bool
has_warning(const struct report_diag *d, const char *needle)
{
    size_t i;

    for (i = 0; i < d->n_warnings; i++)
        if (strstr(d->warnings[i], needle) != NULL)
            return true;
    return false;
}

#define META(org, email, rid, b, e) \
    "<report_metadata><org_name>" org "</org_name><email>" email \
    "</email><report_id>" rid "</report_id><date_range><begin>" b \
    "</begin><end>" e "</end></date_range></report_metadata>"
#define POLICY(dom) \
    "<policy_published><domain>" dom "</domain><adkim>r</adkim>" \
    "<aspf>r</aspf><p>none</p><sp>none</sp><pct>100</pct>" \
    "</policy_published>"
#define RECORD(ip, n) \
    "<record><row><source_ip>" ip "</source_ip><count>" n "</count>" \
    "<policy_evaluated><disposition>none</disposition><dkim>pass</dkim>" \
    "<spf>fail</spf></policy_evaluated></row><identifiers>" \
    "<header_from>example.com</header_from></identifiers><auth_results>" \
    "<dkim><domain>example.com</domain><result>pass</result></dkim>" \
    "<spf><domain>example.com</domain><result>fail</result></spf>" \
    "</auth_results></record>"
#define GOOD_HEAD "<?xml version=\"1.0\"?><feedback>" \
    META("Acme", "r@acme.example", "id-1", "1700000000", "1700086399") \
    POLICY("example.com")

static const char rfc7489_doc[] = GOOD_HEAD RECORD("192.0.2.1", "3")
    RECORD("2001:DB8:0:0::1", "4") "</feedback>";

static const char rfc9990_doc[] =
    "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">"
    "<version>1.0</version><report_metadata><org_name>Rep</org_name>"
    "<email>a@rep.example</email><report_id>x9</report_id><date_range>"
    "<begin>302832000</begin><end>302918399</end></date_range>"
    "<generator>Gen 1.2</generator><error>oops</error><error>again"
    "</error></report_metadata><policy_published><domain>example.org"
    "</domain><p>quarantine</p><sp>none</sp><np>reject</np><testing>y"
    "</testing><discovery_method>treewalk</discovery_method>"
    "</policy_published><extension><foo><bar>1</bar></foo></extension>"
    "<record><row><source_ip>198.51.100.7</source_ip><count>123</count>"
    "<policy_evaluated><disposition>pass</disposition><dkim>pass</dkim>"
    "<spf>fail</spf><reason><type>local_policy</type><comment>c</comment>"
    "</reason></policy_evaluated></row><identifiers><envelope_to>"
    "to.example</envelope_to><envelope_from>example.org</envelope_from>"
    "<header_from>example.org</header_from></identifiers><auth_results>"
    "<dkim><domain>example.org</domain><selector>s1</selector><result>"
    "pass</result><human_result>good sig</human_result></dkim><spf>"
    "<domain>example.org</domain><scope>mfrom</scope><result>fail"
    "</result></spf></auth_results></record></feedback>";

static void
test_rfc7489(void **state)
{
    struct report_limits lim;
    struct report_diag   d;
    struct seen          s;
    size_t               chunk;

    (void)state;
    report_limits_default(&lim);
    /* the result must not depend on how the bytes arrive */
    for (chunk = 0; chunk < 40; chunk += 7) {
        assert_int_equal(run(rfc7489_doc, strlen(rfc7489_doc), &lim, &s,
            &d, chunk), RUAD_OK);
        assert_int_equal(s.records, 2);
        assert_int_equal(s.messages, 7);
        assert_int_equal(s.done, 1);
        assert_string_equal(s.org, "Acme");
        assert_string_equal(s.domain, "example.com");
        assert_string_equal(s.rid, "id-1");
        assert_string_equal(s.first_ip, "192.0.2.1");
        assert_string_equal(s.last_ip, "2001:db8::1"); /* canonical */
        assert_int_equal(s.begin, 1700000000);
        assert_int_equal(s.end, 1700086399);
        assert_int_equal(s.pct, 100);
        assert_string_equal(s.np, "(null)");
        assert_int_equal(d.n_warnings, 0);
        report_diag_free(&d);
    }
}

static void
test_rfc9990(void **state)
{
    struct report_limits lim;
    struct report_diag   d;
    struct seen          s;

    (void)state;
    report_limits_default(&lim);
    assert_int_equal(run(rfc9990_doc, strlen(rfc9990_doc), &lim, &s, &d, 0),
        RUAD_OK);
    assert_int_equal(s.records, 1);
    assert_int_equal(s.messages, 123);
    assert_string_equal(s.version, "1.0");
    assert_string_equal(s.np, "reject");
    assert_string_equal(s.testing, "y");
    assert_string_equal(s.disc, "treewalk");
    assert_string_equal(s.generator, "Gen 1.2");
    assert_string_equal(s.disp, "pass");
    assert_string_equal(s.envelope_to, "to.example");
    assert_string_equal(s.selector, "s1");
    assert_string_equal(s.human, "good sig");
    assert_string_equal(s.as_scope, "mfrom");
    assert_string_equal(s.reason, "local_policy");
    assert_int_equal(s.n_errors, 2);
    assert_int_equal(s.pct, -1);
    assert_int_equal(d.n_warnings, 0);    /* extension skipped quietly */
    report_diag_free(&d);
}

/* Table: inputs that parse, with what must be seen. */
static const struct ok_case {
    const char *name;
    const char *xml;
    unsigned    records;
    uint64_t    messages;
    const char *org;
    const char *warning;      /* a warning that must be present, or NULL */
} ok_cases[] = {
    { "enum case and whitespace",
      "<feedback>" META("  Acme ", "a@b.example", " id ", " 1 ", "2")
      POLICY("example.com") "<record><row><source_ip> 192.0.2.9 "
      "</source_ip><count> 5 </count><policy_evaluated><disposition>"
      "QUARANTINE</disposition><dkim>Pass</dkim><spf>FAIL</spf>"
      "</policy_evaluated></row></record></feedback>",
      1, 5, "Acme", NULL },
    { "unknown enum kept with warning",
      "<feedback>" META("A", "a@b.example", "i", "1", "2")
      POLICY("example.com") "<record><row><source_ip>192.0.2.9</source_ip>"
      "<count>1</count></row><auth_results><spf><domain>d</domain><result>"
      "hardfail</result></spf></auth_results></record></feedback>",
      1, 1, "A", "unknown value \"hardfail\"" },
    { "fractional timestamps",
      "<feedback>" META("A", "a@b.example", "i", "1538204542.25",
      "1538463818.0") POLICY("example.com") "</feedback>",
      0, 0, "A", "fractional" },
    { "empty org_name from email domain",
      "<feedback>" META("", "noreply@reporter.example", "i", "1", "2")
      POLICY("example.com") RECORD("192.0.2.1", "1") "</feedback>",
      1, 1, "reporter.example", "taken from the email's domain" },
    { "wrapped in a stray element",
      "<?xml version=\"1.0\"?> <xs:schema xmlns:xs=\"urn:x\"><feedback>"
      META("A", "a@b.example", "i", "1", "2") POLICY("example.com")
      RECORD("192.0.2.1", "2") "</feedback></xs:schema>",
      1, 2, "A", NULL },
    { "namespace prefix",
      "<d:feedback xmlns:d=\"urn:ietf:params:xml:ns:dmarc-2.0\">"
      "<d:report_metadata><d:org_name>P</d:org_name><d:report_id>r"
      "</d:report_id><d:date_range><d:begin>1</d:begin><d:end>2</d:end>"
      "</d:date_range></d:report_metadata><d:policy_published><d:domain>"
      "e.example</d:domain></d:policy_published><d:record><d:row>"
      "<d:source_ip>192.0.2.1</d:source_ip><d:count>9</d:count></d:row>"
      "</d:record></d:feedback>",
      1, 9, "P", NULL },
    { "stray text in policy",
      "<feedback>" META("A", "a@b.example", "i", "1", "2")
      "<policy_published><domain>example.com</domain><sp>none</sp>11"
      "</policy_published></feedback>",
      0, 0, "A", "stray text" },
    { "CDATA and character references",
      "<feedback>" META("<![CDATA[A&B]]>", "a@b.example", "i&#49;", "1",
      "2") POLICY("example.com") "</feedback>",
      0, 0, "A&B", NULL },
    { "unclosed wrapper recovered",
      "<?xml version=\"1.0\"?> <xs:schema xmlns:xs=\"urn:x\">\n<feedback>"
      META("A", "a@b.example", "i", "1", "2") POLICY("example.com")
      RECORD("192.0.2.1", "2") "</feedback>\n",
      1, 2, "A", "not well-formed at line" },
    { "truncated after a record",
      "<feedback>" META("A", "a@b.example", "i", "1", "2")
      POLICY("example.com") RECORD("192.0.2.1", "2")
      "<record><row><source_ip>192.0.2.2</source_ip>",
      1, 2, "A", "not well-formed" },
    { "bad source ip kept with warning",
      "<feedback>" META("A", "a@b.example", "i", "1", "2")
      POLICY("example.com") RECORD("not-an-ip", "1") "</feedback>",
      1, 1, "A", "is not an IP address" },
    { "UTF-8 BOM",
      "\xef\xbb\xbf<feedback>" META("A", "a@b.example", "i", "1", "2")
      POLICY("example.com") RECORD("192.0.2.1", "1") "</feedback>",
      1, 1, "A", NULL },
};

static void
test_ok_table(void **state)
{
    struct report_limits lim;
    struct report_diag   d;
    struct seen          s;
    size_t               i;

    (void)state;
    report_limits_default(&lim);
    for (i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
        const struct ok_case *c = &ok_cases[i];
        enum ruad_rc          rc;

        rc = run(c->xml, strlen(c->xml), &lim, &s, &d, 0);
        if (rc != RUAD_OK)
            fail_msg("%s: rc=%s error=%s", c->name, ruad_rc_str(rc),
                d.error);
        if (s.records != c->records || s.messages != c->messages)
            fail_msg("%s: %u records %llu messages", c->name, s.records,
                (unsigned long long)s.messages);
        if (strcmp(s.org, c->org) != 0)
            fail_msg("%s: org %s", c->name, s.org);
        if (c->warning != NULL && !has_warning(&d, c->warning))
            fail_msg("%s: no warning containing \"%s\" (%zu warnings%s%s)",
                c->name, c->warning, d.n_warnings,
                d.n_warnings ? ", first: " : "",
                d.n_warnings ? d.warnings[0] : "");
        report_diag_free(&d);
    }
}

/* Table: inputs that must be refused, with the code and a message part. */
static const struct bad_case {
    const char  *name;
    const char  *xml;
    enum ruad_rc rc;
    const char  *error;
} bad_cases[] = {
    { "empty", "", RUAD_MALFORMED, "empty document" },
    { "not xml at all", "hello", RUAD_MALFORMED, "not well-formed" },
    { "other xml", "<html><body/></html>", RUAD_UNSUPPORTED,
      "no <feedback>" },
    { "missing report_id",
      "<feedback><report_metadata><org_name>A</org_name><date_range>"
      "<begin>1</begin><end>2</end></date_range></report_metadata>"
      POLICY("example.com") "</feedback>",
      RUAD_MALFORMED, "missing report_metadata/report_id" },
    { "missing policy domain",
      "<feedback>" META("A", "a@b.example", "i", "1", "2")
      "<policy_published><p>none</p></policy_published></feedback>",
      RUAD_MALFORMED, "missing policy_published/domain" },
    { "no org at all",
      "<feedback>" META("", "", "i", "1", "2") POLICY("example.com")
      "</feedback>", RUAD_MALFORMED, "org_name or email" },
    { "bad begin",
      "<feedback>" META("A", "a@b.example", "i", "soon", "2")
      POLICY("example.com") "</feedback>", RUAD_MALFORMED,
      "date_range/begin" },
    { "broken before the policy",
      "<feedback><report_metadata><org_name>A</org_name><email><bad@x>"
      "</email>\n<report_id>i</report_id>",
      RUAD_MALFORMED, "not well-formed at line" },
    { "doctype", "<?xml version=\"1.0\"?>\n<!DOCTYPE feedback>"
      "<feedback/>", RUAD_MALFORMED, "DOCTYPE" },
    { "xxe file",
      "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM "
      "\"file:///etc/passwd\">]><feedback><report_metadata><org_name>&x;"
      "</org_name></report_metadata></feedback>",
      RUAD_MALFORMED, "DOCTYPE" },
    { "doctype after comment",
      "<!-- hi --><!DOCTYPE x [<!ENTITY a \"aaaa\">]><feedback/>",
      RUAD_MALFORMED, "DOCTYPE" },
};

static void
test_bad_table(void **state)
{
    struct report_limits lim;
    struct report_diag   d;
    struct seen          s;
    size_t               i;

    (void)state;
    report_limits_default(&lim);
    for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        enum ruad_rc           rc;

        rc = run(c->xml, strlen(c->xml), &lim, &s, &d, 0);
        if (rc != c->rc)
            fail_msg("%s: rc=%s, want %s (error: %s)", c->name,
                ruad_rc_str(rc), ruad_rc_str(c->rc), d.error);
        if (strstr(d.error, c->error) == NULL)
            fail_msg("%s: error \"%s\" lacks \"%s\"", c->name, d.error,
                c->error);
        if (s.done != 0)
            fail_msg("%s: report delivered", c->name);
        report_diag_free(&d);
    }
}

/* A report whose records went out and then failed must be aborted. */
static void
test_abort_after_records(void **state)
{
    static const char xml[] = "<feedback>" RECORD("192.0.2.1", "1")
        "<report_metadata><org_name>A</org_name></report_metadata>"
        "</feedback>";
    struct report_limits lim;
    struct report_diag   d;
    struct seen          s;

    (void)state;
    report_limits_default(&lim);
    assert_int_equal(run(xml, strlen(xml), &lim, &s, &d, 0), RUAD_MALFORMED);
    assert_int_equal(s.records, 1);
    assert_int_equal(s.aborts, 1);
    assert_int_equal(s.done, 0);
    report_diag_free(&d);
}

/* build_nested - feedback with depth levels of <x> in an extension */
static char *
build_nested(unsigned depth)
{
    struct { char *p; size_t n; } b;
    FILE    *f = open_memstream(&b.p, &b.n);
    unsigned i;

    fputs("<feedback>" META("A", "a@b.example", "i", "1", "2")
        POLICY("example.com") "<extension>", f);
    for (i = 0; i < depth; i++)
        fputs("<x>", f);
    for (i = 0; i < depth; i++)
        fputs("</x>", f);
    fputs("</extension></feedback>", f);
    fclose(f);
    return b.p;
}

static void
test_limit_depth(void **state)
{
    struct report_limits lim;
    struct report_diag   d;
    struct seen          s;
    char                *xml;

    (void)state;
    report_limits_default(&lim);
    /* feedback is depth 0, extension 1, the first <x> 2: the deepest
     * element sits at depth n + 1 */
    xml = build_nested(lim.xml_depth_max - 2);
    assert_int_equal(run(xml, strlen(xml), &lim, &s, &d, 0), RUAD_OK);
    report_diag_free(&d);
    free(xml);
    xml = build_nested(lim.xml_depth_max - 1);
    assert_int_equal(run(xml, strlen(xml), &lim, &s, &d, 0), RUAD_LIMIT);
    assert_non_null(strstr(d.error, "nested deeper"));
    report_diag_free(&d);
    free(xml);
}

static void
test_limit_text(void **state)
{
    struct report_limits lim;
    struct report_diag   d;
    struct seen          s;
    char                 xml[8192], val[DMARC_TEXT_MAX + 2];

    (void)state;
    report_limits_default(&lim);
    lim.text_max = 100;
    memset(val, 'a', sizeof(val));
    val[100] = '\0';
    snprintf(xml, sizeof(xml), "<feedback>" META("%s", "a@b.example", "i",
        "1", "2") POLICY("example.com") "</feedback>", val);
    assert_int_equal(run(xml, strlen(xml), &lim, &s, &d, 7), RUAD_OK);
    assert_int_equal(strlen(s.org), 100);
    report_diag_free(&d);
    val[100] = 'a';
    val[101] = '\0';
    snprintf(xml, sizeof(xml), "<feedback>" META("%s", "a@b.example", "i",
        "1", "2") POLICY("example.com") "</feedback>", val);
    assert_int_equal(run(xml, strlen(xml), &lim, &s, &d, 7), RUAD_LIMIT);
    assert_non_null(strstr(d.error, "report_metadata/org_name> longer"));
    report_diag_free(&d);
}

static void
test_limit_records(void **state)
{
    static const char xml[] = GOOD_HEAD RECORD("192.0.2.1", "1")
        RECORD("192.0.2.2", "1") RECORD("192.0.2.3", "1") "</feedback>";
    struct report_limits lim;
    struct report_diag   d;
    struct seen          s;

    (void)state;
    report_limits_default(&lim);
    lim.records_max = 3;
    assert_int_equal(run(xml, strlen(xml), &lim, &s, &d, 0), RUAD_OK);
    assert_int_equal(s.records, 3);
    report_diag_free(&d);
    lim.records_max = 2;
    assert_int_equal(run(xml, strlen(xml), &lim, &s, &d, 0), RUAD_LIMIT);
    assert_int_equal(s.aborts, 1);
    assert_non_null(strstr(d.error, "more than 2 records"));
    report_diag_free(&d);
}

static void
test_limit_auth(void **state)
{
    struct report_limits lim;
    struct report_diag   d;
    struct seen          s;
    char                *xml;
    struct { char *p; size_t n; } b;
    FILE                *f;
    int                  n, i;

    (void)state;
    report_limits_default(&lim);
    for (n = DMARC_AUTH_MAX; n <= DMARC_AUTH_MAX + 1; n++) {
        f = open_memstream(&b.p, &b.n);
        fputs(GOOD_HEAD "<record><row><source_ip>192.0.2.1</source_ip>"
            "<count>1</count></row><auth_results>", f);
        for (i = 0; i < n; i++)
            fputs("<dkim><domain>d</domain><result>pass</result></dkim>", f);
        fputs("</auth_results></record></feedback>", f);
        fclose(f);
        xml = b.p;
        assert_int_equal(run(xml, strlen(xml), &lim, &s, &d, 0),
            n == DMARC_AUTH_MAX ? RUAD_OK : RUAD_LIMIT);
        if (n == DMARC_AUTH_MAX)
            assert_int_equal(s.n_dkim, DMARC_AUTH_MAX);
        report_diag_free(&d);
        free(xml);
    }
}

/* UTF-16 documents, with and without a BOM. */
static void
test_utf16(void **state)
{
    struct report_limits lim;
    struct report_diag   d;
    struct seen          s;
    const char          *src = GOOD_HEAD RECORD("192.0.2.1", "5")
        "</feedback>";
    size_t               n = strlen(src), i;
    char                *u = malloc(2 * n + 2);

    (void)state;
    report_limits_default(&lim);
    /* UTF-16LE with BOM; the declaration says nothing of the encoding */
    u[0] = (char)0xff;
    u[1] = (char)0xfe;
    for (i = 0; i < n; i++) {
        u[2 + 2 * i] = src[i];
        u[3 + 2 * i] = '\0';
    }
    assert_int_equal(run(u, 2 * n + 2, &lim, &s, &d, 5), RUAD_OK);
    assert_int_equal(s.messages, 5);
    assert_string_equal(s.org, "Acme");
    report_diag_free(&d);
    /* UTF-16BE with BOM */
    u[0] = (char)0xfe;
    u[1] = (char)0xff;
    for (i = 0; i < n; i++) {
        u[2 + 2 * i] = '\0';
        u[3 + 2 * i] = src[i];
    }
    assert_int_equal(run(u, 2 * n + 2, &lim, &s, &d, 0), RUAD_OK);
    assert_int_equal(s.records, 1);
    report_diag_free(&d);
    free(u);
}

/* Memory must not depend on the record count: 100,000 records stream. */
static void
test_many_records(void **state)
{
    struct report_limits lim;
    struct report_diag   d;
    struct seen          s;
    struct { char *p; size_t n; } b;
    FILE                *f = open_memstream(&b.p, &b.n);
    unsigned             i;

    (void)state;
    report_limits_default(&lim);
    fputs(GOOD_HEAD, f);
    for (i = 0; i < 100000; i++)
        fprintf(f, RECORD("10.%u.%u.%u", "%u"), (i >> 16) & 255,
            (i >> 8) & 255, i & 255, i % 7 + 1);
    fputs("</feedback>", f);
    fclose(f);
    assert_int_equal(run(b.p, b.n, &lim, &s, &d, 0), RUAD_OK);
    assert_int_equal(s.records, 100000);
    /* sum of i % 7 + 1 over 0..99999 */
    assert_int_equal(s.messages, 14285 * 28 + (1 + 2 + 3 + 4 + 5));
    assert_string_equal(s.last_ip, "10.1.134.159");
    report_diag_free(&d);
    free(b.p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7489),
        cmocka_unit_test(test_rfc9990),
        cmocka_unit_test(test_ok_table),
        cmocka_unit_test(test_bad_table),
        cmocka_unit_test(test_abort_after_records),
        cmocka_unit_test(test_limit_depth),
        cmocka_unit_test(test_limit_text),
        cmocka_unit_test(test_limit_records),
        cmocka_unit_test(test_limit_auth),
        cmocka_unit_test(test_utf16),
        cmocka_unit_test(test_many_records),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
