"""Shared helpers for ruad's integration tests (run with /usr/bin/python3).

Each test module counts its checks and ends with one line
"NAME: P passed, F failed[, S skipped]" and exit status 0 (all passed),
1 (a failure) or 77 (everything skipped: ctest shows it as skipped).
"""
import json
import os
import subprocess
import sys


def env_path(name, default=None):
    v = os.environ.get(name)
    if v:
        return v
    if default is None:
        sys.exit("%s is not set (run the tests through ctest)" % name)
    return default


RUAD = env_path("RUAD_BIN")
SRC = env_path("RUAD_SRC", os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
TMP = env_path("RUAD_TEST_TMP", "/tmp")


def samples_dir():
    """The shared samples: $RUAD_SAMPLES, else ../shared/samples."""
    d = os.environ.get("RUAD_SAMPLES") or os.path.join(
        os.path.dirname(SRC), "shared", "samples")
    return d if os.path.isfile(os.path.join(d, "INVENTORY.tsv")) else None


def parse(paths, *opts):
    """Run ruad parse; return (exit status, [json per file], stderr)."""
    p = subprocess.run([RUAD, "parse", *opts, *paths], capture_output=True,
                       timeout=300)
    lines = [json.loads(l) for l in p.stdout.decode().splitlines()]
    return p.returncode, lines, p.stderr.decode()


class Tally:
    def __init__(self, name):
        self.name, self.passed, self.failed, self.skipped = name, 0, 0, 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL: %s" % what, flush=True)
        return cond

    def skip(self, n, why):
        self.skipped += n
        print("SKIPPED %d: %s" % (n, why), flush=True)

    def finish(self):
        line = "%s: %d passed, %d failed" % (self.name, self.passed,
                                              self.failed)
        if self.skipped:
            line += ", %d skipped" % self.skipped
        print(line, flush=True)
        if self.failed:
            sys.exit(1)
        if self.passed == 0 and self.skipped:
            sys.exit(77)
        sys.exit(0)


def free_port():
    """A TCP and UDP port nobody listens on now (good enough for tests)."""
    import socket
    for _ in range(50):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        t = socket.socket()
        try:
            t.bind(("127.0.0.1", port))
            t.close()
            return port
        except OSError:
            t.close()
    raise RuntimeError("no free port")


def txt_parts(value, size=250):
    """A TXT value cut into strings of at most 255 bytes (RFC 1035)."""
    return [value[i:i + size] for i in range(0, len(value), size)] or [""]


class Dnsmasq:
    """A real DNS server on loopback answering the given TXT records and
    NXDOMAIN for everything else (dnsmasq --local=/#/)."""

    def __init__(self, records, extra=()):
        """records: (name, TXT value) pairs; extra: more dnsmasq options
        (--mx-host=..., --dns-rr=NAME,TYPE,HEX for TLSA and the like)."""
        self.port = free_port()
        args = ["dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts",
                "--port=%d" % self.port, "--listen-address=127.0.0.1",
                "--bind-interfaces", "--local=/#/", "--pid-file="]
        for name, value in records:
            # argv, no shell: the parts go as they are (no commas in keys)
            args.append("--txt-record=%s,%s" % (
                name, ",".join(txt_parts(value))))
        args.extend(extra)
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        import time
        time.sleep(0.3)
        if self.proc.poll() is not None:
            raise RuntimeError("dnsmasq: %s" % self.proc.stderr.read())
        self.server = "127.0.0.1:%d" % self.port

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def sample_keys(root):
    """(name, value) of eml/dkim-public-keys.txt in the samples."""
    keys = []
    with open(os.path.join(root, "eml", "dkim-public-keys.txt")) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, value = line.partition(" ")
                keys.append((name, value))
    return keys


# ---- report mails the tests make themselves ---------------------------------

def _dmarc_xml(org, email, rid, domain, begin, rows):
    recs = "".join(
        "<record><row><source_ip>%s</source_ip><count>%d</count>"
        "<policy_evaluated><disposition>%s</disposition><dkim>%s</dkim>"
        "<spf>%s</spf></policy_evaluated></row><identifiers><header_from>%s"
        "</header_from></identifiers><auth_results><dkim><domain>%s</domain>"
        "<result>%s</result></dkim><spf><domain>%s</domain><result>%s"
        "</result></spf></auth_results></record>" % (
            ip, n, disp, dk, sp, domain, domain, dk, domain, sp)
        for ip, n, disp, dk, sp in rows)
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><feedback>"
            "<report_metadata><org_name>%s</org_name><email>%s</email>"
            "<report_id>%s</report_id><date_range><begin>%d</begin>"
            "<end>%d</end></date_range></report_metadata>"
            "<policy_published><domain>%s</domain><adkim>r</adkim>"
            "<aspf>r</aspf><p>none</p><sp>none</sp><pct>100</pct>"
            "</policy_published>%s</feedback>" % (
                org, email, rid, begin, begin + 86399, domain,
                recs)).encode()


