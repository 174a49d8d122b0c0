#!/usr/bin/env python3
"""Generate oracle-corpus.ldif, the LDIF change-record corpus used by the
LDAP integration ("oracle") test.

The corpus is applied, in order and without `-c`, to a fresh slapd whose only
entry is

    dn: dc=example,dc=com
    objectClass: dcObject
    objectClass: organization
    o: Example
    dc: example

e.g. with

    ldapmodify -x -H ldap://127.0.0.1:PORT -D cn=admin,dc=example,dc=com \
        -w secret -f oracle-corpus.ldif

Only the core, cosine, inetorgperson and nis schemas are used.  Every record
must succeed.  The generator keeps a small model of the directory and asserts
every precondition (parent exists, value present before delete, value absent
before add, no children before delete/rename, ...) so that editing this file
cannot silently produce a corpus that slapd rejects.

Deterministic: standard library only, fixed random seed, no timestamps.
Usage:  python3 make-oracle-corpus.py [output-path]
"""

import base64
import os
import random
import sys

SEED = 2849
BASE = "dc=example,dc=com"
FOLD_AT = 76

rng = random.Random(SEED)

# --------------------------------------------------------------------------
# DN handling (RFC 4514 escaping)
# --------------------------------------------------------------------------

def escape_rdn_value(value):
    out = []
    for i, ch in enumerate(value):
        if ch in ',+"\\<>;=':
            out.append("\\" + ch)
        elif ch == "\x00":
            out.append("\\00")
        elif ch == "#" and i == 0:
            out.append("\\#")
        elif ch == " " and (i == 0 or i == len(value) - 1):
            out.append("\\ ")
        else:
            out.append(ch)
    return "".join(out)


def rdn_str(rdn):
    """rdn: tuple of (attr, value) pairs (multi-valued RDN if more than one)."""
    return "+".join(f"{a}={escape_rdn_value(v)}" for a, v in rdn)


class DN:
    def __init__(self, rdns):
        self.rdns = tuple(tuple(r) for r in rdns)  # leftmost first

    def child(self, attr, value):
        return DN([((attr, value),)] + list(self.rdns))

    def child_multi(self, *pairs):
        return DN([tuple(pairs)] + list(self.rdns))

    def parent(self):
        return DN(self.rdns[1:])

    def rdn(self):
        return self.rdns[0]

    def __str__(self):
        return ",".join(rdn_str(r) for r in self.rdns)

    def key(self):
        return tuple(
            tuple(sorted((a.lower(), norm_str(v)) for a, v in r)) for r in self.rdns
        )


def base_dn():
    return DN([(("dc", "example"),), (("dc", "com"),)])


# --------------------------------------------------------------------------
# Value normalisation used by the model (approximates the matching rules)
# --------------------------------------------------------------------------

def norm_str(v):
    if isinstance(v, bytes):
        return v
    return " ".join(v.split()).casefold()


def norm_phone(v):
    return "".join(ch for ch in v if ch not in " -").casefold()


EXACT_ATTRS = {"userpassword", "jpegphoto"}
DN_ATTRS = {"member", "owner", "seealso", "manager"}


def norm_value(attr, v):
    base = attr.split(";")[0].lower()
    if base in EXACT_ATTRS:
        return v if isinstance(v, bytes) else v.encode()
    if base == "telephonenumber":
        return norm_phone(v)
    if base in DN_ATTRS:
        return v.key()
    return norm_str(v)


SINGLE_VALUED = {"uidnumber", "gidnumber", "homedirectory", "loginshell", "gecos",
                 "displayname", "employeenumber", "preferredlanguage"}
NO_EQUALITY = {"jpegphoto"}  # only replace / whole-attribute delete allowed


# --------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------

