"""Every DMARC and TLS report under the shared samples, through ruad parse.

For each INVENTORY.tsv row of a report file (xml, json, gzip, zip): the
expected outcome, record count and message sum; the malformed ones are
either refused with an error naming the line, or kept with a warning naming
it.  A representative set is compared with golden files in tests/golden/
(RUAD_UPDATE_GOLDEN=1 rewrites them; review the diff).

Without the samples folder (a fresh clone) every check here is skipped,
loudly, with the count.
"""
import csv
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ruadtest import SRC, Tally, parse, samples_dir  # noqa: E402

GOLDEN = os.path.join(SRC, "tests", "golden")
REPORT_FORMATS = {"xml", "xml.gz", "xml.zip", "json", "json.gz"}

t = Tally("samples")
root = samples_dir()
goldens = sorted(f for f in os.listdir(GOLDEN) if f.endswith(".json"))
if root is None:
    t.skip(len(goldens) + 1, "samples folder not found (set RUAD_SAMPLES "
           "or put it at ../shared/samples): %d golden comparisons and the "
           "whole INVENTORY.tsv check did not run" % len(goldens))
    t.finish()

with open(os.path.join(root, "INVENTORY.tsv"), newline="") as f:
    rows = [r for r in csv.DictReader(f, delimiter="\t")
            if r["format"] in REPORT_FORMATS]
t.check(len(rows) >= 40, "INVENTORY.tsv lists %d report files" % len(rows))

for r in rows:
    path = os.path.join(root, r["file"])
    rc, out, err = parse([path])
    if not t.check(len(out) == 1, "%s: one JSON line" % r["file"]):
        continue
    o = out[0]
    reports = o["reports"]
    if r["expect"] in ("ok", "ok-with-warnings"):
        t.check(rc == 0 and o["error"] is None and reports,
                "%s: parsed (rc=%d error=%s)" % (r["file"], rc, o["error"]))
        if r["expect"] == "ok-with-warnings":
            t.check(o["warnings"], "%s: has warnings" % r["file"])
        if r["records"]:
            nrec = sum(len(x["records"]) for x in reports
                       if x["type"] == "dmarc")
            nmsg = sum(rec["count"] or 0 for x in reports
                       if x["type"] == "dmarc" for rec in x["records"])
            t.check(nrec == int(r["records"]), "%s: %d records, want %s" % (
                r["file"], nrec, r["records"]))
            t.check(nmsg == int(r["messages"]), "%s: %d messages, want %s" %
                    (r["file"], nmsg, r["messages"]))
        if r["kind"] == "TLSRPT":
            t.check(all(x["type"] == "tlsrpt" and x["policies"]
                        for x in reports), "%s: TLS report with policies" %
                    r["file"])
    elif r["expect"] == "malformed":
        if rc != 0:
            t.check(o["error"] and not reports and
                    ("line" in o["error"] or "empty" in o["error"]) and
                    ("ruad: %s: error: " % path) in err,
                    "%s: refused with a reason naming the line: %s" % (
                        r["file"], o["error"]))
        else:
            t.check(reports and any("line" in w for w in o["warnings"]),
                    "%s: kept with a warning naming the line: %s" % (
                        r["file"], o["warnings"]))
    else:
        t.check(False, "%s: unknown expect %r" % (r["file"], r["expect"]))

# Golden files: tests/golden/<sample file name with / as __>.json
update = os.environ.get("RUAD_UPDATE_GOLDEN") == "1"
for g in goldens:
    sample = g[:-len(".json")].replace("__", "/", 1)
    path = os.path.join(root, sample)
    if not t.check(os.path.exists(path), "golden %s: sample %s exists" % (
            g, sample)):
        continue
    rc, out, _ = parse([path])
    got = dict(out[0])
    del got["file"]
    gpath = os.path.join(GOLDEN, g)
    if update:
        with open(gpath, "w") as f:
            json.dump(got, f, indent=1, sort_keys=False)
            f.write("\n")
    with open(gpath) as f:
        want = json.load(f)
    t.check(got == want, "golden %s differs from ruad parse %s" % (g, sample))

t.finish()
