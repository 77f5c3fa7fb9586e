"""DKIM verification (RFC 6376, RFC 8463, RFC 8301) against an independent
signer and a real DNS server.

Messages are signed here by dkimpy (Debian's python3-dkim) with keys made
here (openssl genrsa, PyNaCl); their key records are served by dnsmasq on
loopback, so `ruad dkim-verify --dns-server=127.0.0.1:PORT` goes through
dns.c and libresolv exactly as in production.  RSA-2048 records are split
into character-strings of at most 255 bytes, as a real zone holds them.

Cases: rsa-sha256 and ed25519-sha256 with each of simple and relaxed for
header and body (and whitespace changes each one must and must not
tolerate), over-signed headers, folded tags, two signatures of which one
is broken, a tampered body and header, a revoked key (p= empty), a missing
key (NXDOMAIN), rsa-sha1, a 512-bit key, l= with appended content, a
second From prepended, LF line endings, x= expired, key record t=y
(reported) and s=email (noted for a TLS report).  Temperror: a dnsmasq
whose upstream is dead (timeout) and a responder that answers SERVFAIL.

The shared samples: the DKIM vectors and the real report mails (with the
historical keys of eml/dkim-public-keys.txt) must give the verdicts that
INVENTORY.md lists; without the samples those checks are skipped, loudly.

Key flags: t=y (also in a list, t=s:y) marks a signature that verifies
as testing: treated as unsigned (RFC 6376 3.6.1), so the mail's result is
none, and t=ys is no flag at all.  Names: an s= or d= label over 63
octets, or a key name over 253, is a permerror at once, never asked.

Slow DNS: a black hole on loopback (a UDP server that reads every query
for dead.example and never answers; the others go on to dnsmasq).  A mail
with five signatures of dead.example takes one time budget
(--dkim-dns-budget-ms), every key asked at once, not five times two tries
of the timeout; a good signature beside them still passes.

Through `ruad import` into a database of its own (RUAD_DATABASE_URL, as
test_store_import): the policy of worker.c (tlsrpt_require_dkim,
dmarc_require_dkim, trusted_reporters, and the reason that names the kind
of report kept out), a testing key (unauthenticated, or parsed with a
warning), a temperror that leaves the row pending, uncounted, until `ruad
reprocess --state=pending` with working DNS, the retry never scheduled
past dkim_temperror_giveup, and past it the temperror standing (the
policy decides: unauthenticated, or parsed with dkim_result temperror).

Through `ruad serve` with two workers and SMTP: two mails of dead.example
and then a genuine signed report; the genuine one gets its verdict well
within one DNS budget (a DNS wait never holds every worker), and the two
stalled ones end unauthenticated, temperror given up, not pending for
ever.
"""
import base64
import gzip
import json
import os
import re
import select
import shutil
import smtplib
import socket
import struct
import subprocess
import sys
import threading
import time
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import SMTP

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ruadtest import (RUAD, SLOW, TMP, Tally, free_port,  # noqa
                      sample_keys, samples_dir, txt_parts, wait_for)

import dkim  # noqa: E402  (Debian's python3-dkim)
import nacl.signing  # noqa: E402  (python3-nacl, which python3-dkim needs)

t = Tally("dkim")
work = os.path.join(TMP, "dkim-%d" % os.getpid())
os.makedirs(work, exist_ok=True)
DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
CANONS = [(h, b) for h in (b"simple", b"relaxed") for b in (b"simple",
                                                             b"relaxed")]
SIGNED = [b"from", b"to", b"subject", b"date", b"message-id"]
# checks the sample parts make with the current samples (for the skip)
SAMPLE_CHECKS = 100

# ---- keys and records ---------------------------------------------------


def rsa_key(bits):
    """(PEM RSAPrivateKey, base64 SubjectPublicKeyInfo) of a new RSA key,
    made by the openssl command as dknewkey does."""
    pem = subprocess.run(["openssl", "genrsa", "-traditional", str(bits)],
                         capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "rsa", "-pubout", "-outform", "DER"],
                         input=pem, capture_output=True, check=True).stdout
    return pem, base64.b64encode(der).decode()


def ed_key():
    """(base64 seed as dkimpy takes it, base64 raw public key)."""
    k = nacl.signing.SigningKey.generate()
    return (base64.b64encode(bytes(k)),
            base64.b64encode(bytes(k.verify_key)).decode())


RSA_PEM, RSA_PUB = rsa_key(2048)
WEAK_PEM, WEAK_PUB = rsa_key(512)
ED_SEED, ED_PUB = ed_key()
D = "signer.example"
records = {
    "rsa._domainkey." + D: "v=DKIM1; k=rsa; p=" + RSA_PUB,
    "ed._domainkey." + D: "v=DKIM1; k=ed25519; p=" + ED_PUB,
    "revoked._domainkey." + D: "v=DKIM1; k=rsa; p=",
    "weak._domainkey." + D: "v=DKIM1; k=rsa; p=" + WEAK_PUB,
    "testing._domainkey." + D: "v=DKIM1; k=rsa; t=y; p=" + RSA_PUB,
    "testing2._domainkey." + D: "v=DKIM1; k=rsa; t=s:y; p=" + RSA_PUB,
    "notflag._domainkey." + D: "v=DKIM1; k=rsa; t=ys; p=" + RSA_PUB,
    "emailonly._domainkey." + D: "v=DKIM1; k=rsa; s=email; p=" + RSA_PUB,
    "rsa._domainkey.other.example": "v=DKIM1; k=rsa; p=" + RSA_PUB,
    # "missing._domainkey." + D is not served: NXDOMAIN
}
KEYS = {"rsa": (RSA_PEM, b"rsa-sha256"), "ed": (ED_SEED, b"ed25519-sha256"),
        "revoked": (RSA_PEM, b"rsa-sha256"),
        "missing": (RSA_PEM, b"rsa-sha256"),
        "weak": (WEAK_PEM, b"rsa-sha256"),
        "testing": (RSA_PEM, b"rsa-sha256"),
        "testing2": (RSA_PEM, b"rsa-sha256"),
        "notflag": (RSA_PEM, b"rsa-sha256"),
        "emailonly": (RSA_PEM, b"rsa-sha256")}

# ---- DNS on loopback ----------------------------------------------------


