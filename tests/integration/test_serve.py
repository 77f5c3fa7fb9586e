"""ruad serve: real HTTPS clients against a real server and PostgreSQL.

The test makes its own pair of self-signed certificates (openssl), starts
its own PostgreSQL (tests/lib/pg.sh, under /tmp, on a free port) so that
it can stop and start it mid-test, runs `ruad migrate` and `ruad serve`
over TLS, and talks to it with curl and Python's http.client/ssl.  Every
check goes through a protocol reply or through SQL.

Checks: --check-config (OK, and FILE:LINE for a bad file); /readyz 503
before migrate; each status code of POST /tlsrpt (202 for both types with
parameters and in any case, stored before the 202 and parsed after it,
the same bytes again 202 and not stored again, the same report in other
bytes -> duplicate; 415, 413 for no body, Content-Length one past
http_max_body and a chunked body past it; 400 not gzip; 405 with Allow;
404) and every error a problem+json document; /healthz, /readyz,
/metrics and their counts; --http-path-prefix; 200 concurrent POSTs of
different reports all stored once; a stalled client cut off after
http_timeout while others are served; the database stopped mid-test
gives 503 + Retry-After and /readyz 503, also to 60 concurrent POSTs
queued together for the storing threads (none acknowledged, none
stored), and comes back; SIGHUP swaps
the certificate for new connections while an open keep-alive connection
keeps working; SIGTERM under load exits 0 and loses no acknowledged
report (a restarted server drains the queue); SIGTERM with an idle
keep-alive client open stops at once.  Every report that got a 202
during the whole run is in inbound at the end, parsed or duplicate.
"""
import concurrent.futures
import gzip
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ruadtest import (DB, RUAD, SLOW, Postgres, Tally,  # noqa: E402
                      ctx_noverify, free_port, wait_for)

T0 = time.monotonic()
t = Tally("serve")
MAX_BODY = 4096




# HTTPS only: no SMTP listener on its fixed default port (two instances
# run at once here, and other tests may run beside this one)
HELP = subprocess.run([RUAD, "--help"], capture_output=True, text=True).stdout
NO_SMTP = ["--smtp-listen="] if "smtp_listen" in HELP else []
# every request comes from 127.0.0.1, hundreds a minute: no rate limit
# here (test_flood.py tests it)
NO_SMTP += ["--rate-limit-per-ip=0"] if "rate_limit_per_ip" in HELP else []
# --http-timeout: short for the slow-client check (second instance); the
# main instance's is longer, or 200 handshakes at once from a loaded
# machine could be cut off before they send their request
HTTP_TIMEOUT = 3 if SLOW > 1 else 2
SERVE_TIMEOUT = 10






def sha(b):
    return hashlib.sha256(b).digest()


# ---- reports ----------------------------------------------------------------

def tls_report(rid, pad=0, org="ruad-serve-test.example"):
    """A TLS report (RFC 8460 4) as JSON bytes, report-id rid."""
    doc = {
        "organization-name": org,
        "date-range": {"start-datetime": "2026-11-01T00:00:00Z",
                       "end-datetime": "2026-11-01T23:59:59Z"},
        "contact-info": "tlsrpt@" + "x" * pad + "serve-test.example",
        "report-id": rid,
        "policies": [{
            "policy": {"policy-type": "sts",
                       "policy-string": ["version: STSv1", "mode: enforce",
                                         "mx: *.example.net",
                                         "max_age: 604800"],
                       "policy-domain": "example.net",
                       "mx-host": ["*.example.net"]},
            "summary": {"total-successful-session-count": 100,
                        "total-failure-session-count": 1},
            "failure-details": [{
                "result-type": "certificate-expired",
                "sending-mta-ip": "198.51.100.7",
                "receiving-mx-hostname": "mx2.example.net",
                "receiving-ip": "192.0.2.26",
                "failed-session-count": 1}]}]}
    return json.dumps(doc).encode()


def gz(b):
    return gzip.compress(b, mtime=0)


JSON = "application/tlsrpt+json"
GZIP = "application/tlsrpt+gzip"

# every report that got a 202, over the whole run: (report-id, body)
acked = []
acked_mu = threading.Lock()


def ack(rid, body):
    with acked_mu:
        acked.append((rid, body))


# ---- processes: PostgreSQL, ruad --------------------------------------------







