"""What an admin deploying ruad for many domains runs into, offline.

Settings: two smtp_accept lines in the file give dns-records a DMARC and a
TLSRPT mailbox of their own (the second line appends, it does not replace
the first); mta_sts_policy for 50 domains, one line each or one line of
over 1,023 bytes, with 50 real policy files, passes
`serve --check-config`; a single-value key set twice in the file is
refused (exit 2) with both line numbers.

`serve --check-config` opens what serve opens and says what is wrong,
every problem at once (exit 2): a missing certificate, a key that is
not the certificate's, an empty smtp_accept while SMTP listens on port
25, a missing api_tokens_file; with a real pair, the tokens file and the
rua addresses it prints "configuration OK".  As root, `--as-user nobody`
opens the files as nobody: a 0600 root key is then unreadable.

Flags, one parser for every verb: `--config=FILE` and `--config FILE`
both read the file; `--key value` and `--key=value` both set a key, also
after the file names (`parse FILE --zip-max-members=0` is refused, not
taken as a file); `serve -h`, `serve --help` and `ruad help serve` print
serve's own help; an unknown option, a missing value and a value given
to a switch are refused naming the flag; `token new --scope read` and
`--scope=write` both make a token; dns-records takes `--p reject` and
`--p=reject`; `reprocess --state failed` runs (against a PostgreSQL of
the test's own: reprocessing the failed rows of a database other tests
share would take theirs).

IPv6 and the access log (without an IPv6 loopback, SKIPPED): serve with
http_listen and smtp_listen on [::] and 20 tls_sni_certs pairs (20
repeated flags; the 20th is served for its name) takes an IPv4 client over HTTPS
(GET /healthz from 127.0.0.1) and over SMTP (the 220 banner on
127.0.0.1), and an IPv6 one (::1) over HTTPS; the log has exactly one
`http request` line per request, with method, path without the query
(the secret in ?token= is nowhere in the log), status, bytes, ms and
the IPv4 peer as a.b.c.d (5 requests, 5 lines; a bare TLS handshake is
no request); a TLS report POSTed and a report mail sent from 127.0.0.1
are stored with inbound.peer_addr 127.0.0.1, not ::ffff:127.0.0.1; a request to the API with a wrong token adds
one `http auth failed` line, and libmicrohttpd's chatter is not at info.
dns-records --check asks a dns_server given as [::1]:PORT (dnsmasq
there).
"""
import atexit
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ruadtest import (DB, RUAD, TMP, Dnsmasq, Postgres, Tally,  # noqa
                      _tlsrpt_json, ctx_noverify, free_port, has_ipv6,
                      wait_for)

t = Tally("admin")
work = os.path.join(TMP, "admin-%d" % os.getpid())
os.makedirs(work, exist_ok=True)


