#!/usr/bin/env python3
"""Regenerate the e-mail test corpus of the omniroute e-mail channel.

    python3 make_corpus.py            write the .eml files and MANIFEST.json
    python3 make_corpus.py --check    regenerate in memory, compare byte for byte
                                      with the files in this directory

Every message is written with CRLF line endings.  Binary content (PDF, PNG,
DOCX, TNEF, ...) is built here without compression (stored deflate blocks,
stored zip members) so the output does not depend on the zlib version; the
manifest sizes are the lengths of the very bytes that are base64-encoded.

The py_msg_*.eml files are copies (LF converted to CRLF, nothing else
changed) of messages from CPython's Lib/test/test_email/data (PSF licence,
see README.md).  They are re-imported when that directory is found (or given
with --cpython-data DIR) and the source files have the expected SHA-256;
otherwise the committed copies are kept as they are.  Their manifest entries
are written from the facts below either way.
"""
import argparse
import base64
import glob
import hashlib
import json
import os
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------------------
# omniroute's outgoing Message-IDs (omr.<thread>.<message>@<domain>)

OMR_A = "<omr.t_0123456789ab.m_01m8aaaaaaaaaaaaaaaaaaaaaa@mail.example.com>"
OMR_B = "<omr.t_0123456789ab.m_01m8bbbbbbbbbbbbbbbbbbbb@mail.example.com>"
OMR_Y = "<omr.t_0123456789ab.m_01m8yyyyyyyyyyyyyyyyyyyy@mail.example.com>"
OMR_Z = "<omr.t_0123456789ab.m_01m8zzzzzzzzzzzzzzzzzzzz@mail.example.com>"
OMR_G = "<omr.t_4d5e6f708192.m_01m8gggggggggggggggggggg@mail.example.com>"
OMR_K = "<omr.t_89abcdef0123.m_01m8kkkkkkkkkkkkkkkkkkkk@mail.example.com>"
OMR_P = "<omr.t_5a6b7c8d9e0f.m_01m8pppppppppppppppppppp@mail.example.com>"
OMR_Q1 = "<omr.t_fedcba987654.m_01m8qqqqqqqqqqqqqqqqqqqq@mail.example.com>"
OMR_Q2 = "<omr.t_fedcba987654.m_01m8rrrrrrrrrrrrrrrrrrrr@mail.example.com>"

# ---------------------------------------------------------------------------
# encoding helpers


def crlf(text, charset="ascii"):
    """text with \\n line ends -> bytes with CRLF line ends."""
    assert "\r" not in text
    return text.replace("\n", "\r\n").encode(charset)


def b64(data):
    """base64 in 76-character lines, each ending in CRLF."""
    s = base64.b64encode(data).decode("ascii")
    return "".join(s[i:i + 76] + "\r\n" for i in range(0, len(s), 76)).encode("ascii")


def qp(text, charset):
    """quoted-printable (RFC 2045) of text (\\n line ends) in charset: hard
    line breaks become CRLF, long lines get soft breaks at 76 characters,
    whitespace at the end of a line is encoded."""
    out = []
    for line in text.encode(charset).split(b"\n"):
        toks = []
        for i, c in enumerate(line):
            if (33 <= c <= 126 and c != 61) or (c in (9, 32) and i != len(line) - 1):
                toks.append(chr(c))
            else:
                toks.append("=%02X" % c)
        cur = ""
        for j, t in enumerate(toks):
            last = j == len(toks) - 1
            if len(cur) + len(t) > (76 if last else 75):
                out.append(cur + "=")
                cur = ""
            cur += t
        out.append(cur)
    return "\r\n".join(out).encode("ascii")


