"""The query API (/api/v1) against a real `ruad serve` and PostgreSQL.

The test starts its own PostgreSQL, runs `ruad migrate`, imports the
shared samples, 20 days of mkdemo reports and TLS reports it writes
itself (one describes the same sessions under an sts and a tlsa policy),
makes tokens with `ruad token new` and starts `ruad serve`.

Checks, all through HTTP replies and SQL:
- every number of every endpoint equals a query over the BASE tables
  (dmarc_report/_record, tlsrpt_report/_policy/_failure, inbound) written
  here, never the rollups the server reads: domains, reporters, the DMARC
  summary for each group_by with and without domain/since/until, sources,
  the TLS summary for each group_by (sessions under an sts and a tlsa
  policy of one domain counted once), report details, the records list
  (dmarc/records) with each filter;
- pagination (limit 1..7) returns every row of the list once, in order;
- bad parameters answer 400 with a problem document naming the parameter,
  each limit one past (limit 1001, a 256-byte value) and at (1000, 255);
  bytes that are not UTF-8 in every string parameter, and cursors whose
  values PostgreSQL could not compute with (a report time past 9999 or
  before 1970, ids past their column) are 400 too, never 500; at the ends
  of their ranges they are 200;
- every response validates against docs/openapi.json (python3-jsonschema,
  JSON Schema 2020-12) and GET /api/v1/openapi.json is that file;
- no token 401 (WWW-Authenticate), unknown token 401, a read token on
  POST reprocess 403; a token made while the server runs works at once,
  one removed from the file stops working; /healthz, /readyz, /metrics and
  POST /tlsrpt need none; metrics_require_token closes /metrics;
- raw bytes equal what was stored; reprocess queues a refused row again
  (202), not a parsed one (409), not a missing one (404).
"""
import base64
import datetime
import gzip
import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ruadtest import (DB, RUAD, SRC, TMP, Postgres, Tally,  # noqa: E402
                      free_port, samples_dir, wait_for)

t = Tally("api")
try:
    import jsonschema
except ImportError:
    sys.exit("python3-jsonschema is missing: run deploy/install-deps test")

DOC_PATH = os.path.join(SRC, "docs", "openapi.json")
with open(DOC_PATH, "rb") as f:
    DOC_BYTES = f.read()
DOC = json.loads(DOC_BYTES)
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
TIME_KEYS = {"begin", "end", "stored_at", "first_report", "last_report",
             "last_received", "received_at", "processed_at", "since",
             "until"}

os.makedirs(TMP, exist_ok=True)
tmp = tempfile.mkdtemp(prefix="ruad-api.", dir=TMP)
pg = Postgres("api")
pg.start()
env = dict(os.environ, RUAD_DATABASE_URL=pg.url)
db = DB(pg.url)
server = None
server2 = None


def ruad(*args):
    p = subprocess.run([RUAD, *args], env=env, capture_output=True,
                       text=True, timeout=600)
    return p.returncode, p.stdout, p.stderr


# ---- OpenAPI validation ----------------------------------------------------

def media(template, method, status):
    """(content type, schema) the document declares, None if undeclared."""
    op = DOC["paths"].get(template, {}).get(method)
    if op is None:
        return None
    r = op["responses"].get(str(status))
    if r is None:
        return None
    if "$ref" in r:
        r = DOC["components"]["responses"][r["$ref"].split("/")[-1]]
    ctype, m = next(iter(r["content"].items()))
    return ctype, m["schema"]


def validator(schema):
    root = dict(schema)
    root["components"] = DOC["components"]
    root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return jsonschema.Draft202012Validator(root)


def times_ok(o):
    """Every time is RFC 3339 UTC whole seconds; every day a full-date."""
    if isinstance(o, dict):
        for k, v in o.items():
            if k in TIME_KEYS and v is not None and not RFC3339.match(v):
                return False
            if k in ("first_seen", "last_seen") and not DATE.match(v):
                return False
            if not times_ok(v):
                return False
    elif isinstance(o, list):
        return all(times_ok(x) for x in o)
    return True


n_validated = [0]


def check_doc(template, method, status, hdrs, body, what):
    m = media(template, method, status)
    if not t.check(m is not None, "%s: status %d is declared for %s %s" % (
            what, status, method.upper(), template)):
        return
    ctype, schema = m
    got = hdrs.get("content-type", "")
    t.check(got.split(";")[0].strip() == ctype, "%s: content type %s, "
            "want %s" % (what, got, ctype))
    if not ctype.endswith("json") or template == "/api/v1/openapi.json":
        return
    try:
        inst = json.loads(body)
    except ValueError as e:
        t.check(False, "%s: JSON: %s" % (what, e))
        return
    errs = sorted(validator(schema).iter_errors(inst), key=str)
    t.check(not errs, "%s: validates against the OpenAPI document: %s" % (
        what, "; ".join("%s at %s" % (e.message, list(e.absolute_path))
                        for e in errs[:3])))
    t.check(times_ok(inst), "%s: times are RFC 3339 UTC" % what)
    n_validated[0] += 1


# ---- HTTP ------------------------------------------------------------------

