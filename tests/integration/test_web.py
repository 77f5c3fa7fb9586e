"""The dashboard: its files over real HTTPS, then a real browser on it.

Starts its own PostgreSQL, loads it with made-up reports (mkdemo, a fixed
month), DMARC and TLS report mails it makes and DKIM-signs itself
(ruadtest.ReportMails), the shared samples when present (report files,
and the sample mails), the mails' DKIM keys served by a dnsmasq on
loopback, and a junk file that fails to parse; makes a read and a write token with `ruad token new`; and starts
two `ruad serve` over TLS: one with the built dashboard (web_root left at
its default, web/ beside the binary) and one whose web_root is a small
tree made here, with links planted out of it.

Part 1 (Python, http.client): "/" is index.html; every file of the
dashboard with its Content-Type; the security headers on files and on
errors; ETag and Last-Modified, 304 on If-None-Match and on
If-Modified-Since; HEAD; 405 with Allow; 404 problem documents for a
missing file, a directory, a dot file, a link out of the root (to a file,
to a directory) and one inside it, encoded dot segments and backslashes;
the path length, depth and name limits at and one past each (414); the
API's routes still answer beside the files.

Part 2 (Node, tests/browser/dashboard.mjs): Debian's chromium driven by
playwright-core against the first server (see that file for its checks).
Screenshots go to tests/artifacts/.

  test_web.py            run everything
  test_web.py --serve    start the servers, print the dashboard link, and
                         keep them up until Ctrl-C (to look at it)
"""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ruadtest import (RUAD, SLOW, SRC, TMP, Dnsmasq,  # noqa: E402
                      Postgres, ReportMails, Tally, ctx_noverify, free_port,
                      sample_keys, samples_dir, wait_for)

t = Tally("web")
NOVERIFY = ctx_noverify()
BROWSER_DIR = os.path.join(SRC, "tests", "browser")
ARTIFACTS = os.environ.get("RUAD_ARTIFACTS",
                           os.path.join(SRC, "tests", "artifacts"))
# the demo month: 30 days ending on 2026-11-01 (epoch day 20758)
DEMO_DAYS, DEMO_END = 30, 20758
STATIC_PATH_MAX, STATIC_DEPTH_MAX, STATIC_NAME_MAX = 1024, 16, 255


def ruad(*args, env=None):
    p = subprocess.run([RUAD, *args], capture_output=True, text=True,
                       timeout=600, env=env)
    return p.returncode, p.stdout, p.stderr


def req(port, method, path, headers=None, body=None):
    c = http.client.HTTPSConnection("127.0.0.1", port, timeout=20 * SLOW,
                                    context=NOVERIFY)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    except (OSError, http.client.HTTPException) as e:
        return 0, {}, repr(e).encode()
    finally:
        c.close()


