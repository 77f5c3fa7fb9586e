"""IMAP sources: ruad against a real Dovecot (Debian's dovecot-imapd).

A private Dovecot on loopback (its own config file, passwd-file users,
Maildirs under a temporary directory, IMAPS and IMAP with STARTTLS, a
self-signed certificate that ruad trusts through ca_file) is seeded with
DMARC and TLS report mails the test makes and DKIM-signs itself
(ruadtest.ReportMails), the sample report mails from $RUAD_SAMPLES/eml
when present (read here, never copied into the repository) and mail that
carries no report.  Checked through
SQL, Python's imaplib (a real client) and ruad's own output:

- every message stored once (one inbound row per UID), every
  report found by `ruad parse` is in the report tables; a second poll
  fetches nothing; the same mail again under a new UID is fetched and
  not stored again (identical; the UID points at the kept row); each
  message carries an X-Test-Copy header of its own; keep leaves the flags alone, flag sets \\Seen, move
  empties INBOX into the folder;
- a message of exactly max_message_size is fetched, one byte more is kept
  as a too_large row without its bytes;
- XOAUTH2/OAUTHBEARER with a token from a command, over STARTTLS;
- a UIDVALIDITY change re-reads the mailbox, and stores none of it again
  (identical), the reports stay stored once;
- a wrong password and an unreachable server give a clear error, and
  `ruad serve` retries with a doubling delay (log and /metrics);
- ruad killed after the store and before the action (the move target is
  missing): nothing lost, nothing stored twice, the action done after the
  restart;
- a hostile server (a message bigger than its RFC822.SIZE, no
  UIDVALIDITY, no answer, FETCH lines that do not parse): a clear error
  or a too_large row, never a hang;
- 200 messages of 512 KiB (100 MiB) imported in batches of 50 with a
  peak RSS well under the mailbox's size (printed).
"""
import grp
import http.client
import imaplib
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ruadtest import (RUAD, DB, Dnsmasq, Postgres,  # noqa: E402
                      ReportMails, Tally, free_port, sample_keys, samples_dir, wait_for, SLOW)

t = Tally("imap")


