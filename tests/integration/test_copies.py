"""Copies of one report, and what POST /tlsrpt takes (DESIGN.md, "Security
posture"), against a real `ruad serve` (HTTPS and SMTP), PostgreSQL and
DNS.

The test starts its own PostgreSQL, makes a self-signed certificate and
an RSA key (openssl), serves the key's DKIM record with dnsmasq on
loopback, signs report mails with dkimpy (Debian's python3-dkim) and
delivers them to ruad's SMTP listener; forged copies come unsigned by
mail or POSTed over HTTPS.  Every check goes through a protocol reply,
the API or SQL.

Checks, with --dmarc-require-dkim=yes:
- a DMARC report POSTed to /tlsrpt is refused at receipt, 400 with a
  problem document and a log line, plain as application/tlsrpt+json, gzip
  as application/tlsrpt+gzip and gzip as application/tlsrpt+json (a type
  that lies), after blank lines, and a zip whose first member is one;
  nothing of them is
  stored; a zip whose first member is a TLS report and second a DMARC
  report is taken (202), its TLS report stored and the DMARC report never
  (the row parsed, with a warning);
- squatting a TLS report: a forged copy POSTed first (another day, another
  domain, 1,000,000 failed sessions), then the reporter's DKIM-signed mail
  with the same organization and report-id: the mailed copy is stored,
  the API shows its content, the forged row's verdict is superseded and
  its reason names the mail's row;
- a copy DKIM-signed by another domain (aligned with its own From, with
  its own contact-info or the reporter's) after the reporter's unsigned
  one: conflict, the stored copy stays (a signature proves its domain,
  not the reporter);
- two unauthenticated copies, same key, other content: the second is
  conflict (reason and warning, in GET /api/v1/inbound?state=conflict),
  not counted; the same content again is duplicate; a forged copy after
  the signed one is conflict and changes nothing;
then, restarted with --dmarc-require-dkim=no, the same for DMARC reports
by mail: an unsigned forgery (1,000,000 failing messages from an address
of its own and 7 from an address another report has on another day)
superseded by the signed copy, an unsigned copy superseded by a signed one
with the same content (no "differed" note), one signed by another domain
a conflict, unsigned-vs-unsigned conflict.
After each phase every number of the API's domains, reporters, DMARC
summary (each group_by), sources and TLS summary (each group_by) equals a
query over the BASE tables, dmarc_daily equals its sums over the base
tables and tlsrpt_daily keeps no emptied row: replacing a report keeps
the rollups true.
"""
import datetime
import gzip
import http.client
import io
import json
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ruadtest import (DB, RUAD, Dnsmasq, Postgres, Tally,  # noqa: E402
                      ctx_noverify, free_port, wait_for)

import dkim  # noqa: E402  (Debian's python3-dkim)

t = Tally("copies")
tmp = tempfile.mkdtemp(prefix="ruad-copies.", dir="/tmp")
NOVERIFY = ctx_noverify()
JSON = "application/tlsrpt+json"
GZIP = "application/tlsrpt+gzip"
G = "google.example"            # the real reporter, signs with DKIM
M = "mallory.example"           # signs with DKIM too, as itself
VICTIM = "victim.example"


# ---- inputs ---------------------------------------------------------------

def tls_report(rid, day, policies, org="Google Inc.",
               contact="smtp-tls-reporting@" + G):
    return json.dumps({
        "organization-name": org,
        "date-range": {"start-datetime": day + "T00:00:00Z",
                       "end-datetime": day + "T23:59:59Z"},
        "contact-info": contact,
        "report-id": rid, "policies": policies}).encode()


def tls_policy(domain, ok, fail, details=()):
    return {"policy": {"policy-type": "sts", "policy-string": ["v"],
                       "policy-domain": domain, "mx-host": ["mx." + domain]},
            "summary": {"total-successful-session-count": ok,
                        "total-failure-session-count": fail},
            "failure-details": [
                {"result-type": rt, "sending-mta-ip": ip,
                 "receiving-mx-hostname": "mx." + domain,
                 "failed-session-count": n} for rt, ip, n in details]}