def run(*args, env=None, timeout=60):
    return subprocess.run([RUAD, *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def write(name, text, mode=0o644):
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


# ---- settings for many domains ----
conf = write("two-accept.conf",
             "smtp_accept = dmarc@rua.example.net\n"
             "smtp_accept = tlsrpt@rua.example.net\n"
             "smtp_hostname = mx.example.net\n"
             "public_url = https://rua.example.net\n")
p = run("dns-records", "--config", conf, "--domain", "example.com")
t.check(p.returncode == 0 and
        'rua=mailto:dmarc@rua.example.net"' in p.stdout and
        "rua=mailto:tlsrpt@rua.example.net," in p.stdout,
        "two smtp_accept lines: DMARC to dmarc@, TLSRPT to tlsrpt@: %s %s"
        % (p.stdout, p.stderr))

sts = os.path.join(work, "mta-sts")
os.makedirs(sts, exist_ok=True)
entries = []
for i in range(50):
    d = "customer-domain-%02d.example" % i
    path = os.path.join(sts, d + ".txt")
    with open(path, "w") as f:
        f.write("version: STSv1\r\nmode: testing\r\nmx: mx.example.net\r\n"
                "max_age: 86400\r\n")
    entries.append("%s:%s" % (d, path))
one_line = "mta_sts_policy = %s\n" % ",".join(entries)
t.check(len(one_line) > 1023, "the one-line list is over 1,023 bytes")
for name, text in (("sts-one-line.conf", one_line),
                   ("sts-lines.conf", "".join("mta_sts_policy = %s\n" % e
                                              for e in entries))):
    p = run("serve", "--check-config", "--config", write(name, text))
    t.check(p.returncode == 0 and "configuration OK" in p.stdout,
            "%s: 50 MTA-STS domains accepted: %s" % (name, p.stderr))
p = run("dns-records", "--config", write("sts-dns.conf", "".join(
    "mta_sts_policy = %s\n" % e for e in entries) +
    "smtp_accept = @rua.example.net\npublic_url = https://rua.example.net\n"
    "smtp_hostname = mx.example.net\n"),
    "--domain", "customer-domain-49.example")
t.check(p.returncode == 0 and "_mta-sts.customer-domain-49.example." in
        p.stdout, "the 50th domain's MTA-STS record is printed: %s %s" %
        (p.stdout[-300:], p.stderr))

conf = write("dup.conf", "workers = 2\n# the http side\n"
             "http_listen = 127.0.0.1:8443\n\nhttp-listen = [::]:443\n")
p = run("serve", "--check-config", "--config", conf)
t.check(p.returncode == 2 and "dup.conf:5: http-listen is already set on "
        "line 3" in p.stderr, "a repeated single-value key names both "
        "lines: %s" % p.stderr)

# ---- --check-config checks ----
cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
key2 = os.path.join(work, "key2.pem")
for k, c in ((key, cert), (key2, cert + ".other")):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", k,
                    "-out", c, "-days", "2", "-subj", "/CN=rua.example.net"],
                   capture_output=True, check=True)
tokens_ok = write("tokens-ok", "")
as_user = ["--as-user", "root"] if os.geteuid() == 0 else []
accept = ["--smtp-accept", "dmarc@rua.example.net"]
good = ["--tls-cert", cert, "--tls-key", key, "--smtp-listen", "[::]:25",
        "--api-tokens-file", tokens_ok]
p = run("serve", "--check-config", *good, *accept, *as_user)
t.check(p.returncode == 0 and p.stdout == "configuration OK\n",
        "check-config: a good set-up is OK: %s" % p.stderr)
for change, what in (
        (["--tls-cert", cert + ".missing"], "tls_cert: %s.missing: No such "
         "file" % cert),
        (["--tls-key", key2], "are not a pair"),
        ([], "smtp_accept is empty while SMTP listens on port 25"),
        (["--api-tokens-file", tokens_ok + ".missing"], "api_tokens_file: "
         "%s.missing: no such file" % tokens_ok)):
    p = run("serve", "--check-config", *good, *change,
            *(accept if change else []), *as_user)
    t.check(p.returncode == 2 and what in p.stderr and
            "configuration OK" not in p.stdout,
            "check-config refuses %s: %d %s" % (" ".join(change),
                                                p.returncode, p.stderr))
p = run("serve", "--check-config", *good, "--tls-cert", cert + ".missing",
        "--api-tokens-file", "/nonexistent", *as_user)
t.check(p.returncode == 2 and "3 problems" in p.stderr,
        "check-config reports every problem at once: %s" % p.stderr)
if os.geteuid() == 0:
    os.chmod(key, 0o600)
    p = run("serve", "--check-config", *good, *accept, "--as-user",
            "nobody")
    t.check(p.returncode == 2 and "tls_key: %s: Permission denied (as user "
            "nobody)" % key in p.stderr, "check-config opens the files as "
            "the service user: %s" % p.stderr)
else:
    t.skip(1, "not root: --as-user not tested")

# ---- flags without traps ----
bad = write("bad-listen.conf", "smtp_listen = nowhere\n")
for form in (["--config=" + bad], ["--config", bad]):
    p = run("serve", "--check-config", *form)
    t.check(p.returncode == 2 and "smtp_listen" in p.stderr,
            "%s reads the file: %s" % (" ".join(form), p.stderr))
