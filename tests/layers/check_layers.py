#!/usr/bin/env python3
"""check_layers.py - fails when an #include goes the wrong way.

The layers, from the ground up (docs/architecture.md, "Layers"):

  0  fakeresolver/                      the DNS half; no harness, no Lua
  1  harness/env.*, harness/spawn.*,    what every harness part is given or uses
     harness/sandbox.*
  2  harness/lb/, harness/record/       pure cores and the history
  3  harness/farm/, harness/clients/    the farm and the clients (given a run_env)
  4  harness/run/                       the run: registry, timeline, clock, run_act, watchdog
  5  harness/lua/                       the description (Lua); the scheduler
  6  harness/runner.h, main.c, suite.*, the program
     ctl.*, replay.*

A file may include a file of its own folder or of a lower layer, never one of
a higher layer, and never one of another folder on the same layer (farm/ and
clients/ do not know each other; lb/ and record/ neither). Every quoted
#include of every .c and .h under fakeresolver/ and harness/ is read; one
that names no file of the tree is left alone (a system or build header).

Usage: check_layers.py [REPO]   (default: the repository this file is in)
Exits 1 listing every offender as FILE:LINE: includes TARGET (layer a -> b).
"""
import os
import re
import sys

LAYERS = [
    ("fakeresolver/", 0),
    ("harness/env.", 1),
    ("harness/spawn.", 1),
    ("harness/sandbox.", 1),
    ("harness/lb/", 2),
    ("harness/record/", 2),
    ("harness/farm/", 3),
    ("harness/clients/", 3),
    ("harness/run/", 4),
    ("harness/lua/", 5),
    ("harness/runner.", 6),
    ("harness/main.", 6),
    ("harness/suite.", 6),
    ("harness/ctl.", 6),
    ("harness/replay.", 6),
]

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def layer(path):
    """(layer, folder) of a repository path, or None when it is in no layer."""
    for prefix, n in LAYERS:
        if path.startswith(prefix):
            folder = prefix if prefix.endswith("/") else "harness/"
            return n, folder
    return None


def main():
    repo = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    files = []
    for top in ("fakeresolver", "harness"):
        for d, _, names in os.walk(os.path.join(repo, top)):
            for n in names:
                if n.endswith((".c", ".h")):
                    files.append(os.path.relpath(os.path.join(d, n), repo))
    files.sort()
    unmapped = [f for f in files if layer(f) is None]
    offenders = []
    for f in files:
        here = layer(f)
        if here is None:
            continue
        with open(os.path.join(repo, f), encoding="utf-8", errors="replace") as fh:
            for lineno, line in enumerate(fh, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                target = m.group(1)
                if not os.path.exists(os.path.join(repo, target)):
                    # relative to the including file's folder
                    rel = os.path.normpath(os.path.join(os.path.dirname(f), target))
                    if not os.path.exists(os.path.join(repo, rel)):
                        continue
                    target = rel
                there = layer(target)
                if there is None:
                    continue
                if there[1] == here[1]:
                    continue
                if there[0] >= here[0]:
                    offenders.append("%s:%d: includes %s (layer %d %s -> layer %d %s)" % (
                        f, lineno, target, here[0], here[1], there[0], there[1]))
    for f in unmapped:
        offenders.append("%s: is in no layer: add its folder to LAYERS in %s" % (
            f, os.path.relpath(os.path.abspath(__file__), repo)))
    if offenders:
        print("check_layers: %d include(s) go the wrong way:" % len(offenders))
        for o in offenders:
            print("  " + o)
        return 1
    print("check_layers: %d files, every include goes down" % len(files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
