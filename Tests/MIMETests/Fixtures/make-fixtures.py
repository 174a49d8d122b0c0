#!/usr/bin/env python3
"""Write the MIME test fixtures (Python 3 standard library only).

    python3 Tests/MIMETests/Fixtures/make-fixtures.py

rewrites valid/*.eml, malformed/*.eml and malformed/expected.tsv byte for byte
(nothing here is random). Afterwards run make-expected.py, which parses
valid/*.eml with Python's `email` package and writes valid/expected.json.

Every message is spelled out line by line, so the bytes on disk are exactly
what is written below; no `email` generator is involved (it would re-fold
headers and normalise line ends, and its output is what we test against).
"""

import base64
import hashlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VALID = os.path.join(HERE, "valid")
MALFORMED = os.path.join(HERE, "malformed")

CRLF = b"\r\n"
LF = b"\n"


def b(x):
    return x if isinstance(x, bytes) else x.encode("utf-8")


def msg(lines, eol=CRLF, final_eol=True):
    """Join lines (str or bytes) with eol. A line may itself contain "\\r\\n"
    (used for folded headers); with eol=LF those are turned into LF too."""
    out = []
    for line in lines:
        line = b(line)
        if eol == LF:
            line = line.replace(b"\r\n", b"\n")
        out.append(line)
    data = eol.join(out)
    return data + eol if final_eol else data


