#!/usr/bin/env python3
"""Checks dnschaos history files against docs/history.md.

Usage: check_history.py [--allow-cut] [--aligned] [--schema FILE] [--max-errors N] FILE...

Every line is checked against docs/history.schema.json (one line's fields,
types and values), and the file against what the doc promises across lines:

  - UTF-8, one JSON object per line, each ending in "\\n", no blank lines,
    only spaces between the closing "}" and the "\\n" (the page padding);
    "t" and "type" first and in that order, no key twice, no NaN/Infinity,
    no exponents, integers written as integers, fixed-point fields with
    their documented number of decimals;
  - the first line is a meta line with schema 1, and the only meta line;
  - t never decreases;
  - the last line is an end line whose "lines" is the number of lines, and
    no other line is an end line;
  - every lookup id is invoked once, completed at most once (exactly once in
    a history with an end line), after its invoke, by the same client, stack
    and name, with latency_ms matching the two lines' t, and with "wire"
    equal to the route/query lines joined to it (counted to the end of the
    file: a query that waited in a capacity queue is written when served);
  - every route/query line's client/lookup names a lookup of that client
    that was invoked before it and had not completed when the query arrived
    (the line's t less its queue_ms);
  - every fault id is injected once and healed at most once, after its
    inject, with the same target and kind; a query line's fault/delay_fault
    names a fault injected before it on that resolver;
  - a lost line's from and to fall in that order, no later than its t;
  - every zone version (zone, digest) has one version line, and every digest
    of a publish, boot or lookup line names a version line of that zone
    before it; a boot line has one digest per zone; a lookup's
    stale_records and wrong_records are among its answers, and apart.

--allow-cut is for killed runs: the file need not end with an end line (so
lookups need no completion), and a last line without "\\n" is dropped, as
the doc tells readers to do.

--aligned is for a regular file dnschaos created (not --history - redirected):
no line of 4 KiB or less may straddle a 4 KiB boundary of the file (the page
padding of "Killed runs", which makes every cut SIGKILL can cause fall
between lines).

Exit status: 0 all files good, 1 something is wrong (one "FILE:LINE: what"
message per problem on stderr), 2 bad usage, 77 the jsonschema module is
missing (the test is skipped).
"""

import argparse
import json
import os
import re
import sys

try:
    import jsonschema
    from jsonschema import validators
except ImportError:  # pragma: no cover - depends on the machine
    print("check_history.py: the Python module jsonschema is missing "
          "(Debian: apt-get install python3-jsonschema; ci/install.sh installs it); "
          "skipping", file=sys.stderr)
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SCHEMA = os.path.join(HERE, "..", "..", "docs", "history.schema.json")

# Fixed-point fields and their decimals, by (type, field); "*" is every type.
DECIMALS = {
    ("*", "t"): 6,
    ("meta", "duration"): 3,
    ("fault", "duration"): 3,
    ("fault", "fraction"): 4,
    ("fault", "delay_ms"): 3,
    ("fault", "jitter_ms"): 3,
    ("fault", "qps"): 3,
    ("fault", "down"): 3,
    ("query", "delay_ms"): 3,
    ("query", "queue_ms"): 3,
    ("remote", "rtt_ms"): 3,
    ("lost", "from"): 6,
    ("lost", "to"): 6,
    ("lookup", "latency_ms"): 3,
    ("health", "kernel_ms"): 3,
}

# The page the writer aligns lines to (docs/history.md, "Killed runs").
PAGE = 4096

# latency_ms against the two lines' t: both t are rounded to 1 us, latency_ms to 1 us.
LATENCY_SLACK_MS = 0.002
# queue_ms has 3 decimals: an arrival worked out from it is good to a microsecond.
JOIN_SLACK_S = 0.000002


class Fixed(float):
    """A JSON number written with a fraction or an exponent; keeps its text."""

    __slots__ = ("text",)

    def __new__(cls, text):
        f = float.__new__(cls, text)
        f.text = text
        return f


class LineError(Exception):
    pass


def parse_constant(name):
    raise LineError("%s is not JSON (a value that is not a number is written null)" % name)


def make_validator(schema_path):
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    base = validators.validator_for(schema)
    base.check_schema(schema)
    # Strict integers: 5.0 is written by a fixed-point formatter, not an integer one.
    checker = base.TYPE_CHECKER.redefine(
        "integer", lambda _c, v: isinstance(v, int) and not isinstance(v, bool))
    cls = validators.extend(base, type_checker=checker)
    fc = jsonschema.FormatChecker()
    return TypeValidators(cls, schema, fc)