def dns_query(port, name, timeout=0.5):
    """rcode of a TXT query for name, or None without an answer."""
    qid = os.getpid() & 0xffff
    pkt = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + b"".join(
        bytes([len(p)]) + p.encode() for p in name.split(".")) + \
        b"\0" + struct.pack(">HH", 16, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(pkt, ("127.0.0.1", port))
        return s.recv(4096)[3] & 15
    except OSError:
        return None
    finally:
        s.close()


class Dnsmasq:
    """dnsmasq on 127.0.0.1: records authoritative and all else NXDOMAIN,
    or (upstream=PORT) everything forwarded to a server that never
    answers."""

    def __init__(self, name, recs=None, upstream=None):
        self.port = free_port()
        args = [DNSMASQ, "--no-daemon", "--conf-file=/dev/null",
                "--no-resolv", "--no-hosts", "--port=%d" % self.port,
                "--listen-address=127.0.0.1", "--bind-interfaces",
                "--pid-file=%s/%s.pid" % (work, name), "--log-queries"]
        if upstream is None:
            args.append("--local=/#/")
        else:
            args.append("--server=127.0.0.1#%d" % upstream)
        for n, v in sorted((recs or {}).items()):
            # a TXT record is a list of character-strings of <= 255 bytes
            args.append("--txt-record=%s,%s" % (n, ",".join(txt_parts(v))))
        self.log = open(os.path.join(work, name + ".log"), "wb")
        self.p = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        probe = sorted(recs)[0] if recs else None
        for _ in range(100):
            if self.p.poll() is not None:
                raise RuntimeError("dnsmasq exited, see %s" % self.log.name)
            if probe is None or dns_query(self.port, probe, 0.1) == 0:
                break
            time.sleep(0.05)
        self.addr = "127.0.0.1:%d" % self.port

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()


class Servfail(threading.Thread):
    """A UDP responder that answers every query with SERVFAIL."""

    def __init__(self):
        super().__init__(daemon=True)
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.s.settimeout(0.2)
        self.addr = "127.0.0.1:%d" % self.s.getsockname()[1]
        self.queries, self.done = 0, False
        self.start()

    def run(self):
        while not self.done:
            try:
                q, peer = self.s.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                break
            if len(q) < 12:
                continue
            self.queries += 1
            # same id and question, QR|RD|RA, rcode 2
            self.s.sendto(q[:2] + b"\x81\x82" + q[4:6] + b"\0\0\0\0\0\0" +
                          q[12:], peer)

    def stop(self):
        self.done = True
        self.join(2)
        self.s.close()


def qname(q):
    """The question's name of a DNS query (lower case), or None."""
    i, parts = 12, []
    while i < len(q) and q[i] != 0:
        n = q[i]
        parts.append(q[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    return ".".join(parts).lower() if i < len(q) else None


class BlackHole(threading.Thread):
    """A name server on loopback that reads every query for a name under
    `dead` and never answers it (a black hole), and passes the others on
    to upstream (dnsmasq) and their answers back.  dropped: (time, name)
    of every query it swallowed."""

    def __init__(self, dead, upstream):
        super().__init__(daemon=True)
        self.dead = dead
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.up.connect(("127.0.0.1", upstream))
        self.addr = "127.0.0.1:%d" % self.s.getsockname()[1]
        self.dropped, self.pending, self.done = [], {}, False
        self.lock = threading.Lock()
        self.start()

    def run(self):
        while not self.done:
            try:
                r, _, _ = select.select([self.s, self.up], [], [], 0.2)
                if self.s in r:
                    q, peer = self.s.recvfrom(4096)
                    name = qname(q)
                    if name is None:
                        continue
                    if name == self.dead or name.endswith("." + self.dead):
                        with self.lock:
                            self.dropped.append((time.time(), name))
                        continue
                    self.pending[q[:2]] = peer
                    self.up.send(q)
                if self.up in r:
                    a = self.up.recv(65535)
                    peer = self.pending.pop(a[:2], None)
                    if peer is not None:
                        self.s.sendto(a, peer)
            except OSError:
                if self.done:
                    break

    def since(self, t0):
        """[(seconds after t0, name)] of the queries dropped since t0."""
        with self.lock:
            return [(t - t0, n) for t, n in self.dropped if t >= t0]

    def stop(self):
        self.done = True
        self.join(2)
        self.s.close()
        self.up.close()


# ---- messages -----------------------------------------------------------

BASE = (b"From: Report Sender <reports@signer.example>\r\n"
        b"To: rua@receiver.example\r\n"
        b"Subject: DKIM  test with   spaces\r\n"
        b"\tand a folded line\r\n"
        b"Date: Mon, 01 Jun 2026 10:00:00 +0000\r\n"
        b"Message-ID: <base@signer.example>\r\n"
        b"\r\n"
        b"Line one  with  double spaces\r\n"
        b"\tan indented line\r\n"
        b"\r\n"
        b"We lost the game.  Are you hungry yet?\r\n")


def sign(msg, sel="rsa", canon=(b"relaxed", b"relaxed"), headers=SIGNED,
         domain=D, alg=None, length=False):
    """msg with a DKIM-Signature by dkimpy prepended."""
    key, a = KEYS[sel]
    h = dkim.sign(msg, sel.encode(), domain.encode(), key,
                  canonicalize=canon, signature_algorithm=alg or a,
                  include_headers=headers, length=length)
    return h + msg


def sign_as(msg, sel, domain, headers=SIGNED, unfold=False):
    """msg with an rsa-sha256 signature of any selector and domain (the
    RSA key of "rsa").  unfold: the field on one line, for long names
    (dkimpy folds inside a d= value, which makes it no domain name; the
    signature no longer verifies, which the name checks come before)."""
    h = dkim.sign(msg, sel.encode(), domain.encode(), RSA_PEM,
                  canonicalize=(b"relaxed", b"relaxed"),
                  include_headers=headers)
    if unfold:
        h = h[:-2].replace(b"\r\n ", b"").replace(b"\r\n\t", b"") + \
            b"\r\n"
    return h + msg


DEAD = "dead.example"


def stalled(msg, n=5):
    """msg with n signatures of dead.example (selectors s1..sN)."""
    for i in range(n):
        msg = sign_as(msg, "s%d" % (i + 1), DEAD)
    return msg


class _TimedDKIM(dkim.DKIM):
    """dkimpy with t= and x= of our choosing (its sign() has no x=)."""
    tx = None

    def gen_header(self, fields, *args, **kw):
        fields = [f for f in fields if f[0] != b"t"]
        i = [f[0] for f in fields].index(b"h")
        fields[i:i] = [(b"t", b"%d" % self.tx[0]), (b"x", b"%d" % self.tx[1])]
        return super().gen_header(fields, *args, **kw)


def sign_timed(msg, t_, x):
    d = _TimedDKIM(msg)
    d.tx = (t_, x)
    return d.sign(b"rsa", D.encode(), RSA_PEM, include_headers=SIGNED) + msg


def sig_value_edit(msg, n, fn):
    """msg with fn applied to the n-th DKIM-Signature field (raw bytes)."""
    fields = list(re.finditer(rb"DKIM-Signature:.*?\r\n(?![ \t])", msg,
                              re.S))
    m = fields[n]
    return msg[:m.start()] + fn(m.group(0)) + msg[m.end():]


def break_b(field):
    """a b= value with one base64 character changed (still valid base64)."""
    m = re.search(rb"\bb=([A-Za-z0-9+/]{20})", field)
    i = m.start(1) + 10
    c = b"A" if field[i:i + 1] != b"A" else b"B"
    return field[:i] + c + field[i + 1:]


def fold_tags(field):
    """every '; ' as ';' CRLF TAB, and the b= value folded every 16."""
    name, value = field.split(b":", 1)
    value = value.replace(b"; ", b";\r\n\t")
    m = re.search(rb"\bb=([A-Za-z0-9+/=\r\n\t ]+)$", value)
    b = re.sub(rb"\s", b"", m.group(1))
    folded = b"\r\n  ".join(b[i:i + 16] for i in range(0, len(b), 16))
    return name + b":" + value[:m.start(1)] + folded + b"\r\n"


def fold_b_only(field):
    """only the b= value refolded (the b= value is not signed)."""
    m = re.search(rb"\bb=([A-Za-z0-9+/=\r\n\t ]+)$", field)
    b = re.sub(rb"\s", b"", m.group(1))
    return field[:m.start(1)] + b"\r\n\t".join(
        b[i:i + 10] for i in range(0, len(b), 10)) + b"\r\n"


def ws_header(msg):
    """header whitespace that relaxed header canonicalisation ignores."""
    return msg.replace(b"Subject: DKIM  test with   spaces\r\n\tand",
                       b"Subject:\tDKIM test\t with spaces \r\n and")


def ws_body(msg):
    """body whitespace that relaxed body canonicalisation ignores."""
    return msg.replace(b"Line one  with  double spaces\r\n",
                       b"Line one \t with double spaces  \r\n") + \
        b"\r\n\r\n"


def tlsrpt_json(rid, org="Signer Example Inc."):
    return json.dumps({
        "organization-name": org,
        "date-range": {"start-datetime": "2026-05-01T00:00:00Z",
                       "end-datetime": "2026-05-01T23:59:59Z"},
        "contact-info": "mailto:tlsrpt@signer.example",
        "report-id": rid,
        "policies": [{
            "policy": {"policy-type": "sts",
                       "policy-string": ["version: STSv1", "mode: testing",
                                         "mx: mx.receiver.example",
                                         "max_age: 86400"],
                       "policy-domain": "receiver.example",
                       "mx-host": ["mx.receiver.example"]},
            "summary": {"total-successful-session-count": 10,
                        "total-failure-session-count": 0}}]}).encode()


def report_mail(kind, rid, sender="reports@signer.example"):
    """A TLS report (kind "tlsrpt") or DMARC report mail, CRLF, unsigned."""
    if kind == "tlsrpt":
        m = MIMEMultipart("report", report_type="tlsrpt")
        body = MIMEText("This is an aggregate TLS report from "
                        "signer.example.\n")
        att = MIMEApplication(gzip.compress(tlsrpt_json(rid), mtime=0),
                              "tlsrpt+gzip")
        fname = "signer.example!receiver.example!1777593600!1777679999!%s" \
            ".json.gz" % rid
        subject = "Report Domain: receiver.example Submitter: " \
            "signer.example Report-ID: <%s>" % rid
    else:
        xml = ("<?xml version=\"1.0\"?><feedback><report_metadata>"
               "<org_name>signer.example</org_name><email>%s</email>"
               "<report_id>%s</report_id><date_range><begin>1777593600"
               "</begin><end>1777679999</end></date_range>"
               "</report_metadata><policy_published><domain>"
               "receiver.example</domain><adkim>r</adkim><aspf>r</aspf>"
               "<p>none</p><sp>none</sp><pct>100</pct></policy_published>"
               "<record><row><source_ip>192.0.2.1</source_ip><count>3"
               "</count><policy_evaluated><disposition>none</disposition>"
               "<dkim>pass</dkim><spf>pass</spf></policy_evaluated></row>"
               "<identifiers><header_from>receiver.example</header_from>"
               "</identifiers><auth_results><dkim><domain>receiver.example"
               "</domain><result>pass</result></dkim><spf><domain>"
               "receiver.example</domain><result>pass</result></spf>"
               "</auth_results></record></feedback>" % (sender, rid))
        m = MIMEMultipart("mixed")
        body = MIMEText("DMARC aggregate report.\n")
        att = MIMEApplication(gzip.compress(xml.encode(), mtime=0), "gzip")
        fname = "signer.example!receiver.example!1777593600!1777679999.xml.gz"
        subject = "Report domain: receiver.example Submitter: " \
            "signer.example Report-ID: %s" % rid
    att.add_header("Content-Disposition", "attachment", filename=fname)
    m.attach(body)
    m.attach(att)
    m["From"] = "Reports <%s>" % sender
    m["To"] = "rua@receiver.example"
    m["Subject"] = subject
    m["Date"] = "Fri, 01 May 2026 23:59:59 +0000"
    m["Message-ID"] = "<%s@%s>" % (rid, sender.split("@")[1])
    return m.as_bytes(policy=SMTP)


REPORT_HEADERS = SIGNED + [b"mime-version", b"content-type"]


def write(name, data):
    path = os.path.join(work, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def verify(paths, dns, *opts):
    """ruad dkim-verify: (exit status, {path: json}, stderr)."""
    p = subprocess.run([RUAD, "dkim-verify", "--dns-server=" + dns, *opts,
                        *paths], capture_output=True, timeout=300)
    out = {}
    for line in p.stdout.decode().splitlines():
        try:
            o = json.loads(line)
        except ValueError:
            t.check(False, "dkim-verify printed a line that is not JSON: %r"
                    % line)
            continue
        out[o.get("file")] = o
    return p.returncode, out, p.stderr.decode()


def sig_results(o):
    return [s.get("result") for s in o.get("signatures") or []]


# ---- the cases ----------------------------------------------------------
# name -> (message, want): want is "pass", or a set of results that are
# not a pass, or a callable(json) -> (ok, what)

cases = {}
for sel in ("rsa", "ed"):
    for canon in CANONS:
        cname = "%s-%s-%s" % (sel, canon[0].decode(), canon[1].decode())
        signed = sign(BASE, sel, canon)
        cases[cname] = (signed, "pass")
        cases[cname + "-lf"] = (signed.replace(b"\r\n", b"\n"), "pass")
        # whitespace: relaxed tolerates it, simple does not
        cases[cname + "-wsheader"] = (
            ws_header(signed), "pass" if canon[0] == b"relaxed" else
            {"fail"})
        cases[cname + "-wsbody"] = (
            ws_body(signed), "pass" if canon[1] == b"relaxed" else {"fail"})
        cases[cname + "-body"] = (signed.replace(b"game", b"gamE"),
                                  {"fail"})
        cases[cname + "-header"] = (signed.replace(b"Subject: DKIM ",
                                                   b"Subject: DKIN "),
                                    {"fail"})

over = [b"from", b"to", b"subject", b"date", b"from", b"subject", b"cc"]
for canon in ((b"simple", b"simple"), (b"relaxed", b"relaxed")):
    c = canon[0].decode()
    s = sign(BASE, "rsa", canon, headers=over)
    cases["oversigned-" + c] = (s, "pass")
    cases["oversigned-%s-added-cc" % c] = (
        s.replace(b"\r\n\r\n", b"\r\nCc: intruder@evil.example\r\n\r\n", 1),
        {"fail"})
    cases["oversigned-%s-added-subject" % c] = (
        s.replace(b"\r\n\r\n", b"\r\nSubject: another\r\n\r\n", 1),
        {"fail"})
relaxed = sign(BASE, "rsa", (b"relaxed", b"relaxed"))
simple = sign(BASE, "ed", (b"simple", b"simple"))
cases["folded-tags-relaxed"] = (sig_value_edit(relaxed, 0, fold_tags),
                                "pass")
cases["folded-b-simple"] = (sig_value_edit(simple, 0, fold_b_only), "pass")
cases["folded-tags-simple"] = (sig_value_edit(simple, 0, fold_tags),
                               {"fail"})

two = sign(sign(BASE, "ed"), "rsa")             # rsa on top, then ed25519


def first_broken_second_pass(o):
    r = sig_results(o)
    return r == ["fail", "pass"], "signatures %s" % r


def first_pass_second_broken(o):
    r = sig_results(o)
    return r == ["pass", "fail"], "signatures %s" % r


cases["two-first-broken"] = (sig_value_edit(two, 0, break_b),
                             first_broken_second_pass)
cases["two-second-broken"] = (sig_value_edit(two, 1, break_b),
                              first_pass_second_broken)
cases["two-both-broken"] = (sig_value_edit(sig_value_edit(two, 0, break_b),
                                           1, break_b), {"fail"})
cases["revoked"] = (sign(BASE, "revoked"), {"permerror"})
cases["missing"] = (sign(BASE, "missing"), {"permerror"})
cases["rsa-sha1"] = (sign(BASE, "rsa", alg=b"rsa-sha1"),
                     {"fail", "permerror"})
cases["rsa-512"] = (sign(BASE, "weak"), {"fail", "permerror"})
with_l = sign(BASE, "rsa", length=True)
cases["l-appended"] = (with_l + b"\r\nClick here: http://evil.example/\r\n",
                       {"fail", "permerror"})
cases["l-not-appended"] = (with_l, {"fail", "permerror"})
cases["second-from"] = (b"From: Attacker <ceo@evil.example>\r\n" +
                        sign(BASE, "rsa"), {"fail", "permerror"})
cases["second-from-below"] = (sign(BASE, "rsa").replace(
    b"\r\n\r\n", b"\r\nFrom: Attacker <ceo@evil.example>\r\n\r\n", 1),
    {"fail", "permerror"})
now = int(time.time())
cases["x-expired"] = (sign_timed(BASE, now - 10 * 86400, now - 86400),
                      {"fail", "permerror"})
cases["x-future"] = (sign_timed(BASE, now - 86400, now + 86400), "pass")


def testing_flag(o):
    """RFC 6376 3.6.1: the signature verifies, the mail is as unsigned."""
    sigs = o.get("signatures") or [{}]
    return (o.get("result") == "none" and o.get("domain") is None and
            sigs[0].get("result") == "pass" and
            sigs[0].get("testing") is True and
            "t=y" in (sigs[0].get("reason") or ""),
            "result %s, signature %s" % (o.get("result"), sigs[0]))


def not_testing(o):
    sigs = o.get("signatures") or [{}]
    return (o.get("result") == "pass" and sigs[0].get("testing") is False,
            "result %s, signature %s" % (o.get("result"), sigs[0]))


def testing_and_real(o):
    r = [(x.get("result"), x.get("testing")) for x in
         o.get("signatures") or []]
    return (o.get("result") == "pass" and o.get("selector") == "rsa" and
            r == [("pass", False), ("pass", True)], "%s %s" % (
                o.get("result"), r))


cases["key-t=y"] = (sign(BASE, "testing"), testing_flag)
cases["key-t=s:y"] = (sign(BASE, "testing2"), testing_flag)
cases["key-t=ys"] = (sign(BASE, "notflag"), not_testing)
cases["key-t=y-and-real"] = (sign(sign(BASE, "testing"), "rsa"),
                             testing_and_real)
cases["key-s=email"] = (sign(BASE, "emailonly"), "pass")
cases["unsigned"] = (BASE, {"none"})


def bad_name(word):
    def check(o):
        sigs = o.get("signatures") or [{}]
        reason = sigs[0].get("reason") or ""
        return (o.get("result") == "permerror" and word in reason,
                "%s: %s" % (o.get("result"), reason))
    return check


L64 = "a" * 64
cases["s-label-64"] = (sign_as(BASE, L64, D, unfold=True),
                       bad_name("s= is not a valid domain name (a label "
                                "over 63 octets)"))
cases["d-label-64"] = (sign_as(BASE, "rsa", L64 + ".example", unfold=True),
                       bad_name("d= is not a valid domain name (a label "
                                "over 63 octets)"))
cases["d-empty-label"] = (sign_as(BASE, "rsa", "signer..example"),
                          bad_name("empty label"))
LONG_D = ".".join(["b" * 63] * 3) + ".example"      # 199 octets
cases["key-name-254"] = (sign_as(BASE, "s" * 43, LONG_D, unfold=True),
                         bad_name("over 253"))
cases["key-name-253"] = (sign_as(BASE, "s" * 42, LONG_D, unfold=True),
                         bad_name("no key record"))      # asked: NXDOMAIN
BAD_NAMES = ["s-label-64", "d-label-64", "d-empty-label", "key-name-254"]


# ---- the samples' key records and vectors -------------------------------

root = samples_dir()
vectors = {}              # vector name -> (message path, [VERIFIED...])
sample_mails = {}         # path -> (overall want, [(d, s, want)])
if root is not None:
    records.update(sample_keys(root))
    vdir = os.path.join(root, "eml", "dkim-vectors")
    for fn in sorted(os.listdir(vdir)):
        with open(os.path.join(vdir, fn), "rb") as f:
            data = f.read()
        # "name TXT" lines, a blank line, then the message (kept with
        # its own line endings)
        m = re.search(rb"\r?\n\r?\n", data)
        head, msg = data[:m.start()], data[m.end():]
        for line in head.decode().splitlines():
            n, v = line.split(None, 1)
            records[n] = v
        vectors[fn] = write("vector-" + fn + ".eml", msg)
    inv = open(os.path.join(root, "INVENTORY.md")).read()


def inventory_verdicts(text):
    """{relative path: [per-signature want]} from the DKIM columns."""
    out, section, col = {}, None, None
    for line in text.splitlines():
        if line.startswith("#"):
            m = re.match(r"### public/(eml/[\w-]+)/", line)
            section, col = (m.group(1) if m else None), None
            continue
        if section is None or not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == "file":
            col = next(i for i, c in enumerate(cells)
                       if c.startswith("DKIM"))
            continue
        if col is None or not cells[0].startswith("`"):
            continue
        out[section + "/" + cells[0].strip("`")] = cells[col]
    return out


def want_of(cell):
    """[(d, s, want)] or for a vector [want] from an INVENTORY cell."""
    if "no DKIM-Signature" in cell:
        return []
    m = re.search(r"embedded key\(s\): (.*)", cell)
    if m:
        return [(None, None, "pass" if v.strip() == "VERIFIED" else "fail")
                for v in m.group(1).split(",")]
    sigs = []
    for part in cell.split("<br>"):
        m = re.match(r"d=(\S+) s=(\S+) a=\S+: (.*)", part)
        if not m:
            continue
        v = m.group(3)
        want = "pass" if "VERIFIED" in v else "fail" if "MISMATCH" in v \
            else "permerror" if "not archived" in v else "?"
        sigs.append((m.group(1), m.group(2), want))
    return sigs


def overall(sigs):
    rank = {"pass": 4, "temperror": 3, "fail": 2, "permerror": 1}
    if not sigs:
        return "none"
    return max((w for _, _, w in sigs), key=lambda w: rank.get(w, 0))


# ---- ruad serve with a black-holed domain ------------------------------


def serve_dns(q, env):
    """Two mails of dead.example (five signatures each, a black hole for
    their keys) and then a genuine signed TLS report, by SMTP to `ruad
    serve --workers=2`: the genuine one is parsed while a worker is still
    waiting on dead.example, well within one DNS budget; the two stalled
    ones are pending with a clear reason, and after dkim_temperror_giveup
    unauthenticated, temperror given up."""
    budget = 5.0 * SLOW                 # seconds: --dkim-dns-budget-ms
    giveup = int(2 * budget) + 2        # --dkim-temperror-giveup
    bh = BlackHole(DEAD, dns.port)
    smtp_port, http_port = free_port(), free_port()
    log = open(os.path.join(work, "serve.log"), "wb")
    srv = subprocess.Popen(
        [RUAD, "serve", "--http-listen=127.0.0.1:%d" % http_port,
         "--smtp-listen=127.0.0.1:%d" % smtp_port,
         "--smtp-accept=@receiver.example", "--smtp-greet-delay-ms=0",
         "--workers=2", "--dns-server=" + bh.addr,
         "--dns-timeout-ms=%d" % int(budget * 600),
         "--dkim-dns-budget-ms=%d" % int(budget * 1000),
         "--dkim-temperror-giveup=%d" % giveup, "--log-level=info"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    rows_sql = ("SELECT id, state, reason, dkim_result, attempts, "
                "extract(epoch FROM processed_at - received_at) FROM "
                "inbound WHERE channel = 'smtp' ORDER BY id")
    try:
        def up():
            try:
                smtplib.SMTP("127.0.0.1", smtp_port, timeout=2).quit()
                return True
            except OSError:
                return srv.poll() is not None
        if not t.check(wait_for(up, 10) and srv.poll() is None,
                       "ruad serve with SMTP is up"):
            return
        tag = "%d" % os.getpid()
        msgs = [stalled(report_mail("tlsrpt", "stalled1-" + tag,
                                    "reports@" + DEAD)),
                stalled(report_mail("tlsrpt", "stalled2-" + tag,
                                    "reports@" + DEAD)),
                sign(report_mail("tlsrpt", "genuine-" + tag), "rsa",
                     headers=REPORT_HEADERS)]
        c = smtplib.SMTP("127.0.0.1", smtp_port, timeout=30)
        for m, frm in zip(msgs, ["reports@" + DEAD] * 2 +
                          ["reports@" + D]):
            c.sendmail(frm, ["rua@receiver.example"], m)
        c.quit()

        # the genuine report: parsed while a worker still waits on DNS
        seen, held = {}, None
        end = time.time() + 3 * budget + 10
        while time.time() < end:
            rows = q(rows_sql)
            if len(rows) == 3:
                for r in rows[:2]:
                    if r[1] == "pending" and r[2]:
                        seen.setdefault(r[0], r[2])
                if rows[2][1] == "parsed" and held is None:
                    held = [r[1] for r in rows[:2]]
                if held is not None and len(seen) == 2:
                    break
            time.sleep(0.05)
        rows = q(rows_sql)
        if not t.check(len(rows) == 3, "three SMTP rows: %s" % rows):
            return
        g = rows[2]
        t.check(g[1] == "parsed" and g[3] == "pass" and g[5] is not None
                and g[5] < 0.6 * budget,
                "genuine report parsed %s s after receipt (DNS budget "
                "%.0f s, two mails of a black-holed domain ahead): %s" % (
                    g[5], budget, g[:4]))
        t.check(held is not None and "processing" in held,
                "a worker was still waiting on dead.example when the "
                "genuine report was parsed: %s" % held)
        why = sorted(seen.values())
        full = "within %d ms" % int(budget * 1000)
        t.check(len(why) == 2 and all(
            w.startswith("DKIM temperror (d=" + DEAD) and
            "retry in" in w for w in why) and
            any(full in w for w in why) and any(
                "within 1000 ms" in w and "every other worker" in w
                for w in why),
            "stalled mails pending: one with the whole budget, one with "
            "the short one: %s" % why)
        print("serve: genuine parsed after %.2f s; stalled: %s" % (
            g[5], why), flush=True)

        # ...and past dkim_temperror_giveup they end, they do not wait on
        def final():
            r = q(rows_sql)
            return all(x[1] != "pending" and x[1] != "processing"
                       for x in r[:2]) and r
        rows = wait_for(final, giveup + 3 * budget + 10) or q(rows_sql)
        for r in rows[:2]:
            t.check(r[1] == "unauthenticated" and r[3] == "temperror" and
                    "given up" in (r[2] or "") and r[4] == 1,
                    "stalled mail after dkim_temperror_giveup=%d: %s" % (
                        giveup, r[1:5]))
    finally:
        srv.terminate()
        try:
            srv.wait(15 * SLOW)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()
        log.close()
        bh.stop()


# ---- run ----------------------------------------------------------------

dns = Dnsmasq("dns", records)
dead = None
servfail = Servfail()
try:
    # every record is served as it would be from a zone
    t.check(dns_query(dns.port, "rsa._domainkey." + D) == 0,
            "dnsmasq answers the RSA-2048 key record")
    t.check(dns_query(dns.port, "missing._domainkey." + D) == 3,
            "dnsmasq answers NXDOMAIN for a missing key")

    # dkimpy itself agrees on a plain case (the signer is sound)
    def dkimpy_dns(name, timeout=5):
        return records.get(name.decode().rstrip(".")).encode()
    t.check(dkim.verify(cases["rsa-relaxed-relaxed"][0],
                        dnsfunc=dkimpy_dns) and
            dkim.verify(cases["ed-simple-simple"][0], dnsfunc=dkimpy_dns),
            "dkimpy verifies its own rsa and ed25519 signatures")

    paths = {name: write(name + ".eml", msg)
             for name, (msg, _) in cases.items()}
    rc, out, err = verify(list(paths.values()), dns.addr)
    t.check(len(out) == len(paths), "dkim-verify: one line per file (%d "
            "of %d) %s" % (len(out), len(paths), err[-300:]))
    t.check(rc == 1, "dkim-verify exit 1 when a file does not pass: %d" % rc)
    for name, (msg, want) in cases.items():
        o = out.get(paths[name])
        if not t.check(o is not None, "%s: no output" % name):
            continue
        if callable(want):
            ok, what = want(o)
            t.check(ok, "%s: %s (%s)" % (name, what, o))
        elif want == "pass":
            t.check(o.get("result") == "pass", "%s: %s, want pass (%s)" % (
                name, o.get("result"), o.get("signatures")))
        else:
            t.check(o.get("result") in want, "%s: %s, want one of %s (%s)" %
                    (name, o.get("result"), sorted(want),
                     o.get("signatures")))
        print("case %-34s %-9s %s" % (name, o.get("result"), "; ".join(
            "%s %s (%s)" % (x.get("a"), x.get("result"), x.get("reason"))
            for x in o.get("signatures") or [])), flush=True)
    # the fields of a line
    o = out.get(paths["rsa-relaxed-relaxed"], {})
    s = (o.get("signatures") or [{}])[0]
    t.check(o.get("aligned") is True and o.get("from_domain") == D and
            s.get("d") == D and s.get("s") == "rsa" and
            s.get("a") == "rsa-sha256" and s.get("result") == "pass" and
            isinstance(s.get("reason"), str),
            "line fields: %s" % o)
    o = out.get(paths["second-from"], {})
    t.check(o.get("aligned") is False, "two From: not aligned: %s" % o)
    o = out.get(paths["unsigned"], {})
    t.check(o.get("signatures") == [] and o.get("aligned") is False,
            "unsigned: no signatures: %s" % o)
    # reasons name the cause
    for name, word in (("revoked", "revoked"), ("missing", "key"),
                       ("rsa-512", "512"), ("rsa-sha1", "sha1"),
                       ("x-expired", "expired"), ("rsa-simple-simple-body",
                                                  "body")):
        r = " ".join(x.get("reason") or "" for x in
                     out.get(paths[name], {}).get("signatures") or [])
        t.check(word in r, "%s: reason %r names %r" % (name, r, word))
    rc, out1, err = verify([paths["rsa-relaxed-relaxed"],
                            paths["two-first-broken"]], dns.addr)
    t.check(rc == 0, "dkim-verify exit 0 when every file passes: %d %s" %
            (rc, err))

    # temperror: dnsmasq forwarding to an upstream that never answers
    dead = Dnsmasq("dead", upstream=free_port())
    t0 = time.time()
    rc, out, err = verify([paths["rsa-relaxed-relaxed"]], dead.addr,
                          "--dns-timeout-ms=1000")
    o = out.get(paths["rsa-relaxed-relaxed"], {})
    t.check(o.get("result") == "temperror" and rc == 1,
            "dead upstream (timeout): %s rc=%d" % (o, rc))
    print("dead upstream: temperror after %.1f s" % (time.time() - t0),
          flush=True)
    rc, out, err = verify([paths["rsa-relaxed-relaxed"]], servfail.addr)
    o = out.get(paths["rsa-relaxed-relaxed"], {})
    t.check(o.get("result") == "temperror" and servfail.queries > 0,
            "SERVFAIL: %s (%d queries)" % (o, servfail.queries))
    # a temperror does not hide a pass of another signature
    rc, out, err = verify([paths["two-first-broken"]], servfail.addr)
    t.check(out.get(paths["two-first-broken"], {}).get("result") ==
            "temperror", "SERVFAIL for both: temperror")
    # names DNS cannot carry: permerror at once, nothing asked
    q0 = servfail.queries
    rc, out, err = verify([paths[n] for n in BAD_NAMES], servfail.addr)
    t.check(servfail.queries == q0 and all(
        out.get(paths[n], {}).get("result") == "permerror"
        for n in BAD_NAMES), "bad names: permerror, %d queries" %
        (servfail.queries - q0))

    # ---- slow DNS: a black hole for dead.example ----
    bh = BlackHole(DEAD, dns.port)
    try:
        five = write("stalled-five.eml", stalled(BASE))
        t0 = time.time()
        rc, out, err = verify([five], bh.addr, "--dns-timeout-ms=2000",
                              "--dkim-dns-budget-ms=2500")
        took = time.time() - t0
        o = out.get(five, {})
        sigs = o.get("signatures") or []
        t.check(o.get("result") == "temperror" and len(sigs) == 5 and
                all(x.get("result") == "temperror" and "within 2500 ms" in
                    x.get("reason", "") for x in sigs),
                "five dead signatures: %s" % o)
        # one budget for the mail, not 5 x 2 tries x 2000 ms (20 s)
        t.check(2.4 <= took < 2.5 + 1.5 * SLOW,
                "five dead signatures took %.1f s (budget 2.5 s)" % took)
        got = bh.since(t0)
        first = {}
        for dt, n in got:
            first.setdefault(n, dt)
        t.check(len(first) == 5 and max(first.values()) - min(
            first.values()) < 0.5 * SLOW, "every key asked at once: %s" %
            sorted(first.items()))
        t.check(len(got) == 10, "each asked twice (2 tries of 2000 ms in "
                "the 2500 ms budget): %d queries" % len(got))
        print("five dead signatures: temperror after %.1f s, %d queries"
              % (took, len(got)), flush=True)
        # a good signature beside dead ones still passes, and the rest
        # of the mail's keys are answered through the same server
        mixed = write("stalled-mixed.eml", sign(stalled(BASE, 4), "rsa"))
        rc, out, err = verify([mixed], bh.addr, "--dns-timeout-ms=1000",
                              "--dkim-dns-budget-ms=1500")
        o = out.get(mixed, {})
        t.check(o.get("result") == "pass" and sig_results(o) == [
            "pass"] + ["temperror"] * 4, "good signature beside four "
            "dead ones: %s %s" % (o.get("result"), sig_results(o)))
    finally:
        bh.stop()

    # ---- the samples ----
    if root is None:
        t.skip(SAMPLE_CHECKS, "samples folder not found (set RUAD_SAMPLES): "
               "the DKIM vectors, the real report mails' verdicts from "
               "INVENTORY.md and the mox_tls_google_example import did not "
               "run")
    else:
        cells = inventory_verdicts(inv)
        want = {}
        for rel, cell in cells.items():
            if rel.startswith("eml/dkim-vectors/"):
                fn = rel.split("/")[-1]
                if fn in vectors:
                    want[vectors[fn]] = want_of(cell)
            else:
                want[os.path.join(root, rel)] = want_of(cell)
        t.check(len(vectors) >= 4 and len(want) >= 20,
                "INVENTORY.md: %d DKIM verdicts, %d vectors" % (
                    len(want), len(vectors)))
        rc, out, err = verify(sorted(want), dns.addr)
        for path, sigs in sorted(want.items()):
            o = out.get(path)
            short = os.path.relpath(path, work if path.startswith(work)
                                    else root)
            if not t.check(o is not None, "%s: no output" % short):
                continue
            got = o.get("signatures") or []
            t.check(len(got) == len(sigs), "%s: %d signatures, INVENTORY "
                    "lists %d" % (short, len(got), len(sigs)))
            for (d, s, w), g in zip(sigs, got):
                t.check((d is None or (g.get("d") == d and g.get("s") == s))
                        and g.get("result") == w,
                        "%s: d=%s s=%s %s, want %s (%s)" % (
                            short, g.get("d"), g.get("s"), g.get("result"),
                            w, g.get("reason")))
            t.check(o.get("result") == overall(sigs), "%s: %s, want %s" % (
                short, o.get("result"), overall(sigs)))
            print("sample %s: %s %s" % (short, o.get("result"),
                                        sig_results(o)), flush=True)

    # ---- through ruad import into a database of our own ----
    base_url = os.environ.get("RUAD_DATABASE_URL")
    if not t.check(base_url, "RUAD_DATABASE_URL is not set: the import "
                   "checks need the PostgreSQL that tests/run starts"):
        raise SystemExit
    import psycopg2  # noqa: E402  (Debian's python3-psycopg2)
    dbname = "ruad_dkim_%d" % os.getpid()
    admin = psycopg2.connect(base_url)
    admin.autocommit = True
    admin.cursor().execute('CREATE DATABASE "%s"' % dbname)
    url = base_url.rsplit("/", 1)[0] + "/" + dbname
    env = dict(os.environ, RUAD_DATABASE_URL=url)
    db = psycopg2.connect(url)
    db.autocommit = True
    try:
        def q(sql, *args):
            with db.cursor() as c:
                c.execute(sql, args)
                return c.fetchall() if c.description else None

        def ruad(*args):
            p = subprocess.run([RUAD, *args], capture_output=True, env=env,
                               timeout=300)
            return p.returncode, p.stdout.decode(), p.stderr.decode()

        def imp(path, *opts, dnsaddr=None):
            rc, out, err = ruad("import", "--dns-server=" + (dnsaddr or
                                                             dns.addr),
                                *opts, path)
            verdict = out.split(": ", 1)[1].split(" ", 1)[0] if ": " in out \
                else None
            return verdict, out + err

        def inbound(path):
            r = q("SELECT state, dkim_result, dkim_domain, dkim_aligned, "
                  "attempts, warnings, from_domain FROM inbound WHERE "
                  "source_name = %s ORDER BY id DESC LIMIT 1", path)
            return r[0] if r else (None,) * 7

        def reason(path):
            r = q("SELECT reason FROM inbound WHERE source_name = %s ORDER "
                  "BY id DESC LIMIT 1", path)
            return (r[0][0] or "") if r else ""

        def tls_rows(rid):
            return q("SELECT dkim_result, dkim_domain, dkim_aligned FROM "
                     "tlsrpt_report WHERE report_id = %s", rid)

        rc, out, err = ruad("migrate")
        t.check(rc == 0, "migrate: %s %s" % (out, err))
        cols = q("SELECT table_name, column_name FROM "
                 "information_schema.columns WHERE column_name LIKE 'dkim%%'")
        t.check({("inbound", "dkim_result"), ("dmarc_report", "dkim_result"),
                 ("tlsrpt_report", "dkim_aligned")} <= set(cols),
                "002_dkim.sql columns: %s" % cols)
        tag = "%d" % os.getpid()

        def mail(name, kind, sender="reports@signer.example", sel=None,
                 domain=D):
            rid = "%s-%s" % (name, tag)
            m = report_mail(kind, rid, sender)
            if sel:
                m = sign(m, sel, headers=REPORT_HEADERS, domain=domain)
            return write("import-%s.eml" % name, m), rid

        # a signed, aligned TLS report: parsed, the verdict kept
        path, rid = mail("signed", "tlsrpt", sel="rsa")
        v, log = imp(path)
        st = inbound(path)
        t.check(v == "parsed" and st[:4] == ("parsed", "pass", D, True),
                "signed TLS report: %s %s" % (st[:4], log))
        t.check(tls_rows(rid) == [("pass", D, True)],
                "signed TLS report row: %s" % tls_rows(rid))
        t.check(st[6] == D, "from_domain kept: %s" % (st[6],))

        # unsigned: unauthenticated, no report row
        path, rid = mail("unsigned", "tlsrpt")
        v, log = imp(path)
        st = inbound(path)
        t.check(v == "unauthenticated" and st[0] == "unauthenticated" and
                st[1] == "none", "unsigned TLS report: %s %s" % (st, log))
        t.check(tls_rows(rid) == [], "no tlsrpt_report row for the "
                "unsigned mail: %s" % tls_rows(rid))
        # and taken after the policy is relaxed, by reprocess
        rc, out, err = ruad("reprocess", "--state=unauthenticated",
                            "--tlsrpt-require-dkim=no",
                            "--dns-server=" + dns.addr)
        t.check(inbound(path)[0] == "parsed" and len(tls_rows(rid)) == 1,
                "reprocess --tlsrpt-require-dkim=no: %s %s" % (
                    inbound(path), out + err))

        path, rid = mail("unsigned-nodkim", "tlsrpt")
        v, log = imp(path, "--tlsrpt-require-dkim=no")
        t.check(v == "parsed" and tls_rows(rid) == [("none", None, None)],
                "--tlsrpt-require-dkim=no: %s %s %s" % (v, tls_rows(rid),
                                                         log))
        path, rid = mail("trusted", "tlsrpt", sender="tlsrpt@mx.trusted."
                         "example")
        v, log = imp(path, "--trusted-reporters=trusted.example")
        t.check(v == "parsed" and len(tls_rows(rid)) == 1,
                "--trusted-reporters (a parent domain): %s %s" % (v, log))
        path, rid = mail("untrusted", "tlsrpt", sender="tlsrpt@"
                         "nottrusted.example")
        v, log = imp(path, "--trusted-reporters=trusted.example")
        t.check(v == "unauthenticated" and tls_rows(rid) == [],
                "--trusted-reporters is not a suffix match: %s %s" % (v, log))

        # signed by another domain: a pass, but not aligned
        path, rid = mail("unaligned", "tlsrpt", sel="rsa",
                         domain="other.example")
        v, log = imp(path)
        st = inbound(path)
        t.check(v == "unauthenticated" and st[1:4] == ("pass",
                                                       "other.example",
                                                       False) and
                tls_rows(rid) == [], "unaligned pass: %s %s" % (st, log))

        # a key with s=email: taken, and noted
        path, rid = mail("emailonly", "tlsrpt", sel="emailonly")
        v, log = imp(path)
        st = inbound(path)
        t.check(v == "parsed" and any("s=" in w for w in st[5] or []),
                "key s=email on a TLS report is noted: %s %s" % (st, log))

        # DMARC report without DKIM: parsed, dkim_result none kept
        path, rid = mail("dmarc-unsigned", "dmarc")
        v, log = imp(path)
        r = q("SELECT dkim_result, dkim_domain, dkim_aligned FROM "
              "dmarc_report WHERE report_id = %s", rid)
        t.check(v == "parsed" and r == [("none", None, None)],
                "unsigned DMARC report mail: %s %s %s" % (v, r, log))
        path, rid = mail("dmarc-required", "dmarc")
        v, log = imp(path, "--dmarc-require-dkim=yes")
        r = q("SELECT count(*) FROM dmarc_report WHERE report_id = %s", rid)
        t.check(v == "unauthenticated" and r == [(0,)],
                "--dmarc-require-dkim=yes: %s %s %s" % (v, r, log))
        # the reason names the kind kept out (TLS reports are required by
        # default: the DMARC report must not be called a TLS report)
        why = reason(path)
        t.check("DMARC report kept out (dmarc_require_dkim)" in why and
                "TLS" not in why and "8460" not in why,
                "reason of a refused DMARC report: %r" % why)
        path, rid = mail("tls-required", "tlsrpt")
        v, log = imp(path)
        why = reason(path)
        t.check("TLS report kept out (RFC 8460 5.3)" in why and
                "DMARC" not in why, "reason of a refused TLS report: %r"
                % why)

        # a key in testing mode (t=y): as unsigned (RFC 6376 3.6.1)
        path, rid = mail("testing-tls", "tlsrpt", sel="testing")
        v, log = imp(path)
        st, why = inbound(path), reason(path)
        t.check(v == "unauthenticated" and st[1:4] == ("none", None, None)
                and tls_rows(rid) == [] and "t=y" in why and D in why,
                "TLS report signed with a t=y key: %s %r %s" % (st, why,
                                                                 log))
        t.check(any("t=y" in w for w in st[5] or []),
                "t=y noted in the warnings: %s" % (st[5],))
        path, rid = mail("testing-dmarc", "dmarc", sel="testing")
        v, log = imp(path)
        st = inbound(path)
        r = q("SELECT dkim_result, dkim_domain, dkim_aligned FROM "
              "dmarc_report WHERE report_id = %s", rid)
        t.check(v == "parsed" and r == [("none", None, None)] and
                any("t=y" in w for w in st[5] or []),
                "DMARC report signed with a t=y key: %s %s %s" % (r, st[5],
                                                                  log))

        # a selector label over 63 octets: permerror, never pending (it
        # used to fail locally as "temporary", pending for ever)
        path, rid = mail("long-label", "tlsrpt")
        with open(path, "rb") as f:
            data = f.read()
        write(os.path.basename(path), sign_as(data, L64, D,
                                              headers=REPORT_HEADERS,
                                              unfold=True))
        v, log = imp(path, dnsaddr=servfail.addr)
        st = inbound(path)
        t.check(v == "unauthenticated" and st[:2] == ("unauthenticated",
                                                      "permerror"),
                "s= label of 64 octets: %s %s" % (st, log))

        # a From domain that is not UTF-8 (peer bytes) neither blocks the
        # row nor reaches the database
        path, rid = mail("from-latin1", "dmarc")
        with open(path, "rb") as f:
            data = f.read().replace(b"<reports@signer.example>",
                                    b"<reports@sign\xe9r.example>")
        write(os.path.basename(path), data)
        v, log = imp(path)
        st = inbound(path)
        t.check(v == "parsed" and st[0] == "parsed" and st[6] is None,
                "From domain not UTF-8: %s %s" % (st, log))

        # temperror: pending, uncounted; taken once DNS works
        path, rid = mail("temperror", "tlsrpt", sel="rsa")
        v, log = imp(path, "--dns-timeout-ms=1000", dnsaddr=servfail.addr)
        st = inbound(path)
        t.check(v == "pending" and st[0] == "pending" and st[1] is None and
                tls_rows(rid) == [], "SERVFAIL import: %s %s" % (st, log))
        a0 = st[4]
        for _ in range(2):
            rc, out, err = ruad("reprocess", "--state=pending",
                                "--dns-server=" + servfail.addr)
        st = inbound(path)
        t.check(st[0] == "pending" and st[4] == a0,
                "SERVFAIL twice more: still pending, attempts %s -> %s (%s)"
                % (a0, st[4], out + err))
        rc, out, err = ruad("reprocess", "--state=pending",
                            "--dns-server=" + dns.addr)
        st = inbound(path)
        t.check(st[:4] == ("parsed", "pass", D, True) and
                tls_rows(rid) == [("pass", D, True)],
                "reprocess with working DNS: %s %s" % (st, out + err))
        # a dead upstream (timeout) too
        path, rid = mail("timeout", "tlsrpt", sel="ed")
        v, log = imp(path, "--dns-timeout-ms=1000", dnsaddr=dead.addr)
        t.check(v == "pending" and inbound(path)[0] == "pending",
                "timeout import: %s" % log)

        # temperrors are waited out up to dkim_temperror_giveup: the retry
        # is never set past it, and past it the temperror stands
        path, rid = mail("giveup", "tlsrpt", sel="rsa")
        v, log = imp(path, "--dkim-temperror-giveup=60",
                     dnsaddr=servfail.addr)
        wait = (q("SELECT extract(epoch FROM next_attempt_at - now()) "
                  "FROM inbound WHERE source_name = %s", path) or
                [(None,)])[0][0]
        why = reason(path)
        t.check(v == "pending" and wait is not None and 50 < wait <= 60 and
                "SERVFAIL" in why
                and "retry in" in why, "--dkim-temperror-giveup=60: retry "
                "in %s s, not 300: %r" % (wait, why))
        rc, out, err = ruad("reprocess", "--state=pending",
                            "--dkim-temperror-giveup=0",
                            "--dns-server=" + servfail.addr)
        st, why = inbound(path), reason(path)
        t.check(st[:2] == ("unauthenticated", "temperror") and
                "given up" in why and tls_rows(rid) == [] and
                any("given up" in w for w in st[5] or []),
                "past dkim_temperror_giveup: %s %r %s" % (st, why,
                                                         out + err))
        # the DMARC policy takes reports without DKIM: parsed, temperror
        path, rid = mail("giveup-dmarc", "dmarc", sel="rsa")
        v, log = imp(path, "--dkim-temperror-giveup=0",
                     dnsaddr=servfail.addr)
        r = q("SELECT dkim_result FROM dmarc_report WHERE report_id = %s",
              rid)
        t.check(v == "parsed" and r == [("temperror",)],
                "DMARC report past dkim_temperror_giveup: %s %s %s" % (
                    v, r, log))

        # the real mail: mox_tls_google_example.eml, key from the samples
        if root is not None:
            path = os.path.join(root, "eml", "tlsrpt",
                                "mox_tls_google_example.eml")
            v, log = imp(path)
            st = inbound(path)
            t.check(v == "parsed" and st[:4] == ("parsed", "pass",
                                                 "google.com", True),
                    "mox_tls_google_example.eml: %s %s" % (st, log))
            r = q("SELECT dkim_result, dkim_domain, dkim_aligned FROM "
                  "tlsrpt_report WHERE organization_name = 'Google Inc.'")
            t.check(r == [("pass", "google.com", True)],
                    "its tlsrpt_report row: %s" % r)
            path = os.path.join(root, "eml", "tlsrpt", "stw_tlsrpt_rpt01.eml")
            v, log = imp(path)
            t.check(v == "unauthenticated",
                    "stw_tlsrpt_rpt01.eml (unsigned): %s" % log)

        # ---- ruad serve, two workers: a DNS wait never holds both ----
        serve_dns(q, env)
    finally:
        db.close()
        time.sleep(0.2)
        admin.cursor().execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' %
                               dbname)
        admin.close()
except SystemExit:
    pass
finally:
    dns.stop()
    if dead is not None:
        dead.stop()
    servfail.stop()

if t.failed == 0 and not os.environ.get("RUAD_KEEP_TMP"):
    shutil.rmtree(work, ignore_errors=True)
t.finish()
