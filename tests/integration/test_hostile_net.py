r"""ruad serve against hostile network clients: slow, framing tricks, floods.

The test starts its own PostgreSQL (tests/lib/pg.sh), runs `ruad
migrate`, makes a self-signed certificate (openssl) and starts `ruad
serve` (HTTPS and SMTP on loopback) several times with small settings, so
that every deadline and cap is reached in seconds.  Clients are raw
sockets (TLS by Python's ssl); every check goes through a protocol reply,
the connection's end, SQL or /proc.

Checks:
- deadlines no trickle moves: a client sending one header line a second
  (never idle as long as --http-timeout) is cut off at
  --http-header-timeout; one sending its body a byte a second at
  --http-body-timeout after its headers, and its report is not stored; an
  HTTP client reading a 16 MiB file at 2.5 MB/s, past --http-body-timeout,
  gets it whole (that deadline ends with the request's body); a
  keep-alive connection idle past --http-header-timeout but less than
  --http-timeout gets its next request answered, and a header trickle
  after the idle time is cut --http-header-timeout after its first byte;
  an SMTP client sending DATA a byte a second gets 421 4.4.2 at
  --smtp-data-timeout (nothing stored), one sending NOOP every second 421
  4.4.2 at --smtp-session-timeout; clients that reset mid-trickle, and
  others right around the header and DATA deadlines (the deadline's close
  racing the reset), leave the server serving;
- HTTP framing (RFC 9112 6.1, 6.3), each 400 problem+json and the
  connection closed: Content-Length with Transfer-Encoding, two different
  Content-Lengths, two equal ones, %00 in the path (/tlsrpt%00x stores
  nothing) (a Content-Length that is not a number: 400 from libmicrohttpd
  itself, and closed); GET and HEAD with a body
  on /healthz and on a dashboard file get 400 problem+json, not an empty
  reply; a plain GET on the same connection still works;
- RCPT TO with a parameter (NOTIFY=, ORCPT=, unknown) is 555 5.5.4 and
  the address without one is 250;
- the bytes held while reports arrive (--receive-max-bytes=1M): four
  POSTs announcing 262000 bytes each and sending none hold nothing (a
  small POST beside them is 202); five POSTs all but one byte in are
  held while a sixth is 503 with Retry-After, and all five end 202 and
  stored; three SMTP
  messages of 200 KB in DATA are held, a fourth is 421 4.3.1 when it
  passes the cap, the three end 250 and stored, and once they are, a new
  message is 250 again;
- the per-client caps over IPv6 on [::1] (when the machine has it):
  --http-max-per-ip and --smtp-max-per-ip connections are served, one
  more is closed (HTTP) or 421 4.7.0 (SMTP); the /64 grouping itself is
  unit-tested (tests/unit/test_netaddr.c);
- memory is given back: the server's RSS after 3 rounds of 8 concurrent
  12 MiB bodies is less than 24 MiB over what it was before (without
  mallopt's fixed mmap threshold and malloc_trim it was 70 MiB over;
  malloc_trim is gone since, as free unmaps blocks that large; skipped
  under ASan).
Every server exits 0 on SIGTERM with no sanitizer report in its log.
"""
import concurrent.futures
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

t = Tally("hostile_net")
NOVERIFY = ctx_noverify()
HELP = subprocess.run([RUAD, "--help"], capture_output=True, text=True).stdout
RUN = "%x" % int(time.time() * 1000)
JSON = "application/tlsrpt+json"


def opts(*settings):
    """--key=value for each setting this ruad knows (an older binary runs
    without the new ones, so that its behaviour is what fails)."""
    out = []
    for s in settings:
        key = s[2:].split("=", 1)[0].replace("-", "_")
        if key in HELP:
            out.append(s)
    return out


