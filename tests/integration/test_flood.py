"""ruad serve against floods: rate limits and byte-identical reports.

The test starts its own PostgreSQL (tests/lib/pg.sh, under /tmp, on a free
port), runs `ruad migrate`, and two `ruad serve`: A with HTTP and SMTP on
127.0.0.1, B with HTTP on [::1] (IPv6 end to end), both with
--rate-limit-per-ip=3 --rate-limit-per-sender=5 --rate-limit-window=6.
Clients are Python's http.client and smtplib, each check from a loopback
address of its own (127.0.x.y), so that each counts only its own reports.
Every check goes through a protocol reply, /metrics, the log or SQL.

Checks: HTTPS, per address: 3 reports 202, the 4th 429 with Retry-After
and a problem document and is not stored; after Retry-After one more is
202 and the next 429 again; after a whole window 3 are 202 again and the
4th 429; another address is not limited; 30 refusals in a burst give at
most a line or two of log; /metrics counts the refusals (by channel and
key) and the 429s.  IPv6 ([::1]): 3 reports 202, the 4th 429, logged with
the /64 as its key (the /64 keying itself: unit test test_ratelimit).
SMTP, per address: 3 transactions, the 4th RCPT 452 4.7.1, and after the
wait a RCPT 250 again; per sender domain: 5 addresses with one MAIL FROM
domain (in any case) 250, a 6th address 452 4.7.1 by sender; /metrics
counts both.  Byte-identical: the same POST body twice, 202 both times,
one inbound row, counted once in /metrics; 8 clients POSTing one body at
once, all 202, one row; the same mail DATA twice over SMTP, 250 both
times ("queued as already-stored"), one row; a report in other bytes
(one more newline) is stored as usual.  No sanitizer report in either
server's log (ASan build).
"""
import concurrent.futures
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ruadtest import (DB, RUAD, SLOW, Postgres, Tally,  # noqa: E402
                      free_port, has_ipv6, wait_for)

t = Tally("flood")
PER_IP, PER_SENDER, WINDOW = 3, 5, 6
HELP = subprocess.run([RUAD, "--help"], capture_output=True, text=True).stdout
# the settings where ruad has them (so that on a ruad without them the
# checks fail, rather than the start)
LIMITS = ["--rate-limit-per-ip=%d" % PER_IP,
          "--rate-limit-per-sender=%d" % PER_SENDER,
          "--rate-limit-window=%d" % WINDOW] \
    if "rate_limit_per_ip" in HELP else []
RUN = "%x" % int(time.time() * 1000)


