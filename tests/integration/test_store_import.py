"""ruad migrate / import / reprocess against a real PostgreSQL.

Needs RUAD_DATABASE_URL (tests/run starts a throwaway server and sets it);
without it the test fails loudly rather than skipping.  Each run works in
a fresh database of its own, created and dropped here.

Checks: migrate is idempotent; every sample imports with the expected
verdict and keeps its raw bytes (a conflict only where the copy stored
under the same key parses to other content: the samples hold several
transcriptions of the RFC examples); importing everything twice adds no
report; the nice-input .xml/.gz/.zip triple and each email and its
extracted attachment are stored once; failure emails are not_a_report;
record and message sums in the database match the parser's; rollups
match the records; reprocess turns a too_large row into a parsed one,
and runs each malformed row once (they stay malformed) and ends; an
importer killed mid-run and run again loses and duplicates nothing.
"""
import csv
import hashlib
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ruadtest import (RUAD, SRC, TMP, Dnsmasq, Tally,  # noqa: E402
                      parse, sample_keys, samples_dir)

import psycopg2  # noqa: E402  (Debian's python3-psycopg2)

t = Tally("store_import")
base_url = os.environ.get("RUAD_DATABASE_URL")
if not base_url:
    print("RUAD_DATABASE_URL is not set: this test needs the PostgreSQL "
          "that tests/run starts", flush=True)
    sys.exit(1)

# a database of our own
dbname = "ruad_store_%d" % os.getpid()
admin = psycopg2.connect(base_url)
admin.autocommit = True
admin.cursor().execute('CREATE DATABASE "%s"' % dbname)
url = base_url.rsplit("/", 1)[0] + "/" + dbname
env = dict(os.environ, RUAD_DATABASE_URL=url)
# mails are DKIM-checked: a local DNS server answers the sample keys (and
# NXDOMAIN for the rest), so no lookup ever leaves this machine
root = samples_dir()
dns = Dnsmasq(sample_keys(root) if root else [])
db = psycopg2.connect(url)
db.autocommit = True


def q(sql, *args):
    with db.cursor() as c:
        c.execute(sql, args)
        return c.fetchall() if c.description else None


def one(sql, *args):
    return q(sql, *args)[0][0]


def ruad(*args, check=None):
    if args and args[0] in ("import", "reprocess"):
        args = (args[0], "--dns-server=" + dns.server) + args[1:]
    p = subprocess.run([RUAD, *args], capture_output=True, env=env,
                       timeout=600)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def verdicts(out):
    """{file: verdict} from "FILE: VERDICT ..." lines of ruad import."""
    v = {}
    for line in out.splitlines():
        f, _, r = line.partition(": ")
        v[f] = r.split(" ", 1)[0]
    return v