def request(port, method, path, token=None, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return r.status, hdrs, data


def api(template, path=None, token=None, method="get", want=200,
        params=None):
    """Call the API, validate the reply against the document, return it."""
    path = path or template
    if params:
        path += "?" + urllib.parse.urlencode(params)
    st, hdrs, body = request(PORT, method.upper(), path,
                             token if token is not None else READ)
    if not t.check(st == want, "%s %s: status %d, want %d: %s" % (
            method.upper(), path, st, want, body[:300])):
        # a failing check, not a traceback: the callers skip a reply
        # that is not a dict or a list, and the other checks still run
        return None
    check_doc(template, method, st, hdrs, body, "%s %s" % (method.upper(),
                                                           path))
    if hdrs.get("content-type", "").endswith("json"):
        return json.loads(body)
    return body


def pages(template, params, limit):
    """Every item of a list, following next_cursor."""
    items, cursor, n = [], None, 0
    while True:
        p = dict(params, limit=limit)
        if cursor:
            p["cursor"] = cursor
        o = api(template, params=p)
        if not isinstance(o, dict) or "items" not in o:
            return items
        t.check(len(o["items"]) <= limit, "%s: page of at most %d" % (
            template, limit))
        items += o["items"]
        cursor = o["next_cursor"]
        n += 1
        if cursor is None or n > 10000:
            return items
        t.check(o["items"], "%s: a page with a next_cursor has items" %
                template)


# ---- time helpers ----------------------------------------------------------

def ts(dt):
    if dt is None:
        return None
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_in(day, since, until):
    """The documented rule: since <= day 00:00Z < until."""
    t0 = datetime.datetime(day.year, day.month, day.day,
                           tzinfo=datetime.timezone.utc)
    return (since is None or t0 >= since) and (until is None or t0 < until)


def filters(domain, since, until, **more):
    """The query parameters of a summary or list: the filters given."""
    return dict(more, **{k: v for k, v in (("domain", domain), ("since",
                since), ("until", until)) if v})


def parse_param_time(s):
    if s is None:
        return None
    if len(s) == 10:
        s += "T00:00:00Z"
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


# ---- inputs ----------------------------------------------------------------

def tls_report(rid, day, policies, org="ruad-api-test"):
    return json.dumps({
        "organization-name": org,
        "date-range": {"start-datetime": day + "T00:00:00Z",
                       "end-datetime": day + "T23:59:59Z"},
        "contact-info": "tlsrpt@api-test.example",
        "report-id": rid,
        "policies": policies}).encode()


def tls_policy(ptype, domain, ok, fail, details):
    return {"policy": {"policy-type": ptype, "policy-string": ["v"],
                       "policy-domain": domain, "mx-host": ["mx." + domain]},
            "summary": {"total-successful-session-count": ok,
                        "total-failure-session-count": fail},
            "failure-details": [
                {"result-type": rt, "sending-mta-ip": ip,
                 "receiving-mx-hostname": mx, "failed-session-count": n}
                for rt, ip, mx, n in details]}


def load_inputs():
    rc, out, err = ruad("migrate")
    t.check(rc == 0, "migrate: %s" % err)
    demo = os.path.join(tmp, "demo")
    p = subprocess.run([os.environ["RUAD_MKDEMO"], demo, "20", "20000"],
                       capture_output=True, text=True)
    t.check(p.returncode == 0, "mkdemo: %s" % p.stderr)
    own = os.path.join(tmp, "own")
    os.makedirs(own)
    # one report, the same 100 sessions under sts and tlsa for dual.example
    # (counted once, under tlsa on the tie), plus another domain
    dual = tls_report("api-dual-1", "2024-03-01", [
        tls_policy("sts", "dual.example", 90, 10, [
            ("certificate-expired", "192.0.2.1", "mx.dual.example", 10)]),
        tls_policy("tlsa", "DUAL.example", 90, 10, [
            ("dane-required", "192.0.2.1", "mx.dual.example", 6),
            ("tlsa-invalid", "192.0.2.2", "mx2.dual.example", 3)]),
        tls_policy("sts", "single.example", 40, 2, [
            ("validation-failure", "192.0.2.9", "mx.single.example", 2)])])
    # sts with more sessions than tlsa: sts counts
    more = tls_report("api-dual-2", "2024-03-02", [
        tls_policy("tlsa", "dual.example", 10, 0, []),
        tls_policy("sts", "dual.example", 50, 5, [
            ("sts-webpki-invalid", "192.0.2.3", "mx.dual.example", 5)])])
    with open(os.path.join(own, "dual1.json.gz"), "wb") as f:
        f.write(gzip.compress(dual))
    with open(os.path.join(own, "dual2.json"), "wb") as f:
        f.write(more)
    # a mailed DMARC report (unsigned: its DKIM verdict is none)
    xml = ("<?xml version=\"1.0\"?><feedback><report_metadata>"
           "<org_name>Mailed Org</org_name><email>dmarc@mailed.example"
           "</email><report_id>api-mailed-1</report_id><date_range><begin>"
           "1709251200</begin><end>1709337599</end></date_range>"
           "</report_metadata><policy_published><domain>mailed.example"
           "</domain><p>none</p></policy_published><record><row><source_ip>"
           "192.0.2.44</source_ip><count>7</count><policy_evaluated>"
           "<disposition>none</disposition><dkim>fail</dkim><spf>pass</spf>"
           "</policy_evaluated></row><identifiers><header_from>"
           "mailed.example</header_from></identifiers><auth_results><spf>"
           "<domain>mailed.example</domain><result>pass</result></spf>"
           "</auth_results></record></feedback>")
    mail = ("From: dmarc@mailed.example\r\nTo: rua@ruad.example\r\n"
            "Subject: Report domain: mailed.example\r\nMessage-ID: "
            "<api-mailed-1@mailed.example>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: application/gzip; name=r.xml.gz\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" +
            base64.encodebytes(gzip.compress(xml.encode())).decode()
            .replace("\n", "\r\n"))
    with open(os.path.join(own, "mailed.eml"), "w") as f:
        f.write(mail)
    # a report cut short: a refused (malformed) row to reprocess
    with open(os.path.join(own, "cut-short.xml"), "w") as f:
        f.write("<?xml version=\"1.0\"?>\n<feedback><report_metadata>")
    paths = [demo, own]
    root = samples_dir()
    if root is None:
        t.skip(1, "samples folder not found (set RUAD_SAMPLES): the API "
               "runs over the made-up reports only")
    else:
        paths += [os.path.join(root, d) for d in ("dmarc", "tlsrpt", "eml")]
    rc, out, err = ruad("import", *paths)
    t.check(" parsed " in out, "import: %s" % err[-500:])
    t.check(db.one("SELECT count(*) FROM dmarc_report") > 100,
            "over a hundred DMARC reports stored")


# ---- base-table oracles ----------------------------------------------------

MID = "(r.begin_at + (r.end_at - r.begin_at) / 2)::date"
DMARC_KEY = {
    "day": "to_char(%s, 'YYYY-MM-DD')" % MID,
    "source_ip": "host(x.source_ip)",
    "header_from": "nullif(lower(coalesce(x.header_from, '')), '')",
    "org": "r.reporter",
    "disposition": "nullif(coalesce(x.disposition, ''), '')",
}


def dmarc_rows(domain, since, until, group_by):
    """{key: counts} from dmarc_record and dmarc_report."""
    rows = db.q(
        "SELECT " + DMARC_KEY[group_by] + ", " + MID + ", "
        "coalesce(x.dkim, '') = 'pass', coalesce(x.spf, '') = 'pass', "
        "coalesce(x.disposition, ''), coalesce(x.count, 0) "
        "FROM dmarc_record x JOIN dmarc_report r ON r.id = x.report_id "
        "WHERE (%s::text IS NULL OR lower(r.policy_domain) = %s)",
        domain, domain)
    out = {}
    for key, day, dk, sp, disp, n in rows:
        if not day_in(day, since, until):
            continue
        g = out.setdefault(key, {"messages": 0, "outcome": {
            "both_aligned": 0, "dkim_aligned_only": 0,
            "spf_aligned_only": 0, "neither": 0}, "disposition": {
            "none": 0, "quarantine": 0, "reject": 0, "other": 0},
            "by_disposition": {k: {"pass": 0, "fail": 0} for k in (
                "none", "quarantine", "reject", "other")}})
        g["messages"] += n
        o = ("both_aligned" if dk and sp else "dkim_aligned_only" if dk
             else "spf_aligned_only" if sp else "neither")
        g["outcome"][o] += n
        g["disposition"][disp if disp in ("none", "quarantine", "reject")
                         else "other"] += n
        g["by_disposition"][disp if disp in ("none", "quarantine", "reject")
                            else "other"]["pass" if dk or sp else "fail"] \
            += n
    return out


def tls_counted():
    """The sessions of each report and policy domain, counted once: per
    report and domain the policy with the most sessions; tlsa, then sts,
    then others on a tie; then document order."""
    pols = db.q("SELECT p.report_id, p.pol_no, lower(coalesce("
                "p.policy_domain, '')), p.policy_type, "
                "coalesce(p.total_successful, 0), coalesce(p.total_failure, "
                "0), (r.begin_at + (r.end_at - r.begin_at) / 2)::date "
                "FROM tlsrpt_policy p JOIN tlsrpt_report r ON "
                "r.id = p.report_id")
    fails = db.q("SELECT report_id, pol_no, result_type, host(sending_mta_ip),"
                 " lower(coalesce(receiving_mx_hostname, '')), coalesce("
                 "failed_session_count, 0) FROM tlsrpt_failure")
    det = {}
    for rid, pno, rt, ip, mx, n in fails:
        det.setdefault((rid, pno), []).append((rt, ip, mx, n))
    best = {}
    rank = {"tlsa": 0, "sts": 1}
    for rid, pno, dom, ptype, ok, fail, day in pols:
        k = (-(ok + fail), rank.get(ptype, 2), pno)
        cur = best.get((rid, dom))
        if cur is None or k < cur[0]:
            best[(rid, dom)] = (k, pno, ptype, ok, fail, day)
    sessions = []       # (report, domain, day, policy_type, result, mx, ip, n)
    for (rid, dom), (k, pno, ptype, ok, fail, day) in best.items():
        if ok > 0:
            sessions.append((rid, dom, day, ptype, "success", None, None, ok))
        told = 0
        for rt, ip, mx, n in det.get((rid, pno), []):
            told += n
            if n > 0:
                sessions.append((rid, dom, day, ptype, rt, mx or None, ip, n))
        if fail - told > 0:
            sessions.append((rid, dom, day, ptype, "unspecified", None, None,
                             fail - told))
    return sessions


TLS_FIELD = {"day": 2, "policy_type": 3, "result_type": 4,
             "receiving_mx_hostname": 5, "sending_mta_ip": 6}


def tls_groups(sessions, domain, since, until, group_by):
    out = {}
    for s in sessions:
        if domain is not None and s[1] != domain:
            continue
        if not day_in(s[2], since, until):
            continue
        key = s[TLS_FIELD[group_by]]
        if group_by == "day":
            key = key.isoformat()
        g = out.setdefault(key, {"sessions": 0, "successful": 0,
                                 "failed": 0})
        g["sessions"] += s[7]
        g["successful" if s[4] == "success" else "failed"] += s[7]
    return out


GROUPS_MAX = 1000


def fold(want, day, count_key, keys):
    """The groups the API lists (at most 1000, largest first; every day
    in order) and the sum of the rest (None: nothing folded)."""
    if day:
        return sorted(want), want, None
    order = sorted(want, key=lambda k: (-want[k][count_key], k is None,
                                        k or ""))
    top = order[:GROUPS_MAX]
    rest = {k: want[k] for k in order[GROUPS_MAX:]}
    return top, {k: want[k] for k in top}, (totals(rest, keys) if rest
                                             else None)


def add_into(tot, g, keys):
    """tot[k] += g[k] for each key, into nested dicts as deep as they go"""
    for k in keys:
        if isinstance(g[k], dict):
            add_into(tot.setdefault(k, {}), g[k], g[k].keys())
        else:
            tot[k] = tot.get(k, 0) + g[k]


def totals(groups, keys):
    tot = {}
    for g in groups.values():
        add_into(tot, g, keys)
    return tot


# ---- the checks ------------------------------------------------------------

def check_auth():
    st, hdrs, body = request(PORT, "GET", "/api/v1/domains")
    t.check(st == 401 and hdrs.get("www-authenticate", "").startswith(
        "Bearer"), "no token: 401 with WWW-Authenticate (%d)" % st)
    check_doc("/api/v1/domains", "get", st, hdrs, body, "no token")
    st, hdrs, body = request(PORT, "GET", "/api/v1/domains",
                             "ruad_" + "A" * 43)
    t.check(st == 401 and "invalid_token" in hdrs.get("www-authenticate",
            ""), "unknown token: 401 invalid_token (%d)" % st)
    check_doc("/api/v1/domains", "get", st, hdrs, body, "unknown token")
    st, hdrs, body = request(PORT, "GET", "/api/v1/domains", None,
                             headers={"Authorization": "Basic " + READ})
    t.check(st == 401, "Basic instead of Bearer: 401 (%d)" % st)
    st, hdrs, body = request(PORT, "GET", "/api/v1/domains", "x" * 600)
    t.check(st == 401, "a 600-byte token: 401 (%d)" % st)
    api("/api/v1/domains", token=WRITE)      # write may read
    # a token made while the server runs works at once
    rc, out, err = ruad("token", "new", "--scope=read",
                        "--api-tokens-file=" + TOKENS)
    fresh = out.strip()
    t.check(rc == 0 and fresh.startswith("ruad_") and len(fresh) == 48,
            "token new prints a token: %r %s" % (fresh, err))
    t.check(fresh not in open(TOKENS).read(), "the file holds no token")
    st, _, _ = request(PORT, "GET", "/api/v1/domains", fresh)
    t.check(st == 200, "a token made after start works (%d)" % st)
    # removed from the file: refused
    with open(TOKENS) as f:
        lines = f.readlines()
    digest = hashlib.sha256(fresh.encode()).hexdigest()
    t.check(any(digest in l for l in lines), "the file has its SHA-256")
    with open(TOKENS, "w") as f:
        f.writelines(l for l in lines if digest not in l)
    st, _, _ = request(PORT, "GET", "/api/v1/domains", fresh)
    t.check(st == 401, "a token removed from the file: 401 (%d)" % st)
    rc, out, err = ruad("token", "new", "--scope=admin",
                        "--api-tokens-file=" + TOKENS)
    t.check(rc == 2 and "scope" in err, "--scope=admin refused: %s" % err)
    # open paths
    for path in ("/healthz", "/readyz", "/metrics"):
        st, _, _ = request(PORT, "GET", path)
        t.check(st == 200, "%s needs no token (%d)" % (path, st))
    st, _, body = request(PORT, "POST", "/tlsrpt", None, tls_report(
        "api-open-post", "2024-04-01", [tls_policy("sts", "post.example",
                                                   1, 0, [])]),
        {"Content-Type": "application/tlsrpt+json"})
    t.check(st == 202, "POST /tlsrpt needs no token (%d)" % st)
    # metrics_require_token
    st, _, _ = request(PORT2, "GET", "/metrics")
    t.check(st == 401, "metrics_require_token: /metrics without a token "
            "401 (%d)" % st)
    st, _, body = request(PORT2, "GET", "/metrics", READ)
    t.check(st == 200 and b"ruad_" in body, "metrics_require_token: with "
            "a read token 200 (%d)" % st)
    st, _, _ = request(PORT2, "GET", "/healthz")
    t.check(st == 200, "metrics_require_token leaves /healthz open")


def check_openapi():
    api("/api/v1/openapi.json")
    st, hdrs, body = request(PORT, "GET", "/api/v1/openapi.json", READ)
    t.check(st == 200 and body == DOC_BYTES, "GET /api/v1/openapi.json is docs/openapi.json"
            " byte for byte")
    t.check(DOC["openapi"].startswith("3.1"), "OpenAPI 3.1")
    for name, s in DOC["components"]["schemas"].items():
        try:
            jsonschema.Draft202012Validator.check_schema(s)
            ok = True
        except jsonschema.SchemaError as e:
            ok = False
            print(e)
        t.check(ok, "schema %s is valid JSON Schema 2020-12" % name)
    for tmpl, ops in DOC["paths"].items():
        for m, op in ops.items():
            for st, r in op["responses"].items():
                if "$ref" in r:
                    r = DOC["components"]["responses"][r["$ref"].split(
                        "/")[-1]]
                t.check("content" in r, "%s %s %s has a schema" % (
                    m, tmpl, st))


def check_domains():
    got = {d["domain"]: d for d in api("/api/v1/domains")["items"]}
    want = {}
    for dom, n, msgs, fb, lb in db.q(
            "SELECT lower(policy_domain), count(*), sum(message_count), "
            "min(begin_at), max(begin_at) FROM dmarc_report GROUP BY 1"):
        want[dom] = {"domain": dom, "dmarc_reports": n, "messages": msgs,
                     "tlsrpt_reports": 0, "sessions": 0,
                     "first_report": fb, "last_report": lb}
    for dom, n, fb, lb in db.q(
            "SELECT lower(p.policy_domain), count(DISTINCT r.id), "
            "min(r.begin_at), max(r.begin_at) FROM tlsrpt_policy p JOIN "
            "tlsrpt_report r ON r.id = p.report_id WHERE coalesce("
            "p.policy_domain, '') <> '' GROUP BY 1"):
        w = want.setdefault(dom, {"domain": dom, "dmarc_reports": 0,
                                  "messages": 0, "sessions": 0,
                                  "first_report": fb, "last_report": lb})
        w["tlsrpt_reports"] = n
        w["first_report"] = min(w["first_report"], fb)
        w["last_report"] = max(w["last_report"], lb)
    for s in tls_counted():
        if s[1] in want:
            want[s[1]]["sessions"] += s[7]
    for w in want.values():
        w["first_report"] = ts(w["first_report"])
        w["last_report"] = ts(w["last_report"])
    t.check(got == want, "domains equal the base tables: %s" % (
        [(k, got.get(k), want.get(k)) for k in set(got) | set(want)
         if got.get(k) != want.get(k)][:3]))
    t.check(got.get("dual.example", {}).get("sessions") == 100 + 55,
            "dual.example: 155 sessions (sts and tlsa counted once)")


def check_reporters():
    got = {(r["kind"], r["reporter"]): r for r in
           api("/api/v1/reporters")["items"]}
    want = {}
    for rep, n, doms, fb, lb, ls in db.q(
            "SELECT reporter, count(*), count(DISTINCT lower(policy_domain)),"
            " min(begin_at), max(begin_at), max(stored_at) FROM dmarc_report"
            " GROUP BY 1"):
        want[("dmarc", rep)] = (n, doms, ts(fb), ts(lb), ts(ls))
    for org, n, doms, fb, lb, ls in db.q(
            "SELECT r.organization_name, count(DISTINCT r.id), "
            "count(DISTINCT lower(coalesce(p.policy_domain, ''))), "
            "min(r.begin_at), max(r.begin_at), max(r.stored_at) FROM "
            "tlsrpt_report r JOIN tlsrpt_policy p ON p.report_id = r.id "
            "GROUP BY 1"):
        want[("tlsrpt", org)] = (n, doms, ts(fb), ts(lb), ts(ls))
    g2 = {k: (r["reports"], r["domains"], r["first_report"],
              r["last_report"], r["last_received"]) for k, r in got.items()}
    t.check(g2 == want, "reporters equal the base tables: %s" % (
        [(k, g2.get(k), want.get(k)) for k in set(g2) | set(want)
         if g2.get(k) != want.get(k)][:3]))


def check_dmarc_summary(domain, since, until):
    s, u = parse_param_time(since), parse_param_time(until)
    for gb in ("day", "source_ip", "header_from", "org", "disposition"):
        params = filters(domain, since, until, group_by=gb)
        o = api("/api/v1/dmarc/summary", params=params)
        what = "dmarc summary %s" % params
        if not isinstance(o, dict):
            continue
        got = {}
        for g in o["groups"]:
            t.check(g["key"] not in got, "%s: key %r once" % (what,
                                                              g["key"]))
            got[g["key"]] = {k: g[k] for k in ("messages", "outcome",
                                               "disposition",
                                               "by_disposition")}
            t.check(sum(c for pf in g["by_disposition"].values() for c in
                        pf.values()) == g["messages"], "%s: by_disposition "
                    "adds up to messages" % what)
        every = dmarc_rows(domain, s, u, gb)
        keys = ("messages", "outcome", "disposition", "by_disposition")
        order, want, other = fold(every, gb == "day", "messages", keys)
        t.check(got == want, "%s: groups equal the base tables: %s" % (
            what, [(k, got.get(k), want.get(k)) for k in set(got) |
                   set(want) if got.get(k) != want.get(k)][:2]))
        t.check([g["key"] for g in o["groups"]] == order, "%s: groups in "
                "order" % what)
        t.check(o["other"] == other, "%s: other %s, want %s" % (
            what, o["other"], other))
        if other is not None:
            t.check(len(o["groups"]) == GROUPS_MAX, "%s: 1000 groups and "
                    "the rest in other" % what)
        tot = totals(every, keys) or {
            "messages": 0, "outcome": {"both_aligned": 0,
                                       "dkim_aligned_only": 0,
                                       "spf_aligned_only": 0, "neither": 0},
            "disposition": {"none": 0, "quarantine": 0, "reject": 0,
                            "other": 0},
            "by_disposition": {k: {"pass": 0, "fail": 0} for k in (
                "none", "quarantine", "reject", "other")}}
        t.check(o["totals"] == tot, "%s: totals %s, want %s" % (
            what, o["totals"], tot))
        t.check(sum(g["messages"] for g in o["groups"]) + (
            o["other"] or {"messages": 0})["messages"] ==
            o["totals"]["messages"], "%s: each message in one group" % what)
        if gb == "day":
            keys = [g["key"] for g in o["groups"]]
            t.check(keys == sorted(keys), "%s: days in order" % what)


def check_tls_summary(sessions, domain, since, until):
    s, u = parse_param_time(since), parse_param_time(until)
    for gb in ("day", "result_type", "receiving_mx_hostname",
               "sending_mta_ip", "policy_type"):
        params = filters(domain, since, until, group_by=gb)
        o = api("/api/v1/tlsrpt/summary", params=params)
        what = "tlsrpt summary %s" % params
        if not isinstance(o, dict):
            continue
        got = {g["key"]: {k: g[k] for k in ("sessions", "successful",
                                            "failed")} for g in o["groups"]}
        every = tls_groups(sessions, domain, s, u, gb)
        keys = ("sessions", "successful", "failed")
        order, want, other = fold(every, gb == "day", "sessions", keys)
        t.check(got == want, "%s: groups equal the base tables: %s" % (
            what, [(k, got.get(k), want.get(k)) for k in set(got) |
                   set(want) if got.get(k) != want.get(k)][:2]))
        t.check([g["key"] for g in o["groups"]] == order, "%s: groups in "
                "order" % what)
        t.check(o["other"] == other, "%s: other %s, want %s" % (
            what, o["other"], other))
        tot = totals(every, keys) or {
            "sessions": 0, "successful": 0, "failed": 0}
        t.check(o["totals"] == tot, "%s: totals %s, want %s" % (
            what, o["totals"], tot))


def check_dual():
    o = api("/api/v1/tlsrpt/summary", params={
        "domain": "dual.example", "group_by": "policy_type"})
    got = {g["key"]: g for g in o["groups"]}
    t.check(o["totals"] == {"sessions": 155, "successful": 140,
                            "failed": 15},
            "dual.example: 155 sessions, 140 successful, 15 failed (not "
            "doubled): %s" % o["totals"])
    t.check(got.get("tlsa", {}).get("sessions") == 100 and
            got.get("sts", {}).get("sessions") == 55,
            "dual.example: tlsa counted on the tie, sts where it has more: "
            "%s" % got)
    o = api("/api/v1/tlsrpt/summary", params={
        "domain": "dual.example", "group_by": "result_type"})
    got = {g["key"]: g["sessions"] for g in o["groups"]}
    t.check(got == {"success": 140, "dane-required": 6, "tlsa-invalid": 3,
                    "unspecified": 1, "sts-webpki-invalid": 5},
            "dual.example by result_type: %s" % got)


def check_sources(domain, since, until):
    params = filters(domain, since, until)
    items = pages("/api/v1/dmarc/sources", params, 7)
    s, u = parse_param_time(since), parse_param_time(until)
    want = {}
    for ip, day, dk, sp, hf, rep, n in db.q(
            "SELECT host(x.source_ip), " + MID + ", coalesce(x.dkim, '') = "
            "'pass', coalesce(x.spf, '') = 'pass', lower(coalesce("
            "x.header_from, '')), r.reporter, coalesce(x.count, 0) FROM "
            "dmarc_record x JOIN dmarc_report r ON r.id = x.report_id WHERE "
            "(%s::text IS NULL OR lower(r.policy_domain) = %s)",
            domain, domain):
        if not day_in(day, s, u):
            continue
        w = want.setdefault(ip, {"source_ip": ip, "messages": 0,
                                 "dkim_aligned_pass": 0,
                                 "spf_aligned_pass": 0, "dmarc_pass": 0,
                                 "header_from": set(), "reporters": set(),
                                 "first_seen": day, "last_seen": day})
        w["messages"] += n
        w["dkim_aligned_pass"] += n if dk else 0
        w["spf_aligned_pass"] += n if sp else 0
        w["dmarc_pass"] += n if dk or sp else 0
        if hf:
            w["header_from"].add(hf)
        w["reporters"].add(rep)
        w["first_seen"] = min(w["first_seen"], day)
        w["last_seen"] = max(w["last_seen"], day)
    for w in want.values():
        w["header_from"] = sorted(w["header_from"])
        w["reporters"] = sorted(w["reporters"])
        w["first_seen"] = w["first_seen"].isoformat()
        w["last_seen"] = w["last_seen"].isoformat()
        w["dmarc_pass_rate"] = round(w["dmarc_pass"] / w["messages"], 6) \
            if w["messages"] else 0
    ips = [i["source_ip"] for i in items]
    t.check(len(ips) == len(set(ips)), "sources %s: each address once" %
            params)
    got = {i["source_ip"]: i for i in items}
    for i in got.values():
        i["dmarc_pass_rate"] = round(i["dmarc_pass_rate"], 6)
    t.check(got == want, "sources %s: equal the base tables: %s" % (
        params, [(k, got.get(k), want.get(k)) for k in set(got) | set(want)
                 if got.get(k) != want.get(k)][:2]))
    order = [(-i["messages"], i["source_ip"] or "") for i in items]
    t.check(order == sorted(order), "sources: by messages, then address")


def check_lists():
    first_dom = db.one("SELECT lower(policy_domain) FROM dmarc_report "
                       "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
    org = db.one("SELECT reporter FROM dmarc_report GROUP BY 1 ORDER BY "
                 "count(*) DESC LIMIT 1")
    cases = [({}, "TRUE", ()),
             ({"domain": first_dom.upper()}, "lower(policy_domain) = %s",
              (first_dom,)),
             ({"org": org, "since": "2024-01-01"}, "(reporter = %s OR "
              "org_name = %s) AND begin_at >= '2024-01-01Z'", (org, org)),
             ({"since": "1970-01-01T00:00:00Z", "until": "2024-06-13"},
              "begin_at < '2024-06-13Z'", ())]
    for i, (params, where, args) in enumerate(cases):
        items = pages("/api/v1/dmarc/reports", params, [1, 3, 7, 1000][i])
        want = [r[0] for r in db.q("SELECT id FROM dmarc_report WHERE " +
                                   where + " ORDER BY begin_at DESC, id "
                                   "DESC", *args)]
        got = [x["id"] for x in items]
        t.check(got == want, "dmarc reports %s: every row once, newest "
                "first (%d rows, want %d)" % (params, len(got), len(want)))
    # TLS reports
    cases = [({}, "TRUE", ()),
             ({"domain": "dual.example"}, "EXISTS (SELECT 1 FROM "
              "tlsrpt_policy p WHERE p.report_id = r.id AND "
              "lower(p.policy_domain) = 'dual.example')", ()),
             ({"org": "ruad-api-test"}, "organization_name = "
              "'ruad-api-test'", ())]
    for params, where, args in cases:
        items = pages("/api/v1/tlsrpt/reports", params, 2)
        want = [r[0] for r in db.q("SELECT id FROM tlsrpt_report r WHERE " +
                                   where + " ORDER BY begin_at DESC, id "
                                   "DESC", *args)]
        t.check([x["id"] for x in items] == want, "tlsrpt reports %s: "
                "every row once (%d)" % (params, len(want)))
    # inbound
    cases = [({}, "TRUE"), ({"state": "parsed"}, "state = 'parsed'"),
             ({"channel": "https"}, "channel = 'https'"),
             ({"state": "unauthenticated", "channel": "import"},
              "state = 'unauthenticated' AND channel = 'import'")]
    for params, where in cases:
        items = pages("/api/v1/inbound", params, 9)
        want = [r[0] for r in db.q("SELECT id FROM inbound WHERE " + where +
                                   " ORDER BY id DESC")]
        t.check([x["id"] for x in items] == want, "inbound %s: every row "
                "once (%d)" % (params, len(want)))
        for x in items[:50]:
            row = db.q("SELECT state, size, coalesce(dkim_result, ''), "
                       "channel FROM inbound WHERE id = %s", x["id"])[0]
            t.check((x["state"], x["size"], x["dkim"]["result"] or "",
                     x["channel"]) == row, "inbound %d fields" % x["id"])


def check_details():
    ids = [r[0] for r in db.q("SELECT id FROM dmarc_report ORDER BY id")]
    for rid in ids[:60] + ids[-20:]:
        o = api("/api/v1/dmarc/reports/{id}", "/api/v1/dmarc/reports/%d" %
                rid)
        want = db.q("SELECT rec_no, host(source_ip), count, (SELECT "
                    "count(*) FROM dmarc_dkim_result k WHERE k.report_id = "
                    "x.report_id AND k.rec_no = x.rec_no), (SELECT count(*) "
                    "FROM dmarc_spf_result s WHERE s.report_id = "
                    "x.report_id AND s.rec_no = x.rec_no) FROM dmarc_record "
                    "x WHERE report_id = %s ORDER BY rec_no", rid)
        got = [(i, r["source_ip"], r["count"], len(r["dkim_results"]),
                len(r["spf_results"])) for i, r in enumerate(o["records"])]
        t.check(got == [tuple(w) for w in want], "dmarc report %d: records "
                "equal the base tables" % rid)
        rep = db.q("SELECT report_id, reporter, policy_domain, "
                   "message_count FROM dmarc_report WHERE id = %s", rid)[0]
        t.check((o["report_id"], o["reporter"], o["policy_domain"],
                 o["message_count"]) == rep, "dmarc report %d: fields" % rid)
    for rid, in db.q("SELECT id FROM tlsrpt_report ORDER BY id"):
        o = api("/api/v1/tlsrpt/reports/{id}", "/api/v1/tlsrpt/reports/%d" %
                rid)
        want = db.q("SELECT policy_type, total_successful, total_failure, "
                    "(SELECT coalesce(sum(failed_session_count), 0) FROM "
                    "tlsrpt_failure f WHERE f.report_id = p.report_id AND "
                    "f.pol_no = p.pol_no) FROM tlsrpt_policy p WHERE "
                    "report_id = %s ORDER BY pol_no", rid)
        got = [(p["policy_type"], p["total_successful"], p["total_failure"],
                sum(f["failed_session_count"] or 0 for f in p["failures"]))
               for p in o["policies"]]
        t.check(got == [tuple(w) for w in want], "tlsrpt report %d: "
                "policies equal the base tables" % rid)
    mailed = db.q("SELECT r.id, i.dkim_result FROM dmarc_report r JOIN "
                  "inbound i ON i.id = r.inbound_id WHERE i.dkim_result IS "
                  "NOT NULL LIMIT 5")
    for rid, res in mailed:
        o = api("/api/v1/dmarc/reports/{id}", "/api/v1/dmarc/reports/%d" %
                rid)
        t.check(o["inbound_dkim"] and o["inbound_dkim"]["result"] == res,
                "dmarc report %d: DKIM verdict of its mail (%s)" % (rid, res))
    t.check(mailed, "a mailed DMARC report is stored")
    api("/api/v1/dmarc/reports/{id}", "/api/v1/dmarc/reports/999999999",
        want=404)
    api("/api/v1/tlsrpt/reports/{id}", "/api/v1/tlsrpt/reports/999999999",
        want=404)


def check_raw_and_reprocess():
    for iid, sha in db.q("SELECT id, sha256 FROM inbound ORDER BY id DESC "
                         "LIMIT 5"):
        body = api("/api/v1/inbound/{id}/raw", "/api/v1/inbound/%d/raw" % iid)
        t.check(hashlib.sha256(body).digest() == bytes(sha),
                "inbound %d raw: the stored bytes" % iid)
    api("/api/v1/inbound/{id}/raw", "/api/v1/inbound/999999999/raw",
        want=404)
    tmpl = "/api/v1/inbound/{id}/reprocess"
    parsed = db.one("SELECT min(id) FROM inbound WHERE state = 'parsed'")
    refused = db.one("SELECT min(id) FROM inbound WHERE state IN "
                     "('unauthenticated', 'malformed', 'not_a_report')")
    api(tmpl, "/api/v1/inbound/%d/reprocess" % parsed, token=WRITE,
        method="post", want=409)
    api(tmpl, "/api/v1/inbound/%d/reprocess" % parsed, token=READ,
        method="post", want=403)
    api(tmpl, "/api/v1/inbound/999999999/reprocess", token=WRITE,
        method="post", want=404)
    st, hdrs, body = request(PORT, "GET", "/api/v1/inbound/%d/reprocess" %
                             parsed, WRITE)
    t.check(st == 405 and hdrs.get("allow") == "POST",
            "GET reprocess: 405 Allow: POST (%d)" % st)
    if not t.check(refused is not None, "a refused inbound row to "
                   "reprocess (the report cut short)"):
        return
    before = db.one("SELECT attempts FROM inbound WHERE id = %s", refused)
    o = api(tmpl, "/api/v1/inbound/%d/reprocess" % refused, token=WRITE,
            method="post", want=202)
    t.check(o == {"id": refused, "state": "pending"}, "reprocess: %s" % o)
    done = wait_for(lambda: db.one("SELECT state <> 'pending' AND state <> "
                                   "'processing' AND attempts = 1 FROM "
                                   "inbound WHERE id = %s", refused), 20)
    t.check(done, "reprocessed row %d was processed again (attempts %d "
            "before)" % (refused, before))


def records_want(domain=None, source_ip=None, header_from=None, since=None,
                 until=None):
    """The records list from the base tables, in the documented order."""
    auth = {}
    rows = db.q(
        "SELECT r.id, x.rec_no, r.reporter, r.org_name, r.report_id, "
        "r.policy_domain, r.begin_at, r.end_at, coalesce(host(x.source_ip), "
        "x.source_ip_text), x.count, x.disposition, x.dkim, x.spf, "
        "x.reasons, x.header_from, x.envelope_from, x.envelope_to "
        "FROM dmarc_record x JOIN dmarc_report r ON r.id = x.report_id")
    for rid, rec, dom, sel, res, hum, idx in db.q(
            "SELECT report_id, rec_no, domain, selector, result, "
            "human_result, idx FROM dmarc_dkim_result"):
        auth.setdefault((rid, rec, "dkim"), []).append((idx, {
            "domain": dom, "selector": sel, "result": res,
            "human_result": hum}))
    for rid, rec, dom, scope, res, hum, idx in db.q(
            "SELECT report_id, rec_no, domain, scope, result, "
            "human_result, idx FROM dmarc_spf_result"):
        auth.setdefault((rid, rec, "spf"), []).append((idx, {
            "domain": dom, "scope": scope, "result": res,
            "human_result": hum}))
    out = []
    for (rid, rec, rep, org, repid, pdom, b, e, ip, n, disp, dk, sp, rs,
         hf, ef, et) in rows:
        if domain and pdom.lower() != domain:
            continue
        if source_ip and ip != source_ip:
            continue
        if header_from and (hf or "").lower() != header_from:
            continue
        if (since and b < since) or (until and b >= until):
            continue
        out.append({
            "report": rid, "rec_no": rec, "reporter": rep, "org_name": org,
            "report_id": repid, "policy_domain": pdom, "begin": ts(b),
            "end": ts(e), "source_ip": ip, "count": n, "disposition": disp,
            "dkim": dk, "spf": sp, "reasons": rs, "header_from": hf,
            "envelope_from": ef, "envelope_to": et,
            "dkim_results": [a for _, a in sorted(
                auth.get((rid, rec, "dkim"), []), key=lambda x: x[0])],
            "spf_results": [a for _, a in sorted(
                auth.get((rid, rec, "spf"), []), key=lambda x: x[0])]})
    out.sort(key=lambda i: (-i["report"], i["rec_no"]))
    return out


def check_records():
    """GET /dmarc/records equals the base tables, every row once."""
    ip = db.one("SELECT host(x.source_ip) FROM dmarc_record x WHERE "
                "x.source_ip IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, "
                "1 LIMIT 1")
    dom, hf = db.q("SELECT lower(r.policy_domain), lower(x.header_from) "
                   "FROM dmarc_record x JOIN dmarc_report r ON r.id = "
                   "x.report_id WHERE x.header_from IS NOT NULL GROUP BY 1, "
                   "2 ORDER BY count(*) DESC, 1, 2 LIMIT 1")[0]
    mid = db.one("SELECT to_char(percentile_disc(0.5) WITHIN GROUP (ORDER "
                 "BY begin_at), 'YYYY-MM-DD') FROM dmarc_report")
    v6 = db.one("SELECT host(x.source_ip) FROM dmarc_record x WHERE "
                "family(x.source_ip) = 6 LIMIT 1")
    combos = [({}, 50), ({"domain": dom}, 7), ({"source_ip": ip}, 3),
              ({"source_ip": ip, "domain": dom.upper(), "since": mid}, 2),
              ({"header_from": hf.upper(), "until": mid + "T12:00:00Z"}, 5),
              ({"domain": "no-such.example"}, 3)]
    if v6:
        # any spelling of an address: the long form of an IPv6 one
        import ipaddress
        combos.append(({"source_ip": ipaddress.ip_address(v6).exploded},
                       1))
    for params, limit in combos:
        items = pages("/api/v1/dmarc/records", params, limit)
        since = parse_param_time(params.get("since"))
        until = parse_param_time(params.get("until"))
        src = params.get("source_ip")
        if src:
            import ipaddress
            src = str(ipaddress.ip_address(src))
        want = records_want(params.get("domain", "").lower() or None, src,
                            params.get("header_from", "").lower() or None,
                            since, until)
        keys = [(i["report"], i["rec_no"]) for i in items]
        t.check(len(keys) == len(set(keys)), "records %s: each row once" %
                params)
        t.check(items == want, "records %s: %d items equal the base tables "
                "(%d): %s" % (params, len(items), len(want), [
                    (a, b) for a, b in zip(items, want) if a != b][:1]))
        if params.get("domain") == "no-such.example":
            t.check(items == [], "records of an unknown domain: none")
        elif not params:
            t.check(len(items) > 100, "records: %d in all" % len(items))
        else:
            t.check(items, "records %s: some" % params)
    # the messages of a source equal the sources list's count
    srcs = {i["source_ip"]: i for i in pages("/api/v1/dmarc/sources", {},
                                             1000)}
    total = sum(i["count"] or 0 for i in pages(
        "/api/v1/dmarc/records", {"source_ip": ip}, 1000))
    t.check(srcs.get(ip, {}).get("messages") == total, "records of %s sum "
            "to its messages in sources (%d)" % (ip, total))


def check_bad_params():
    good_cursor = api("/api/v1/tlsrpt/reports", params={"limit": 1})[
        "next_cursor"]
    dmarc_cursor = api("/api/v1/dmarc/reports", params={"limit": 1})[
        "next_cursor"]
    raw = base64.urlsafe_b64decode(dmarc_cursor + "=" * (-len(dmarc_cursor)
                                                        % 4)).decode()
    k, a, i = raw.split(".")
    forged = [base64.urlsafe_b64encode(s.encode()).decode().rstrip("=")
              for s in ("%s.%s.-5" % (k, a), "%s.%s.0" % (k, a),
                        "%s.%s" % (k, a), "x.%s.%s" % (a, i),
                        "%s.%s.%s9999999999999999999" % (k, a, i))]
    bad = [
        ("/api/v1/dmarc/reports", {"limit": "0"}, "limit"),
        ("/api/v1/dmarc/reports", {"limit": "1001"}, "limit"),
        ("/api/v1/dmarc/reports", {"limit": "ten"}, "limit"),
        ("/api/v1/dmarc/reports", {"limit": "-1"}, "limit"),
        ("/api/v1/dmarc/reports", {"since": "2024-13-01"}, "since"),
        ("/api/v1/dmarc/reports", {"since": "2023-02-29"}, "since"),
        ("/api/v1/dmarc/reports", {"since": "2024-01-01T24:00:00Z"},
         "since"),
        ("/api/v1/dmarc/reports", {"since": "2024-01-01T10:00:00"}, "since"),
        ("/api/v1/dmarc/reports", {"until": "yesterday"}, "until"),
        ("/api/v1/dmarc/reports", {"since": "2024-02-01",
                                   "until": "2024-01-01"}, "until"),
        ("/api/v1/dmarc/reports", {"cursor": "!!!"}, "cursor"),
        ("/api/v1/dmarc/reports", {"cursor": good_cursor}, "cursor"),
        ("/api/v1/dmarc/reports", {"domain": "a b"}, "domain"),
        ("/api/v1/dmarc/reports", {"domain": "x" * 254}, "domain"),
        ("/api/v1/dmarc/reports", {"org": "a" * 256}, "org"),
        ("/api/v1/dmarc/reports", {"org": "a\nb"}, "org"),
        ("/api/v1/dmarc/reports", {"frobnicate": "1"}, "frobnicate"),
        ("/api/v1/dmarc/reports", {"group_by": "day"}, "group_by"),
        ("/api/v1/dmarc/summary", {"group_by": "month"}, "group_by"),
        ("/api/v1/dmarc/summary", {"limit": "5"}, "limit"),
        ("/api/v1/tlsrpt/summary", {"group_by": "org"}, "group_by"),
        ("/api/v1/dmarc/sources", {"cursor": dmarc_cursor}, "cursor"),
        ("/api/v1/dmarc/records", {"cursor": dmarc_cursor}, "cursor"),
        ("/api/v1/dmarc/records", {"source_ip": "192.0.2.300"},
         "source_ip"),
        ("/api/v1/dmarc/records", {"source_ip": "example.com"},
         "source_ip"),
        ("/api/v1/dmarc/records", {"source_ip": "192.0.2.0/24"},
         "source_ip"),
        ("/api/v1/dmarc/records", {"header_from": "a@b.example"},
         "header_from"),
        ("/api/v1/dmarc/records", {"group_by": "day"}, "group_by"),
        ("/api/v1/dmarc/reports", {"source_ip": "192.0.2.1"}, "source_ip"),
        ("/api/v1/inbound", {"state": "happy"}, "state"),
        ("/api/v1/inbound", {"channel": "fax"}, "channel"),
        ("/api/v1/domains", {"domain": "example.com"}, "domain"),
    ] + [("/api/v1/dmarc/reports", {"cursor": c}, "cursor") for c in forged]
    # bytes PostgreSQL would refuse (not UTF-8) and cursors whose values
    # are out of range for its arithmetic: the parameter's fault (400),
    # never "the query failed" (500); every string and cursor parameter
    def b64(text):
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    tmax = (253402300799 + 1) * 1000000          # one past 9999-12-31
    for tmpl, key in (("/api/v1/dmarc/reports", "org"),
                      ("/api/v1/tlsrpt/reports", "org"),
                      ("/api/v1/dmarc/reports", "domain"),
                      ("/api/v1/dmarc/records", "header_from"),
                      ("/api/v1/dmarc/records", "source_ip"),
                      ("/api/v1/inbound", "state"),
                      ("/api/v1/inbound", "channel"),
                      ("/api/v1/dmarc/summary", "group_by"),
                      ("/api/v1/tlsrpt/summary", "group_by"),
                      ("/api/v1/dmarc/sources", "since"),
                      ("/api/v1/dmarc/sources", "cursor")):
        for v in (b"\xff", b"Z\xc3(rich", b"\xc0\xaf", b"\xed\xa0\x80"):
            bad.append((tmpl, {key: v}, key))
    bad += [
        ("/api/v1/dmarc/reports", {"cursor": b64("d.%d.1" % tmax)},
         "cursor"),
        ("/api/v1/dmarc/reports", {"cursor": b64("d.-1.1")}, "cursor"),
        ("/api/v1/dmarc/reports", {"cursor": b64("d.-%d.1" % (2**63 - 1))},
         "cursor"),
        ("/api/v1/dmarc/reports", {"cursor": b64("d.%d.1" % (2**63 - 1))},
         "cursor"),
        ("/api/v1/tlsrpt/reports", {"cursor": b64("t.%d.1" % (2**63 - 1))},
         "cursor"),
        ("/api/v1/tlsrpt/reports", {"cursor": b64("t.-5.1")}, "cursor"),
        ("/api/v1/inbound", {"cursor": b64("i.-5.1")}, "cursor"),
        ("/api/v1/dmarc/records", {"cursor": b64("r.%d.1" % 2**63)},
         "cursor"),
        ("/api/v1/dmarc/records", {"cursor": b64("r.1.%d" % 2**31)},
         "cursor"),
        ("/api/v1/dmarc/sources", {"cursor": b64("s.%d.1" % 2**63)},
         "cursor"),
    ]
    for tmpl, params, name in bad:
        path = tmpl + "?" + urllib.parse.urlencode(params)
        o = api(tmpl, path, want=400)
        t.check(isinstance(o, dict) and o.get("parameter") == name and
                name in o.get("detail", ""), "%s: 400 names %s: %s" % (
                    path[:120], name, o))
    o = api("/api/v1/dmarc/reports", "/api/v1/dmarc/reports?%FF%01=1",
            want=400)
    t.check(o.get("parameter") == "??", "a name that is not ASCII: 400 "
            "naming it as ?? (%s)" % o)
    path = "/api/v1/dmarc/reports?domain=a.example&domain=b.example"
    o = api("/api/v1/dmarc/reports", path, want=400)
    t.check(o.get("parameter") == "domain", "domain twice: 400 names it")
    # at the limits: fine
    o = api("/api/v1/dmarc/reports", params={"org": "a" * 255})
    t.check(o["items"] == [], "a 255-byte org: 200, no items")
    o = api("/api/v1/dmarc/reports", params={"org": "Z\u00fcrich \u20ac "
                                             "\U0001f600"})
    t.check(o["items"] == [], "an org in UTF-8 beyond ASCII: 200")
    for tmpl, c in (("/api/v1/dmarc/reports", "d.%d.1" % (tmax - 1)),
                    ("/api/v1/dmarc/reports", "d.0.1"),
                    ("/api/v1/tlsrpt/reports", "t.%d.1" % (tmax - 1)),
                    ("/api/v1/inbound", "i.0.%d" % (2**63 - 1)),
                    ("/api/v1/dmarc/records", "r.%d.%d" % (2**63 - 1,
                                                           2**31 - 1)),
                    ("/api/v1/dmarc/sources", "s.%d.1.2.3.4" % (2**63 - 1))):
        o = api(tmpl, params={"cursor": b64(c)})
        t.check(isinstance(o, dict) and "items" in o, "cursor %s at the "
                "end of its range: 200" % c)
    o = api("/api/v1/dmarc/reports", params={"limit": "1000"})
    t.check(o["items"], "limit=1000: 200")
    o = api("/api/v1/dmarc/reports", params={
        "since": "2024-06-01T02:00:00+02:00", "until": "2024-06-02t00:00:00z"})
    want = db.one("SELECT count(*) FROM dmarc_report WHERE begin_at >= "
                  "'2024-06-01T00:00:00Z' AND begin_at < '2024-06-02Z'")
    t.check(len(o["items"]) == want, "offsets and lower-case t/z are "
            "RFC 3339 (%d, want %d)" % (len(o["items"]), want))
    # unknown paths and methods
    for path, want in (("/api/v1/nothing", 404), ("/api/v2/domains", 404),
                       ("/api/v1/dmarc/reports/0", 404),
                       ("/api/v1/dmarc/reports/12x", 404),
                       ("/api/v1/dmarc/reports/99999999999999999999", 404)):
        st, hdrs, body = request(PORT, "GET", path, READ)
        t.check(st == want and hdrs.get("content-type") ==
                "application/problem+json", "%s: %d problem (%d)" % (
                    path, want, st))
    st, hdrs, body = request(PORT, "DELETE", "/api/v1/domains", READ)
    t.check(st == 405 and "GET" in hdrs.get("allow", ""),
            "DELETE: 405 with Allow (%d)" % st)
    try:
        st = request(PORT, "POST", "/api/v1/domains", READ, b"x" * 100,
                     {"Content-Type": "text/plain"})[0]
    except (http.client.HTTPException, OSError):
        st = None                     # closed: no API request has a body
    t.check(st is None, "a body on an API request: connection closed (%s)"
            % st)


def check_summaries():
    dom = db.one("SELECT lower(policy_domain) FROM dmarc_report GROUP BY 1 "
                 "ORDER BY count(*) DESC LIMIT 1")
    mid = db.one("SELECT to_char(percentile_disc(0.5) WITHIN GROUP (ORDER "
                 "BY begin_at), 'YYYY-MM-DD') FROM dmarc_report WHERE "
                 "lower(policy_domain) = %s", dom)
    combos = [(None, None, None), (dom, None, None),
              (dom, mid, None), (None, None, mid + "T12:00:00Z"),
              (dom, "2020-01-01T00:00:01Z", mid), ("no-such.example", None,
                                                   None)]
    # over all domains, source_ip and header_from read whole years and
    # months from the span rollups and the ragged days from dmarc_daily:
    # ranges cutting each of those, from the reports' own dates
    lo, hi = db.q("SELECT percentile_disc(0.1) WITHIN GROUP (ORDER BY "
                  "begin_at)::date, percentile_disc(0.9) WITHIN GROUP "
                  "(ORDER BY begin_at)::date FROM dmarc_report")[0]
    day = datetime.timedelta(days=1)
    # a ragged range well inside the data, whatever its span (a month of
    # made-up reports, or the samples' years): never since after until
    a, b = lo + 17 * day, hi - 40 * day
    if b <= a:
        a, b = lo + (hi - lo) // 4, hi - (hi - lo) // 4 + day
    combos += [(None, str(a), str(b) + "T06:00:00Z"),
               (None, "%d-01-01" % lo.year, "%d-01-01" % (hi.year + 1)),
               (None, mid, None), (None, None, mid),
               (None, mid[:8] + "10", str(datetime.date.fromisoformat(
                   mid[:8] + "01") + 40 * day)[:8] + "20"),
               (None, mid[:8] + "03", mid[:8] + "04")]
    for d, s, u in combos:
        check_dmarc_summary(d, s, u)
    sessions = tls_counted()
    for d, s, u in ((None, None, None), ("dual.example", None, None),
                    ("example.com", None, None),
                    ("example.org", "2024-01-01", None),
                    (None, "2024-03-02", "2024-03-03")):
        check_tls_summary(sessions, d, s, u)
    check_dual()
    for d, s, u in ((None, None, None), (dom, mid, None), combos[6],
                    (None, mid, None)):
        check_sources(d, s, u)


PORT = free_port()
PORT2 = free_port()
TOKENS = os.path.join(tmp, "tokens")
READ = WRITE = None
try:
    load_inputs()
    rc, out, err = ruad("token", "new", "--scope", "read",
                        "--api-tokens-file=" + TOKENS)
    READ = out.strip()
    rc2, out, err2 = ruad("token", "new", "--scope=write",
                          "--api-tokens-file=" + TOKENS)
    WRITE = out.strip()
    t.check(rc == 0 and rc2 == 0 and READ != WRITE, "two tokens: %s %s" % (
        err, err2))
    t.check(oct(os.stat(TOKENS).st_mode & 0o777) == "0o600",
            "the tokens file is 0600")
    log = open(os.path.join(tmp, "serve.log"), "wb")
    common = ["--smtp-listen=", "--log-level=info",
              "--api-tokens-file=" + TOKENS, "--workers=1"]
    server = subprocess.Popen([RUAD, "serve", "--http-listen=127.0.0.1:%d" %
                               PORT, *common], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    server2 = subprocess.Popen([RUAD, "serve", "--http-listen=127.0.0.1:%d" %
                                PORT2, "--metrics-require-token=yes",
                                *common], env=env, stdout=log,
                               stderr=subprocess.STDOUT)

    def up(port):
        try:
            return request(port, "GET", "/healthz")[0] == 200
        except OSError:
            return False
    t.check(wait_for(lambda: up(PORT) and up(PORT2), 15), "servers start")
    # each group of checks on its own: one that breaks (a reply that is
    # not what it expects) is a failing check with its line, and the
    # other groups still run
    for check in (check_openapi, check_auth, None, check_domains,
                  check_reporters, check_summaries, check_lists,
                  check_records, check_details, check_bad_params,
                  check_raw_and_reprocess):
        if check is None:       # what check_auth posted is processed
            wait_for(lambda: db.one(
                "SELECT count(*) FROM inbound WHERE state IN ('pending', "
                "'processing')") == 0, 20)
            continue
        try:
            check()
        except Exception as e:      # noqa: BLE001 (reported, then on)
            tb = traceback.extract_tb(e.__traceback__)[-1]
            t.check(False, "%s broke at line %d (%s): %r" % (
                check.__name__, tb.lineno, tb.line, e))
    t.check(n_validated[0] > 200, "%d responses validated against the "
            "OpenAPI document" % n_validated[0])
finally:
    for p in (server, server2):
        if p is not None:
            p.terminate()
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
    text = open(os.path.join(tmp, "serve.log"), "rb").read().decode(
        "utf-8", "replace")
    t.check(not re.search(r"ERROR: (Address|Leak)Sanitizer|runtime error:",
                          text), "no sanitizer report in the server log")
    t.check(server is None or server.returncode == 0, "serve exits 0")
    db.close()
    pg.remove()
    shutil.rmtree(tmp, ignore_errors=True)
t.finish()
