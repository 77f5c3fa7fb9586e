r"""ruad serve, SMTP side: real clients against a real server and PostgreSQL.

The test makes a self-signed certificate (openssl) for STARTTLS, starts
its own PostgreSQL (tests/lib/pg.sh, under /tmp, on a free port) so that
it can stop and start it mid-test, runs `ruad migrate` and `ruad serve`
with SMTP (--smtp-accept=dmarc@rua.example,@tls.example
--smtp-hostname=mx.rua.example --smtp-greet-delay-ms=200, a 10 s
--smtp-timeout, a 64 KiB --smtp-max-message-size, --smtp-max-per-ip=5),
and talks to it with swaks, Python's smtplib, raw sockets (pipelining,
smuggling, injection) and a private Postfix relay.  Every check goes
through an SMTP reply or through SQL.

Checks: the banner waits for --smtp-greet-delay-ms and input before it is
554; every report mail the test makes (ruadtest.ReportMails, DKIM-signed,
its key on the test's dnsmasq: parsed) and every one under
$RUAD_SAMPLES/eml/{aggregate,tlsrpt,failure} when present, delivered by swaks with and without STARTTLS is stored (channel smtp,
envelope, tls_version only with STARTTLS, our one Received header and
then the mail byte for byte: swaks sends each file unchanged
(--no-data-fixup) but for an X-Test-Copy header of its own on top, the
CRLF line ends SMTP needs and the dot stuffing) and gets its verdict (parsed or duplicate; failure reports
not_a_report); smtplib with PIPELINING gets every reply in order; each
limit one step past (command line 512/513, SIZE= at and past the cap, a
message at and one byte past it, 100/101 recipients, 9 and 10 errors, a
text line of 65536/65537 bytes, idle past --smtp-timeout, the
per-address cap, also within one burst of connections); commands out of
sequence 503; no relaying (550 5.1.1); SMTP smuggling ("\n.\n",
"\r.\r", "\r\n.\n", "\n.\r\n" never end DATA: one message stored, the
smuggled commands inside it; 550 5.5.2 with --smtp-reject-bare-lf=yes);
STARTTLS command injection (CVE-2011-0411), STARTTLS twice, MAIL before
the new EHLO; a client stalled in the TLS handshake costs no CPU and is
cut off at --smtp-timeout, as is one that never reads its replies; a TLS
client vanishing without close_notify does not break another TLS
session; a TLS record split across ruad's 64 KiB input buffer does not
stall the session; a real Postfix relays reports over STARTTLS (sendmail
-t, and its smtpd fed by swaks); 1,000 idle sessions while a delivery
goes through; the database stopped mid-test (451 4.3.0, also for 20
messages whose final dots arrive together, and back); 20 messages ending
together, one with an envelope the database refuses (bytes that are not
UTF-8 in MAIL FROM): that one 451, every other 250 and stored, also
when they share a batch;
SIGTERM during deliveries (250 only for what is stored, 4xx otherwise,
exit 0).  At the end every message that got a 250 during the whole run
is in inbound with its bytes.  Input pipelined right before the client's EOF (QUIT,
then shutdown of its sending side) is answered before the close.
"""
import base64
import concurrent.futures
import gzip
import json
import os
import re
import resource
import select
import shutil
import signal
import smtplib
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ruadtest import (DB, RUAD, SLOW, Dnsmasq, Postgres,  # noqa: E402
                      ReportMails, Tally, ctx_noverify, free_port,
                      sample_keys,
                      samples_dir, wait_for)

import psycopg2  # noqa: E402  (Debian's python3-psycopg2)

T0 = time.monotonic()
t = Tally("smtp")
HOST = "mx.rua.example"
ACCEPT = "dmarc@rua.example,@tls.example"
MAX_MSG = 65536          # --smtp-max-message-size of the main server
TIMEOUT = 10             # --smtp-timeout (its minimum)
PER_IP = 5               # --smtp-max-per-ip of the main server
GREET_MS = 200
RUN = "%x" % int(time.time() * 1000)     # report ids unique to this run
# many messages a minute from one sender domain (and some from one
# address): no rate limits here (test_flood.py tests them)
_HELP = subprocess.run([RUAD, "--help"], capture_output=True,
                       text=True).stdout
NO_LIMITS = ["--rate-limit-per-ip=0", "--rate-limit-per-sender=0"] \
    if "rate_limit_per_ip" in _HELP else []










_ip_mu = threading.Lock()
_ip_next = [0]


def next_ip():
    """A loopback source address of its own (127.10.x.y), so that the
    per-address cap counts only the connections a check means it to."""
    with _ip_mu:
        n = _ip_next[0]
        _ip_next[0] += 1
    return "127.10.%d.%d" % (n // 250, n % 250 + 1)


# every message that got a 250, over the whole run: (inbound id, needle,
# what); at the end each must be in inbound with needle in its raw bytes
acked = []
acked_mu = threading.Lock()


def queued_id(text):
    m = re.search(r"queued as (\d+)", text)
    return int(m.group(1)) if m else None


def ack(text, needle, what):
    qid = queued_id(text)
    with acked_mu:
        acked.append((qid, needle, what))
    return qid


# ---- processes: PostgreSQL, ruad







class Server:
    """One `ruad serve` process with SMTP, its log in a file."""

    def __init__(self, tmp, name, env, *opts):
        self.port = free_port()
        self.http_port = free_port()
        self.log = os.path.join(tmp, name + ".log")
        self.env, self.opts, self.p = env, opts, None

    def start(self):
        self.logf = open(self.log, "ab")
        self.p = subprocess.Popen(
            [RUAD, "serve", "--http-listen=127.0.0.1:%d" % self.http_port,
             "--smtp-listen=127.0.0.1:%d" % self.port, "--log-level=info",
             *NO_LIMITS, *self.opts], env=self.env, stdout=self.logf,
            stderr=subprocess.STDOUT)
        # up when the SMTP banner comes
        ok = wait_for(lambda: self.p.poll() is not None or
                      smtp_probe(self.port), 10)
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

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.p.pid) as f:
            v = f.read().rsplit(")", 1)[1].split()
        return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self):
        try:
            with open("/proc/%d/status" % self.p.pid) as f:
                m = re.search(r"VmRSS:\s+(\d+)", f.read())
            return int(m.group(1)) if m else None
        except OSError:
            return None




NOVERIFY = ctx_noverify()


# ---- clients

class Client:
    """A raw SMTP client: bytes out exactly as given, replies parsed."""

    def __init__(self, port, src=None, banner=True, timeout=10, rcvbuf=None):
        self.src = src or next_ip()
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout * SLOW)
        self.sock.bind((self.src, 0))
        self.t_connect = time.monotonic()
        self.sock.connect(("127.0.0.1", port))
        self.buf = b""
        self.banner = self.reply() if banner else None
        self.t_banner = time.monotonic()

    def send(self, b):
        self.sock.sendall(b)

    def _line(self):
        while b"\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        line, _, self.buf = self.buf.partition(b"\n")
        return line + b"\n"

    def reply(self):
        """(code, text) of the next reply; code 0 when none came (the text
        then says why: EOF, timeout, an error)."""
        lines = []
        try:
            while True:
                ln = self._line().decode("latin-1").rstrip("\r\n")
                lines.append(ln)
                if len(ln) < 4 or ln[3] != "-":
                    break
        except EOFError:
            return 0, "EOF after %r" % lines
        except socket.timeout:
            return 0, "timeout after %r" % lines
        except OSError as e:
            return 0, "%r after %r" % (e, lines)
        try:
            code = int(lines[-1][:3])
        except ValueError:
            code = -1
        return code, "\n".join(lines)

    def replies(self, n):
        return [self.reply() for _ in range(n)]

    def cmd(self, line):
        self.send(line + b"\r\n")
        return self.reply()

    def all_replies(self):
        """Every reply until the server closes (or a timeout)."""
        out = []
        while True:
            code, text = self.reply()
            if code == 0:
                return out, text
            out.append((code, text))

    def closed(self, timeout=5):
        """Does the server close the connection within timeout (anything
        sent before is read and dropped)?"""
        self.sock.settimeout(timeout * SLOW)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except socket.timeout:
            return False
        except OSError:
            return True          # reset: closed too

    def starttls(self):
        """TLS on the socket (the 220 is read already); nothing may be
        waiting in the clear."""
        assert self.buf == b"", self.buf
        self.sock = NOVERIFY.wrap_socket(self.sock)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def smtp_probe(port):
    try:
        c = Client(port, src="127.0.0.250", timeout=2)
        ok = c.banner[0] == 220
        c.cmd(b"QUIT")
        c.close()
        return ok
    except OSError:
        return False


def message(marker, body=b"", subject=None, extra=b""):
    """A small RFC 5322 message naming marker (bytes) in its Message-ID,
    subject and body."""
    subject = subject or b"ruad smtp test " + marker
    return (b"From: reporter@example.org\r\nTo: dmarc@rua.example\r\n"
            b"Subject: " + subject + b"\r\nMessage-ID: <" + marker +
            b"@smtp-test.example>\r\n" + extra + b"\r\nbody " + marker +
            b"\r\n" + body)