try:
    migs = [f for f in os.listdir(os.path.join(SRC, "db"))
            if f.endswith(".sql")]
    n_mig = len(migs)
    # the highest NNN of db/NNN_*.sql (numbers may have gaps)
    top_mig = max(int(f.split("_", 1)[0]) for f in migs)
    rc, out, err = ruad("migrate")
    t.check(rc == 0 and ("schema version %d" % top_mig) in out,
            "migrate: %s %s" % (out, err))
    rc, out, err = ruad("migrate")
    t.check(rc == 0 and "applied: 0" in out, "migrate twice: %s" % out)
    t.check(one("SELECT count(*) FROM schema_version") == n_mig,
            "one schema_version row per migration")

    # migrations go by the set applied, not the highest: a database that
    # records a higher version still gets every built-in one it lacks
    gap = dbname + "_gap"
    admin.cursor().execute('CREATE DATABASE "%s"' % gap)
    try:
        g = psycopg2.connect(base_url.rsplit("/", 1)[0] + "/" + gap)
        g.autocommit = True
        g.cursor().execute(
            "CREATE TABLE schema_version (version integer PRIMARY KEY, "
            "name text NOT NULL, applied_at timestamptz NOT NULL "
            "DEFAULT now()); INSERT INTO schema_version VALUES (9999, "
            "'from a newer branch')")
        p = subprocess.run([RUAD, "migrate"], capture_output=True, env=dict(
            env, RUAD_DATABASE_URL=base_url.rsplit("/", 1)[0] + "/" + gap),
            timeout=120)
        with g.cursor() as c:
            c.execute("SELECT count(*) FROM schema_version")
            got = c.fetchone()[0]
        g.close()
        t.check(p.returncode == 0 and ("applied: %d" % n_mig) in
                p.stdout.decode() and got == n_mig + 1,
                "migrate below a higher recorded version: %s %s %d" % (
                    p.stdout, p.stderr, got))
    finally:
        admin.cursor().execute('DROP DATABASE IF EXISTS "%s"' % gap)

    # an unreachable database: a clear error, exit 3
    p = subprocess.run([RUAD, "import", "/dev/null"], capture_output=True,
                       env=dict(env, RUAD_DATABASE_URL="postgresql://"
                                "nobody@127.0.0.1:1/none"), timeout=60)
    t.check(p.returncode == 3 and b"cannot connect" in p.stderr,
            "unreachable database: %d %s" % (p.returncode, p.stderr))

    if root is None:
        t.skip(8, "samples folder not found: the sample import checks "
               "did not run")
    else:
        with open(os.path.join(root, "INVENTORY.tsv"), newline="") as f:
            inv = [r for r in csv.DictReader(f, delimiter="\t")
                   if r["kind"] in ("DMARC agg", "TLSRPT", "RUF/ARF")]
        paths = [os.path.join(root, r["file"]) for r in inv]
        rc, out, err = ruad("import", *paths)
        v = verdicts(out)
        t.check(len(v) == len(paths), "one line per file (%d of %d)" % (
            len(v), len(paths)))
        for r, path in zip(inv, paths):
            got = v.get(path)
            if r["kind"] == "RUF/ARF":
                want = ("not_a_report",)
            elif r["kind"] == "TLSRPT" and r["format"] == "eml":
                # RFC 8460 5.3: only mox_tls_google_example's signature
                # still verifies (with the archived key)
                want = (("parsed", "duplicate")
                        if "mox_tls_google_example" in r["file"]
                        else ("unauthenticated",))
            elif r["expect"] == "malformed":
                want = ("malformed", "parsed", "duplicate")
            else:
                want = ("parsed", "duplicate", "conflict")
            t.check(got in want, "%s: verdict %s, want %s" % (r["file"],
                                                              got, want))
            # the raw bytes are kept, whatever the verdict
            with open(path, "rb") as f:
                data = f.read()
            row = q("SELECT size, sha256, length(raw) FROM inbound WHERE "
                    "source_name = %s ORDER BY id LIMIT 1", path)
            t.check(row and row[0][0] == len(data) and
                    bytes(row[0][1]) == hashlib.sha256(data).digest() and
                    row[0][2] == len(data), "%s: raw bytes kept" % r["file"])
        t.check(v.get(os.path.join(root, "dmarc/pd_empty.xml")) ==
                "malformed", "empty file is malformed")
        # a conflict names the stored copy, whose content differs
        for path in (p for p in paths if v.get(p) == "conflict"):
            w = q("SELECT warnings FROM inbound WHERE source_name = %s "
                  "ORDER BY id LIMIT 1", path)[0][0]
            m = re.search(r"inbound (\d+)", " ".join(w))
            src = q("SELECT source_name FROM inbound WHERE id = %s",
                    int(m.group(1))) if m else None
            differs = False
            if src:
                a, b = parse([path])[1], parse([src[0][0]])[1]
                differs = bool(a and b) and a[0]["reports"] != b[0]["reports"]
            t.check(differs, "%s: conflict with %s, whose report differs" %
                    (path, src))

        # each report once: the nice-input triple, emails and attachments
        t.check(one("SELECT count(*) FROM dmarc_report WHERE report_id = "
                    "'11038226378739404135'") == 1, "nice-input stored once")
        dup = q("SELECT reporter, report_id, count(*) FROM dmarc_report "
                "GROUP BY reporter, report_id, lower(policy_domain), "
                "begin_at, end_at HAVING count(*) > 1")
        t.check(not dup, "no DMARC report twice: %s" % dup)
        dup = q("SELECT organization_name, report_id, count(*) FROM "
                "tlsrpt_report GROUP BY 1, 2 HAVING count(*) > 1")
        t.check(not dup, "no TLS report twice: %s" % dup)
        for eml in ("mox_dmarc_google", "pd_twilight", "mox_dmarc_yahoo"):
            s = q("SELECT state FROM inbound WHERE source_name LIKE %s",
                  "%/eml/aggregate/" + eml + ".eml")
            t.check(s and s[0][0] in ("parsed", "duplicate"),
                    "%s.eml: %s" % (eml, s))

        # sums: the database against the parser, for the DMARC files
        reports_before = one("SELECT count(*) FROM dmarc_report")
        tls_before = one("SELECT count(*) FROM tlsrpt_report")
        t.check(one("SELECT coalesce(sum(message_count), 0) FROM "
                    "dmarc_report") == one("SELECT coalesce(sum(count), 0) "
                                           "FROM dmarc_record"),
                "message_count matches the records")
        t.check(one("SELECT coalesce(sum(messages), 0) FROM dmarc_daily") ==
                one("SELECT coalesce(sum(count), 0) FROM dmarc_record"),
                "dmarc_daily matches the records")
        t.check(one("SELECT count(*) FROM inbound WHERE state IN "
                    "('pending', 'processing')") == 0, "nothing left pending")

        # everything again: no new report, every verdict duplicate or same
        rc, out, err = ruad("import", *paths)
        v2 = verdicts(out)
        t.check(one("SELECT count(*) FROM dmarc_report") == reports_before,
                "second import added no DMARC report")
        t.check(one("SELECT count(*) FROM tlsrpt_report") == tls_before,
                "second import added no TLS report")
        t.check(all(x in ("duplicate", "malformed", "not_a_report",
                          "unauthenticated", "conflict")
                    for x in v2.values()),
                "second import: %s" % sorted(set(v2.values())))

    # reprocess: a report refused by a tight limit, then taken
    mkdemo = os.environ.get("RUAD_MKDEMO")
    demo = os.path.join(TMP, "store-demo")
    os.makedirs(TMP, exist_ok=True)
    subprocess.run([mkdemo, demo, "6", "20000"], check=True,
                   capture_output=True)
    files = sorted(os.path.join(demo, f) for f in os.listdir(demo))
    zips = [f for f in files if f.endswith(".zip")]
    rc, out, err = ruad("import", "--dmarc-max-records=2", zips[0])
    t.check(" too_large " in out and rc == 1, "tight limit: %s" % out)
    rc, out, err = ruad("reprocess", "--state=too_large")
    t.check(" parsed " in out and "reprocessed 1 rows" in out,
            "reprocess: %s %s" % (out, err))
    t.check(one("SELECT count(*) FROM inbound WHERE state = 'too_large'") ==
            0, "no too_large row left")

    # reprocess walks forward: rows that land in the state they were run
    # from again are each run once, and the command ends
    bad = os.path.join(TMP, "store-broken.xml")
    with open(bad, "wb") as f:
        f.write(b"<?xml version=\"1.0\"?>\n<feedback><report_metadata>"
                b"<org_name>broken</org_name></feedback>\n")
    rc, out, err = ruad("import", bad)
    t.check(rc == 1 and out.startswith(bad + ": malformed "),
            "broken XML is malformed: %s %s" % (out, err))
    bad_id = one("SELECT max(id) FROM inbound WHERE source_name = %s", bad)
    n_bad = one("SELECT count(*) FROM inbound WHERE state = 'malformed'")
    try:
        p = subprocess.run([RUAD, "reprocess", "--dns-server=" + dns.server,
                            "--state=malformed"], capture_output=True,
                           env=env, timeout=60)
        rc, out = p.returncode, p.stdout.decode()
    except subprocess.TimeoutExpired as e:
        rc, out = None, "timed out after 60 s: %d bytes of output" % len(
            e.stdout or b"")
    t.check(rc == 0 and out.endswith("reprocessed %d rows\n" % n_bad) and
            ("inbound %d: malformed " % bad_id) in out,
            "reprocess --state=malformed ends, each row once: %s"
            % out[-300:])
    t.check(one("SELECT state FROM inbound WHERE id = %s", bad_id) ==
            "malformed", "the broken row is malformed again")

    # import_max_bytes: at the limit the bytes are kept, one past it only
    # the fact (state too_large, size, no bytes)
    lim = os.path.join(TMP, "store-limit")
    os.makedirs(lim, exist_ok=True)
    for n in (4096, 4097):
        with open(os.path.join(lim, "f%d.xml" % n), "wb") as f:
            f.write(b"<x>" + b" " * (n - 7) + b"</x>")
    rc, out, err = ruad("import", "--import-max-bytes=4096",
                        os.path.join(lim, "f4096.xml"),
                        os.path.join(lim, "f4097.xml"))
    row = q("SELECT size, length(raw), state FROM inbound WHERE source_name "
            "LIKE %s ORDER BY source_name", "%/store-limit/%")
    t.check(row == [(4096, 4096, "not_a_report"), (4097, 0, "too_large")],
            "import_max_bytes one past: %s %s" % (row, out))

    # kill the importer mid-run, run it again, drain: all once, none lost
    p = subprocess.Popen([RUAD, "import", "--dns-server=" + dns.server, demo],
                         stdout=subprocess.PIPE, env=env)
    lines = 0
    while lines < 40:
        if not p.stdout.readline():
            break
        lines += 1
    p.send_signal(signal.SIGKILL)
    p.wait()
    t.check(lines == 40, "importer killed after 40 lines")
    rc, out, err = ruad("import", demo)
    t.check(rc == 0, "second run: exit %d %s" % (rc, err[-300:]))
    ruad("reprocess", "--state=processing")
    ruad("reprocess", "--state=pending")
    n_dmarc = sum(1 for f in files if ".json" not in f)
    n_tls = len(files) - n_dmarc
    demo_range = ("to_timestamp(%d)" % ((20000 - 6) * 86400),
                  "to_timestamp(%d)" % (20000 * 86400))
    got = one("SELECT count(*) FROM dmarc_report WHERE begin_at >= %s AND "
              "begin_at < %s" % demo_range)
    t.check(one("SELECT count(DISTINCT (reporter, report_id, "
                "lower(policy_domain), begin_at, end_at)) FROM dmarc_report")
            == one("SELECT count(*) FROM dmarc_report"),
            "no DMARC report twice after the kill")
    t.check(got == n_dmarc, "every demo DMARC report stored: %d of %d" % (
        got, n_dmarc))
    t.check(one("SELECT count(*) FROM tlsrpt_report WHERE begin_at >= %s "
                "AND begin_at < %s" % demo_range) == n_tls,
            "every demo TLS report stored")
    t.check(one("SELECT count(*) FROM inbound WHERE state IN ('pending', "
                "'processing')") == 0, "nothing pending after the drain")
finally:
    dns.stop()
    db.close()
    time.sleep(0.2)
    admin.cursor().execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' %
                           dbname)
    admin.close()

t.finish()
