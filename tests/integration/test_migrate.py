"""Migrations are append-only (db/README.md), against real PostgreSQL.

Checks:
- history: for each numbered migration N, a database given db/001..N
  one at a time the way the ruad of that day did (each file in its own
  transaction, schema_version rows without a SHA-256), then migrated by
  this ruad, has the schema of a database this ruad migrated at once
  (pg_dump --schema-only, normalised) and the same schema_version rows,
  each with its file's SHA-256 (taken on first use);
- a second `ruad migrate` applies nothing and changes nothing;
- a database whose recorded migration differs from the file (another
  SHA-256; another name, like the pre-fold 008_json beside 009_sources
  and 010_sum8) is refused by `ruad migrate` (non-zero exit, a message
  naming the migration and both hashes or names) and by /readyz (503,
  the same message); put right, both accept it again;
- a version this ruad has no file for (another branch's) is no
  difference: migrate goes on, /readyz says the schema is not current;
- /readyz says the schema is not current when a file of db/functions/
  was not applied as this ruad has it, until `ruad migrate` applies it.
"""
import glob
import hashlib
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ruadtest import (DB, RUAD, SRC, TMP, Postgres, Tally,  # noqa: E402
                      free_port, pg_bash, wait_for)

t = Tally("migrate")
os.makedirs(TMP, exist_ok=True)
tmp = tempfile.mkdtemp(prefix="ruad-migrate.", dir=TMP)
pg = Postgres("migrate")
pg.start()
PGBIN = pg_bash("pg_bin").stdout.strip()
FILES = sorted(glob.glob(os.path.join(SRC, "db", "[0-9][0-9][0-9]_*.sql")))
server = None


def url_of(dbname):
    return re.sub(r"/[^/]*$", "/" + dbname, pg.url)


def ruad(dbname, *args):
    env = dict(os.environ, RUAD_DATABASE_URL=url_of(dbname))
    return subprocess.run([RUAD, *args], env=env, capture_output=True,
                          text=True, timeout=120)


def pg_tool(tool, *args):
    return subprocess.run([os.path.join(PGBIN, tool), "-X" if tool == "psql"
                           else "-w", "-h", "127.0.0.1", "-p", str(pg.port),
                           "-U", "postgres", *args], capture_output=True,
                          text=True, timeout=120)


def createdb(name):
    p = pg_tool("createdb", name)
    return t.check(p.returncode == 0, "createdb %s: %s" % (name, p.stderr))


def schema(dbname):
    """pg_dump --schema-only, less what differs between any two dumps."""
    p = pg_tool("pg_dump", "--schema-only", dbname)
    t.check(p.returncode == 0, "pg_dump %s: %s" % (dbname, p.stderr))
    return [ln for ln in p.stdout.splitlines()
            if not re.match(r"\\(un)?restrict ", ln)]


def versions(dbname):
    return DB(url_of(dbname)).q("SELECT version, name, sha256 FROM "
                                "schema_version ORDER BY version")


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def as_old_ruad(dbname, files):
    """Apply files one at a time, as ruad did before it kept hashes."""
    db = DB(url_of(dbname))
    db.q("CREATE TABLE IF NOT EXISTS schema_version (version integer "
         "PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL "
         "DEFAULT now())")
    for f in files:
        name = os.path.basename(f)[:-4]
        p = pg_tool("psql", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-d",
                    dbname, "-f", f, "-c", "INSERT INTO schema_version "
                    "(version, name) VALUES (%d, '%s')" % (int(name[:3]),
                                                          name))
        if not t.check(p.returncode == 0, "%s: %s by psql: %s" % (
                dbname, name, p.stderr)):
            return False
    db.close()
    return True