def deliver(port, msg, needle, rcpts=("dmarc@rua.example",), tls=False,
            src=None, mail_from="reporter@example.org",
            helo="client.test.example", what="smtplib"):
    """One message with smtplib; (code, text) of its last reply, 0 for a
    connection error.  A 250 is recorded in acked."""
    try:
        s = smtplib.SMTP("127.0.0.1", port, local_hostname=helo,
                         timeout=15 * SLOW,
                         source_address=(src or next_ip(), 0))
    except (OSError, smtplib.SMTPException) as e:
        return 0, repr(e)
    try:
        s.ehlo()
        if tls:
            s.starttls(context=NOVERIFY)
            s.ehlo()
        code, text = s.mail(mail_from)
        if code != 250:
            return code, text.decode("latin-1")
        for r in rcpts:
            code, text = s.rcpt(r)
            if code != 250:
                return code, text.decode("latin-1")
        code, text = s.data(msg)
        text = "%d %s" % (code, text.decode("latin-1"))
        if code == 250:
            ack(text, needle, what)
        try:
            s.quit()
        except (OSError, smtplib.SMTPException):
            pass
        return code, text
    except smtplib.SMTPResponseException as e:
        return e.smtp_code, "%d %s" % (e.smtp_code, e.smtp_error)
    except (OSError, smtplib.SMTPException) as e:
        return 0, repr(e)
    finally:
        try:
            s.close()
        except Exception:
            pass


def tls_report(rid):
    """A TLS report (RFC 8460 4) as JSON bytes, report-id rid."""
    doc = {
        "organization-name": "ruad-smtp-test.example",
        "date-range": {"start-datetime": "2026-10-01T00:00:00Z",
                       "end-datetime": "2026-10-01T23:59:59Z"},
        "contact-info": "tlsrpt@smtp-test.example",
        "report-id": rid,
        "policies": [{
            "policy": {"policy-type": "no-policy-found",
                       "policy-domain": "example.net"},
            "summary": {"total-successful-session-count": 10,
                        "total-failure-session-count": 0}}]}
    return json.dumps(doc).encode()


def report_mail(rid, to="dmarc@rua.example", nl=b"\r\n",
                frm=b"tlsrpt@smtp-test.example"):
    """A TLS report mail (RFC 8460 5.3), gzip attachment, report-id rid.
    Unsigned: the server trusts smtp-test.example (trusted_reporters)."""
    att = base64.encodebytes(gzip.compress(tls_report(rid), mtime=0))
    lines = [b"From: " + frm, b"To: " + to.encode(),
             b"Subject: Report Domain: example.net Submitter: "
             b"smtp-test.example Report-ID: <" + rid.encode() + b">",
             b"Message-ID: <" + rid.encode() + b"@smtp-test.example>",
             b"TLS-Report-Domain: example.net",
             b"TLS-Report-Submitter: smtp-test.example",
             b"MIME-Version: 1.0",
             b'Content-Type: multipart/report; report-type="tlsrpt"; '
             b'boundary="b1"', b"", b"--b1",
             b'Content-Type: text/plain; charset="us-ascii"', b"",
             b"A TLS report.", b"", b"--b1",
             b"Content-Type: application/tlsrpt+gzip",
             b"Content-Transfer-Encoding: base64",
             b'Content-Disposition: attachment; filename="'
             b'smtp-test.example!example.net!1790812800!1790899199.json.gz"',
             b""] + att.rstrip(b"\n").split(b"\n") + [b"", b"--b1--", b""]
    return nl.join(lines)