def dmarc_xml(rid, day, rows, email="noreply-dmarc-support@" + G):
    """rows: (ip, count, disposition, dkim, spf)."""
    begin = int(datetime.datetime.fromisoformat(day + "T00:00:00+00:00")
                .timestamp())
    recs = "".join(
        "<record><row><source_ip>%s</source_ip><count>%d</count>"
        "<policy_evaluated><disposition>%s</disposition><dkim>%s</dkim>"
        "<spf>%s</spf></policy_evaluated></row><identifiers><header_from>"
        "%s</header_from></identifiers><auth_results><spf><domain>%s"
        "</domain><result>%s</result></spf></auth_results></record>" % (
            ip, n, disp, dk, sp, VICTIM, VICTIM, sp)
        for ip, n, disp, dk, sp in rows)
    return ("<?xml version=\"1.0\"?><feedback><report_metadata><org_name>"
            "google.com</org_name><email>%s</email><report_id>%s"
            "</report_id><date_range><begin>%d</begin><end>%d</end>"
            "</date_range></report_metadata><policy_published><domain>%s"
            "</domain><p>reject</p></policy_published>%s</feedback>" % (
                email, rid, begin, begin + 86399, VICTIM, recs)).encode()


def mail(att, fname, ctype, sign, n=[0], frm=G):
    """A report mail from frm (G), CRLF; DKIM-signed by frm when sign."""
    import base64
    n[0] += 1
    b = base64.encodebytes(att).decode().replace("\n", "\r\n")
    m = ("From: Reports <noreply-reports@%s>\r\nTo: rua@rua.example\r\n"
         "Subject: Report %d\r\nDate: Sat, 02 May 2026 10:00:00 +0000\r\n"
         "Message-ID: <copies-%d-%d@%s>\r\nMIME-Version: 1.0\r\n"
         "Content-Type: %s; name=\"%s\"\r\nContent-Disposition: attachment;"
         " filename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n%s" % (
             frm, n[0], os.getpid(), n[0], frm, ctype, fname, fname,
             b)).encode()
    if sign:
        m = dkim.sign(m, b"sel", frm.encode(), KEY_PEM, include_headers=[
            b"from", b"to", b"subject", b"date", b"message-id",
            b"mime-version", b"content-type"]) + m
    return m


def zip_of(members):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in members:
            z.writestr(name, data)
    return out.getvalue()


# ---- servers and clients --------------------------------------------------

def sh(*cmd, **kw):
    return subprocess.run(cmd, capture_output=True, check=True, **kw).stdout


KEY_PEM = sh("openssl", "genrsa", "-traditional", "2048")
PUB = sh("openssl", "rsa", "-pubout", "-outform", "DER", input=KEY_PEM)
CERT, CKEY = os.path.join(tmp, "c.crt"), os.path.join(tmp, "c.key")
sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
   "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", CKEY, "-out", CERT,
   "-days", "2", "-subj", "/CN=ruad copies test")
TOKENS = os.path.join(tmp, "tokens")