class Server:
    """One `ruad serve`: HTTPS on http_port, SMTP on smtp_port."""

    def __init__(self, tmp, name, env, *args, host="127.0.0.1"):
        self.host = host
        self.http_port, self.smtp_port = free_port(), free_port()
        self.log = os.path.join(tmp, name + ".log")
        self.env, self.args, self.p = env, args, None

    def hostport(self, port):
        return ("[%s]:%d" if ":" in self.host else "%s:%d") % (self.host,
                                                             port)

    def start(self):
        self.logf = open(self.log, "ab")
        self.p = subprocess.Popen(
            [RUAD, "serve", "--http-listen=" + self.hostport(self.http_port),
             "--smtp-listen=" + self.hostport(self.smtp_port),
             "--smtp-hostname=mx.test", "--smtp-accept=dmarc@rua.example",
             "--smtp-greet-delay-ms=0", "--log-level=info", *self.args],
            env=self.env, stdout=self.logf, stderr=subprocess.STDOUT)
        ok = wait_for(lambda: self.p.poll() is not None or self.up(), 10)
        return bool(ok) and self.p.poll() is None

    def up(self):
        try:
            s = socket.create_connection((self.host, self.smtp_port), 1)
            ok = s.recv(100).startswith(b"220")
            s.close()
            return ok
        except OSError:
            return False

    def stop(self):
        if self.p is None or self.p.poll() is not None:
            return self.p.returncode if self.p else None
        self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(20 * SLOW)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return None
        finally:
            self.logf.close()

    def text(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def rss_kib(self):
        with open("/proc/%d/status" % self.p.pid) as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def stop_clean(s, what):
    rc = s.stop()
    t.check(rc == 0, "%s: exit status %s" % (what, rc))
    t.check(not re.search(r"ERROR: (Address|Leak)Sanitizer|runtime error:",
                          s.text()), "%s: sanitizer report: %s" % (
                              what, s.text()[-3000:]))


# ---- clients ----------------------------------------------------------------

def https(srv, timeout=10):
    raw = socket.create_connection((srv.host, srv.http_port), timeout * SLOW)
    return NOVERIFY.wrap_socket(raw)


def read_all(s, timeout):
    """Everything until the peer closes: (bytes, closed?, seconds)."""
    t0 = time.monotonic()
    s.settimeout(timeout)
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return out, True, time.monotonic() - t0
            out += d
    except socket.timeout:
        return out, False, time.monotonic() - t0
    except (OSError, ssl.SSLError):
        return out, True, time.monotonic() - t0


def response(data):
    """(status, {header: value}, body) of the first HTTP response."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0]) if lines else None
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    n = int(hdrs.get("content-length", len(body)))
    return (int(m.group(1)) if m else 0), hdrs, body[:n]


def one_request(srv, raw, timeout=5):
    """Send raw bytes on a new TLS connection; (status, headers, body,
    closed by the server?)."""
    s = https(srv)
    try:
        try:
            s.sendall(raw)
        except (OSError, ssl.SSLError):
            pass                # answered and closed before the end
        data, closed, _ = read_all(s, timeout * SLOW)
    finally:
        s.close()
    st, h, b = response(data)
    return st, h, b, closed


def is_problem(st, h, b, want):
    try:
        doc = json.loads(b)
    except ValueError:
        return False
    return (st == want and h.get("content-type") == "application/problem+json"
            and doc.get("status") == want)


def tls_report(rid, pad=0):
    return json.dumps({
        "organization-name": "hostile-net.example",
        "date-range": {"start-datetime": "2026-01-01T00:00:00Z",
                       "end-datetime": "2026-01-01T23:59:59Z"},
        "contact-info": "tls@hostile-net.example",
        "report-id": "%s-%s" % (RUN, rid) + "x" * pad,
        "policies": [{"policy": {"policy-type": "no-policy-found",
                                 "policy-domain": "hostile-net.example"},
                      "summary": {"total-successful-session-count": 1,
                                  "total-failure-session-count": 0}}]},
        separators=(",", ":")).encode()


def post_head(srv, n, path="/tlsrpt", ctype=JSON):
    return ("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\n"
            "Content-Length: %d\r\n\r\n" % (path, srv.host, ctype, n)).encode()


def stored(db, marker):
    return db.one("SELECT count(*) FROM inbound WHERE position(%s in raw) > 0",
                  marker.encode())


class Smtp:
    """A raw SMTP client."""

    def __init__(self, srv, src=None, timeout=10):
        fam = socket.AF_INET6 if ":" in srv.host else socket.AF_INET
        self.sock = socket.socket(fam)
        if src:
            self.sock.bind((src, 0))
        self.sock.settimeout(timeout * SLOW)
        self.sock.connect((srv.host, srv.smtp_port))
        self.buf = b""
        self.banner = self.reply()

    def reply(self):
        try:
            while True:
                m = re.search(rb"(?m)^(\d{3}) [^\n]*\n", self.buf)
                if m:
                    text = self.buf[:m.end()].decode("latin-1")
                    self.buf = self.buf[m.end():]
                    return int(m.group(1)), text
                d = self.sock.recv(65536)
                if not d:
                    return 0, "EOF"
                self.buf += d
        except OSError as e:
            return 0, repr(e)

    def cmd(self, line):
        self.sock.sendall(line + b"\r\n")
        return self.reply()

    def envelope(self):
        r = [self.cmd(b"EHLO client.test"), self.cmd(b"MAIL FROM:<r@x.test>"),
             self.cmd(b"RCPT TO:<dmarc@rua.example>"), self.cmd(b"DATA")]
        return [c for c, _ in r] == [250, 250, 250, 354]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def mail(marker, size=0):
    body = b"Subject: %s\r\n\r\n%s\r\n" % (marker.encode(), marker.encode())
    line = b"z" * 998 + b"\r\n"
    while len(body) < size:
        body += line
    return body


tmp = tempfile.mkdtemp(prefix="ruad-hostile-net.",
                       dir=os.environ.get("RUAD_TEST_TMP", "/tmp"))
os.makedirs(tmp, exist_ok=True)
pg = Postgres("hostile-net")
servers = []
try:
    cert, key = os.path.join(tmp, "t.crt"), os.path.join(tmp, "t.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "30", "-subj", "/CN=hostile-net",
                    "-addext", "subjectAltName=IP:127.0.0.1,IP:::1"],
                   check=True, capture_output=True)
    tls = ["--tls-cert=" + cert, "--tls-key=" + key]
    pg.start()
    db = DB(pg.url)
    env = dict(os.environ, RUAD_DATABASE_URL=pg.url)
    p = subprocess.run([RUAD, "migrate"], env=env, capture_output=True,
                       text=True)
    t.check(p.returncode == 0, "migrate: %s" % p.stderr)

    # ==== A: small deadlines ================================================
    HDR_S, BODY_S, IDLE_S = 2, 3, 6
    DATA_S, SESSION_S = 3, 8
    www = os.path.join(tmp, "www")
    os.makedirs(www, exist_ok=True)
    BIG_FILE = os.urandom(16 << 20)
    with open(os.path.join(www, "big.bin"), "wb") as f:
        f.write(BIG_FILE)
    A = Server(tmp, "deadlines", env, *tls, "--http-timeout=%d" % IDLE_S,
               "--smtp-timeout=10", "--workers=1", "--web-root=" + www,
               *opts("--http-header-timeout=%d" % HDR_S,
                     "--http-body-timeout=%d" % BODY_S,
                     "--smtp-data-timeout=%d" % DATA_S,
                     "--smtp-session-timeout=%d" % SESSION_S))
    servers.append(A)
    t.check(A.start(), "server A starts: %s" % A.text()[-2000:])

    def trickle(sock, first, step, every=1.0, limit=12):
        """Send first, then step every second until the server closes or
        limit seconds pass; (seconds from first to the close or None,
        everything read)."""
        t0 = time.monotonic()
        got = b""
        sock.sendall(first)
        sock.settimeout(every)
        while time.monotonic() - t0 < limit * SLOW:
            try:
                d = sock.recv(65536)
                if not d:
                    return time.monotonic() - t0, got
                got += d
                continue
            except socket.timeout:
                pass
            except (OSError, ssl.SSLError):
                return time.monotonic() - t0, got
            try:
                sock.sendall(step)
            except (OSError, ssl.SSLError):
                return time.monotonic() - t0, got
        return None, got

    # HTTP headers, a line a second
    s = https(A)
    took, got = trickle(s, b"POST /tlsrpt HTTP/1.1\r\n", b"X-Slow: 1\r\n")
    s.close()
    t.check(took is not None and HDR_S - 1 < took < HDR_S + 2 * SLOW and
            b" 202 " not in
            got, "header trickle cut off at --http-header-timeout=%d: %s s "
            "%r" % (HDR_S, took, got[:80]))

    # HTTP body, a byte a second (the headers are complete at once)
    body = tls_report("body-trickle")
    s = https(A)
    took, got = trickle(s, post_head(A, len(body)) + body[:1], body[1:2])
    s.close()
    t.check(took is not None and took < HDR_S + BODY_S + 2 * SLOW and
            b" 202 " not in got, "body trickle cut off by "
            "--http-body-timeout=%d: %s s %r" % (BODY_S, took, got[:80]))
    t.check(stored(db, "%s-body-trickle" % RUN) == 0,
            "the trickled report is not stored")
    # a slow reader of a large response (16 MiB at 2.5 MB/s, past
    # --http-body-timeout): the body deadline ended with the request's
    # (empty) body, the send has --http-timeout (idle) only.  The receive
    # buffer is fixed (no autotuning: the server cannot have sent it all
    # within the deadline) but not so small that the window stalls.
    raw = socket.socket(socket.AF_INET)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256 << 10)
    raw.settimeout(IDLE_S * SLOW)
    raw.connect((A.host, A.http_port))
    s = NOVERIFY.wrap_socket(raw)
    s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n")
    got, t0, want = bytearray(), time.monotonic(), None
    try:
        while want is None or len(got) < want:
            d = s.recv(16384)
            if not d:
                break
            got += d
            if want is None and b"\r\n\r\n" in got:
                want = got.index(b"\r\n\r\n") + 4 + len(BIG_FILE)
            ahead = len(got) / 2500000 - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
    except (OSError, ssl.SSLError) as e:
        got += repr(e).encode()
    took = time.monotonic() - t0
    s.close()
    st, _, b = response(bytes(got))
    t.check(st == 200 and b == BIG_FILE and took > BODY_S, "a 16 MiB file "
            "read slowly past --http-body-timeout=%d arrives whole: %s, "
            "%d of %d bytes in %.1f s" % (BODY_S, st, len(b), len(BIG_FILE),
                                          took))

    # keep-alive: a connection idle longer than --http-header-timeout (but
    # less than --http-timeout) takes its next request; that request's
    # headers have their deadline from their first byte
    def get_on(sock):
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        data = b""
        sock.settimeout(5 * SLOW)
        try:
            while not data.endswith(b"\r\n\r\nok\n"):
                d = sock.recv(4096)
                if not d:
                    break
                data += d
        except (OSError, ssl.SSLError) as e:
            data += repr(e).encode()
        return response(data)[0]
    s = https(A)
    first = get_on(s)
    time.sleep(HDR_S + 1.5)
    second = get_on(s)
    t.check(first == 200 and second == 200, "keep-alive idle %.1f s "
            "(past --http-header-timeout=%d, before --http-timeout=%d): the "
            "next request is answered: %s %s" % (HDR_S + 1.5, HDR_S, IDLE_S,
                                                 first, second))
    time.sleep(HDR_S + 1.5)
    try:
        took, got = trickle(s, b"GET /healthz HTTP/1.1\r\n",
                            b"X-Slow: 1\r\n")
    except (OSError, ssl.SSLError) as e:
        took, got = None, repr(e).encode()     # closed while idle
    s.close()
    t.check(took is not None and HDR_S - 1 < took < HDR_S + 2 * SLOW and
            b" 200 " not in got, "after the idle time, a header trickle is cut"
            " --http-header-timeout=%d after its first byte: %s s %r" % (
                HDR_S, took, got[:80]))

    # (a loaded server may hand the body's request over after its header
    # deadline: then that one cuts it, and says so)
    t.check(wait_for(lambda: len(re.findall(
        r"http close reason=(?:header|body)-deadline peer=", A.text())) >= 2,
        2) and "reason=header-deadline" in A.text(),
        "the deadlines are logged: %s" % re.findall(
            r"http close reason=\S+", A.text()))

    # SMTP DATA, a byte a second
    c = Smtp(A)
    ok = c.envelope()
    t0 = time.monotonic()
    took, got = trickle(c.sock, b"Subject: trickle-%s\r\n" % RUN.encode(),
                        b"x")
    c.close()
    t.check(ok and took is not None and DATA_S - 1 < took < DATA_S + 2 * SLOW
            and
            b"421 4.4.2" in got, "DATA trickle: 421 4.4.2 at "
            "--smtp-data-timeout=%d: %s s %r" % (DATA_S, took, got))
    t.check(stored(db, "trickle-%s" % RUN) == 0,
            "the trickled message is not stored")

    # SMTP commands, a NOOP a second: the session deadline
    c = Smtp(A)
    t0 = time.monotonic()
    c.cmd(b"EHLO client.test")
    took, got = trickle(c.sock, b"NOOP\r\n", b"NOOP\r\n", limit=SESSION_S + 6)
    took = time.monotonic() - t0 if took is not None else None
    c.close()
    t.check(took is not None and SESSION_S - 1 < took < SESSION_S + 2 * SLOW
            and b"421 4.4.2" in got and got.count(b"250 2.0.0") >= 3,
            "NOOP every second: 421 4.4.2 at --smtp-session-timeout=%d: %s s"
            " %r" % (SESSION_S, took, got[-120:]))

    # clients that reset in the middle of a trickle, several at once; the
    # server goes on serving
    def reset_mid(i):
        so = socket.create_connection(("127.0.0.1", A.smtp_port), 5)
        so.recv(100)
        so.sendall(b"EHLO r\r\nMAIL FROM:<a@b>\r\nRCPT TO:<dmarc@rua.example>"
                   b"\r\nDATA\r\nSubject: reset\r\n")
        time.sleep(0.2 * (i % 5))
        so.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                      b"\x01\x00\x00\x00\x00\x00\x00\x00")
        so.close()                      # RST
        h = https(A)
        h.sendall(post_head(A, 500) + b"{")
        time.sleep(0.1 * (i % 7))
        h.close()
    with concurrent.futures.ThreadPoolExecutor(10) as ex:
        list(ex.map(reset_mid, range(40)))

    # and clients that trickle until about their deadline, then reset:
    # the deadline's close and the reset race
    def rst(so):
        try:
            so.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                          b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except OSError:
            pass
        so.close()

    def reset_at_deadline(i):
        at = (i % 10) * 0.1 - 0.5       # -0.5 .. +0.4 s of the deadline
        so = socket.create_connection(("127.0.0.1", A.smtp_port), 5)
        h = socket.create_connection(("127.0.0.1", A.http_port), 5)
        try:
            so.recv(100)
            so.sendall(b"EHLO r\r\nMAIL FROM:<a@b>\r\nRCPT TO:<dmarc@rua."
                       b"example>\r\nDATA\r\nSubject: reset\r\n")
            h = NOVERIFY.wrap_socket(h)
            h.sendall(b"POST /tlsrpt HTTP/1.1\r\n")
            t0 = time.monotonic()
            while True:
                now = time.monotonic() - t0
                if now >= HDR_S + at and h is not None:
                    rst(h)
                    h = None
                if now >= DATA_S + at:
                    break
                try:
                    so.sendall(b"x")
                    if h is not None:
                        h.sendall(b"X-a: b\r\n")
                except (OSError, ssl.SSLError):
                    pass
                time.sleep(0.1)
        except (OSError, ssl.SSLError):
            pass
        finally:
            rst(so)
            if h is not None:
                rst(h)
    with concurrent.futures.ThreadPoolExecutor(20) as ex:
        list(ex.map(reset_at_deadline, range(20)))
    st, _, b, _ = one_request(A, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                                 b"Connection: close\r\n\r\n")
    c = Smtp(A)
    t.check(st == 200 and c.banner[0] == 220 and A.p.poll() is None,
            "serving after 40 resets mid-trickle and 20 around the "
            "deadlines: %s %s" % (st, c.banner))
    c.close()

    # ---- framing: 400 and the connection closed ----------------------------
    rep = tls_report("framing")
    cases = [
        ("Content-Length and Transfer-Encoding",
         b"POST /tlsrpt HTTP/1.1\r\nHost: x\r\nContent-Type: " +
         JSON.encode() + b"\r\nContent-Length: %d\r\nTransfer-Encoding: "
         b"chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(rep), len(rep), rep)),
        ("two different Content-Lengths",
         b"POST /tlsrpt HTTP/1.1\r\nHost: x\r\nContent-Type: " +
         JSON.encode() + b"\r\nContent-Length: %d\r\nContent-Length: %d"
         b"\r\n\r\n%s" % (len(rep), len(rep) - 1, rep)),
        ("two equal Content-Lengths",
         b"POST /tlsrpt HTTP/1.1\r\nHost: x\r\nContent-Type: " +
         JSON.encode() + b"\r\nContent-Length: %d\r\nContent-Length: %d"
         b"\r\n\r\n%s" % (len(rep), len(rep), rep)),
        ("Content-Length not a number",
         b"POST /tlsrpt HTTP/1.1\r\nHost: x\r\nContent-Type: " +
         JSON.encode() + b"\r\nContent-Length: +%d\r\n\r\n%s" % (
             len(rep), rep)),
        ("NUL in the path", post_head(A, len(rep), "/tlsrpt%00x") + rep),
        ("GET /healthz with a body",
         b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"
         b"hello"),
        ("HEAD /healthz with a chunked body",
         b"HEAD /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
         b"\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
        ("GET / (a dashboard file) with a body",
         b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"),
    ]
    for what, raw in cases:
        st, h, b, closed = one_request(A, raw, timeout=3)
        if what.startswith("HEAD"):         # the same, without the body
            t.check(st == 400 and h.get("content-type") ==
                    "application/problem+json" and closed,
                    "%s: 400 problem+json and closed: %s %s closed=%s" % (
                        what, st, h, closed))
            continue
        if "not a number" in what:
            # libmicrohttpd refuses this one itself, before ruad sees it
            t.check(st == 400 and closed, "%s: 400 and closed: %s closed=%s"
                    % (what, st, closed))
            continue
        t.check(is_problem(st, h, b, 400) and closed,
                "%s: 400 problem+json and closed: %s %s %r closed=%s" % (
                    what, st, h.get("content-type"), b[:100], closed))
    t.check(stored(db, "%s-framing" % RUN) == 0,
            "no framing case stored its report")
    # the same connection: a plain GET after a good one works (keep-alive)
    s = https(A)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
              b"Connection: close\r\n\r\n")
    data, closed, _ = read_all(s, 5 * SLOW)
    s.close()
    t.check(data.count(b"HTTP/1.1 200 ") == 2,
            "GET, then GET with Content-Length: 0, on one connection: %r" %
            data[:200])

    # ---- RCPT parameters ---------------------------------------------------
    c = Smtp(A)
    c.cmd(b"EHLO client.test")
    c.cmd(b"MAIL FROM:<r@x.test>")
    got = [c.cmd(b"RCPT TO:<dmarc@rua.example> NOTIFY=NEVER"),
           c.cmd(b"RCPT TO:<dmarc@rua.example> ORCPT=rfc822;dmarc@rua.example"),
           c.cmd(b"RCPT TO:<dmarc@rua.example> X-FOO=1"),
           c.cmd(b"RCPT TO:<dmarc@rua.example>")]
    c.close()
    t.check([g[0] for g in got] == [555, 555, 555, 250] and
            all("5.5.4" in g[1] for g in got[:3]),
            "RCPT parameters 555 5.5.4, none 250: %s" % got)
    stop_clean(A, "server A")

    # ==== C: the bytes held at once (--receive-max-bytes=1M) ================
    C = Server(tmp, "budget", env, *tls, "--http-max-body=256K",
               "--smtp-max-message-size=256K", "--workers=1",
               *opts("--receive-max-bytes=1M"))
    servers.append(C)
    t.check(C.start(), "server C starts: %s" % C.text()[-2000:])
    # headers announcing large bodies, then nothing: no bytes are held for
    # bodies that have not come, so a small report is still taken (4 x
    # 262001 announced would fill 1 MiB but 572 bytes)
    idle = []
    for i in range(4):
        s = https(C)
        s.sendall(post_head(C, 262000))
        idle.append(s)
    time.sleep(0.5 * SLOW)     # the server has read their headers
    small = tls_report("beside-announced", pad=1000)
    st, h, b, closed = one_request(C, post_head(C, len(small))[:-2] +
                                   b"Connection: close\r\n\r\n" + small)
    t.check(st == 202, "4 POSTs announcing 262000 bytes and sending none "
            "leave room for a small one: %s %r" % (st, b[:120]))
    for s in idle:
        s.close()
    time.sleep(0.5 * SLOW)     # their requests have ended
    N, SIZE = 5, 180000       # 5 x 180001 fit in 1 MiB, 6 do not
    held = []
    for i in range(N):
        b = tls_report("held-%d" % i, pad=SIZE)
        s = https(C)
        s.sendall(post_head(C, len(b)) + b[:-1])   # all but the last byte
        held.append((s, b))
    time.sleep(1.0 * SLOW)     # the server has taken them in
    extra = tls_report("one-too-many", pad=SIZE)
    st, h, b, closed = one_request(C, post_head(C, len(extra)) + extra)
    t.check(is_problem(st, h, b, 503) and h.get("retry-after"),
            "POST past --receive-max-bytes: 503 + Retry-After: %s %s %r" % (
                st, h, b[:120]))
    res = []
    for s, b in held:
        s.sendall(b[-1:])
        s.settimeout(10 * SLOW)
        try:
            res.append(response(s.recv(65536))[0])
        except (OSError, ssl.SSLError) as e:
            res.append(repr(e))
        s.close()
    t.check(res == [202] * N, "the %d held POSTs end 202: %s" % (N, res))
    t.check(all(stored(db, "%s-held-%d" % (RUN, i)) == 1 for i in range(N))
            and stored(db, "%s-one-too-many" % RUN) == 0,
            "the held reports stored, the refused one not")

    # SMTP: three 200 KB messages in DATA (a 256 KiB buffer each) are held,
    # a fourth passes the cap
    sess = []
    for i in range(3):
        c = Smtp(C)
        ok = c.envelope()
        c.sock.sendall(mail("held-%s-%d" % (RUN, i), 200000))
        sess.append((ok, c))
    time.sleep(1.0 * SLOW)     # the server has taken them in
    c = Smtp(C)
    ok = c.envelope()
    try:
        c.sock.sendall(mail("over-%s" % RUN, 200000))
    except OSError:
        pass
    code, text = c.reply()
    c.close()
    t.check(ok and code == 421 and "4.3.1" in text,
            "a fourth 200 KB message past --receive-max-bytes: 421 4.3.1: "
            "%s %r" % (code, text))
    got = []
    for ok, c in sess:
        c.sock.sendall(b".\r\n")
        got.append(c.reply()[0] if ok else "no envelope")
        c.close()
    t.check(got == [250] * 3, "the three held messages end 250: %s" % got)
    c = Smtp(C)
    ok = c.envelope()
    c.sock.sendall(mail("after-%s" % RUN, 200000) + b".\r\n")
    code, text = c.reply()
    c.close()
    t.check(ok and code == 250, "after them a message is 250 again: %s %r" %
            (code, text))
    t.check(all(stored(db, "held-%s-%d" % (RUN, i)) == 1 for i in range(3))
            and stored(db, "over-%s" % RUN) == 0 and
            stored(db, "after-%s" % RUN) == 1,
            "held and later messages stored, the refused one not")
    stop_clean(C, "server C")

    # ==== V6: the per-client caps on [::1] ==================================
    have6 = True
    try:
        so = socket.socket(socket.AF_INET6)
        so.bind(("::1", 0))
        so.close()
    except OSError:
        have6 = False
    if not have6:
        t.skip(2, "no ::1 here")
    else:
        CAP = 3
        V = Server(tmp, "v6", env, *tls, "--http-max-per-ip=%d" % CAP,
                   "--smtp-max-per-ip=%d" % CAP, host="::1")
        servers.append(V)
        t.check(V.start(), "server on [::1] starts: %s" % V.text()[-2000:])
        open_ = []
        for i in range(CAP):
            s = https(V)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            s.settimeout(5 * SLOW)
            open_.append((s, s.recv(4096).startswith(b"HTTP/1.1 200")))
        try:
            s = https(V)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            data, closed, _ = read_all(s, 5 * SLOW)
            s.close()
        except (OSError, ssl.SSLError):
            data, closed = b"", True
        t.check(all(ok for _, ok in open_) and closed and b"200" not in data,
                "HTTP on [::1]: %d connections served, one more closed: %s "
                "%r" % (CAP, [ok for _, ok in open_], data[:60]))
        for s, _ in open_:
            s.close()
        smtp = [Smtp(V) for _ in range(CAP)]
        more = Smtp(V)
        t.check(all(c.banner[0] == 220 for c in smtp) and
                more.banner[0] == 421 and "4.7.0" in more.banner[1],
                "SMTP on [::1]: %d sessions, one more 421 4.7.0: %s" % (
                    CAP, more.banner))
        for c in smtp + [more]:
            c.close()
        stop_clean(V, "server on [::1]")

    # ==== B: memory given back after large bodies ===========================
    # (not under ASan: its allocator keeps freed memory in quarantine)
    B = None if SLOW > 1 else Server(tmp, "rss", env, *tls, "--http-max-body=16M", "--workers=1")
    if B is None:
        t.skip(1, "RSS under ASan means nothing")
        raise SystemExit
    servers.append(B)
    t.check(B.start(), "server B starts: %s" % B.text()[-2000:])
    BIG = 12 << 20
    junk = b"J" * BIG           # not gzip: 400 once the whole body is in

    def big_post(_):
        s = https(B, timeout=60)
        s.sendall(post_head(B, BIG, ctype="application/tlsrpt+gzip") + junk)
        s.settimeout(60 * SLOW)
        try:
            return response(s.recv(65536))[0]
        except (OSError, ssl.SSLError) as e:
            return repr(e)
        finally:
            s.close()
    base = B.rss_kib()
    peak = []
    for rnd in range(3):
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            res = list(ex.map(big_post, range(8)))
        t.check(res == [400] * 8, "round %d: 8 x 12 MiB not gzip, 400: %s" %
                (rnd, res))
        time.sleep(0.5)
        peak.append(B.rss_kib())
    grew = (peak[-1] - base) / 1024
    t.check(grew < 24, "RSS after 3 rounds of 8 x 12 MiB: %.0f MiB over the "
            "%.0f MiB before (after each round: %s MiB)" % (
                grew, base / 1024, [p // 1024 for p in peak]))
    stop_clean(B, "server B")
except SystemExit:
    pass
except Exception:
    t.check(False, "exception: %s" % traceback.format_exc())
finally:
    for s in servers:
        s.stop()
    pg.remove()
    shutil.rmtree(tmp, ignore_errors=True)
t.finish()