class Server:
    def __init__(self, tmp, name, env, host, smtp):
        self.host, self.port = host, free_port()
        self.smtp_port = free_port() if smtp else None
        self.log = os.path.join(tmp, name + ".log")
        self.env, self.p = env, None

    def start(self):
        self.logf = open(self.log, "ab")
        h = "[%s]" % self.host if ":" in self.host else self.host
        smtp = ["--smtp-listen=127.0.0.1:%d" % self.smtp_port,
                "--smtp-accept=dmarc@rua.example",
                "--smtp-greet-delay-ms=0"] if self.smtp_port else \
            ["--smtp-listen="]
        self.p = subprocess.Popen(
            [RUAD, "serve", "--http-listen=%s:%d" % (h, self.port),
             "--log-level=info", *smtp, *LIMITS], env=self.env,
            stdout=self.logf, stderr=subprocess.STDOUT)
        return wait_for(lambda: self.p.poll() is not None or
                        req(self, "GET", "/healthz")[0] == 200,
                        10) and self.p.poll() is None

    def stop(self):
        if self.p is not None and self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(15 * SLOW)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.logf.close()

    def text(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")


def req(srv, method, path, body=None, headers=None, src=None):
    """(status, {header: value}, body); status 0 on a connection error."""
    try:
        c = http.client.HTTPConnection(
            srv.host, srv.port, timeout=10 * SLOW,
            source_address=(src, 0) if src else None)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        out = (r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        c.close()
        return out
    except OSError as e:
        return 0, {}, repr(e).encode()


def post(srv, body, src=None):
    return req(srv, "POST", "/tlsrpt", body,
               {"Content-Type": "application/tlsrpt+json"}, src)


def tls_report(rid):
    return json.dumps({
        "organization-name": "flood-test.example",
        "date-range": {"start-datetime": "2026-11-02T00:00:00Z",
                       "end-datetime": "2026-11-02T23:59:59Z"},
        "contact-info": "tlsrpt@flood-test.example",
        "report-id": "%s-%s" % (RUN, rid),
        "policies": [{"policy": {"policy-type": "no-policy-found",
                                 "policy-domain": "flood.example"},
                      "summary": {"total-successful-session-count": 1,
                                  "total-failure-session-count": 0}}],
    }).encode()


def metrics(srv):
    st, _, body = req(srv, "GET", "/metrics")
    m = {}
    for ln in body.decode("utf-8", "replace").splitlines():
        if ln and not ln.startswith("#"):
            k, _, v = ln.rpartition(" ")
            m[k] = float(v)
    return m


def rows(db, body):
    return db.one("SELECT count(*) FROM inbound WHERE sha256 = %s",
                  hashlib.sha256(body).digest())


def smtp_session(srv, src):
    s = smtplib.SMTP("127.0.0.1", srv.smtp_port, timeout=10 * SLOW,
                     source_address=(src, 0))
    s.ehlo("flood.test.example")
    return s


def mail_body(marker):
    return ("From: r@reporter.example\r\nTo: dmarc@rua.example\r\n"
            "Subject: %s\r\nMessage-ID: <%s@reporter.example>\r\n\r\n"
            "not a report, %s\r\n" % (marker, marker, marker)).encode()


def transaction(s, mail_from, data=None):
    """MAIL, RCPT (and DATA when data): the RCPT and DATA replies."""
    s.mail(mail_from)
    rc = s.rcpt("dmarc@rua.example")
    dc = s.data(data) if data is not None and rc[0] == 250 else None
    if dc is None:
        s.rset()
    return rc, dc


tmp = tempfile.mkdtemp(prefix="ruad-flood.")
pg = Postgres("flood")
servers = []
db = None
try:
    pg.start()
    db = DB(pg.url)
    env = dict(os.environ, RUAD_DATABASE_URL=pg.url)
    p = subprocess.run([RUAD, "migrate"], env=env, capture_output=True,
                       text=True)
    t.check(p.returncode == 0, "migrate: %s %s" % (p.stdout, p.stderr))
    A = Server(tmp, "a", env, "127.0.0.1", smtp=True)
    # B: IPv6 end to end, where the machine has an IPv6 loopback
    B = Server(tmp, "b", env, "::1", smtp=False) if has_ipv6() else None
    servers += [A, B] if B else [A]
    t.check(A.start(), "server A starts: %s" % A.text()[-2000:])
    if B is not None:
        t.check(B.start(), "server B ([::1]) starts: %s" % B.text()[-2000:])

    # --- HTTPS per address: N, N + 1, Retry-After, a window -----------------
    src = "127.0.5.1"
    got = [post(A, tls_report("ip-%d" % i), src)[0] for i in range(PER_IP)]
    t.check(got == [202] * PER_IP, "%d reports from one address: %s" % (
        PER_IP, got))
    over = tls_report("ip-over")
    st, h, body = post(A, over, src)
    ra = h.get("retry-after", "")
    t.check(st == 429 and ra.isdigit() and 1 <= int(ra) <= WINDOW and
            h.get("content-type") == "application/problem+json" and
            json.loads(body or b"{}").get("status") == 429,
            "report %d from one address: 429 with Retry-After: %d %r %r" % (
                PER_IP + 1, st, h, body))
    t.check(rows(db, over) == 0, "the refused report is not stored")
    m = metrics(A)
    t.check(m.get('ruad_rate_limited_total{channel="https",key="ip"}') == 1
            and m.get('ruad_http_requests_total{path="/tlsrpt",'
                      'status="429"}') == 1,
            "/metrics counts the refusal: %s" % {
                k: v for k, v in m.items() if "429" in k or "limited" in k})
    time.sleep(int(ra or "1") + 0.3)
    st1 = post(A, over, src)[0]
    st2 = post(A, tls_report("ip-over-2"), src)[0]
    t.check(st1 == 202 and st2 == 429, "after Retry-After one more is "
            "taken, the next refused: %d %d" % (st1, st2))
    t.check(rows(db, over) == 1, "the report retried is stored")
    t.check(post(A, tls_report("ip-other"), "127.0.5.2")[0] == 202,
            "another address is not limited")
    time.sleep(WINDOW + 0.3)
    got = [post(A, tls_report("ip-w-%d" % i), src)[0]
           for i in range(PER_IP + 1)]
    t.check(got == [202] * PER_IP + [429], "a window later: %s" % got)

    # a burst of refusals: a line or two of log, not one per request
    src = "127.0.5.3"
    for i in range(PER_IP):
        post(A, tls_report("burst-%d" % i), src)
    time.sleep(1.1)             # past the last refusal's line (one a second)
    t0 = time.monotonic()
    got = [post(A, tls_report("burst-x-%d" % i), src)[0] for i in range(30)]
    took = time.monotonic() - t0
    lines = [ln for ln in A.text().splitlines()
             if "rate limited" in ln and "peer=127.0.5.3" in ln]
    t.check(got == [429] * 30 and 1 <= len(lines) <= 2 + int(took),
            "30 refusals in %.1f s: %d log lines (%s)" % (took, len(lines),
                                                           got[:5]))

    # --- IPv6 end to end ([::1]; its /64 is the key) ------------------------
    if B is None:
        t.skip(2, "no IPv6 loopback: the [::1] server did not run")
    else:
        got = [post(B, tls_report("v6-%d" % i))[0]
               for i in range(PER_IP + 1)]
        t.check(got == [202] * PER_IP + [429], "IPv6: %d reports from ::1: "
                "%s" % (PER_IP + 1, got))
        t.check(re.search(r"rate limited peer=::1 key=::/64 ", B.text())
                is not None, "IPv6: logged with its /64 as the key")

    # --- SMTP per address: 452 4.7.1 at RCPT, and after the wait ------------
    s = smtp_session(A, "127.0.7.1")
    got = [transaction(s, "r@ip-%d.example" % i)[0][0]
           for i in range(PER_IP)]
    rc, _ = transaction(s, "r@ip-x.example")
    m452 = re.search(rb"try again in (\d+) seconds", rc[1])
    t.check(got == [250] * PER_IP and rc[0] == 452 and
            rc[1].startswith(b"4.7.1") and m452,
            "SMTP: %d transactions from one address, then %r" % (
                PER_IP, (got, rc)))
    time.sleep(int(m452.group(1) if m452 else 1) + 0.3)
    rc, _ = transaction(s, "r@ip-y.example")
    t.check(rc[0] == 250, "SMTP: after the wait RCPT 250: %r" % (rc,))
    s.quit()

    # per sender domain: 5 addresses fine, the 6th 452 by sender
    got = []
    for i in range(PER_SENDER + 1):
        s = smtp_session(A, "127.0.8.%d" % (i + 1))
        got.append(transaction(s, "dmarc-%d@%s.example" % (
            i, "Flood-Sender" if i % 2 else "flood-sender"))[0])
        s.quit()
    t.check([c for c, _ in got] == [250] * PER_SENDER + [452] and
            got[-1][1].startswith(b"4.7.1"),
            "SMTP: one sender domain from %d addresses: %r" % (
                PER_SENDER + 1, got))
    t.check(re.search(r"smtp rate limited peer=127\.0\.8\.6 by=sender "
                      r"key=flood-sender\.example ", A.text()) is not None,
            "SMTP: the sender refusal is logged with its domain")
    m = metrics(A)
    t.check(m.get('ruad_rate_limited_total{channel="smtp",key="ip"}') == 1
            and m.get('ruad_rate_limited_total{channel="smtp",'
                      'key="sender"}') == 1,
            "/metrics counts the SMTP refusals: %s" % {
                k: v for k, v in m.items() if "limited" in k})

    # --- byte-identical: HTTPS ----------------------------------------------
    x = tls_report("same")
    st1, st2 = post(A, x, "127.0.6.1")[0], post(A, x, "127.0.6.1")[0]
    t.check(st1 == 202 and st2 == 202, "the same body twice: %d %d" % (
        st1, st2))
    t.check(rows(db, x) == 1, "the same body twice: one row, not %d" %
            rows(db, x))
    t.check(metrics(A).get('ruad_identical_skipped_total{channel="https"}')
            == 1, "/metrics counts the identical body once")
    y = tls_report("same-at-once")
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        got = list(ex.map(lambda i: post(A, y, "127.0.6.%d" % (i + 2))[0],
                          range(8)))
    t.check(got == [202] * 8 and rows(db, y) == 1,
            "8 clients, one body at once: %s, %d rows" % (got, rows(db, y)))
    t.check(metrics(A).get('ruad_identical_skipped_total{channel="https"}')
            == 8, "/metrics: 1 + 7 identical bodies")
    z = x + b"\n"
    t.check(post(A, z, "127.0.6.20")[0] == 202 and rows(db, z) == 1,
            "the report in other bytes is stored")

    # --- byte-identical: SMTP -----------------------------------------------
    marker = "same-mail-" + RUN
    data = mail_body(marker)
    answers = []
    for src in ("127.0.9.1", "127.0.9.2"):
        s = smtp_session(A, src)
        answers.append(transaction(s, "r@same.example", data)[1])
        s.quit()
    t.check(all(a and a[0] == 250 for a in answers) and
            b"already-stored" in answers[1][1],
            "the same mail twice: 250 both times: %r" % answers)
    n = db.one("SELECT count(*) FROM inbound WHERE channel = 'smtp' AND "
               "position(%s in raw) > 0", marker.encode())
    t.check(n == 1, "the same mail twice: one row, not %d" % n)
    t.check(metrics(A).get('ruad_identical_skipped_total{channel="smtp"}')
            == 1, "/metrics counts the identical mail once")
except Exception:
    traceback.print_exc()
    t.check(False, "the test stopped early (traceback above)")
finally:
    for s in servers:
        try:
            s.stop()
            t.check(not re.search(r"ERROR: (Address|Leak)Sanitizer|runtime "
                                  r"error:", s.text()),
                    "%s: no sanitizer report" % s.log)
        except Exception:
            pass
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

t.finish()