class Server:
    """One `ruad serve` process, its log in a file."""

    def __init__(self, tmp, name, env, *opts, port=None):
        self.port = port or free_port()
        self.log = os.path.join(tmp, name + ".log")
        self.env, self.opts, self.p = env, opts, None

    def start(self):
        self.logf = open(self.log, "ab")
        self.p = subprocess.Popen(
            [RUAD, "serve", "--http-listen=127.0.0.1:%d" % self.port,
             "--log-level=info", *NO_SMTP,
             # gauges and /readyz read right after each change: unshared
             "--http-ops-cache-ms=0", *self.opts], env=self.env,
            stdout=self.logf, stderr=subprocess.STDOUT)
        # up when /healthz answers
        ok = wait_for(lambda: self.p.poll() is not None or
                      probe(self.port), 10)
        return ok and self.p.poll() is None

    def send(self, sig):
        self.p.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Signal and wait; the exit status, None if it had to be killed."""
        if self.p is None or self.p.poll() is not None:
            return self.p.returncode if self.p else None
        self.p.send_signal(sig)
        try:
            return self.p.wait(timeout * SLOW)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return None
        finally:
            self.logf.close()

    def text(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def sanitizer_clean(self):
        s = self.text()
        return not re.search(r"ERROR: (Address|Leak)Sanitizer|runtime error:",
                             s)


# ---- clients ----------------------------------------------------------------



NOVERIFY = ctx_noverify()


def conn(port, timeout=10, ctx=None):
    return http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout *
                                       SLOW, context=ctx or NOVERIFY)


def req(port, method, path, body=None, headers=None, c=None, timeout=10,
        safe=True):
    """One request; (status, {header: value} lower-case, body bytes).  On a
    connection given as c the connection is kept (keep-alive).  With safe,
    a connection error is status 0 with the error as the body, so the
    check that reads it fails instead of the whole test."""
    own = c is None
    if own:
        c = conn(port, timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    except (OSError, http.client.HTTPException) as e:
        if not safe:
            raise
        return 0, {}, repr(e).encode()
    finally:
        if own:
            c.close()


def probe(port):
    """Does an HTTPS server answer on port (any status)?"""
    try:
        return req(port, "GET", "/healthz", timeout=2, safe=False)[0] > 0
    except (OSError, http.client.HTTPException):
        return False


def post(port, body, ctype=JSON, path="/tlsrpt", c=None, timeout=10,
         safe=True):
    h = {"Content-Type": ctype} if ctype is not None else {}
    return req(port, "POST", path, body, h, c=c, timeout=timeout, safe=safe)


def curl(port, method, path, cacert, data=None, ctype=None, extra=()):
    """curl over HTTPS, verifying the server with cacert: (status,
    headers, body)."""
    cmd = ["curl", "-sS", "--max-time", str(int(20 * SLOW)), "--cacert",
           cacert, "-X", method, "-D", "-", "-o", "-",
           "https://127.0.0.1:%d%s" % (port, path)]
    if data is not None:
        cmd += ["--data-binary", "@" + data]
    if ctype is not None:
        cmd += ["-H", "Content-Type: " + ctype]
    cmd += list(extra)
    p = subprocess.run(cmd, capture_output=True, timeout=30 * SLOW)
    head, _, body = p.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/\S+ (\d+)", lines[0]) if lines else None
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return (int(m.group(1)) if m else None), hdrs, body


def is_problem(status, hdrs, body, want):
    """An RFC 9457 problem document for status want."""
    try:
        d = json.loads(body)
    except ValueError:
        return False
    return (status == want and
            hdrs.get("content-type", "").startswith(
                "application/problem+json") and
            all(k in d for k in ("type", "title", "status", "detail")) and
            d["status"] == want)


def metrics(port):
    st, _, body = req(port, "GET", "/metrics")
    if st != 200:
        return st, {}, ""
    m = {}
    for ln in body.decode().splitlines():
        if ln and not ln.startswith("#"):
            k, _, v = ln.rpartition(" ")
            m[k] = float(v)
    return st, m, body.decode()


def fingerprint(port):
    """SHA-256 of the certificate a new TLS connection is shown."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10 * SLOW)
        with NOVERIFY.wrap_socket(s) as ss:
            return hashlib.sha256(ss.getpeercert(binary_form=True)
                                  ).hexdigest()
    except OSError as e:
        return repr(e)


# ---- the test ---------------------------------------------------------------

tmp = tempfile.mkdtemp(prefix="ruad-serve.", dir="/tmp")
pg = Postgres("serve")
db = None
servers = []
timings = {}


def lap(name, since):
    timings[name] = time.monotonic() - since
    return time.monotonic()


