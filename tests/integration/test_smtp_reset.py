r"""ruad serve, SMTP: clients that reset the connection while their message
is being stored (a stress test of the event loop; run under ASan by
tests/run's second build).

Eight client threads, each from a loopback address of its own, loop for
RUAD_RESET_SECONDS (default 30): connect, EHLO, MAIL, RCPT, DATA, the
message and its final dot in one write, then after 0-5 ms an abortive
close (SO_LINGER 0: the kernel sends RST) without reading the reply.  The
store-done eventfd and the socket's EPOLLERR|EPOLLHUP then often land in
one epoll_wait() batch.  A ninth thread delivers normally now and then
and must get 250 every time.

Checks: ruad is alive throughout and exits 0 on SIGTERM; its log has no
AddressSanitizer, LeakSanitizer or UBSan report and no glibc heap abort
("double free", "corrupted"); every message a normal client got 250 for
is in inbound with its bytes; at least some reset messages were stored
(the resets came while storing, not before DATA ended); every reset
session is released (afterwards 20 sessions from one address, the
per-address cap, all get their banner).
"""
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ruadtest import (DB, RUAD, Postgres, Tally, free_port,  # noqa: E402
                      wait_for)

t = Tally("smtp_reset")
SECONDS = float(os.environ.get("RUAD_RESET_SECONDS", "30"))
RUN = "%x" % int(time.time() * 1000)
ACCEPT = "dmarc@rua.example"


def recv_reply(s, buf):
    """One SMTP reply (all its lines); (code, text, rest of buf)."""
    while True:
        m = re.search(rb"(?:^|\r\n)(\d{3}) [^\r\n]*\r\n", buf)
        if m:
            end = m.end()
            return int(m.group(1)), buf[:end], buf[end:]
        d = s.recv(65536)
        if not d:
            raise OSError("connection closed")
        buf += d