def _tlsrpt_json(org, email, rid, domain, begin, ok, failed):
    import datetime
    day = datetime.datetime.fromtimestamp(begin, datetime.timezone.utc)
    return json.dumps({
        "organization-name": org,
        "date-range": {"start-datetime": day.strftime("%Y-%m-%dT00:00:00Z"),
                       "end-datetime": day.strftime("%Y-%m-%dT23:59:59Z")},
        "contact-info": "mailto:" + email, "report-id": rid,
        "policies": [{
            "policy": {"policy-type": "sts",
                       "policy-string": ["version: STSv1", "mode: enforce",
                                         "mx: mx." + domain,
                                         "max_age: 86400"],
                       "policy-domain": domain, "mx-host": ["mx." + domain]},
            "summary": {"total-successful-session-count": ok,
                        "total-failure-session-count": failed},
            "failure-details": [{
                "result-type": "certificate-expired",
                "sending-mta-ip": "198.51.100.7",
                "receiving-mx-hostname": "mx." + domain,
                "failed-session-count": failed}] if failed else []}]
    }).encode()


class ReportMails:
    """DMARC and TLS report mails as reporters send them (a gzip or zip
    attachment, multipart/report for TLS), DKIM-signed by dkimpy with a key
    made here: the tests' own stand-in for the shared sample mails.

    mails = ReportMails(dir, tag); mails.paths are the .eml files,
    mails.records the (name, TXT value) pairs a Dnsmasq serves, and
    mails.dmarc / mails.tls the (report_id, policy domain) of each."""

    def __init__(self, dirpath, tag, n_dmarc=3, n_tls=2,
                 reporter="reports.mailgen.example",
                 domain="mailgen.example", begin=1790812800):
        import base64
        import dkim                 # Debian's python3-dkim
        import gzip
        import io
        import zipfile
        from email.mime.application import MIMEApplication
        from email.mime.multipart import MIMEMultipart
        from email.mime.text import MIMEText
        from email.policy import SMTP
        os.makedirs(dirpath, exist_ok=True)
        pem = subprocess.run(["openssl", "genrsa", "-traditional", "2048"],
                             capture_output=True, check=True).stdout
        der = subprocess.run(["openssl", "rsa", "-pubout", "-outform",
                              "DER"], input=pem, capture_output=True,
                             check=True).stdout
        sel = "gen%s" % tag
        self.records = [("%s._domainkey.%s" % (sel, reporter),
                         "v=DKIM1; k=rsa; p=" +
                         base64.b64encode(der).decode())]
        self.paths, self.dmarc, self.tls = [], [], []
        email = "noreply-dmarc@" + reporter
        org = "Mailgen Reporter"
        for i in range(n_dmarc + n_tls):
            day = begin + 86400 * i
            if i < n_dmarc:
                rid = "%s-dmarc-%d" % (tag, i)
                xml = _dmarc_xml(org, email, rid, domain, day, [
                    ("192.0.2.%d" % (i + 10), 5 + i, "none", "pass", "pass"),
                    ("198.51.100.%d" % (i + 20), 2, "none", "fail", "fail"),
                    ("2001:db8::%x" % (i + 1), 1, "quarantine", "fail",
                     "pass")])
                m = MIMEMultipart("mixed")
                m.attach(MIMEText("DMARC aggregate report.\n"))
                name = "%s!%s!%d!%d" % (reporter, domain, day, day + 86399)
                if i % 2:
                    buf = io.BytesIO()
                    with zipfile.ZipFile(buf, "w",
                                         zipfile.ZIP_DEFLATED) as z:
                        z.writestr(name + ".xml", xml)
                    att = MIMEApplication(buf.getvalue(), "zip")
                    fname = name + ".zip"
                else:
                    att = MIMEApplication(gzip.compress(xml, mtime=0),
                                          "gzip")
                    fname = name + ".xml.gz"
                subject = "Report domain: %s Submitter: %s Report-ID: %s" % (
                    domain, reporter, rid)
                self.dmarc.append((rid, domain))
            else:
                rid = "%s-tls-%d" % (tag, i)
                js = _tlsrpt_json(org, "tlsrpt@" + reporter, rid, domain,
                                  day, 100 + i, i)
                m = MIMEMultipart("report", report_type="tlsrpt")
                m.attach(MIMEText("This is an aggregate TLS report from "
                                  "%s.\n" % reporter))
                att = MIMEApplication(gzip.compress(js, mtime=0),
                                      "tlsrpt+gzip")
                fname = "%s!%s!%d!%d!%s.json.gz" % (reporter, domain, day,
                                                    day + 86399, rid)
                subject = "Report Domain: %s Submitter: %s Report-ID: <%s>" \
                    % (domain, reporter, rid)
                m["TLS-Report-Domain"] = domain
                m["TLS-Report-Submitter"] = reporter
                self.tls.append((rid, domain))
            att.add_header("Content-Disposition", "attachment",
                           filename=fname)
            m.attach(att)
            m["From"] = "Reports <%s>" % email
            m["To"] = "rua@%s" % domain
            m["Subject"] = subject
            m["Date"] = "Mon, 02 Nov 2026 08:00:00 +0000"
            m["Message-ID"] = "<%s@%s>" % (rid, reporter)
            raw = m.as_bytes(policy=SMTP)
            sig = dkim.sign(raw, sel.encode(), reporter.encode(), pem,
                            include_headers=[b"from", b"to", b"subject",
                                             b"date", b"message-id",
                                             b"mime-version",
                                             b"content-type"])
            path = os.path.join(dirpath, "%s.eml" % rid)
            with open(path, "wb") as f:
                f.write(sig + raw)
            self.paths.append(path)