class Model:
    def __init__(self):
        self.entries = {}  # key -> (DN, {attr_lower: (attr_name, [values])})
        self.entries[base_dn().key()] = (base_dn(), {
            "objectclass": ("objectClass", ["dcObject", "organization"]),
            "o": ("o", ["Example"]), "dc": ("dc", ["example"])})

    def exists(self, dn):
        return dn.key() in self.entries

    def children(self, dn):
        k = dn.key()
        return [e for kk, e in self.entries.items() if kk[1:] == k]

    def get(self, dn):
        return self.entries[dn.key()][1]

    def values(self, dn, attr):
        a = self.get(dn).get(attr.lower())
        return list(a[1]) if a else []

    def add(self, dn, attrs):
        assert not self.exists(dn), f"add: {dn} exists"
        assert self.exists(dn.parent()), f"add: parent of {dn} missing"
        d = {}
        for name, vals in attrs:
            cur = d.setdefault(name.lower(), (name, []))[1]
            for v in vals:
                assert all(norm_value(name, v) != norm_value(name, c) for c in cur), \
                    f"add: duplicate {name} in {dn}"
                cur.append(v)
        for a, v in dn.rdn():
            assert any(norm_value(a, v) == norm_value(a, c) for c in d.get(a.lower(), ("", []))[1]), \
                f"add: RDN value {a}={v!r} missing in {dn}"
        for name, (_, vals) in d.items():
            if name in SINGLE_VALUED:
                assert len(vals) == 1, f"{name} single-valued in {dn}"
        self.entries[dn.key()] = (dn, d)

    def delete(self, dn):
        assert self.exists(dn), f"delete: {dn} missing"
        assert not self.children(dn), f"delete: {dn} has children"
        del self.entries[dn.key()]

    def modify(self, dn, ops):
        assert self.exists(dn), f"modify: {dn} missing"
        d = self.get(dn)
        for op, attr, vals in ops:
            la = attr.lower()
            base = la.split(";")[0]
            cur = d.get(la, (attr, []))[1]
            if op == "add":
                assert vals, "add needs values"
                assert base not in NO_EQUALITY or not cur, f"add to {attr} without equality"
                for v in vals:
                    assert all(norm_value(attr, v) != norm_value(attr, c) for c in cur), \
                        f"modify add: {attr}={v!r} already in {dn}"
                    cur = cur + [v]
                if base in SINGLE_VALUED:
                    assert len(cur) == 1, f"{attr} single-valued"
                d[la] = (attr, cur)
            elif op == "delete":
                assert cur, f"modify delete: {attr} absent in {dn}"
                if not vals:
                    new = []
                else:
                    assert base not in NO_EQUALITY
                    new = list(cur)
                    for v in vals:
                        idx = [i for i, c in enumerate(new) if norm_value(attr, c) == norm_value(attr, v)]
                        assert idx, f"modify delete: {attr}={v!r} absent in {dn}"
                        del new[idx[0]]
                if new:
                    d[la] = (attr, new)
                else:
                    d.pop(la, None)
            elif op == "replace":
                if vals:
                    if base in SINGLE_VALUED:
                        assert len(vals) == 1
                    d[la] = (attr, list(vals))
                else:
                    d.pop(la, None)
            elif op == "increment":
                assert len(cur) == 1 and len(vals) == 1
                d[la] = (attr, [str(int(cur[0]) + int(vals[0]))])
            else:
                raise AssertionError(op)
        for a, v in dn.rdn():
            assert any(norm_value(a, v) == norm_value(a, c) for c in d.get(a.lower(), ("", []))[1]), \
                f"modify removed RDN value of {dn}"
        assert d.get("objectclass"), "objectClass removed"

    def rename(self, dn, new_rdn, delete_old, new_superior=None):
        assert self.exists(dn), f"rename: {dn} missing"
        assert not self.children(dn), f"rename: {dn} has children"
        parent = new_superior if new_superior is not None else dn.parent()
        assert self.exists(parent), f"rename: new superior {parent} missing"
        new_dn = DN([tuple(new_rdn)] + list(parent.rdns))
        assert not self.exists(new_dn) or new_dn.key() == dn.key(), f"rename: {new_dn} exists"
        _, d = self.entries.pop(dn.key())
        for a, v in new_rdn:
            name, cur = d.get(a.lower(), (a, []))
            if not any(norm_value(a, v) == norm_value(a, c) for c in cur):
                assert a.lower() not in SINGLE_VALUED or not cur
                d[a.lower()] = (name, cur + [v])
        if delete_old:
            for a, v in dn.rdn():
                if any(norm_value(a, v) == norm_value(na, nv) for na, nv in new_rdn if na.lower() == a.lower()):
                    continue
                name, cur = d[a.lower()]
                new = [c for c in cur if norm_value(a, c) != norm_value(a, v)]
                assert new, f"deleteoldrdn would remove last {a} of {dn}"
                d[a.lower()] = (name, new)
        self.entries[new_dn.key()] = (new_dn, d)
        return new_dn


# --------------------------------------------------------------------------
# LDIF writing
# --------------------------------------------------------------------------

