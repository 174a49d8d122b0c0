#!/usr/bin/env python3
"""Validate addresses.tsv (standard library only).

The script checks that:
  * every data row has 8 tab-separated fields and the header is exact;
  * error rows have empty type/address/canonical/class;
  * rows sharing a class have one canonical form, and different classes have
    different canonical forms (so X500 never merges with EX);
  * a small reference parser, with the IMCEA decoding of MS-OXCMAIL 2.2.3.1.2,
    reproduces type, address, canonical, imcea_domain and error for every row.
    Canonical values in the TSV were written by hand, so this is a cross-check.
Input escape: in the `input` column `\\xHH` stands for the byte HH (NUL, CR, LF, TAB);
no raw input in the file contains a literal backslash-x.
Usage: python3 check-addresses.py [addresses.tsv]
"""
import os, re, sys
from collections import Counter, defaultdict

HEADER = ["input", "type", "address", "canonical", "class", "imcea_domain", "error", "note"]

class ParseError(Exception):
    pass

ATEXT = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
DOTATOM_DOMAIN = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$")
HEX = "0123456789abcdefABCDEF"

def imcea_decode(enc):
    out, i = [], 0
    while i < len(enc):
        ch = enc[i]
        if ch == "_":
            out.append("/"); i += 1
        elif ch == "+" and i + 2 < len(enc) + 0 and enc[i+1] in HEX and enc[i+2] in HEX:
            out.append(chr(int(enc[i+1:i+3], 16))); i += 3
        else:
            out.append(ch); i += 1   # includes a '+' not followed by two hex digits
    return "".join(out)

def fold(v):
    return re.sub(r" +", " ", v.strip()).lower()

def strip_comments(s):
    out, depth, q, i = [], 0, False, 0
    while i < len(s):
        c = s[i]
        if c == "\\" and (q or depth):
            if not depth: out.append(s[i:i+2])
            i += 2; continue
        if q:
            out.append(c); q = c != '"'; i += 1; continue
        if c == "(":
            depth += 1
        elif c == ")":
            if depth == 0: raise ParseError("bad-smtp")
            depth -= 1
        elif depth == 0:
            if c == '"': q = True
            out.append(c)
        i += 1
    if depth or q: raise ParseError("bad-smtp")
    return "".join(out)

def smtp(v):
    s = strip_comments(v).strip()
    if "<" in s or ">" in s:
        m = re.match(r'^(?:[^<>"]*|"(?:[^"\\]|\\.)*")*<([^<>]*)>$', s)
        if not m: raise ParseError("bad-smtp")
        s = m.group(1).strip()
    if "@" not in s: raise ParseError("bad-smtp")
    local, dom = s.rsplit("@", 1)
    if not local or not dom: raise ParseError("bad-smtp")
    if dom.startswith("["):
        if not re.match(r"^\[[^\[\]\\ ]+\]$", dom): raise ParseError("bad-smtp")
    elif not DOTATOM_DOMAIN.match(dom):
        raise ParseError("bad-smtp")
    if local.startswith('"'):
        m = re.match(r'^"((?:[^"\\]|\\.)*)"$', local)
        if not m: raise ParseError("bad-smtp")
        inner = re.sub(r"\\(.)", r"\1", m.group(1))
        clocal = inner if ATEXT.match(inner) else local
    elif ATEXT.match(local):
        clocal = local
    else:
        raise ParseError("bad-smtp")
    if len(clocal) > 64 or len(clocal) + 1 + len(dom) > 254: raise ParseError("too-long")
    return "SMTP", s, "SMTP:" + clocal + "@" + dom.lower()

def dn(t, v):
    if not v.startswith("/"): raise ParseError("bad-ex-dn")
    parts = [p for p in v.split("/") if p != ""]
    if not parts: raise ParseError("bad-ex-dn")
    rdns = []
    for p in parts:
        k, eq, val = p.partition("=")
        if not eq or not re.match(r"^[A-Za-z][A-Za-z0-9-]*$", k) or val == "":
            raise ParseError("bad-ex-dn")
        rdns.append(k.lower() + "=" + val.lower())
    return t, v, t + ":/" + "/".join(rdns)