# ---- servers for the end-to-end tests (serve, smtp) -------------------------


def has_ipv6():
    """Can a socket bind the IPv6 loopback here (a container may have
    none)?"""
    import socket
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


import ssl  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import shutil  # noqa: E402

PG_SH = os.path.join(SRC, "tests", "lib", "pg.sh")


def is_asan(path):
    p = subprocess.run(["ldd", path], capture_output=True, text=True)
    return "libasan" in p.stdout


# deadlines are stretched under ASan (slower process, slower start)
SLOW = 3.0 if is_asan(RUAD) else 1.0


def wait_for(pred, timeout, step=0.05):
    """Poll pred() until it is true or timeout (seconds, scaled) passes."""
    end = time.monotonic() + timeout * SLOW
    while True:
        v = pred()
        if v or time.monotonic() > end:
            return v
        time.sleep(step)


def pg_bash(script, *args, timeout=120):
    return subprocess.run(["bash", "-c", ". \"$0\"; " + script, PG_SH, *args],
                          capture_output=True, text=True, timeout=timeout)


class Postgres:
    def __init__(self, name="test"):
        # under /tmp, its own directory: the server may run as postgres
        self.dir = tempfile.mkdtemp(prefix="ruad-%s-pg." % name, dir="/tmp")
        self.port = None
        self.url = None

    def start(self):
        p = pg_bash('pg_start "$1" "$2" >&2 && echo "$RUAD_PG_PORT '
                 '$RUAD_DATABASE_URL"', self.dir, str(free_port()))
        if p.returncode != 0:
            raise RuntimeError("pg_start: %s" % p.stderr)
        port, self.url = p.stdout.split()[-2:]
        self.port = int(port)

    def stop(self):
        pg_bash('pg_stop "$1"', self.dir)

    def restart(self):
        """Start the stopped server again, same data, port and socket."""
        p = pg_bash('pg_as "$(pg_bin)/pg_ctl" -D "$1/data" -l "$1/log" -w -o '
                 '"-k $1 -p $2 -c listen_addresses=127.0.0.1 -c fsync=off '
                 '-c full_page_writes=off" start >/dev/null', self.dir,
                 str(self.port))
        return p.returncode == 0

    def remove(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class DB:
    """psycopg2, autocommit, reconnecting after the server was stopped."""

    def __init__(self, url):
        self.url, self.conn = url, None

    def q(self, sql, *args):
        import psycopg2             # Debian's python3-psycopg2
        for attempt in (1, 2):
            try:
                if self.conn is None or self.conn.closed:
                    self.conn = psycopg2.connect(self.url, connect_timeout=5)
                    self.conn.autocommit = True
                with self.conn.cursor() as c:
                    c.execute(sql, args)
                    return c.fetchall() if c.description else None
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                try:
                    self.conn.close()
                except Exception:
                    pass
                self.conn = None
                if attempt == 2:
                    raise

    def one(self, sql, *args):
        return self.q(sql, *args)[0][0]

    def close(self):
        if self.conn is not None:
            self.conn.close()


def ctx_noverify():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c