def make_cert(name, days):
    cert = os.path.join(tmp, name + ".crt")
    key = os.path.join(tmp, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                    "-out", cert, "-days", str(days), "-subj",
                    "/CN=ruad serve test " + name, "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return cert, key, hashlib.sha256(der).hexdigest()


def inbound_rows(body):
    return db.q("SELECT id, channel, host(peer_addr), tls_version, "
                "tls_cipher, content_type, raw, state FROM inbound WHERE "
                "sha256 = %s ORDER BY id", sha(body))


def states(body):
    return [r[7] for r in inbound_rows(body)]


def settled(body, n=1):
    """Rows of body once n of them exist and none waits for a worker."""
    def f():
        s = states(body)
        return s if len(s) >= n and not set(s) & {"pending",
                                                  "processing"} else None
    return wait_for(f, 15) or states(body)


def server_down_clean(s, what, max_s):
    t0 = time.monotonic()
    rc = s.stop(timeout=max_s)
    took = time.monotonic() - t0
    t.check(rc == 0, "%s: exit status %s (log: %s)" % (
        what, rc, s.text()[-1500:]))
    t.check(s.sanitizer_clean(), "%s: sanitizer report in the log: %s" % (
        what, s.text()[-3000:]))
    return took


try:
    c1, k1, fp1 = make_cert("one", 30)
    c2, k2, fp2 = make_cert("two", 60)
    t.check(fp1 != fp2, "two different certificates")
    cert, key = os.path.join(tmp, "serve.crt"), os.path.join(tmp, "serve.key")
    shutil.copy(c1, cert)
    shutil.copy(k1, key)
    tls = ["--tls-cert=" + cert, "--tls-key=" + key]

    # --- --check-config, no database needed ----------------------------------
    p = subprocess.run([RUAD, "serve", "--check-config", *tls,
                        "--http-listen=127.0.0.1:1"], capture_output=True,
                       text=True)
    t.check(p.returncode == 0 and p.stdout.strip() == "configuration OK",
            "--check-config: %d %r %r" % (p.returncode, p.stdout, p.stderr))
    good = os.path.join(tmp, "good.conf")
    with open(good, "w") as f:
        f.write("# ruad\nhttp_listen = 127.0.0.1:8443\nhttp-timeout = 5\n")
    p = subprocess.run([RUAD, "serve", "--check-config", "--config", good],
                       capture_output=True, text=True)
    t.check(p.returncode == 0 and "configuration OK" in p.stdout,
            "--check-config good file: %r %r" % (p.stdout, p.stderr))
    for n, text, why in ((3, "# ruad\nworkers = 2\nhttp_timeout = 0\n",
                          "http_timeout"),
                         (2, "workers = 2\nno equals sign here\n",
                          "key = value"),
                         (4, "\n\n# x\nno_such_key = 1\n", "no_such_key")):
        bad = os.path.join(tmp, "bad%d.conf" % n)
        with open(bad, "w") as f:
            f.write(text)
        p = subprocess.run([RUAD, "serve", "--check-config", "--config",
                            bad], capture_output=True, text=True)
        t.check(p.returncode != 0 and "%s:%d:" % (bad, n) in p.stderr and
                why in p.stderr and "configuration OK" not in p.stdout,
                "--check-config bad file, line %d: %d %r %r" % (
                    n, p.returncode, p.stdout, p.stderr))
    p = subprocess.run([RUAD, "serve", "--check-config", "--tls-cert=" + cert],
                       capture_output=True, text=True)
    t.check(p.returncode != 0 and "tls_key" in p.stderr,
            "--check-config cert without key: %r" % p.stderr)

    # --- PostgreSQL; the server before migrate: not ready --------------------
    since = time.monotonic()
    pg.start()
    db = DB(pg.url)
    since = lap("postgres start", since)
    env = dict(os.environ, RUAD_DATABASE_URL=pg.url)
    S = Server(tmp, "serve", env, *tls, "--http-max-body=%d" % MAX_BODY,
               "--http-timeout=%d" % SERVE_TIMEOUT, "--http-max-per-ip=256",
               "--workers=2")
    servers.append(S)
    t.check(S.start(), "ruad serve starts: %s" % S.text()[-2000:])
    port = S.port
    st, h, body = req(port, "GET", "/readyz")
    t.check(is_problem(st, h, body, 503) and "migrate" in body.decode() and
            "retry-after" in h, "/readyz before migrate: %d %s" % (st, body))
    p = subprocess.run([RUAD, "migrate"], env=env, capture_output=True,
                       text=True)
    t.check(p.returncode == 0, "migrate: %s %s" % (p.stdout, p.stderr))
    st, h, body = req(port, "GET", "/readyz")
    t.check(st == 200, "/readyz after migrate: %d %s" % (st, body))
    st, h, body = req(port, "GET", "/healthz")
    t.check(st == 200 and body == b"ok\n", "/healthz: %d %s" % (st, body))
    st, h, body = req(port, "HEAD", "/healthz")
    t.check(st == 200 and body == b"", "HEAD /healthz: %d %s" % (st, body))
    st, h, body = curl(port, "GET", "/healthz", cert)
    t.check(st == 200, "curl (verifying the certificate) /healthz: %s" % st)

    # --- 202: stored before the answer, parsed after it ----------------------
    mst, m0, _ = metrics(port)
    t.check(mst == 200, "/metrics: %d" % mst)
    b = tls_report("basic-json")
    st, h, body = post(port, b)
    rows = inbound_rows(b)   # right after the 202: the row must be there
    if t.check(st == 202 and json.loads(body).get("status") == "accepted",
               "POST json: %d %s" % (st, body)):
        ack("basic-json", b)
    t.check(len(rows) == 1, "row stored before the 202: %s" % len(rows))
    if rows:
        _, ch, peer, tlsv, cipher, ct, raw, _ = rows[0]
        t.check(ch == "https" and peer == "127.0.0.1" and
                (tlsv or "").startswith("TLS") and cipher and ct == JSON and
                bytes(raw) == b, "inbound row: %s" % (rows[0][:6],))
    t.check(settled(b) == ["parsed"], "json report parsed: %s" % states(b))
    t.check(db.one("SELECT count(*) FROM tlsrpt_report r JOIN inbound i ON "
                   "i.id = r.inbound_id WHERE r.report_id = 'basic-json' AND "
                   "i.sha256 = %s", sha(b)) == 1, "tlsrpt_report row")
    t.check(db.one("SELECT count(*) FROM tlsrpt_failure f JOIN tlsrpt_report"
                   " r ON r.id = f.report_id WHERE r.report_id = "
                   "'basic-json'") == 1, "tlsrpt_failure row")

    # gzip, with curl, verifying the certificate
    g = gz(tls_report("basic-gzip"))
    gpath = os.path.join(tmp, "basic.json.gz")
    with open(gpath, "wb") as f:
        f.write(g)
    st, h, body = curl(port, "POST", "/tlsrpt", cert, data=gpath, ctype=GZIP)
    rows = inbound_rows(g)
    if t.check(st == 202, "curl POST gzip: %s %s" % (st, body)):
        ack("basic-gzip", g)
    t.check(len(rows) == 1 and bytes(rows[0][6]) == g and
            rows[0][5] == GZIP, "gzip row stored byte for byte")
    t.check(settled(g) == ["parsed"], "gzip report parsed: %s" % states(g))

    # media type parameters and case
    for i, (ct, z) in enumerate((
            ("application/tlsrpt+json; charset=utf-8", False),
            ("APPLICATION/TLSRPT+JSON", False),
            ("Application/TlsRpt+Gzip ; foo=bar", True),
            ("application/tlsrpt+gzip;x=y", True))):
        rid = "ctype-%d" % i
        b = gz(tls_report(rid)) if z else tls_report(rid)
        st, h, body = post(port, b, ctype=ct)
        if t.check(st == 202, "Content-Type %r: %d %s" % (ct, st, body)):
            ack(rid, b)
        t.check(settled(b) == ["parsed"], "%r parsed: %s" % (ct, states(b)))

    # the same report again: the same bytes 202 and not stored again
    # (test_flood.py), other bytes 202 and then duplicate (one more
    # newline, and gzipped)
    b = tls_report("basic-json")
    st, _, _ = post(port, b)
    if t.check(st == 202, "same report again: %d" % st):
        ack("basic-json", b)
    t.check(settled(b) == ["parsed"], "same bytes again: %s" % states(b))
    b = tls_report("basic-json") + b"\n"
    st, _, _ = post(port, b)
    if t.check(st == 202, "same report, one more newline: %d" % st):
        ack("basic-json", b)
    t.check(settled(b) == ["duplicate"], "same report, one more newline: %s"
            % states(b))
    b = gz(tls_report("basic-json"))
    st, _, _ = post(port, b, ctype=GZIP)
    if t.check(st == 202, "same report gzipped: %d" % st):
        ack("basic-json", b)
    t.check(settled(b) == ["duplicate"], "same report gzipped: %s" %
            states(b))
    t.check(db.one("SELECT count(*) FROM tlsrpt_report WHERE report_id = "
                   "'basic-json'") == 1, "the report is stored once")

    # --- errors: each a problem document, nothing stored ---------------------
    n_inbound = db.one("SELECT count(*) FROM inbound")
    some = tls_report("refused")
    for ct in ("text/plain", "application/json", "application/tlsrpt+jsonx",
               "application/tlsrpt", "multipart/form-data; boundary=x", None):
        st, h, body = post(port, some, ctype=ct)
        t.check(is_problem(st, h, body, 415) and "accept-post" in h,
                "Content-Type %r: want 415, got %d %s %s" % (ct, st, h, body))
    spath = os.path.join(tmp, "some.json")
    with open(spath, "wb") as f:
        f.write(some)
    st, h, body = curl(port, "POST", "/tlsrpt", cert, data=spath)
    t.check(is_problem(st, h, body, 415), "curl form type: 415, got %s" % st)
    st, h, body = post(port, b"", ctype=JSON)
    t.check(is_problem(st, h, body, 413), "empty body: %d %s" % (st, body))
    st, h, body = req(port, "POST", "/tlsrpt", None, {"Content-Type": JSON})
    t.check(is_problem(st, h, body, 413), "no body at all: %d %s" % (st, body))
    st, h, body = post(port, b"{", ctype=GZIP)
    t.check(is_problem(st, h, body, 400), "json sent as gzip: %d %s" % (
        st, body))
    st, h, body = post(port, b"\x1f", ctype=GZIP)
    t.check(is_problem(st, h, body, 400), "one byte gzip: %d %s" % (st, body))

    # http_max_body: exactly at it is taken, one byte past it is not
    pad = 0
    while len(tls_report("at-max", pad)) < MAX_BODY:
        pad += 1
    at_max = tls_report("at-max", pad)
    t.check(len(at_max) == MAX_BODY, "a report of exactly %d bytes" %
            MAX_BODY)
    past = tls_report("past-max", pad + 1)
    past = past[:MAX_BODY + 1]
    st, h, body = post(port, past)
    t.check(is_problem(st, h, body, 413), "Content-Length %d: %d %s" % (
        len(past), st, body))
    st, h, body = post(port, b"\x1f\x8b" + bytes(MAX_BODY + 1), ctype=GZIP)
    t.check(is_problem(st, h, body, 413), "gzip Content-Length %d: %d" % (
        MAX_BODY + 3, st))

    def chunks(b, n=1000):
        return iter([b[i:i + n] for i in range(0, len(b), n)])

    for size in (MAX_BODY + 1, 2 * MAX_BODY + 7):
        st, h, body = req(port, "POST", "/tlsrpt", chunks(b"x" * size),
                          {"Content-Type": JSON})
        t.check(is_problem(st, h, body, 413), "chunked %d bytes: %d %s" % (
            size, st, body))
    t.check(db.one("SELECT count(*) FROM inbound") == n_inbound,
            "refused requests stored nothing")
    st, h, body = post(port, at_max)
    if t.check(st == 202, "exactly %d bytes: %d %s" % (MAX_BODY, st, body)):
        ack("at-max", at_max)
    t.check(settled(at_max) == ["parsed"], "%d bytes parsed: %s" % (
        MAX_BODY, states(at_max)))
    b = tls_report("chunked-ok")
    st, h, body = req(port, "POST", "/tlsrpt", chunks(b, 300),
                      {"Content-Type": JSON})
    if t.check(st == 202, "chunked report under the cap: %d %s" % (st, body)):
        ack("chunked-ok", b)
    bg = gz(tls_report("exact-gzip"))
    st, h, body = post(port, bg + bytes(MAX_BODY - len(bg)), ctype=GZIP)
    t.check(st in (202, 400), "gzip of exactly %d bytes: %d" % (MAX_BODY, st))
    n_taken = 2 + (st == 202)
    if st == 202:
        ack("exact-gzip", bg + bytes(MAX_BODY - len(bg)))

    for method, path, allow in (("GET", "/tlsrpt", "POST"),
                                ("PUT", "/tlsrpt", "POST"),
                                ("DELETE", "/tlsrpt", "POST"),
                                ("POST", "/healthz", "GET"),
                                ("POST", "/readyz", "GET"),
                                ("PUT", "/metrics", "GET")):
        st, h, body = req(port, method, path, b"{}" if method != "GET" else
                          None, {"Content-Type": JSON})
        t.check(is_problem(st, h, body, 405) and allow in h.get("allow", ""),
                "%s %s: want 405 Allow %s, got %d %s" % (method, path, allow,
                                                         st, h))
    st, h, body = curl(port, "GET", "/tlsrpt", cert)
    t.check(is_problem(st, h, body, 405) and h.get("allow") == "POST",
            "curl GET /tlsrpt: %s %s" % (st, h))
    # (/ is the dashboard's index.html: test_web.py)
    for path in ("/tlsrpt/", "/tlsrptx", "/TLSRPT", "/rua/tlsrpt",
                 "/healthz/x", "/metrics.txt"):
        st, h, body = req(port, "GET", path)
        t.check(is_problem(st, h, body, 404), "GET %s: want 404, got %d" % (
            path, st))
    st, h, body = post(port, some, path="/nope")
    t.check(is_problem(st, h, body, 404), "POST /nope: %d" % st)
    t.check(db.one("SELECT count(*) FROM inbound") == n_inbound + n_taken,
            "only the accepted requests stored rows")

    # --- /metrics ------------------------------------------------------------
    # what was just accepted is processed first: the gauges read below
    # (rows by state, queue depth) are of a drained queue
    t.check(wait_for(lambda: db.one(
        "SELECT count(*) FROM inbound WHERE state IN ('pending', "
        "'processing')") == 0, 30), "the workers drain the queue")
    mst, m1, text = metrics(port)
    for name in ("ruad_http_requests_total", "ruad_inbound_rows",
                 "ruad_queue_depth", "ruad_tls_cert_expiry_seconds",
                 "ruad_uptime_seconds"):
        t.check(re.search(r"^%s[{ ]" % name, text, re.M),
                "/metrics has %s" % name)

    def delta(key):
        return m1.get(key, 0) - m0.get(key, 0)

    k202 = 'ruad_http_requests_total{path="/tlsrpt",status="202"}'
    n202 = sum(1 for _ in acked)
    t.check(delta(k202) == n202, "202s counted: %s of %d" % (delta(k202),
                                                             n202))
    for status, least in (("415", 7), ("413", 6), ("400", 2), ("405", 3)):
        k = 'ruad_http_requests_total{path="/tlsrpt",status="%s"}' % status
        t.check(delta(k) >= least, "%s counted: %s" % (status, delta(k)))
    t.check(sum(v for k, v in m1.items() if k.startswith(
        "ruad_http_requests_total")) > sum(v for k, v in m0.items() if
                                           k.startswith(
                                               "ruad_http_requests_total")),
            "the request count grows")
    t.check(m1.get('ruad_inbound_rows{channel="https",state="parsed"}', 0) >=
            8, "inbound rows by state: %s" % [
                k for k in m1 if k.startswith("ruad_inbound_rows")])
    t.check(m1.get("ruad_queue_depth") == 0, "queue drained: %s" %
            m1.get("ruad_queue_depth"))
    exp = m1.get("ruad_tls_cert_expiry_seconds", 0)
    t.check(29 * 86400 < exp <= 30 * 86400, "certificate expiry: %s" % exp)
    t.check(m1.get("ruad_uptime_seconds", -1) >= 0, "uptime")
    since = lap("status codes", since)

    # --- a second instance, with a path prefix -------------------------------
    P = Server(tmp, "prefix", env, *tls, "--http-path-prefix=/rua",
               "--http-timeout=%d" % HTTP_TIMEOUT)
    servers.append(P)
    if t.check(P.start() and req(P.port, "GET", "/rua/healthz")[0] == 200,
               "prefix instance starts: %s" % P.text()[-1500:]):
        b = tls_report("prefix")
        st, h, body = post(P.port, b, path="/rua/tlsrpt")
        if t.check(st == 202, "POST /rua/tlsrpt: %d %s" % (st, body)):
            ack("prefix", b)
        t.check(settled(b) == ["parsed"], "prefix report parsed")
        for path in ("/tlsrpt", "/ruax/tlsrpt", "/rua",
                     "/rua/rua/tlsrpt"):
            st, h, body = post(P.port, b, path=path)
            t.check(is_problem(st, h, body, 404), "prefix: POST %s: %d" % (
                path, st))
        # /rua/ is the dashboard (its index.html): read-only
        st, h, body = post(P.port, b, path="/rua/")
        t.check(is_problem(st, h, body, 405), "prefix: POST /rua/: %d" %
                st)
        t.check(req(P.port, "GET", "/rua/readyz")[0] == 200, "/rua/readyz")
        t.check(req(P.port, "GET", "/healthz")[0] == 404,
                "prefix: /healthz is 404")
        since = lap("prefix instance", since)

        # a stalled client is cut off (this instance has the short
        # --http-timeout); others are served meanwhile
        addr = ("127.0.0.1", P.port)
        half = NOVERIFY.wrap_socket(socket.create_connection(addr))
        half.sendall(b"POST /rua/tlsrpt HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/tlsrpt+json\r\n"
                     b"Content-Length: 2000\r\n\r\n" +
                     tls_report("stalled")[:500])
        hdr = NOVERIFY.wrap_socket(socket.create_connection(addr))
        hdr.sendall(b"POST /rua/tlsrpt HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b"Content-Ty")
        raw = socket.create_connection(addr)     # and no TLS handshake
        stalled = [("half a body", half), ("half a header", hdr),
                   ("no handshake", raw)]
        t_stall = time.monotonic()
        served = []
        for i in range(10):
            b = tls_report("while-stalled-%d" % i)
            t1 = time.monotonic()
            st, _, _ = post(P.port, b, path="/rua/tlsrpt")
            served.append((st, time.monotonic() - t1))
            if st == 202:
                ack("while-stalled-%d" % i, b)
        t.check(all(s == 202 and d < HTTP_TIMEOUT - 0.5 for s, d in
                    served), "others served while clients stall: %s" % served)
        for what, s in stalled:
            s.settimeout(10 * SLOW)
            try:
                data = s.recv(4096)
            except (ssl.SSLError, OSError) as e:
                data = b"" if not isinstance(e, socket.timeout) else None
            took = time.monotonic() - t_stall
            t.check(data is not None and b" 202 " not in data and
                    HTTP_TIMEOUT - 0.5 < took < HTTP_TIMEOUT + 3 * SLOW,
                    "%s: cut off after %.1f s (timeout %d): %r" % (
                        what, took, HTTP_TIMEOUT, data))
            s.close()
        t.check(db.one("SELECT count(*) FROM inbound WHERE sha256 = %s",
                       sha(tls_report("stalled"))) == 0,
                "the stalled report was not stored")
        since = lap("slow client", since)
        server_down_clean(P, "prefix instance SIGTERM", 10)

    # --- 200 concurrent POSTs of different reports ---------------------------
    N = 200
    bodies = []
    for i in range(N):
        b = tls_report("concurrent-%03d" % i)
        bodies.append(gz(b) if i % 2 else b)
    barrier = threading.Barrier(N, timeout=30 * SLOW)

    def one_post(i):
        # all threads ready, then 200 handshakes and POSTs at once
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        c = conn(port, timeout=30)
        try:
            st, _, _ = post(port, bodies[i], GZIP if i % 2 else JSON, c=c,
                            safe=False)
            if st == 202:
                ack("concurrent-%03d" % i, bodies[i])
            return st
        except (OSError, http.client.HTTPException) as e:
            return repr(e)
        finally:
            c.close()

    before = db.one("SELECT count(*) FROM tlsrpt_report")
    with concurrent.futures.ThreadPoolExecutor(N) as ex:
        res = list(ex.map(one_post, range(N)))
    bad = [r for r in res if r != 202]
    t.check(not bad, "200 concurrent POSTs all 202: %d not (%s)" % (
        len(bad), bad[:5]))
    got = wait_for(lambda: db.one(
        "SELECT count(*) FROM inbound WHERE state IN ('pending', "
        "'processing')") == 0 and db.one(
        "SELECT count(*) FROM tlsrpt_report") - before == N, 30)
    t.check(got, "200 new tlsrpt_report rows: %d" % (
        db.one("SELECT count(*) FROM tlsrpt_report") - before))
    t.check(db.one("SELECT count(*) FROM tlsrpt_report WHERE report_id LIKE "
                   "'concurrent-%%'") == N, "each concurrent report once")
    since = lap("200 concurrent", since)

    # --- SIGHUP: a new certificate for new connections -----------------------
    ka = conn(port)
    st, _, _ = post(port, tls_report("keepalive-1"), c=ka)
    if st == 202:
        ack("keepalive-1", tls_report("keepalive-1"))
    ka_fp = hashlib.sha256(ka.sock.getpeercert(binary_form=True)).hexdigest()
    t.check(st == 202 and ka_fp == fp1, "keep-alive connection on cert one")
    t.check(fingerprint(port) == fp1, "the first certificate is served")
    for src, dst in ((c2, cert), (k2, key)):
        shutil.copy(src, dst + ".new")
        os.replace(dst + ".new", dst)
    S.send(signal.SIGHUP)
    t.check(wait_for(lambda: fingerprint(port) == fp2, 5),
            "after SIGHUP a new connection sees the new certificate")
    t.check(wait_for(lambda: "serve tls reloaded" in S.text(), 5),
            "reload logged")
    b = tls_report("keepalive-2")
    try:
        st, _, _ = post(port, b, c=ka, safe=False)
        same = ka.sock is not None and hashlib.sha256(ka.sock.getpeercert(
            binary_form=True)).hexdigest() == fp1
    except (OSError, http.client.HTTPException) as e:
        st, same = repr(e), False
    if st == 202:
        ack("keepalive-2", b)
    t.check(st == 202 and same,
            "the open keep-alive connection still works: %s" % st)
    ka.close()
    v2 = ssl.create_default_context(cafile=c2)
    st, _, _ = req(port, "GET", "/healthz", c=http.client.HTTPSConnection(
        "127.0.0.1", port, timeout=10, context=v2))
    t.check(st == 200, "verifies against the new certificate")
    try:
        req(port, "GET", "/healthz", c=http.client.HTTPSConnection(
            "127.0.0.1", port, timeout=10,
            context=ssl.create_default_context(cafile=c1)), safe=False)
        t.check(False, "the old certificate no longer verifies")
    except ssl.SSLCertVerificationError:
        t.check(True, "")
    except (OSError, http.client.HTTPException) as e:
        t.check(False, "the old certificate no longer verifies: %r" % e)
    st, _, _ = curl(port, "GET", "/healthz", cert)
    t.check(st == 200, "curl verifies the new certificate: %s" % st)
    _, m2, _ = metrics(port)
    exp = m2.get("ruad_tls_cert_expiry_seconds", 0)
    t.check(59 * 86400 < exp <= 60 * 86400, "expiry of the new cert: %s" %
            exp)
    # a broken file: the reload fails, the served certificate stays
    with open(cert + ".new", "w") as f:
        f.write("not a certificate\n")
    os.replace(cert + ".new", cert)
    S.send(signal.SIGHUP)
    t.check(wait_for(lambda: "tls reload failed" in S.text(), 5),
            "a failed reload is logged")
    t.check(S.p.poll() is None and fingerprint(port) == fp2,
            "a failed reload keeps the certificate")
    shutil.copy(c2, cert)
    since = lap("SIGHUP", since)

    # --- the database stops mid-test -----------------------------------------
    # a burst the workers are still on when the database goes away
    def burst(i):
        b = tls_report("burst-%03d" % i)
        if post(port, b)[0] == 202:
            ack("burst-%03d" % i, b)

    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        list(ex.map(burst, range(100)))
    with acked_mu:
        before_down = [b for _, b in acked]
    pending = db.one("SELECT count(*) FROM inbound WHERE state IN "
                     "('pending', 'processing')")
    pg.stop()
    b = tls_report("db-down")
    t1 = time.monotonic()
    st, h, body = post(port, b)
    t.check(is_problem(st, h, body, 503) and h.get("retry-after", "")
            .isdigit(), "database down: POST -> %d %s %s" % (st, h, body))
    t.check(time.monotonic() - t1 < 7 * SLOW, "503 in %.1f s" % (
        time.monotonic() - t1))
    st, h, body = post(port, gz(b), ctype=GZIP)
    t.check(st == 503, "database down: POST again -> %d" % st)
    # reports queued together for the storing threads: each one 503
    down = [tls_report("down-burst-%03d" % i) for i in range(60)]
    with concurrent.futures.ThreadPoolExecutor(30) as ex:
        codes = list(ex.map(lambda x: post(port, x)[0], down))
    t.check(codes == [503] * len(down), "database down: %d concurrent "
            "POSTs, all 503: %s" % (len(down), sorted(set(codes))))
    st, h, body = req(port, "GET", "/readyz")
    t.check(is_problem(st, h, body, 503) and "retry-after" in h,
            "database down: /readyz %d" % st)
    st, h, body = req(port, "GET", "/healthz")
    t.check(st == 200, "database down: /healthz %d" % st)
    st, m3, _ = metrics(port)
    t.check(st == 200 and m3.get("ruad_database_up") == 0,
            "database down: /metrics %d up=%s" % (st,
                                                  m3.get("ruad_database_up")))
    t.check(pg.restart(), "PostgreSQL starts again")
    t.check(wait_for(lambda: req(port, "GET", "/readyz")[0] == 200, 15),
            "/readyz 200 again")
    st, _, _ = post(port, b)
    if t.check(st == 202, "database back: POST -> %d" % st):
        ack("db-down", b)
    t.check(settled(b) == ["parsed"], "after the restart the worker parses: "
            "%s" % states(b))
    lost = [x for x in before_down if not db.one(
        "SELECT count(*) FROM inbound WHERE sha256 = %s", sha(x))]
    t.check(not lost, "nothing acknowledged before the stop is lost: %d" %
            len(lost))
    kept = [x for x in down if db.one(
        "SELECT count(*) FROM inbound WHERE sha256 = %s", sha(x))]
    t.check(not kept, "nothing stored of the POSTs that got 503: %d" %
            len(kept))
    print("database stopped with %d rows waiting for a worker" % pending,
          flush=True)
    since = lap("database down", since)

    # --- SIGTERM under load --------------------------------------------------
    stop_load = threading.Event()
    load_acked, load_err = [], []
    counter = iter(range(10 ** 9))
    counter_mu = threading.Lock()

    def loader(keepalive):
        c = None
        while not stop_load.is_set():
            with counter_mu:
                i = next(counter)
            rid = "load-%05d" % i
            b = tls_report(rid)
            b = gz(b) if i % 3 == 0 else b
            try:
                if keepalive and c is None:
                    c = conn(port, timeout=10)
                st, _, _ = post(port, b, GZIP if i % 3 == 0 else JSON,
                                c=c if keepalive else None, safe=False)
            except (OSError, http.client.HTTPException) as e:
                load_err.append(repr(e))
                if c is not None:
                    c.close()
                c = None
                time.sleep(0.02)
                continue
            if st == 202:
                with acked_mu:
                    load_acked.append((rid, b))
        if c is not None:
            c.close()

    threads = [threading.Thread(target=loader, args=(k,)) for k in
               (False, False, False, True, True, True)]
    for th in threads:
        th.start()
    wait_for(lambda: len(load_acked) >= 300, 20)
    n_at_term = len(load_acked)
    t_term = time.monotonic()
    S.send(signal.SIGTERM)
    try:
        rc = S.p.wait(15 * SLOW)
    except subprocess.TimeoutExpired:
        rc = None
    took = time.monotonic() - t_term
    stop_load.set()
    for th in threads:
        th.join(30)
    S.logf.close()
    t.check(rc == 0, "SIGTERM under load: exit %s" % rc)
    t.check(took < 5 * SLOW, "SIGTERM under load: stopped in %.1f s" % took)
    t.check(n_at_term >= 300, "load before SIGTERM: %d accepted" % n_at_term)
    t.check(S.sanitizer_clean(), "sanitizer report: %s" % S.text()[-3000:])
    timings["SIGTERM exit"] = took
    print("under load: %d accepted before SIGTERM, %d in all, %d client "
          "errors (refused during the drain)" % (n_at_term, len(load_acked),
                                                  len(load_err)), flush=True)
    missing = [rid for rid, b in load_acked if not db.one(
        "SELECT count(*) FROM inbound WHERE sha256 = %s", sha(b))]
    t.check(not missing, "every report acknowledged under load is stored: "
            "%d of %d missing (%s)" % (len(missing), len(load_acked),
                                       missing[:5]))
    for rid, b in load_acked:
        ack(rid, b)
    # restart: the queue drains
    S2 = Server(tmp, "serve2", env, *tls, port=port)
    servers.append(S2)
    t.check(S2.start(), "restart after SIGTERM: %s" % S2.text()[-1500:])
    t.check(wait_for(lambda: db.one(
        "SELECT count(*) FROM inbound WHERE state IN ('pending', "
        "'processing')") == 0, 30), "the restarted server drains the queue")
    since = lap("SIGTERM under load", since)

    # --- at the end: everything acknowledged is stored -----------------------
    with acked_mu:
        final = list(acked)
    wrong = []
    for rid, b in final:
        s = states(b)
        if not s or not set(s) <= {"parsed", "duplicate"}:
            wrong.append((rid, s))
    t.check(not wrong, "every acknowledged report (%d) is in inbound, "
            "parsed or duplicate: %d not (%s)" % (len(final), len(wrong),
                                                  wrong[:5]))
    rids = {rid for rid, _ in final}
    have = {r[0] for r in db.q("SELECT report_id FROM tlsrpt_report")}
    t.check(rids <= have, "every acknowledged report id in tlsrpt_report: "
            "%s missing" % sorted(rids - have)[:5])
    dup = db.q("SELECT report_id FROM tlsrpt_report GROUP BY 1 HAVING "
               "count(*) > 1")
    t.check(not dup, "no report stored twice: %s" % dup[:5])
    # an idle keep-alive client does not hold the drain open
    idle = conn(port)
    st, _, _ = req(port, "GET", "/healthz", c=idle)
    t.check(st == 200, "keep-alive /healthz before the final SIGTERM: %s" %
            st)
    took = server_down_clean(S2, "final SIGTERM", 10)
    t.check(took < 3 * SLOW, "SIGTERM with an idle keep-alive client open: "
            "stopped in %.1f s" % took)
    idle.close()
except Exception:                      # a broken step: a failure, not a crash
    traceback.print_exc()
    t.check(False, "the test stopped early (traceback above)")
finally:
    for s in servers:
        if s.p is not None and s.p.poll() is None:
            s.stop(timeout=10)
    if t.failed:
        for s in servers:
            try:
                print("--- %s (tail)\n%s" % (s.log, s.text()[-3000:]))
            except OSError:
                pass
    if db is not None:
        try:
            db.close()
        except Exception:
            pass
    pg.remove()
    shutil.rmtree(tmp, ignore_errors=True)
    timings["total"] = time.monotonic() - T0
    print("timings%s: %s" % (" (ASan)" if SLOW > 1 else "", ", ".join(
        "%s %.1fs" % kv for kv in timings.items())), flush=True)

t.finish()