LIMITS = {"c": 3, "a": 16, "p": 16, "o": 64, "ou1": 32, "ou2": 32, "ou3": 32, "ou4": 32,
          "s": 40, "g": 16, "i": 5, "q": 3, "cn": 64, "x121": 15, "n-id": 32, "t-ty": 3, "t-id": 24}

def x400(v):
    s = v.strip()
    if not s: raise ParseError("bad-x400")
    if s.startswith("/"):
        parts, cur, i = [], [], 1
        while i < len(s):
            if s[i] == "$" and i + 1 < len(s) and s[i+1] == "/":
                cur.append("/"); i += 2; continue
            if s[i] == "/":
                parts.append("".join(cur)); cur = []
            else:
                cur.append(s[i])
            i += 1
        parts.append("".join(cur))
    else:
        parts = s.split(";")
    attrs, ddatype, ou_n = {}, None, 0
    for p in parts:
        if p.strip() == "": continue
        k, eq, val = p.partition("=")
        if not eq: raise ParseError("bad-x400")
        k = k.strip().lower()
        k = {"admd": "a", "prmd": "p"}.get(k, k)
        if k == "ou":
            ou_n += 1; k = "ou%d" % ou_n
        if k == "dda.type":
            ddatype = val.strip().lower(); continue
        if k == "dda.value":
            if ddatype is None: raise ParseError("bad-x400")
            k, ddatype = "dda:" + ddatype, None
        if k.startswith("dda:"):
            k = "dda:" + k[4:].strip()
            if not (1 <= len(k) - 4 <= 8): raise ParseError("x400-field-too-long:dda-type")
            if len(val) > 128: raise ParseError("x400-field-too-long:dda-value")
        elif k not in LIMITS:
            raise ParseError("bad-x400")
        elif len(val) > LIMITS[k]:
            raise ParseError("x400-field-too-long:" + k)
        if "$" in val or k in attrs: raise ParseError("bad-x400")
        if k == "a" and val.strip() == "": val = " "
        attrs[k] = val
    if ddatype is not None or "c" not in attrs or "a" not in attrs: raise ParseError("bad-x400")
    if "dda:msxchnge" in attrs:
        d = re.sub(r"/+", "/", attrs["dda:msxchnge"].strip())
        return dn("EX", d)
    return "X400", v, "X400:" + "".join("%s=%s;" % (k, attrs[k].lower()) for k in sorted(attrs))

def typed(t, v, prefix_as_written):
    T = t.upper()
    if T == "SMTP": return smtp(v)
    if T in ("EX", "MSXCHNGE"): return dn("EX", v)
    if T == "X500": return dn("X500", v)
    if T == "X400": return x400(v)
    if v.strip() == "": raise ParseError("empty")
    if T == "MS":
        parts = v.split("/")
        if len(parts) != 3 or any(p.strip() == "" for p in parts): raise ParseError("bad-ms")
        if any(len(p) > 10 for p in parts): raise ParseError("too-long")
        return "MS", v, "MS:" + fold(v)
    if T in ("CCMAIL", "NOTES"): return T, v, T + ":" + fold(v)
    return T, v, prefix_as_written + ":" + v

