#!/usr/bin/python3
"""bench_import_copy.py - the plain COPY baseline of bench_import.

    bench_import_copy.py DSN DIR TABLE...

Loads again, with nothing but COPY, the rows that `ruad import` stored in
the database DSN, so both figures come from the same rows, tables, indexes,
foreign keys and server:

1. exports each TABLE (give parents before children) with
   COPY (SELECT * FROM TABLE ORDER BY its primary key) TO STDOUT into
   DIR/TABLE.copy, in COPY text format;
2. TRUNCATEs the TABLEs (their parent rows, dmarc_report and
   tlsrpt_report, stay, so the foreign keys hold) and runs CHECKPOINT, so
   the timed load neither waits for nor leaves behind a checkpoint that
   the import did not;
3. times, on a connection opened beforehand, COPY TABLE FROM STDIN of each
   file in order, in one transaction, up to and including the COMMIT
   (synchronous_commit as the server has it: on in bench_import);
4. counts the rows again and checks that every table has what it had.

Prints one line: "seconds=S rows=N TABLE=N ... TABLE_s=S ... commit_s=S"
(rows: of all tables; TABLE_s: that table's COPY, commit_s: the COMMIT).  Exit
status 0, or 1 with a message on stderr.  Uses Debian's python3-psycopg2,
so run it with /usr/bin/python3.
"""
import os
import sys
import time

import psycopg2
from psycopg2 import sql

CHUNK = 1 << 16


def primary_key(cur, table):
    cur.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON "
        "a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
        "WHERE i.indrelid = %s::regclass AND i.indisprimary "
        "ORDER BY array_position(i.indkey::int2[], a.attnum)", (table,))
    return [r[0] for r in cur.fetchall()]


def count(cur, table):
    cur.execute(sql.SQL("SELECT count(*) FROM {}").format(
        sql.Identifier(table)))
    return cur.fetchone()[0]


def main(argv):
    if len(argv) < 4:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 1
    dsn, outdir, tables = argv[1], argv[2], argv[3:]
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    cur = conn.cursor()

    before = {}
    for t in tables:
        key = primary_key(cur, t)
        query = sql.SQL("COPY (SELECT * FROM {} ORDER BY {}) TO STDOUT").format(
            sql.Identifier(t), sql.SQL(", ").join(map(sql.Identifier, key)))
        with open(os.path.join(outdir, t + ".copy"), "wb") as f:
            cur.copy_expert(query, f, size=CHUNK)
        before[t] = count(cur, t)

    cur.execute(sql.SQL("TRUNCATE {}").format(
        sql.SQL(", ").join(map(sql.Identifier, tables))))
    cur.execute("CHECKPOINT")

    conn.autocommit = False
    t0 = time.monotonic()
    part = {}
    for t in tables:
        t1 = time.monotonic()
        with open(os.path.join(outdir, t + ".copy"), "rb") as f:
            cur.copy_expert(sql.SQL("COPY {} FROM STDIN").format(
                sql.Identifier(t)), f, size=CHUNK)
        part[t] = time.monotonic() - t1
    t1 = time.monotonic()
    conn.commit()
    part["commit"] = time.monotonic() - t1
    secs = time.monotonic() - t0
    conn.autocommit = True

    after = {t: count(cur, t) for t in tables}
    conn.close()
    for t in tables:
        os.unlink(os.path.join(outdir, t + ".copy"))
    if after != before:
        print("bench_import_copy: rows differ after the load: before %r, "
              "after %r" % (before, after), file=sys.stderr)
        return 1
    print("seconds=%.6f rows=%d %s %s" % (secs, sum(after.values()),
          " ".join("%s=%d" % (t, after[t]) for t in tables),
          " ".join("%s_s=%.6f" % (t, s) for t, s in part.items())))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (psycopg2.Error, OSError) as e:
        print("bench_import_copy: %s" % str(e).strip(), file=sys.stderr)
        sys.exit(1)