class Dovecot:
    """A private Dovecot: own config, passwd-file users (password also
    taken as the OAuth2 token), Maildirs under dir."""

    def __init__(self, dir, users):
        self.dir, self.users, self.proc = dir, users, None
        self.port, self.port_tls = free_port(), free_port()
        os.chmod(dir, 0o755)
        if os.getuid() == 0:   # CI: mail runs as nobody, logins as dovenull
            pw = pwd.getpwnam("nobody")
            self.uid, self.gid = pw.pw_uid, pw.pw_gid
            login, internal = "dovenull", "dovecot"
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
            login = internal = pwd.getpwuid(os.getuid()).pw_name
        igroup = grp.getgrgid(pwd.getpwnam(internal).pw_gid).gr_name
        self.cert = os.path.join(dir, "imap.crt")
        key = os.path.join(dir, "imap.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-keyout", key, "-out", self.cert, "-days",
                        "2", "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True)
        os.chmod(key, 0o644)
        with open(os.path.join(dir, "passwd"), "w") as f:
            for u, secret in users.items():
                f.write("%s:{PLAIN}%s:%d:%d::%s/home/%s::\n" % (
                    u, secret, self.uid, self.gid, dir, u))
        for u in users:
            for sub in ("cur", "new", "tmp"):
                os.makedirs(self.maildir(u, sub=sub), exist_ok=True)
        self.conf = os.path.join(dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(CONF.format(d=dir, lu=login, iu=internal, ig=igroup,
                                p1=self.port, p2=self.port_tls))
        self.seq = 0

    def maildir(self, user, folder=None, sub=""):
        d = os.path.join(self.dir, "home", user, "Maildir")
        if folder:
            d = os.path.join(d, "." + folder)
        return os.path.join(d, sub) if sub else d

    def deliver(self, user, data, seen=False):
        self.seq += 1
        name = "%d.M%dP%d.ruadtest" % (time.time(), self.seq, os.getpid())
        path = os.path.join(self.maildir(user, sub="cur" if seen else "new"),
                            name + (":2,S" if seen else ""))
        with open(path, "wb") as f:
            f.write(data)
        if os.getuid() == 0:
            os.chown(path, self.uid, self.gid)

    def chown(self):
        if os.getuid() == 0:
            for root, dirs, files in os.walk(os.path.join(self.dir, "home")):
                os.chown(root, self.uid, self.gid)
                for n in files:
                    os.chown(os.path.join(root, n), self.uid, self.gid)

    def start(self):
        self.chown()
        self.proc = subprocess.Popen(["/usr/sbin/dovecot", "-F", "-c",
                                      self.conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

        def up():
            try:
                socket.create_connection(("127.0.0.1", self.port_tls),
                                         0.5).close()
                return True
            except OSError:
                return self.proc.poll() is not None and None
        return bool(wait_for(up, 15, 0.1)) and self.proc.poll() is None

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def client(self, user):
        ctx = ssl.create_default_context(cafile=self.cert)
        m = imaplib.IMAP4_SSL("localhost", self.port_tls, ssl_context=ctx)
        m.login(user, self.users[user])
        return m

    def flags(self, user, folder="INBOX"):
        """{uid: set of flags} of a folder (read-only)."""
        m = self.client(user)
        m.select(folder, readonly=True)
        typ, data = m.uid("FETCH", "1:*", "(UID FLAGS)")
        out = {}
        for line in data:
            if not line:
                continue
            s = line.decode() if isinstance(line, bytes) else line[0].decode()
            mm = re.search(r"UID (\d+) FLAGS \(([^)]*)\)", s)
            if mm:
                # \Recent belongs to the session that saw it first
                out[int(mm.group(1))] = set(mm.group(2).split()) - {
                    "\\Recent"}
        m.logout()
        return out

    def count(self, user, folder="INBOX"):
        m = self.client(user)
        typ, data = m.status(folder, "(MESSAGES)")
        m.logout()
        return int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))

    def sizes(self, user):
        m = self.client(user)
        m.select("INBOX", readonly=True)
        typ, data = m.uid("FETCH", "1:*", "(UID RFC822.SIZE)")
        m.logout()
        return {int(a): int(b) for a, b in (re.search(
            rb"UID (\d+) RFC822.SIZE (\d+)", x).groups() for x in data if x)}


class FakeImap:
    """A hostile IMAP server over TLS (one connection at a time): it logs
    anyone in and then misbehaves as mode says ("liesize": a message far
    bigger than its RFC822.SIZE; "badstatus": no UIDVALIDITY; "stall": no
    answer to STATUS; "junk": FETCH lines that do not parse around a good
    one; "nomove": no MOVE command, RFC 3501 and UIDPLUS only)."""

    def __init__(self, cert, key, mode, body):
        import threading
        self.mode, self.body, self.log = mode, body, []
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.th = threading.Thread(target=self.serve, daemon=True)
        self.th.start()

    def serve(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                c = self.ctx.wrap_socket(c, server_side=True)
                c.settimeout(30)
                self.session(c.makefile("rwb"))
            except (OSError, ValueError):
                pass
            finally:
                c.close()

    def session(self, f):
        def out(b):
            f.write(b)
            f.flush()
        out(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] fake ready\r\n")
        while True:
            line = f.readline()
            if not line:
                return
            tag, _, rest = line.rstrip(b"\r\n").partition(b" ")
            cmd = rest.upper()
            if cmd.startswith(b"CAPABILITY"):
                out(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag +
                    b" OK done\r\n")
            elif cmd.startswith(b"AUTHENTICATE"):
                if cmd.strip() == b"AUTHENTICATE PLAIN":
                    out(b"+ \r\n")
                    f.readline()
                out(tag + b" OK logged in\r\n")
            elif cmd.startswith(b"STATUS"):
                if self.mode == "stall":
                    time.sleep(60)
                    return
                uv = b"x" if self.mode == "badstatus" else b"7"
                out(b"* STATUS INBOX (MESSAGES 3 UIDNEXT 10 UIDVALIDITY " +
                    uv + b")\r\n" + tag + b" OK done\r\n")
            elif cmd.startswith(b"SELECT") or cmd.startswith(b"EXAMINE"):
                out(b"* 3 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n" + tag +
                    b" OK [READ-WRITE] done\r\n")
            elif cmd.startswith(b"UID FETCH") and b"RFC822.SIZE" in cmd:
                if self.mode == "junk":
                    out(b"* 1 FETCH (UID 2 RFC822.SIZE \x01\xff)\r\n"
                        b"* 2 FETCH (UID 3 RFC822.SIZE 10 BODY[] {5}\r\n"
                        b"* 3 FETCH (UID 4 RFC822.SIZE %d FLAGS ())\r\n"
                        b"* 4 FETCH (UID" % len(self.body) + b"\r\n")
                else:
                    out(b"* 1 FETCH (UID 4 RFC822.SIZE %d FLAGS ())\r\n" %
                        (100 if self.mode == "liesize" else len(self.body)))
                out(tag + b" OK done\r\n")
            elif cmd.startswith(b"UID FETCH"):
                out(b"* 1 FETCH (UID 4 BODY[] {%d}\r\n" % len(self.body) +
                    self.body + b")\r\n" + tag + b" OK done\r\n")
            elif cmd.startswith(b"UID MOVE"):
                self.log.append(bytes(cmd))
                out(tag + b" BAD no MOVE here\r\n")
            elif (cmd.startswith(b"UID STORE") or
                  cmd.startswith(b"UID COPY") or
                  cmd.startswith(b"UID EXPUNGE")):
                self.log.append(bytes(cmd))
                out(tag + b" OK done\r\n")
            elif cmd.startswith(b"LOGOUT"):
                out(b"* BYE\r\n" + tag + b" OK bye\r\n")
                return
            else:
                out(tag + b" BAD what\r\n")

    def close(self):
        self.stop = True
        self.sock.close()


CONF = """
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{d}/imap.crt
ssl_key = <{d}/imap.key
disable_plaintext_auth = yes
# xoauth2/oauthbearer: the token is checked by the passdb like a password
auth_mechanisms = plain login xoauth2 oauthbearer
default_login_user = {lu}
default_internal_user = {iu}
default_internal_group = {ig}
first_valid_uid = 1
mail_location = maildir:{d}/home/%u/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/passwd
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {p1}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {p2}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""

NOT_A_REPORT = (b"From: Alice <alice@example.org>\r\n"
                b"To: dmarc@rua.example.net\r\n"
                b"Subject: lunch?\r\nMessage-ID: <lunch-%d@example.org>\r\n"
                b"Date: Sat, 28 Nov 2026 12:00:00 +0000\r\n\r\n"
                b"Shall we meet at noon?\r\n")


def run(*args, env=None, timeout=300):
    return subprocess.run([RUAD, *args], capture_output=True, text=True,
                          env=env, timeout=timeout * SLOW)


def src(name, dv, user, pwfile, *extra, tls=True):
    url = ("imaps://localhost:%d/INBOX" % dv.port_tls if tls else
           "imap://localhost:%d/INBOX" % dv.port)
    return ["--imap-%s-url=%s" % (name, url),
            "--imap-%s-user=%s" % (name, user),
            "--imap-%s-password-file=%s" % (name, pwfile),
            "--imap-%s-ca-file=%s" % (name, dv.cert), *extra]


def oracle_reports(paths):
    """The distinct report keys `ruad parse` finds in the files."""
    p = subprocess.run([RUAD, "parse", *paths], capture_output=True,
                       text=True, timeout=300)
    import json
    keys = set()
    for line in p.stdout.splitlines():
        for r in json.loads(line).get("reports") or []:
            keys.add(json.dumps(r.get("report_metadata") or
                                r.get("report-id") or r, sort_keys=True)[:400])
    return keys


def main():
    root = samples_dir()
    if root is None:
        t.skip(1, "no samples (../shared/samples or RUAD_SAMPLES): the "
               "mailboxes hold the report mails made here, not the "
               "sample mails")
    if not os.path.exists("/usr/sbin/dovecot"):
        t.check(False, "dovecot-imapd is not installed (deploy/install-deps "
                "test)")
        t.finish()
    tmp = tempfile.mkdtemp(prefix="ruad-imap.", dir="/tmp")
    pg = Postgres("imap")
    dv = dns = None
    serves = []
    try:
        pg.start()
        # report mails made and DKIM-signed here, and the sample mails;
        # their keys (the samples' archived ones) on a private DNS server
        made = ReportMails(os.path.join(tmp, "made"), "imap")
        dns = Dnsmasq(made.records + (sample_keys(root) if root else []))
        env = dict(os.environ, RUAD_DATABASE_URL=pg.url)
        db = DB(pg.url)
        t.check(run("migrate", env=env).returncode == 0, "migrate")
        users = {"keep": "k-secret", "flag": "f-secret", "move": "m-secret",
                 "tok": "token-abc.123", "big": "b-secret",
                 "kill": "x-secret", "uv": "u-secret"}
        dv = Dovecot(tmp, users)
        pw = {}
        for u, s in users.items():
            pw[u] = os.path.join(tmp, u + ".pw")
            with open(pw[u], "w") as f:
                f.write(s + "\n")
        wrongpw = os.path.join(tmp, "wrong.pw")
        with open(wrongpw, "w") as f:
            f.write("not-the-password\n")

        # --- the mailboxes ----------------------------------------------
        mails = list(made.paths)
        for kind in ("aggregate", "tlsrpt", "failure") if root else ():
            d = os.path.join(root, "eml", kind)
            for n in sorted(os.listdir(d)):
                if n.endswith(".eml"):
                    mails.append(os.path.join(d, n))
        blobs = [open(p, "rb").read() for p in mails]
        def own(u, i, b):
            """b with a header of its own: the same bytes in two
            mailboxes, or two samples that differ only in their line
            ends (Dovecot sends CRLF), would be stored once"""
            return b"X-Test-Copy: %s-%d" % (u.encode(), i) + (
                b"\r\n" if b"\r\n" in b else b"\n") + b

        for u in ("keep", "flag", "move", "tok", "uv", "kill"):
            for i, b in enumerate(blobs):
                dv.deliver(u, own(u, i, b), seen=(u == "keep" and i == 0))
            for i in range(3):
                dv.deliver(u, own(u, 1000 + i, NOT_A_REPORT % i))
        n_msgs = len(blobs) + 3
        t.check(dv.start(), "dovecot starts: %s" % tmp)
        opts = ["--tlsrpt-require-dkim=no", "--log-level=info",
                "--dns-server=" + dns.server]

        # --- config checks -----------------------------------------------
        p = run("serve", "--check-config", "--imap-a-url=imaps://h/INBOX",
                env=env)
        t.check(p.returncode == 2 and "imap.a.user" in p.stderr,
                "a source without user is refused: %s" % p.stderr)
        p = run("serve", "--check-config", "--imap-a-url=http://h/INBOX",
                "--imap-a-user=u", "--imap-a-password-file=/x", env=env)
        t.check(p.returncode == 2 and "imap.a.url" in p.stderr,
                "an http:// url is refused: %s" % p.stderr)
        p = run("serve", "--check-config", "--imap-a-url=imaps://h/INBOX",
                "--imap-a-user=u", "--imap-a-password-file=/x",
                "--imap-a-action=move", env=env)
        t.check(p.returncode == 2 and "move_to" in p.stderr,
                "action=move without move_to is refused: %s" % p.stderr)
        cfgfile = os.path.join(tmp, "ruad.conf")
        with open(cfgfile, "w") as f:
            f.write("imap.box1.url = imaps://localhost/INBOX\n"
                    "imap.box1.user = u\nimap.box1.token_command = echo t\n"
                    "imap.box1.action = flag\nimap.box1.batch = 10\n")
        p = run("serve", "--check-config", "--config", cfgfile, env=env)
        t.check(p.returncode == 0 and "configuration OK" in p.stdout,
                "imap.NAME.KEY lines in a config file: %s" % p.stderr)
        p = run("serve", "--check-config", "--imap-a-url=imaps://h/INBOX",
                "--imap-a-user=u", "--imap-a-password-file=/x",
                "--imap-a-batch=10001", env=env)
        t.check(p.returncode == 2 and "batch" in p.stderr,
                "batch one past its maximum is refused: %s" % p.stderr)

        # --- keep: every message once, flags untouched -------------------
        before = dv.flags("keep")
        a = src("k", dv, "keep", pw["keep"])
        p = run("imap-fetch", *a, *opts, env=env)
        t.check(p.returncode == 0, "imap-fetch (keep) exits 0: %s" %
                p.stderr[-2000:])
        t.check(re.search(r"k: listed %d, stored %d," % (n_msgs, n_msgs),
                          p.stdout) is not None,
                "all %d messages listed and stored: %s" % (
                    n_msgs, p.stdout[-300:]))
        rows = db.q("SELECT source_name FROM inbound WHERE channel = 'imap' "
                    "AND source_name LIKE 'k:%%'")
        t.check(len(rows) == n_msgs and len(set(rows)) == n_msgs,
                "one inbound row per message: %d" % len(rows))
        want = oracle_reports(mails)
        got = db.one("SELECT count(*) FROM dmarc_report") + db.one(
            "SELECT count(*) FROM tlsrpt_report")
        t.check(got == len(want) and got > 0,
                "every report stored once: %d stored, %d found by "
                "ruad parse" % (got, len(want)))
        t.check(db.one("SELECT count(*) FROM inbound WHERE source_name LIKE "
                       "'k:%%' AND state = 'not_a_report'") >= 3,
                "the mail without a report is kept as not_a_report")
        # DKIM works on what came over IMAP (Dovecot sends CRLF lines):
        # the same verdicts as `ruad dkim-verify` on the files
        p = run("dkim-verify", "--dns-server=" + dns.server, *mails)
        import json
        want_pass = sum(1 for l in p.stdout.splitlines()
                        if json.loads(l).get("result") == "pass")
        got_pass = db.one("SELECT count(*) FROM inbound WHERE source_name "
                          "LIKE 'k:%%' AND dkim_result = 'pass'")
        t.check(want_pass > 0 and got_pass == want_pass,
                "DKIM: %d mails pass over IMAP, %d pass as files" % (
                    got_pass, want_pass))
        t.check(dv.flags("keep") == before,
                "keep: the flags are as before (fetching set no \\Seen)")
        p = run("imap-fetch", *a, *opts, env=env)
        t.check(p.returncode == 0 and "k: listed 0, stored 0" in p.stdout,
                "a second poll fetches nothing: %s" % p.stdout[-200:])
        t.check(db.one("SELECT count(*) FROM inbound WHERE source_name LIKE "
                       "'k:%%'") == n_msgs, "and stores nothing")
        # the same mail again, byte for byte (a new UID): fetched, acted
        # on, not stored again; its UID points at the row that has it
        dv.deliver("keep", own("keep", 1, blobs[1]))
        p = run("imap-fetch", *a, *opts, env=env)
        t.check(p.returncode == 0 and "k: listed 1, stored 0, too_large 0, "
                "identical 1," in p.stdout,
                "the same mail again: identical, not stored: %s" %
                p.stdout[-300:])
        t.check(db.one("SELECT count(*) FROM inbound WHERE source_name LIKE "
                       "'k:%%'") == n_msgs, "the same mail again: no row")
        t.check(db.q("SELECT count(*), count(DISTINCT inbound_id) FROM "
                     "imap_message WHERE source = 'k' AND inbound_id IN "
                     "(SELECT inbound_id FROM imap_message WHERE source = "
                     "'k' GROUP BY 1 HAVING count(*) > 1)") == [(2, 1)],
                "the same mail again: its UID points at the kept row")

        # --- flag ---------------------------------------------------------
        p = run("imap-fetch", *src("f", dv, "flag", pw["flag"],
                                   "--imap-f-action=flag"), *opts, env=env)
        fl = dv.flags("flag")
        t.check(p.returncode == 0 and len(fl) == n_msgs and
                all("\\Seen" in v for v in fl.values()),
                "flag: every message \\Seen after its store: %s" %
                p.stderr[-300:])
        t.check(db.one("SELECT count(*) FROM imap_message WHERE source = 'f' "
                       "AND acted_at IS NOT NULL") == n_msgs,
                "flag: every action recorded as done")

        # --- move ---------------------------------------------------------
        m = dv.client("move")
        m.create('"Done Reports"')
        m.logout()
        p = run("imap-fetch", *src("m", dv, "move", pw["move"],
                                   "--imap-m-action=move",
                                   "--imap-m-move-to=Done Reports",
                                   "--imap-m-batch=7"), *opts, env=env)
        t.check(p.returncode == 0 and dv.count("move") == 0 and
                dv.count("move", '"Done Reports"') == n_msgs,
                "move: INBOX emptied into \"Done Reports\", in batches of 7: %s"
                % p.stderr[-300:])

        # --- OAuth2 bearer token from a command, STARTTLS ------------------
        tokcmd = "cat %s" % pw["tok"]
        p = run("imap-fetch", "--imap-o-url=imap://localhost:%d/INBOX" %
                dv.port, "--imap-o-user=tok", "--imap-o-token-command=" +
                tokcmd, "--imap-o-ca-file=" + dv.cert, *opts, env=env)
        t.check(p.returncode == 0 and "o: listed %d, stored %d" %
                (n_msgs, n_msgs) in p.stdout,
                "OAuth2 token from token_command over STARTTLS: %s %s" %
                (p.stdout[-200:], p.stderr[-300:]))
        log = open(os.path.join(tmp, "dovecot.log")).read()
        t.check(re.search(r"user=<tok>, method=(XOAUTH2|OAUTHBEARER)",
                          log) is not None,
                "the server saw an OAuth2 SASL login")
        p = run("imap-fetch", "--imap-o-url=imap://localhost:%d/INBOX" %
                dv.port, "--imap-o-user=tok", "--imap-o-token-command=exit 3",
                "--imap-o-ca-file=" + dv.cert, *opts, env=env)
        t.check(p.returncode == 1 and "token_command: exit status 3" in
                p.stderr, "a failing token_command is a clear error: %s" %
                p.stderr)
        t0 = time.monotonic()
        p = run("imap-fetch", "--imap-o-url=imap://localhost:%d/INBOX" %
                dv.port, "--imap-o-user=tok", "--imap-o-token-command=sleep "
                "100", "--imap-o-timeout=5", "--imap-o-ca-file=" + dv.cert,
                *opts, env=env)
        took = time.monotonic() - t0
        t.check(p.returncode == 1 and "no answer within 5 s" in p.stderr and
                took < 15 * SLOW, "a token_command that hangs is killed "
                "after timeout (%.1f s): %s" % (took, p.stderr))
        # no ca_file: the self-signed certificate is refused
        p = run("imap-fetch", "--imap-o-url=imaps://localhost:%d/INBOX" %
                dv.port_tls, "--imap-o-user=tok", "--imap-o-token-file=" +
                pw["tok"], *opts, env=env)
        t.check(p.returncode == 1 and "certificate" in p.stderr.lower(),
                "an untrusted certificate is refused: %s" % p.stderr)

        # --- size cap, exactly and one past --------------------------------
        pad = b"y" * 2000 + b"\r\n"
        dv.deliver("big", (NOT_A_REPORT % 100) + pad)
        dv.deliver("big", (NOT_A_REPORT % 1000) + pad)  # one byte longer
        sizes = dv.sizes("big")
        small = min(sizes.values())
        t.check(sorted(sizes.values()) == [small, small + 1],
                "two messages one byte apart: %s" % sizes)
        p = run("imap-fetch", *src("b", dv, "big", pw["big"],
                "--imap-b-max-message-size=%d" % small), *opts, env=env)
        r = dict(db.q("SELECT size, length(raw) FROM inbound WHERE "
                      "source_name LIKE 'b:%%'"))
        st = dict(db.q("SELECT size, state FROM inbound WHERE "
                       "source_name LIKE 'b:%%'"))
        t.check(p.returncode == 0 and r.get(small) == small and
                r.get(small + 1) == 0 and st.get(small + 1) == "too_large",
                "max_message_size: %d bytes fetched, %d kept as too_large "
                "without bytes: %s %s" % (small, small + 1, r, st))

        # --- UIDVALIDITY change ------------------------------------------
        a = src("u", dv, "uv", pw["uv"])
        p = run("imap-fetch", *a, *opts, env=env)
        uv1 = db.one("SELECT uidvalidity FROM imap_mailbox WHERE source='u'")
        reports1 = db.one("SELECT count(*) FROM dmarc_report") + db.one(
            "SELECT count(*) FROM tlsrpt_report")
        dv.stop()
        md = dv.maildir("uv")
        for n in os.listdir(md):
            if n.startswith("dovecot"):
                os.remove(os.path.join(md, n))
        # a new UIDVALIDITY: Dovecot takes the time, so let a second pass
        time.sleep(1.1)
        t.check(dv.start(), "dovecot restarts")
        p = run("imap-fetch", *a, *opts, env=env)
        uv2 = db.one("SELECT uidvalidity FROM imap_mailbox WHERE source='u'")
        t.check(uv2 != uv1 and "UIDVALIDITY changed" in p.stderr,
                "UIDVALIDITY change noticed (%s -> %s)" % (uv1, uv2))
        t.check("u: listed %d, stored 0, too_large 0, identical %d" % (
            n_msgs, n_msgs) in p.stdout, "the mailbox is read again, and "
            "nothing stored again (identical): %s" % p.stdout[-200:])
        reports2 = db.one("SELECT count(*) FROM dmarc_report") + db.one(
            "SELECT count(*) FROM tlsrpt_report")
        t.check(reports2 == reports1, "reports still stored once (%d, %d)" %
                (reports1, reports2))
        p = run("imap-fetch", *a, *opts, env=env)
        t.check("u: listed 0, stored 0" in p.stdout,
                "then nothing new: %s" % p.stdout[-200:])

        # --- wrong password, unreachable server ----------------------------
        p = run("imap-fetch", *src("w", dv, "keep", wrongpw), *opts, env=env)
        t.check(p.returncode == 1 and "imap.w:" in p.stderr and
                "denied" in p.stderr.lower(),
                "a wrong password: a clear error, exit 1: %s" % p.stderr)
        dead = free_port()
        p = run("imap-fetch", "--imap-d-url=imaps://127.0.0.1:%d/INBOX" % dead,
                "--imap-d-user=x", "--imap-d-password-file=" + wrongpw,
                *opts, env=env)
        t.check(p.returncode == 1 and "connect" in p.stderr.lower(),
                "an unreachable server: a clear error: %s" % p.stderr)

        hport = free_port()
        slog = os.path.join(tmp, "serve-retry.log")
        with open(slog, "wb") as lf:
            s = subprocess.Popen(
                [RUAD, "serve", "--http-listen=127.0.0.1:%d" % hport,
                 "--smtp-listen=", *opts,
                 *src("w", dv, "keep", wrongpw),
                 "--imap-d-url=imaps://127.0.0.1:%d/INBOX" % dead,
                 "--imap-d-user=x", "--imap-d-password-file=" + wrongpw],
                env=env, stdout=lf, stderr=subprocess.STDOUT)
            serves.append(s)

            def retries():
                txt = open(slog, errors="replace").read()
                return (re.findall(r"source=w poll failed .*retry_in=(\d+)s",
                                   txt),
                        re.findall(r"source=d poll failed .*retry_in=(\d+)s",
                                   txt))
            wait_for(lambda: len(retries()[0]) >= 3 and
                     len(retries()[1]) >= 3, 40, 0.2)
            w, d = retries()
            t.check(w[:3] == ["2", "4", "8"] and d[:3] == ["2", "4", "8"],
                    "serve retries a failed poll after 2, 4, 8 s: %s %s" %
                    (w, d))
            met = metrics(hport)
            t.check(re.search(r'ruad_imap_errors_total\{source="w"\} [3-9]',
                              met) is not None and
                    'ruad_imap_last_success_timestamp_seconds{source="d"} 0'
                    in met, "/metrics counts the errors per source")
            s.send_signal(signal.SIGTERM)
            t.check(s.wait(15) == 0, "serve stops while retrying")

        # --- killed between store and action -------------------------------
        a = src("x", dv, "kill", pw["kill"], "--imap-x-action=move",
                "--imap-x-move-to=Later", "--imap-x-poll-interval=1")
        slog = os.path.join(tmp, "serve-kill.log")
        lf = open(slog, "ab")
        s = subprocess.Popen([RUAD, "serve", "--http-listen=127.0.0.1:%d" %
                              hport, "--smtp-listen=", *opts, *a], env=env,
                             stdout=lf, stderr=subprocess.STDOUT)
        serves.append(s)
        # "Later" does not exist: each message is stored, its move fails
        wait_for(lambda: db.one("SELECT count(*) FROM imap_message WHERE "
                                "source = 'x'") >= 1 and
                 "source=x poll failed" in open(slog, errors="replace")
                 .read(), 20)
        s.kill()
        s.wait()
        due = db.one("SELECT count(*) FROM imap_message WHERE source = 'x' "
                     "AND acted_at IS NULL")
        t.check(due >= 1 and dv.count("kill") == n_msgs,
                "killed with %d message(s) stored and not moved" % due)
        m = dv.client("kill")
        m.create("Later")
        m.logout()
        s = subprocess.Popen([RUAD, "serve", "--http-listen=127.0.0.1:%d" %
                              hport, "--smtp-listen=", *opts, *a], env=env,
                             stdout=lf, stderr=subprocess.STDOUT)
        serves.append(s)
        wait_for(lambda: dv.count("kill") == 0 and
                 dv.count("kill", "Later") == n_msgs, 30, 0.5)
        # wait for the last acted_at, then stop
        wait_for(lambda: db.one("SELECT count(*) FROM imap_message WHERE "
                                "source = 'x' AND acted_at IS NULL") == 0, 10)
        # serve's workers process what the poller stored
        t.check(wait_for(lambda: db.one(
            "SELECT count(*) FROM inbound WHERE source_name LIKE 'x:%%' "
            "AND state IN ('pending', 'processing')") == 0, 30),
            "serve's workers decide every row the poller stored")
        # the poll that did all this ends with its metrics
        wait_for(lambda: re.search(r'ruad_imap_last_success_timestamp_'
                                   r'seconds\{source="x"\} [1-9]',
                                   metrics(hport)), 10, 0.2)
        met = metrics(hport)
        fetched = re.search(r'ruad_imap_messages_fetched_total\{source="x"\} '
                            r'(\d+)', met)
        last = re.search(r'ruad_imap_last_success_timestamp_seconds\{source='
                         r'"x"\} (\d+)', met)
        t.check(fetched and int(fetched.group(1)) == n_msgs - due and
                last and abs(int(last.group(1)) - time.time()) < 120,
                "/metrics: messages fetched by this process (%d) and the "
                "time of the last good poll: %s" % (
                    n_msgs - due, fetched and fetched.group(0)))
        s.send_signal(signal.SIGTERM)
        s.wait(15)
        lf.close()
        t.check(dv.count("kill") == 0 and dv.count("kill", "Later") ==
                n_msgs, "after the restart every message is moved")
        t.check(db.one("SELECT count(*) FROM inbound WHERE source_name LIKE "
                       "'x:%%'") == n_msgs and
                db.one("SELECT count(DISTINCT uid) FROM imap_message WHERE "
                       "source = 'x'") == n_msgs,
                "nothing lost, nothing stored twice (%d rows)" % n_msgs)
        t.check(db.one("SELECT count(*) FROM imap_message WHERE source = 'x' "
                       "AND acted_at IS NULL") == 0, "no action left due")

        # --- a hostile server ----------------------------------------------
        key = os.path.join(tmp, "imap.key")
        for mode, body, extra, want in (
                ("liesize", (NOT_A_REPORT % 7) + b"z" * 4096,
                 ["--imap-h-max-message-size=2048"], "too_large"),
                ("badstatus", b"", [], "no UIDVALIDITY"),
                ("stall", b"", ["--imap-h-timeout=5"], "timeout"),
                ("junk", NOT_A_REPORT % 8, [], "not understood=3"),
                ("nomove", NOT_A_REPORT % 9, ["--imap-h-action=move",
                                              "--imap-h-move-to=Old Mail"],
                 "")):
            fk = FakeImap(dv.cert, key, mode, body)
            t0 = time.monotonic()
            p = run("imap-fetch", "--imap-h-url=imaps://localhost:%d/INBOX"
                    % fk.port, "--imap-h-user=x", "--imap-h-password-file=" +
                    pw["keep"], "--imap-h-ca-file=" + dv.cert, *extra,
                    *opts, env=env, timeout=60)
            took = time.monotonic() - t0
            fk.close()
            if mode == "liesize":
                row = db.q("SELECT state, size, length(raw) FROM inbound "
                           "WHERE source_name = 'h:INBOX;UIDVALIDITY=7;"
                           "UID=4'")
                t.check(p.returncode == 0 and row == [("too_large", 2049,
                                                       0)],
                        "a server sending more than RFC822.SIZE said: cut "
                        "at max_message_size, kept as too_large: %s %s" %
                        (row, p.stderr[-300:]))
                db.q("DELETE FROM imap_message WHERE source = 'h'")
                db.q("DELETE FROM imap_mailbox WHERE source = 'h'")
            elif mode == "nomove":
                t.check(p.returncode == 0 and fk.log == [
                    b'UID MOVE 4 "OLD MAIL"', b'UID COPY 4 "OLD MAIL"',
                    b"UID STORE 4 +FLAGS.SILENT (\\DELETED)",
                    b"UID EXPUNGE 4"],
                    "no MOVE: COPY, \\Deleted and UID EXPUNGE of that "
                    "message alone: %s %s" % (fk.log, p.stderr[-300:]))
            elif mode == "junk":
                t.check(p.returncode == 0 and want in p.stderr and
                        "h: listed 1, stored 1" in p.stdout,
                        "FETCH lines that do not parse are counted and "
                        "skipped, the good one stored: %s %s" % (
                            p.stdout[-200:], p.stderr[-300:]))
            else:
                t.check(p.returncode == 1 and took < 30 * SLOW and
                        want.lower() in p.stderr.lower(),
                        "%s: a clear error (%s) in %.1f s: %s" % (
                            mode, want, took, p.stderr[-300:]))

        # --- 200 messages in bounded memory --------------------------------
        dv.stop()
        users2 = dict(users, many="many-secret")
        # a fresh user: add it to the passwd file
        with open(os.path.join(tmp, "passwd"), "a") as f:
            f.write("many:{PLAIN}many-secret:%d:%d::%s/home/many::\n" % (
                dv.uid, dv.gid, tmp))
        dv.users = users2
        for sub in ("cur", "new", "tmp"):
            os.makedirs(dv.maildir("many", sub=sub), exist_ok=True)
        filler = (b"x" * 76 + b"\r\n") * (512 * 1024 // 78)
        for i in range(200):
            dv.deliver("many", (NOT_A_REPORT % (5000 + i)) + filler)
        total = 200 * (len(filler) + 200)
        t.check(dv.start(), "dovecot restarts with 200 more messages")
        pwm = os.path.join(tmp, "many.pw")
        with open(pwm, "w") as f:
            f.write("many-secret\n")
        out_p = os.path.join(tmp, "many.out")
        err_p = os.path.join(tmp, "many.err")
        rss_p = os.path.join(tmp, "many.rss")
        with open(out_p, "w") as fo, open(err_p, "w") as fe:
            # runrss forks and execs it and reports its peak RSS (wait4):
            # forked from this Python process, its ru_maxrss would start
            # at ours (Linux keeps the high-water mark across exec)
            pr = subprocess.run(
                [os.environ["RUAD_RUNRSS"], rss_p, RUAD, "imap-fetch",
                 *src("n", dv, "many", pwm, "--imap-n-batch=50",
                      "--imap-n-action=flag"), *opts],
                env=env, stdout=fo, stderr=fe)
        out, err = open(out_p).read(), open(err_p).read()
        with open(rss_p) as f:
            peak = int(re.search(r"maxrss_kb=(\d+)", f.read()).group(1))
        t.check(pr.returncode == 0 and "n: listed 200, stored 200" in out,
                "200 messages imported: %s" % err[-500:])
        print("imap: 200 messages, %.1f MiB mailbox, peak RSS of "
              "imap-fetch %.1f MiB" % (total / 1048576.0, peak / 1024.0),
              flush=True)
        if SLOW > 1:
            t.skip(1, "peak RSS under ASan is not the program's own")
        else:
            t.check(0 < peak * 1024 < total / 3,
                    "peak RSS %.1f MiB is under a third of the mailbox "
                    "(%.1f MiB)" % (peak / 1024.0, total / 1048576.0))
        t.check(db.one("SELECT count(*) FROM inbound WHERE source_name LIKE "
                       "'n:%%'") == 200, "200 inbound rows")
    finally:
        for s in serves:
            if s.poll() is None:
                s.kill()
                s.wait()
        if dv is not None:
            dv.stop()
        if dns is not None:
            dns.stop()
        pg.remove()
        if t.failed == 0:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("kept for a look: %s" % tmp)
    t.finish()


def metrics(port):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/metrics")
        return c.getresponse().read().decode()
    except OSError as e:
        return "error: %s" % e


if __name__ == "__main__":
    main()