for form in (["--smtp-listen", "nowhere"], ["--smtp-listen=nowhere"],
             ["--smtp_listen", "nowhere"]):
    p = run("serve", "--check-config", *form)
    t.check(p.returncode == 2 and "smtp_listen" in p.stderr,
            "%s is a setting: %s" % (" ".join(form), p.stderr))

xml = write("report.xml", """<?xml version="1.0"?>
<feedback><report_metadata><org_name>admin-test</org_name>
<email>a@example.com</email><report_id>1</report_id>
<date_range><begin>1764979200</begin><end>1765065599</end></date_range>
</report_metadata><policy_published><domain>example.com</domain>
<p>none</p></policy_published><record><row><source_ip>192.0.2.1</source_ip>
<count>1</count><policy_evaluated><disposition>none</disposition>
<dkim>pass</dkim><spf>pass</spf></policy_evaluated></row>
<identifiers><header_from>example.com</header_from></identifiers>
<auth_results><spf><domain>example.com</domain><result>pass</result></spf>
</auth_results></record></feedback>
""")
p = run("parse", xml, "--zip-max-members=0")
t.check(p.returncode == 2 and "--zip-max-members" in p.stderr and
        p.stdout == "", "a flag after the file is a flag, and checked: %d %s"
        % (p.returncode, p.stderr))
p = run("parse", xml, "--log-level", "debug", "--", xml)
t.check(p.returncode == 0 and p.stdout.count('"admin-test"') == 2,
        "--key value after a file, then -- and a file: %d %s" %
        (p.returncode, p.stderr))

for args in (["serve", "-h"], ["serve", "--help"], ["help", "serve"],
             ["serve", "--config", "/nonexistent", "--help"]):
    p = run(*args)
    t.check(p.returncode == 0 and p.stdout.startswith("usage: ruad serve")
            and "--check-config" in p.stdout and "--config FILE" in
            p.stdout, "%s: serve's help: %d %s" % (" ".join(args),
                                                     p.returncode, p.stderr))
for args, flag, why in (
        (["serve", "--bogus"], "--bogus", "unknown option"),
        (["serve", "--check-config", "-x"], "-x", "unknown option"),
        (["parse", xml, "--log-level"], "--log-level", "needs a value"),
        (["serve", "--check-config=yes"], "--check-config", "takes no value"),
        (["reprocess", "--state"], "--state", "needs a value"),
        (["serve", "--workers", "0"], "--workers", "is not a number")):
    p = run(*args)
    t.check(p.returncode == 2 and flag in p.stderr and why in p.stderr,
            "%s: refused naming %s (%s): %s" % (" ".join(args), flag, why,
                                                 p.stderr))

tokens = os.path.join(work, "tokens")
for scope in (["--scope", "read"], ["--scope=write"]):
    p = run("token", "new", *scope, "--api-tokens-file", tokens)
    t.check(p.returncode == 0 and len(p.stdout.strip()) >= 32,
            "token new %s: %s" % (" ".join(scope), p.stderr))
t.check(os.path.exists(tokens) and
        len(open(tokens).read().splitlines()) == 2, "two tokens written")

conf = write("dns.conf", "smtp_accept = @rua.example.net\n"
             "smtp_hostname = mx.example.net\n")
for form in (["--p", "reject"], ["--p=reject"]):
    p = run("dns-records", "--config", conf, "--domain", "example.com",
            *form)
    t.check(p.returncode == 0 and "p=reject;" in p.stdout,
            "dns-records %s: %s" % (" ".join(form), p.stderr))

# a database of the test's own (run() passes the environment on)
pg = Postgres("admin")
atexit.register(pg.stop)             # also when a check raises
pg.start()
os.environ["RUAD_DATABASE_URL"] = pg.url

