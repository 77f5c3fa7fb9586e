"""The configuration reference is generated and complete.

docs/configuration.md must be exactly what `ruad config-reference`
prints (regenerate with `cmake --build BUILD --target config-reference`);
the keys of the settings table in collector/config.c and the keys of the
reference must be the same set; and every key of the reference, set to
its documented default as a flag, must be accepted by
`ruad serve --check-config`.  The README and ruad --help must name the
verbs that exist, and so must the man page (deploy/ruad.8, rendered),
which also covers the API, the dashboard, /metrics and the tokens file
and has examples; `ruad VERB --help` prints each verb's usage.  LICENSE, SECURITY.md, CHANGELOG.md and docs/deploy.md
exist and the README links each of them.  docs/openapi.json passes Redocly CLI's recommended
rules (tests/lint: the linter pinned by its package-lock.json, installed
by `npm ci --prefix tests/lint`) with no error and no warning, and every
operation has an operationId of its own.
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ruadtest import RUAD, SRC, Tally  # noqa: E402

t = Tally("docs")


def run(*args):
    return subprocess.run([RUAD, *args], capture_output=True, text=True,
                          timeout=60)


ref_path = os.path.join(SRC, "docs", "configuration.md")
ref = open(ref_path).read()
gen = run("config-reference").stdout
t.check(gen == ref, "docs/configuration.md is not the output of `ruad "
        "config-reference` (cmake --build BUILD --target config-reference)")

src = open(os.path.join(SRC, "collector", "config.c")).read()
code_keys = re.findall(r'\{\s*"([a-z0-9_]+)",\s*CFG_', src)
rows = re.findall(r"^\| `([a-z0-9_]+)` \| ([^|]+) \| ([^|]*) \|", ref, re.M)
doc_keys = [r[0] for r in rows]
t.check(len(code_keys) >= 40, "settings table: %d keys" % len(code_keys))
for k in code_keys:
    t.check(k in doc_keys, "key %s of config.c is in the reference" % k)
for k in doc_keys:
    t.check(k in code_keys, "key %s of the reference is in config.c" % k)
t.check(len(doc_keys) == len(set(doc_keys)), "no key twice")

for key, kind, default in rows:
    value = default.strip().strip("`")
    if value.startswith("("):
        value = "x.example"          # smtp_hostname: the host's name
    p = run("serve", "--check-config", "--%s=%s" % (key, value))
    t.check(p.returncode == 0 and "configuration OK" in p.stdout,
            "--%s=%s (documented default) accepted: %s" % (key, value,
                                                           p.stderr))
# and the check can fail
p = run("serve", "--check-config", "--no-such-key=1")
t.check(p.returncode == 2, "an unknown key is refused")

help_text = run("--help").stdout
readme = open(os.path.join(SRC, "README.md")).read()
man = subprocess.run(["groff", "-man", "-Tutf8", "-P", "-cbou",
                      os.path.join(SRC, "deploy", "ruad.8")],
                     capture_output=True, text=True, timeout=60).stdout
man = re.sub(r"\s+", " ", man.replace("\u2010 ", "").replace("\u2010", "-"))
for verb in ["serve", "migrate", "import", "reprocess", "parse",
             "dkim-verify", "dns-records", "config-reference",
             "imap-fetch", "token"]:
    t.check(re.search(r"^  %s\b" % verb, help_text, re.M),
            "--help names %s" % verb)
    t.check("ruad %s" % verb in readme, "README names ruad %s" % verb)
    t.check("ruad %s" % verb in man, "the man page's synopsis names ruad %s"
            % verb)
    h = run(verb, "--help")
    t.check(h.returncode == 0 and h.stdout.startswith("usage: ruad %s" %
                                                      verb),
            "ruad %s --help: its own usage" % verb)
for topic in ["/api/v1", "/metrics", "api_tokens_file", "dashboard",
              "EXAMPLES", "--check-config"]:
    t.check(topic in man, "the man page covers %s" % topic)

for f in ["LICENSE", "SECURITY.md", "CHANGELOG.md", "docs/deploy.md"]:
    t.check(os.path.isfile(os.path.join(SRC, f)) and
            "](%s)" % f in readme, "%s exists and the README links it" % f)

# the API document as client generators and linters expect it
doc_path = os.path.join(SRC, "docs", "openapi.json")
doc = json.load(open(doc_path))
ops = [(m, p, o.get("operationId")) for p, item in doc["paths"].items()
       for m, o in item.items() if m in ("get", "post", "put", "delete")]
ids = [i for _, _, i in ops]
t.check(ops and all(ids) and len(set(ids)) == len(ids),
        "every operation has an operationId of its own: %s" %
        [(m, p) for m, p, i in ops if not i])
t.check(doc["info"].get("license", {}).get("identifier"),
        "the API document names its license")
lint_dir = os.path.join(SRC, "tests", "lint")
redocly = os.path.join(lint_dir, "node_modules", ".bin", "redocly")
if t.check(os.path.exists(redocly), "the pinned linter is installed "
           "(npm ci --prefix tests/lint)"):
    p = subprocess.run([redocly, "lint", doc_path, "--config",
                        os.path.join(lint_dir, "redocly.yaml"),
                        "--format=json"], capture_output=True, text=True,
                       timeout=300, cwd=lint_dir)
    try:
        totals = json.loads(p.stdout)["totals"]
    except (ValueError, KeyError):
        totals = None
    t.check(totals is not None and totals["errors"] == 0 and
            totals["warnings"] == 0, "redocly lint docs/openapi.json: %s "
            "%s %s" % (totals, p.stdout[-1500:] if totals else p.stdout[
                -500:], p.stderr[-500:]))
t.finish()
