"""deploy/: the systemd unit, the example config, the Postfix snippet, the
man page and the .deb.

- deploy/systemd/ruad.service passes `systemd-analyze verify` and
  `systemd-analyze security --offline=yes` rates its exposure 2.0 or
  lower (both work without a running systemd); it carries the hardening
  the unit promises.
- deploy/ruad.conf passes `ruad serve --check-config` once its
  certificate exists (a generated pair in its place; without it the check
  names tls_cert and fails), and every key it names (set or commented
  out) is a real one.
- deploy/postfix/transport compiles with postmap and routes the rua
  addresses (and nothing else) to ruad.
- deploy/ruad.8 renders with groff without a warning.
- deploy/quickstart (the real script, from a copy of deploy/ in a 0700
  directory that no other user can enter, on free ports, with this
  build: RUAD_QS_BUILD) starts ruad and PostgreSQL and prints a dashboard
  link whose token works; as root both run as an unprivileged user, not
  uid 0; PostgreSQL refuses a connection over 127.0.0.1 without a
  password (as postgres and as ruad) and takes one with the generated
  pgpass; the token files, the pgpass and the logs are 0600 and no log
  holds the token; /metrics needs the token; no parent directory's mode
  changed (no o+x); `quickstart stop` stops both.
- The .deb (`cmake --build BUILD --target package`) holds the Debian
  copyright file, changelog.gz, SECURITY.md and docs/deploy.md, and its
  Maintainer is no placeholder address; it installs with
  `dpkg -i`, creates the user ruad, and `ruad --version` runs from
  /usr/bin; the installed unit verifies; `dpkg --purge` removes it all.
  This part needs root (CI is root) and runs in the release build only
  (the ASan build would install an ASan binary); otherwise it is
  SKIPPED, loudly.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ruadtest import RUAD, SRC, TMP, Tally, is_asan  # noqa: E402

t = Tally("deploy")
UNIT = os.path.join(SRC, "deploy", "systemd", "ruad.service")
CONF = os.path.join(SRC, "deploy", "ruad.conf")
BUILD = os.path.dirname(RUAD)


def sh(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True,
                          timeout=kw.pop("timeout", 300), **kw)


def exposure(unit_path):
    """(exit status, the overall exposure as a float or None, output)"""
    p = sh("systemd-analyze", "security", "--offline=yes", "--threshold=20",
           unit_path)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", p.stdout)
    return p.returncode, float(m.group(1)) if m else None, p.stdout


# ---- the unit ------------------------------------------------------------

work = tempfile.mkdtemp(prefix="deploy.", dir=TMP)
unit = open(UNIT).read()
# verify wants the commands to exist: the built binary stands in
local = os.path.join(work, "ruad.service")
with open(local, "w") as f:
    f.write(unit.replace("/usr/bin/ruad", os.path.abspath(RUAD)))
p = sh("systemd-analyze", "verify", "--man=no", local)
t.check(p.returncode == 0 and p.stderr.strip() == "",
        "unit: systemd-analyze verify: %d %s" % (p.returncode, p.stderr))
rc, level, out = exposure(local)
print("unit: systemd-analyze security exposure %s" % level)
t.check(level is not None and level <= 2.0 and rc == 0,
        "unit: exposure %s (want <= 2.0), exit %d\n%s" % (level, rc, out))
for directive in ["User=ruad", "NoNewPrivileges=yes",
                  "AmbientCapabilities=CAP_NET_BIND_SERVICE",
                  "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
                  "ProtectSystem=strict", "PrivateTmp=yes",
                  "PrivateDevices=yes", "ProtectKernelTunables=yes",
                  "ProtectKernelModules=yes", "ProtectKernelLogs=yes",
                  "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
                  "SystemCallFilter=@system-service",
                  "MemoryDenyWriteExecute=yes",
                  "ExecReload=/bin/kill -HUP $MAINPID"]:
    t.check(re.search(r"^%s$" % re.escape(directive), unit, re.M),
            "unit: %s" % directive)
# the checker can fail: a unit without the hardening rates badly
bare = os.path.join(work, "bare.service")
with open(bare, "w") as f:
    f.write("[Service]\nExecStart=%s serve\n" % os.path.abspath(RUAD))
rc, level, _ = exposure(bare)
t.check(rc != 0 and level is not None and level > 2.0,
        "unit: an unhardened unit rates above 2.0 (%s)" % level)

# ---- the example config ----------------------------------------------------------

# as it stands it names a certificate this machine does not have, and
# --check-config opens it; with a real pair in its place it passes
as_user = ["--as-user", "root"] if os.geteuid() == 0 else []
if not os.path.exists("/etc/ruad/tls/fullchain.pem"):
    p = sh(RUAD, "serve", "--check-config", "--config", CONF, *as_user)
    t.check(p.returncode == 2 and
            "tls_cert: /etc/ruad/tls/fullchain.pem: No such file" in p.stderr,
            "example config: --check-config opens tls_cert: %s" % p.stderr)
cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
   "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
   "-days", "2", "-subj", "/CN=rua.example.net")
p = sh(RUAD, "serve", "--check-config", "--config", CONF, "--tls-cert", cert,
       "--tls-key", key, *as_user)
t.check(p.returncode == 0 and p.stdout.strip() == "configuration OK",
        "example config with a real certificate: --check-config: %s %s" %
        (p.stdout, p.stderr))
known = set(re.findall(r"^\| `([a-z_0-9]+)` \|",
                       sh(RUAD, "config-reference").stdout, re.M))
named = re.findall(r"^#?([a-z_0-9]+) = ", open(CONF).read(), re.M)
t.check(len(named) >= 15, "example config names %d keys" % len(named))
for k in named:
    t.check(k in known, "example config: %s is a real key" % k)

# ---- the Postfix snippet -----------------------------------------------------------

postmap = shutil.which("postmap") or "/usr/sbin/postmap"
if os.path.exists(postmap):
    pf = os.path.join(work, "postfix")
    os.makedirs(pf)
    open(os.path.join(pf, "main.cf"), "w").close()
    shutil.copy(os.path.join(SRC, "deploy", "postfix", "transport"), pf)
    m = "hash:" + os.path.join(pf, "transport")
    p = sh(postmap, "-c", pf, m)
    t.check(p.returncode == 0, "postfix: postmap: %s" % p.stderr)
    for addr in ["dmarc@example.com", "tlsrpt@example.com"]:
        p = sh(postmap, "-c", pf, "-q", addr, m)
        t.check(p.stdout.strip() == "smtp:[ruad.internal.example]:2525",
                "postfix: %s goes to ruad (%r)" % (addr, p.stdout))
    p = sh(postmap, "-c", pf, "-q", "someone@example.com", m)
    t.check(p.returncode != 0 and p.stdout == "",
            "postfix: other mail stays (%r)" % p.stdout)
else:
    t.skip(4, "postmap not installed (deploy/install-deps test adds "
           "postfix)")

# ---- the man page ------------------------------------------------------------------

p = sh("groff", "-man", "-Tutf8", "-ww", "-z",
       os.path.join(SRC, "deploy", "ruad.8"))
t.check(p.returncode == 0 and p.stderr == "",
        "man page: groff warnings: %s" % p.stderr)

# ---- the quickstart ----------------------------------------------------------------


def parents(path):
    """(directory, mode) of path and every directory above it."""
    out = []
    while True:
        out.append((path, os.stat(path).st_mode & 0o7777))
        if path == "/":
            return out
        path = os.path.dirname(path)


def quickstart():
    from ruadtest import free_port
    top = tempfile.mkdtemp(prefix="qs.", dir=TMP)     # 0700: others stay out
    os.makedirs(os.path.join(top, "deploy"))
    for f in ("quickstart", "install-deps"):
        shutil.copy2(os.path.join(SRC, "deploy", f), os.path.join(top,
                                                                  "deploy"))
    qs = os.path.join(top, "deploy", "quickstart")
    before = parents(top)
    pg_port, http_port, smtp_port = free_port(), free_port(), free_port()
    env = dict(os.environ, RUAD_QS_BUILD=BUILD, RUAD_PG_PORT=str(pg_port),
               RUAD_HTTP_PORT=str(http_port), RUAD_SMTP_PORT=str(smtp_port),
               RUAD_SAMPLES=os.path.join(top, "no-samples"))
    env.pop("RUAD_DATABASE_URL", None)
    env.pop("PGPASSFILE", None)
    state = None
    try:
        p = sh(qs, env=env, timeout=600)
        state = os.path.realpath(os.path.join(top, "var"))
        m = re.search(r"signed in: +(https://127\.0\.0\.1:%d/)#token=(\S+)"
                      % http_port, p.stdout)
        if not t.check(p.returncode == 0 and m, "quickstart: runs and prints "
                       "a dashboard link: %s\n%s" % (p.stdout[-1500:],
                                                      p.stderr[-1500:])):
            return
        base, token = m.group(1), m.group(2)

        def curl(path, *extra):
            c = sh("curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}",
                   *extra, base + path.lstrip("/"))
            return c.stdout.strip()
        auth = ("-H", "Authorization: Bearer " + token)
        t.check(curl("/") == "200", "quickstart: the dashboard answers")
        t.check(curl("/api/v1/domains", *auth) == "200",
                "quickstart: the link's token reads the API")
        t.check(curl("/metrics") == "401" and curl("/metrics", *auth) ==
                "200", "quickstart: /metrics needs the token")
        # who runs what
        pid = int(open(os.path.join(state, "ruad.pid")).read())
        pm = int(open(os.path.join(state, "pg", "data", "postmaster.pid"))
                 .readline())
        uid_ruad = os.stat("/proc/%d" % pid).st_uid
        uid_pg = os.stat("/proc/%d" % pm).st_uid
        exe = os.path.basename(os.readlink("/proc/%d/exe" % pid))
        t.check(exe == "ruad", "quickstart: ruad.pid is ruad's (%s)" % exe)
        if os.geteuid() == 0:
            t.check(uid_ruad != 0 and uid_pg != 0, "quickstart: as root, "
                    "ruad (uid %d) and PostgreSQL (uid %d) run unprivileged"
                    % (uid_ruad, uid_pg))
            t.check(not state.startswith(top), "quickstart: as root the "
                    "state is outside the checkout (%s)" % state)
        else:
            t.check(uid_ruad == os.geteuid(), "quickstart: ruad runs as "
                    "the user who started it")
        # PostgreSQL wants a password, and takes the generated one
        noenv = dict(os.environ, PGCONNECT_TIMEOUT="5")
        noenv["PGPASSFILE"] = os.path.join(top, "no-pgpass")
        for role in ("postgres", "ruad"):
            c = sh("psql", "-h", "127.0.0.1", "-p", str(pg_port), "-U", role,
                   "-w", "-d", "ruad", "-Atc", "SELECT 1", env=noenv)
            t.check(c.returncode != 0 and "password" in c.stderr,
                    "quickstart: PostgreSQL refuses %s without a password "
                    "over 127.0.0.1: %s" % (role, c.stderr.strip()))
        pgpass = os.path.join(state, "secrets", "pgpass")
        c = sh("psql", "-h", "127.0.0.1", "-p", str(pg_port), "-U", "ruad",
               "-w", "-d", "ruad", "-Atc", "SELECT count(*) > 0 FROM inbound",
               env=dict(noenv, PGPASSFILE=pgpass))
        t.check(c.returncode == 0 and c.stdout.strip() == "t",
                "quickstart: the generated password works: %s" % c.stderr)
        # secrets and logs: the owner's only; the token in no log
        for f in ("tokens", "dashboard-link", "secrets/pgpass",
                  "secrets/pg-superuser", "log/ruad.log",
                  "log/postgresql.log"):
            path = os.path.join(state, f)
            mode = os.stat(path).st_mode & 0o777 if os.path.exists(
                path) else None
            t.check(mode == 0o600, "quickstart: %s is 0600 (%s)" % (
                f, "missing" if mode is None else "%o" % mode))
        t.check(os.stat(state).st_mode & 0o077 == 0,
                "quickstart: the state directory is the owner's only")
        for f in glob.glob(os.path.join(state, "log", "*")):
            t.check(token.encode() not in open(f, "rb").read(),
                    "quickstart: the token is not in %s" % f)
        link = os.path.join(state, "dashboard-link")
        t.check(os.path.exists(link) and token in open(link).read(),
                "quickstart: the link is kept in dashboard-link")
        t.check(parents(top) == before, "quickstart: no parent directory's "
                "mode changed: %s -> %s" % (before, parents(top)))
    finally:
        p = sh(qs, "stop", env=env, timeout=120)
        t.check(p.returncode == 0, "quickstart stop: %s" % p.stderr)
        if state is not None and os.path.isdir(state):
            st = sh(qs, "status", env=env).stdout
            t.check("ruad not running" in st and "PostgreSQL not running" in
                    st, "quickstart stop stops both: %s" % st)
            if state != top and not state.startswith(top + "/"):
                shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(top, ignore_errors=True)


quickstart()

# ---- the .deb ----------------------------------------------------------------------


def dpkg(*args):
    """dpkg, waiting for the lock when apt runs elsewhere"""
    for _ in range(60):
        p = sh("dpkg", *args)
        if "lock" not in p.stderr:
            return p
        time.sleep(2)
    return p


if os.geteuid() != 0:
    t.skip(12, "the .deb install needs root (CI runs as root): NOT TESTED")
elif is_asan(RUAD):
    t.skip(12, "the .deb is tested in the release build, not with ASan")
elif sh("dpkg-query", "-W", "-f=${Status}", "ruad").stdout.startswith(
        "install ok"):
    t.skip(12, "a ruad package is installed already; not replacing it")
else:
    for old in glob.glob(os.path.join(BUILD, "ruad_*.deb")):
        os.remove(old)
    p = sh("cmake", "--build", BUILD, "--target", "package", timeout=900)
    debs = glob.glob(os.path.join(BUILD, "ruad_*.deb"))
    t.check(p.returncode == 0 and len(debs) == 1,
            "deb: package target: %s" % (p.stdout[-2000:] + p.stderr))
    if debs:
        files = sh("dpkg-deb", "-c", debs[0]).stdout
        for f in ["./usr/bin/ruad", "./lib/systemd/system/ruad.service",
                  "./etc/ruad/ruad.conf", "./usr/share/man/man8/ruad.8.gz",
                  "./usr/share/ruad/migrations/001_initial.sql",
                  "./usr/share/ruad/web/",
                  "./usr/share/doc/ruad/docs/configuration.md",
                  "./usr/share/doc/ruad/copyright",
                  "./usr/share/doc/ruad/changelog.gz",
                  "./usr/share/doc/ruad/SECURITY.md",
                  "./usr/share/doc/ruad/docs/deploy.md"]:
            t.check(f in files, "deb: holds %s" % f)
        info = sh("dpkg-deb", "-f", debs[0], "Maintainer").stdout
        t.check(info.strip() and not re.search(r"localhost|example|@",
                                               info),
                "deb: Maintainer is no placeholder: %r" % info)
        p = dpkg("-i", debs[0])
        try:
            t.check(p.returncode == 0, "deb: dpkg -i: %s %s" % (p.stdout,
                                                                 p.stderr))
            v = sh("/usr/bin/ruad", "--version")
            t.check(v.returncode == 0 and v.stdout.startswith("ruad "),
                    "deb: /usr/bin/ruad --version: %r %r" % (v.stdout,
                                                             v.stderr))
            print("deb: installed, /usr/bin/ruad --version: %s" %
                  v.stdout.strip())
            t.check(sh("getent", "passwd", "ruad").returncode == 0,
                    "deb: the user ruad exists")
            st = os.stat("/etc/ruad/ruad.conf")
            t.check(st.st_mode & 0o777 == 0o640,
                    "deb: ruad.conf is 0640 (%o)" % (st.st_mode & 0o777))
            p = sh("systemd-analyze", "verify", "--man=no",
                   "/lib/systemd/system/ruad.service")
            t.check(p.returncode == 0, "deb: the installed unit verifies: "
                    "%s" % p.stderr)
        finally:
            p = dpkg("--purge", "ruad")
            t.check(p.returncode == 0 and not os.path.exists(
                "/usr/bin/ruad") and not os.path.exists("/etc/ruad"),
                "deb: dpkg --purge removes it: %s" % p.stderr)

shutil.rmtree(work, ignore_errors=True)
t.finish()