SAFE_INIT_BAD = {0x00, 0x0A, 0x0D, 0x20, 0x3A, 0x3C}


def needs_base64(b):
    if not b:
        return False
    if b[0] in SAFE_INIT_BAD or b[0] > 0x7F:
        return True
    if any(c in (0x00, 0x0A, 0x0D) or c > 0x7F for c in b):
        return True
    if b[-1] == 0x20:  # RFC 2849 note 8: SHOULD be base64
        return True
    return False


def fold(line):
    assert all(ord(c) < 0x80 for c in line), line
    if len(line) <= FOLD_AT:
        return [line]
    out = [line[:FOLD_AT]]
    rest = line[FOLD_AT:]
    while rest:
        out.append(" " + rest[:FOLD_AT - 1])
        rest = rest[FOLD_AT - 1:]
    return out


def attr_line(name, value, force_b64=False):
    if isinstance(value, DN):
        value = str(value)
    b = value if isinstance(value, bytes) else value.encode("utf-8")
    if force_b64 or needs_base64(b):
        return fold(f"{name}:: {base64.b64encode(b).decode('ascii')}")
    return fold(f"{name}: {b.decode('ascii')}")


class Writer:
    def __init__(self, model):
        self.model = model
        self.lines = ["version: 1"]
        self.records = 0
        self.counts = {}
        self.pending_comment = []

    def comment(self, *text):
        self.pending_comment.extend(f"# {t}" if t else "#" for t in text)

    def _start(self, dn, kind, controls=()):
        self.lines.append("")
        self.lines.extend(self.pending_comment)
        self.pending_comment = []
        self.lines.extend(attr_line("dn", dn))
        for c in controls:
            self.lines.append(f"control: {c}")
        self.lines.append(f"changetype: {kind}")
        self.records += 1
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def add(self, dn, attrs, b64=(), inline_comment=None):
        """attrs: list of (name, [values]); b64: names whose values are forced to base64."""
        self.model.add(dn, attrs)
        self._start(dn, "add")
        first = True
        for name, vals in attrs:
            for v in vals:
                self.lines.extend(attr_line(name, v, name in b64))
            if first and inline_comment:
                self.lines.append(f"# {inline_comment}")
            first = False

    def delete(self, dn):
        self.model.delete(dn)
        self._start(dn, "delete")

    def modify(self, dn, ops, b64=()):
        """ops: list of (op, attr, [values])."""
        self.model.modify(dn, ops)
        self._start(dn, "modify")
        for op, attr, vals in ops:
            self.lines.append(f"{op}: {attr}")
            for v in vals:
                self.lines.extend(attr_line(attr, v, attr in b64))
            self.lines.append("-")

    def rename(self, dn, new_rdn, delete_old, new_superior=None, kind="modrdn"):
        if isinstance(new_rdn[0], str):
            new_rdn = (tuple(new_rdn),)
        new_dn = self.model.rename(dn, new_rdn, delete_old, new_superior)
        self._start(dn, kind)
        self.lines.extend(attr_line("newrdn", rdn_str(new_rdn)))
        self.lines.append(f"deleteoldrdn: {1 if delete_old else 0}")
        if new_superior is not None:
            self.lines.extend(attr_line("newsuperior", new_superior))
        return new_dn

    def text(self):
        return "\n".join(self.lines) + "\n"


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------

FIRST = ["Alice", "Bruno", "Chloe", "Dmitri", "Elena", "Farid", "Greta", "Hiro",
         "Ines", "Jonas", "Kavya", "Liam", "Mara", "Nikolai", "Olga", "Pavel",
         "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wendy", "Xavier",
         "Yara", "Zane"]
LAST = ["Anders", "Bauer", "Castillo", "Dubois", "Eriksen", "Fischer", "Garcia",
        "Hansen", "Ivanova", "Jansen", "Kowalski", "Lindqvist", "Moreau", "Novak",
        "Okafor", "Petrov", "Quist", "Rossi", "Schmidt", "Tanaka", "Ueda",
        "Vargas", "Weber", "Xu", "Yilmaz", "Zimmer"]
TITLES = ["Engineer", "Senior Engineer", "Manager", "Analyst", "Designer",
          "Technician", "Director", "Consultant"]
CITIES = ["Berlin", "Lisbon", "Oslo", "Kyoto", "Denver", "Accra", "Lima", "Perth"]
SHELLS = ["/bin/bash", "/bin/zsh", "/bin/sh"]