def parse(inp):
    """-> (type, address, canonical, imcea_domain); raises ParseError(keyword)."""
    if "\x00" in inp: raise ParseError("nul")
    if inp.strip() == "": raise ParseError("empty")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in inp): raise ParseError("control-char")
    if len(inp) > 2048: raise ParseError("too-long")
    s = inp.strip()
    m = re.match(r"^imcea([^-@]*)-", s, re.I)
    if m:
        if m.group(1) == "": raise ParseError("bad-imcea")
        rest = s[m.end():]
        if "@" not in rest: raise ParseError("bad-imcea")
        enc, dom = rest.rsplit("@", 1)
        if not DOTATOM_DOMAIN.match(dom): raise ParseError("bad-imcea")
        # MS-OXCMAIL legal encoded chars; '@' tolerated (split at last @), as is a bare '+'
        if not re.match(r"^[A-Za-z0-9=_+@-]*$", enc): raise ParseError("bad-imcea")
        t = m.group(1)
        if t.upper() == "EX" and enc == "": raise ParseError("bad-ex-dn")
        T, a, c = typed(t, imcea_decode(enc), t.upper())
        return T, a, c, dom
    if s.startswith(":"): raise ParseError("no-type")
    m = re.match(r"^([A-Za-z][A-Za-z0-9]*):(.*)$", s, re.S)
    if m:
        return typed(m.group(1), m.group(2), m.group(1)) + ("",)
    if s.startswith("/"):
        if re.search(r"/c=", s, re.I) and re.search(r"/a=", s, re.I):
            return x400(s) + ("",)
        return dn("EX", s) + ("",)
    if "=" in s and ";" in s and re.search(r"(^|;)\s*c=", s, re.I):
        return x400(s) + ("",)
    if "@" in s: return smtp(s) + ("",)
    raise ParseError("no-type")

def unescape(field):
    return re.sub(r"\\x([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), field)

def main(path):
    rows, problems = [], []
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    header_seen = False
    for n, line in enumerate(lines, 1):
        if line == "" or line.startswith("#"): continue
        fields = line.split("\t")
        if not header_seen:
            if fields != HEADER: problems.append("line %d: bad header %r" % (n, fields))
            header_seen = True; continue
        if len(fields) != 8:
            problems.append("line %d: %d fields" % (n, len(fields))); continue
        rows.append((n, fields))
    by_class, canon_class = defaultdict(set), defaultdict(set)
    for n, (inp, typ, addr, canon, cls, dom, err, note) in rows:
        if not note: problems.append("line %d: empty note" % n)
        if err:
            if typ or addr or canon or cls or dom:
                problems.append("line %d: error row with type/address/canonical/class/domain" % n)
        elif not (typ and canon):
            problems.append("line %d: valid row without type or canonical" % n)
        if cls:
            by_class[cls].add(canon); canon_class[canon].add(cls)
        try:
            rt, ra, rc, rd = parse(unescape(inp))
            if err:
                problems.append("line %d: expected error %s, reference parser accepted (%s)" % (n, err, rc))
                continue
            for name, want, got in (("type", typ, rt), ("address", addr, ra),
                                    ("canonical", canon, rc), ("imcea_domain", dom, rd)):
                if want != got:
                    problems.append("line %d: %s %r != reference %r" % (n, name, want, got))
        except ParseError as e:
            if not err:
                problems.append("line %d: reference parser rejected valid row: %s" % (n, e))
            elif str(e) != err:
                problems.append("line %d: error %r != reference %r" % (n, err, str(e)))
    for cls, canons in by_class.items():
        if len(canons) != 1: problems.append("class %s has %d canonical forms: %s" % (cls, len(canons), sorted(canons)))
    for canon, classes in canon_class.items():
        if len(classes) > 1: problems.append("canonical %s shared by classes %s" % (canon, sorted(classes)))
    # summary
    types = Counter(f[1] or "(error)" for _, f in rows)
    classes = Counter(f[4] for _, f in rows if f[4])
    imcea = sum(1 for _, f in rows if f[5])
    print("rows: %d  (imcea rows: %d, error rows: %d)" % (len(rows), imcea, types["(error)"]))
    print("by type: " + ", ".join("%s=%d" % kv for kv in sorted(types.items())))
    print("classes (%d): " % len(classes) + ", ".join("%s=%d" % kv for kv in sorted(classes.items())))
    print("classes with 4+ members: %d" % sum(1 for v in classes.values() if v >= 4))
    for p in problems: print("PROBLEM: " + p)
    print("OK" if not problems else "%d problem(s)" % len(problems))
    return 1 if problems else 0

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "addresses.tsv")))