class TypeValidators:
    """The schema, split by type: the top-level allOf holds one if-then per
    type, so each type gets a copy holding only its own branch (same $defs,
    same answers, a fraction of the work)."""

    def __init__(self, cls, schema, fc):
        self.by_type = {}
        branches = schema.get("allOf", [])
        for br in branches:
            try:
                name = br["if"]["properties"]["type"]["const"]
            except (KeyError, TypeError):
                name = None
            if name is None:  # not a per-type branch: keep the whole schema
                self.by_type = None
                break
            sub = dict(schema)
            sub["allOf"] = [br]
            self.by_type[name] = cls(sub, format_checker=fc)
        other = dict(schema)
        if self.by_type is not None:
            other.pop("allOf", None)
        self.other = cls(other if self.by_type is not None else schema, format_checker=fc)

    def iter_errors(self, obj):
        """(error, the schema its path starts from) for each error."""
        v = self.by_type.get(obj.get("type")) if self.by_type else None
        v = v or self.other
        return ((e, v.schema) for e in v.iter_errors(obj))


def json_path(path):
    out = ""
    for p in path:
        out += "[%d]" % p if isinstance(p, int) else ("." + p if out else p)
    return out


def schema_description(root, path):
    """The description nearest the failing keyword on its schema path, the
    root's and the $defs' own left out (they say what a field is, not why it
    is wrong here)."""
    def follow(node):
        ref = node.get("$ref", "")
        if not ref.startswith("#/"):
            return None
        node = root
        for part in ref[2:].split("/"):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        return node

    node, desc = root, None
    for key in path:
        # Some jsonschema versions put "$ref" in the path, others go straight on.
        if isinstance(node, dict) and "$ref" in node and (key == "$ref" or key not in node):
            node = follow(node)
            if node is None:
                return desc
            if key == "$ref":
                continue
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return desc
        if isinstance(node, dict) and isinstance(node.get("description"), str):
            desc = node["description"]
    return desc


def describe(err, obj, root):
    """A short message for one schema error."""
    where = json_path(err.absolute_path)
    msg = err.message
    if err.validator == "not":
        sub = err.validator_value
        names = []
        if isinstance(sub, dict):
            alts = sub.get("anyOf", [sub])
            for a in alts:
                for k in a.get("required", []) if isinstance(a, dict) else []:
                    if isinstance(err.instance, dict) and k in err.instance:
                        names.append(k)
        msg = ("%s not expected here" % ", ".join('"%s"' % n for n in names)
               if names else "matches a form it must not")
    elif err.validator in ("oneOf", "anyOf"):
        what = "" if isinstance(err.instance, dict) else json.dumps(err.instance)[:80] + " "
        msg = "%s%s: %s" % (
            what, "matches none of" if err.validator == "anyOf" else "must match exactly one of",
            "; ".join(json.dumps(s, separators=(",", ":"))[:120] for s in err.validator_value))
    elif len(msg) > 300:
        msg = msg[:300] + "..."
    desc = schema_description(root, err.absolute_schema_path)
    if desc:
        msg += " (%s)" % desc
    kind = obj.get("type") if isinstance(obj, dict) else None
    parts = [p for p in (str(kind) if kind else "", where) if p]
    return "%s: %s" % (" ".join(parts), msg) if parts else msg


