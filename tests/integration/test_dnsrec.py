"""`ruad dns-records`: the records to publish, and `--check` against a real
DNS server on loopback (dnsmasq).

Printing: a few set-ups (two outside domains with an https rua; a
catch-all mailbox with --wildcard, policy flags and a size limit; a
domain in the collector's own organisation, which needs no RFC 7489 7.1
record; addresses and URLs that need percent-encoding; an MTA-STS policy
whose id follows its bytes) each compared with the zone text written
here; bad options and config refused with exit 2.

Checking: dnsmasq serves the right records (exit 0, every record ok),
none (missing), and wrong ones: a rua elsewhere, a TLSRPT rua without
our https URI, two DMARC records, a syntax error, the external
authorisation missing, an MX elsewhere, an MTA-STS id that is not the
served policy's; TLSA records reported for an MX host.  A DNS server
that does not answer gives exit 3.
"""
import hashlib
import os
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ruadtest import RUAD, TMP, Dnsmasq, Tally  # noqa: E402

t = Tally("dnsrec")
work = os.path.join(TMP, "dnsrec-%d" % os.getpid())
os.makedirs(work, exist_ok=True)


def run(*args):
    p = subprocess.run([RUAD, "dns-records", *args], capture_output=True,
                       text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def same(got, want, what):
    ok = t.check(got == want, what)
    if not ok:
        print("--- want\n%s--- got\n%s---" % (want, got))
    return ok


# ---- printing ---------------------------------------------------------------

BASE = ["--smtp-accept=dmarc@rua.example.net, tlsrpt@rua.example.net",
        "--smtp-hostname=mx.rua.example.net",
        "--public-url=https://rua.example.net/"]

rc, out, err = run("--domain", "example.com", "--domain=Example.ORG.",
                   *BASE)
t.check(rc == 0, "two outside domains: exit %d %s" % (rc, err))
same(out, """; example.com
_dmarc.example.com. IN TXT "v=DMARC1; p=none; rua=mailto:dmarc@rua.example.net"
_smtp._tls.example.com. IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@rua.example.net,https://rua.example.net/tlsrpt"

; example.org
_dmarc.example.org. IN TXT "v=DMARC1; p=none; rua=mailto:dmarc@rua.example.net"
_smtp._tls.example.org. IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@rua.example.net,https://rua.example.net/tlsrpt"

; in the collector's zone (rua.example.net)
; reports for example.com may come here (RFC 7489 7.1)
example.com._report._dmarc.rua.example.net. IN TXT "v=DMARC1"
; reports for example.org may come here (RFC 7489 7.1)
example.org._report._dmarc.rua.example.net. IN TXT "v=DMARC1"
rua.example.net. IN MX 10 mx.rua.example.net.
""", "two outside domains: zone text")

rc, out, err = run("--domain=shop.example", "--domain=blog.example",
                   "--wildcard", "--p=reject", "--sp=quarantine",
                   "--adkim=s", "--aspf=s", "--pct=50", "--size=10m",
                   "--smtp-accept=@reports.example.net",
                   "--smtp-hostname=reports.example.net")
t.check(rc == 0, "wildcard: exit %d %s" % (rc, err))
same(out, """; shop.example
_dmarc.shop.example. IN TXT "v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=s; pct=50; rua=mailto:dmarc@reports.example.net!10m"
_smtp._tls.shop.example. IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@reports.example.net"

; blog.example
_dmarc.blog.example. IN TXT "v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=s; pct=50; rua=mailto:dmarc@reports.example.net!10m"
_smtp._tls.blog.example. IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@reports.example.net"

; in the collector's zone (reports.example.net)
; reports for any domain may come here (RFC 7489 7.1)
*._report._dmarc.reports.example.net. IN TXT "v=DMARC1"
reports.example.net. IN MX 10 reports.example.net.
""", "catch-all, --wildcard, policy flags, size: zone text")

# same organisational domain (example.net): no authorisation record
rc, out, err = run("--domain=example.net", "--domain=mail.example.net",
                   "--smtp-accept=rua@rua.example.net",
                   "--smtp-hostname=rua.example.net")
t.check(rc == 0, "own domain: exit %d %s" % (rc, err))
same(out, """; example.net
_dmarc.example.net. IN TXT "v=DMARC1; p=none; rua=mailto:rua@rua.example.net"
_smtp._tls.example.net. IN TXT "v=TLSRPTv1; rua=mailto:rua@rua.example.net"

; mail.example.net
_dmarc.mail.example.net. IN TXT "v=DMARC1; p=none; rua=mailto:rua@rua.example.net"
_smtp._tls.mail.example.net. IN TXT "v=TLSRPTv1; rua=mailto:rua@rua.example.net"

; in the collector's zone (rua.example.net)
rua.example.net. IN MX 10 rua.example.net.
""", "own organisation: no RFC 7489 7.1 record")
t.check("_report._dmarc" not in out, "own organisation: no _report")

# escaping: "!" in a local part, "," and ";" in the URL (RFC 8460 3)
rc, out, err = run("--domain=example.com",
                   "--smtp-accept=d!mar+c@rua.example.net,"
                   "tls@rua.example.net",
                   "--smtp-hostname=rua.example.net",
                   "--public-url=https://rua.example.net:8443/a,b;c")
t.check(rc == 0, "escaping: exit %d %s" % (rc, err))
t.check('rua=mailto:d%21mar+c@rua.example.net"' in out,
        "escaping: ! in the DMARC address is %21: " + out)
t.check("rua=mailto:tls@rua.example.net,"
        "https://rua.example.net:8443/a%2Cb%3Bc/tlsrpt\"" in out,
        "escaping: , and ; in the URL: " + out)

# ---- MTA-STS: the id follows the policy's bytes ----------------------------

pol = os.path.join(work, "example.com.txt")
policy = ("version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\n"
          "max_age: 604800\r\n")
with open(pol, "w", newline="") as f:
    f.write(policy)
want_id = hashlib.sha256(policy.encode()).hexdigest()[:32]
conf = os.path.join(work, "ruad.conf")
with open(conf, "w") as f:
    f.write("smtp_accept = dmarc@rua.example.net\n"
            "smtp_hostname = rua.example.net\n"
            "public_url = https://rua.example.net\n"
            "mta_sts_policy = example.com:%s\n" % pol)
rc, out, err = run("--config", conf, "--domain=example.com")
t.check(rc == 0, "mta-sts: exit %d %s" % (rc, err))
t.check('_mta-sts.example.com. IN TXT "v=STSv1; id=%s"\n' % want_id in out,
        "mta-sts: id is the policy's hash prefix: " + out)
t.check("mta-sts.example.com. IN CNAME rua.example.net.\n" in out,
        "mta-sts: the policy host points here")
with open(pol, "w", newline="") as f:
    f.write(policy.replace("enforce", "testing"))
rc, out2, err = run("--config", conf, "--domain=example.com")
new_id = hashlib.sha256(policy.replace("enforce", "testing").encode()
                        ).hexdigest()[:32]
t.check(rc == 0 and new_id != want_id and
        "id=%s\"" % new_id in out2, "mta-sts: a changed policy, a new id")
with open(pol, "w", newline="") as f:
    f.write("version: STSv1\nmode: enforce\nmax_age: 604800\n")
rc, out, err = run("--config", conf, "--domain=example.com")
t.check(rc == 2 and "no mx" in err, "mta-sts: a policy without mx "
        "refused: %d %s" % (rc, err))
with open(pol, "w", newline="") as f:
    f.write(policy)

# ---- refusals -----------------------------------------------------------------

for args, what in [
        ((*BASE,), "no --domain"),
        (("--domain=exa mple.com", *BASE), "a bad domain"),
        (("--domain=example.com", "--p=block", *BASE), "--p=block"),
        (("--domain=example.com", "--pct=101", *BASE), "--pct=101"),
        (("--domain=example.com", "--size=10q", *BASE), "--size=10q"),
        (("--domain=example.com", "--public-url=http://x.example",
          "--smtp-accept=a@x.example"), "public_url not https"),
        (("--domain=example.com", "--smtp-accept=nobody"),
         "smtp_accept without @"),
        (("--domain=example.com", "--smtp-accept="), "nothing to point at"),
        (("--domain=example.com", "--smtp-accept=a@rua.example.net",
          "--smtp-hostname=myhost"), "smtp_hostname not qualified"),
        (("--domain=example.com", "extra", *BASE), "a stray argument")]:
    rc, out, err = run(*args)
    t.check(rc == 2 and err.startswith("ruad: ") and out == "",
            "%s: exit 2 with a reason (got %d %r)" % (what, rc, err))

# ---- --check against dnsmasq ------------------------------------------------


def rr_txt(name, value):
    """dnsmasq --dns-rr for a TXT record, raw: commas stay in the value
    (--txt-record would split the strings at them)."""
    b = value.encode()
    data = b"".join(bytes([len(b[i:i + 255])]) + b[i:i + 255]
                    for i in range(0, max(len(b), 1), 255))
    return "--dns-rr=%s,16,%s" % (name, data.hex())


def check(server, *extra):
    return run("--check", "--dns-server=" + server, "--config", conf,
               "--domain=example.com", "--domain=example.org", *extra)


def lines(out):
    """{(status, name, type)} of --check output"""
    r = {}
    for ln in out.splitlines():
        st, rest = ln.split(None, 1)
        name, typ = rest.split(":", 1)[0].split()
        r[(name, typ)] = (st, rest.split(": ", 1)[1])
    return r


GOOD = [
    rr_txt("_dmarc.example.com",
           "v=DMARC1; p=reject; rua=mailto:DMARC@rua.example.net!20m"),
    rr_txt("_smtp._tls.example.com", "v=TLSRPTv1; "
           "rua=mailto:dmarc@rua.example.net,https://rua.example.net/tlsrpt"),
    rr_txt("_mta-sts.example.com", "v=STSv1; id=%s" % want_id),
    rr_txt("example.com._report._dmarc.rua.example.net", "v=DMARC1"),
    rr_txt("_dmarc.example.org",
           "v=DMARC1; p=none; rua=mailto:other@elsewhere.example,"
           "mailto:dmarc@rua.example.net"),
    rr_txt("_smtp._tls.example.org", "v=TLSRPTv1; "
           "rua=https://rua.example.net/tlsrpt,mailto:dmarc@rua.example.net"),
    rr_txt("example.org._report._dmarc.rua.example.net", "v=DMARC1; x=y"),
    "--mx-host=rua.example.net,rua.example.net,10",
    "--mx-host=example.com,mx1.example.com,10",
    "--mx-host=example.com,mx2.example.com,20",
    "--dns-rr=_25._tcp.mx1.example.com,52,0301012b6a51b4e3b7a8a19c",
    "--host-record=mta-sts.example.com,192.0.2.7",
]
dns = Dnsmasq([], GOOD)
try:
    rc, out, err = check(dns.server)
    got = lines(out) if rc in (0, 1) else {}
    t.check(rc == 0, "check, all right: exit %d %s\n%s" % (rc, err, out))
    for key in [("_dmarc.example.com", "TXT"), ("_smtp._tls.example.com",
                "TXT"), ("_mta-sts.example.com", "TXT"),
                ("example.com._report._dmarc.rua.example.net", "TXT"),
                ("mta-sts.example.com", "A"),
                ("_dmarc.example.org", "TXT"), ("_smtp._tls.example.org",
                "TXT"), ("example.org._report._dmarc.rua.example.net",
                "TXT"), ("rua.example.net", "MX")]:
        t.check(got.get(key, ("absent",))[0] == "ok",
                "check, all right: %s %s ok (%s)" % (key + (got.get(key),)))
    t.check(got.get(("_25._tcp.mx1.example.com", "TLSA"), ("",))[0] ==
            "info" and "1 record" in got[("_25._tcp.mx1.example.com",
                                          "TLSA")][1],
            "check: TLSA of mx1 reported")
    t.check(got.get(("_25._tcp.mx2.example.com", "TLSA"), ("", ""))[1]
            .startswith("none"), "check: no TLSA for mx2 reported")
    t.check(got.get(("_mta-sts.example.org", "TXT"), ("", ""))[0] == "info",
            "check: no MTA-STS at example.org is information only")
finally:
    dns.stop()

# nothing published
dns = Dnsmasq([])
try:
    rc, out, err = check(dns.server)
    got = lines(out) if rc in (0, 1) else {}
    t.check(rc == 1, "check, nothing published: exit 1 (%d)" % rc)
    for key in [("_dmarc.example.com", "TXT"), ("_smtp._tls.example.com",
                "TXT"), ("_mta-sts.example.com", "TXT"),
                ("example.org._report._dmarc.rua.example.net", "TXT"),
                ("rua.example.net", "MX"), ("mta-sts.example.com", "A")]:
        t.check(got.get(key, ("absent",))[0] == "missing",
                "check, nothing: %s %s missing (%s)" % (key + (got.get(key),)))
    t.check('publish "v=DMARC1; p=none; rua=mailto:dmarc@rua.example.net"'
            in got.get(("_dmarc.example.com", "TXT"), ("", ""))[1],
            "check, nothing: says what to publish")
finally:
    dns.stop()

# wrong records, each with its exact difference
BAD = [
    rr_txt("_dmarc.example.com",
           "v=DMARC1; p=none; rua=mailto:dmarc@elsewhere.example"),
    rr_txt("_smtp._tls.example.com",
           "v=TLSRPTv1; rua=mailto:dmarc@rua.example.net"),
    rr_txt("_mta-sts.example.com", "v=STSv1; id=old1"),
    rr_txt("_dmarc.example.org", "v=DMARC1; p=none"),
    rr_txt("_dmarc.example.org",
           "v=DMARC1; p=none; rua=mailto:dmarc@rua.example.net"),
    rr_txt("_smtp._tls.example.org",
           "v=TLSRPTv1; rua=mailto:dmarc@rua.example.net!10m"),
    rr_txt("example.com._report._dmarc.rua.example.net", "v=spf1 -all"),
    "--mx-host=rua.example.net,mx.elsewhere.example,10",
]
dns = Dnsmasq([], BAD)
try:
    rc, out, err = check(dns.server)
    got = lines(out) if rc in (0, 1) else {}
    t.check(rc == 1, "check, wrong: exit 1 (%d %s)" % (rc, err))

    def has(key, status, text):
        st, msg = got.get(key, ("absent", ""))
        t.check(st == status and text in msg,
                "check, wrong: %s %s: want %s ~%r, got %s %r" % (
                    key[0], key[1], status, text, st, msg))
    has(("_dmarc.example.com", "TXT"), "different",
        "rua=mailto:dmarc@elsewhere.example does not point here: add "
        "mailto:dmarc@rua.example.net")
    has(("_smtp._tls.example.com", "TXT"), "different",
        "lacks https://rua.example.net/tlsrpt")
    has(("_mta-sts.example.com", "TXT"), "different",
        "id=old1, but the policy served has id=%s" % want_id)
    has(("_dmarc.example.org", "TXT"), "error", "2 DMARC records")
    has(("_smtp._tls.example.org", "TXT"), "error",
        "\"!\" must be encoded as %21 (RFC 8460 3)")
    has(("example.com._report._dmarc.rua.example.net", "TXT"), "missing",
        "RFC 7489 7.1")
    has(("rua.example.net", "MX"), "different",
        "points to mx.elsewhere.example, not rua.example.net")
finally:
    dns.stop()

# a DNS server that never answers: exit 3, not "missing"
sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sink.bind(("127.0.0.1", 0))
stop = threading.Event()
rc, out, err = check("127.0.0.1:%d" % sink.getsockname()[1],
                     "--dns-timeout-ms=1000")
t.check(rc == 3 and "tempfail" in out and "missing" not in out,
        "check, DNS silent: exit 3 (%d) %s" % (rc, out[:300]))
sink.close()

t.finish()