LOREM = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod "
         "tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, "
         "quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo "
         "consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse "
         "cillum dolore eu fugiat nulla pariatur.")


def binary_blob(n, tag):
    """Random-ish binary with a JPEG-like header, NUL bytes and bytes >= 0x80."""
    body = bytearray(rng.getrandbits(8) for _ in range(n))
    body[0:4] = b"\xff\xd8\xff\xe0"
    body[10] = 0x00
    body[11] = 0x00
    body[12] = 0x80 | tag
    body[-2:] = b"\xff\xd9"
    assert 0 in body and any(c >= 0x80 for c in body)
    return bytes(body)


def phone(i, k):
    return f"+1 555 {(i * 7 + k * 131) % 10000:04d}"


def long_description(i):
    start = (i * 13) % 60
    text = f"Profile {i:03d}: " + LOREM[start:] + " " + LOREM[:start]
    assert len(text) > 200
    return text


# --------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------

def build():
    m = Model()
    w = Writer(m)
    base = base_dn()

    def ou(name, parent=base, desc=None, b64=()):
        dn = parent.child("ou", name)
        attrs = [("objectClass", ["top", "organizationalUnit"]), ("ou", [name])]
        if desc:
            attrs.append(("description", [desc]))
        w.add(dn, attrs, b64=b64)
        return dn

    # ---------------------------------------------------------------- OUs
    w.comment("Oracle corpus for the Bridgehead LDAP integration test.",
              "Generated by make-oracle-corpus.py (seed %d); do not edit by hand." % SEED,
              "",
              "Section 1: organisational units")
    people = ou("People", desc="All people")
    groups = ou("Groups", desc="Groups of names and POSIX groups")
    staff = ou("Staff", desc="Permanent staff (entries are moved here)")
    archive = ou("Archive", desc="Former people")
    special = ou("Special", desc="Entries whose DNs need escaping")
    intl = ou("International", desc="Entries with UTF-8 names")
    contractors = ou("Contractors", parent=people, desc="External contractors")
    zurich = ou("Z\u00fcrich", desc="Office Z\u00fcrich (UTF-8 DN, given as dn:: base64)")

    # ---------------------------------------------------------------- people
    w.comment("Section 2: people (inetOrgPerson, half of them also posixAccount)")
    persons = []  # list of dicts: {dn, uid, cn, posix}
    used = set()
    for i in range(96):
        while True:
            fn, ln = rng.choice(FIRST), rng.choice(LAST)
            if (fn, ln) not in used:
                used.add((fn, ln))
                break
        cn = f"{fn} {ln}"
        uid = f"{fn[0]}{ln}{i:02d}".lower()
        parent = contractors if i % 12 == 11 else people
        rdn_attr = "uid" if i % 3 == 0 else "cn"
        dn = parent.child(rdn_attr, uid if rdn_attr == "uid" else cn)
        posix = i % 2 == 0
        oc = ["top", "person", "organizationalPerson", "inetOrgPerson"]
        if posix:
            oc.append("posixAccount")
        cns = [cn]
        if i % 5 == 0:
            cns.append(f"{fn[0]}. {ln}")
        attrs = [("objectClass", oc), ("cn", cns), ("sn", [ln]), ("givenName", [fn]),
                 ("uid", [uid])]
        mails = [f"{uid}@example.com"]
        if i % 4 == 0:
            mails.append(f"{fn.lower()}.{ln.lower()}.{i}@mail.example.org")
        if i % 8 == 0:
            mails.append(f"{uid}@alumni.example.net")
        attrs.append(("mail", mails))
        phones = [phone(i, k) for k in range(i % 3)]
        if phones:
            attrs.append(("telephoneNumber", phones))
        if i % 3 != 2:
            attrs.append(("title", [TITLES[i % len(TITLES)]]))
        attrs.append(("employeeNumber", [str(1000 + i)]))
        attrs.append(("l", [CITIES[i % len(CITIES)]]))
        b64 = set()
        # descriptions exercising the value encodings
        kind = i % 10
        if kind == 0:
            attrs.append(("description", [long_description(i)]))
        elif kind == 1:
            attrs.append(("description", [f" leading space {i}"]))
        elif kind == 2:
            attrs.append(("description", [f":leading colon {i}"]))
        elif kind == 3:
            attrs.append(("description", [f"<leading less-than {i}"]))
        elif kind == 4:
            attrs.append(("description", [f"trailing space {i} "]))
        elif kind == 5:
            attrs.append(("description", [f"multi {i} a", f"multi {i} b", f"multi {i} c"]))
        elif kind == 6:
            attrs.append(("description", [f"plain ASCII but base64 anyway {i}"]))
            b64.add("description")
        elif kind == 7:
            attrs.append(("description", [f"colon: inside, #hash, <lt> and trailing punctuation {i}."]))
        elif kind == 8:
            attrs.append(("description", [f"Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e {i}"]))
        if i % 7 == 0:
            attrs.append(("postalAddress", [f"{i} Main Street $ Springfield $ {10000 + i}"]))
        if i % 9 == 0:
            attrs.append(("userPassword", [f"{{CLEARTEXT}}pw-{uid}"]))
        if i % 16 == 0:
            attrs.append(("jpegPhoto", [binary_blob(300 + i, i % 16)]))
        if i % 11 == 0:
            attrs.append(("cn;lang-de", [f"{fn} {ln} (de)"]))
        if posix:
            attrs += [("uidNumber", [str(10000 + i)]), ("gidNumber", [str(5000 + i % 4)]),
                      ("homeDirectory", [f"/home/{uid}"]),
                      ("loginShell", [SHELLS[i % len(SHELLS)]]),
                      ("gecos", [f"{cn},,,"])]
        w.add(dn, attrs, b64=b64,
              inline_comment="a comment line inside a record" if i == 5 else None)
        persons.append({"dn": dn, "uid": uid, "cn": cn, "posix": posix, "i": i, "fn": fn, "ln": ln})

    # a very long DN (folded dn: line) and a multi-valued RDN
    longname = "Maximilian Alexander Konstantin von Hohenzollern-Sigmaringen"
    long_dn = people.child("cn", longname)
    w.comment("A DN long enough to be folded")
    w.add(long_dn, [("objectClass", ["top", "person", "organizationalPerson", "inetOrgPerson"]),
                    ("cn", [longname]), ("sn", ["von Hohenzollern-Sigmaringen"]),
                    ("description", ["x" * 40 + " " + "y" * 200])])
    multi_dn = people.child_multi(("cn", "Pat Multi"), ("uid", "pmulti"))
    w.comment("Multi-valued RDN")
    w.add(multi_dn, [("objectClass", ["top", "person", "organizationalPerson", "inetOrgPerson"]),
                     ("cn", ["Pat Multi"]), ("uid", ["pmulti"]), ("sn", ["Multi"])])

    # ---------------------------------------------------------------- special DNs
    w.comment("Section 3: DNs that need escaping (RFC 4514)")
    special_names = ["Doe, John", "a+b", "#hash", "x=y", "semi;colon", "trail ",
                     " leading", 'quo"te', "back\\slash", "lt<gt>", "Smith, Jane + Co",
                     "mixed, #+=;<>\" all"]
    specials = {}
    for k, name in enumerate(special_names):
        dn = special.child("cn", name)
        sn = name.strip().split(",")[0].strip() or "x"
        w.add(dn, [("objectClass", ["top", "person", "organizationalPerson", "inetOrgPerson"]),
                   ("cn", [name]), ("sn", [sn]),
                   ("description", [f"escaped DN number {k}"])])
        specials[name] = dn

    # ---------------------------------------------------------------- UTF-8 DNs
    w.comment("Section 4: UTF-8 names; their dn: lines are base64 (dn::)")
    intl_people = [
        ("J\u00fcrgen M\u00fcller", "M\u00fcller", "J\u00fcrgen", "de"),
        ("\u00c6r\u00f8sk\u00f8bing", "\u00c6r\u00f8sk\u00f8bing", None, "da"),
        ("\u5c71\u7530\u592a\u90ce", "\u5c71\u7530", "\u592a\u90ce", "ja"),
        ("\u0395\u03bb\u03ad\u03bd\u03b7 \u03a0\u03b1\u03c0\u03b1\u03b4\u03bf\u03c0\u03bf\u03cd\u03bb\u03bf\u03c5",
         "\u03a0\u03b1\u03c0\u03b1\u03b4\u03bf\u03c0\u03bf\u03cd\u03bb\u03bf\u03c5", "\u0395\u03bb\u03ad\u03bd\u03b7", "el"),
        ("\u0418\u0432\u0430\u043d \u041f\u0435\u0442\u0440\u043e\u0432", "\u041f\u0435\u0442\u0440\u043e\u0432",
         "\u0418\u0432\u0430\u043d", "ru"),
        ("Fran\u00e7ois Lef\u00e8vre", "Lef\u00e8vre", "Fran\u00e7ois", "fr"),
        ("Jos\u00e9 N\u00fa\u00f1ez", "N\u00fa\u00f1ez", "Jos\u00e9", "es"),
        ("Zo\u00eb \u00c5ngstr\u00f6m", "\u00c5ngstr\u00f6m", "Zo\u00eb", "sv"),
        ("\uae40\ubbfc\uc900", "\uae40", "\ubbfc\uc900", "ko"),
    ]
    intl_dns = {}
    for k, (cn, sn, gn, lang) in enumerate(intl_people):
        dn = intl.child("cn", cn)
        attrs = [("objectClass", ["top", "person", "organizationalPerson", "inetOrgPerson"]),
                 ("cn", [cn]), ("sn", [sn])]
        if gn:
            attrs.append(("givenName", [gn]))
        attrs += [("preferredLanguage", [lang]), ("mail", [f"intl{k}@example.com"]),
                  (f"description;lang-{lang}", [f"{cn} \u2014 {lang}"])]
        w.add(dn, attrs)
        intl_dns[cn] = dn
    zdn = zurich.child("cn", "Urs Z\u00fcrcher")
    w.add(zdn, [("objectClass", ["top", "person", "organizationalPerson", "inetOrgPerson"]),
                ("cn", ["Urs Z\u00fcrcher"]), ("sn", ["Z\u00fcrcher"]), ("l", ["Z\u00fcrich"])])

    # ---------------------------------------------------------------- groups
    w.comment("Section 5: groups; members include escaped and UTF-8 DNs")
    group_dns = []
    sp = list(specials.values())
    it = list(intl_dns.values())
    for g in range(10):
        members = [persons[(g * 7 + k * 5) % len(persons)]["dn"] for k in range(3 + g % 4)]
        members.append(sp[g % len(sp)])
        members.append(it[g % len(it)])
        if g == 0:
            members.append(multi_dn)
            members.append(long_dn)
        # de-duplicate while keeping order
        seen, mem = set(), []
        for d in members:
            if d.key() not in seen:
                seen.add(d.key())
                mem.append(d)
        dn = groups.child("cn", f"group-{g:02d}")
        attrs = [("objectClass", ["top", "groupOfNames"]), ("cn", [f"group-{g:02d}"]),
                 ("member", mem), ("description", [f"Group number {g}"])]
        if g % 3 == 0:
            attrs.append(("owner", [persons[g]["dn"]]))
        w.add(dn, attrs)
        group_dns.append(dn)
    posix_groups = []
    for g in range(4):
        dn = groups.child("cn", f"posix-{g}")
        uids = [p["uid"] for p in persons if p["posix"] and (p["i"] // 2) % 4 == g][:6]
        w.add(dn, [("objectClass", ["top", "posixGroup"]), ("cn", [f"posix-{g}"]),
                   ("gidNumber", [str(5000 + g)]), ("memberUid", uids)])
        posix_groups.append(dn)

    # ---------------------------------------------------------------- modify
    w.comment("Section 6: modify records (add/delete/replace/increment)")
    for p in persons:
        i, dn, uid = p["i"], p["dn"], p["uid"]
        sel = i % 8
        if sel == 0:
            # add a mail value, replace phone numbers with two values
            w.modify(dn, [("add", "mail", [f"{uid}+extra@example.com"]),
                          ("replace", "telephoneNumber", [phone(i, 7), phone(i, 8)])])
        elif sel == 1:
            # delete the whole description attribute (present for kinds 0..8)
            if m.values(dn, "description"):
                w.modify(dn, [("delete", "description", [])])
            else:
                w.modify(dn, [("add", "description", [f"added later {i}"])])
        elif sel == 2:
            # replace with no values removes the attribute
            w.modify(dn, [("replace", "title", [])])
        elif sel == 3:
            # multi-valued add, then single-value delete in the same record
            w.modify(dn, [("add", "description", [f"note {i} one", f"note {i} two"]),
                          ("delete", "description", [f"note {i} one"])])
        elif sel == 4:
            # increment uidNumber of a posixAccount (RFC 4525)
            if p["posix"]:
                w.modify(dn, [("increment", "uidNumber", ["1000"]),
                              ("replace", "loginShell", ["/bin/dash"])])
            else:
                w.modify(dn, [("replace", "l", ["Nowhere", "Elsewhere"])])
        elif sel == 5:
            # base64 values with leading space / colon / less-than and trailing space
            w.modify(dn, [("add", "description", [f" lead {i}", f":colon {i}", f"<angle {i}", f"tail {i} "])])
        elif sel == 6:
            # long folded value and UTF-8 value
            w.modify(dn, [("replace", "description", [long_description(i + 1000),
                                                       f"Gr\u00fc\u00dfe aus {CITIES[i % 8]} \u2713"])])
        elif sel == 7:
            # delete a single mail value when there are several, else add two
            mails = m.values(dn, "mail")
            if len(mails) > 1:
                w.modify(dn, [("delete", "mail", [mails[-1]])])
            else:
                w.modify(dn, [("add", "mail", [f"{uid}.a@example.com", f"{uid}.b@example.com"])])

    # more modifies on a subset: several operations, increments with negative
    # values, binary values, options
    for p in persons[::6]:
        i, dn, uid = p["i"], p["dn"], p["uid"]
        ops = []
        if p["posix"]:
            ops.append(("increment", "uidNumber", ["-5"]))
            ops.append(("increment", "gidNumber", ["2"]))
        ops.append(("replace", "jpegPhoto", [binary_blob(200 + i, i % 16)]))
        ops.append(("add", "cn;lang-fr", [f"{p['fn']} {p['ln']} (fr)"]))
        if m.values(dn, "telephoneNumber"):
            ops.append(("delete", "telephoneNumber", []))
        else:
            ops.append(("add", "telephoneNumber", [phone(i, 9)]))
        w.modify(dn, ops)

    # remove photos again from some entries (delete of a whole binary attribute)
    for p in persons[::12]:
        w.modify(p["dn"], [("delete", "jpegPhoto", [])])

    # modify special and UTF-8 entries
    for name, dn in specials.items():
        w.modify(dn, [("add", "seeAlso", [sp[(list(specials).index(name) + 1) % len(sp)]]),
                      ("replace", "description", [f"updated: {name}"])])
    for cn, dn in intl_dns.items():
        w.modify(dn, [("add", "cn", [cn + " (alt)"]),
                      ("add", "description", [f"\u00bb{cn}\u00ab \u2014 \u00e9t\u00e9 2024 \u00a9"])])

    # group membership changes
    for g, gdn in enumerate(group_dns):
        cur = m.values(gdn, "member")
        cand = persons[(g * 11 + 3) % len(persons)]["dn"]
        ops = []
        if all(c.key() != cand.key() for c in cur):
            ops.append(("add", "member", [cand]))
        if g % 2 == 0:
            # delete an escaped or UTF-8 member value
            victim = next(c for c in cur if c.key() in {d.key() for d in sp + it})
            ops.append(("delete", "member", [victim]))
        if g == 9:
            ops = [("replace", "member", [specials["Doe, John"], intl_dns["J\u00fcrgen M\u00fcller"], persons[1]["dn"]])]
        w.modify(gdn, ops)
    for g, gdn in enumerate(posix_groups):
        uids = m.values(gdn, "memberUid")
        w.modify(gdn, [("delete", "memberUid", [uids[0]]), ("add", "memberUid", [f"extra{g}"])])

    # ---------------------------------------------------------------- modrdn / moddn
    w.comment("Section 7: modrdn (deleteoldrdn 0 and 1) and moddn with newsuperior")
    renamed = {}
    cn_people = [p for p in persons if p["dn"].rdn()[0][0] == "cn" and p["dn"].parent().key() == people.key()]
    for k, p in enumerate(cn_people[:8]):
        new = ("cn", p["cn"] + (" Jr" if k % 2 else " II"))
        p["dn"] = w.rename(p["dn"], new, delete_old=bool(k % 2))
        renamed[p["uid"]] = p["dn"]
    uid_people = [p for p in persons if p["dn"].rdn()[0][0] == "uid" and p["dn"].parent().key() == people.key()]
    for k, p in enumerate(uid_people[:4]):
        new = ("uid", p["uid"] + "x")
        p["dn"] = w.rename(p["dn"], new, delete_old=(k % 2 == 0))
        p["uid"] = p["uid"] + "x"
    # rename escaped entries; keep/delete old RDN
    specials["a+b"] = w.rename(specials["a+b"], ("cn", "a+b+c"), True)
    specials["#hash"] = w.rename(specials["#hash"], ("cn", "#hash, renamed"), False)
    specials["trail "] = w.rename(specials["trail "], ("cn", "trail renamed "), True)
    # UTF-8 renames (newrdn:: base64)
    intl_dns["J\u00fcrgen M\u00fcller"] = w.rename(intl_dns["J\u00fcrgen M\u00fcller"],
                                                     ("cn", "J\u00fcrgen M\u00fcller-L\u00fcdenscheid"), False)
    intl_dns["\u5c71\u7530\u592a\u90ce"] = w.rename(intl_dns["\u5c71\u7530\u592a\u90ce"],
                                                      ("cn", "\u5c71\u7530\u82b1\u5b50"), True)
    # multi-valued RDN -> single-valued RDN
    multi_dn = w.rename(multi_dn, ("cn", "Pat Multi"), False)

    # moves: People -> Staff, Contractors -> People, People -> Archive,
    # International -> Zürich (newsuperior:: base64), Special -> Staff
    movers = [p for p in persons if p["dn"].parent().key() == people.key()][8:14]
    for k, p in enumerate(movers):
        if k % 3 == 0:
            newrdn = p["dn"].rdn()
            p["dn"] = w.rename(p["dn"], newrdn, False, new_superior=staff, kind="moddn")
        elif k % 3 == 1:
            newrdn = (("uid", p["uid"]),)
            p["dn"] = w.rename(p["dn"], newrdn, False, new_superior=staff, kind="modrdn")
        else:
            newrdn = p["dn"].rdn()
            p["dn"] = w.rename(p["dn"], newrdn, True, new_superior=archive, kind="moddn")
    for p in [p for p in persons if p["dn"].parent().key() == contractors.key()][:3]:
        p["dn"] = w.rename(p["dn"], p["dn"].rdn(), False, new_superior=people, kind="moddn")
    intl_dns["Fran\u00e7ois Lef\u00e8vre"] = w.rename(intl_dns["Fran\u00e7ois Lef\u00e8vre"],
                                                       ("cn", "Fran\u00e7ois Lef\u00e8vre"), False,
                                                       new_superior=zurich, kind="moddn")
    specials["Doe, John"] = w.rename(specials["Doe, John"], ("cn", "Doe, John"), False,
                                     new_superior=staff, kind="moddn")
    # the moved entry is modified afterwards, under its new DN
    w.modify(specials["Doe, John"], [("replace", "description", ["moved to Staff"])])
    w.modify(intl_dns["Fran\u00e7ois Lef\u00e8vre"], [("add", "l", ["Z\u00fcrich"])])
    w.modify(multi_dn, [("delete", "uid", ["pmulti"])])

    # ---------------------------------------------------------------- delete
    w.comment("Section 8: deletes (leaf entries only)")
    doomed = [p for p in persons if p["i"] % 9 == 4]
    for p in doomed:
        w.delete(p["dn"])
    for name in ["x=y", " leading", "lt<gt>"]:
        w.delete(specials.pop(name))
    w.delete(intl_dns.pop("\u0418\u0432\u0430\u043d \u041f\u0435\u0442\u0440\u043e\u0432"))
    w.delete(group_dns[5])
    w.delete(posix_groups[3])
    # delete everything in Archive, then the Archive OU itself
    for e in [e for e in m.children(archive)]:
        w.delete(e[0])
    w.delete(archive)
    # re-add an entry under a DN that was deleted before (same DN, new content)
    p = doomed[0]
    w.comment("Re-add an entry whose DN was deleted above")
    w.add(p["dn"], [("objectClass", ["top", "person", "organizationalPerson", "inetOrgPerson"]),
                    ("cn", [p["cn"]] + ([p["dn"].rdn()[0][1]] if p["dn"].rdn()[0][0] == "cn"
                                        and p["dn"].rdn()[0][1] != p["cn"] else [])),
                    ("sn", [p["ln"]]), ("uid", [p["uid"]]),
                    ("description", ["re-added after delete"])])
    return w, m


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "oracle-corpus.ldif")
    w, m = build()
    data = w.text()
    data.encode("ascii")  # everything non-ASCII is base64
    with open(out, "w", encoding="ascii", newline="\n") as f:
        f.write(data)
    summary = ", ".join(f"{k}={v}" for k, v in sorted(w.counts.items()))
    print(f"{out}: {w.records} change records ({summary}); "
          f"{len(m.entries)} entries expected afterwards (including {BASE})")


if __name__ == "__main__":
    main()