class Checker:
    def __init__(self, validator, allow_cut, max_errors, aligned=False):
        self.validator = validator
        self.allow_cut = allow_cut
        self.aligned = aligned
        self.max_errors = max_errors

    def check(self, path):
        self.path = path
        self.errors = 0
        self.suppressed = 0
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            self.error(0, "cannot read: %s" % e.strerror)
            return self.finish(0, {})

        raw_lines = data.split(b"\n")
        tail = raw_lines.pop()  # after the last "\n": b"" when the file ends in one
        cut = False
        if tail:
            if self.allow_cut:
                cut = True  # a killed run's cut last line: dropped, as readers do
            else:
                self.error(len(raw_lines) + 1, "the last line does not end in \\n "
                           "(cut: a killed run? use --allow-cut)")
        if not raw_lines and not self.allow_cut:
            self.error(1, "the file holds no line (a history starts with a meta line)")

        st = {
            "prev_t": None, "end_at": None, "lookups": {}, "faults": {},
            "types": {}, "cut": cut, "versions": {},
        }
        offset = 0
        for n, raw in enumerate(raw_lines, 1):
            start, offset = offset, offset + len(raw) + 1
            if self.aligned and len(raw) + 1 <= PAGE and start // PAGE != (offset - 1) // PAGE:
                self.error(n, "the line (%d bytes, at byte %d) straddles the 4 KiB boundary at "
                           "byte %d: a SIGKILL during its write could cut it"
                           % (len(raw) + 1, start, (start // PAGE + 1) * PAGE))
            obj = self.parse(n, raw)
            if obj is None:
                continue
            st["types"][obj.get("type")] = st["types"].get(obj.get("type"), 0) + 1
            self.line(n, obj, st, len(raw_lines))
        self.file_end(len(raw_lines), st)
        return self.finish(len(raw_lines), st)

    def finish(self, nlines, st):
        if self.suppressed:
            print("%s: ... and %d more problems" % (self.path, self.suppressed),
                  file=sys.stderr)
        if self.errors == 0:
            kinds = ", ".join("%s %d" % (k, v) for k, v in sorted(
                st.get("types", {}).items(), key=lambda kv: str(kv[0])))
            note = ""
            if st.get("cut"):
                note = "; a cut last line was dropped"
            elif st.get("end_at") is None:
                note = "; no end line (cut)"
            print("%s: %d lines good (%s)%s" % (self.path, nlines, kinds, note))
        return self.errors == 0

    def error(self, n, msg):
        self.errors += 1
        if self.errors > self.max_errors:
            self.suppressed += 1
            return
        print("%s:%d: %s" % (self.path, n, msg), file=sys.stderr)

    # ---- one line ----

    def parse(self, n, raw):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            self.error(n, "not valid UTF-8 (byte %d)" % e.start)
            return None
        if not text:
            self.error(n, "a blank line")
            return None
        if not text.startswith('{"t":'):
            self.error(n, 'the line must start with {"t": (t first)')
        if not text.rstrip(" ").endswith("}"):
            self.error(n, "only spaces may follow the closing } (got %r at the end)"
                       % text[-10:])
        keys_seen = []
        bad = []

        def pairs(kv):
            keys = [k for k, _ in kv]
            dup = sorted({k for k in keys if keys.count(k) > 1})
            if dup:
                bad.append("key(s) %s appear more than once" % ", ".join(dup))
            keys_seen.append(keys)
            return dict(kv)

        def parse_float(s):
            if "e" in s or "E" in s:
                bad.append("%s is written with an exponent" % s)
            return Fixed(s)

        try:
            obj = json.loads(text, object_pairs_hook=pairs, parse_float=parse_float,
                             parse_constant=parse_constant)
        except LineError as e:
            self.error(n, str(e))
            return None
        except ValueError as e:
            self.error(n, "not JSON: %s" % e)
            return None
        for b in bad:
            self.error(n, b)
        if not isinstance(obj, dict):
            self.error(n, "not a JSON object")
            return None
        top = keys_seen[-1]  # the outermost object is the last one closed
        if top[:2] != ["t", "type"]:
            self.error(n, '"t" and "type" must be the first keys, in that order (got %s)'
                       % ", ".join(top[:2]))
        errs = sorted(self.validator.iter_errors(obj), key=lambda e: [str(p) for p in e[0].path])
        for err, root in errs:
            self.error(n, describe(err, obj, root))
        self.decimals(n, obj)
        return obj

    def decimals(self, n, obj):
        kind = obj.get("type")
        for key, v in obj.items():
            want = DECIMALS.get((kind, key), DECIMALS.get(("*", key)))
            if want is None or v is None or isinstance(v, bool):
                continue
            if isinstance(v, int):
                self.error(n, '"%s" is written %d, without its %d decimals' % (key, v, want))
            elif isinstance(v, Fixed) and not re.fullmatch(r"-?[0-9]+\.[0-9]{%d}" % want, v.text):
                self.error(n, '"%s" is written %s, not with %d decimals' % (key, v.text, want))

    def line(self, n, obj, st, nlines):
        kind = obj.get("type")
        t = obj.get("t")
        if n == 1:
            if kind != "meta" or obj.get("schema") != 1:
                self.error(n, 'the first line must be a meta line with "schema":1')
        elif kind == "meta":
            self.error(n, "a meta line after the first line")
        if isinstance(t, (int, float)) and not isinstance(t, bool):
            if st["prev_t"] is not None and t < st["prev_t"]:
                self.error(n, "t goes back: %s after %s" % (
                    getattr(t, "text", t), getattr(st["prev_t"], "text", st["prev_t"])))
            st["prev_t"] = t
        if kind == "end":
            if st["end_at"] is not None:
                self.error(n, "a second end line (the first is line %d)" % st["end_at"])
            elif n != nlines:
                self.error(n, "the end line is not the last line (%d lines follow)"
                           % (nlines - n))
            st["end_at"] = n
            lines = obj.get("lines")
            if isinstance(lines, int) and lines != n:
                self.error(n, '"lines" is %d but the file holds %d lines up to the end line'
                           % (lines, n))
        if kind == "lookup":
            self.lookup(n, obj, st)
        elif kind in ("query", "route") and "lookup" in obj:
            self.joined(n, obj, st)
        if kind == "fault":
            self.fault(n, obj, st)
        elif kind == "query":
            self.fault_ref(n, obj, st)
        elif kind == "lost":
            span = (obj.get("from"), obj.get("to"), obj.get("t"))
            if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in span) and \
                    not span[0] <= span[1] <= span[2]:
                self.error(n, "lost: from %s, to %s and t %s are not in that order" % span)
        self.versions(n, kind, obj, st)

    def versions(self, n, kind, obj, st):
        """Version lines once per (zone, digest); digests name one before them."""
        vs = st["versions"]

        def known(zone, digest, what):
            if isinstance(digest, str) and (zone, digest) not in vs:
                self.error(n, "%s digest %s... names no version line of %s before this line"
                           % (what, digest[:12], zone))

        if kind == "version":
            key = (obj.get("zone"), obj.get("digest"))
            if key in vs:
                self.error(n, "version %s of %s recorded again (first at line %d)"
                           % (str(key[1])[:12], key[0], vs[key]))
            else:
                vs[key] = n
        elif kind == "publish":
            known(obj.get("zone"), obj.get("digest"), "publish:")
        elif kind == "boot":
            zones, digests = obj.get("zones"), obj.get("digests")
            if isinstance(zones, list) and isinstance(digests, list):
                if len(zones) != len(digests):
                    self.error(n, "boot: %d zones but %d digests" % (len(zones), len(digests)))
                for z, d in zip(zones, digests):
                    if isinstance(z, str):
                        known(z.rsplit(" ", 1)[0], d, "boot:")
        elif kind == "lookup" and "digest" in obj:
            name = obj.get("name")
            # The zone is the longest recorded origin holding the name.
            full = (name.lower().rstrip(".") + ".") if isinstance(name, str) else ""
            zones = {z for z, _ in vs if isinstance(z, str) and
                     (z == "." or full == z or full.endswith("." + z))}
            zone = max(zones, key=len) if zones else "?"
            known(zone, obj.get("digest"), "lookup:")
        if kind == "lookup":
            answers = obj.get("answers") if isinstance(obj.get("answers"), list) else []
            sets = {}
            for key in ("stale_records", "wrong_records"):
                recs = obj.get(key)
                if isinstance(recs, list):
                    sets[key] = set(r for r in recs if isinstance(r, str))
                    for r in recs:
                        if r not in answers:
                            self.error(n, "lookup: %s holds %r, which is not among its answers"
                                       % (key, r))
            if len(sets) == 2 and sets["stale_records"] & sets["wrong_records"]:
                self.error(n, "lookup: an address is both in stale_records and wrong_records")

    def lookup(self, n, obj, st):
        lid, event = obj.get("id"), obj.get("event")
        if not isinstance(lid, int):
            return
        lk = st["lookups"].get(lid)
        if event == "invoke":
            if lk is not None:
                self.error(n, "lookup %d invoked again (first at line %d)" % (lid, lk["at"]))
                return
            st["lookups"][lid] = {"at": n, "t": obj.get("t"), "client": obj.get("client"),
                                  "stack": obj.get("stack"), "name": obj.get("name"),
                                  "done": None, "joined": 0}
            return
        if event not in ("ok", "fail", "timeout", "cancelled"):
            return
        if lk is None:
            self.error(n, "lookup %d completes (%s) but was never invoked" % (lid, event))
            return
        if lk["done"] is not None:
            self.error(n, "lookup %d completes again (%s; first completion at line %d)"
                       % (lid, event, lk["done"]))
            return
        lk["done"] = n
        lk["done_t"] = obj.get("t")
        for key in ("client", "stack", "name"):
            if obj.get(key) != lk[key]:
                self.error(n, 'lookup %d completes with %s %r, but its invoke (line %d) has %r'
                           % (lid, key, obj.get(key), lk["at"], lk[key]))
        lat, t0, t1 = obj.get("latency_ms"), lk["t"], obj.get("t")
        if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (lat, t0, t1)):
            if abs(lat - (t1 - t0) * 1000.0) > LATENCY_SLACK_MS:
                self.error(n, "lookup %d: latency_ms %s, but its lines are %.6f s apart"
                           % (lid, getattr(lat, "text", lat), t1 - t0))
        wire = obj.get("wire")
        if isinstance(wire, int):
            lk["wire"] = wire  # compared at the end: lines of queued queries come later

    def joined(self, n, obj, st):
        lid, client = obj.get("lookup"), obj.get("client")
        if not isinstance(lid, int):
            return
        lk = st["lookups"].get(lid)
        if lk is None:
            self.error(n, "joined to lookup %d, which was not invoked before this line" % lid)
            return
        if lk["client"] != client:
            self.error(n, "joined to lookup %d of client %r, but lookup %d is client %r's "
                       "(line %d)" % (lid, client, lid, lk["client"], lk["at"]))
        t, queued = obj.get("t"), obj.get("queue_ms", 0)
        if lk["done"] is not None and isinstance(t, (int, float)) and isinstance(
                queued, (int, float)) and isinstance(lk.get("done_t"), (int, float)):
            arrived = t - queued / 1000.0
            if arrived > lk["done_t"] + JOIN_SLACK_S:
                self.error(n, "joined to lookup %d, which completed at line %d, before this "
                           "query arrived (t %.6f less queue_ms)" % (lid, lk["done"], arrived))
        lk["joined"] += 1

    def fault(self, n, obj, st):
        fid, action = obj.get("id"), obj.get("action")
        if not isinstance(fid, int):
            return
        f = st["faults"].get(fid)
        if action == "inject":
            if f is not None:
                self.error(n, "fault %d injected again (first at line %d)" % (fid, f["at"]))
                return
            st["faults"][fid] = {"at": n, "target": obj.get("target"),
                                 "fault": obj.get("fault"), "healed": None}
        elif action == "heal":
            if f is None:
                self.error(n, "fault %d healed but never injected" % fid)
                return
            if f["healed"] is not None:
                self.error(n, "fault %d healed again (first heal at line %d)" % (fid, f["healed"]))
                return
            f["healed"] = n
            for key in ("target", "fault"):
                if obj.get(key) != f[key]:
                    self.error(n, "fault %d healed with %s %r, but injected (line %d) with %r"
                               % (fid, key, obj.get(key), f["at"], f[key]))

    def fault_ref(self, n, obj, st):
        for key in ("fault", "delay_fault"):
            fid = obj.get(key)
            if not isinstance(fid, int) or isinstance(fid, bool):
                continue
            f = st["faults"].get(fid)
            if f is None:
                self.error(n, '"%s": fault %d was not injected before this line' % (key, fid))
            elif f["target"] != obj.get("resolver"):
                self.error(n, '"%s": fault %d was injected on %r (line %d), not on %r'
                           % (key, fid, f["target"], f["at"], obj.get("resolver")))

    # ---- the whole file ----

    def file_end(self, nlines, st):
        if st["end_at"] is None:
            if not self.allow_cut and nlines:
                self.error(nlines, "the last line is not an end line (a killed run? use "
                           "--allow-cut)")
            return
        for lid, lk in sorted(st["lookups"].items()):
            if lk["done"] is None:
                self.error(lk["at"], "lookup %d (client %r) never completes, though the run "
                           "ended" % (lid, lk["client"]))
            elif "wire" in lk and lk["wire"] != lk["joined"]:
                self.error(lk["done"], "lookup %d: wire is %d, but %d route/query lines are "
                           "joined to it" % (lid, lk["wire"], lk["joined"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--allow-cut", action="store_true",
                    help="a killed run: no end line needed; a last line without \\n is dropped")
    ap.add_argument("--aligned", action="store_true",
                    help="a regular file dnschaos wrote: no line up to 4 KiB straddles a 4 KiB "
                    "boundary")
    ap.add_argument("--schema", default=DEFAULT_SCHEMA, help="the JSON Schema of one line")
    ap.add_argument("--max-errors", type=int, default=30,
                    help="problems printed per file (default 30)")
    ap.add_argument("files", nargs="+", metavar="FILE")
    args = ap.parse_args()
    try:
        validator = make_validator(args.schema)
    except (OSError, ValueError, jsonschema.SchemaError) as e:
        print("check_history.py: %s: cannot use the schema: %s" % (args.schema, e),
              file=sys.stderr)
        return 2
    checker = Checker(validator, args.allow_cut, args.max_errors, args.aligned)
    ok = True
    for path in args.files:
        ok = checker.check(path) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
