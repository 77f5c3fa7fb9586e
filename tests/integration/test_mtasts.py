"""MTA-STS policy hosting (RFC 8461 3.3) and the certificate picked by SNI.

`ruad serve` with mta_sts_policy for two domains, tls_cert for the
collector's name and tls_sni_certs holding a certificate for
mta-sts.example.com (made here with openssl):

- GET /.well-known/mta-sts.txt with Host: mta-sts.example.com answers 200
  text/plain with the policy file byte for byte (any case, with a port);
  Host: mta-sts.example.org gets its own policy; any other host, or any
  other path on those hosts, gets 404; POST gets 405.
- The handshake for SNI mta-sts.example.com gets that certificate (and
  verifies against it as CA, by name); other names get tls_cert.
- The id that `ruad dns-records` prints for _mta-sts is the one of the
  served bytes (sha256 prefix), and SIGHUP reloads both certificates.
- A policy that breaks RFC 8461 3.2 stops `serve` and `--check-config`
  at start-up with the file and reason.

No database is needed: the policy is served from memory (the workers
only log that the database is down).
"""
import hashlib
import http.client
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ruadtest import RUAD, TMP, Tally, free_port, wait_for  # noqa: E402

t = Tally("mtasts")
work = tempfile.mkdtemp(prefix="mtasts.", dir=TMP)


def cert(name):
    """a self-signed certificate for name: (cert path, key path)"""
    c, k = os.path.join(work, name + ".crt"), os.path.join(work, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", k, "-out", c, "-days", "2", "-subj",
                    "/CN=" + name, "-addext", "subjectAltName=DNS:" + name],
                   check=True, capture_output=True)
    return c, k


main_crt, main_key = cert("rua.example.net")
sts_crt, sts_key = cert("mta-sts.example.com")
POL_COM = ("version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\n"
           "mx: *.mx.example.com\r\nmax_age: 604800\r\n")
POL_ORG = "version: STSv1\nmode: testing\nmx: mail.example.org\nmax_age: 86400\n"
pol_com = os.path.join(work, "com.txt")
pol_org = os.path.join(work, "org.txt")
for path, text in [(pol_com, POL_COM), (pol_org, POL_ORG)]:
    with open(path, "w", newline="") as f:
        f.write(text)
port = free_port()
conf = os.path.join(work, "ruad.conf")
with open(conf, "w") as f:
    f.write("http_listen = 127.0.0.1:%d\nsmtp_listen =\n"
            "tls_cert = %s\ntls_key = %s\n"
            "tls_sni_certs = %s:%s\n"
            "mta_sts_policy = example.com:%s, Example.ORG:%s\n"
            "smtp_accept = dmarc@rua.example.net\n"
            "smtp_hostname = rua.example.net\n"
            "public_url = https://rua.example.net\n"
            "database_url = postgresql://nobody@127.0.0.1:%d/none\n"
            "workers = 1\n" % (port, main_crt, main_key, sts_crt, sts_key,
                               pol_com, pol_org, free_port()))

p = subprocess.run([RUAD, "serve", "--check-config", "--config", conf],
                   capture_output=True, text=True)
t.check(p.returncode == 0, "check-config: %s" % p.stderr)
log = open(os.path.join(work, "serve.log"), "w")
srv = subprocess.Popen([RUAD, "serve", "--config", conf], stdout=log,
                       stderr=subprocess.STDOUT)


def up():
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def ctx_for(cafile=None):
    c = ssl.create_default_context(cafile=cafile)
    if cafile is None:
        c.check_hostname = False
        c.verify_mode = ssl.CERT_NONE
    return c


def get(host, path="/.well-known/mta-sts.txt", sni=None, method="GET",
        cafile=None):
    """(status, content type, body) over TLS with SNI sni (or host)"""
    c = http.client.HTTPSConnection("127.0.0.1", port, timeout=10,
                                    context=ctx_for(cafile))
    # SNI and certificate checks use the name, the socket goes to loopback
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.sock = ctx_for(cafile).wrap_socket(
        sock, server_hostname=sni or host.split(":")[0])
    c.putrequest(method, path, skip_host=True)
    c.putheader("Host", host)
    c.endheaders()
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, r.getheader("Content-Type"), body


def peer_cn(sni):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    s = ctx_for().wrap_socket(sock, server_hostname=sni)
    der = s.getpeercert(binary_form=True)
    s.close()
    pem = ssl.DER_cert_to_PEM_cert(der)
    out = subprocess.run(["openssl", "x509", "-noout", "-subject"],
                         input=pem, capture_output=True, text=True).stdout
    return out.strip()


