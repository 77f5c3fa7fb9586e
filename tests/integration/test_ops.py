"""The operations endpoints and the headers of every answer, against two
real `ruad serve` (one plain HTTP, one HTTPS) and PostgreSQL.

Checks:
- /metrics and /readyz share one database answer for http_ops_cache_ms:
  counted in PostgreSQL's own statement log (log_statement = all), 40
  concurrent scrapes of each ask the database at most once per period
  (and at least once: the count can move); after the period one more
  request asks again, and the figures then show what changed (a report
  POSTed meanwhile is in ruad_inbound_rows);
- every kind of answer (API JSON, API problem, 401, raw bytes, /healthz,
  /readyz, /metrics, the dashboard's files and their 404, /tlsrpt's 415,
  a 404 outside every route) carries X-Content-Type-Options: nosniff;
  over HTTPS each also carries Strict-Transport-Security, over plain HTTP
  none does (RFC 6797 7.2);
- GET /api/v1/inbound/{id}/raw is Content-Disposition: attachment and
  its body is the bytes stored.
"""
import concurrent.futures
import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ruadtest import (DB, RUAD, SLOW, TMP, Postgres, Tally,  # noqa: E402
                      ctx_noverify, free_port, wait_for)

t = Tally("ops")
PERIOD_MS = 3000
# what each endpoint asks, as PostgreSQL logs it (store_pg.c)
STATS_SQL = "FROM inbound GROUP BY 1, 2"
READY_SQL = "SELECT coalesce(max(version), 0) FROM schema_version"

os.makedirs(TMP, exist_ok=True)
tmp = tempfile.mkdtemp(prefix="ruad-ops.", dir=TMP)
pg = Postgres("ops")
pg.start()
env = dict(os.environ, RUAD_DATABASE_URL=pg.url)
db = DB(pg.url)
servers = []


def ruad(*args):
    return subprocess.run([RUAD, *args], env=env, capture_output=True,
                          text=True, timeout=120)


def request(port, method, path, tls=False, token=None, body=None,
            headers=None):
    if tls:
        c = http.client.HTTPSConnection("127.0.0.1", port, timeout=30,
                                        context=ctx_noverify())
    else:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return r.status, hdrs, data


def logged(sql):
    """How often PostgreSQL has logged a statement holding sql."""
    with open(os.path.join(pg.dir, "log"), "rb") as f:
        text = f.read().decode("utf-8", "replace")
    return sum(1 for ln in text.splitlines()
               if sql in ln and ("statement:" in ln or "execute" in ln))


def tls_report(rid):
    return json.dumps({
        "organization-name": "ruad-ops-test.example",
        "date-range": {"start-datetime": "2026-11-01T00:00:00Z",
                       "end-datetime": "2026-11-01T23:59:59Z"},
        "contact-info": "tlsrpt@ops-test.example", "report-id": rid,
        "policies": [{"policy": {"policy-type": "no-policy-found",
                                 "policy-domain": "ops-test.example"},
                      "summary": {"total-successful-session-count": 3,
                                  "total-failure-session-count": 0}}]
    }).encode()


def start(name, *opts):
    port = free_port()
    log = open(os.path.join(tmp, name + ".log"), "wb")
    p = subprocess.Popen([RUAD, "serve", "--http-listen=127.0.0.1:%d" % port,
                          "--smtp-listen=", "--log-level=info", "--workers=1",
                          "--api-tokens-file=" + tokens, *opts], env=env,
                         stdout=log, stderr=subprocess.STDOUT)
    servers.append(p)
    return port


def check_headers(port, tls, what):
    """Every kind of answer: nosniff; HSTS exactly when tls."""
    answers = [("GET", "/healthz", None, 200), ("GET", "/readyz", None, 200),
               ("GET", "/metrics", None, 200),
               ("GET", "/api/v1/domains", READ, 200),
               ("GET", "/api/v1/domains", None, 401),
               ("GET", "/api/v1/nothing", READ, 404),
               ("GET", "/api/v1/dmarc/reports?limit=0", READ, 400),
               ("GET", "/api/v1/inbound/%d/raw" % raw_id, READ, 200),
               ("GET", "/", None, 200), ("GET", "/no-such-file.js", None, 404),
               ("POST", "/tlsrpt", None, 415)]
    for method, path, token, want in answers:
        st, h, _ = request(port, method, path, tls=tls, token=token,
                           body=b"x" if method == "POST" else None,
                           headers={"Content-Type": "text/plain"} if
                           method == "POST" else None)
        t.check(st == want, "%s: %s %s: %d, want %d" % (what, method, path,
                                                         st, want))
        t.check(h.get("x-content-type-options") == "nosniff",
                "%s: %s %s: X-Content-Type-Options: nosniff (%s)" % (
                    what, method, path, h.get("x-content-type-options")))
        hsts = h.get("strict-transport-security")
        if tls:
            t.check(hsts is not None and re.match(r"max-age=\d{7,}$", hsts),
                    "%s: %s %s: Strict-Transport-Security (%s)" % (
                        what, method, path, hsts))
        else:
            t.check(hsts is None, "%s: %s %s: no Strict-Transport-Security "
                    "over plain HTTP (%s)" % (what, method, path, hsts))