def readyz(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/readyz")
    r = c.getresponse()
    body = r.read().decode("utf-8", "replace")
    c.close()
    return r.status, body


def refused(dbname, want, what):
    """ruad migrate and /readyz both refuse, naming each of want."""
    p = ruad(dbname, "migrate")
    t.check(p.returncode != 0 and all(w in p.stderr for w in want),
            "%s: migrate refuses (%d) naming %s: %r" % (
                what, p.returncode, want, p.stderr))
    st, body = readyz(server[1])
    detail = ""
    try:
        detail = json.loads(body).get("detail", "")
    except ValueError:
        pass
    t.check(st == 503 and all(w in detail for w in want) and
            detail in p.stderr, "%s: /readyz 503 naming %s: %d %r" % (
                what, want, st, body))


try:
    # a database migrated at once, the reference
    createdb("fresh")
    p = ruad("fresh", "migrate")
    t.check(p.returncode == 0 and "migrations applied: %d" % len(FILES)
            in p.stdout, "fresh: migrate: %s %s" % (p.stdout, p.stderr))
    want_schema, want_versions = schema("fresh"), versions("fresh")
    t.check([(v, n, s) for v, n, s in want_versions] ==
            [(int(os.path.basename(f)[:3]), os.path.basename(f)[:-4],
              sha(f)) for f in FILES], "fresh: each migration recorded with "
            "its file's SHA-256: %r" % want_versions)
    fns = DB(url_of("fresh")).q("SELECT name, sha256 FROM schema_functions "
                                "ORDER BY name")
    t.check(fns == [(os.path.basename(f)[:-4], sha(f)) for f in sorted(
        glob.glob(os.path.join(SRC, "db", "functions", "*.sql")))] and fns,
        "fresh: the files of functions recorded: %r" % fns)

    # the history: old ruads up to N, this one after
    for n in range(1, len(FILES) + 1):
        name = "upto%d" % n
        if not createdb(name) or not as_old_ruad(name, FILES[:n]):
            continue
        p = ruad(name, "migrate")
        t.check(p.returncode == 0 and "migrations applied: %d" % (
            len(FILES) - n) in p.stdout, "%s: migrate: %s %s" % (
                name, p.stdout, p.stderr))
        got = schema(name)
        diff = [ln for ln in got if ln not in want_schema] + \
            ["-" + ln for ln in want_schema if ln not in got]
        t.check(got == want_schema, "%s: the schema of a fresh database "
                "(%d lines differ: %r)" % (name, len(diff), diff[:10]))
        t.check(versions(name) == want_versions, "%s: schema_version as "
                "fresh's: %r" % (name, versions(name)))
    p = ruad("fresh", "migrate")
    t.check(p.returncode == 0 and "migrations applied: 0" in p.stdout and
            schema("fresh") == want_schema and versions("fresh") ==
            want_versions, "migrate again: nothing applied, nothing "
            "changed: %s %s" % (p.stdout, p.stderr))

    # a server on the fresh database, its /readyz asked each time
    port = free_port()
    log = open(os.path.join(tmp, "serve.log"), "wb")
    proc = subprocess.Popen(
        [RUAD, "serve", "--http-listen=127.0.0.1:%d" % port,
         "--smtp-listen=", "--workers=1", "--http-ops-cache-ms=0"],
        env=dict(os.environ, RUAD_DATABASE_URL=url_of("fresh")),
        stdout=log, stderr=subprocess.STDOUT)
    server = (proc, port)

    def ready():
        try:
            return readyz(port)[0] == 200
        except OSError:
            return False
    t.check(wait_for(ready, 15), "serve: /readyz 200 on the fresh database")

    db = DB(url_of("fresh"))
    v3 = [s for v, _, s in want_versions if v == 3][0]
    db.q("UPDATE schema_version SET sha256 = repeat('0', 64) "
         "WHERE version = 3")
    refused("fresh", ["migration 3", "0" * 64, v3, "003_api"],
            "another SHA-256")
    db.q("UPDATE schema_version SET sha256 = %s WHERE version = 3", v3)
    t.check(readyz(port)[0] == 200, "the SHA-256 put right: /readyz 200")

    # the pre-fold names (never released): refused, nothing applied
    db.q("UPDATE schema_version SET name = '008_json', sha256 = NULL "
         "WHERE version = 8")
    db.q("INSERT INTO schema_version (version, name) VALUES "
         "(9, '009_sources'), (10, '010_sum8')")
    refused("fresh", ["migration 8", "008_json", "008_report_copies"],
            "another name")
    t.check(db.one("SELECT sha256 IS NULL FROM schema_version WHERE "
                   "version = 8"), "another name: no SHA-256 taken")
    db.q("UPDATE schema_version SET name = '008_report_copies' "
         "WHERE version = 8")
    db.q("DELETE FROM schema_version WHERE version IN (9, 10)")
    db.q("INSERT INTO schema_version (version, name) VALUES "
         "(9999, 'from_another_branch')")
    p = ruad("fresh", "migrate")
    st, body = readyz(port)
    t.check(p.returncode == 0 and "migrations applied: 0" in p.stdout and
            st == 503 and "not current" in body, "a version without file "
            "(another branch's): migrate goes on (%d %s), /readyz not "
            "current (%d %r)" % (p.returncode, p.stderr, st, body))
    db.q("DELETE FROM schema_version WHERE version = 9999")
    p = ruad("fresh", "migrate")
    t.check(p.returncode == 0 and versions("fresh") == want_versions,
            "put right: migrate takes the SHA-256 again: %s" % p.stderr)
    t.check(readyz(port)[0] == 200, "put right: /readyz 200")

    # a file of functions not applied as this ruad has it
    db.q("UPDATE schema_functions SET sha256 = repeat('1', 64)")
    st, body = readyz(port)
    t.check(st == 503 and "not current" in body, "functions not current: "
            "/readyz 503: %d %r" % (st, body))
    p = ruad("fresh", "migrate")
    st, body = readyz(port)
    t.check(p.returncode == 0 and st == 200, "migrate applies them again: "
            "/readyz %d %r" % (st, body))
    db.close()
finally:
    if server is not None:
        server[0].terminate()
        try:
            server[0].wait(timeout=30)
        except subprocess.TimeoutExpired:
            server[0].kill()
    pg.remove()
t.finish()