def ruad(*args):
    p = subprocess.run([RUAD, *args], env=env, capture_output=True,
                       text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


class Server:
    def __init__(self, *opts):
        self.http, self.smtp = free_port(), free_port()
        self.log = os.path.join(tmp, "serve-%d.log" % self.http)
        self.logf = open(self.log, "wb")
        self.p = subprocess.Popen(
            [RUAD, "serve", "--http-listen=127.0.0.1:%d" % self.http,
             "--smtp-listen=127.0.0.1:%d" % self.smtp,
             "--smtp-accept=@rua.example", "--smtp-greet-delay-ms=0",
             "--tls-cert=" + CERT, "--tls-key=" + CKEY,
             "--api-tokens-file=" + TOKENS, "--workers=1",
             "--dns-server=" + dns.server, "--log-level=info", *opts],
            env=env, stdout=self.logf, stderr=subprocess.STDOUT)
        # serve opens HTTPS before SMTP: wait for both
        t.check(wait_for(lambda: self.p.poll() is not None or
                         (self.req("GET", "/healthz")[0] == 200 and
                          self.smtp_up()), 15),
                "ruad serve starts: %s" % self.text()[-1000:])

    def smtp_up(self):
        try:
            socket.create_connection(("127.0.0.1", self.smtp),
                                     timeout=1).close()
            return True
        except OSError:
            return False

    def req(self, method, path, body=None, headers=None, token=None):
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        try:
            c = http.client.HTTPSConnection("127.0.0.1", self.http,
                                            timeout=30, context=NOVERIFY)
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            c.close()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        except OSError as e:
            return 0, {}, repr(e).encode()

    def api(self, path, params=None):
        if params:
            path += "?" + urllib.parse.urlencode(params)
        st, _, body = self.req("GET", path, token=READ)
        t.check(st == 200, "GET %s: %d %s" % (path, st, body[:300]))
        return json.loads(body) if st == 200 else {}

    def pages(self, path, params=None):
        items, cursor = [], None
        while True:
            p = dict(params or {}, limit=1000)
            if cursor:
                p["cursor"] = cursor
            o = self.api(path, p)
            items += o.get("items", [])
            cursor = o.get("next_cursor")
            if not cursor:
                return items

    def send(self, msg):
        """Deliver by SMTP; the inbound row's id once it has its verdict."""
        last = db.one("SELECT coalesce(max(id), 0) FROM inbound")
        s = smtplib.SMTP("127.0.0.1", self.smtp, local_hostname="mx." + G,
                         timeout=30)
        s.sendmail("bounce@" + G, ["rua@rua.example"], msg)
        s.quit()
        return settled("id > %d" % last)

    def post(self, body, ctype=JSON):
        last = db.one("SELECT coalesce(max(id), 0) FROM inbound")
        st, h, b = self.req("POST", "/tlsrpt", body, {"Content-Type": ctype})
        return st, h, b, (settled("id > %d" % last) if st == 202 else None)

    def text(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(20)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.logf.close()


def settled(where):
    """The id of the one row matching where, once it has a verdict."""
    def f():
        r = db.q("SELECT id, state FROM inbound WHERE " + where)
        return r[0][0] if len(r) == 1 and r[0][1] not in (
            "pending", "processing") else None
    return wait_for(f, 20)


def row(iid):
    r = db.q("SELECT state, coalesce(reason, ''), warnings FROM inbound "
             "WHERE id = %s", iid)
    return r[0] if r else (None, "", [])


def is_problem(st, h, body, want):
    try:
        d = json.loads(body)
    except ValueError:
        return False
    return st == want and h.get("content-type", "").startswith(
        "application/problem+json") and d.get("status") == want


# ---- base-table oracles (as test_api.py) -----------------------------------

MID = "(r.begin_at + (r.end_at - r.begin_at) / 2)::date"
DMARC_KEY = {
    "day": "to_char(%s, 'YYYY-MM-DD')" % MID,
    "source_ip": "host(x.source_ip)",
    "header_from": "nullif(lower(coalesce(x.header_from, '')), '')",
    "org": "r.reporter",
    "disposition": "nullif(coalesce(x.disposition, ''), '')",
}


def dmarc_rows(group_by):
    out = {}
    for key, dk, sp, disp, n in db.q(
            "SELECT " + DMARC_KEY[group_by] + ", coalesce(x.dkim, '') = "
            "'pass', coalesce(x.spf, '') = 'pass', coalesce(x.disposition, "
            "''), coalesce(x.count, 0) FROM dmarc_record x JOIN "
            "dmarc_report r ON r.id = x.report_id"):
        g = out.setdefault(key, {
            "messages": 0, "outcome": {"both_aligned": 0,
                                       "dkim_aligned_only": 0,
                                       "spf_aligned_only": 0, "neither": 0},
            "disposition": {"none": 0, "quarantine": 0, "reject": 0,
                            "other": 0},
            "by_disposition": {k: {"pass": 0, "fail": 0} for k in (
                "none", "quarantine", "reject", "other")}})
        d = disp if disp in ("none", "quarantine", "reject") else "other"
        g["messages"] += n
        g["outcome"]["both_aligned" if dk and sp else "dkim_aligned_only"
                     if dk else "spf_aligned_only" if sp else "neither"] += n
        g["disposition"][d] += n
        g["by_disposition"][d]["pass" if dk or sp else "fail"] += n
    return out


def tls_sessions():
    """(domain, day, policy_type, result, mx, ip, n) of the counted
    policies: per report and domain the one with the most sessions."""
    pols = db.q("SELECT p.report_id, p.pol_no, lower(coalesce("
                "p.policy_domain, '')), p.policy_type, coalesce("
                "p.total_successful, 0), coalesce(p.total_failure, 0), " +
                MID + " FROM tlsrpt_policy p JOIN tlsrpt_report r ON "
                "r.id = p.report_id")
    det = {}
    for rid, pno, rt, ip, mx, n in db.q(
            "SELECT report_id, pol_no, result_type, host(sending_mta_ip), "
            "lower(coalesce(receiving_mx_hostname, '')), coalesce("
            "failed_session_count, 0) FROM tlsrpt_failure"):
        det.setdefault((rid, pno), []).append((rt, ip, mx, n))
    best = {}
    rank = {"tlsa": 0, "sts": 1}
    for rid, pno, dom, ptype, ok, fail, day in pols:
        k = (-(ok + fail), rank.get(ptype, 2), pno)
        if (rid, dom) not in best or k < best[(rid, dom)][0]:
            best[(rid, dom)] = (k, pno, ptype, ok, fail, day)
    out = []
    for (rid, dom), (k, pno, ptype, ok, fail, day) in best.items():
        if ok > 0:
            out.append((dom, day, ptype, "success", None, None, ok))
        told = 0
        for rt, ip, mx, n in det.get((rid, pno), []):
            told += n
            if n > 0:
                out.append((dom, day, ptype, rt, mx or None, ip, n))
        if fail - told > 0:
            out.append((dom, day, ptype, "unspecified", None, None,
                        fail - told))
    return out


TLS_FIELD = {"day": 1, "policy_type": 2, "result_type": 3,
             "receiving_mx_hostname": 4, "sending_mta_ip": 5}


def ts(dt):
    return dt.astimezone(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ") if dt else None


def check_rollups(S, what):
    """Every number the API answers equals the base tables."""
    for gb in DMARC_KEY:
        o = S.api("/api/v1/dmarc/summary", {"group_by": gb})
        got = {g["key"]: {k: g[k] for k in ("messages", "outcome",
                                            "disposition", "by_disposition")}
               for g in o.get("groups", [])}
        want = dmarc_rows(gb)
        t.check(got == want, "%s: dmarc summary by %s equals the base "
                "tables: %s" % (what, gb, [(k, got.get(k), want.get(k))
                                          for k in set(got) | set(want)
                                          if got.get(k) != want.get(k)][:2]))
        t.check(o.get("totals", {}).get("messages") == sum(
            g["messages"] for g in want.values()), "%s: dmarc totals by %s"
            % (what, gb))
    sessions = tls_sessions()
    for gb, i in TLS_FIELD.items():
        o = S.api("/api/v1/tlsrpt/summary", {"group_by": gb})
        got = {g["key"]: (g["sessions"], g["successful"], g["failed"])
               for g in o.get("groups", [])}
        want = {}
        for s in sessions:
            key = s[i].isoformat() if gb == "day" else s[i]
            w = want.setdefault(key, [0, 0, 0])
            w[0] += s[6]
            w[1 if s[3] == "success" else 2] += s[6]
        want = {k: tuple(v) for k, v in want.items()}
        t.check(got == want, "%s: tlsrpt summary by %s equals the base "
                "tables: %s %s" % (what, gb, got, want))
    got = {d["domain"]: (d["dmarc_reports"], d["messages"],
                         d["tlsrpt_reports"], d["sessions"],
                         d["first_report"], d["last_report"])
           for d in S.api("/api/v1/domains").get("items", [])}
    want = {}
    for dom, n, msgs, fb, lb in db.q(
            "SELECT lower(policy_domain), count(*), sum(message_count), "
            "min(begin_at), max(begin_at) FROM dmarc_report GROUP BY 1"):
        want[dom] = [n, msgs, 0, 0, fb, lb]
    for dom, n, fb, lb in db.q(
            "SELECT lower(p.policy_domain), count(DISTINCT r.id), "
            "min(r.begin_at), max(r.begin_at) FROM tlsrpt_policy p JOIN "
            "tlsrpt_report r ON r.id = p.report_id WHERE coalesce("
            "p.policy_domain, '') <> '' GROUP BY 1"):
        w = want.setdefault(dom, [0, 0, 0, 0, fb, lb])
        w[2] = n
        w[4], w[5] = min(w[4], fb), max(w[5], lb)
    for s in sessions:
        if s[0] in want:
            want[s[0]][3] += s[6]
    want = {k: tuple(v[:4]) + (ts(v[4]), ts(v[5])) for k, v in want.items()}
    t.check(got == want, "%s: domains equal the base tables: %s %s" % (
        what, got, want))
    got = {(r["kind"], r["reporter"]): (r["reports"], r["domains"],
                                        r["first_report"], r["last_report"],
                                        r["last_received"])
           for r in S.api("/api/v1/reporters").get("items", [])}
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
    t.check(got == want, "%s: reporters equal the base tables: %s %s" % (
        what, got, want))
    got = {i["source_ip"]: (i["messages"], i["dmarc_pass"], i["reporters"],
                            i["first_seen"], i["last_seen"])
           for i in S.pages("/api/v1/dmarc/sources")}
    want = {}
    for ip, day, ok, rep, n in db.q(
            "SELECT host(x.source_ip), " + MID + ", coalesce(x.dkim, '') = "
            "'pass' OR coalesce(x.spf, '') = 'pass', r.reporter, "
            "coalesce(x.count, 0) FROM dmarc_record x JOIN dmarc_report r "
            "ON r.id = x.report_id"):
        w = want.setdefault(ip, [0, 0, set(), day, day])
        w[0] += n
        w[1] += n if ok else 0
        w[2].add(rep)
        w[3], w[4] = min(w[3], day), max(w[4], day)
    want = {k: (v[0], v[1], sorted(v[2]), v[3].isoformat(),
                v[4].isoformat()) for k, v in want.items()}
    t.check(got == want, "%s: sources equal the base tables: %s %s" % (
        what, got, want))
    # the rollups the writer keeps itself
    bad = db.one(
        "SELECT count(*) FROM (SELECT lower(r.policy_domain) AS d, " + MID +
        " AS day, x.source_ip AS ip, coalesce(lower(x.header_from), '') AS "
        "hf, coalesce(x.disposition, '') AS disp, coalesce(x.dkim, '') AS "
        "dk, coalesce(x.spf, '') AS sp, sum(coalesce(x.count, 0)) AS m, "
        "count(DISTINCT r.id) AS n FROM dmarc_record x JOIN dmarc_report r "
        "ON r.id = x.report_id GROUP BY 1, 2, 3, 4, 5, 6, 7) b FULL JOIN "
        "dmarc_daily y ON (y.policy_domain, y.day, y.header_from, "
        "y.disposition, y.dkim, y.spf) = (b.d, b.day, b.hf, b.disp, b.dk, "
        "b.sp) AND y.source_ip IS NOT DISTINCT FROM b.ip WHERE "
        "(y.messages, y.reports) IS DISTINCT FROM (b.m, b.n)")
    t.check(bad == 0, "%s: dmarc_daily equals the base tables (%d rows "
            "differ)" % (what, bad))
    # tlsrpt_daily: the writer's GROUP BY over every stored report's
    # policies and failures (a row per policy, failure and unaccounted
    # failures, each above zero), equal row by row
    bad = db.one(
        "SELECT count(*) FROM (SELECT dom, day, pt, rt, sum(n) AS n FROM ("
        "SELECT lower(coalesce(p.policy_domain, '')) AS dom, (r.begin_at + "
        "(r.end_at - r.begin_at) / 2)::date AS day, p.policy_type AS pt, "
        "'success' AS rt, coalesce(p.total_successful, 0) AS n FROM "
        "tlsrpt_policy p JOIN tlsrpt_report r ON r.id = p.report_id "
        "UNION ALL SELECT lower(coalesce(p.policy_domain, '')), (r.begin_at "
        "+ (r.end_at - r.begin_at) / 2)::date, p.policy_type, f.result_type, "
        "coalesce(f.failed_session_count, 0) FROM tlsrpt_failure f JOIN "
        "tlsrpt_policy p ON p.report_id = f.report_id AND p.pol_no = "
        "f.pol_no JOIN tlsrpt_report r ON r.id = p.report_id UNION ALL "
        "SELECT lower(coalesce(p.policy_domain, '')), (r.begin_at + "
        "(r.end_at - r.begin_at) / 2)::date, p.policy_type, 'unspecified', "
        "p.total_failure - coalesce((SELECT sum(f.failed_session_count) "
        "FROM tlsrpt_failure f WHERE f.report_id = p.report_id AND f.pol_no "
        "= p.pol_no), 0) FROM tlsrpt_policy p JOIN tlsrpt_report r ON r.id "
        "= p.report_id) x WHERE n > 0 GROUP BY 1, 2, 3, 4) b FULL JOIN "
        "tlsrpt_daily y ON (y.policy_domain, y.day, y.policy_type, "
        "y.result_type) = (b.dom, b.day, b.pt, b.rt) WHERE y.sessions IS "
        "DISTINCT FROM b.n")
    t.check(bad == 0, "%s: tlsrpt_daily equals the base tables (%d rows "
            "differ)" % (what, bad))
    # and what the test sent is in it (the base tables hold what it sent)
    want = {}
    for s in sessions:
        k = (s[0], s[1], s[2], s[3])
        want[k] = want.get(k, 0) + s[6]
    got = {(d, day, pt, rt): n for d, day, pt, rt, n in db.q(
        "SELECT policy_domain, day, policy_type, result_type, sessions "
        "FROM tlsrpt_daily")}
    t.check(set(got) >= set(want) and all(got[k] >= v for k, v in
            want.items()), "%s: tlsrpt_daily holds the sessions sent: %s %s"
            % (what, got, want))


# ---- the test -------------------------------------------------------------

pg = Postgres("copies")
dns = db = S = None
try:
    pg.start()
    env = dict(os.environ, RUAD_DATABASE_URL=pg.url)
    db = DB(pg.url)
    rc, out, err = ruad("migrate")
    t.check(rc == 0, "migrate: %s %s" % (out, err))
    rc, out, err = ruad("token", "new", "--scope=read",
                        "--api-tokens-file=" + TOKENS)
    READ = out.strip()
    import base64
    dns = Dnsmasq([("sel._domainkey." + d, "v=DKIM1; k=rsa; p=" +
                    base64.b64encode(PUB).decode()) for d in (G, M)])
    S = Server("--dmarc-require-dkim=yes")

    # --- 1. DMARC reports POSTed to /tlsrpt ---------------------------------
    n0 = db.one("SELECT count(*) FROM inbound")
    forged = dmarc_xml("posted-1", "2026-05-01", [
        ("203.0.113.66", 1000000, "reject", "fail", "fail")])
    for what, body, ctype in (
            ("plain XML as tlsrpt+json", forged, JSON),
            ("gzip XML as tlsrpt+gzip", gzip.compress(forged), GZIP),
            ("gzip XML as tlsrpt+json", gzip.compress(forged), JSON),
            ("XML after blanks as tlsrpt+json", b"\r\n  " + forged, JSON),
            ("zip of XML then JSON as tlsrpt+json", zip_of([
                ("a.xml", forged), ("b.json", tls_report(
                    "zip-0", "2026-05-01", [tls_policy(VICTIM, 1, 0)]))]),
             JSON)):
        st, h, body, iid = S.post(body, ctype)
        t.check(is_problem(st, h, body, 400) and b"TLS report" in body,
                "%s: 400 problem saying why: %d %s" % (what, st, body))
    t.check(db.one("SELECT count(*) FROM inbound") == n0,
            "the refused POSTs stored no row")
    t.check(len(re.findall(r"http tlsrpt refused .*status=400 .*XML",
                           S.text())) == 5, "a log line for each refusal")
    st, h, body, iid = S.post(zip_of([
        ("a.json", tls_report("zip-1", "2026-05-01",
                              [tls_policy(VICTIM, 5, 0)])),
        ("b.xml", forged)]), JSON)
    r = row(iid)
    t.check(st == 202 and r[0] == "parsed" and any(
        "TLS reports only" in w for w in r[2]),
        "zip of JSON then XML: 202, parsed, a warning: %d %s" % (st, r))
    t.check(db.one("SELECT count(*) FROM tlsrpt_report WHERE report_id = "
                   "'zip-1'") == 1, "its TLS report is stored")
    t.check(db.one("SELECT count(*) FROM dmarc_report") == 0,
            "no DMARC report was stored from /tlsrpt")

    # --- 2. squatting a TLS report ------------------------------------------
    rid = "2026-05-01T00:00:00Z_" + VICTIM
    other = S.send(mail(gzip.compress(tls_report(
        "2026-05-02T00:00:00Z_" + VICTIM, "2026-05-02",
        [tls_policy(VICTIM, 300, 0)])), "r2.json.gz",
        "application/tlsrpt+gzip", True))
    t.check(row(other)[0] == "parsed", "another signed TLS report from the "
            "reporter: %s" % (row(other),))
    fake = tls_report(rid, "2026-04-20", [
        tls_policy(VICTIM, 0, 1000000, [("certificate-expired",
                                         "198.51.100.9", 1000000)]),
        tls_policy("bystander.example", 0, 5)])
    st, h, body, forged_row = S.post(fake)
    t.check(st == 202 and row(forged_row)[0] == "parsed", "the forgery is "
            "taken first (unauthenticated HTTPS): %d %s" % (
                st, row(forged_row)))
    check_rollups(S, "TLS forgery stored")
    real = tls_report(rid, "2026-05-01", [tls_policy(VICTIM, 500, 2, [
        ("starttls-not-supported", "192.0.2.5", 2)])])
    genuine = S.send(mail(gzip.compress(real), "r.json.gz",
                          "application/tlsrpt+gzip", True))
    g_row, f_row = row(genuine), row(forged_row)
    t.check(g_row[0] == "parsed", "the signed mail is stored: %s" % (g_row,))
    t.check(f_row[0] == "superseded" and "inbound %d" % genuine in f_row[1],
            "the forged row says it was superseded by inbound %d: %s" % (
                genuine, f_row))
    t.check(any("differed" in w for w in g_row[2]), "the mail's row notes "
            "that the replaced copy differed: %s" % (g_row[2],))
    items = S.api("/api/v1/tlsrpt/reports", {"org": "Google Inc."})["items"]
    mine = [i for i in items if i["report_id"] == rid]
    t.check(len(mine) == 1 and mine[0]["inbound_id"] == genuine and
            mine[0]["begin"] == "2026-05-01T00:00:00Z" and
            mine[0]["policies"][0]["total_failure"] == 2,
            "the API shows the mailed copy: %s" % mine)
    o = [i for i in S.pages("/api/v1/inbound", {"state": "superseded"})
         if i["id"] == forged_row]
    t.check(len(o) == 1 and "authenticated" in (o[0].get("reason") or ""),
            "GET /api/v1/inbound?state=superseded lists the forgery with "
            "its reason: %s" % o)
    check_rollups(S, "TLS forgery superseded")

    # --- 2b. a signature proves its own domain, not the reporter ----------
    # the reporter's copy POSTed (unsigned), then Mallory's mail, DKIM-
    # signed by mallory.example and aligned with its From, with the same
    # organization and report-id: naming its own contact, or Google's
    rid2 = "2026-05-06T00:00:00Z_" + VICTIM
    st, _, _, posted = S.post(tls_report(rid2, "2026-05-06", [
        tls_policy(VICTIM, 40, 0)]))
    t.check(st == 202 and row(posted)[0] == "parsed", "the reporter's TLS "
            "report POSTed: %d %s" % (st, row(posted)))
    for contact in ("tls-reports@" + M, "smtp-tls-reporting@" + G):
        m_ = S.send(mail(gzip.compress(tls_report(rid2, "2026-05-06", [
            tls_policy(VICTIM, 0, 4000)], contact=contact)), "m.json.gz",
            "application/tlsrpt+gzip", True, frm=M))
        t.check(row(m_)[0] == "conflict" and row(posted)[0] == "parsed",
                "a TLS copy signed by %s (contact %s) replaces nothing: "
                "%s, the POSTed row %s" % (M, contact, row(m_)[0],
                                           row(posted)[0]))
    t.check(db.one("SELECT sum(p.total_successful) FROM tlsrpt_policy p "
                   "JOIN tlsrpt_report r ON r.id = p.report_id WHERE "
                   "r.report_id = %s", rid2) == 40, "the POSTed copy's "
            "numbers stay")
    check_rollups(S, "TLS copies signed by another domain")

    # --- 3. conflicts -------------------------------------------------------
    one = tls_report("m-1", "2026-05-03", [tls_policy(VICTIM, 10, 0)],
                     org="Mallory")
    two = tls_report("m-1", "2026-05-03", [tls_policy(VICTIM, 0, 999)],
                     org="Mallory")
    st, _, _, a = S.post(one)
    st2, _, _, b = S.post(two)
    st3, _, _, c = S.post(gzip.compress(one), GZIP)
    ra, rb, rc_ = row(a), row(b), row(c)
    t.check(st == st2 == st3 == 202 and ra[0] == "parsed" and
            rb[0] == "conflict" and "other content" in rb[1] and any(
                "inbound %d" % a in w for w in rb[2]),
            "same key, other content, both unauthenticated: conflict with a "
            "reason and a warning naming the stored row: %s %s" % (ra, rb))
    t.check(rc_[0] == "duplicate", "the same content again: duplicate "
            "(%s)" % (rc_,))
    got = [i["id"] for i in S.pages("/api/v1/inbound", {"state":
                                                        "conflict"})]
    t.check(b in got, "GET /api/v1/inbound?state=conflict lists it: %s" %
            got)
    t.check(db.one("SELECT sum(p.total_failure) FROM tlsrpt_policy p JOIN "
                   "tlsrpt_report r ON r.id = p.report_id WHERE "
                   "r.report_id = 'm-1'") == 0, "the conflicting copy is "
            "not counted")
    st, _, _, d = S.post(tls_report(rid, "2026-05-01", [
        tls_policy(VICTIM, 0, 7)]))
    t.check(row(d)[0] == "conflict" and "(signed by its reporter)" in
            " ".join(row(d)[2]), "a forgery after the signed copy: conflict "
            "(%s)" % (row(d),))
    m = re.search(r"report copies conflicts=1 superseded=0 .*m-1", S.text())
    t.check(m is not None, "a log line for the conflict")
    check_rollups(S, "conflicts")
    S.stop()

    # --- 4. DMARC by mail: forgery first, then the signed copy -------------
    S = Server("--dmarc-require-dkim=no")
    S.send(mail(gzip.compress(dmarc_xml("d-other", "2026-05-03", [
        ("192.0.2.10", 5, "none", "pass", "pass")])), "o.xml.gz",
        "application/gzip", True))
    fake = dmarc_xml("d-1", "2026-05-01", [
        ("203.0.113.66", 1000000, "reject", "fail", "fail"),
        ("192.0.2.10", 7, "reject", "fail", "fail")])
    forged_row = S.send(mail(gzip.compress(fake), "f.xml.gz",
                             "application/gzip", False))
    t.check(row(forged_row)[0] == "parsed", "an unsigned DMARC forgery is "
            "stored (dmarc_require_dkim=no): %s" % (row(forged_row),))
    check_rollups(S, "DMARC forgery stored")
    genuine = S.send(mail(gzip.compress(dmarc_xml("d-1", "2026-05-01", [
        ("192.0.2.20", 12, "none", "pass", "pass")])), "g.xml.gz",
        "application/gzip", True))
    g_row, f_row = row(genuine), row(forged_row)
    t.check(g_row[0] == "parsed" and f_row[0] == "superseded" and
            "inbound %d" % genuine in f_row[1], "the signed DMARC copy "
            "replaces the forgery: %s %s" % (g_row, f_row))
    t.check(db.q("SELECT inbound_id, message_count FROM dmarc_report WHERE "
                 "report_id = 'd-1'") == [(genuine, 12)],
            "one d-1 report, the signed one's 12 messages")
    check_rollups(S, "DMARC forgery superseded")

    # an unsigned copy, then one signed by Mallory (aligned with its own
    # From, not with the reporter's address): a conflict, nothing replaced
    u0 = S.send(mail(gzip.compress(dmarc_xml("d-4", "2026-05-06", [
        ("192.0.2.50", 6, "none", "pass", "pass")])), "u.xml.gz",
        "application/gzip", False))
    m_ = S.send(mail(gzip.compress(dmarc_xml("d-4", "2026-05-06", [
        ("203.0.113.99", 600000, "reject", "fail", "fail")])), "m.xml.gz",
        "application/gzip", True, frm=M))
    t.check(row(u0)[0] == "parsed" and row(m_)[0] == "conflict",
            "a DMARC copy signed by %s replaces nothing: %s %s" % (
                M, row(u0), row(m_)))

    # the same content, unsigned first: replaced, no "differed"
    same = gzip.compress(dmarc_xml("d-2", "2026-05-04", [
        ("192.0.2.30", 3, "none", "pass", "fail")]))
    u = S.send(mail(same, "s.xml.gz", "application/gzip", False))
    s_ = S.send(mail(same, "s.xml.gz", "application/gzip", True))
    t.check(row(u)[0] == "superseded" and row(s_)[0] == "parsed" and not any(
        "differed" in w for w in row(s_)[2]), "same content, signed after "
        "unsigned: %s %s" % (row(u), row(s_)))
    # unsigned against unsigned, other content: conflict
    u1 = S.send(mail(gzip.compress(dmarc_xml("d-3", "2026-05-05", [
        ("192.0.2.40", 4, "none", "pass", "pass")])), "u.xml.gz",
        "application/gzip", False))
    u2 = S.send(mail(gzip.compress(dmarc_xml("d-3", "2026-05-05", [
        ("192.0.2.40", 40000, "reject", "fail", "fail")])), "u.xml.gz",
        "application/gzip", False))
    t.check(row(u1)[0] == "parsed" and row(u2)[0] == "conflict",
            "DMARC, unsigned against unsigned, other content: %s %s" % (
                row(u1), row(u2)))
    check_rollups(S, "DMARC copies")
    t.check(not re.search(r"ERROR: (Address|Leak)Sanitizer|runtime error:",
                          S.text()), "no sanitizer report")
finally:
    if S is not None:
        S.stop()
    if dns is not None:
        dns.stop()
    if db is not None:
        db.close()
    pg.remove()

if t.failed == 0:
    shutil.rmtree(tmp, ignore_errors=True)
t.finish()
