#!/usr/bin/env python3
"""Compute valid/expected.json from valid/*.eml with Python's own e-mail parser.

    python3 Tests/MIMETests/Fixtures/make-expected.py            # rewrite expected.json
    python3 Tests/MIMETests/Fixtures/make-expected.py --check    # fail if it would change
    python3 Tests/MIMETests/Fixtures/make-expected.py --defects  # also list Python's defects

Standard library only. The point is an independent oracle: every value below
is what `email.message_from_bytes(data, policy=email.policy.compat32)` says,
with as little of our own interpretation as possible. Where we had to add some,
it is marked "OUR RULE". Python is not always right per the RFCs: the places
we know of are listed by hand in valid/python-deviations.tsv (file, field path,
Python's value and the RFC's value as JSON literals, note); this script checks
that its "python" column still matches what Python computes.

Output, per file (keys in this order):
  subject            Subject decoded per RFC 2047 via decode_header + make_header
                     (OUR RULE: the raw value is unfolded first, CRLF+WSP -> WSP,
                     because compat32 keeps the line breaks of a folded header);
                     null if there is no Subject.
  from               raw From value, unfolded (CRLF+WSP -> WSP); null if absent.
  content_type       get_content_type() of the top entity.
  header_count       len(msg.keys()): fields of the top entity, repeats counted.
  leaves             non-multipart entities, depth first (msg.walk() order,
                     skipping is_multipart() ones), each with
                       content_type       get_content_type()
                       charset            get_content_charset()
                       filename           get_filename() (RFC 2231 decoded)
                       transfer_encoding  Content-Transfer-Encoding, unfolded,
                                          stripped (OUR RULE) and lower-cased; or null
                       sha256, size       of get_payload(decode=True)
  depth              multipart nesting: 0 for a single part, 1 for a multipart
                     of leaves, and so on.

message/* parts: a message/rfc822 part (also an untyped part of a
multipart/digest, whose default type is message/rfc822) counts as a LEAF; we do
not descend into the embedded message, and its multiparts do not count towards
depth. Python itself does descend (for compat32 such a part is_multipart() and
get_payload(decode=True) returns None), so for these leaves sha256/size are of
the embedded message as re-serialised by Python's BytesGenerator (no re-folding,
the file's own line ends), and the script checks that those exact bytes occur
in the file, i.e. that they are the part's body as it stands on disk.
"""

import email
import email.policy
import hashlib
import io
import json
import os
import re
import sys
from email.generator import BytesGenerator
from email.header import decode_header, make_header

HERE = os.path.dirname(os.path.abspath(__file__))
VALID = os.path.join(HERE, "valid")
OUT = os.path.join(VALID, "expected.json")
DEVIATIONS = os.path.join(VALID, "python-deviations.tsv")

FOLD = re.compile(r"(?:\r\n|\n|\r)(?=[ \t])")


def unfold(value):
    return FOLD.sub("", value)


def is_leaf(part):
    # message/rfc822 (and any message/*) is a leaf, although compat32 says
    # is_multipart() for it: do not descend into embedded messages.
    return not part.is_multipart() or part.get_content_maintype() == "message"


def leaves(part):
    if is_leaf(part):
        yield part
        return
    for sub in part.get_payload():
        yield from leaves(sub)


def depth(part):
    if is_leaf(part):
        return 0
    return 1 + max((depth(sub) for sub in part.get_payload()), default=0)


def payload_bytes(part, raw, linesep, name):
    data = part.get_payload(decode=True)
    if data is not None:
        return data
    # An embedded message (see the module docstring).
    assert part.get_content_maintype() == "message", (name, part.get_content_type())
    inner = part.get_payload()
    assert isinstance(inner, list) and len(inner) == 1, (name, "message/* part without one message")
    buf = io.BytesIO()
    policy = email.policy.compat32.clone(linesep=linesep, max_line_length=0)
    BytesGenerator(buf, mangle_from_=False, policy=policy).flatten(inner[0], unixfrom=False, linesep=linesep)
    data = buf.getvalue()
    if data not in raw:
        raise SystemExit("%s: Python's re-serialisation of an embedded message is not its raw body; "
                         "change the fixture so that it is" % name)
    return data


def header_text(value):
    return None if value is None else str(value)


def describe(name, raw):
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    linesep = "\r\n" if b"\r\n" in raw else "\n"

    subject = header_text(msg.get("Subject"))
    if subject is not None:
        subject = str(make_header(decode_header(unfold(subject))))
    sender = header_text(msg.get("From"))
    if sender is not None:
        sender = unfold(sender)

    out_leaves = []
    for part in leaves(msg):
        cte = header_text(part.get("Content-Transfer-Encoding"))
        data = payload_bytes(part, raw, linesep, name)
        out_leaves.append({
            "content_type": part.get_content_type(),
            "charset": part.get_content_charset(),
            "filename": part.get_filename(),
            "transfer_encoding": None if cte is None else unfold(cte).strip().lower(),
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
        })

    return msg, {
        "subject": subject,
        "from": sender,
        "content_type": msg.get_content_type(),
        "header_count": len(msg.keys()),
        "leaves": out_leaves,
        "depth": depth(msg),
    }


def lookup(entry, path):
    """path like leaves[1].sha256 or subject"""
    value = entry
    for step in path.split("."):
        m = re.fullmatch(r"(\w+)(?:\[(\d+)\])?", step)
        value = value[m.group(1)]
        if m.group(2) is not None:
            value = value[int(m.group(2))]
    return value


def check_deviations(result):
    if not os.path.exists(DEVIATIONS):
        return
    with open(DEVIATIONS, encoding="utf-8") as f:
        lines = f.read().splitlines()
    assert lines[0].split("\t") == ["file", "field", "python", "rfc", "note"], lines[0]
    for n, line in enumerate(lines[1:], 2):
        name, field, python, rfc, _note = line.split("\t")
        got = lookup(result[name], field)
        if json.loads(python) != got:
            raise SystemExit("%s line %d: %s %s is %r, not %s" % (DEVIATIONS, n, name, field, got, python))
        json.loads(rfc)


def main(argv):
    check = "--check" in argv
    show_defects = "--defects" in argv
    names = sorted(n for n in os.listdir(VALID) if n.endswith(".eml"))
    if not names:
        raise SystemExit("no fixtures in %s (run make-fixtures.py first)" % VALID)
    result = {}
    for name in names:
        with open(os.path.join(VALID, name), "rb") as f:
            raw = f.read()
        msg, result[name] = describe(name, raw)
        if show_defects:
            for part in msg.walk():
                for defect in part.defects:
                    print("%s: %s: %s" % (name, part.get_content_type(), defect.__class__.__name__), file=sys.stderr)

    check_deviations(result)
    text = json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    if check:
        with open(OUT, encoding="utf-8") as f:
            if f.read() != text:
                raise SystemExit("%s is out of date" % OUT)
        return
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


if __name__ == "__main__":
    main(sys.argv[1:])