class Serve:
    def __init__(self, tmp, name, *opts):
        self.port = free_port()
        self.log = os.path.join(tmp, name + ".log")
        self.logf = open(self.log, "ab")
        self.p = subprocess.Popen(
            [RUAD, "serve", "--http-listen=127.0.0.1:%d" % self.port,
             "--smtp-listen=", *opts], stdout=self.logf,
            stderr=subprocess.STDOUT)
        self.up = wait_for(lambda: self.p.poll() is not None or
                           req(self.port, "GET", "/healthz")[0] == 200, 15)
        self.up = self.up and self.p.poll() is None

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(20 * SLOW)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.logf.close()
        with open(self.log, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        t.check(not re.search(r"ERROR: (Address|Leak)Sanitizer|runtime "
                              r"error:", text),
                "%s: no sanitizer report in its log" % self.log)


# ---- set-up -------------------------------------------------------------------

def make_cert(tmp):
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def load(tmp, env):
    rc, _, err = ruad("migrate", env=env)
    t.check(rc == 0, "migrate: %s" % err)
    demo = os.path.join(tmp, "demo")
    p = subprocess.run([os.environ["RUAD_MKDEMO"], demo, str(DEMO_DAYS),
                        str(DEMO_END)], capture_output=True, text=True)
    t.check(p.returncode == 0, "mkdemo: %s" % p.stderr)
    junk = os.path.join(tmp, "junk")
    os.makedirs(junk)
    with open(os.path.join(junk, "broken-report.xml"), "w") as f:
        f.write("<?xml version=\"1.0\"?>\n<feedback><report_metadata>")
    paths = [demo, junk]
    # report mails made and DKIM-signed here (keys on a private DNS
    # server), and the sample mails with their archived keys when present
    mails = ReportMails(os.path.join(tmp, "mails"), "web")
    records, mailed = list(mails.records), list(mails.paths)
    root = samples_dir()
    if root is None:
        t.skip(1, "samples folder not found (set RUAD_SAMPLES): the "
               "dashboard shows the made-up month and mails only")
    else:
        # (the sample mails' reports are among the files too: those are
        # duplicates)
        records += sample_keys(root)
        mailed += [os.path.join(root, "eml", "aggregate"),
                   os.path.join(root, "eml", "tlsrpt")]
        paths += [os.path.join(root, "dmarc"), os.path.join(root, "tlsrpt")]
    dns = Dnsmasq(records)
    rc, out, err = ruad("import", "--dns-server=" + dns.server, *mailed,
                        env=env)
    t.check(len(re.findall(r": parsed\b", out)) >= len(mails.paths),
            "import mails: %s %s" % (out[-300:], err[-500:]))
    rc, out, err = ruad("import", *paths, env=env)
    t.check(": parsed" in out, "import: %s" % err[-500:])
    return dns


def token(tokens, scope, env):
    rc, out, err = ruad("token", "new", "--scope=" + scope,
                        "--api-tokens-file=" + tokens, env=env)
    tok = out.strip().split()[-1] if out.strip() else ""
    t.check(rc == 0 and len(tok) >= 20, "token new --scope=%s: %s" %
            (scope, err))
    return tok


def static_tree(tmp):
    """A web_root with links out of it, a dot file, and the deepest and
    longest names the limits allow."""
    root = os.path.join(tmp, "webroot")
    outside = os.path.join(tmp, "outside")
    os.makedirs(os.path.join(root, "sub"))
    os.makedirs(outside)
    for path, text in (("index.html", "<!doctype html><p>root"),
                       ("sub/index.html", "<!doctype html><p>sub"),
                       ("app.js", "export const a = 1;\n"),
                       ("style.css", "p { color: red }\n"),
                       ("data.json", "{}\n"),
                       (".secret", "dot file\n")):
        with open(os.path.join(root, path), "w") as f:
            f.write(text)
    with open(os.path.join(outside, "secret.txt"), "w") as f:
        f.write("outside\n")
    os.symlink(os.path.join(outside, "secret.txt"),
               os.path.join(root, "leak.txt"))
    os.symlink(outside, os.path.join(root, "out"))
    os.symlink("index.html", os.path.join(root, "again.html"))
    # depth: 15 directories and a file is 16 segments; one more is 17
    deep = os.path.join(root, *(["d"] * (STATIC_DEPTH_MAX - 1)))
    os.makedirs(os.path.join(deep, "d"))
    for d in (deep, os.path.join(deep, "d")):
        with open(os.path.join(d, "f.txt"), "w") as f:
            f.write("deep\n")
    with open(os.path.join(root, "n" * STATIC_NAME_MAX), "w") as f:
        f.write("long name\n")
    return root


# ---- part 1: the files over HTTPS ----------------------------------------------

SECURITY = {
    "content-security-policy": lambda v: "default-src 'self'" in v and
    "frame-ancestors 'none'" in v and "*" not in v and "http" not in v,
    "x-content-type-options": lambda v: v == "nosniff",
    "referrer-policy": lambda v: v == "no-referrer",
}


def secure(hdrs):
    return all(k in hdrs and ok(hdrs[k]) for k, ok in SECURITY.items())


def problem(st, hdrs, body, want):
    try:
        d = json.loads(body)
    except ValueError:
        return False
    return (st == want and d.get("status") == want and
            hdrs.get("content-type", "").startswith(
                "application/problem+json") and secure(hdrs))


def check_dashboard_files(port, build_web):
    st, hdrs, body = req(port, "GET", "/")
    with open(os.path.join(build_web, "index.html"), "rb") as f:
        index = f.read()
    t.check(st == 200 and body == index, "/ is index.html (%d)" % st)
    t.check(hdrs.get("content-type") == "text/html; charset=utf-8",
            "index.html: text/html (%s)" % hdrs.get("content-type"))
    t.check(secure(hdrs), "index.html: security headers %s" % hdrs)
    t.check(hdrs.get("cache-control") == "no-cache",
            "index.html: Cache-Control no-cache")
    want = {".js": "text/javascript; charset=utf-8",
            ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml",
            ".html": "text/html; charset=utf-8", ".md": None}
    n = 0
    for d, _, files in os.walk(build_web):
        for name in files:
            rel = os.path.relpath(os.path.join(d, name), build_web)
            ext = os.path.splitext(name)[1]
            with open(os.path.join(d, name), "rb") as f:
                content = f.read()
            st, hdrs, body = req(port, "GET", "/" + rel)
            ok = st == 200 and body == content
            if want.get(ext):
                ok = ok and hdrs.get("content-type") == want[ext]
            t.check(ok, "/%s served as built (%d %s)" %
                    (rel, st, hdrs.get("content-type")))
            n += 1
    t.check(n >= 10, "the built dashboard has its files (%d)" % n)
    t.check(os.path.isfile(os.path.join(build_web, "vendor",
                                        "chart.umd.min.js")),
            "Chart.js copied from web/node_modules into the build")


def check_static_rules(port, root):
    st, hdrs, body = req(port, "GET", "/")
    t.check(st == 200 and body.endswith(b"root"), "/ -> index.html")
    etag, lm = hdrs.get("etag"), hdrs.get("last-modified")
    t.check(etag and etag.startswith('"') and lm and lm.endswith(" GMT"),
            "ETag and Last-Modified: %r %r" % (etag, lm))
    st, hdrs, body = req(port, "GET", "/", {"If-None-Match": etag})
    t.check(st == 304 and body == b"" and hdrs.get("etag") == etag,
            "If-None-Match: 304 (%d)" % st)
    st, _, _ = req(port, "GET", "/", {"If-None-Match": 'W/"x", ' + etag})
    t.check(st == 304, "If-None-Match list, weak form: 304 (%d)" % st)
    st, _, _ = req(port, "GET", "/", {"If-None-Match": '"other"'})
    t.check(st == 200, "another ETag: 200 (%d)" % st)
    st, _, _ = req(port, "GET", "/", {"If-Modified-Since": lm})
    t.check(st == 304, "If-Modified-Since the same time: 304 (%d)" % st)
    st, _, _ = req(port, "GET", "/", {
        "If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"})
    t.check(st == 200, "If-Modified-Since long ago: 200 (%d)" % st)
    st, _, _ = req(port, "GET", "/", {"If-Modified-Since": "yesterday"})
    t.check(st == 200, "If-Modified-Since unparsable: 200 (%d)" % st)
    st, hdrs, body = req(port, "HEAD", "/app.js")
    t.check(st == 200 and body == b"" and
            hdrs.get("content-length") == "20" and
            hdrs.get("content-type") == "text/javascript; charset=utf-8",
            "HEAD: headers, no body (%d %s)" % (st, hdrs))
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        st, hdrs, body = req(port, method, "/index.html", body=b"x")
        t.check(problem(st, hdrs, body, 405) and
                hdrs.get("allow") == "GET, HEAD",
                "%s /index.html: 405 with Allow (%d)" % (method, st))
    for path in ("/missing.html", "/leak.txt", "/../x", "/sub"):
        st, hdrs, body = req(port, "POST", path, body=b"x")
        t.check(problem(st, hdrs, body, 404), "POST %s: 404, no such file "
                "(%d)" % (path, st))
    st, _, body = req(port, "GET", "/sub/")
    t.check(st == 200 and body.endswith(b"sub"), "/sub/ -> its index.html")
    st, _, body = req(port, "GET", "/style.css?v=1")
    t.check(st == 200, "a query string is not part of the path (%d)" % st)
    refused = ["/missing.html", "/sub", "/.secret", "/leak.txt",
               "/out/secret.txt", "/again.html", "/../outside/secret.txt",
               "/%2e%2e/outside/secret.txt", "/sub/..%2f..%2foutside",
               "/sub/%2e%2e/index.html", "/..%5c..%5coutside",
               "/sub//index.html", "/%2esecret",
               "/app.js/", "/sub/./index.html"]
    for path in refused:
        st, hdrs, body = req(port, "GET", path)
        t.check(problem(st, hdrs, body, 404) and b"outside" not in body,
                "%s: 404 problem (%d)" % (path, st))
    # limits, at and one past
    deep = "/" + "/".join(["d"] * (STATIC_DEPTH_MAX - 1)) + "/f.txt"
    st, _, body = req(port, "GET", deep)
    t.check(st == 200 and body == b"deep\n", "%d segments: 200 (%d)" %
            (STATIC_DEPTH_MAX, st))
    deeper = "/" + "/".join(["d"] * STATIC_DEPTH_MAX) + "/f.txt"
    st, hdrs, body = req(port, "GET", deeper)
    t.check(problem(st, hdrs, body, 414), "%d segments: 414 (%d)" %
            (STATIC_DEPTH_MAX + 1, st))
    st, _, body = req(port, "GET", "/" + "n" * STATIC_NAME_MAX)
    t.check(st == 200 and body == b"long name\n", "a %d-byte name: 200 (%d)"
            % (STATIC_NAME_MAX, st))
    st, hdrs, body = req(port, "GET", "/" + "n" * (STATIC_NAME_MAX + 1))
    t.check(problem(st, hdrs, body, 414), "a %d-byte name: 414 (%d)" %
            (STATIC_NAME_MAX + 1, st))
    at = "/" + "/".join(["x" * 100] * 10)
    at += "/" + "y" * (STATIC_PATH_MAX - len(at) - 1)
    st, hdrs, body = req(port, "GET", at)
    t.check(len(at) == STATIC_PATH_MAX and problem(st, hdrs, body, 404),
            "a %d-byte path is looked up: 404 (%d)" % (len(at), st))
    st, hdrs, body = req(port, "GET", at + "y")
    t.check(problem(st, hdrs, body, 414), "a %d-byte path: 414 (%d)" %
            (len(at) + 1, st))
    # the other routes are untouched
    st, _, _ = req(port, "GET", "/healthz")
    t.check(st == 200, "/healthz beside the files (%d)" % st)
    st, hdrs, _ = req(port, "GET", "/api/v1/domains")
    t.check(st == 401, "/api/v1 beside the files: 401 without a token "
            "(%d)" % st)


# ---- part 2: the browser ---------------------------------------------------------

def browser(port, read_tok, write_tok, env):
    script = os.path.join(BROWSER_DIR, "dashboard.mjs")
    if not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules",
                                      "playwright-core")):
        t.check(False, "tests/browser/node_modules is missing: run npm ci "
                "--prefix tests/browser (tests/run does)")
        return
    os.makedirs(ARTIFACTS, exist_ok=True)
    e = dict(os.environ, RUAD_URL="https://127.0.0.1:%d/" % port,
             RUAD_TOKEN_READ=read_tok, RUAD_TOKEN_WRITE=write_tok,
             RUAD_ARTIFACTS=ARTIFACTS, RUAD_DEMO_END=str(DEMO_END),
             RUAD_DEMO_DAYS=str(DEMO_DAYS), **env)
    p = subprocess.run(["node", script], capture_output=True, text=True,
                       timeout=540, env=e)
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr[-4000:])
    ok = fail = 0
    for line in p.stdout.splitlines():
        if line.startswith("ok "):
            ok += 1
        elif line.startswith("not ok "):
            fail += 1
    t.passed += ok
    t.failed += fail
    t.check(p.returncode == 0 and ok > 20,
            "dashboard.mjs: exit %d, %d checks passed, %d failed" %
            (p.returncode, ok, fail))