def sized(marker, n):
    """A message of exactly n bytes (CRLF lines, none starting with a dot,
    the last ending in CRLF), as ruad counts them."""
    head = message(marker)
    body = b"".join(b"%05d " % i + b"s" * 72 + b"\r\n"
                    for i in range((n - len(head)) // 80))
    rest = n - len(head) - len(body)
    if 0 < rest < 3:                     # room for at least "x\r\n"
        body, rest = body[:-80], rest + 80
    if rest:
        body += b"t" * (rest - 2) + b"\r\n"
    assert len(head + body) == n
    return head + body


def crlf(b):
    """The bytes with every bare LF made CRLF (what SMTP carries)."""
    b = re.sub(rb"(?<!\r)\n", b"\r\n", b)
    return b if b.endswith(b"\r\n") else b + b"\r\n"


def dot_stuff(b):
    return re.sub(rb"(?m)^\.", b"..", b)


RECEIVED = re.compile(
    rb"Received: from (\S+) \(\[([0-9.]+)\]\)\r\n\tby mx\.rua\.example "
    rb"\(ruad\) with (ESMTPS?) id [0-9a-f]{16}"
    rb"(\r\n\t\(using (TLSv1\.[23]) with cipher [A-Z0-9_-]+\))?;\r\n"
    rb"\t[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d \+0000\r\n")


def tcp_established(server_port, client):
    """Is ruad's side of client's connection still ESTABLISHED
    (/proc/net/tcp)?"""
    cip, cport = client.sock.getsockname()
    with open("/proc/net/tcp") as f:
        next(f)
        for ln in f:
            parts = ln.split()
            lip, lport = parts[1].split(":")
            rip, rport = parts[2].split(":")
            if (int(lport, 16) == server_port and int(rport, 16) == cport and
                    socket.inet_ntoa(struct.pack("<I", int(rip, 16))) == cip):
                return parts[3] == "01"
    return False


# ---- the test

tmp = tempfile.mkdtemp(prefix="ruad-smtp.", dir="/tmp")
os.chmod(tmp, 0o755)             # Postfix (user postfix) works under it
pg = Postgres("smtp")
db = None
servers = []
timings = {}
postfix_dir = None
postfix_started = False


def lap(name, since):
    timings[name] = time.monotonic() - since
    return time.monotonic()


def rows_with(needle):
    """Inbound rows whose raw bytes contain needle."""
    return db.q("SELECT id, channel, host(peer_addr), smtp_helo, "
                "smtp_mail_from, smtp_rcpt_to, tls_version, tls_cipher, raw, "
                "state FROM inbound WHERE position(%s IN raw) > 0 ORDER BY id",
                needle)


def row(qid):
    r = db.q("SELECT id, channel, host(peer_addr), smtp_helo, smtp_mail_from,"
             " smtp_rcpt_to, tls_version, tls_cipher, raw, state FROM inbound "
             "WHERE id = %s", qid)
    return r[0] if r else None


def insert_waits():
    """Is a ruad storing thread waiting for our lock on inbound?"""
    return db.one("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a "
                  "USING (pid) WHERE NOT l.granted AND a.query LIKE "
                  "'INSERT INTO inbound%%'") > 0


def n_inbound():
    return db.one("SELECT count(*) FROM inbound")


def server_down_clean(s, what, max_s):
    t0 = time.monotonic()
    rc = s.stop(timeout=max_s)
    took = time.monotonic() - t0
    t.check(rc == 0, "%s: exit status %s (log: %s)" % (
        what, rc, s.text()[-1500:]))
    t.check(s.sanitizer_clean(), "%s: sanitizer report in the log: %s" % (
        what, s.text()[-3000:]))
    return took


def at_dot(port, mail_from=b"reporter@example.org"):
    """A raw client after DATA's 354, the message still to come."""
    c = Client(port)
    for line in (b"EHLO batch.test.example", b"MAIL FROM:<" + mail_from +
                 b">", b"RCPT TO:<dmarc@rua.example>", b"DATA"):
        code, text = c.cmd(line)
        if code not in (250, 354):
            raise AssertionError("%r -> %s" % (line, text))
    return c


def together(port, msgs, froms):
    """Each message on its own session, their final dots sent at once
    (they reach the storing threads together); the (code, text) of each."""
    clients = [at_dot(port, f) for f in froms]
    gate = threading.Barrier(len(clients))

    def end(i):
        gate.wait()
        clients[i].send(msgs[i] + b".\r\n")
        r = clients[i].reply()
        clients[i].cmd(b"QUIT")
        clients[i].close()
        return r
    with concurrent.futures.ThreadPoolExecutor(len(clients)) as ex:
        return list(ex.map(end, range(len(clients))))


def watcher(fn):
    """Run fn in a thread; its result (or exception) in a one-element list."""
    box = []

    def run():
        try:
            box.append(fn())
        except Exception as e:           # reported by the check reading it
            box.append(("exception", repr(e)))
    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th, box


def postfix_run(*args, timeout=60):
    p = subprocess.run(["postfix", "-c", postfix_dir, *args],
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, (p.stdout + p.stderr).strip()


def postfix_log():
    try:
        with open(os.path.join(os.path.dirname(postfix_dir), "maillog"),
                  errors="replace") as f:
            return f.read()
    except OSError:
        return ""


# mails are DKIM-checked: a local DNS server answers the key of the report
# mails made here and the samples' archived keys, and NXDOMAIN for
# everything else
made = ReportMails(os.path.join(tmp, "made"), "smtp%d" % os.getpid(),
                   n_dmarc=2, n_tls=2)
dns = Dnsmasq(made.records +
              (sample_keys(samples_dir()) if samples_dir() else []))

try:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096 and (hard == resource.RLIM_INFINITY or hard > soft):
        resource.setrlimit(resource.RLIMIT_NOFILE, (
            4096 if hard == resource.RLIM_INFINITY else min(4096, hard),
            hard))

    cert, key = os.path.join(tmp, "mx.crt"), os.path.join(tmp, "mx.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "30", "-subj", "/CN=" + HOST,
                    "-addext", "subjectAltName=DNS:" + HOST],
                   check=True, capture_output=True)
    os.chmod(key, 0o644)
    tls = ["--tls-cert=" + cert, "--tls-key=" + key]
    common = tls + ["--smtp-accept=" + ACCEPT, "--smtp-hostname=" + HOST,
                    "--smtp-greet-delay-ms=%d" % GREET_MS,
                    "--smtp-timeout=%d" % TIMEOUT, "--workers=2",
                    "--dns-server=" + dns.server,
                    "--trusted-reporters=smtp-test.example"]

    since = time.monotonic()
    pg.start()
    db = DB(pg.url)
    env = dict(os.environ, RUAD_DATABASE_URL=pg.url)
    p = subprocess.run([RUAD, "migrate"], env=env, capture_output=True,
                       text=True)
    t.check(p.returncode == 0, "migrate: %s %s" % (p.stdout, p.stderr))
    S = Server(tmp, "smtp", env, *common,
               "--smtp-max-message-size=%d" % MAX_MSG,
               "--smtp-max-per-ip=%d" % PER_IP)
    servers.append(S)
    if not t.check(S.start(), "ruad serve with SMTP starts: %s" %
                   S.text()[-2000:]):
        raise SystemExit
    port = S.port
    since = lap("postgres + server start", since)

    # --- Postfix: set up (check, start) in the background meanwhile
    pf_port = None

    def postfix_setup():
        """A private Postfix relaying to ruad; None when it runs, else
        ("skip" or "fail", why)."""
        global postfix_dir, postfix_started, pf_port
        pf_why = None
        if os.geteuid() != 0:
            pf_why = ("not root: a private Postfix needs root (mail_owner "
                      "postfix)")
        elif not shutil.which("postfix") or not shutil.which("sendmail"):
            pf_why = "postfix is not installed"
        else:
            try:
                import pwd
                import grp
                pwd.getpwnam("postfix")
                grp.getgrnam("postdrop")
            except KeyError:
                pf_why = "no postfix user or postdrop group"
        if pf_why:
            return "skip", pf_why
        # its own tree: etc (the config directory, root's alone: `postfix
        # check` walks it), queue, data, maillog
        pf_root = os.path.join(tmp, "postfix")
        postfix_dir = os.path.join(pf_root, "etc")
        for d in ("etc", "queue", "data"):
            os.makedirs(os.path.join(pf_root, d))
        os.chmod(pf_root, 0o755)
        shutil.chown(os.path.join(pf_root, "data"), "postfix")
        pf_port = free_port()
        with open(os.path.join(postfix_dir, "main.cf"), "w") as f:
            f.write("\n".join([
                "compatibility_level = 3.6",
                "queue_directory = %s/queue" % pf_root,
                "data_directory = %s/data" % pf_root,
                "mail_owner = postfix", "setgid_group = postdrop",
                "maillog_file = %s/maillog" % pf_root,
                "maillog_file_prefixes = %s" % pf_root,
                "myhostname = relay.test.example",
                "mydomain = test.example", "myorigin = $myhostname",
                "inet_interfaces = 127.0.0.1", "inet_protocols = ipv4",
                "mydestination =", "local_recipient_maps =",
                "alias_maps =", "alias_database =",
                "mynetworks = 127.0.0.0/8",
                "smtpd_relay_restrictions = permit_mynetworks, reject",
                "relayhost = [127.0.0.1]:%d" % port,
                "smtp_tls_security_level = encrypt",
                "smtp_tls_loglevel = 1", "smtputf8_enable = no",
                "biff = no", "smtp_connection_cache_on_demand = no",
                "queue_run_delay = 2s", "minimal_backoff_time = 2s",
                "maximal_backoff_time = 4s", ""]))
        with open("/etc/postfix/master.cf") as f:
            master = f.read()
        master, n = re.subn(r"(?m)^smtp(\s+)inet(\s.*)$",
                            "127.0.0.1:%d inet  n       -       n       -"
                            "       -       smtpd" % pf_port, master)
        with open(os.path.join(postfix_dir, "master.cf"), "w") as f:
            f.write(master)
        rc = subprocess.run(["postconf", "-c", postfix_dir, "-F",
                             "*/*/chroot = n"], capture_output=True,
                            text=True)
        t_pf = time.monotonic()
        rc_check, out_check = postfix_run("check")
        timings["postfix check"] = time.monotonic() - t_pf
        if n != 1 or rc.returncode != 0 or rc_check != 0:
            pf_why = ("postfix check failed (exit %d; master.cf smtp "
                      "line found %d times): %s %s %s" % (
                          rc_check, n, rc.stderr, out_check,
                          postfix_log()[-1500:]))
        else:
            t_pf = time.monotonic()
            rc_start, out_start = postfix_run("start")
            postfix_started = rc_start == 0
            timings["postfix start"] = time.monotonic() - t_pf

            def pf_up():
                try:
                    x = socket.create_connection(("127.0.0.1", pf_port),
                                                 1)
                    x.close()
                    return True
                except OSError:
                    return False
            if not postfix_started or not wait_for(pf_up, 15):
                pf_why = "postfix start failed (exit %d): %s %s" % (
                    rc_start, out_start, postfix_log()[-1500:])
        return ("fail", pf_why) if pf_why else None

    w_postfix = watcher(postfix_setup)

    # --- watchers that need --smtp-timeout to pass (started after swaks)
    def idle_watch():
        c = Client(port)
        c.cmd(b"EHLO idle.test.example")
        t1 = time.monotonic()
        c.sock.settimeout((TIMEOUT + 10) * SLOW)
        code, text = c.reply()
        took = time.monotonic() - t1
        return code, text, took, c.closed(3)

    def handshake_watch():
        # STARTTLS answered, then no handshake at all
        c = Client(port)
        c.cmd(b"EHLO stall.test.example")
        code, text = c.cmd(b"STARTTLS")
        t1 = time.monotonic()
        closed = c.closed(TIMEOUT + 5)
        return code, time.monotonic() - t1, closed

    def partial_handshake_watch():
        # the first bytes of a TLS record, and nothing more
        c = Client(port)
        c.cmd(b"EHLO stall2.test.example")
        c.cmd(b"STARTTLS")
        c.send(b"\x16\x03\x01\x02\x00\x01")
        t1 = time.monotonic()
        closed = c.closed(TIMEOUT + 5)
        return time.monotonic() - t1, closed

    def noread_watch():
        # commands, and never a reply read: the server's buffers fill (EHLO:
        # a long reply for a short command)
        c = Client(port, rcvbuf=4096)
        c.sock.setblocking(False)
        chunk = b"EHLO x\r\n" * 2000
        sent, last = 0, time.monotonic()
        while time.monotonic() - last < 0.5 and sent < (64 << 20):
            try:
                sent += c.sock.send(chunk)
                last = time.monotonic()
            except BlockingIOError:
                time.sleep(0.02)
        t1 = time.monotonic()
        gone = wait_for(lambda: not tcp_established(port, c), TIMEOUT + 5,
                        step=0.2)
        took = time.monotonic() - t1
        c.close()
        return sent, took, gone


    # --- the banner: after the greet delay; input before it is 554
    c = Client(port)
    wait = c.t_banner - c.t_connect
    t.check(c.banner[0] == 220 and
            c.banner[1].startswith("220 %s ESMTP" % HOST),
            "banner: %r" % (c.banner,))
    t.check(wait >= GREET_MS / 1000.0 - 0.01, "banner after %.3f s, want at "
            "least the %d ms greet delay" % (wait, GREET_MS))
    code, text = c.cmd(b"EHLO client.test.example")
    ext = [ln[4:] for ln in text.split("\n")]
    t.check(code == 250 and "SIZE %d" % MAX_MSG in ext and "PIPELINING" in
            ext and "8BITMIME" in ext and "STARTTLS" in ext and
            "ENHANCEDSTATUSCODES" in ext, "EHLO extensions: %r" % text)
    t.check(c.cmd(b"QUIT")[0] == 221 and c.closed(), "QUIT: 221 and close")
    c.close()

    c = Client(port, banner=False)
    c.send(b"EHLO early.test.example\r\n")
    code, text = c.reply()
    t.check(code == 554 and text.startswith("554 5.5.0") and
            "220" not in text, "input before the banner: %r" % text)
    t.check(c.closed(), "input before the banner: connection closed")
    c.close()
    since = lap("banner", since)

    # --- every report mail made here (ReportMails: DKIM-signed DMARC and
    # TLS reports) and every sample report mail, by swaks, plain and with
    # STARTTLS
    root = samples_dir()
    sample_rows = []                 # (file, kind, tls, inbound id)
    if root is None:
        t.skip(6, "samples folder not found ($RUAD_SAMPLES or "
               "../shared/samples): the swaks deliveries of eml/aggregate, "
               "eml/tlsrpt and eml/failure, plain and with STARTTLS "
               "(6 groups) did not run; the mails made here did")
    if shutil.which("swaks") is None:
        t.check(False, "swaks is not installed")
    else:
        jobs = [("made", path, use_tls) for path in made.paths
                for use_tls in (False, True)]
        for kind in ("aggregate", "tlsrpt", "failure") if root else ():
            d = os.path.join(root, "eml", kind)
            for name in sorted(os.listdir(d)):
                if name.endswith(".eml"):
                    for use_tls in (False, True):
                        jobs.append((kind, os.path.join(d, name), use_tls))
        wires = {}
        for kind, path, use_tls in jobs:
            if (path, use_tls) not in wires:
                with open(path, "rb") as f:
                    orig = f.read()
                # each delivery gets a header of its own: the same bytes
                # again (the STARTTLS copy, or a sample that differs from
                # another only in its line ends) would be answered as
                # stored, and not stored
                canon = b"X-Test-Copy: %d\r\n" % len(wires) + crlf(orig)
                wire = os.path.join(tmp, "wire-%d.eml" % len(wires))
                with open(wire, "wb") as f:
                    f.write(dot_stuff(canon) + b".")   # swaks adds CRLF
                wires[(path, use_tls)] = (orig, canon, wire)

        def swaks(job):
            i, (kind, path, use_tls) = job
            src = "127.0.2.%d" % (i + 1)
            rcpt = "dmarc@rua.example" if i % 2 == 0 else \
                "tlsrpt-%d@tls.example" % i
            cmd = ["swaks", "--server", "127.0.0.1:%d" % port, "-li", src,
                   "--ehlo", "swaks.test.example", "--from",
                   "reporter-%d@example.org" % i, "--to", rcpt, "--data",
                   "@" + wires[(path, use_tls)][2], "--no-data-fixup",
                   "--timeout",
                   "%d" % (30 * SLOW)]
            if use_tls:
                cmd.append("-tls")
            p = subprocess.run(cmd, capture_output=True, text=True,
                               timeout=60 * SLOW)
            return i, kind, path, use_tls, src, rcpt, p.returncode, p.stdout

        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            results = list(ex.map(swaks, enumerate(jobs)))
        for i, kind, path, use_tls, src, rcpt, rc, out in results:
            name = "%s/%s %s" % (kind, os.path.basename(path),
                                 "STARTTLS" if use_tls else "plain")
            orig, canon, _ = wires[(path, use_tls)]
            m = re.search(r"<[-~]\s+250 2\.0\.0 Ok: queued as (\d+)", out)
            if not t.check(rc == 0 and m, "%s: swaks exit %d, no 250: %s" % (
                    name, rc, out[-800:])):
                continue
            qid = ack(m.group(0), canon[-200:], name)
            if use_tls:
                t.check("=== TLS started" in out, "%s: swaks did STARTTLS" %
                        name)
            r = row(qid)
            if not t.check(r is not None, "%s: row %s stored" % (name, qid)):
                continue
            _, ch, peer, helo, mfrom, rto, tlsv, cipher, raw, _ = r
            raw = bytes(raw)
            hm = RECEIVED.match(raw)
            t.check(ch == "smtp" and peer == src and
                    helo == "swaks.test.example" and
                    mfrom == "reporter-%d@example.org" % i and rto == [rcpt],
                    "%s: envelope %r" % (name, r[1:6]))
            t.check(bool(tlsv and tlsv.startswith("TLSv1.") and cipher) ==
                    use_tls, "%s: tls_version %r cipher %r" % (name, tlsv,
                                                               cipher))
            t.check(hm and hm.group(1) == b"swaks.test.example" and
                    hm.group(2) == src.encode() and
                    hm.group(3) == (b"ESMTPS" if use_tls else b"ESMTP") and
                    bool(hm.group(4)) == use_tls and
                    (not use_tls or hm.group(5).decode() == tlsv),
                    "%s: our Received header first: %r" % (name, raw[:300]))
            t.check(hm and raw[hm.end():] == canon,
                    "%s: the original bytes follow it unchanged (%d bytes "
                    "stored after the header, %d sent)" % (
                        name, len(raw) - (hm.end() if hm else 0),
                        len(canon)))
            if orig == crlf(orig):       # already CRLF: the very same bytes
                t.check(raw.endswith(orig), "%s: byte for byte" % name)
            sample_rows.append((name, kind, use_tls, qid))
        t.check(len(sample_rows) == len(jobs), "%d of %d sample deliveries "
                "stored" % (len(sample_rows), len(jobs)))
    since = lap("swaks samples", since)

    # the watchers run from here on, beside the checks below
    w_idle = watcher(idle_watch)
    w_hs = watcher(handshake_watch)
    w_hs2 = watcher(partial_handshake_watch)
    w_noread = watcher(noread_watch)

    # --- PIPELINING with smtplib: several commands in one write
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="pipe.test.example",
                     timeout=10 * SLOW, source_address=(next_ip(), 0))
    s.ehlo()
    t.check(s.has_extn("pipelining"), "EHLO offers PIPELINING to smtplib")
    m1, m2 = message(b"pipe-1-" + RUN.encode()), \
        message(b"pipe-2-" + RUN.encode())
    s.send(b"MAIL FROM:<pipe@example.org>\r\nRCPT TO:<dmarc@rua.example>\r\n"
           b"RCPT TO:<nobody@elsewhere.example>\r\nRCPT TO:<x@tls.example>"
           b"\r\nDATA\r\n")
    got = [s.getreply() for _ in range(5)]
    t.check([g[0] for g in got] == [250, 250, 550, 250, 354],
            "pipelined MAIL, 3 RCPT, DATA: %r" % got)
    s.send(m1 + b".\r\nMAIL FROM:<pipe2@example.org>\r\n"
           b"RCPT TO:<dmarc@rua.example>\r\nDATA\r\n" + m2 +
           b".\r\nNOOP\r\nQUIT\r\n")
    got = [s.getreply() for _ in range(6)]
    t.check([g[0] for g in got] == [250, 250, 250, 354, 250, 250] and
            b"queued as" in got[0][1] and b"queued as" in got[4][1],
            "pipelined end of data, MAIL, RCPT, DATA, data, NOOP: %r" % got)
    q1 = ack(got[0][1].decode(), b"body pipe-1-" + RUN.encode(),
             "pipelined 1")
    q2 = ack(got[4][1].decode(), b"body pipe-2-" + RUN.encode(),
             "pipelined 2")
    got = s.getreply()
    t.check(got[0] == 221, "pipelined QUIT: %r" % (got,))
    s.close()
    r1, r2 = row(q1), row(q2)
    t.check(r1 and r1[4] == "pipe@example.org" and
            r1[5] == ["dmarc@rua.example", "x@tls.example"] and
            bytes(r1[8]).endswith(m1), "first pipelined message: %r" % (
                r1[1:6] if r1 else None,))
    t.check(r2 and r2[4] == "pipe2@example.org" and
            bytes(r2[8]).endswith(m2), "second pipelined message")
    since = lap("pipelining", since)

    # --- limits, one step past each
    c = Client(port)
    c.cmd(b"EHLO limits.test.example")
    line = b"NOOP " + b"x" * (512 - 7)
    t.check(len(line) + 2 == 512 and c.cmd(line)[0] == 250,
            "a command line of 512 bytes with CRLF is taken")
    code, text = c.cmd(line + b"x")
    t.check(code == 500 and text.startswith("500 5.5.2"),
            "a command line of 513 bytes: %r" % text)
    code, text = c.cmd(b"NOOP")
    t.check(code == 250, "the session goes on after it: %r" % text)
    code, text = c.cmd(b"MAIL FROM:<size@example.org> SIZE=%d" % (MAX_MSG + 1))
    t.check(code == 552 and text.startswith("552 5.3.4"),
            "SIZE=%d: %r" % (MAX_MSG + 1, text))
    code, text = c.cmd(b"MAIL FROM:<size@example.org> SIZE=%d" % MAX_MSG)
    t.check(code == 250, "SIZE=%d (the cap): %r" % (MAX_MSG, text))
    c.cmd(b"RCPT TO:<dmarc@rua.example>")
    t.check(c.cmd(b"DATA")[0] == 354, "DATA after SIZE at the cap")
    at_cap = sized(b"at-cap-" + RUN.encode(), MAX_MSG)
    c.send(at_cap + b".\r\n")
    code, text = c.reply()
    if t.check(code == 250, "a message of exactly the cap: %r" % text):
        qid = ack(text, b"body at-cap-" + RUN.encode(),
                  "at the cap")
        r = row(qid)
        t.check(r and bytes(r[8]).endswith(at_cap) and
                RECEIVED.match(bytes(r[8])).end() + MAX_MSG == len(r[8]),
                "the message at the cap stored whole")
    over = sized(b"over-cap-" + RUN.encode(), MAX_MSG + 1)
    c.cmd(b"MAIL FROM:<size@example.org>")
    c.cmd(b"RCPT TO:<dmarc@rua.example>")
    c.cmd(b"DATA")
    c.send(over + b".\r\n")
    code, text = c.reply()
    t.check(code == 552 and text.startswith("552 5.3.4"),
            "one byte over the cap, no SIZE: %r" % text)
    t.check(not rows_with(b"over-cap-" + RUN.encode()),
            "the message over the cap is not stored")
    t.check(c.cmd(b"NOOP")[0] == 250, "the session goes on after 552")

    # recipients: 100 taken, the 101st 452 4.5.3 (pipelined)
    c.send(b"MAIL FROM:<many@example.org>\r\n" + b"".join(
        b"RCPT TO:<r%d@tls.example>\r\n" % i for i in range(101)))
    got = c.replies(102)
    t.check(got[0][0] == 250 and all(g[0] == 250 for g in got[1:101]),
            "100 recipients taken: %r" % [g for g in got[:101] if
                                          g[0] != 250][:3])
    t.check(got[101][0] == 452 and got[101][1].startswith("452 4.5.3"),
            "recipient 101: %r" % (got[101],))
    c.cmd(b"DATA")
    mm = message(b"many-rcpt-" + RUN.encode())
    c.send(mm + b".\r\n")
    code, text = c.reply()
    if t.check(code == 250, "the message to 100 recipients: %r" % text):
        r = row(ack(text, b"body many-rcpt-" + RUN.encode(),
                   "100 recipients"))
        t.check(r and r[5] == ["r%d@tls.example" % i for i in range(100)],
                "smtp_rcpt_to holds the 100 in order: %d" % (
                    len(r[5]) if r else -1))

    # no relaying; the accept list by address and by domain, any case
    for addr, want in (("dmarc@rua.example", 250),
                       ("DMARC@Rua.Example", 250),
                       ("anyone@tls.example", 250),
                       ("X@TLS.EXAMPLE", 250),
                       ("postmaster@rua.example", 550),
                       ("dmarc@rua.example.evil", 550),
                       ("dmarc@sub.rua.example", 550),
                       ("x@sub.tls.example", 550),
                       ("x@tls.example.com", 550),
                       ("victim@gmail.example", 550),
                       ("dmarc%rua.example@relay.example", 550)):
        c.cmd(b"RSET")
        c.cmd(b"MAIL FROM:<relay@example.org>")
        code, text = c.cmd(b"RCPT TO:<%s>" % addr.encode())
        t.check(code == want and (want == 250 or
                                  text.startswith("550 5.1.1")),
                "RCPT TO:<%s>: want %d, got %r" % (addr, want, text))
        c.cmd(b"RSET")
        c.close()
        c = Client(port)                 # 550s count as errors: fresh session
        c.cmd(b"EHLO limits.test.example")
    c.cmd(b"MAIL FROM:<relay@example.org>")
    c.cmd(b"RCPT TO:<nobody@elsewhere.example>")
    code, text = c.cmd(b"DATA")
    t.check(code == 554, "DATA with no accepted recipient: %r" % text)
    c.close()

    # commands out of sequence: 503 5.5.1
    c = Client(port)
    for cmd, why in ((b"MAIL FROM:<a@example.org>", "MAIL before EHLO"),
                     (b"STARTTLS", "STARTTLS before EHLO")):
        code, text = c.cmd(cmd)
        t.check(code == 503 and text.startswith("503 5.5.1"),
                "%s: %r" % (why, text))
    c.cmd(b"EHLO seq.test.example")
    for cmd, why in ((b"RCPT TO:<dmarc@rua.example>", "RCPT before MAIL"),
                     (b"DATA", "DATA before MAIL")):
        code, text = c.cmd(cmd)
        t.check(code == 503 and text.startswith("503 5.5.1"),
                "%s: %r" % (why, text))
    c.cmd(b"MAIL FROM:<a@example.org>")
    code, text = c.cmd(b"MAIL FROM:<b@example.org>")
    t.check(code == 503, "MAIL twice: %r" % text)
    code, text = c.cmd(b"DATA")
    t.check(code == 554, "DATA with no recipient: %r" % text)
    c.close()

    # The envelope is stored as text: bytes that are not UTF-8 are refused
    # once, with a 5xx (they used to fail the insert with 451 at every
    # retry); well-formed UTF-8 is taken.
    c = Client(port)
    for cmd, want, why in (
            (b"EHLO bad\xff.example", "501 5.5.4", "EHLO not UTF-8"),
            (b"HELO \xc0\xafoverlong.example", "501 5.5.4",
             "HELO with an overlong form"),
            (b"EHLO utf8.test.example", "250", "EHLO after them"),
            (b"MAIL FROM:<a\xed\xa0\x80@example.org>", "501 5.1.7",
             "MAIL FROM with a surrogate"),
            (b"MAIL FROM:<\xc3\xa9t\xc3\xa9@example.org>", "250",
             "MAIL FROM in UTF-8"),
            (b"RCPT TO:<dmarc\xf5@rua.example>", "501 5.1.3",
             "RCPT TO not UTF-8"),
            (b"RCPT TO:<dmarc@rua.example>", "250", "RCPT TO after it")):
        code, text = c.cmd(cmd)
        t.check(text.startswith(want), "%s: %r (want %s)" % (why, text,
                                                             want))
    c.close()

    # 10 errors: 421 and the connection closes
    c = Client(port)
    c.send(b"XYZZY\r\n" * 10)
    got = c.replies(11)
    t.check([g[0] for g in got] == [500] * 10 + [421] and
            got[10][1].startswith("421 4.7.0"),
            "10 errors: %r" % [g[1] for g in got][-3:])
    t.check(c.closed(), "10 errors: closed")
    c.close()
    c = Client(port)
    c.send(b"XYZZY\r\n" * 9 + b"NOOP\r\n")
    got = c.replies(10)
    t.check([g[0] for g in got] == [500] * 9 + [250],
            "9 errors: the session goes on: %r" % [g[0] for g in got])
    c.close()

    # the per-address cap: 5 sessions, the 6th is 421 4.7.0 at connect
    ip = next_ip()
    five = [Client(port, src=ip) for _ in range(PER_IP)]
    t.check(all(x.banner[0] == 220 for x in five), "%d sessions from one "
            "address: %r" % (PER_IP, [x.banner for x in five]))
    # the sixth, and right behind it (one burst of accepts, as likely as
    # not) ten from other addresses, which must not share its refusal
    burst = [Client(port, src=ip, banner=False)] + [
        Client(port, banner=False) for _ in range(10)]
    sixth = burst[0]
    got = [x.reply() for x in burst]
    t.check(got[0][0] == 421 and got[0][1].startswith("421 4.7.0"),
            "session %d from one address: %r" % (PER_IP + 1, got[0]))
    t.check(sixth.closed(), "session %d: closed" % (PER_IP + 1))
    t.check(all(g[0] == 220 for g in got[1:]), "other addresses meanwhile, "
            "in the same burst: %r" % [g[1] for g in got[1:] if g[0] != 220])
    for x in burst:
        x.close()
    five[0].cmd(b"QUIT")
    five[0].close()

    def again():
        x = Client(port, src=ip)
        ok = x.banner[0] == 220
        x.close()
        return ok
    t.check(wait_for(again, 5), "one closed, the address is let in again")
    for x in five[1:]:
        x.close()
    since = lap("limits", since)

    # --- SMTP smuggling: a bare LF or CR never ends DATA
    variants = ((b"LF.LF", b"\n.\n"), (b"CR.CR", b"\r.\r"),
                (b"CRLF.LF", b"\r\n.\n"), (b"LF.CRLF", b"\n.\r\n"))

    def smuggle(srv_port, tag, ending):
        mk = b"SMUGGLE-" + tag + b"-" + RUN.encode()
        c = Client(srv_port)
        c.send(b"EHLO smuggler.test.example\r\nMAIL FROM:<a@example.org>\r\n"
               b"RCPT TO:<dmarc@rua.example>\r\nDATA\r\n")
        first = c.replies(4)
        c.send(message(mk) + b"before" + ending +
               b"MAIL FROM:<smuggler@evil.example>\r\n"
               b"RCPT TO:<dmarc@rua.example>\r\nDATA\r\n"
               b"Subject: smuggled\r\n\r\n" + mk + b" smuggled body\r\n"
               b".\r\nQUIT\r\n")
        rest, why = c.all_replies()
        c.close()
        return mk, first, rest, why

    for tag, ending in variants:
        before = n_inbound()
        mk, first, rest, why = smuggle(port, tag, ending)
        codes = [g[0] for g in rest]
        name = "smuggling %s" % tag.decode()
        t.check([g[0] for g in first] == [250, 250, 250, 354],
                "%s: transaction: %r" % (name, first))
        if t.check(codes == [250, 221] and "queued as" in rest[0][1],
                   "%s: one 250 and the QUIT, nothing smuggled: %r" % (
                       name, rest)):
            ack(rest[0][1], mk + b" smuggled body", name)
        found = rows_with(mk)
        t.check(len(found) == 1 and n_inbound() == before + 1,
                "%s: one message stored (%d rows with the marker, %d new "
                "rows)" % (name, len(found), n_inbound() - before))
        t.check(found and b"MAIL FROM:<smuggler@evil.example>" in
                bytes(found[0][8]) and mk + b" smuggled body" in
                bytes(found[0][8]), "%s: the smuggled text is in it" % name)
    since = lap("smuggling", since)

    # --- STARTTLS: injection (CVE-2011-0411), twice, EHLO again
    c = Client(port)
    c.cmd(b"EHLO inject.test.example")
    c.send(b"STARTTLS\r\nRSET\r\n")            # one write
    code, text = c.reply()
    t.check(code == 220 and text.startswith("220 2.0.0"),
            "STARTTLS: %r" % text)
    r, _, _ = select.select([c.sock], [], [], 0.3)
    t.check(not c.buf and not r, "nothing more in the clear after the 220: "
            "%r" % c.buf)
    c.starttls()
    code, text = c.cmd(b"EHLO inject.test.example")
    t.check(code == 250 and "greets" in text.split("\n")[0],
            "the first reply over TLS answers EHLO, not the injected RSET: "
            "%r" % text)
    t.check("STARTTLS" not in text, "no STARTTLS offered over TLS: %r" % text)
    code, text = c.cmd(b"NOOP")
    t.check(code == 250 and text == "250 2.0.0 Ok", "NOOP after it: %r" % text)
    code, text = c.cmd(b"STARTTLS")
    t.check(code == 554 and text.startswith("554 5.5.1"),
            "STARTTLS twice: %r" % text)
    c.send(b"MAIL FROM:<tls@example.org>\r\nRCPT TO:<dmarc@rua.example>\r\n"
           b"DATA\r\n")
    t.check([g[0] for g in c.replies(3)] == [250, 250, 354],
            "a transaction over TLS")
    mk = b"after-injection-" + RUN.encode()
    c.send(message(mk) + b".\r\n")
    code, text = c.reply()
    if t.check(code == 250, "message over TLS: %r" % text):
        r = row(ack(text, b"body " + mk, "after STARTTLS injection"))
        t.check(r and (r[6] or "").startswith("TLSv1.") and
                r[3] == "inject.test.example",
                "stored with its TLS version and the EHLO given over TLS")
    c.cmd(b"QUIT")
    c.close()
    t.check(wait_for(lambda: "dropped 6 plaintext bytes after STARTTLS" in
                     S.text(), 2), "the log says the RSET was dropped")

    # after STARTTLS the client must say EHLO again (RFC 3207 4.2)
    c = Client(port)
    c.cmd(b"EHLO again.test.example")
    c.cmd(b"STARTTLS")
    c.starttls()
    code, text = c.cmd(b"MAIL FROM:<a@example.org>")
    t.check(code == 503, "MAIL right after the handshake: %r" % text)
    c.close()
    since = lap("STARTTLS", since)

    # --- a real Postfix relays reports over STARTTLS
    w_postfix[0].join(120)
    res = w_postfix[1][0] if w_postfix[1] else ("fail", "setup did not end")
    pf_why = res[1] if res else None
    if res and res[0] == "skip":
        print("POSTFIX NOT RUN: %s" % pf_why, flush=True)
        t.skip(6, "Postfix relay: %s" % pf_why)
    else:
        if pf_why:
            print("POSTFIX DID NOT RUN: %s" % pf_why, flush=True)
            t.check(False, "Postfix relay could not run: %s" % pf_why)
        else:
            # one report by sendmail -t (recipient from To:), one through
            # Postfix's own smtpd with swaks
            rid1, rid2 = "pf-sendmail-" + RUN, "pf-smtpd-" + RUN
            m1 = report_mail(rid1, nl=b"\n")
            p = subprocess.run(["sendmail", "-C", postfix_dir, "-f",
                                "tlsrpt@smtp-test.example", "-t"], input=m1,
                               capture_output=True, timeout=30)
            t.check(p.returncode == 0, "sendmail -t: %d %s" % (
                p.returncode, p.stderr))
            wire2 = os.path.join(tmp, "pf-smtpd.eml")
            with open(wire2, "wb") as f:
                f.write(dot_stuff(report_mail(rid2, "tlsrpt@tls.example")) +
                        b".")
            p = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % pf_port,
                                "-li", next_ip(), "--ehlo",
                                "reporter.test.example", "--from",
                                "tlsrpt@smtp-test.example", "--to",
                                "tlsrpt@tls.example", "--data", "@" + wire2,
                                "--no-data-fixup"], capture_output=True,
                               text=True, timeout=60)
            t.check(p.returncode == 0 and "250 2.0.0 Ok: queued as" in
                    p.stdout, "swaks into Postfix's smtpd: %s" %
                    p.stdout[-600:])
            for rid, how, theirs in (
                    (rid1, "sendmail -t",
                     rb"Received: by relay\.test\.example \(Postfix, from "
                     rb"userid 0\)"),
                    (rid2, "Postfix smtpd",
                     rb"Received: from reporter\.test\.example \(\S+ "
                     rb"\[127\.[0-9.]+\]\)\r\n\tby relay\.test\.example "
                     rb"\(Postfix\) with ESMTP")):
                needle = b"Report-ID: <" + rid.encode() + b">"
                found = wait_for(lambda: rows_with(needle), 30)
                if not t.check(len(found or []) == 1,
                               "Postfix (%s) delivered to ruad: %d rows; "
                               "maillog: %s" % (how, len(found or []),
                                                postfix_log()[-2000:])):
                    continue
                _, ch, peer, helo, mfrom, rto, tlsv, cipher, raw, _ = \
                    found[0]
                raw = bytes(raw)
                hm = RECEIVED.match(raw)
                t.check(ch == "smtp" and peer == "127.0.0.1" and
                        helo == "relay.test.example" and
                        mfrom == "tlsrpt@smtp-test.example" and
                        rto == [("dmarc@rua.example" if rid == rid1 else
                                 "tlsrpt@tls.example")],
                        "Postfix (%s): envelope %r" % (how, found[0][1:6]))
                t.check((tlsv or "").startswith("TLSv1.") and cipher,
                        "Postfix (%s): over STARTTLS: %r %r" % (how, tlsv,
                                                                cipher))
                t.check(hm and hm.group(1) == b"relay.test.example" and
                        hm.group(3) == b"ESMTPS" and
                        re.match(theirs, raw[hm.end():]),
                        "Postfix (%s): our Received names the relay, then "
                        "Postfix's own: %r" % (how, raw[:500]))
            # Postfix logs status=sent after our 250, which the rows
            # above already show: give its log a moment to catch up
            sent_re = (r"status=sent \((250 2\.0\.0 Ok: queued as "
                       r"\d+)\)")
            wait_for(lambda: len(re.findall(sent_re, postfix_log())) >= 2,
                     30)
            log = postfix_log()
            sent = re.findall(sent_re, log)
            t.check(len(sent) == 2 and "TLS connection established to "
                    "127.0.0.1[127.0.0.1]:%d" % port in log,
                    "maillog: two sent over TLS: %s" % log[-1500:])
            for text in sent:
                # each queued id must hold a report Postfix relayed
                ack(text, b"by relay.test.example (Postfix", "Postfix relay")
            pf_rids = (rid1, rid2)
        if postfix_started:
            rc_stop, out_stop = postfix_run("stop")
            t.check(rc_stop == 0, "postfix stop: %s" % out_stop)
            postfix_started = rc_stop != 0
    since = lap("postfix relay", since)

    # --- 1,000 idle sessions, and a delivery meanwhile
    idle, failed = [], []
    for i in range(1000):
        src = "127.20.%d.%d" % (i // 4 // 250, (i // 4) % 250 + 1)
        x = socket.socket()
        x.setblocking(True)
        x.settimeout(10 * SLOW)
        try:
            x.bind((src, 0))
            x.connect(("127.0.0.1", port))
            idle.append(x)
        except OSError as e:
            failed.append(repr(e))
            x.close()
    banners, pending = {}, {x.fileno(): x for x in idle}
    poller = select.poll()
    for fd in pending:
        poller.register(fd, select.POLLIN)
    end = time.monotonic() + 10 * SLOW
    while pending and time.monotonic() < end:
        for fd, _ in poller.poll(200):
            x = pending.get(fd)
            if x is None:
                continue
            try:
                banners[fd] = x.recv(512)
            except OSError as e:
                banners[fd] = repr(e).encode()
            poller.unregister(fd)
            del pending[fd]
    good = sum(1 for b in banners.values() if b.startswith(b"220 " +
                                                             HOST.encode()))
    t.check(not failed and good == 1000, "1000 idle sessions, each with its "
            "banner: %d connected, %d banners (%s)" % (
                len(idle), good, (failed or [b for b in banners.values() if
                                             not b.startswith(b"220")])[:3]))
    rss = S.rss_kib()
    mk = b"among-1000-" + RUN.encode()
    t1 = time.monotonic()
    code, text = deliver(port, report_mail("idle-1000-" + RUN).replace(
        b"A TLS report.", b"A TLS report. " + mk), mk,
        what="among 1000 idle")
    took = time.monotonic() - t1
    t.check(code == 250 and took < 5 * SLOW, "a delivery among 1000 idle "
            "sessions: %r in %.2f s" % (text, took))
    for x in idle:
        x.close()
    print("ruad RSS with 1000 idle SMTP sessions: %.1f MiB" % (
        (rss or 0) / 1024.0), flush=True)
    since = lap("1000 idle", since)

    # --- the reports' verdicts (before the database goes away)
    def settled_ids(ids):
        def f():
            st = db.q("SELECT id, state FROM inbound WHERE id = ANY(%s)",
                      list(ids))
            d = dict(st)
            return d if len(d) == len(ids) and not set(d.values()) & {
                "pending", "processing"} else None
        return wait_for(f, 30) or dict(db.q(
            "SELECT id, state FROM inbound WHERE id = ANY(%s)", list(ids)))

    if sample_rows:
        st = settled_ids([q for _, _, _, q in sample_rows])
        for name, kind, use_tls, qid in sample_rows:
            if kind == "made":
                # signed here, its key on the test's DNS server (the
                # STARTTLS copy is the same report again)
                want = ("parsed", "duplicate")
            elif kind == "failure":
                want = ("not_a_report",)
            elif kind == "tlsrpt" and "mox_tls_google_example" not in name:
                # RFC 8460 5.3: no aligned DKIM pass (the others' keys are
                # not archived, or their bodies were edited)
                want = ("unauthenticated",)
            else:
                want = ("parsed", "duplicate")
            t.check(st.get(qid) in want, "%s: verdict %s, want %s" % (
                name, st.get(qid), " or ".join(want)))
        for table, col, made_ids in (
                ("dmarc_report", "report_id", made.dmarc),
                ("tlsrpt_report", "report_id", made.tls)):
            for rid, _ in made_ids:
                n = db.one("SELECT count(*) FROM " + table + " WHERE " +
                           col + " = %s", rid)
                t.check(n == 1, "made report %s: %d rows in %s" % (
                    rid, n, table))
    # RFC 8460 5.3 end to end: an unsigned TLS report from a domain nobody
    # trusts is kept raw, unauthenticated, and not counted
    rid_u = "unsigned-%d" % os.getpid()
    code, _ = deliver(port, report_mail(rid_u,
                                        frm=b"tlsrpt@untrusted.example"),
                      b"Report-ID: <" + rid_u.encode() + b">")
    t.check(code == 250, "unsigned TLS report mail taken: %r" % code)
    r = rows_with(b"Report-ID: <" + rid_u.encode() + b">")
    st = settled_ids([x[0] for x in r]) if r else {}
    t.check(list(st.values()) == ["unauthenticated"],
            "unsigned TLS report from an untrusted domain: %s" % st)
    t.check(db.one("SELECT count(*) FROM tlsrpt_report WHERE report_id = "
                   "%s", rid_u) == 0, "unsigned TLS report not stored")
    if not pf_why:
        for rid in pf_rids:
            r = rows_with(b"Report-ID: <" + rid.encode() + b">")
            st = settled_ids([x[0] for x in r]) if r else {}
            t.check(list(st.values()) == ["parsed"],
                    "the report Postfix relayed (%s) is parsed: %s" % (rid,
                                                                       st))
    since = lap("verdicts", since)

    # --- the watchers: idle timeout, stalled handshakes, a client not reading
    for th, _ in (w_idle, w_hs, w_hs2, w_noread):
        th.join((TIMEOUT + 20) * SLOW)
    res = w_idle[1][0] if w_idle[1] else ("no result",)
    t.check(len(res) == 4 and res[0] == 421 and res[1].startswith(
        "421 4.4.2") and TIMEOUT - 0.5 <= res[2] <= TIMEOUT + 3 * SLOW and
        res[3], "idle past --smtp-timeout=%d: 421 4.4.2 and closed: %r" % (
            TIMEOUT, res))
    res = w_hs[1][0] if w_hs[1] else ("no result",)
    t.check(len(res) == 3 and res[0] == 220 and res[2] and
            res[1] <= TIMEOUT + 3 * SLOW,
            "STARTTLS and no handshake: closed at --smtp-timeout: %r" % (
                res,))
    res = w_hs2[1][0] if w_hs2[1] else ("no result",)
    t.check(len(res) == 2 and res[1] and res[0] <= TIMEOUT + 3 * SLOW,
            "a handshake stalled mid-record: closed at --smtp-timeout: %r" %
            (res,))
    res = w_noread[1][0] if w_noread[1] else ("no result",)
    t.check(len(res) == 3 and res[2] and res[1] <= TIMEOUT + 4 * SLOW,
            "a client that never reads its replies (%s bytes of EHLO): "
            "closed at --smtp-timeout: %r" % (res[0], res))
    since = lap("timeout watchers", since)

    # --- the database stopped mid-test: 451 4.3.0, then back
    pg.stop()
    mk = b"db-down-" + RUN.encode()
    code, text = deliver(port, message(mk), b"body " + mk,
                         what="database down")
    t.check(code == 451 and "4.3.0" in text, "database down: %r" % text)
    c = Client(port)
    c.send(b"EHLO down.test.example\r\nMAIL FROM:<a@example.org>\r\n"
           b"RCPT TO:<dmarc@rua.example>\r\nDATA\r\n")
    c.replies(4)
    c.send(message(mk + b"-2") + b".\r\n")
    code, text = c.reply()
    t.check(code == 451 and text.startswith("451 4.3.0"),
            "database down, raw client: %r" % text)
    t.check(c.cmd(b"RSET")[0] == 250 and c.cmd(b"QUIT")[0] == 221,
            "the session goes on after 451")
    c.close()
    mks = [mk + b"-t%02d" % i for i in range(20)]
    res = together(port, [message(m) for m in mks],
                   [b"reporter@example.org"] * len(mks))
    t.check(all(code == 451 and "4.3.0" in text for code, text in res),
            "database down, 20 messages ending together: all 451: %r" %
            sorted({r[1][:40] for r in res}))
    t.check(pg.restart(), "PostgreSQL starts again")
    mk2 = b"db-back-" + RUN.encode()
    res = []

    def back():
        res.append(deliver(port, message(mk2 + b"-%d" % len(res)),
                           b"body " + mk2 + b"-%d" % len(res),
                           what="database back"))
        return res[-1][0] == 250
    t.check(wait_for(back, 15, step=0.5), "delivery once the database is "
            "back: %r" % res[-3:])
    t.check(not rows_with(mk), "nothing stored for the 451s")
    since = lap("database down", since)

    # --- a batch with a row the database refuses: it alone fails.  The
    # refusal is a trigger made for the test (what a constraint or a full
    # disk would do to one row); the envelope itself is fine.
    db.q("CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql "
         "AS $$ BEGIN RAISE EXCEPTION 'refused for the test'; END $$; "
         "CREATE TRIGGER refuse_for_test BEFORE INSERT ON inbound FOR EACH "
         "ROW WHEN (NEW.smtp_mail_from = 'refuse-me@bad-row.example') "
         "EXECUTE FUNCTION test_refuse(); SELECT 1")
    mixed = 0
    for rnd in range(5):
        mk = b"batch-%d-" % rnd + RUN.encode()
        mks = [mk + b"-%02d" % i for i in range(20)]
        froms = [b"reporter@example.org"] * len(mks)
        froms[7] = b"refuse-me@bad-row.example"
        res = together(port, [message(m) for m in mks], froms)
        good = [i for i in range(len(mks)) if i != 7]
        t.check(res[7][0] == 451 and "4.3.0" in res[7][1],
                "round %d: the refused envelope gets 451: %r" % (rnd, res[7]))
        t.check(all(res[i][0] == 250 for i in good), "round %d: the other "
                "19 get 250: %r" % (rnd, [res[i] for i in good
                                          if res[i][0] != 250][:3]))
        for i in good:
            if res[i][0] == 250:
                ack(res[i][1], b"body " + mks[i], "batch")
        t.check(all(len(rows_with(b"body " + mks[i] + b"\r\n")) == 1
                    for i in good) and not rows_with(b"body " + mks[7]),
                "round %d: the 19 stored once each, the refused one not" %
                rnd)
        mixed = len(re.findall(r"inbound batch rows=\d+ stored=\d+ "
                               r"refused=1", S.text()))
        if mixed:
            break
    t.check(mixed > 0, "the refused row shared a batch with others at "
            "least once in %d rounds (log: inbound batch ... refused=1)" %
            (rnd + 1))
    db.q("DROP TRIGGER refuse_for_test ON inbound; DROP FUNCTION "
         "test_refuse(); SELECT 1")
    since = lap("batch with a refused row", since)

    # --- a second server: --smtp-reject-bare-lf=yes, default size
    S2 = Server(tmp, "smtp-strict", env, *common,
                "--smtp-reject-bare-lf=yes")
    servers.append(S2)
    if t.check(S2.start(), "strict server starts: %s" % S2.text()[-1500:]):
        # a client stalled in the TLS handshake costs no CPU (no busy loop
        # on a writable socket)
        c = Client(S2.port)
        c.cmd(b"EHLO spin.test.example")
        c.cmd(b"STARTTLS")
        time.sleep(0.2)
        c0, t1 = S2.cpu_seconds(), time.monotonic()
        time.sleep(1.5)
        used = (S2.cpu_seconds() - c0) / (time.monotonic() - t1)
        c.close()
        t.check(used < 0.2, "ruad's CPU while a client sits in the TLS "
                "handshake: %.2f s per second" % used)

        # a TLS client that vanishes (no close_notify, no QUIT) must not
        # break the other TLS sessions (a new handshake clears OpenSSL's
        # error queue: the one at risk is a session already in TLS; here, on
        # the second server, no other TLS session is open)
        def tls_session(helo):
            x = Client(S2.port)
            x.cmd(b"EHLO " + helo)
            x.cmd(b"STARTTLS")
            x.starttls()
            x.cmd(b"EHLO " + helo)
            return x
        b = tls_session(b"bystander.test.example")
        a = tls_session(b"vanish.test.example")
        a.sock.close()
        time.sleep(0.3 * SLOW)
        b.send(b"MAIL FROM:<a@example.org>\r\n"
               b"RCPT TO:<dmarc@rua.example>\r\nDATA\r\n")
        got = b.replies(3)
        t.check([g[0] for g in got] == [250, 250, 354], "a TLS session goes "
                "on after another TLS client vanished: %r" % got)
        mk = b"after-vanish-" + RUN.encode()
        b.send(message(mk) + b".\r\n")
        code, text = b.reply()
        if t.check(code == 250, "and delivers: %r" % text):
            ack(text, b"body " + mk, "TLS after a vanished TLS client")
        b.close()

        for tag, ending in variants:
            before = n_inbound()
            mk, first, rest, why = smuggle(S2.port, b"strict-" + tag, ending)
            t.check([g[0] for g in rest] == [550, 221] and
                    rest[0][1].startswith("550 5.5.2"),
                    "--smtp-reject-bare-lf: %s refused: %r" % (
                        tag.decode(), rest))
            t.check(not rows_with(mk) and n_inbound() == before,
                    "--smtp-reject-bare-lf: %s not stored" % tag.decode())
        mk = b"strict-clean-" + RUN.encode()
        code, text = deliver(S2.port, message(mk), b"body " + mk,
                             what="strict, CRLF only")
        t.check(code == 250, "--smtp-reject-bare-lf: a clean message: %r" %
                text)

        # text lines: 65536 bytes taken, 65537 refused with 552
        for n, want in ((65536, 250), (65537, 552)):
            mk = b"line-%d-" % n + RUN.encode()
            c = Client(S2.port)
            c.send(b"EHLO lines.test.example\r\nMAIL FROM:<a@example.org>\r\n"
                   b"RCPT TO:<dmarc@rua.example>\r\nDATA\r\n")
            c.replies(4)
            long_line = mk + b"-" + b"q" * (n - len(mk) - 1)
            c.send(message(mk) + long_line + b"\r\nend\r\n.\r\n")
            code, text = c.reply()
            t.check(code == want and (want == 250 or
                                      text.startswith("552 5.3.4")),
                    "a text line of %d bytes: want %d, got %r" % (n, want,
                                                                   text))
            if code == 250:
                r = row(ack(text, long_line, "long line"))
                t.check(r and long_line + b"\r\nend\r\n" in bytes(r[8]),
                        "the %d-byte line stored whole" % n)
            c.close()

        # a TLS record split across ruad's 64 KiB input buffer: the end of
        # the message waits inside OpenSSL, not in the socket.  The storing
        # of a first message is held (a table lock) so that the second
        # transaction is all in the socket when ruad reads again.
        lockc = psycopg2.connect(pg.url)
        try:
            c = Client(S2.port)
            c.cmd(b"EHLO split.test.example")
            c.cmd(b"STARTTLS")
            inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
            o = NOVERIFY.wrap_bio(inc, out)
            while True:
                try:
                    o.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    c.sock.sendall(out.read())
                    inc.write(c.sock.recv(65536))
            c.sock.sendall(out.read())
            tbuf = [b""]

            def tline():
                while b"\n" not in tbuf[0]:
                    try:
                        tbuf[0] += o.read(65536)
                    except ssl.SSLWantReadError:
                        d = c.sock.recv(65536)
                        if not d:
                            return b""
                        inc.write(d)
                ln, _, tbuf[0] = tbuf[0].partition(b"\n")
                return ln + b"\n"

            def treply():
                try:
                    while True:
                        ln = tline()
                        if len(ln) < 4 or ln[3:4] != b"-":
                            return ln.decode("latin-1").strip()
                except (socket.timeout, OSError) as e:
                    return "no reply: %r" % e

            o.write(b"EHLO split.test.example\r\nMAIL FROM:<a@example.org>\r\n"
                    b"RCPT TO:<dmarc@rua.example>\r\nDATA\r\n")
            c.sock.sendall(out.read())
            first = [treply() for _ in range(4)]
            mk1, mk2 = b"split-1-" + RUN.encode(), b"split-2-" + RUN.encode()
            lockc.cursor().execute("LOCK TABLE inbound IN SHARE ROW "
                                   "EXCLUSIVE MODE")
            o.write(message(mk1) + b".\r\n")
            c.sock.sendall(out.read())
            waiting = wait_for(insert_waits, 10)
            o.write(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<dmarc@rua.example>"
                    b"\r\nDATA\r\n")
            big = sized(mk2, 70000 - 3) + b".\r\n"     # 7 records
            for i in range(0, len(big), 10000):   # records of 10000 bytes
                o.write(big[i:i + 10000])
            c.sock.sendall(out.read())            # all of it in one write
            lockc.commit()
            c.sock.settimeout(6 * SLOW)
            rest = [treply() for _ in range(5)]
            t.check(waiting and first[1:] == ["250 2.1.0 Ok", "250 2.1.5 Ok",
                                              "354 End data with <CR><LF>."
                                              "<CR><LF>"],
                    "split record: setup %r (lock wait seen: %s)" % (first,
                                                                     waiting))
            t.check(rest[0].startswith("250 2.0.0 Ok: queued as") and
                    rest[1:4] == ["250 2.1.0 Ok", "250 2.1.5 Ok",
                                  "354 End data with <CR><LF>.<CR><LF>"] and
                    rest[4].startswith("250 2.0.0 Ok: queued as"),
                    "a 70000-byte message in 10000-byte TLS records, read "
                    "past the 64 KiB input buffer, is answered: %r" % rest)
            if rest[0].startswith("250 "):
                ack(rest[0], b"body " + mk1, "split record 1")
            if rest[4].startswith("250 "):
                ack(rest[4], big[-300:-3], "split record 2")
            c.close()
        finally:
            lockc.close()

        # pipelined input followed by the client's EOF (shutdown SHUT_WR
        # after QUIT): everything sent before the EOF is answered
        lockc = psycopg2.connect(pg.url)
        try:
            c = Client(S2.port)
            c.send(b"EHLO eof.test.example\r\nMAIL FROM:<a@example.org>\r\n"
                   b"RCPT TO:<dmarc@rua.example>\r\nDATA\r\n")
            c.replies(4)
            mk1, mk2 = b"eof-1-" + RUN.encode(), b"eof-2-" + RUN.encode()
            lockc.cursor().execute("LOCK TABLE inbound IN SHARE ROW "
                                   "EXCLUSIVE MODE")
            c.send(message(mk1) + b".\r\n")
            wait_for(insert_waits, 10)
            c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<dmarc@rua.example>"
                   b"\r\nDATA\r\n" + message(mk2) + b".\r\nQUIT\r\n")
            c.sock.shutdown(socket.SHUT_WR)
            lockc.commit()
            got, why = c.all_replies()
            c.close()
        finally:
            lockc.close()
        codes = [g[0] for g in got]
        if codes and codes[0] == 250:
            ack(got[0][1], b"body " + mk1, "before EOF 1")
        if len(got) > 4 and codes[4] == 250:
            ack(got[4][1], b"body " + mk2, "before EOF 2")
        t.check(codes == [250, 250, 250, 354, 250, 221],
                "pipelined input before the client's EOF answered: %r" % got)
        server_down_clean(S2, "strict server SIGTERM", 15)
    since = lap("strict server", since)

    # --- SIGTERM during deliveries: 250 only for what is stored, exit 0
    stop_load = threading.Event()
    load_codes = []
    load_mu = threading.Lock()

    def loader(k):
        ip = next_ip()
        n = 0
        while not stop_load.is_set():
            try:
                s = smtplib.SMTP("127.0.0.1", port, timeout=10 * SLOW,
                                 local_hostname="load.test.example",
                                 source_address=(ip, 0))
                s.ehlo()
            except (OSError, smtplib.SMTPException) as e:
                with load_mu:
                    load_codes.append(("connect", repr(e)))
                return
            try:
                while not stop_load.is_set():
                    mk = b"load-%d-%d-" % (k, n) + RUN.encode()
                    n += 1
                    code, text = s.mail("load@example.org")
                    if code == 250:
                        code, text = s.rcpt("dmarc@rua.example")
                    if code == 250:
                        code, text = s.data(message(mk))
                    text = "%d %s" % (code, text.decode("latin-1"))
                    with load_mu:
                        load_codes.append((code, text))
                    if code == 250:
                        ack(text, b"body " + mk, "load")
                    else:
                        break
            except smtplib.SMTPResponseException as e:
                with load_mu:
                    load_codes.append((e.smtp_code, repr(e)))
            except (OSError, smtplib.SMTPException) as e:
                with load_mu:
                    load_codes.append(("conn", repr(e)))
            finally:
                s.close()

    # two clients paused in DATA: one waits, one finishes right after SIGTERM
    paused = []
    for i in range(2):
        c = Client(port)
        c.send(b"EHLO paused.test.example\r\nMAIL FROM:<a@example.org>\r\n"
               b"RCPT TO:<dmarc@rua.example>\r\nDATA\r\n")
        t.check([g[0] for g in c.replies(4)] == [250, 250, 250, 354],
                "paused client %d in DATA" % i)
        c.send(b"Subject: paused %d\r\n\r\nfirst half\r\n" % i)
        paused.append(c)
    threads = [threading.Thread(target=loader, args=(k,)) for k in range(3)]
    for th in threads:
        th.start()
    wait_for(lambda: sum(1 for x in load_codes if x[0] == 250) >= 30, 15)
    n_before = sum(1 for x in load_codes if x[0] == 250)
    t_term = time.monotonic()
    S.send(signal.SIGTERM)
    mk = b"paused-finish-" + RUN.encode()
    paused[1].send(b"second half " + mk + b"\r\n.\r\n")
    p0 = paused[0].reply()
    p1 = paused[1].reply()
    try:
        rc = S.p.wait(15 * SLOW)
    except subprocess.TimeoutExpired:
        rc = None
    took = time.monotonic() - t_term
    stop_load.set()
    for th in threads:
        th.join(30)
    S.logf.close()
    for c in paused:
        c.close()
    t.check(rc == 0, "SIGTERM during deliveries: exit %s" % rc)
    t.check(took < 5 * SLOW, "SIGTERM: stopped in %.1f s" % took)
    t.check(n_before >= 30, "deliveries before SIGTERM: %d" % n_before)
    t.check(400 <= p0[0] < 500, "the client paused in DATA: a 4xx, got %r" %
            (p0,))
    if p1[0] == 250:
        ack(p1[1], b"second half " + mk, "finished after SIGTERM")
    t.check(p1[0] == 250 or 400 <= p1[0] < 500,
            "the client finishing at SIGTERM: 250 or a 4xx, got %r" % (p1,))
    bad = [x for x in load_codes if isinstance(x[0], int) and x[0] != 250 and
           not 400 <= x[0] < 500]
    t.check(not bad, "under SIGTERM every reply is a 250 or a 4xx: %r" %
            bad[:5])
    t.check(S.sanitizer_clean(), "sanitizer report: %s" % S.text()[-3000:])
    timings["SIGTERM exit"] = took
    since = lap("SIGTERM", since)

    # --- at the end: everything acknowledged is stored
    with acked_mu:
        final = list(acked)
    missing = []
    for qid, needle, what in final:
        r = db.q("SELECT channel, position(%s IN raw) > 0 FROM inbound "
                 "WHERE id = %s", needle, qid) if qid else None
        if not r or r[0] != ("smtp", True):
            missing.append((qid, what, r))
    t.check(final and not missing, "every message that got a 250 (%d) is in "
            "inbound: %d not (%s)" % (len(final), len(missing), missing[:5]))
    t.check(len({q for q, _, _ in final}) == len(final),
            "each 250 named its own inbound row")
finally:
    if postfix_started:
        postfix_run("abort")
    for s in servers:
        if s.p is not None and s.p.poll() is None:
            s.stop(timeout=10)
    if t.failed:
        for s in servers:
            try:
                text = s.text()
                m = re.search(r"==\d+==ERROR: |runtime error:", text)
                print("--- %s (%s)\n%s" % (
                    s.log, "sanitizer" if m else "tail",
                    text[m.start():m.start() + 8000] if m else text[-3000:]))
            except OSError:
                pass
    if db is not None:
        try:
            db.close()
        except Exception:
            pass
    pg.remove()
    dns.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    timings["total"] = time.monotonic() - T0
    print("timings%s: %s" % (" (ASan)" if SLOW > 1 else "", ", ".join(
        "%s %.1fs" % kv for kv in timings.items())), flush=True)

t.finish()
