"""Shared helpers for ruad's integration tests (run with /usr/bin/python3).

Each test module counts its checks and ends with one line
"NAME: P passed, F failed[, S skipped]" and exit status 0 (all passed),
1 (a failure) or 77 (everything skipped: ctest shows it as skipped).
"""
import json
import os
import subprocess
import sys


def env_path(name, default=None):
    v = os.environ.get(name)
    if v:
        return v
    if default is None:
        sys.exit("%s is not set (run the tests through ctest)" % name)
    return default


RUAD = env_path("RUAD_BIN")
SRC = env_path("RUAD_SRC", os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
TMP = env_path("RUAD_TEST_TMP", "/tmp")


def samples_dir():
    """The shared samples: $RUAD_SAMPLES, else ../shared/samples."""
    d = os.environ.get("RUAD_SAMPLES") or os.path.join(
        os.path.dirname(SRC), "shared", "samples")
    return d if os.path.isfile(os.path.join(d, "INVENTORY.tsv")) else None


def parse(paths, *opts):
    """Run ruad parse; return (exit status, [json per file], stderr)."""
    p = subprocess.run([RUAD, "parse", *opts, *paths], capture_output=True,
                       timeout=300)
    lines = [json.loads(l) for l in p.stdout.decode().splitlines()]
    return p.returncode, lines, p.stderr.decode()


class Tally:
    def __init__(self, name):
        self.name, self.passed, self.failed, self.skipped = name, 0, 0, 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL: %s" % what, flush=True)
        return cond

    def skip(self, n, why):
        self.skipped += n
        print("SKIPPED %d: %s" % (n, why), flush=True)

    def finish(self):
        line = "%s: %d passed, %d failed" % (self.name, self.passed,
                                              self.failed)
        if self.skipped:
            line += ", %d skipped" % self.skipped
        print(line, flush=True)
        if self.failed:
            sys.exit(1)
        if self.passed == 0 and self.skipped:
            sys.exit(77)
        sys.exit(0)