def session(port, src, data, reset_ms=None):
    """Deliver one message.  reset_ms: send the final dot, wait that long
    and reset the connection (returns None); else read the reply to the
    dot and QUIT (returns the reply text)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10,
                                 source_address=(src, 0))
    try:
        buf = b""
        code, _, buf = recv_reply(s, buf)
        if code != 220:
            return "banner %d" % code
        s.sendall(b"EHLO reset.example\r\n")
        code, _, buf = recv_reply(s, buf)
        s.sendall(b"MAIL FROM:<r@reset.example>\r\nRCPT TO:<" +
                  ACCEPT.encode() + b">\r\nDATA\r\n")
        for want in (250, 250, 354):
            code, text, buf = recv_reply(s, buf)
            if code != want:
                return text.decode("latin-1")
        s.sendall(data + b"\r\n.\r\n")
        if reset_ms is not None:
            if reset_ms:
                time.sleep(reset_ms / 1000.0)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
            s.close()
            return None
        code, text, buf = recv_reply(s, buf)
        s.sendall(b"QUIT\r\n")
        return text.decode("latin-1")
    finally:
        s.close()


def message(marker):
    return (b"From: reporter@reset.example\r\nTo: " + ACCEPT.encode() +
            b"\r\nSubject: reset " + marker + b"\r\nMessage-ID: <" +
            marker + b"@reset.example>\r\n\r\n" + b"x" * 2000 + b"\r\n" +
            marker + b"\r\n")


def main():
    tmp = tempfile.mkdtemp(prefix="ruad-smtp-reset.",
                           dir=os.environ.get("RUAD_TEST_TMP", "/tmp"))
    os.makedirs(tmp, exist_ok=True)
    pg = Postgres("smtp-reset")
    pg.start()
    env = dict(os.environ, RUAD_DATABASE_URL=pg.url)
    p = subprocess.run([RUAD, "migrate"], env=env, capture_output=True,
                       text=True)
    t.check(p.returncode == 0, "migrate: %s %s" % (p.stdout, p.stderr))
    port, http_port = free_port(), free_port()
    log = os.path.join(tmp, "ruad.log")
    logf = open(log, "ab")
    srv = subprocess.Popen(
        [RUAD, "serve", "--http-listen=127.0.0.1:%d" % http_port,
         "--smtp-listen=127.0.0.1:%d" % port, "--smtp-accept=" + ACCEPT,
         "--smtp-hostname=mx.reset.example", "--smtp-greet-delay-ms=0",
         "--smtp-max-per-ip=20", "--workers=1", "--log-level=warn",
         # thousands of mails a minute from a few addresses and one
         # sender domain: the rate limits would refuse most of them
         "--rate-limit-per-ip=0", "--rate-limit-per-sender=0"],
        env=env, stdout=logf, stderr=subprocess.STDOUT)

    def up():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return srv.poll() is not None
    wait_for(up, 20)
    if not t.check(srv.poll() is None, "ruad serve starts"):
        logf.close()
        pg.remove()             # no PostgreSQL left behind
        t.finish()

    try:
        stop = time.monotonic() + SECONDS
        counts = {"reset": 0, "errors": 0, "good": 0}
        good = []               # (queued id, marker) of normal deliveries
        bad = []
        mu = threading.Lock()

        def resetter(n):
            src = "127.11.0.%d" % (n + 1)
            i = 0
            while time.monotonic() < stop and srv.poll() is None:
                i += 1
                marker = ("R%s-%d-%d" % (RUN, n, i)).encode()
                try:
                    session(port, src, message(marker), reset_ms=i % 6)
                    with mu:
                        counts["reset"] += 1
                except OSError:
                    with mu:
                        counts["errors"] += 1

        def deliverer():
            i = 0
            while time.monotonic() < stop and srv.poll() is None:
                i += 1
                marker = ("G%s-%d" % (RUN, i)).encode()
                try:
                    r = session(port, "127.11.1.1", message(marker))
                except OSError as e:
                    r = "error %s" % e
                m = re.search(r"queued as (\d+)", r or "")
                with mu:
                    if r and r.startswith("250") and m:
                        good.append((int(m.group(1)), marker))
                    else:
                        bad.append(r)
                time.sleep(0.2)

        threads = [threading.Thread(target=resetter, args=(n,))
                   for n in range(8)] + [threading.Thread(target=deliverer)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()

        alive = srv.poll() is None
        t.check(alive, "ruad still runs after %.0f s of deliver-then-reset "
                "(exit %s)" % (SECONDS, srv.returncode))
        print("resets %d, client errors %d, normal deliveries %d" % (
            counts["reset"], counts["errors"], len(good)), flush=True)
        t.check(counts["reset"] > 100, "at least 100 deliver-then-reset "
                "sessions ran (%d)" % counts["reset"])
        t.check(not bad and len(good) > 10, "every normal delivery got 250 "
                "queued as ID (%d good, bad: %s)" % (len(good), bad[:3]))

        db = DB(pg.url)
        missing = [m for qid, m in good
                   if not db.q("SELECT 1 FROM inbound WHERE id = %s AND "
                               "position(%s in raw) > 0", qid, m)]
        t.check(not missing, "every 250 message is in inbound with its bytes "
                "(missing %s)" % missing[:3])
        stored_resets = db.one("SELECT count(*) FROM inbound WHERE "
                               "position(%s in raw) > 0", ("R" + RUN).encode())
        t.check(stored_resets > 0, "reset clients' messages were being stored "
                "when they reset (%d stored)" % stored_resets)
        db.close()

        if alive:
            # every reset session is gone: the per-address cap (20) lets 20
            # new sessions from one address in (the server may still be
            # reading the last resets: a few tries)
            def twenty():
                socks, refused = [], 0
                try:
                    for _ in range(20):
                        s = socket.create_connection(
                            ("127.0.0.1", port), timeout=5,
                            source_address=("127.11.0.1", 0))
                        socks.append(s)
                        s.settimeout(5)
                        if not s.recv(512).startswith(b"220"):
                            refused += 1
                finally:
                    for s in socks:
                        s.close()
                return refused
            refused = twenty()
            for _ in range(10):
                if refused == 0:
                    break
                time.sleep(0.5)
                refused = twenty()
            t.check(refused == 0, "the reset sessions were all released "
                    "(%d of 20 new sessions from one address refused)" %
                    refused)
            srv.send_signal(signal.SIGTERM)
            try:
                rc = srv.wait(30)
            except subprocess.TimeoutExpired:
                srv.kill()
                rc = srv.wait()
            t.check(rc == 0, "SIGTERM: exit 0 (%s)" % rc)
    finally:
        # a check that raised leaves no ruad nor PostgreSQL behind
        if srv.poll() is None:
            srv.kill()
            srv.wait()
        pg.remove()
    logf.close()
    with open(log, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    bad_log = re.search(r"ERROR: (Address|Leak)Sanitizer|runtime error:|"
                        r"double free|corrupted|free\(\): invalid", text)
    t.check(not bad_log, "no sanitizer report or heap abort in the log: %s"
            % (text[bad_log.start():bad_log.start() + 3000]
               if bad_log else ""))
    t.finish()


main()