def ew_b(text, charset="UTF-8", limit=75):
    """RFC 2047 B encoded-words, split between characters (never inside a
    multi-byte character), each at most limit characters long."""
    prefix, suffix = "=?%s?B?" % charset, "?="

    def size(s):
        return len(prefix) + 4 * ((len(s.encode(charset)) + 2) // 3) + len(suffix)

    chunks, cur = [], ""
    for ch in text:
        if cur and size(cur + ch) > limit:
            chunks.append(cur)
            cur = ch
        else:
            cur += ch
    if cur:
        chunks.append(cur)
    return [prefix + base64.b64encode(c.encode(charset)).decode("ascii") + suffix
            for c in chunks]


def ew_q(text, charset="UTF-8"):
    """one RFC 2047 Q encoded-word (for a phrase)."""
    safe = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/"
    s = "".join("_" if c == 32 else chr(c) if c in safe else "=%02X" % c
                for c in text.encode(charset))
    w = "=?%s?Q?%s?=" % (charset, s)
    assert len(w) <= 75, w
    return w


def pct(text):
    """RFC 2231 percent-encoding (UTF-8)."""
    keep = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$&+-.^_`|~"
    return "".join(chr(c) if c in keep else "%%%02X" % c for c in text.encode("utf-8"))


def message(headers, body):
    """headers: text (\\n line ends, ASCII unless raw_headers) and body bytes."""
    return crlf(headers.strip("\n")) + b"\r\n\r\n" + body


def part(headers, body):
    return crlf(headers.strip("\n")) + b"\r\n\r\n" + body


def multipart(boundary, parts, preamble=None, epilogue=None):
    out = b""
    if preamble is not None:
        out += crlf(preamble)
    for p in parts:
        out += b"--" + boundary.encode("ascii") + b"\r\n" + p + b"\r\n"
    out += b"--" + boundary.encode("ascii") + b"--\r\n"
    if epilogue is not None:
        out += crlf(epilogue)
    return out


# ---------------------------------------------------------------------------
# binary attachments, built deterministically


def make_pdf():
    """A small one-page PDF 1.4 with a correct xref table."""
    content = (b"BT /F1 18 Tf 72 770 Td (Factuur november 2026) Tj ET\n"
               b"BT /F1 11 Tf 72 740 Td (Factuurnummer 2026-1123  Bakker Interieur) Tj ET\n"
               b"BT /F1 11 Tf 72 722 Td (Totaal EUR 1.250,00 incl. btw) Tj ET\n")
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream",
        b"<< /Title (Factuur november 2026) /Producer (make_corpus.py) "
        b"/CreationDate (D:20261124091200+01'00') >>",
    ]
    out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n" % (len(objs) + 1)
    out += b"0000000000 65535 f \n"
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += (b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objs) + 1, xref))
    return out


def make_png(w=24, h=8):
    """An RGB PNG (a small two-colour logo bar), zlib with stored blocks."""
    raw = b""
    for y in range(h):
        raw += b"\x00"
        for x in range(w):
            if x < h:
                raw += b"\xe3\x6c\x0a" if (x + y) % 2 == 0 else b"\xf2\x9a\x3e"
            else:
                raw += b"\x1f\x3a\x5f" if y in (2, 3, 4, 5) else b"\xff\xff\xff"
    z = b"\x78\x01"
    for i in range(0, len(raw), 65535):
        blk = raw[i:i + 65535]
        final = 1 if i + 65535 >= len(raw) else 0
        z += struct.pack("<BHH", final, len(blk), len(blk) ^ 0xFFFF) + blk
    z += struct.pack(">I", zlib.adler32(raw) & 0xFFFFFFFF)

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", z)
            + chunk(b"IEND", b""))


def make_zip(members):
    """A zip archive of (name, bytes) with stored (uncompressed) members and
    a fixed timestamp, written by hand so it never changes."""
    dos_time = (9 << 11) | (30 << 5) | 0          # 09:30:00
    dos_date = ((2026 - 1980) << 9) | (11 << 5) | 23   # 2026-11-23
    local, central = b"", b""
    for name, data in members:
        n = name.encode("utf-8")
        crc = zlib.crc32(data) & 0xFFFFFFFF
        offset = len(local)
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, dos_time, dos_date,
                             crc, len(data), len(data), len(n), 0) + n + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, dos_time,
                               dos_date, crc, len(data), len(data), len(n), 0, 0, 0, 0,
                               0, offset) + n
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members),
                      len(central), len(local), 0)
    return local + central + end


def make_docx():
    ct = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
          b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          b'<Default Extension="xml" ContentType="application/xml"/>'
          b'<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
          b'</Types>')
    rels = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
            b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
            b'</Relationships>')
    doc = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
           '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
           '<w:body>'
           '<w:p><w:r><w:t>Offerte 2026-311 \u2013 verbouwing keuken</w:t></w:r></w:p>'
           '<w:p><w:r><w:t>Totaal \u20ac 18.450,00 inclusief btw en montage.</w:t></w:r></w:p>'
           '<w:p><w:r><w:t>Voor akkoord: P. Jansen, 23-11-2026</w:t></w:r></w:p>'
           '<w:sectPr/></w:body></w:document>').encode("utf-8")
    return make_zip([("[Content_Types].xml", ct), ("_rels/.rels", rels),
                     ("word/document.xml", doc)])


def make_tnef():
    """A winmail.dat: TNEF with message attributes and one attached file."""
    def attr(level, att, data):
        return (struct.pack("<BII", level, att, len(data)) + data
                + struct.pack("<H", sum(data) & 0xFFFF))

    inner = crlf("Prijsopgave tuinmeubelen\n"
                 "Tafel Lisse 220 cm      EUR 899,00\n"
                 "Stoel Lisse (6x)        EUR 714,00\n"
                 "Totaal                  EUR 1.613,00\n", "cp1252")
    out = struct.pack("<IH", 0x223E9F78, 0x5A1C)
    out += attr(1, 0x00089006, struct.pack("<I", 0x00010000))        # attTnefVersion
    out += attr(1, 0x00069007, struct.pack("<II", 1252, 0))          # attOemCodepage
    out += attr(1, 0x00078008, b"IPM.Microsoft Mail.Note\x00")       # attMessageClass
    out += attr(1, 0x00018004, b"Prijsopgave tuinmeubelen\x00")      # attSubject
    out += attr(1, 0x00038005, struct.pack("<7H", 2026, 11, 24, 15, 4, 37, 2))  # attDateSent
    out += attr(2, 0x00069002, struct.pack("<HIHHI", 1, 0xFFFFFFFF, 0, 0, 0))   # attAttachRenddata
    out += attr(2, 0x00018010, b"prijsopgave.txt\x00")               # attAttachTitle
    out += attr(2, 0x0006800F, inner)                                 # attAttachData
    return out


def make_csv():
    rows = ["factuurnummer;datum;debiteur;bedrag;status"]
    for i in range(12):
        rows.append("2026-%04d;2026-11-%02d;D%05d;%d,%02d;%s"
                    % (400 + i * 7, 1 + i * 2, 31000 + i * 13, 75 + i * 41, (i * 37) % 100,
                       "open" if i % 3 else "betaald"))
    return ("\r\n".join(rows) + "\r\n").encode("ascii")


PDF = make_pdf()
PNG = make_png()
DOCX = make_docx()
TNEF = make_tnef()
CSV = make_csv()

# ---------------------------------------------------------------------------
# the messages: (file name, bytes, manifest facts)

CORPUS = []


def add(name, data, facts):
    CORPUS.append((name, data, facts))


# 1. Outlook: multipart/alternative, windows-1252, quoted-printable, a reply
#    with an "-----Original Message-----" block.

o_text = """Goedemiddag,

Bedankt voor het snelle antwoord. Het bedrag van \u20ac 49,95 voor het \u201cPremium\u201d abonnement klopt nu, maar op factuur 123 staat nog steeds een regel \u2018Verzendkosten\u2019 van \u20ac 4,95 \u2013 die hoort daar niet bij, want ik heb de bestelling zelf opgehaald.

Kunt u een gecorrigeerde factuur sturen?

Met vriendelijke groet,

Jan de Vries
Contoso B.V. | Inkoop
T +31 20 123 4567

-----Original Message-----
From: Shop Support <support@example.com> 
Sent: Monday, 23 November 2026 10:01
To: Jan de Vries <Jan.deVries@contoso.nl>
Subject: Re: Uw vraag over factuur 123 [#t_0123456789ab]

Beste Jan,

We hebben het bedrag op factuur 123 aangepast naar \u20ac 49,95. U ontvangt de nieuwe factuur vandaag nog.

Met vriendelijke groet,
Alice de Vries
Shop Support

"""
o_html = """<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:w="urn:schemas-microsoft-com:office:word" xmlns:m="http://schemas.microsoft.com/office/2004/12/omml" xmlns="http://www.w3.org/TR/REC-html40">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=Windows-1252">
<meta name="Generator" content="Microsoft Word 15 (filtered medium)">
<style><!--
/* Font Definitions */
@font-face
\t{font-family:"Cambria Math";
\tpanose-1:2 4 5 3 5 4 6 3 2 4;}
@font-face
\t{font-family:Aptos;}
/* Style Definitions */
p.MsoNormal, li.MsoNormal, div.MsoNormal
\t{margin:0cm;
\tfont-size:12.0pt;
\tfont-family:"Aptos",sans-serif;
\tmso-ligatures:standardcontextual;}
span.EmailStyle19
\t{mso-style-type:personal-reply;
\tfont-family:"Aptos",sans-serif;
\tcolor:windowtext;}
.MsoChpDefault
\t{mso-style-type:export-only;
\tfont-size:10.0pt;}
@page WordSection1
\t{size:612.0pt 792.0pt;
\tmargin:72.0pt 72.0pt 72.0pt 72.0pt;}
div.WordSection1
\t{page:WordSection1;}
--></style>
</head>
<body lang="NL" link="#467886" vlink="#96607D" style="word-wrap:break-word">
<div class="WordSection1">
<p class="MsoNormal"><span lang="NL">Goedemiddag,<o:p></o:p></span></p>
<p class="MsoNormal"><span lang="NL"><o:p>&nbsp;</o:p></span></p>
<p class="MsoNormal"><span lang="NL">Bedankt voor het snelle antwoord. Het bedrag van \u20ac 49,95 voor het \u201cPremium\u201d abonnement klopt nu, maar op factuur 123 staat nog steeds een regel \u2018Verzendkosten\u2019 van \u20ac 4,95 \u2013 die hoort daar niet bij, want ik heb de bestelling zelf opgehaald.<o:p></o:p></span></p>
<p class="MsoNormal"><span lang="NL"><o:p>&nbsp;</o:p></span></p>
<p class="MsoNormal"><span lang="NL">Kunt u een gecorrigeerde factuur sturen?<o:p></o:p></span></p>
<p class="MsoNormal"><span lang="NL"><o:p>&nbsp;</o:p></span></p>
<p class="MsoNormal"><span lang="NL">Met vriendelijke groet,<o:p></o:p></span></p>
<p class="MsoNormal"><span lang="NL"><o:p>&nbsp;</o:p></span></p>
<p class="MsoNormal"><b><span lang="NL">Jan de Vries</span></b><span lang="NL"><br>
Contoso B.V. | Inkoop<br>
T +31 20 123 4567<o:p></o:p></span></p>
<p class="MsoNormal"><span lang="NL"><o:p>&nbsp;</o:p></span></p>
<div>
<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">
<p class="MsoNormal"><b><span lang="EN-US" style="font-size:11.0pt;font-family:&quot;Calibri&quot;,sans-serif">From:</span></b><span lang="EN-US" style="font-size:11.0pt;font-family:&quot;Calibri&quot;,sans-serif"> Shop Support &lt;support@example.com&gt;
<br>
<b>Sent:</b> Monday, 23 November 2026 10:01<br>
<b>To:</b> Jan de Vries &lt;Jan.deVries@contoso.nl&gt;<br>
<b>Subject:</b> Re: Uw vraag over factuur 123 [#t_0123456789ab]<o:p></o:p></span></p>
</div>
</div>
<p class="MsoNormal"><span lang="NL"><o:p>&nbsp;</o:p></span></p>
<p class="MsoNormal">Beste Jan,<o:p></o:p></p>
<p class="MsoNormal"><o:p>&nbsp;</o:p></p>
<p class="MsoNormal">We hebben het bedrag op factuur 123 aangepast naar \u20ac 49,95. U ontvangt de nieuwe factuur vandaag nog.<o:p></o:p></p>
<p class="MsoNormal"><o:p>&nbsp;</o:p></p>
<p class="MsoNormal">Met vriendelijke groet,<br>
Alice de Vries<br>
Shop Support<o:p></o:p></p>
</div>
</body>
</html>
"""
o_bnd = "_000_AM9PR01MB74125C1D5E2F3A4B5C6D7E8F9A0B1AM9PR01MB7412eurp_"
add("01_outlook_reply_cp1252_qp.eml", message(f"""
Received: from AM9PR01MB7412.eurprd01.prod.exchangelabs.com (2603:10a6:20b:3f1::14)
 by mx1.example.com with ESMTPS id 4XkW1f2QmDz9sXc
 for <support@example.com>; Mon, 23 Nov 2026 12:42:19 +0100 (CET)
From: Jan de Vries <Jan.deVries@Contoso.nl>
To: Shop Support <support@example.com>
Subject: RE: Uw vraag over factuur 123 [#t_0123456789ab]
Thread-Topic: Uw vraag over factuur 123 [#t_0123456789ab]
Thread-Index: AQHbPaXk1Yw2nJ0bQkqB1c8f6E9rL7Sx2QaA
Date: Mon, 23 Nov 2026 11:42:17 +0000
Message-ID:
 <AM9PR01MB74125C1D5E2F3A4B5C6D7E8F9A0B1@AM9PR01MB7412.eurprd01.prod.exchangelabs.com>
References: {OMR_A}
 {OMR_B}
In-Reply-To: {OMR_B}
Accept-Language: nl-NL, en-US
Content-Language: nl-NL
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
x-ms-publictraffictype: Email
x-ms-traffictypediagnostic: AM9PR01MB7412:EE_|DB9PR01MB8123:EE_
Content-Type: multipart/alternative;
\tboundary="{o_bnd}"
MIME-Version: 1.0
""", multipart(o_bnd, [
    part('Content-Type: text/plain; charset="Windows-1252"\nContent-Transfer-Encoding: quoted-printable',
         qp(o_text, "cp1252")),
    part('Content-Type: text/html; charset="Windows-1252"\nContent-Transfer-Encoding: quoted-printable',
         qp(o_html, "cp1252")),
])), {
    "from_address": "jan.devries@contoso.nl",
    "from_name": "Jan de Vries",
    "subject": "RE: Uw vraag over factuur 123 [#t_0123456789ab]",
    "message_id": "<AM9PR01MB74125C1D5E2F3A4B5C6D7E8F9A0B1@AM9PR01MB7412.eurprd01.prod.exchangelabs.com>",
    "in_reply_to": OMR_B,
    "references": [OMR_A, OMR_B],
    "text_contains": ["Bedankt voor het snelle antwoord.",
                      "\u20ac 49,95 voor het \u201cPremium\u201d abonnement",
                      "\u2018Verzendkosten\u2019 van \u20ac 4,95 \u2013 die hoort daar niet bij",
                      "Kunt u een gecorrigeerde factuur sturen?",
                      "Contoso B.V. | Inkoop"],
    "text_excludes": ["-----Original Message-----",
                      "Sent: Monday, 23 November 2026 10:01",
                      "U ontvangt de nieuwe factuur vandaag nog."],
})

# 2. Gmail: multipart/alternative, UTF-8 base64, "On ... wrote:" and "> "
#    quotes, subject in B encoded-words over two lines.

g_subject = "Re: R\u00fcckerstattung f\u00fcr Bestellung 4711 \u2013 Gr\u00f6\u00dfe passt nicht, geen ge\u00efnde retourkosten [#t_4d5e6f708192]"
g_text = """Hallo,

danke f\u00fcr die schnelle Antwort. Die R\u00fccksendung ist heute per DHL rausgegangen,
Sendungsnummer 00340434161234567890.

K\u00f6nnten Sie die Erstattung \u00fcber 89,00 \u20ac bitte auf mein Konto \u00fcberweisen? De
retourkosten zijn volgens uw site gratis, dus ik verwacht het volledige bedrag.

Viele Gr\u00fc\u00dfe
J\u00fcrgen M\u00fcller

On Mon, 23 Nov 2026 at 10:01, Shop Support <support@example.com> wrote:

> Beste J\u00fcrgen,
>
> Sie k\u00f6nnen die Schuhe innerhalb von 30 Tagen kostenlos zur\u00fccksenden. Het
> retourlabel vindt u in de bijlage.
>
> Met vriendelijke groet,
> Alice de Vries
> Shop Support
>
"""
g_html = """<div dir="ltr"><div>Hallo,</div><div><br></div><div>danke f\u00fcr die schnelle Antwort. Die R\u00fccksendung ist heute per DHL rausgegangen, Sendungsnummer 00340434161234567890.</div><div><br></div><div>K\u00f6nnten Sie die Erstattung \u00fcber 89,00 \u20ac bitte auf mein Konto \u00fcberweisen? De retourkosten zijn volgens uw site gratis, dus ik verwacht het volledige bedrag.</div><div><br></div><div>Viele Gr\u00fc\u00dfe</div><div>J\u00fcrgen M\u00fcller</div></div><br><div class="gmail_quote gmail_quote_container"><div dir="ltr" class="gmail_attr">On Mon, 23 Nov 2026 at 10:01, Shop Support &lt;<a href="mailto:support@example.com">support@example.com</a>&gt; wrote:<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">Beste J\u00fcrgen,<br><br>Sie k\u00f6nnen die Schuhe innerhalb von 30 Tagen kostenlos zur\u00fccksenden. Het retourlabel vindt u in de bijlage.<br><br>Met vriendelijke groet,<br>Alice de Vries<br>Shop Support<br></blockquote></div>
"""
g_bnd = "000000000000f3c1a2059e4b7d21"
g_from = ew_q("J\u00fcrgen M\u00fcller")
add("02_gmail_reply_utf8_base64.eml", message(f"""
MIME-Version: 1.0
References: {OMR_G}
In-Reply-To: {OMR_G}
From: {g_from} <juergen.mueller@gmail.com>
Date: Mon, 23 Nov 2026 11:15:02 +0100
X-Gm-Features: AWmQ_bkT2wq9Xr4mQ8v3ZcJ0nL5yH6sP1aE7dF2gK9uB3
Message-ID: <CAJ8mX3vQ2+Lr7kP0sFw=YtN4cB9dHq1zE6aUo5gRxW2pKm7Vjw@mail.gmail.com>
Subject: {chr(10).join(" " + w if i else w for i, w in enumerate(ew_b(g_subject)))}
To: Shop Support <support@example.com>
Content-Type: multipart/alternative; boundary="{g_bnd}"
""", multipart(g_bnd, [
    part('Content-Type: text/plain; charset="UTF-8"\nContent-Transfer-Encoding: base64',
         b64(crlf(g_text, "utf-8"))),
    part('Content-Type: text/html; charset="UTF-8"\nContent-Transfer-Encoding: base64',
         b64(crlf(g_html, "utf-8"))),
])), {
    "from_address": "juergen.mueller@gmail.com",
    "from_name": "J\u00fcrgen M\u00fcller",
    "subject": g_subject,
    "message_id": "<CAJ8mX3vQ2+Lr7kP0sFw=YtN4cB9dHq1zE6aUo5gRxW2pKm7Vjw@mail.gmail.com>",
    "in_reply_to": OMR_G,
    "references": [OMR_G],
    "text_contains": ["danke f\u00fcr die schnelle Antwort.",
                      "K\u00f6nnten Sie die Erstattung \u00fcber 89,00 \u20ac bitte",
                      "Viele Gr\u00fc\u00dfe",
                      "J\u00fcrgen M\u00fcller"],
    "text_excludes": ["Shop Support <support@example.com> wrote:",
                      "> Sie k\u00f6nnen die Schuhe",
                      "innerhalb von 30 Tagen kostenlos",
                      "retourlabel vindt u in de bijlage"],
})

# 3. Apple Mail: multipart/mixed, text/plain format=flowed (QP, trailing
#    spaces encoded), a PDF with an RFC 2231 file name (continuations in the
#    Content-Type name), and Apple's trailing near-empty text/plain part.

a_text = """Goedemorgen,

Hierbij stuur ik u de factuur van november. Het totaalbedrag is 
\u20ac 1.250,00 inclusief btw; volgens mij is de afgesproken korting 
van 10% nog niet verwerkt. Kunt u dat nakijken?

Met vriendelijke groet,

Sophie Bakker
Bakker Interieur

"""
a_bnd = "Apple-Mail=_5B3F1E0A-8C2D-4F6A-9E1B-7D0C3A2F4E5B"
a_fname = "factuur november \u20ac.pdf"
a_name1 = pct("\u20ac.pdf")
add("03_applemail_flowed_pdf_rfc2231.eml", message(f"""
From: Sophie Bakker <sophie.bakker@icloud.com>
Content-Type: multipart/mixed;
\tboundary="{a_bnd}"
Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.600.62\\))
Subject: Factuur november
Message-Id: <8E2F4C1A-3B5D-4E6F-A7B8-C9D0E1F2A3B4@icloud.com>
Date: Tue, 24 Nov 2026 09:12:44 +0100
To: support@example.com
X-Mailer: Apple Mail (2.3774.600.62)
""", multipart(a_bnd, [
    part("""
Content-Transfer-Encoding: quoted-printable
Content-Type: text/plain;
\tcharset=utf-8;
\tformat=flowed
""", qp(a_text, "utf-8")),
    part(f"""
Content-Disposition: attachment;
\tfilename*=UTF-8''{pct(a_fname)}
Content-Type: application/pdf;
\tx-unix-mode=0644;
\tname*0*=UTF-8''{pct("factuur november ")};
\tname*1*={a_name1}
Content-Transfer-Encoding: base64
""", b64(PDF)),
    part("""
Content-Transfer-Encoding: 7bit
Content-Type: text/plain;
\tcharset=us-ascii
""", b"\r\n\r\n"),
])), {
    "from_address": "sophie.bakker@icloud.com",
    "from_name": "Sophie Bakker",
    "subject": "Factuur november",
    "message_id": "<8E2F4C1A-3B5D-4E6F-A7B8-C9D0E1F2A3B4@icloud.com>",
    "text_contains": ["Hierbij stuur ik u de factuur van november.",
                      "\u20ac 1.250,00 inclusief btw",
                      "Het totaalbedrag is \u20ac 1.250,00",
                      "korting van 10% nog niet verwerkt.",
                      "Bakker Interieur"],
    "attachments": [{"name": a_fname, "type": "application/pdf", "size": len(PDF),
                     "inline": False}],
})

# 4. Outlook-style multipart/mixed > multipart/related > multipart/alternative
#    (text/plain + text/html with a cid: image) + the inline PNG, and a .docx
#    whose name is RFC 2047-encoded inside the quoted parameter (what Outlook
#    and Gmail really send).

r_cid = "image001.png@01DB5C2A.3F1E0B40"
r_text = f"""Goedemiddag,

Hierbij stuur ik de ondertekende offerte voor de verbouwing van onze keuken retour. Het totaalbedrag van \u20ac 18.450,00 inclusief btw en montage gaat akkoord.

Kunt u bevestigen dat de montage in week 2 kan beginnen?

Met vriendelijke groet,

Pieter Jansen
[cid:{r_cid}]
Jansen Bouw B.V.

"""
r_html = f"""<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<style type="text/css" style="display:none;"> P {{margin-top:0;margin-bottom:0;}} </style>
</head>
<body dir="ltr">
<div style="font-family: Aptos, Arial, Helvetica, sans-serif; font-size: 12pt; color: rgb(0, 0, 0);">
Goedemiddag,</div>
<div style="font-family: Aptos, Arial, Helvetica, sans-serif; font-size: 12pt; color: rgb(0, 0, 0);">
<br>
</div>
<div style="font-family: Aptos, Arial, Helvetica, sans-serif; font-size: 12pt; color: rgb(0, 0, 0);">
Hierbij stuur ik de ondertekende offerte voor de verbouwing van onze keuken retour. Het totaalbedrag van \u20ac 18.450,00 inclusief btw en montage gaat akkoord.</div>
<div style="font-family: Aptos, Arial, Helvetica, sans-serif; font-size: 12pt; color: rgb(0, 0, 0);">
<br>
</div>
<div style="font-family: Aptos, Arial, Helvetica, sans-serif; font-size: 12pt; color: rgb(0, 0, 0);">
Kunt u bevestigen dat de montage in week 2 kan beginnen?</div>
<div style="font-family: Aptos, Arial, Helvetica, sans-serif; font-size: 12pt; color: rgb(0, 0, 0);">
<br>
</div>
<div id="Signature">
<p>Met vriendelijke groet,<br>
<br>
Pieter Jansen<br>
<img width="72" height="24" style="width: 72px; height: 24px;" id="Picture_x0020_1" src="cid:{r_cid}" alt="Jansen Bouw"><br>
Jansen Bouw B.V.</p>
</div>
</body>
</html>
"""
r_docx = "Offerte keuken \u2013 Jansen.docx"
r_mixed, r_rel, r_alt = "_004_AS8PR01MB7431_", "_003_AS8PR01MB7431_", "_000_AS8PR01MB7431_"
add("04_related_inline_png_and_docx.eml", message(f"""
From: Pieter Jansen <p.jansen@jansenbouw.nl>
To: "support@example.com" <support@example.com>
Subject: Ondertekende offerte keuken retour
Thread-Topic: Ondertekende offerte keuken retour
Thread-Index: AQHbXCo/Hgs0Qj3l8UmWc2a0d9B7qA==
Date: Mon, 23 Nov 2026 14:02:11 +0000
Message-ID: <AS8PR01MB7431E1A2B3C4D5E6F708192A3B4C5@AS8PR01MB7431.eurprd01.prod.exchangelabs.com>
Accept-Language: nl-NL, en-US
Content-Language: nl-NL
X-MS-Has-Attach: yes
Content-Type: multipart/mixed;
\tboundary="{r_mixed}"
MIME-Version: 1.0
""", multipart(r_mixed, [
    part(f'Content-Type: multipart/related;\n\tboundary="{r_rel}";\n\ttype="multipart/alternative"',
         multipart(r_rel, [
             part(f'Content-Type: multipart/alternative;\n\tboundary="{r_alt}"',
                  multipart(r_alt, [
                      part('Content-Type: text/plain; charset="utf-8"\nContent-Transfer-Encoding: quoted-printable',
                           qp(r_text, "utf-8")),
                      part('Content-Type: text/html; charset="utf-8"\nContent-Transfer-Encoding: quoted-printable',
                           qp(r_html, "utf-8")),
                  ])),
             part(f"""
Content-Type: image/png; name="image001.png"
Content-Description: image001.png
Content-Disposition: inline; filename="image001.png"; size={len(PNG)};
\tcreation-date="Mon, 23 Nov 2026 14:02:10 GMT";
\tmodification-date="Mon, 23 Nov 2026 14:02:10 GMT"
Content-ID: <{r_cid}>
Content-Transfer-Encoding: base64
""", b64(PNG)),
         ])),
    part(f"""
Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document;
\tname="{ew_b(r_docx)[0]}"
Content-Description: {ew_b(r_docx)[0]}
Content-Disposition: attachment;
\tfilename="{ew_b(r_docx)[0]}"; size={len(DOCX)};
\tcreation-date="Mon, 23 Nov 2026 14:01:52 GMT";
\tmodification-date="Mon, 23 Nov 2026 14:01:52 GMT"
Content-Transfer-Encoding: base64
""", b64(DOCX)),
])), {
    "from_address": "p.jansen@jansenbouw.nl",
    "from_name": "Pieter Jansen",
    "subject": "Ondertekende offerte keuken retour",
    "message_id": "<AS8PR01MB7431E1A2B3C4D5E6F708192A3B4C5@AS8PR01MB7431.eurprd01.prod.exchangelabs.com>",
    "text_contains": ["Hierbij stuur ik de ondertekende offerte",
                      "\u20ac 18.450,00 inclusief btw en montage",
                      "Kunt u bevestigen dat de montage in week 2 kan beginnen?",
                      "Jansen Bouw B.V."],
    "attachments": [
        {"name": "image001.png", "type": "image/png", "size": len(PNG), "inline": True},
        {"name": r_docx,
         "type": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "size": len(DOCX), "inline": False},
    ],
})

# 5. ISO-8859-1 text/plain, quoted-printable, Q-encoded Subject and From
#    display name; the signature delimiter is "--=20" on the wire.

l_text = """Geachte heer/mevrouw,

Ik heb factuur 2026-0456 ontvangen \u00e9n betaald, maar ik krijg nog steeds een herinnering. Het bedrag van EUR 120,00 is op 12 november overgemaakt en is volgens mijn bank ook ge\u00efnd. Wilt u de herinnering intrekken? Ik wil geen extra kosten betalen voor iets wat al geregeld is.

Met vriendelijke groet,

Ren\u00e9e van den Bo\u00ebl

-- 
Ren\u00e9e van den Bo\u00ebl
Groenmarkt 12 \u00b7 2011 HL Haarlem
"""
add("05_latin1_qp_encoded_subject.eml", message("""
Return-Path: <renee.vandenboel@ziggo.nl>
Received: from smtp.ziggo.nl (smtp.ziggo.nl [198.51.100.34])
\tby mx1.example.com (Postfix) with ESMTPS id 4XkV7n0Hc5z9sWf
\tfor <support@example.com>; Tue, 24 Nov 2026 08:03:51 +0100 (CET)
Message-ID: <000801db3e2a$5c1f2e40$155d8ac0$@ziggo.nl>
From: =?ISO-8859-1?Q?Ren=E9e_van_den_Bo=EBl?= <renee.vandenboel@ziggo.nl>
To: <support@example.com>
Subject: =?ISO-8859-1?Q?Factuur_=E9n_betaling?=
Date: Tue, 24 Nov 2026 08:03:47 +0100
MIME-Version: 1.0
Content-Type: text/plain;
\tcharset="ISO-8859-1"
Content-Transfer-Encoding: quoted-printable
X-Priority: 3
X-MSMail-Priority: Normal
X-Mailer: Microsoft Outlook Express 6.00.2900.5931
""", qp(l_text, "iso-8859-1")), {
    "from_address": "renee.vandenboel@ziggo.nl",
    "from_name": "Ren\u00e9e van den Bo\u00ebl",
    "subject": "Factuur \u00e9n betaling",
    "message_id": "<000801db3e2a$5c1f2e40$155d8ac0$@ziggo.nl>",
    "text_contains": ["ontvangen \u00e9n betaald", "EUR 120,00", "volgens mijn bank ook ge\u00efnd",
                      "Ren\u00e9e van den Bo\u00ebl"],
    "text_excludes": ["Groenmarkt 12", "2011 HL Haarlem"],
})

# 6. HTML only: <style>, <script>, entities, <br>, <p>, lists, a link.

h_html = """<!DOCTYPE html>
<html lang="nl">
<head>
<meta charset="utf-8">
<title>Vraag over bestelling 58213</title>
<style type="text/css">
body { font-family: Arial, Helvetica, sans-serif; color: #333333; }
.prijs { font-weight: bold; }
</style>
<script type="text/javascript">
var tracking = "px-58213"; document.write("<p>tracking pixel geladen</p>");
</script>
</head>
<body>
<p>Hallo Tom &amp; Jerry BV,</p>
<p>Ik heb een vraag over mijn bestelling <b>#58213</b>:</p>
<ul>
<li>2&times; Goudse kaas jong &ndash; &euro; 12,50</li>
<li>1&times; Leerdammer&nbsp;plakken &ndash; &#8364; 4,25</li>
</ul>
<p>Totaal: <span class="prijs">&euro;&nbsp;29,25</span><br>
Verzonden op 20 november, maar nog niet ontvangen.</p>
<ol>
<li>Waar is het pakket?</li>
<li>Kan ik het laten ophalen bij het &quot;PostNL-punt&quot;?</li>
</ol>
<p>Track &amp; trace: <a href="https://track.example.net/3SABCD1234567">3SABCD1234567</a></p>
<script>console.log('verborgen script-tekst');</script>
<p>Groetjes,<br>Fatima</p>
</body>
</html>
"""
add("06_html_only_entities.eml", message("""
From: Fatima El Amrani <fatima.elamrani@example.net>
To: support@example.com
Subject: Vraag over bestelling 58213
Date: Tue, 24 Nov 2026 10:27:05 +0100
Message-ID: <4f1c2a9e-7b3d-4e8a-9c61-2d5f0b8e7a13@example.net>
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable
X-Mailer: Webmail 2.4
""", qp(h_html, "utf-8")), {
    "from_address": "fatima.elamrani@example.net",
    "from_name": "Fatima El Amrani",
    "subject": "Vraag over bestelling 58213",
    "message_id": "<4f1c2a9e-7b3d-4e8a-9c61-2d5f0b8e7a13@example.net>",
    "text_contains": ["Hallo Tom & Jerry BV,", "#58213", "Goudse kaas jong \u2013 \u20ac 12,50",
                      "Leerdammer plakken \u2013 \u20ac 4,25", "\u20ac 29,25",
                      "Verzonden op 20 november, maar nog niet ontvangen.",
                      "Waar is het pakket?", "\"PostNL-punt\"", "Track & trace:",
                      "3SABCD1234567", "Groetjes,", "Fatima"],
    "text_excludes": ["<p>", "<b>", "<li>", "&amp;", "&euro;", "&nbsp;", "&#8364;",
                      "font-family", "var tracking", "tracking pixel geladen",
                      "verborgen script-tekst", "document.write"],
})

# 7. A Postfix DSN: multipart/report with text/rfc822-headers.

p_bnd = "4XkT2Q0b8Tz9sWd.1795424469/mail.example.com"
p_human = """This is the mail system at host mail.example.com.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

<j.devries@example.net>: host mx1.example.net[192.0.2.25] said: 550 5.1.1
    user unknown (in reply to RCPT TO command)
"""
p_status = """Reporting-MTA: dns; mail.example.com
X-Postfix-Queue-ID: 4XkT2Q0b8Tz9sWd
X-Postfix-Sender: rfc822; support@example.com
Arrival-Date: Mon, 23 Nov 2026 10:01:07 +0100 (CET)

Final-Recipient: rfc822; j.devries@example.net
Original-Recipient: rfc822;j.devries@example.net
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx1.example.net
Diagnostic-Code: smtp; 550 5.1.1 user unknown
"""
p_orig = f"""Return-Path: <support@example.com>
Received: from omniroute.internal (omniroute.internal [10.0.4.17])
\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))
\tby mail.example.com (Postfix) with ESMTPS id 4XkT2Q0b8Tz9sWd
\tfor <j.devries@example.net>; Mon, 23 Nov 2026 10:01:07 +0100 (CET)
Date: Mon, 23 Nov 2026 10:01:07 +0100
From: Shop Support <support@example.com>
To: Jan de Vries <j.devries@example.net>
Subject: Re: Uw vraag over factuur 123 [#t_0123456789ab]
Message-ID: {OMR_Z}
In-Reply-To: <AM9PR01MB7412A0B1C2D3E4F5A6B7C8D9E0F1@AM9PR01MB7412.eurprd01.prod.exchangelabs.com>
References: <AM9PR01MB7412A0B1C2D3E4F5A6B7C8D9E0F1@AM9PR01MB7412.eurprd01.prod.exchangelabs.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit
Auto-Submitted: no
"""
add("07_dsn_postfix_user_unknown.eml", message(f"""
Return-Path: <>
Delivered-To: support@example.com
Received: by mail.example.com (Postfix)
\tid 5B1C03E0F2A; Mon, 23 Nov 2026 10:01:09 +0100 (CET)
Date: Mon, 23 Nov 2026 10:01:09 +0100 (CET)
From: MAILER-DAEMON@mail.example.com (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: support@example.com
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="{p_bnd}"
Content-Transfer-Encoding: 8bit
Message-Id: <20261123090109.5B1C03E0F2A@mail.example.com>
""", multipart(p_bnd, [
    part("Content-Description: Notification\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit",
         crlf(p_human)),
    part("Content-Description: Delivery report\nContent-Type: message/delivery-status",
         crlf(p_status)),
    part("Content-Description: Undelivered Message Headers\nContent-Type: text/rfc822-headers\nContent-Transfer-Encoding: 8bit",
         crlf(p_orig)),
], preamble="This is a MIME-encapsulated message.\n\n")), {
    "from_address": "mailer-daemon@mail.example.com",
    "subject": "Undelivered Mail Returned to Sender",
    "message_id": "<20261123090109.5B1C03E0F2A@mail.example.com>",
    "text_contains": ["your message could not", "550 5.1.1"],
    "auto": True,
    "bounce": True,
    "bounce_original_message_id": OMR_Z,
    "bounce_status": "5.1.1",
})

# 8. A Microsoft Exchange (Online) NDR: multipart/report whose human part is
#    multipart/alternative, and the whole returned message as message/rfc822.

x_bnd, x_alt = "_e3b4f1a0-7c2d-4e9b-8a16-5d0c9f2e1b3a_", "_7a9c0e12-3b4d-4f5e-a6b7-c8d9e0f1a2b3_"
x_text = """Your message to jan.devries@contoso.nl couldn't be delivered.

jan.devries wasn't found at contoso.nl.

support    Office 365    jan.devries
Action Required                   Recipient

Unknown To address

How to Fix It
The address may be misspelled or may not exist. Try one or more of the following:
- Send the message again following these steps: In Outlook, open this non-delivery report (NDR) and choose Send Again from the Report ribbon. In Outlook on the web, select this NDR, then select the link "To send this message again, click here." Then delete and retype the entire recipient address. If prompted with an Auto-Complete List suggestion don't select it. After typing the complete address, click Send.
- Contact the recipient (by phone, for example) to check that the address exists and is correct.

More Info for Email Admins
Status code: 550 5.1.10

This error occurs because the sender sent a message to an email address hosted by Office 365 but the address is incorrect or doesn't exist at the destination domain.

Original Message Details
Created Date:    23/11/2026 13:20:38
Sender Address:    support@example.com
Recipient Address:    jan.devries@contoso.nl
Subject:    Re: Uw vraag over factuur 123 [#t_0123456789ab]

Error Details
Reported error:    550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup
DSN generated by:    AM9PR01MB7412.eurprd01.prod.exchangelabs.com
"""
x_html = """<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=us-ascii">
<style>
.BodyFragment { font-size: 12pt; font-family: Segoe UI, Helvetica, sans-serif; }
</style>
</head>
<body>
<div style="font-family:'Segoe UI',Frutiger,Arial,sans-serif"><p style="font-size:15pt;color:#000000">Your message to <a href="mailto:jan.devries@contoso.nl">jan.devries@contoso.nl</a> couldn't be delivered.</p>
<p style="font-size:18pt;color:#000000"><b>jan.devries</b> wasn't found at <span style="color:#0072C6">contoso.nl</span>.</p>
<table style="width:100%"><tr><td>support</td><td>Office 365</td><td>jan.devries</td></tr>
<tr><td></td><td style="color:#C00000"><b>Action Required</b></td><td>Recipient</td></tr></table>
<p><b>Unknown To address</b></p>
<p><b>More Info for Email Admins</b><br>Status code: 550 5.1.10</p>
<p>Reported error: 550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup</p>
</div>
</body>
</html>
"""
x_status = """Reporting-MTA: dns;AM9PR01MB7412.eurprd01.prod.exchangelabs.com
Received-From-MTA: dns;mail.example.com
Arrival-Date: Mon, 23 Nov 2026 13:20:40 +0000

Final-Recipient: rfc822;jan.devries@contoso.nl
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup
"""
x_orig_body = """Beste Jan,

De gecorrigeerde factuur 123 staat klaar in uw account.

Met vriendelijke groet,
Alice de Vries
Shop Support
"""
x_orig = message(f"""
Received: from mail.example.com (203.0.113.10) by
 AM9PR01MB7412.eurprd01.prod.exchangelabs.com with Microsoft SMTP Server
 (version=TLS1_3, cipher=TLS_AES_256_GCM_SHA384) id 15.20.8182.20; Mon, 23 Nov
 2026 13:20:40 +0000
Date: Mon, 23 Nov 2026 14:20:38 +0100
From: Shop Support <support@example.com>
To: Jan de Vries <jan.devries@contoso.nl>
Subject: Re: Uw vraag over factuur 123 [#t_0123456789ab]
Message-ID: {OMR_Y}
In-Reply-To: <AM9PR01MB74125C1D5E2F3A4B5C6D7E8F9A0B1@AM9PR01MB7412.eurprd01.prod.exchangelabs.com>
References: {OMR_A} {OMR_B}
 <AM9PR01MB74125C1D5E2F3A4B5C6D7E8F9A0B1@AM9PR01MB7412.eurprd01.prod.exchangelabs.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 7bit
""", crlf(x_orig_body))
add("08_dsn_exchange_ndr.eml", message(f"""
Return-Path: <>
Received: from EUR01-DB5-obe.outbound.protection.outlook.com (mail-db5eur01on2101.outbound.protection.outlook.com [40.107.15.101])
\tby mx1.example.com (Postfix) with ESMTPS id 4XkX3b6Q2Rz9sZk
\tfor <support@example.com>; Mon, 23 Nov 2026 14:20:43 +0100 (CET)
From: Microsoft Outlook <postmaster@contoso.nl>
To: <support@example.com>
Date: Mon, 23 Nov 2026 13:20:41 +0000
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="{x_bnd}"
MIME-Version: 1.0
Message-ID: <2b5e8c41-9a3f-4d7e-b1c6-0f2a8d4e6b90@AM9PR01MB7412.eurprd01.prod.exchangelabs.com>
In-Reply-To: {OMR_Y}
References: {OMR_Y}
Thread-Topic: Re: Uw vraag over factuur 123 [#t_0123456789ab]
Thread-Index: AQHbXDl2kqL5m2yBZUe3A8kF0qH4bA==
Subject: Undeliverable: Re: Uw vraag over factuur 123 [#t_0123456789ab]
X-MS-Exchange-Message-Is-Ndr:
Content-Language: en-US
X-MS-Exchange-Organization-SCL: -1
X-MS-TrafficTypeDiagnostic: AM9PR01MB7412:EE_
""", multipart(x_bnd, [
    part(f'Content-Type: multipart/alternative; differences=Content-Type;\n\tboundary="{x_alt}"',
         multipart(x_alt, [
             part('Content-Type: text/plain; charset="us-ascii"\nContent-Transfer-Encoding: quoted-printable',
                  qp(x_text, "ascii")),
             part('Content-Type: text/html; charset="us-ascii"\nContent-Transfer-Encoding: quoted-printable',
                  qp(x_html, "ascii")),
         ])),
    part("Content-Type: message/delivery-status", crlf(x_status)),
    part("Content-Type: message/rfc822", x_orig),
])), {
    "from_address": "postmaster@contoso.nl",
    "from_name": "Microsoft Outlook",
    "subject": "Undeliverable: Re: Uw vraag over factuur 123 [#t_0123456789ab]",
    "message_id": "<2b5e8c41-9a3f-4d7e-b1c6-0f2a8d4e6b90@AM9PR01MB7412.eurprd01.prod.exchangelabs.com>",
    "in_reply_to": OMR_Y,
    "references": [OMR_Y],
    "text_contains": ["Your message to jan.devries@contoso.nl couldn't be delivered.",
                      "RESOLVER.ADR.RecipientNotFound"],
    "bounce": True,
    "bounce_original_message_id": OMR_Y,
    "bounce_status": "5.1.10",
})

# 9a. Out-of-office: Auto-Submitted: auto-replied and X-Autoreply: yes.

add("09a_auto_reply_out_of_office.eml", message(f"""
Return-Path: <k.smit@smitadvies.nl>
From: Karin Smit <k.smit@smitadvies.nl>
To: Shop Support <support@example.com>
Subject: Afwezig: Re: Uw bestelling 5521 [#t_89abcdef0123]
Date: Tue, 24 Nov 2026 09:00:12 +0100
Message-ID: <autoreply.1795507212.31977@smitadvies.nl>
In-Reply-To: {OMR_K}
References: {OMR_K}
Auto-Submitted: auto-replied
X-Autoreply: yes
X-Auto-Response-Suppress: All
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: 8bit
""", crlf("""Beste afzender,

Ik ben afwezig tot en met maandag 30 november en heb beperkt toegang tot mijn e-mail.
Voor dringende zaken kunt u bellen met 020 765 4321.

Met vriendelijke groet,
Karin Smit
""", "utf-8")), {
    "from_address": "k.smit@smitadvies.nl",
    "from_name": "Karin Smit",
    "subject": "Afwezig: Re: Uw bestelling 5521 [#t_89abcdef0123]",
    "message_id": "<autoreply.1795507212.31977@smitadvies.nl>",
    "in_reply_to": OMR_K,
    "references": [OMR_K],
    "text_contains": ["Ik ben afwezig tot en met maandag 30 november"],
    "auto": True,
})

# 9b. A newsletter: only Precedence: bulk, with List-Id and List-Unsubscribe.

n_text = """PakketPost Zakelijk \u2013 november 2026

Beste klant,

Vanaf 1 december gelden de nieuwe tarieven voor pakketten naar Belgi\u00eb en Duitsland.
Bekijk het overzicht op https://zakelijk.pakketpost.example.org/tarieven-2027

Afmelden: https://news.pakketpost.example.org/u/8f3k2x
"""
n_html = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>PakketPost Zakelijk</title></head>
<body style="margin:0;padding:0;background:#f4f4f4">
<table width="100%" cellpadding="0" cellspacing="0" role="presentation"><tr><td align="center">
<table width="600" style="background:#ffffff"><tr><td style="padding:24px;font-family:Arial,sans-serif">
<h1 style="font-size:22px">PakketPost Zakelijk &ndash; november 2026</h1>
<p>Beste klant,</p>
<p>Vanaf 1 december gelden de nieuwe tarieven voor pakketten naar Belgi&euml; en Duitsland.</p>
<p><a href="https://zakelijk.pakketpost.example.org/tarieven-2027">Bekijk het overzicht</a></p>
<p style="font-size:11px;color:#888888"><a href="https://news.pakketpost.example.org/u/8f3k2x">Afmelden</a></p>
<img src="https://news.pakketpost.example.org/o/8f3k2x.gif" width="1" height="1" alt="">
</td></tr></table>
</td></tr></table>
</body></html>
"""
n_bnd = "=_b7f3c2d1e0a94f8b8c6d5e4f3a2b1c0d"
n_subject = ew_q("Nieuwe tarieven per 1 december \u2013 november 2026")
add("09b_bulk_newsletter_list_id.eml", message(f"""
Return-Path: <bounce-8f3k2x@news.pakketpost.example.org>
From: PakketPost Zakelijk <nieuwsbrief@news.pakketpost.example.org>
Reply-To: PakketPost Zakelijk <noreply@news.pakketpost.example.org>
To: support@example.com
Subject: {n_subject}
Date: Tue, 24 Nov 2026 06:30:00 +0000
Message-ID: <20261124063000.8f3k2x.4471@news.pakketpost.example.org>
Precedence: bulk
List-Id: PakketPost Zakelijk nieuwsbrief <zakelijk.news.pakketpost.example.org>
List-Unsubscribe: <mailto:unsubscribe-8f3k2x@news.pakketpost.example.org?subject=unsubscribe>,
 <https://news.pakketpost.example.org/u/8f3k2x>
List-Unsubscribe-Post: List-Unsubscribe=One-Click
Feedback-ID: nov2026:zakelijk:pakketpost
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="{n_bnd}"
""", multipart(n_bnd, [
    part("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable",
         qp(n_text, "utf-8")),
    part("Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable",
         qp(n_html, "utf-8")),
])), {
    "from_address": "nieuwsbrief@news.pakketpost.example.org",
    "from_name": "PakketPost Zakelijk",
    "subject": "Nieuwe tarieven per 1 december \u2013 november 2026",
    "message_id": "<20261124063000.8f3k2x.4471@news.pakketpost.example.org>",
    "text_contains": ["pakketten naar Belgi\u00eb en Duitsland"],
    "auto": True,
})

# 9c. Exchange-style out-of-office: only Auto-Submitted: auto-generated.

e_text = """Ik ben afwezig van 23 november tot en met 4 december. Uw e-mail wordt niet doorgestuurd.
Voor dringende zaken: planning@peeters-logistiek.example.be of +32 3 123 45 67.

Met vriendelijke groeten,
Tom Peeters
"""
e_html = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head>
<body><div style="font-family:Calibri,Arial,sans-serif;font-size:11pt">
<p>Ik ben afwezig van 23 november tot en met 4 december. Uw e-mail wordt niet doorgestuurd.<br>
Voor dringende zaken: <a href="mailto:planning@peeters-logistiek.example.be">planning@peeters-logistiek.example.be</a> of +32 3 123 45 67.</p>
<p>Met vriendelijke groeten,<br>Tom Peeters</p>
</div></body></html>
"""
e_bnd = "_000_DB7PR02MB5123F1E2D3C4B5A69788A7B6C5D4E3F2DB7PR02MB5123eurp_"
add("09c_auto_generated_exchange_oof.eml", message(f"""
From: Tom Peeters <Tom.Peeters@peeters-logistiek.example.be>
To: Shop Support <support@example.com>
Subject: Automatisch antwoord: Levering week 49 [#t_5a6b7c8d9e0f]
Thread-Topic: Levering week 49 [#t_5a6b7c8d9e0f]
Thread-Index: AQHbXeFZ3mQ1yK0cTUq8bD2n5vXqLw==
Date: Tue, 24 Nov 2026 11:05:33 +0000
Message-ID: <DB7PR02MB5123F1E2D3C4B5A69788A7B6C5D4E3F2@DB7PR02MB5123.eurprd02.prod.outlook.com>
In-Reply-To: {OMR_P}
References: {OMR_P}
Auto-Submitted: auto-generated
X-Auto-Response-Suppress: All
X-MS-Exchange-Inbox-Rules-Loop: Tom.Peeters@peeters-logistiek.example.be
X-MS-Has-Attach:
Content-Language: nl-BE
Content-Type: multipart/alternative;
\tboundary="{e_bnd}"
MIME-Version: 1.0
""", multipart(e_bnd, [
    part('Content-Type: text/plain; charset="utf-8"\nContent-Transfer-Encoding: base64',
         b64(crlf(e_text, "utf-8"))),
    part('Content-Type: text/html; charset="utf-8"\nContent-Transfer-Encoding: base64',
         b64(crlf(e_html, "utf-8"))),
])), {
    "from_address": "tom.peeters@peeters-logistiek.example.be",
    "from_name": "Tom Peeters",
    "subject": "Automatisch antwoord: Levering week 49 [#t_5a6b7c8d9e0f]",
    "message_id": "<DB7PR02MB5123F1E2D3C4B5A69788A7B6C5D4E3F2@DB7PR02MB5123.eurprd02.prod.outlook.com>",
    "in_reply_to": OMR_P,
    "references": [OMR_P],
    "text_contains": ["Ik ben afwezig van 23 november tot en met 4 december."],
    "auto": True,
})

# 10. A customer's plain reply (Thunderbird, format=flowed, 8bit) to one of
#     omniroute's mails, with a Dutch attribution line and "> " quotes.

t_text = """Hallo,

Ja, het gaat om factuur 123 van 2 november. Ik heb \u20ac 49,95 betaald, maar in 
mijn account staat nog een openstaand bedrag van \u20ac 4,95.

Groet,
Jan

Op 23-11-2026 om 10:01 schreef Shop Support:
> Beste klant,
>
> Over welke factuur gaat het precies? Stuur ons gerust het factuurnummer.
>
> Met vriendelijke groet,
> Alice de Vries
> Shop Support
"""
add("10_customer_reply_to_omniroute.eml", message(f"""
Return-Path: <jan.devries@contoso.nl>
Message-ID: <7c1e9a42-3f5b-4d8c-a2e6-91b0d4f3c857@contoso.nl>
Date: Mon, 23 Nov 2026 10:37:52 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Subject: Re: Uw vraag over factuur 123 [#t_0123456789ab]
To: Shop Support <support@example.com>
References: {OMR_A}
Content-Language: nl
From: Jan de Vries <jan.devries@contoso.nl>
In-Reply-To: {OMR_A}
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit
""", crlf(t_text, "utf-8")), {
    "from_address": "jan.devries@contoso.nl",
    "from_name": "Jan de Vries",
    "subject": "Re: Uw vraag over factuur 123 [#t_0123456789ab]",
    "message_id": "<7c1e9a42-3f5b-4d8c-a2e6-91b0d4f3c857@contoso.nl>",
    "in_reply_to": OMR_A,
    "references": [OMR_A],
    "text_contains": ["Ja, het gaat om factuur 123 van 2 november.",
                      "Ik heb \u20ac 49,95 betaald, maar in mijn account staat nog een openstaand bedrag van \u20ac 4,95.",
                      "Groet,"],
    "text_excludes": ["Op 23-11-2026 om 10:01 schreef Shop Support:",
                      "Over welke factuur gaat het precies?",
                      "Stuur ons gerust het factuurnummer."],
})

# 11. A signature after "-- " (dash dash space), quoted display name with a comma.

s_text = """Goedendag,

Wanneer wordt mijn bestelling 9921 verzonden? Ik had expresverzending gekozen en betaald.

Alvast bedankt!
Marco

-- 
Marco Rossi \u00b7 Studio Rossi Architetti
Via Roma 1, 20121 Milano
+39 02 1234 5678 \u00b7 www.studio-rossi.example.it
"""
add("11_signature_dash_dash_space.eml", message("""
From: "Rossi, Marco" <Marco.Rossi@studio-rossi.example.it>
To: support@example.com
Subject: Verzending bestelling 9921
Date: Tue, 24 Nov 2026 16:48:09 +0100
Message-ID: <20261124164809.GA21877@studio-rossi.example.it>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Disposition: inline
Content-Transfer-Encoding: 8bit
User-Agent: Mutt/2.2.12 (2023-09-09)
""", crlf(s_text, "utf-8")), {
    "from_address": "marco.rossi@studio-rossi.example.it",
    "from_name": "Rossi, Marco",
    "subject": "Verzending bestelling 9921",
    "message_id": "<20261124164809.GA21877@studio-rossi.example.it>",
    "text_contains": ["Wanneer wordt mijn bestelling 9921 verzonden?", "Alvast bedankt!", "Marco"],
    "text_excludes": ["Studio Rossi Architetti", "Via Roma 1, 20121 Milano", "+39 02 1234 5678"],
})

# 12a. No Subject and no Message-ID; a bare address in From.

add("12a_no_subject_no_message_id.eml", message("""
Return-Path: <info@bakkerij-devries.example.nl>
Received: from [192.168.1.23] (unknown [198.51.100.77])
\tby mx1.example.com (Postfix) with ESMTPSA id 4XkZ0c1Pq3z9sYb
\tfor <support@example.com>; Tue, 24 Nov 2026 07:15:40 +0100 (CET)
From: info@bakkerij-devries.example.nl
To: support@example.com
Date: Tue, 24 Nov 2026 07:15:38 +0100
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit
""", crlf("""Hoi,

Kunnen jullie mij vandaag terugbellen op 06-12345678? Het gaat over de levering van morgen.

Groet, Kees
""")), {
    "from_address": "info@bakkerij-devries.example.nl",
    "text_contains": ["Kunnen jullie mij vandaag terugbellen op 06-12345678?"],
})

# 12b. 8bit UTF-8 body and no MIME headers at all (a PHP mail() script);
#      the Subject is raw UTF-8 too.

add("12b_8bit_utf8_no_mime_headers.eml",
    crlf("""
Return-Path: <www-data@web01.visser-bloemen.example.nl>
Received: by web01.visser-bloemen.example.nl (Postfix, from userid 33)
\tid 3F2A1C0042; Wed, 25 Nov 2026 08:15:02 +0100 (CET)
To: support@example.com
Subject: Levering naar Belgi\u00eb \u2013 vraag
X-Mailer: PHP/8.2.7
From: Zoe Visser <zoe@visser-bloemen.example.nl>
Message-Id: <20261125071502.3F2A1C0042@web01.visser-bloemen.example.nl>
Date: Wed, 25 Nov 2026 08:15:02 +0100 (CET)

Goedemorgen,

Leveren jullie ook naar Belgi\u00eb? Het gaat om \u00e9\u00e9n pallet potgrond (\u20ac 240,00).
Graag hoor ik wat de verzendkosten zijn.

Zo\u00eb Visser
""".lstrip("\n"), "utf-8"), {
    "from_address": "zoe@visser-bloemen.example.nl",
    "from_name": "Zoe Visser",
    "subject": "Levering naar Belgi\u00eb \u2013 vraag",
    "message_id": "<20261125071502.3F2A1C0042@web01.visser-bloemen.example.nl>",
    "text_contains": ["Leveren jullie ook naar Belgi\u00eb?",
                      "\u00e9\u00e9n pallet potgrond (\u20ac 240,00)", "Zo\u00eb Visser"],
})

# 12c. Subject folded over three lines; References folded as well.

f_subject = ("Re: Klacht over de levering van bestelling 4711, de retourzending van "
             "bestelling 4712 en de dubbele afschrijving van mijn creditcard op 12 en "
             "13 november [#t_fedcba987654]")
add("12c_long_folded_subject.eml", message(f"""
From: "Mevr. A. de Groot" <a.degroot@example.nl>
To: Shop Support <support@example.com>
Subject: Re: Klacht over de levering van bestelling 4711, de retourzending
 van bestelling 4712 en de dubbele afschrijving van mijn creditcard op 12
 en 13 november [#t_fedcba987654]
Date: Wed, 25 Nov 2026 09:41:26 +0100
Message-ID: <5d2f8b1e-0c7a-4e93-b6d4-a18f3e2c9b70@example.nl>
In-Reply-To: {OMR_Q2}
References: <3a9e7c10-5b2d-4f8e-9c1a-6d0b2e4f8a13@example.nl>
 {OMR_Q1}
 <8b1d4f2e-7a3c-4e6b-9d0f-2c5a8e1b3d79@example.nl>
 {OMR_Q2}
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 7bit
""", crlf("""Geachte heer, mevrouw,

Ik wacht nog steeds op de terugbetaling van de dubbele afschrijving. Graag uiterlijk vrijdag een reactie.

A. de Groot
""")), {
    "from_address": "a.degroot@example.nl",
    "from_name": "Mevr. A. de Groot",
    "subject": f_subject,
    "message_id": "<5d2f8b1e-0c7a-4e93-b6d4-a18f3e2c9b70@example.nl>",
    "in_reply_to": OMR_Q2,
    "references": ["<3a9e7c10-5b2d-4f8e-9c1a-6d0b2e4f8a13@example.nl>", OMR_Q1,
                   "<8b1d4f2e-7a3c-4e6b-9d0f-2c5a8e1b3d79@example.nl>", OMR_Q2],
    "text_contains": ["Ik wacht nog steeds op de terugbetaling van de dubbele afschrijving."],
})

# 12d. An attachment with no file name (Content-Type application/octet-stream only).

d_bnd = "----=_Part_118273_1464021911.1795509641227"
add("12d_attachment_without_filename.eml", message(f"""
From: Boekhouding Verhoef <boekhouding@verhoef-installatie.example.nl>
To: support@example.com
Subject: Export openstaande facturen
Date: Wed, 25 Nov 2026 10:00:41 +0100 (CET)
Message-ID: <1472093516.118274.1795509641227@erp.verhoef-installatie.example.nl>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="{d_bnd}"
X-Mailer: JavaMail
""", multipart(d_bnd, [
    part("Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 7bit",
         crlf("Bijgaand de export van de openstaande facturen, zoals gevraagd.\n")),
    part("Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64", b64(CSV)),
])), {
    "from_address": "boekhouding@verhoef-installatie.example.nl",
    "from_name": "Boekhouding Verhoef",
    "subject": "Export openstaande facturen",
    "message_id": "<1472093516.118274.1795509641227@erp.verhoef-installatie.example.nl>",
    "text_contains": ["Bijgaand de export van de openstaande facturen"],
    "attachments": [{"type": "application/octet-stream", "size": len(CSV), "inline": False}],
})

# 12e. A wrong declared charset: us-ascii, but the body is UTF-8.

add("12e_wrong_charset_declared_us_ascii.eml", message("""
From: Annelies Gross <annelies.gross@example.de>
To: support@example.com
Subject: Tuinstoel beschadigd geleverd
Date: Wed, 25 Nov 2026 11:22:09 +0100
Message-ID: <20261125102209.7731.annelies@example.de>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit
""", crlf("""Beste mensen,

De levering van de tuinstoel ging mis: \u00e9\u00e9n poot is gebroken en de kussens zijn beschadigd.
Ik wil graag \u20ac 35,00 terug of een nieuwe stoel.

Mit freundlichen Gr\u00fc\u00dfen,
Annelies Gro\u00df
""", "utf-8")), {
    "from_address": "annelies.gross@example.de",
    "from_name": "Annelies Gross",
    "subject": "Tuinstoel beschadigd geleverd",
    "message_id": "<20261125102209.7731.annelies@example.de>",
    "text_contains": ["\u00e9\u00e9n poot is gebroken", "\u20ac 35,00 terug",
                      "Annelies Gro\u00df"],
})

# 12f. Emoji (4-byte UTF-8) in the Subject (B encoded-words) and the From name.

m_subject = "\U0001F389 Bedankt voor de snelle levering! \U0001F44D\U0001F3FC Alles is heel aangekomen \U0001F600"
m_from = "Sanne \U0001F337 de Boer"
add("12f_emoji_subject.eml", message(f"""
From: {ew_b(m_from)[0]} <sanne.deboer@icloud.com>
Content-Type: text/plain;
\tcharset=utf-8
Content-Transfer-Encoding: quoted-printable
Mime-Version: 1.0 (1.0)
Date: Wed, 25 Nov 2026 12:31:47 +0100
Subject: {chr(10).join(" " + w if i else w for i, w in enumerate(ew_b(m_subject, limit=60)))}
Message-Id: <3E5A7C91-2B4D-4F6E-8A1C-9D0B2F4E6A83@icloud.com>
To: support@example.com
X-Mailer: iPhone Mail (22B91)
""", qp("""Hoi!

Alles is heel aangekomen \U0001F600 en de planten zien er top uit \U0001F33F\U0001F33F. Ik bestel zeker weer.

Groetjes,
Sanne

Verstuurd vanaf mijn iPhone
""", "utf-8")), {
    "from_address": "sanne.deboer@icloud.com",
    "from_name": m_from,
    "subject": m_subject,
    "message_id": "<3E5A7C91-2B4D-4F6E-8A1C-9D0B2F4E6A83@icloud.com>",
    "text_contains": ["Alles is heel aangekomen \U0001F600",
                      "de planten zien er top uit \U0001F33F\U0001F33F"],
})

# 13. Outlook with a winmail.dat (application/ms-tnef).

w_bnd = "_002_DB9PR01MB8123A1B2C3D4E5F60718293A4B5CDB9PR01MB8123eurp_"
w_text = """Goedemiddag,

In de bijlage vindt u onze prijsopgave voor de tuinmeubelen. De prijzen zijn geldig tot 31 december.

Met vriendelijke groet,
Hans Verbeek
Verbeek Tuinmeubelen
"""
add("13_tnef_winmail_dat.eml", message(f"""
From: Hans Verbeek <hans@verbeek-tuinmeubelen.example.nl>
To: Shop Support <support@example.com>
Subject: Prijsopgave tuinmeubelen
Thread-Topic: Prijsopgave tuinmeubelen
Thread-Index: AdtefGk3b1RmZqPwS4y7Ug0X2qD1cQ==
Date: Tue, 24 Nov 2026 14:04:37 +0000
Message-ID: <DB9PR01MB8123A1B2C3D4E5F60718293A4B5C@DB9PR01MB8123.eurprd01.prod.exchangelabs.com>
Accept-Language: nl-NL
Content-Language: nl-NL
X-MS-Has-Attach: yes
X-MS-TNEF-Correlator: <DB9PR01MB8123A1B2C3D4E5F60718293A4B5C@DB9PR01MB8123.eurprd01.prod.exchangelabs.com>
Content-Type: multipart/mixed;
\tboundary="{w_bnd}"
MIME-Version: 1.0
""", multipart(w_bnd, [
    part('Content-Type: text/plain; charset="us-ascii"\nContent-Transfer-Encoding: quoted-printable',
         qp(w_text, "ascii")),
    part('Content-Type: application/ms-tnef; name="winmail.dat"\n'
         'Content-Description: winmail.dat\n'
         f'Content-Disposition: attachment; filename="winmail.dat"; size={len(TNEF)};\n'
         '\tcreation-date="Tue, 24 Nov 2026 14:04:37 GMT";\n'
         '\tmodification-date="Tue, 24 Nov 2026 14:04:37 GMT"\n'
         'Content-Transfer-Encoding: base64', b64(TNEF)),
])), {
    "from_address": "hans@verbeek-tuinmeubelen.example.nl",
    "from_name": "Hans Verbeek",
    "subject": "Prijsopgave tuinmeubelen",
    "message_id": "<DB9PR01MB8123A1B2C3D4E5F60718293A4B5C@DB9PR01MB8123.eurprd01.prod.exchangelabs.com>",
    "text_contains": ["In de bijlage vindt u onze prijsopgave voor de tuinmeubelen."],
    "attachments": [{"name": "winmail.dat", "type": "application/ms-tnef",
                     "size": len(TNEF), "inline": False}],
})

# ---------------------------------------------------------------------------
# copies of CPython's test messages (PSF licence), LF -> CRLF

IMPORTED = {
    "py_msg_07_gif_attachment.eml": {
        "source": "msg_07.txt",
        "sha256": None,   # filled in below
        "facts": {
            "from_address": "barry@digicool.com",
            "from_name": "Barry",
            "subject": "Here is your dingus fish",
            "text_contains": ["This is the dingus fish."],
            "attachments": [{"name": "dingusfish.gif", "type": "image/gif", "size": 3512,
                             "inline": False}],
        },
    },
    "py_msg_16_dsn_disk_quota.eml": {
        "source": "msg_16.txt",
        "sha256": None,
        "facts": {
            "from_address": "postmaster@ucla.edu",
            "from_name": "Internet Mail Delivery",
            "subject": "Delivery Notification: Delivery has failed",
            "message_id": "<0GK500B04D0B8X@cougar.noc.ucla.edu>",
            "text_contains": ["Your message cannot be delivered to the following recipients:",
                              "Reason: recipient reached disk quota"],
            "auto": True,
            "bounce": True,
            "bounce_original_message_id": "<002001c144a6$8752e060$56104586@oxy.edu>",
            "bounce_status": "5.0.0",
        },
    },
}
IMPORTED["py_msg_07_gif_attachment.eml"]["sha256"] = \
    "8358092b45c8631df6466a2e4dc23278263b2dd2ba5765e99caba47c304dd3b5"
IMPORTED["py_msg_16_dsn_disk_quota.eml"]["sha256"] = \
    "fbb4ae9e31ddd26e43b7c051041bb3d9d6bebd418a858da67268920bc672afb9"


def find_cpython_data(explicit):
    cands = [explicit] if explicit else []
    cands += sorted(glob.glob(os.path.join(sys.prefix, "lib", "python3*", "test", "test_email", "data")))
    cands += sorted(glob.glob("/usr/lib/python3*/test/test_email/data"))
    cands += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/*/lib/python3*/test/test_email/data")))
    for c in cands:
        if c and os.path.isdir(c):
            return c
    return None


def imported_files(data_dir):
    """{name: bytes} of the imported messages whose source matches."""
    out = {}
    for name, imp in IMPORTED.items():
        src = os.path.join(data_dir, imp["source"]) if data_dir else None
        if not src or not os.path.exists(src):
            continue
        raw = open(src, "rb").read()
        if hashlib.sha256(raw).hexdigest() != imp["sha256"]:
            print("note: %s differs from the expected source, not re-imported" % src,
                  file=sys.stderr)
            continue
        assert b"\r" not in raw
        out[name] = raw.replace(b"\n", b"\r\n")
    return out


# ---------------------------------------------------------------------------

KEY_ORDER = ["from_address", "from_name", "subject", "message_id", "in_reply_to",
             "references", "text_contains", "text_excludes", "attachments", "auto",
             "bounce", "bounce_original_message_id", "bounce_status"]


def build(data_dir):
    files = {}
    manifest = {}
    for name, data, facts in CORPUS:
        files[name] = data
        manifest[name] = facts
    files.update(imported_files(data_dir))
    for name, imp in IMPORTED.items():
        manifest[name] = imp["facts"]
    ordered = {}
    for name in sorted(manifest):
        facts = manifest[name]
        assert set(facts) <= set(KEY_ORDER), (name, set(facts) - set(KEY_ORDER))
        ordered[name] = {k: facts[k] for k in KEY_ORDER if k in facts}
    files["MANIFEST.json"] = (json.dumps(ordered, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    for name, data in files.items():
        if name.endswith(".eml"):
            assert b"\n" not in data.replace(b"\r\n", b""), name + ": bare LF"
            assert b"\r" not in data.replace(b"\r\n", b""), name + ": bare CR"
            assert data.endswith(b"\r\n"), name + ": no final CRLF"
    return files


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="compare with the committed files instead of writing")
    ap.add_argument("--cpython-data", metavar="DIR",
                    help="CPython's Lib/test/test_email/data (found automatically if installed)")
    ap.add_argument("--out", metavar="DIR", default=HERE, help="where to write (default: here)")
    args = ap.parse_args()
    files = build(find_cpython_data(args.cpython_data))
    if args.check:
        bad = 0
        for name, data in sorted(files.items()):
            path = os.path.join(args.out, name)
            if not os.path.exists(path) or open(path, "rb").read() != data:
                print("differs: " + name)
                bad += 1
        print("%d files compared, %d differ" % (len(files), bad))
        return 1 if bad else 0
    os.makedirs(args.out, exist_ok=True)
    for name, data in sorted(files.items()):
        with open(os.path.join(args.out, name), "wb") as f:
            f.write(data)
    print("wrote %d files to %s" % (len(files), args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