def burst(port, path, sql, n=40):
    """n concurrent GETs of path: (queries PostgreSQL logged, seconds)."""
    before = logged(sql)
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(10) as ex:
        codes = list(ex.map(lambda _: request(port, "GET", path)[0],
                            range(n)))
    took = time.monotonic() - t0
    t.check(codes == [200] * n, "%s: %d concurrent GETs all 200: %s" % (
        path, n, sorted(set(codes))))
    return logged(sql) - before, took


def check_cache(port):
    period = PERIOD_MS / 1000.0
    for path, sql in (("/metrics", STATS_SQL), ("/readyz", READY_SQL)):
        time.sleep(period + 0.2)          # whatever was shared is too old
        asked, took = burst(port, path, sql)
        most = 1 + int(took / period)
        print("%s: 40 concurrent requests in %.2f s asked the database %d "
              "times" % (path, took, asked))
        t.check(1 <= asked <= most, "%s: 40 concurrent requests in %.2f s "
                "asked the database %d times (want 1..%d)" % (
                    path, took, asked, most))
        time.sleep(period + 0.2)
        before = logged(sql)
        st, _, _ = request(port, "GET", path)
        t.check(st == 200 and logged(sql) - before == 1, "%s: after the "
                "period one request asks again (%d)" % (
                    path, logged(sql) - before))
    # the figures follow: a report POSTed now shows after the period
    st, _, _ = request(port, "POST", "/tlsrpt", body=tls_report("ops-2"),
                       headers={"Content-Type": "application/tlsrpt+json"})
    t.check(st == 202, "POST /tlsrpt: %d" % st)
    want = db.one("SELECT count(*) FROM inbound WHERE channel = 'https'")

    def https_rows():
        _, _, body = request(port, "GET", "/metrics")
        m = re.findall(r'^ruad_inbound_rows\{channel="https",state="[a-z_]+"'
                       r'\} (\d+)$', body.decode(), re.M)
        return sum(int(x) for x in m)
    t.check(wait_for(lambda: https_rows() == want, 2 * period + 2, 0.3),
            "/metrics shows the new row within a period or two (%d, want "
            "%d)" % (https_rows(), want))


try:
    t.check(ruad("migrate").returncode == 0, "migrate")
    tokens = os.path.join(tmp, "tokens")
    p = ruad("token", "new", "--scope=read", "--api-tokens-file=" + tokens)
    READ = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
    t.check(p.returncode == 0 and READ, "a read token: %s" % p.stderr)
    # every statement into PostgreSQL's log, from now on
    db.q("ALTER SYSTEM SET log_statement = 'all'")
    db.q("SELECT pg_reload_conf()")
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "2", "-subj",
                        "/CN=localhost", "-addext",
                        "subjectAltName=IP:127.0.0.1"], capture_output=True)
    t.check(p.returncode == 0, "a certificate: %s" % p.stderr)
    plain = start("plain", "--http-ops-cache-ms=%d" % PERIOD_MS)
    tls = start("tls", "--tls-cert=" + cert, "--tls-key=" + key)

    def up(port, tls):
        try:
            return request(port, "GET", "/healthz", tls=tls)[0] == 200
        except OSError:
            return False
    t.check(wait_for(lambda: up(plain, False) and up(tls, True), 15),
            "both servers start")
    db.q("SELECT 'ruad-ops-log-check'")
    t.check(wait_for(lambda: logged("ruad-ops-log-check") > 0, 5),
            "PostgreSQL logs statements")

    body = tls_report("ops-1")
    st, _, _ = request(plain, "POST", "/tlsrpt", body=body,
                       headers={"Content-Type": "application/tlsrpt+json"})
    t.check(st == 202, "POST /tlsrpt: %d" % st)
    raw_id = db.one("SELECT max(id) FROM inbound WHERE channel = 'https'")
    st, h, data = request(plain, "GET", "/api/v1/inbound/%d/raw" % raw_id,
                          token=READ)
    t.check(st == 200 and data == body, "raw: the stored bytes (%d)" % st)
    disp = h.get("content-disposition", "")
    t.check(re.match(r'attachment; filename="inbound-%d\.[a-z]+"$' % raw_id,
                     disp), "raw: Content-Disposition: attachment (%r)" %
            disp)
    t.check(h.get("content-type") == "application/octet-stream",
            "raw: application/octet-stream (%s)" % h.get("content-type"))
    t.check(hashlib.sha256(data).digest() == bytes(db.one(
        "SELECT sha256 FROM inbound WHERE id = %s", raw_id)),
        "raw: sha256 as stored")

    check_headers(plain, False, "http")
    check_headers(tls, True, "https")
    check_cache(plain)
finally:
    for p in servers:
        p.terminate()
        try:
            p.wait(20 * SLOW)
        except subprocess.TimeoutExpired:
            p.kill()
    for name in ("plain", "tls"):
        path = os.path.join(tmp, name + ".log")
        if os.path.exists(path):
            text = open(path, "rb").read().decode("utf-8", "replace")
            t.check(not re.search(r"ERROR: (Address|Leak)Sanitizer|runtime "
                                  r"error:", text),
                    "%s: no sanitizer report in the server log" % name)
    t.check(all(p.returncode == 0 for p in servers), "serve exits 0: %s" %
            [p.returncode for p in servers])
    db.close()
    pg.remove()
    shutil.rmtree(tmp, ignore_errors=True)
t.finish()