try:
    t.check(wait_for(up, 10), "serve listens")
    st, ct, body = get("mta-sts.example.com", cafile=sts_crt)
    t.check(st == 200 and body == POL_COM.encode() and
            ct.startswith("text/plain"),
            "policy of example.com (SNI cert verified by name): %s %s %r" %
            (st, ct, body[:80]))
    st, ct, body = get("MTA-STS.Example.Com:%d" % port)
    t.check(st == 200 and body == POL_COM.encode(),
            "Host in another case, with a port: %s" % st)
    st, ct, body = get("mta-sts.example.org")
    t.check(st == 200 and body == POL_ORG.encode(),
            "policy of example.org: %s %r" % (st, body[:80]))
    for host, path, what in [
            ("rua.example.net", "/.well-known/mta-sts.txt", "another host"),
            ("mta-sts.example.net", "/.well-known/mta-sts.txt",
             "a domain without a policy"),
            ("example.com", "/.well-known/mta-sts.txt", "the bare domain"),
            ("mta-sts.example.com", "/healthz", "another path"),
            ("mta-sts.example.com", "/.well-known/mta-sts.txt.bak",
             "a longer path")]:
        st, ct, body = get(host, path)
        t.check(st == 404 and b"version: STSv1" not in body,
                "%s: 404 (%s)" % (what, st))
    st, ct, body = get("mta-sts.example.com", method="POST")
    t.check(st == 405, "POST: 405 (%s)" % st)
    st, ct, body = get("rua.example.net", "/healthz")
    t.check(st == 200, "the collector's own routes still answer (%s)" % st)

    t.check("mta-sts.example.com" in peer_cn("mta-sts.example.com"),
            "SNI mta-sts.example.com gets its certificate: %s" %
            peer_cn("mta-sts.example.com"))
    t.check("rua.example.net" in peer_cn("rua.example.net"),
            "SNI rua.example.net gets tls_cert")
    t.check("rua.example.net" in peer_cn("other.example"),
            "an unknown SNI gets tls_cert")

    # the TXT id is the served bytes' id
    p = subprocess.run([RUAD, "dns-records", "--config", conf,
                        "--domain=example.com", "--domain=example.org"],
                       capture_output=True, text=True)
    for dom, text in [("example.com", POL_COM), ("example.org", POL_ORG)]:
        st, ct, body = get("mta-sts." + dom)
        want = hashlib.sha256(body).hexdigest()[:32]
        t.check('_mta-sts.%s. IN TXT "v=STSv1; id=%s"' % (dom, want) in
                p.stdout, "dns-records id of %s matches the served policy"
                % dom)

    # SIGHUP: a new certificate for mta-sts.example.com is picked up
    old = peer_cn("mta-sts.example.com")
    os.rename(sts_crt, sts_crt + ".old")
    os.rename(sts_key, sts_key + ".old")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", sts_key, "-out", sts_crt, "-days", "2",
                    "-subj", "/CN=mta-sts.example.com/O=renewed",
                    "-addext", "subjectAltName=DNS:mta-sts.example.com"],
                   check=True, capture_output=True)
    srv.send_signal(signal.SIGHUP)
    t.check(wait_for(lambda: "renewed" in peer_cn("mta-sts.example.com"),
                     10), "SIGHUP reloads the SNI certificate (was %s)" % old)
finally:
    srv.send_signal(signal.SIGTERM)
    try:
        rc = srv.wait(30)
    except subprocess.TimeoutExpired:
        srv.kill()
        rc = srv.wait()
    log.close()
t.check(rc == 0, "serve stops cleanly: %s" % rc)

# a policy that breaks RFC 8461 3.2 stops start-up
with open(pol_org, "w") as f:
    f.write("version: STSv1\nmode: enforce\nmax_age: 86400\n")
for args in (["serve", "--check-config"], ["serve"]):
    p = subprocess.run([RUAD, *args, "--config", conf], capture_output=True,
                       text=True, timeout=30)
    t.check(p.returncode != 0 and "org.txt" in p.stderr and "no mx" in
            p.stderr, "%s refuses a policy without mx: %d %s" % (
                " ".join(args), p.returncode, p.stderr))
shutil.rmtree(work, ignore_errors=True)
t.finish()