p = run("migrate")
t.check(p.returncode == 0, "migrate: %s" % p.stderr)
for form in (["--state", "failed"], ["--state=failed"]):
    p = run("reprocess", *form)
    t.check(p.returncode == 0 and p.stdout.startswith("reprocessed "),
            "reprocess %s: %d %s" % (" ".join(form), p.returncode,
                                     p.stderr))
p = run("reprocess", "--state", "bogus")
t.check(p.returncode == 2 and '"bogus"' in p.stderr,
        "reprocess --state bogus is refused: %s" % p.stderr)

# ---- IPv6, and the access log ----


def https_get(host, port, path, headers=None):
    import http.client
    c = http.client.HTTPSConnection(host, port, timeout=10,
                                    context=ctx_noverify())
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read()
    except OSError as e:
        return None, str(e).encode()
    finally:
        c.close()


def post_tlsrpt(host, port, rid):
    """POST a TLS report whose report-id is rid; the status."""
    import http.client
    body = _tlsrpt_json("admin.example", "tls@admin.example", rid,
                        "admin.example", 1767225600, 1, 0)
    c = http.client.HTTPSConnection(host, port, timeout=10,
                                    context=ctx_noverify())
    try:
        c.request("POST", "/tlsrpt", body=body, headers={
            "Content-Type": "application/tlsrpt+json"})
        r = c.getresponse()
        r.read()
        return r.status
    except OSError as e:
        return str(e)
    finally:
        c.close()


def smtp_send(host, port, marker):
    """One message to dmarc@rua.example.net; the reply code to its end."""
    import smtplib
    try:
        with smtplib.SMTP(host, port, timeout=10) as c:
            c.ehlo("client.test")
            c.mail("r@client.test")
            c.rcpt("dmarc@rua.example.net")
            code, _ = c.data(("Subject: %s\r\n\r\n%s\r\n" % (
                marker, marker)).encode())
            return code
    except (OSError, smtplib.SMTPException) as e:
        return str(e)


