#!/usr/bin/python3
"""test_hostile.py - `ruad parse` against inputs made to hurt it.

Every input is made here by mkinput (tests/tools/mkinput.c), never taken
from the repository: decompression bombs, XML entity attacks, deep
nesting, truncated and random data must be refused with the right reason,
and the odd but legitimate inputs (a BOM, UTF-16, a zip of several
reports, a 100,000-record report, a TLS report with 10,000 failure
details) must parse with the counts mkinput printed.  Each option limit
of `ruad parse` is tried one step past its value and at it.

Environment (set by tests/tests.cmake): RUAD_BIN, RUAD_MKINPUT,
RUAD_TEST_TMP.  Prints "hostile: N passed, M failed"; exits 1 on any
failure.
"""

import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
import traceback

RUAD = os.environ.get("RUAD_BIN")
MKINPUT = os.environ.get("RUAD_MKINPUT")
TMP = os.path.join(os.environ.get("RUAD_TEST_TMP", "/tmp"), "hostile")

# a refusal must be quick even under ASan (bombs are 1 GiB inflated)
REFUSE_SECONDS = 10.0

BIG = 100000            # records in the large report
ORG_NAME = "B\u00fccher & Co. \u2013 Pr\u00fcfstelle"


class Fail(Exception):
    """A check that did not hold."""


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def mkinput(kind, name, n=None):
    """Make an input; returns (path, {key: int}) from its summary line."""
    path = os.path.join(TMP, name)
    args = [MKINPUT, kind, path] + ([str(n)] if n is not None else [])
    p = subprocess.run(args, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise Fail("mkinput %s failed: %s" % (kind, p.stderr.strip()))
    info = {}
    for m in re.finditer(r"(\w+)=(\d+)", p.stdout):
        info[m.group(1)] = int(m.group(2))
    for m in re.finditer(r"counts=([\d/,]+)", p.stdout):
        info["counts"] = [tuple(int(x) for x in c.split("/"))
                          for c in m.group(1).split(",")]
    return path, info


class Run:
    """One `ruad parse` run: exit status, the JSON line, stderr, time."""

    def __init__(self, path, opts=()):
        self.path = path
        t0 = time.monotonic()
        p = subprocess.run([RUAD, "parse"] + list(opts) + [path],
                           capture_output=True, timeout=300)
        self.seconds = time.monotonic() - t0
        self.rc = p.returncode
        self.stdout = p.stdout
        self.stderr = p.stderr.decode("utf-8", "replace")
        lines = p.stdout.splitlines()
        check(len(lines) == 1, "expected one output line, got %d (stderr: %s)"
              % (len(lines), self.stderr.strip()[:300]))
        self.out = json.loads(lines[0])
        check(self.out.get("file") == path, "\"file\" is %r" %
              self.out.get("file"))

    def describe(self):
        return "exit %d, error %r, warnings %r" % (
            self.rc, self.out.get("error"), self.out.get("warnings")[:3])

    def refused(self, reason):
        """Exit 1, no report, the reason in "error" and on stderr."""
        err = self.out.get("error") or ""
        check(self.rc == 1, "want exit 1: " + self.describe())
        check(self.out.get("reports") == [],
              "want no report, got %d" % len(self.out.get("reports") or []))
        check(re.search(reason, err), "error %r does not match /%s/" %
              (err, reason))
        want = "ruad: %s: error: " % self.path
        check(any(l.startswith(want) for l in self.stderr.splitlines()),
              "stderr lacks %r: %r" % (want, self.stderr[:300]))

    def parsed(self, n_reports=1):
        """Exit 0, no error, n_reports reports; returns them."""
        check(self.rc == 0, "want exit 0: " + self.describe())
        check(self.out.get("error") is None, "error set: " + self.describe())
        reps = self.out.get("reports")
        check(len(reps) == n_reports, "want %d reports, got %d" %
              (n_reports, len(reps)))
        return reps


def dmarc_sums(rep):
    recs = rep["records"]
    return len(recs), sum(r["count"] for r in recs)


def tlsrpt_sums(rep):
    details = [d for p in rep["policies"] for d in p["failure_details"]]
    return (len(rep["policies"]), len(details),
            sum(d["failed_session_count"] for d in details))


# ---- hostile inputs: (kind, N, reason the error must match) ----

HOSTILE = [
    # zeros are refused by sniffing before a cap is reached; either is fine
    ("gzip-bomb", None, r"not a report|ratio|decompressed size"),
    ("gzip-bomb-xml", None, r"ratio|decompressed size"),
    ("zip-bomb", None, r"ratio|decompressed size"),
    ("zip-bomb-lie", None,
     r"not a report|declared size|ratio|decompressed size"),
    ("zip-bomb-lie-xml", None, r"declared size|ratio|decompressed size"),
    ("gzip-nested-bomb", None, r"not a report|ratio|decompressed size"),
    ("gzip-nested-bomb-xml", None, r"ratio|decompressed size"),
    ("xxe-file", None, r"DOCTYPE"),
    ("xxe-net", None, r"DOCTYPE"),
    ("xxe-param", None, r"DOCTYPE"),
    ("xxe-late", None, r"DOCTYPE"),
    ("xxe-utf16", None, r"DOCTYPE"),
    ("billion-laughs", None, r"DOCTYPE"),
    ("quadratic-blowup", None, r"DOCTYPE"),
    ("deep-xml", 100000, r"nested deeper"),
    ("deep-json", 100000, r"nested deeper"),
    ("truncated-gz", None, r"truncated"),
    ("junk", 100000, r"not a report"),
]


def hostile_case(kind, n, reason):
    def run():
        path, _ = mkinput(kind, kind + ".in", n)
        r = Run(path)
        r.refused(reason)
        check(r.seconds < REFUSE_SECONDS, "took %.1f s" % r.seconds)
        check(b"root:" not in r.stdout, "/etc/passwd leaked into output")
    run.__name__ = kind + ("" if n is None else " %d" % n)
    return run


def test_cap_decompressed_on_bomb():
    """A higher ratio cap leaves the size cap to stop the bomb."""
    path, _ = mkinput("gzip-bomb-xml", "gzip-bomb-xml.in")
    r = Run(path, [opt("ratio", 100000), opt("bytes", 8 << 20)])
    r.refused(r"decompressed size exceeds 8388608")


# ---- odd but legitimate inputs ----

def small_report(kind):
    def run():
        path, info = mkinput(kind, kind + ".xml")
        rep = Run(path).parsed()[0]
        check(dmarc_sums(rep) == (info["records"], info["messages"]),
              "records/messages %r, want %r" %
              (dmarc_sums(rep), (info["records"], info["messages"])))
        check(rep["org_name"] == ORG_NAME, "org_name %r" % rep["org_name"])
    run.__name__ = kind
    return run


def test_zip_multi():
    path, info = mkinput("zip-multi", "zip-multi-3.zip", 3)
    r = Run(path)
    reps = r.parsed(3)
    got = sorted(dmarc_sums(rep) for rep in reps)
    check(got == sorted(info["counts"]), "records/messages per member %r, "
          "want %r" % (got, info["counts"]))
    check([dmarc_sums(rep)[0] for rep in reps] == [1, 2, 3],
          "record counts in order %r" % [dmarc_sums(x)[0] for x in reps])
    warns = r.out["warnings"]
    check(len(warns) == 1 and "README.txt" in warns[0],
          "want one warning about README.txt, got %r" % warns)


def big_report(kind, name):
    def run():
        path, info = mkinput(kind, name, BIG)
        rep = Run(path).parsed()[0]
        check(dmarc_sums(rep) == (info["records"], info["messages"]),
              "records/messages %r, want %r" %
              (dmarc_sums(rep), (info["records"], info["messages"])))
        os.unlink(path)
    run.__name__ = "%s %d" % (kind, BIG)
    return run


def test_tlsrpt_10000():
    path, info = mkinput("tlsrpt", "tlsrpt-10000.json", 10000)
    r = Run(path)
    rep = r.parsed()[0]
    want = (info["policies"], info["details"], info["failed_sessions"])
    check(tlsrpt_sums(rep) == want, "policies/details/failed %r, want %r"
          % (tlsrpt_sums(rep), want))
    check(r.out["warnings"] == [], "warnings %r" % r.out["warnings"][:3])


# ---- one step past each limit, and at it ----

# `ruad parse --KEY=VALUE` for each setting of collector/config.c
OPT = {
    "bytes": "decompress-max-bytes",
    "ratio": "decompress-max-ratio",
    "members": "zip-max-members",
    "depth": "xml-max-depth",
    "text": "xml-max-text",
    "records": "dmarc-max-records",
    "tls_bytes": "tlsrpt-max-bytes",
    "tls_values": "tlsrpt-max-values",
    "tls_depth": "tlsrpt-max-depth",
}


def opt(key, value):
    return "--%s=%d" % (OPT[key], value)


def step(path, key, at, reason, n_reports=1, other=None):
    """key=at-1 must fail matching reason; key=at must parse (or, with
    other, fail for that other reason only)."""
    Run(path, [opt(key, at - 1)]).refused(reason)
    r = Run(path, [opt(key, at)])
    if other is None:
        r.parsed(n_reports)
        return
    r.refused(other)
    check(not re.search(reason, r.out["error"]),
          "still refused for the limit: %r" % r.out["error"])


def test_max_records():
    path, info = mkinput("dmarc", "dmarc-50.xml", 50)
    step(path, "records", info["records"], r"more than 49 records")


def test_max_zip_members():
    path, _ = mkinput("zip-multi", "zip-multi-5.zip", 5)
    step(path, "members", 5, r"more than 4 .*members", n_reports=5)


def test_max_decompressed():
    # the setting starts at 1 MiB: 2000 records are about 1.2 MB
    for kind, name in (("dmarc", "dmarc-2000.xml"),
                       ("dmarc-gz", "dmarc-2000.xml.gz"),
                       ("zip-dmarc", "dmarc-2000.zip")):
        path, info = mkinput(kind, name, 2000)
        check(info["bytes"] > (1 << 20), "input too small for the setting")
        step(path, "bytes", info["bytes"],
             r"decompressed size exceeds %d" % (info["bytes"] - 1))


def test_max_ratio():
    # past 1 MiB the output may be at most ratio times the input; a zip
    # is judged by its central directory, a gzip stream as it inflates
    for kind, name in (("zip-dmarc", "dmarc-20000.zip"),
                       ("dmarc-gz", "dmarc-20000.xml.gz")):
        path, info = mkinput(kind, name, 20000)
        comp = info["compressed"] if kind == "zip-dmarc" else \
            os.path.getsize(path)
        at = math.ceil(info["bytes"] / comp)
        check(info["bytes"] > (1 << 20), "input too small for the ratio")
        step(path, "ratio", at, r"ratio exceeds %d:1" % (at - 1))


def test_max_xml_depth():
    # deep-xml N nests N elements inside <feedback>: depth N + 1
    path, _ = mkinput("deep-xml", "deep-xml-9.xml", 9)
    step(path, "depth", 10, r"nested deeper than 9")


def test_default_xml_depth():
    path, _ = mkinput("deep-xml", "deep-xml-31.xml", 31)
    Run(path).parsed()
    path, _ = mkinput("deep-xml", "deep-xml-32.xml", 32)
    Run(path).refused(r"nested deeper than 32")


def test_max_xml_text():
    path, info = mkinput("dmarc-longtext", "dmarc-longtext.xml", 1000)
    step(path, "text", info["text"], r"longer than 999 bytes")
    rep = Run(path, [opt("text", 1000)]).parsed()[0]
    check(len(rep["org_name"]) == 1000, "org_name of %d bytes" %
          len(rep["org_name"]))


def test_max_tlsrpt_bytes():
    path, info = mkinput("tlsrpt", "tlsrpt-100.json", 100)
    step(path, "tls_bytes", info["bytes"], r"larger than|exceeds the limit")


def json_values(v):
    """Values in a JSON document: every node (no container here is
    empty, so this is also commas + opening brackets + 1)."""
    if isinstance(v, dict):
        check(v, "empty object")
        return 1 + sum(json_values(x) for x in v.values())
    if isinstance(v, list):
        check(v, "empty array")
        return 1 + sum(json_values(x) for x in v)
    return 1


def test_max_tlsrpt_values():
    path, _ = mkinput("tlsrpt", "tlsrpt-200.json", 200)
    with open(path, encoding="utf-8") as f:
        n = json_values(json.load(f))
    step(path, "tls_values", n, r"more values than %d" % (n - 1))


def test_max_tlsrpt_depth():
    # deep-json N: the root object, then N arrays; the policies are not
    # objects, so at the limit the report fails for that instead
    path, _ = mkinput("deep-json", "deep-json-7.json", 7)
    step(path, "tls_depth", 8, r"nested deeper than 7",
         other=r"not an object")


def main():
    if not RUAD or not MKINPUT:
        print("hostile: RUAD_BIN and RUAD_MKINPUT must be set "
              "(run through ctest)", file=sys.stderr)
        return 2
    shutil.rmtree(TMP, ignore_errors=True)
    os.makedirs(TMP)
    cases = [hostile_case(*h) for h in HOSTILE]
    cases += [test_cap_decompressed_on_bomb]
    cases += [small_report(k) for k in
              ("dmarc-bom", "dmarc-utf16le", "dmarc-utf16be")]
    cases += [test_zip_multi, big_report("dmarc", "dmarc-big.xml"),
              big_report("dmarc-gz", "dmarc-big.xml.gz"), test_tlsrpt_10000]
    cases += [test_max_records, test_max_zip_members, test_max_decompressed,
              test_max_ratio, test_max_xml_depth, test_default_xml_depth,
              test_max_xml_text, test_max_tlsrpt_bytes,
              test_max_tlsrpt_values, test_max_tlsrpt_depth]
    passed = failed = 0
    t0 = time.monotonic()
    for case in cases:
        name = case.__name__.replace("test_", "")
        t = time.monotonic()
        try:
            case()
        except Fail as e:
            failed += 1
            print("FAIL %s: %s" % (name, e))
            continue
        except Exception:       # a crash in the harness is a failure too
            failed += 1
            print("FAIL %s:\n%s" % (name, traceback.format_exc()))
            continue
        passed += 1
        print("ok   %s (%.2f s)" % (name, time.monotonic() - t))
    print("took %.1f s" % (time.monotonic() - t0))
    print("hostile: %d passed, %d failed" % (passed, failed))
    if failed == 0:
        shutil.rmtree(TMP, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