def stop_on_term(signum, frame):
    raise KeyboardInterrupt


def main():
    serve_only = "--serve" in sys.argv
    signal.signal(signal.SIGTERM, stop_on_term)   # clean up on kill too
    tmp = tempfile.mkdtemp(prefix="web.", dir=TMP if os.path.isdir(TMP)
                           else None)
    pg = Postgres("web")
    servers, dns = [], None
    try:
        pg.start()
        env = dict(os.environ, RUAD_DATABASE_URL=pg.url)
        os.environ["RUAD_DATABASE_URL"] = pg.url
        dns = load(tmp, env)
        tokens = os.path.join(tmp, "tokens")
        read_tok = token(tokens, "read", env)
        write_tok = token(tokens, "write", env)
        cert, key = make_cert(tmp)
        tls = ["--tls-cert=" + cert, "--tls-key=" + key,
               "--api-tokens-file=" + tokens]
        main_srv = Serve(tmp, "serve", *tls)
        servers.append(main_srv)
        t.check(main_srv.up, "ruad serve is up (see %s)" % main_srv.log)
        if serve_only:
            print("dashboard: https://127.0.0.1:%d/#token=%s\nwrite token: "
                  "%s\nlogs: %s\nCtrl-C stops" % (main_srv.port,
                                                  urllib.parse.quote(read_tok),
                                                  write_tok, tmp), flush=True)
            while True:
                time.sleep(3600)
        web = os.path.join(os.path.dirname(RUAD), "web")
        check_dashboard_files(main_srv.port, web)
        root = static_tree(tmp)
        rules = Serve(tmp, "serve-static", *tls, "--web-root=" + root)
        servers.append(rules)
        t.check(rules.up, "ruad serve (web_root=%s) is up" % root)
        check_static_rules(rules.port, root)
        browser(main_srv.port, read_tok, write_tok,
                {"RUAD_DATABASE_URL": pg.url})
    except KeyboardInterrupt:
        pass
    finally:
        for s in servers:
            s.stop()
        if dns is not None:
            dns.stop()
        pg.remove()
        if not serve_only:
            shutil.rmtree(tmp, ignore_errors=True)
    t.finish()


if __name__ == "__main__":
    main()