def pseudo_random(n, seed):
    """n deterministic bytes (sha256 in counter mode)."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(b"%s-%d" % (b(seed), i)).digest()
        i += 1
    return bytes(out[:n])


def b64_lines(data, width=76):
    s = base64.b64encode(data).decode("ascii")
    return [s[i:i + width] for i in range(0, len(s), width)] or [""]


def envelope(n, subject, extra=()):
    return [
        "From: Alice Example <alice@example.org>",
        "To: Bob Example <bob@example.net>",
        "Subject: " + subject,
        "Date: Mon, 01 Jan 2024 10:00:%02d +0000" % (n % 60),
        "Message-ID: <fixture-%02d@example.org>" % n,
        "MIME-Version: 1.0",
    ] + list(extra)


LATIN = "Grüße aus Köln, café crème, naïve façade — ✓ €"
LDIF_DELTA = [
    "version: 1",
    "",
    "dn: uid=jdoe,ou=people,dc=example,dc=org",
    "changetype: modify",
    "replace: mail",
    "mail: jdoe@example.org",
    "-",
    "add: telephoneNumber",
    "telephoneNumber: +1 555 0100",
    "-",
    "",
    "dn: uid=asmith,ou=people,dc=example,dc=org",
    "changetype: add",
    "objectClass: top",
    "objectClass: person",
    "objectClass: inetOrgPerson",
    "uid: asmith",
    "cn: Anna Smith",
    "sn: Smith",
    # "Jürgen Müller" in UTF-8, base64 per RFC 2849 because it is not SAFE-STRING
    "description:: " + base64.b64encode("Jürgen Müller".encode("utf-8")).decode("ascii"),
    "",
    "dn: uid=old,ou=people,dc=example,dc=org",
    "changetype: delete",
    "",
    "dn: uid=temp,ou=people,dc=example,dc=org",
    "changetype: modrdn",
    "newrdn: uid=permanent",
    "deleteoldrdn: 1",
]

SIGNATURE = pseudo_random(300, "dummy pkcs7 signature")


def valid_fixtures():
    v = {}

    # ---- line ends: the same message with CRLF and with bare LF ----------
    def simple(eol):
        att = b"The quick brown fox jumps over the lazy dog.\r\n" * 3
        return msg(envelope(1, "Same message, two line ends", [
            'Content-Type: multipart/mixed; boundary="simple-boundary"',
        ]) + [
            "",
            "--simple-boundary",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
            "",
            "Hello Bob,",
            "",
            "this line has UTF-8: Grüße.",
            "-- ",
            "Alice",
            "--simple-boundary",
            "Content-Type: application/octet-stream",
            'Content-Disposition: attachment; filename="fox.txt"',
            "Content-Transfer-Encoding: base64",
            "",
        ] + b64_lines(att) + [
            "--simple-boundary--",
        ], eol=eol)

    v["01-simple-crlf.eml"] = simple(CRLF)
    v["02-simple-lf.eml"] = simple(LF)

    # ---- header folding, repeated headers, odd case ----------------------
    v["03-folded-repeated-oddcase-headers.eml"] = msg([
        "Received: from mx1.example.org (mx1.example.org [192.0.2.1])\r\n"
        "\tby mx2.example.net (Postfix) with ESMTPS id 4T0abc;\r\n"
        "\tMon, 01 Jan 2024 10:00:02 +0000",
        "Received: from client.example.org ([198.51.100.7])\r\n"
        "        by mx1.example.org with ESMTP; Mon, 01 Jan 2024 10:00:01 +0000",
        "X-Trace: first trace value",
        "X-Trace: second trace value",
        "From: Alice Example\r\n <alice@example.org>",
        "To: Bob Example <bob@example.net>,\r\n\tCarol Example <carol@example.net>",
        "Subject: This subject is folded\r\n across three\r\n\tlines, with a tab",
        "Date: Mon, 01 Jan 2024 10:00:03 +0000",
        "Message-ID: <fixture-03@example.org>",
        "mime-VERSION: 1.0",
        "cOnTeNt-TyPe: TEXT/Plain; ChArSeT=US-ASCII",
        "content-TRANSFER-encoding: 7BIT",
        "",
        "Body of a message whose headers are folded, repeated and oddly cased.",
    ])

    # ---- RFC 2047 encoded words in Subject --------------------------------
    enc = base64.b64encode("Grüße aus Köln ✓".encode("utf-8")).decode("ascii")
    v["04-subject-b-utf8.eml"] = msg(envelope(4, "=?UTF-8?B?%s?=" % enc, [
        "Content-Type: text/plain; charset=us-ascii",
    ]) + ["", "Subject is a single B-encoded word in UTF-8."])

    v["05-subject-q-latin1.eml"] = msg(envelope(5, "=?ISO-8859-1?Q?Caf=E9_cr=E8me_br=FBl=E9e?=", [
        "Content-Type: text/plain; charset=us-ascii",
    ]) + ["", "Subject is a Q-encoded word in ISO-8859-1 using _ for space."])

    # Whitespace (including a fold) between adjacent encoded words is dropped.
    v["06-subject-adjacent-words.eml"] = msg(envelope(
        6, "=?UTF-8?Q?Hello_?= =?UTF-8?Q?W=C3=B6rld?=\r\n =?ISO-8859-1?Q?_caf=E9?=\t=?UTF-8?B?IOKckw==?=", [
            "Content-Type: text/plain; charset=us-ascii",
        ]) + ["", "Four adjacent encoded words; the whitespace between them is not part of the text."])

    v["07-subject-mixed-plain.eml"] = msg(envelope(
        7, "Re: =?UTF-8?B?w6l0w6k=?= report for =?ISO-8859-1?Q?M=FCnchen?= office", [
            "Content-Type: text/plain; charset=us-ascii",
        ]) + ["", "Encoded words next to plain text; the spaces between them are kept."])

    v["08-subject-lowercase-q.eml"] = msg(envelope(8, "=?utf-8?q?caf=C3=A9_au_lait?=", [
        "Content-Type: text/plain; charset=us-ascii",
    ]) + ["", "Charset and encoding letters in lower case."])

    v["09-subject-windows-1252-euro.eml"] = msg(envelope(9, "Price: =?windows-1252?Q?=80?= 100", [
        "Content-Type: text/plain; charset=us-ascii",
    ]) + ["", "0x80 in windows-1252 is the euro sign."])

    # ---- RFC 2231 parameters ---------------------------------------------
    v["10-rfc2231-utf8-filename.eml"] = msg(envelope(10, "RFC 2231 filename", [
        'Content-Type: multipart/mixed; boundary="rfc2231"',
    ]) + [
        "",
        "--rfc2231",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "See the attached rates.",
        "--rfc2231",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Disposition: attachment; filename*=UTF-8''%E2%82%AC%20rates.txt",
        "Content-Transfer-Encoding: base64",
        "",
    ] + b64_lines("EUR 1.00 = USD 1.09\n€ is the euro sign\n".encode("utf-8")) + [
        "--rfc2231--",
    ])

    v["11-rfc2231-continuations.eml"] = msg(envelope(11, "RFC 2231 continuations and languages", [
        'Content-Type: multipart/mixed; boundary="cont"',
    ]) + [
        "",
        "--cont",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Disposition: attachment;\r\n"
        " filename*0*=UTF-8''%E2%82%AC%20;\r\n"
        " filename*1*=rates%202024;\r\n"
        ' filename*2=".txt"',
        "",
        "extended continuations, then a plain one",
        "--cont",
        "Content-Type: text/plain; charset=us-ascii",
        'Content-Disposition: attachment; filename*0="a"; filename*1="b.txt"',
        "",
        "plain quoted continuations",
        "--cont",
        # The RFC 2231 section 5 example, verbatim, plus the same value as filename.
        "Content-Type: application/x-stuff;\r\n"
        "    title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A",
        "Content-Disposition: attachment;\r\n"
        "    filename*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A",
        "",
        "charset and language tag",
        "--cont",
        # The RFC 2231 section 6 example (continuations + charset + language).
        "Content-Type: application/x-stuff",
        "Content-Disposition: attachment;\r\n"
        "    filename*0*=us-ascii'en'This%20is%20even%20more%20;\r\n"
        "    filename*1*=%2A%2A%2Afun%2A%2A%2A%20;\r\n"
        '    filename*2="isn\'t it!"',
        "",
        "mixed extended and quoted continuations",
        "--cont",
        # No Content-Disposition: the name comes from Content-Type's name parameter.
        "Content-Type: application/octet-stream; name*=iso-8859-1''r%E9sum%E9.pdf",
        "Content-Transfer-Encoding: base64",
        "",
    ] + b64_lines(b"%PDF-1.4 not really a pdf\n") + [
        "--cont",
        # Continuations out of order: RFC 2231 orders them by number, not position.
        "Content-Type: text/plain; charset=us-ascii",
        'Content-Disposition: attachment; filename*1="world.txt"; filename*0="hello-"',
        "",
        "segments given out of order",
        "--cont--",
    ])

    # ---- quoted parameter values, whitespace, comments -------------------
    v["12-quoted-params-whitespace.eml"] = msg(envelope(12, "Quoted parameter values", [
        'Content-Type: multipart/mixed;\r\n\tboundary="quoted=params?yes"',
    ]) + [
        "",
        '--quoted=params?yes',
        'Content-Type: text/plain; charset="utf-8"; name="a\\"b;c.txt"',
        'Content-Disposition: attachment; filename="a\\"b;c.txt"',
        "",
        "The file name contains a double quote and a semicolon.",
        '--quoted=params?yes',
        "Content-Type:   text/plain  ;   charset = \"iso-8859-1\"  ;  format = flowed",
        "Content-Disposition:  attachment ;  filename =  \"spaced out.txt\"  ",
        "Content-Transfer-Encoding:  8bit ",
        "",
        b"Extra whitespace around ; and = in parameters. Caf\xe9.",
        '--quoted=params?yes--',
    ])

    v["13-content-type-comments.eml"] = msg(envelope(13, "Comments in structured headers", [
        'Content-Type: multipart/mixed; boundary="cmt"',
    ]) + [
        "",
        "--cmt",
        "Content-Type: text/plain (plain text); charset=us-ascii (ascii)",
        "",
        "RFC 2045: comments may appear wherever whitespace may; this is text/plain, us-ascii.",
        "--cmt",
        'Content-Type: text/plain; (the charset follows) charset="utf-8"',
        "Content-Transfer-Encoding: 8bit",
        "",
        "Comment before the parameter: charset is utf-8. Grüße.",
        "--cmt",
        "Content-Type: application/octet-stream",
        'Content-Disposition: attachment; filename="report.txt" (a quoted name)',
        "Content-Transfer-Encoding: 7bit (seven bit)",
        "",
        "Comment after the filename: the name is report.txt, the encoding 7bit.",
        "--cmt--",
    ])

    # ---- multipart structure ---------------------------------------------
    v["14-preamble-epilogue.eml"] = msg(envelope(14, "Preamble and epilogue", [
        'Content-Type: multipart/mixed; boundary="pe"',
    ]) + [
        "",
        "This is the preamble. It is to be ignored, though it",
        "is a handy place for mail composers to include an",
        "explanatory note to non-MIME conformant readers.",
        "",
        "--pe",
        "",
        "This is implicitly typed plain US-ASCII text.",
        "It does NOT end with a linebreak.",
        "--pe",
        "Content-type: text/plain; charset=us-ascii",
        "",
        "This is explicitly typed plain US-ASCII text.",
        "It DOES end with a linebreak.",
        "",
        "--pe--",
        "",
        "This is the epilogue. It is also to be ignored.",
    ])

    v["15-alternative-in-mixed.eml"] = msg(envelope(15, "Alternative inside mixed", [
        'Content-Type: multipart/mixed; boundary="outer"',
    ]) + [
        "",
        "--outer",
        'Content-Type: multipart/alternative; boundary="inner"',
        "",
        "--inner",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: quoted-printable",
        "",
        "Caf=C3=A9 menu attached.",
        "--inner",
        "Content-Type: text/html; charset=utf-8",
        "Content-Transfer-Encoding: quoted-printable",
        "",
        "<p>Caf=C3=A9 menu <b>attached</b>.</p>",
        "--inner--",
        "",
        "--outer",
        "Content-Type: application/pdf; name=menu.pdf",
        "Content-Disposition: attachment; filename=menu.pdf",
        "Content-Transfer-Encoding: base64",
        "",
    ] + b64_lines(pseudo_random(200, "menu.pdf")) + [
        "--outer--",
    ])

    v["16-multipart-signed.eml"] = msg(envelope(16, "Signed message", [
        'Content-Type: multipart/signed; protocol="application/pkcs7-signature";\r\n'
        ' micalg=sha-256; boundary="----=_signed_16"',
    ]) + [
        "",
        "This is an S/MIME signed message",
        "",
        "------=_signed_16",
        "Content-Type: text/plain; charset=us-ascii",
        "Content-Transfer-Encoding: 7bit",
        "",
        "This text is covered by the signature.",
        "------=_signed_16",
        'Content-Type: application/pkcs7-signature; name="smime.p7s"',
        "Content-Transfer-Encoding: base64",
        'Content-Disposition: attachment; filename="smime.p7s"',
        "Content-Description: S/MIME Cryptographic Signature",
        "",
    ] + b64_lines(pseudo_random(256, "signature 16"), 64) + [
        "",
        "------=_signed_16--",
        "",
    ])

    v["17-message-rfc822.eml"] = msg(envelope(17, "Fwd: the original", [
        'Content-Type: multipart/mixed; boundary="fwd"',
    ]) + [
        "",
        "--fwd",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "Forwarding the message below.",
        "--fwd",
        "Content-Type: message/rfc822",
        'Content-Disposition: attachment; filename="original.eml"',
        "",
        "From: Carol Example <carol@example.net>",
        "To: Alice Example <alice@example.org>",
        "Subject: the original",
        "Date: Sun, 31 Dec 2023 23:59:59 +0000",
        "MIME-Version: 1.0",
        'Content-Type: multipart/alternative; boundary="orig"',
        "",
        "--orig",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "Inner plain text; the inner multipart must not count towards depth.",
        "--orig",
        "Content-Type: text/html; charset=us-ascii",
        "",
        "<p>Inner HTML</p>",
        "--orig--",
        "Epilogue of the inner message.",
        "--fwd--",
    ])

    v["18-boundary-lookalikes.eml"] = msg(envelope(18, "Lines that look like boundaries", [
        "Content-Type: multipart/mixed; boundary=BOUNDARY",
    ]) + [
        "",
        "--BOUNDARY",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "None of the next lines is a delimiter:",
        " --BOUNDARY",
        "--BOUNDAR",
        "x--BOUNDARY",
        "-BOUNDARY",
        "BOUNDARY",
        "\t--BOUNDARY--",
        "End of the first part.",
        "--BOUNDARY",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "Second part.",
        "--BOUNDARY--",
    ])

    v["19-boundary-trailing-whitespace.eml"] = msg(envelope(19, "Delimiters with trailing whitespace", [
        'Content-Type: multipart/mixed; boundary="ws"',
    ]) + [
        "",
        "--ws  ",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "First part; its delimiter line ended in two spaces.",
        "--ws\t",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "Second part; its delimiter line ended in a tab.",
        "--ws-- \t ",
        "",
    ])

    v["20-missing-final-boundary.eml"] = msg(envelope(20, "No close delimiter", [
        'Content-Type: multipart/mixed; boundary="nofinal"',
    ]) + [
        "",
        "--nofinal",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "First part.",
        "--nofinal",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "Last part runs to the end of the file; there is no --nofinal-- line.",
    ])

    # ---- transfer encodings ----------------------------------------------
    payload = pseudo_random(1000, "base64 payload")
    v["21-base64-wrapped-76.eml"] = msg(envelope(21, "base64 wrapped at 76", [
        "Content-Type: application/octet-stream",
        'Content-Disposition: attachment; filename="random.bin"',
        "Content-Transfer-Encoding: base64",
    ]) + [""] + b64_lines(payload, 76))

    v["22-base64-single-line.eml"] = msg(envelope(22, "base64 without line breaks", [
        'Content-Type: multipart/mixed; boundary="oneline"',
    ]) + [
        "",
        "--oneline",
        "Content-Type: application/octet-stream",
        "Content-Transfer-Encoding: BASE64",
        "",
        base64.b64encode(payload).decode("ascii"),
        "--oneline",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: base64",
        "",
        base64.b64encode(LATIN.encode("utf-8")).decode("ascii"),
        "--oneline--",
    ])

    v["23-base64-trailing-whitespace.eml"] = msg(envelope(23, "base64 lines with trailing whitespace", [
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: base64",
    ]) + [""] + [line + ("  " if i % 2 == 0 else " \t") for i, line in
                 enumerate(b64_lines((LATIN + "\n") .encode("utf-8") * 4, 76))])

    v["24-quoted-printable.eml"] = msg(envelope(24, "quoted-printable", [
        'Content-Type: multipart/mixed; boundary="qp"',
    ]) + [
        "",
        "--qp",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: quoted-printable",
        "",
        "Caf=C3=A9 cr=C3=A8me: a soft line break joins this line =",
        "with this one. An equals sign: 1 + 1 =3D 2.",
        "Trailing spaces follow this line   ",
        "and a trailing tab this one\t",
        "Encoded trailing space=20",
        "A very long line that has been broken with soft line breaks so that no enco=",
        "ded line is longer than seventy-six characters, as RFC 2045 requires.",
        "--qp",
        "Content-Type: application/octet-stream",
        "Content-Transfer-Encoding: Quoted-Printable",
        "",
        "=00=01=02=FF=FE binary bytes=0D=0Aafter an encoded CRLF=",
        "--qp--",
    ])

    v["25-7bit-and-8bit.eml"] = msg(envelope(25, "7bit and 8bit parts", [
        'Content-Type: multipart/mixed; boundary="78"',
    ]) + [
        "",
        "--78",
        "Content-Type: text/plain; charset=us-ascii",
        "Content-Transfer-Encoding: 7bit",
        "",
        "Plain seven-bit ASCII text.",
        "--78",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
        LATIN,
        "日本語のテキスト",
        "--78--",
    ])

    blob = (b"\x00\x01\x02binary\x00\xff\xfe\r\n--not-the-boundary\n\x00" +
            pseudo_random(512, "binary part") + b"\rlone CR\x00end")
    v["26-binary-octet-stream.eml"] = msg(envelope(26, "binary part with NUL bytes", [
        'Content-Type: multipart/mixed; boundary="=_bin_26"',
    ]) + [
        "",
        "--=_bin_26",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "A binary attachment follows.",
        "--=_bin_26",
        "Content-Type: application/octet-stream",
        'Content-Disposition: attachment; filename="blob.bin"',
        "Content-Transfer-Encoding: binary",
        "",
        blob,
        "--=_bin_26--",
    ])

    # ---- charsets --------------------------------------------------------
    v["27-charset-iso-8859-1.eml"] = msg(envelope(27, "ISO-8859-1 body", [
        "Content-Type: text/plain; charset=iso-8859-1",
        "Content-Transfer-Encoding: 8bit",
    ]) + ["", b"Caf\xe9 cr\xe8me br\xfbl\xe9e, na\xefve fa\xe7ade."])

    v["28-charset-windows-1252.eml"] = msg(envelope(28, "windows-1252 body", [
        'Content-Type: text/plain; charset="windows-1252"',
        "Content-Transfer-Encoding: 8bit",
    ]) + ["", b"\x93Quoted\x94 price: \x80100 \x96 that\x92s all."])

    v["29-charset-us-ascii-and-none.eml"] = msg(envelope(29, "us-ascii, no charset, no Content-Type", [
        'Content-Type: multipart/mixed; boundary="cs"',
    ]) + [
        "",
        "--cs",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "Declared us-ascii.",
        "--cs",
        "Content-Type: text/plain",
        "",
        "text/plain without a charset parameter (RFC 2045: us-ascii).",
        "--cs",
        "Content-Disposition: inline",
        "",
        "No Content-Type at all: text/plain; charset=us-ascii by default.",
        "--cs",
        "Content-Type: TEXT/PLAIN; CHARSET=UTF-8",
        "",
        "Upper-case type and charset.",
        "--cs--",
    ])

    v["30-digest-default-type.eml"] = msg(envelope(30, "Digest", [
        'Content-Type: multipart/digest; boundary="dig"',
    ]) + [
        "",
        "--dig",
        "",
        "From: one@example.org",
        "Subject: first digest entry",
        "",
        "Entry one has no Content-Type of its own: message/rfc822.",
        "--dig",
        "",
        "From: two@example.org",
        "Subject: second digest entry",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "Entry two.",
        "--dig",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "An explicit text/plain part inside a digest.",
        "--dig--",
    ])

    # ---- Bridgehead replication messages ---------------------------------
    def bridgehead(n, seq, kind, ldif_lines, eol, ldif_base64):
        ldif = "\r\n".join(ldif_lines) + "\r\n"
        if ldif_base64:
            body = ["Content-Transfer-Encoding: base64", ""] + b64_lines(ldif.encode("utf-8"))
        else:
            body = ["Content-Transfer-Encoding: 7bit", ""] + ldif_lines
        bnd = "----bridgehead-site-a-%d" % seq
        return msg([
            "From: Bridgehead site-a <replication@site-a.example.org>",
            "To: replication@site-b.example.org",
            "Subject: Bridgehead %s site-a #%d" % (kind, seq),
            "Date: Mon, 01 Jan 2024 12:00:%02d +0000" % n,
            "Message-ID: <bridgehead-site-a-%d@site-a.example.org>" % seq,
            "MIME-Version: 1.0",
            'Content-Type: multipart/signed; protocol="application/pkcs7-signature";\r\n'
            '\tmicalg=sha-256; boundary="%s"' % bnd,
            "",
            "This is an S/MIME signed message",
            "",
            "--" + bnd,
            "Content-Type: application/ldif; charset=utf-8",
            "Bridgehead-Format: 1",
            "Bridgehead-Source: site-a",
            "Bridgehead-Sequence: %d" % seq,
            "Bridgehead-Kind: %s" % kind,
        ] + body + [
            "--" + bnd,
            'Content-Type: application/pkcs7-signature; name="smime.p7s"',
            "Content-Transfer-Encoding: base64",
            'Content-Disposition: attachment; filename="smime.p7s"',
            "",
        ] + b64_lines(SIGNATURE, 64) + [
            "",
            "--" + bnd + "--",
            "",
        ], eol=eol)

    v["31-bridgehead-replication.eml"] = bridgehead(31, 42, "delta", LDIF_DELTA, CRLF, False)
    v["32-bridgehead-replication-base64.eml"] = bridgehead(32, 43, "delta", LDIF_DELTA, CRLF, True)

    # ---- more structure --------------------------------------------------
    v["33-nested-depth-3.eml"] = msg(envelope(33, "Three levels of multipart", [
        'Content-Type: multipart/mixed; boundary="L1"',
    ]) + [
        "",
        "--L1",
        'Content-Type: multipart/alternative; boundary="L2"',
        "",
        "--L2",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "plain alternative",
        "--L2",
        'Content-Type: multipart/related; boundary="L3"; type="text/html"',
        "",
        "--L3",
        "Content-Type: text/html; charset=us-ascii",
        "",
        '<p><img src="cid:dot@example.org"></p>',
        "--L3",
        "Content-Type: image/gif",
        "Content-ID: <dot@example.org>",
        "Content-Transfer-Encoding: base64",
        "",
        "R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7",
        "--L3--",
        "--L2--",
        "--L1",
        "Content-Type: text/plain; charset=us-ascii",
        'Content-Disposition: attachment; filename="notes.txt"',
        "",
        "attachment at level one",
        "--L1--",
    ])

    v["34-empty-parts.eml"] = msg(envelope(34, "Empty body parts", [
        'Content-Type: multipart/mixed; boundary="e"',
    ]) + [
        "",
        "--e",
        "",
        "--e",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "--e",
        "Content-Type: application/octet-stream",
        "Content-Transfer-Encoding: base64",
        "",
        "",
        "--e--",
    ])

    v["35-header-whitespace.eml"] = msg([
        "From:alice@example.org",
        "To:\tbob@example.net",
        "Subject:    leading spaces after the colon",
        "X-Empty:",
        "X-Empty-Folded:\r\n value on a continuation line",
        "Date: Mon, 01 Jan 2024 10:00:35 +0000",
        "MIME-Version: 1.0",
        "Content-Type:text/plain;charset=us-ascii",
        "X-Long: " + " ".join("word%03d" % i for i in range(110)),
        "",
        "Headers with no space after the colon, an empty value, and a long (but < 998) line.",
    ])

    v["36-oddcase-multipart.eml"] = msg(envelope(36, "Upper-case multipart type", [
        'cOnTeNt-TyPe: MULTIPART/Mixed; BOUNDARY="CaseSensitive"',
    ]) + [
        "",
        "--CaseSensitive",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "Boundaries are case-sensitive; the next two lines are not delimiters.",
        "--casesensitive",
        "--CASESENSITIVE--",
        "--CaseSensitive",
        "CONTENT-TYPE: Text/HTML; Charset=UTF-8",
        "CONTENT-TRANSFER-ENCODING: Quoted-Printable",
        "",
        "<p>Gr=C3=BC=C3=9Fe</p>",
        "--CaseSensitive--",
    ])

    v["37-quoted-printable-lf.eml"] = msg(envelope(37, "=?UTF-8?Q?quoted-printable_with_bare_LF_=E2=80=94_soft_breaks?=", [
        "Content-Type: text/plain; charset=iso-8859-1",
        "Content-Transfer-Encoding: quoted-printable",
    ]) + [
        "",
        "Soft line break at the end of this line=",
        " continues here. Caf=E9 =3D coffee.",
        "Line ending in an encoded space=20",
        "Last line=",
    ], eol=LF)

    v["38-single-part-base64-text.eml"] = msg(envelope(38, "Single-part base64 text", [
        "Content-Type: text/plain; charset=utf-8; format=flowed",
        "Content-Transfer-Encoding: base64",
    ]) + [""] + b64_lines(("\r\n".join([LATIN] * 5) + "\r\n").encode("utf-8")))

    # Whitespace around a structured value is not significant (RFC 2045 / 822
    # lexical rules), so this is base64 and quoted-printable.
    v["39-cte-surrounding-whitespace.eml"] = msg(envelope(39, "Transfer encoding with trailing whitespace", [
        'Content-Type: multipart/mixed; boundary="cte-ws"',
    ]) + [
        "",
        "--cte-ws",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: base64 ",
        "",
    ] + b64_lines(LATIN.encode("utf-8")) + [
        "--cte-ws",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding:\tquoted-printable\t",
        "",
        "Caf=C3=A9",
        "--cte-ws--",
    ])

    return v


# ---------------------------------------------------------------------------
# malformed / hostile inputs: (file, kind, what, bytes)
# ---------------------------------------------------------------------------

def mal_head(n, extra=()):
    return [
        "From: Mallory <mallory@example.com>",
        "To: Bob <bob@example.net>",
        "Subject: malformed %02d" % n,
        "Date: Mon, 01 Jan 2024 11:00:%02d +0000" % (n % 60),
        "MIME-Version: 1.0",
    ] + list(extra)


def deep_nesting(depth):
    # boundary of level i is its number in three base-36 digits: short, distinct,
    # and all of one length, so no boundary is a prefix of another (RFC 2046 5.1.2).
    def name(i):
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"
        return digits[i // 1296 % 36] + digits[i // 36 % 36] + digits[i % 36]
    out = [b"From: m@example.com\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"]
    for i in range(depth):
        out.append(b"Content-Type:multipart/mixed;boundary=%s\r\n\r\n--%s\r\n" % (b(name(i)), b(name(i))))
    out.append(b"\r\nbottom\r\n")
    for i in reversed(range(depth)):
        out.append(b"--%s--\r\n" % b(name(i)))
    return b"".join(out)


def malformed_fixtures():
    m = []

    def head(extra=()):
        return mal_head(len(m) + 1, extra)

    def add(kind, name, what, data):
        m.append(("%02d-%s.eml" % (len(m) + 1, name), kind, what, data))

    text = ["Content-Type: text/plain; charset=us-ascii"]

    # header
    add("header", "header-no-colon", "a header line without a colon before the blank line",
        msg(head(text) + ["This line has no colon", "", "body"]))
    add("header", "header-line-too-long", "one 70,000-byte unfolded header line (above 998 and the 64 KiB line limit)",
        msg(head(text + ["X-Long: " + "a" * 70000]) + ["", "body"]))
    add("header", "header-endless", "40,000 header fields (beyond any sane field count / header size)",
        msg(head(text) + ["X-Field-%d: v" % i for i in range(40000)] + ["", "body"]))
    add("header", "header-nul", "NUL byte inside a header value",
        msg(head(text + [b"X-Nul: before\x00after"]) + ["", "body"]))
    add("header", "header-never-ends", "header fields up to end of file; the last has no CRLF and there is no blank line",
        msg(head(text + ["X-Last: unterminated"]), final_eol=False))
    add("header", "header-leading-continuation", "the very first line is a continuation line (starts with a space)",
        msg([" continues nothing"] + head(text) + ["", "body"]))
    add("header", "header-name-8bit", "a field name containing a non-ASCII byte and a control character",
        msg(head(text + [b"X-Bad\xe9Na\x01me: value"]) + ["", "body"]))
    add("header", "header-empty-name", "a field with an empty name (line starts with a colon)",
        msg(head(text + [": value with no name"]) + ["", "body"]))
    add("header", "header-bare-cr", "a bare CR (no LF) inside a header value",
        msg(head(text + [b"X-CR: first\rsecond"]) + ["", "body"]))
    add("header", "header-space-in-name", "a field name containing a space",
        msg(head(text + ["X Spaced Name: value"]) + ["", "body"]))

    # boundary
    add("boundary", "multipart-no-boundary", "multipart/mixed without a boundary parameter",
        msg(head(["Content-Type: multipart/mixed"]) + [
            "", "--x", "Content-Type: text/plain", "", "part", "--x--"]))
    add("boundary", "boundary-never-appears", "boundary declared but no delimiter line anywhere",
        msg(head(['Content-Type: multipart/mixed; boundary="declared"']) + [
            "", "--other", "Content-Type: text/plain", "", "part", "--other--"]))
    long_b = "b" * 100
    add("boundary", "boundary-too-long", "boundary of 100 characters (RFC 2046 allows at most 70)",
        msg(head(['Content-Type: multipart/mixed; boundary="%s"' % long_b]) + [
            "", "--" + long_b, "Content-Type: text/plain", "", "part", "--" + long_b + "--"]))
    add("boundary", "nested-reuses-boundary", "a nested multipart uses its parent's boundary",
        msg(head(['Content-Type: multipart/mixed; boundary="same"']) + [
            "", "--same", 'Content-Type: multipart/alternative; boundary="same"', "",
            "--same", "Content-Type: text/plain", "", "inner", "--same--",
            "--same", "Content-Type: text/plain", "", "outer", "--same--"]))
    add("boundary", "boundary-empty", 'boundary="" (RFC 2046 requires 1 to 70 characters)',
        msg(head(['Content-Type: multipart/mixed; boundary=""']) + [
            "", "--", "Content-Type: text/plain", "", "part", "----"]))
    add("boundary", "boundary-bad-chars", "boundary with characters outside bchars and a trailing space",
        msg(head(['Content-Type: multipart/mixed; boundary="bad<>{}@boundary "']) + [
            "", "--bad<>{}@boundary ", "Content-Type: text/plain", "", "part", "--bad<>{}@boundary --"]))
    add("boundary", "only-close-delimiter", "a close delimiter but no opening delimiter",
        msg(head(['Content-Type: multipart/mixed; boundary="c"']) + [
            "", "no parts here", "--c--"]))
    add("boundary", "multipart-no-body", "multipart header, blank line, then end of file",
        msg(head(['Content-Type: multipart/mixed; boundary="nothing"']) + [""]))

    # encoding
    add("encoding", "base64-invalid-chars", "invalid characters (*, !, ~, %) in a base64 body",
        msg(head(["Content-Type: application/octet-stream", "Content-Transfer-Encoding: base64"]) + [
            "", "SGVsbG8*gd29y!bGQ~IQ%%"]))
    add("encoding", "base64-truncated", "base64 body whose length is not a multiple of 4 (no padding)",
        msg(head(["Content-Type: application/octet-stream", "Content-Transfer-Encoding: base64"]) + [
            "", "SGVsbG8gd29ybGQhI"]))
    add("encoding", "base64-data-after-padding", "base64 with data after the = padding",
        msg(head(["Content-Type: application/octet-stream", "Content-Transfer-Encoding: base64"]) + [
            "", "SGk=SGVsbG8=", "d29ybGQ="]))
    add("encoding", "qp-bad-escape", "quoted-printable with =ZZ (not hex)",
        msg(head(text + ["Content-Transfer-Encoding: quoted-printable"]) + [
            "", "bad escape =ZZ here", "and =4 at the end of a line=4"]))
    add("encoding", "qp-truncated-escape", "quoted-printable ending in '=4' at end of body",
        msg(head(text + ["Content-Transfer-Encoding: quoted-printable"]) + [
            "", "ends in a half escape =4"], final_eol=False))
    add("encoding", "cte-x-uuencode", "unknown Content-Transfer-Encoding x-uuencode",
        msg(head(["Content-Type: application/octet-stream", "Content-Transfer-Encoding: x-uuencode"]) + [
            "", "begin 644 hello.txt", "%2&5L;&\\`", "`", "end"]))
    add("encoding", "cte-garbage", "Content-Transfer-Encoding value that is not a token",
        msg(head(text + ["Content-Transfer-Encoding: base64 quoted-printable"]) + ["", "body"]))
    add("encoding", "cte-base64-on-multipart", "base64 on a multipart entity (RFC 2045 6.4: only 7bit, 8bit, binary)",
        msg(head(['Content-Type: multipart/mixed; boundary="m"', "Content-Transfer-Encoding: base64"]) + [
            "", "--m", "Content-Type: text/plain", "", "part", "--m--"]))

    # charset
    add("charset", "charset-unknown", "text part declaring charset=x-no-such-charset",
        msg(head(["Content-Type: text/plain; charset=x-no-such-charset"]) + ["", "body"]))
    add("charset", "utf8-invalid-bytes", "UTF-8 declared; body has C3 28, FF, overlong C0 AF, surrogate ED A0 80, truncated E2 82",
        msg(head(["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]) + [
            "", b"bad: \xc3\x28 \xff \xc0\xaf \xed\xa0\x80 end \xe2\x82"]))
    add("charset", "utf8-invalid-in-qp", "UTF-8 declared; quoted-printable decodes to invalid UTF-8 (=C3=28)",
        msg(head(["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable"]) + [
            "", "bad: =C3=28 and =FF"]))
    add("charset", "utf8-invalid-in-base64", "UTF-8 declared; base64 decodes to invalid UTF-8",
        msg(head(["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: base64"]) + [
            "", base64.b64encode(b"bad: \xc3\x28 \xfe\xff").decode("ascii")]))
    add("charset", "us-ascii-with-8bit", "charset=us-ascii but the 8bit body has byte E9",
        msg(head(["Content-Type: text/plain; charset=us-ascii", "Content-Transfer-Encoding: 8bit"]) + [
            "", b"Caf\xe9"]))
    add("charset", "encoded-word-unknown-charset", "Subject encoded word in charset x-no-such-charset",
        msg(["From: m@example.com", "Subject: =?x-no-such-charset?Q?abc?=", "MIME-Version: 1.0"] + text + ["", "body"]))

    # limit
    add("limit", "nesting-10000", "10,000 nested multipart/mixed levels",
        deep_nesting(10000))
    add("limit", "parts-20000", "20,000 parts in one multipart/mixed",
        msg(head(["Content-Type: multipart/mixed; boundary=p"]) + [""] +
            ["--p\r\n\r\nx"] * 20000 + ["--p--"]))
    add("limit", "header-2mb", "a single header field of 2 MiB, folded into 76-byte lines",
        msg(head(text) + ["X-Huge: " + "\r\n ".join(["a" * 73] * (2 * 1024 * 1024 // 76))] + ["", "body"]))
    add("limit", "line-300000", "a 300,000-byte body line with no line break in a 7bit text part",
        msg(head(text + ["Content-Transfer-Encoding: 7bit"]) + ["", "x" * 300000], final_eol=False))

    # structure
    add("structure", "empty-file", "zero bytes", b"")
    add("structure", "headers-then-binary-junk", "header fields, no blank line, then binary junk",
        b"From: m@example.com\r\nSubject: junk\r\n" + pseudo_random(400, "junk").replace(b"\n", b"\x00"))
    add("structure", "only-boundary-line", "the whole message is a boundary line",
        b"--BOUNDARY\r\n")
    add("structure", "nul-in-7bit-body", "NUL bytes in the body of a 7bit text part",
        msg(head(text + ["Content-Transfer-Encoding: 7bit"]) + ["", b"before\x00\x00after", b"\x00"]))
    add("structure", "binary-junk-only", "binary junk with no header section at all",
        pseudo_random(1024, "only junk"))
    return m


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main():
    for d in (VALID, MALFORMED):
        os.makedirs(d, exist_ok=True)
        for name in os.listdir(d):
            if name.endswith(".eml"):
                os.remove(os.path.join(d, name))

    for name, data in sorted(valid_fixtures().items()):
        write(os.path.join(VALID, name), data)

    rows = ["file\tkind\twhat"]
    total = 0
    for name, kind, what, data in malformed_fixtures():
        assert len(data) < 3 * 1024 * 1024, name
        assert "\t" not in what and "\n" not in what
        total += len(data)
        write(os.path.join(MALFORMED, name), data)
        rows.append("%s\t%s\t%s" % (name, kind, what))
    assert total < 10 * 1024 * 1024, total
    with open(os.path.join(MALFORMED, "expected.tsv"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(rows) + "\n")
    print("wrote %d valid and %d malformed fixtures (%d malformed bytes)"
          % (len(valid_fixtures()), len(rows) - 1, total), file=sys.stderr)


if __name__ == "__main__":
    main()
