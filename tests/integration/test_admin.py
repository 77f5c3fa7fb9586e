"""What an admin deploying ruad for many domains runs into, offline.

Settings: two smtp_accept lines in the file give dns-records a DMARC and a
TLSRPT mailbox of their own (the second line appends, it does not replace
the first); mta_sts_policy for 50 domains, one line each or one line of
over 1,023 bytes, with 50 real policy files, passes
`serve --check-config`; a single-value key set twice in the file is
refused (exit 2) with both line numbers.
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ruadtest import RUAD, TMP, Tally  # noqa: E402

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

shutil.rmtree(work, ignore_errors=True)
t.finish()