if has_ipv6():
    import socket
    db = DB(pg.url)
    os.chmod(key, 0o644)
    hport, sport = free_port(), free_port()
    # 20 more certificates, one --tls-sni-certs flag each (repeated list
    # flags append): more than the 16 serve used to take
    sni = []
    for i in range(20):
        name = "mta-sts.d%02d.example" % i
        c, k = (os.path.join(work, "%s.%s" % (name, x)) for x in ("crt",
                                                                  "key"))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", k, "-out", c, "-days", "2", "-subj",
                        "/CN=" + name, "-addext", "subjectAltName=DNS:" +
                        name], capture_output=True, check=True)
        sni += ["--tls-sni-certs", "%s:%s" % (c, k)]
    log_path = os.path.join(work, "serve.log")
    logf = open(log_path, "w")
    srv = subprocess.Popen([RUAD, "serve", "--http-listen", "[::]:%d" % hport,
                            "--smtp-listen", "[::]:%d" % sport,
                            "--tls-cert", cert, "--tls-key", key,
                            "--smtp-accept", "dmarc@rua.example.net",
                            "--api-tokens-file", tokens_ok, *sni],
                           stdout=logf, stderr=subprocess.STDOUT)
    try:
        up = wait_for(lambda: srv.poll() is not None or
                      https_get("127.0.0.1", hport, "/healthz")[0] == 200, 15)
        t.check(srv.poll() is None and up, "serve on [::] is up: %s" %
                open(log_path).read()[-1000:])
        st, body = https_get("127.0.0.1", hport, "/healthz?token=SEKRIT")
        t.check(st == 200 and body == b"ok\n", "an IPv4 client reaches HTTPS "
                "on [::]: %s %r" % (st, body))
        import ssl
        last = "mta-sts.d19.example"
        try:
            with socket.create_connection(("127.0.0.1", hport), 10) as so, \
                    ctx_noverify().wrap_socket(so, server_hostname=last) as ts:
                got = ts.getpeercert(binary_form=True)
        except OSError as e:
            got = str(e)
        want = ssl.PEM_cert_to_DER_cert(open(os.path.join(
            work, last + ".crt")).read())
        t.check(got == want, "the 20th tls_sni_certs pair is served for "
                "its name")
        st, body = https_get("::1", hport, "/healthz")
        t.check(st == 200, "an IPv6 client reaches HTTPS on [::]: %s %r" %
                (st, body))
        st, body = https_get("127.0.0.1", hport, "/api/v1/domains",
                             {"Authorization": "Bearer nope"})
        t.check(st == 401, "a wrong token: 401 (%s)" % st)
        try:
            with socket.create_connection(("127.0.0.1", sport), 10) as so:
                so.settimeout(10)
                banner = so.recv(200)
        except OSError as e:
            banner = str(e).encode()
        t.check(banner.startswith(b"220"), "an IPv4 client reaches SMTP on "
                "[::]: %r" % banner)
        # a report over each from 127.0.0.1: stored with the IPv4 address,
        # not the v4-mapped ::ffff:127.0.0.1 the dual-stack socket gives
        mark = "peer-v4-%d" % os.getpid()
        st = post_tlsrpt("127.0.0.1", hport, mark + "-https")
        t.check(st == 202, "a TLS report over HTTPS on [::]: 202 (%s)" % st)
        code = smtp_send("127.0.0.1", sport, mark + "-smtp")
        t.check(code == 250, "a report mail over SMTP on [::]: 250 (%s)" %
                code)
        peers = {}
        for ch in ("https", "smtp"):
            rows = db.q("SELECT host(peer_addr) FROM inbound WHERE "
                        "position(%s in raw) > 0", ("%s-%s" % (
                            mark, ch)).encode())
            peers[ch] = [r[0] for r in rows or []]
        t.check(peers == {"https": ["127.0.0.1"], "smtp": ["127.0.0.1"]},
                "inbound.peer_addr of an IPv4 client of [::] is "
                "127.0.0.1: %s" % peers)
        wait_for(lambda: open(log_path).read().count("http request ") >= 5,
                 5)
    finally:
        srv.terminate()
        srv.wait(30)
        logf.close()
    log = open(log_path).read()
    lines = [ln for ln in log.splitlines() if "http request " in ln]
    t.check(len(lines) == 5, "one access line per request (5): %s" %
            "\n".join(lines))
    t.check(any('method=GET path="/healthz" status=200 bytes=3 ' in ln and
                "peer=127.0.0.1" in ln for ln in lines),
            "the access line has method, path, status, bytes and the IPv4 "
            "peer as a.b.c.d")
    t.check(any("peer=::1" in ln for ln in lines), "and the IPv6 peer")
    t.check(all(re.search(r" ms=\d+ ", ln) for ln in lines),
            "every access line has its time")
    t.check(any('path="/api/v1/domains" status=401' in ln for ln in lines),
            "the refused API request has its line")
    t.check("SEKRIT" not in log and "nope" not in log,
            "no query string and no token in the log")
    t.check(log.count("http auth failed") == 1 and
            'reason="unknown token" peer=127.0.0.1' in log,
            "one line for the failed API authentication")
    t.check("level=info http mhd=" not in log,
            "libmicrohttpd's chatter is not at info")

    dm = Dnsmasq([("_dmarc.example.com", "v=DMARC1; p=none; "
                   "rua=mailto:dmarc@rua.example.net")],
                 ["--listen-address=::1"])
    try:
        p = run("dns-records", "--config", conf, "--domain", "example.com",
                "--check", "--dns-server", "[::1]:%d" % dm.port)
    finally:
        dm.stop()
    t.check(p.returncode in (0, 1) and p.stdout.startswith("ok ") and
            "_dmarc.example.com" in p.stdout.splitlines()[0],
            "dns_server [::1]:PORT is asked: %s %s" % (p.stdout[:300],
                                                      p.stderr))
else:
    t.skip(15, "no IPv6 loopback: serve on [::] not run")

shutil.rmtree(work, ignore_errors=True)
t.finish()
