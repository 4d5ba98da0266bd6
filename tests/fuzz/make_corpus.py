#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/TARGET/)
from the repository's samples and fixtures, plus small valid and invalid
inputs made here (envelopes are encoded by hand: protobuf's wire format is
simple and this needs no protobuf module). Standard library only.

    python3 tests/fuzz/make_corpus.py

Files it writes are named seed-*; inputs the fuzzers found (crash-*,
leak-*, timeout-*) are added by hand and never touched here. Run it again
after a sample, fixture or the wire contract changes."""
import io
import json
import os
import shutil
import struct
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


def out(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def copy(target, path, name=None):
    with open(os.path.join(TOP, path), "rb") as f:
        out(target, name or os.path.basename(path), f.read())


def clean():
    for target in os.listdir(CORPUS) if os.path.isdir(CORPUS) else []:
        d = os.path.join(CORPUS, target)
        for name in os.listdir(d):
            if name.startswith("seed-"):
                os.unlink(os.path.join(d, name))


# --- protobuf by hand -------------------------------------------------------

def varint(v):
    b = bytearray()
    v &= (1 << 64) - 1
    while True:
        byte = v & 0x7F
        v >>= 7
        if v:
            b.append(byte | 0x80)
        else:
            b.append(byte)
            return bytes(b)


def zigzag(v):
    return (v << 1) ^ (v >> 63)


def f_varint(field, v):
    return varint(field << 3) + varint(v)


def f_bytes(field, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return varint(field << 3 | 2) + varint(len(data)) + data


def report(rid, unit, form, period, revision, cells, texts, sealed=0,
           form_version=0, sort=True):
    b = f_bytes(1, rid) + f_bytes(2, unit) + f_bytes(3, form)
    b += f_bytes(4, period) + f_varint(5, revision)
    if sealed:
        b += f_varint(6, sealed)
    items = sorted(cells.items()) if sort else list(cells.items())
    for code, value in items:
        b += f_bytes(7, f_bytes(1, code) + f_varint(2, zigzag(value)))
    items = sorted(texts.items()) if sort else list(texts.items())
    for code, text in items:
        b += f_bytes(8, f_bytes(1, code) + f_bytes(2, text))
    if form_version:
        b += f_varint(9, form_version)
    return b


def envelope(field, body, version=1):
    return f_varint(1, version) + f_bytes(field, body)


RID = bytes(range(1, 17))


def wire():
    t = "wire"
    for name in sorted(os.listdir(os.path.join(TOP, "deploy/samples"))):
        with open(os.path.join(TOP, "deploy/samples", name)) as f:
            r = json.load(f)
        cells = {k: v for k, v in r["cells"].items() if v is not None}
        texts = {k: v for k, v in r.get("texts", {}).items() if v is not None}
        body = report(RID, r["unit"], r["form"], r["period"], r["revision"],
                      cells, texts, sealed=1767225600000, form_version=1)
        out(t, "report-" + name.replace(".json", ".bin"), envelope(12, body))
    ok = report(RID, "18073", "HT-VSTBPN-6T", "2026-H1", 2,
                {"TC1.so": 2, "CB1.tong": 15, "CB1.nu": 4},
                {"situation": "Tình hình chung"})
    out(t, "report-small.bin", envelope(12, ok))
    # Refused by the checks, each for one reason.
    out(t, "report-id-15.bin", envelope(12, report(
        RID[:15], "18073", "HT-VSTBPN-6T", "2026-H1", 1, {"TC1.so": 1}, {})))
    out(t, "report-unsorted.bin", envelope(12, report(
        RID, "18073", "HT-VSTBPN-6T", "2026-H1", 1,
        {"TC2.so": 1, "TC1.so": 2}, {}, sort=False)))
    out(t, "report-huge-value.bin", envelope(12, report(
        RID, "18073", "HT-VSTBPN-6T", "2026-H1", 1,
        {"TC1.so": 10 ** 13, "TC2.so": -(2 ** 63)}, {})))
    out(t, "report-bad-utf8.bin", envelope(12, report(
        RID, "18073", "HT-VSTBPN-6T", "2026-H1", 1, {},
        {"situation": b"\xc3\x28 \xff".decode("latin-1")})))
    out(t, "report-unknown-unit.bin", envelope(12, report(
        RID, "99999", "HT-VSTBPN-6T", "2026-H1", 1, {"TC1.so": 1}, {})))
    out(t, "report-other-form.bin", envelope(12, report(
        RID, "18073", "DB-LDLD-NUCB-2020", "2018-2023", 1,
        {"CDCS.bch_total": 10, "CDCS.bch_women": 11}, {}, form_version=1)))
    out(t, "report-form-version-9.bin", envelope(12, report(
        RID, "18073", "HT-VSTBPN-6T", "2026-H1", 1, {}, {}, form_version=9)))
    out(t, "report-bad-period.bin", envelope(12, report(
        RID, "18073", "HT-VSTBPN-6T", "2026-H3", 1, {"nope": -1}, {})))
    hello = (f_bytes(1, "0.1.0") + f_bytes(2, "18073") + f_bytes(2, "18076")
             + f_varint(3, 2) + f_varint(4, 60) + f_varint(5, 1767225600000)
             + f_bytes(6, "db-1")
             + f_bytes(7, f_bytes(1, "HT-VSTBPN-6T") + f_varint(2, 1))
             + f_bytes(7, f_bytes(1, "X") + f_varint(2, 7)))
    out(t, "hello.bin", envelope(10, hello))
    out(t, "ack.bin", envelope(13, f_bytes(1, RID) + f_varint(2, 42)
                               + f_varint(3, 1767225600000) + f_varint(4, 1)))
    out(t, "nack.bin", envelope(14, f_bytes(1, RID) + f_varint(2, 2)
                                + f_bytes(3, "invalid") + f_bytes(4, "why")))
    out(t, "welcome.bin", envelope(11, f_bytes(1, "db") + f_bytes(3, "18073")))
    out(t, "form.bin", envelope(15, f_bytes(1, "F") + f_varint(2, 1)
                                + f_bytes(3, "{}")))
    out(t, "version-2.bin", envelope(12, ok, version=2))
    out(t, "no-body.bin", f_varint(1, 1))
    out(t, "truncated.bin", envelope(12, ok)[:40])
    out(t, "length-too-long.bin", f_varint(1, 1) + varint(12 << 3 | 2)
        + varint(1 << 40) + b"x")
    out(t, "many-cells.bin", envelope(12, report(
        RID, "18073", "HT-VSTBPN-6T", "2026-H1", 1,
        {"c%04d" % i: i for i in range(300)}, {})))


# --- JSON reports -----------------------------------------------------------

def report_json():
    t = "report_json"
    for name in sorted(os.listdir(os.path.join(TOP, "deploy/samples"))):
        copy(t, "deploy/samples/" + name)
    base = ('{"unit": "18073", "form": "HT-VSTBPN-6T", "period": "2026-H1", '
            '"revision": 1, ')
    out(t, "small.json", base + '"cells": {"TC1.so": 3, "TT3.nu": null}, '
        '"texts": {"situation": "T\\u00ecnh h\\u00ecnh", "x": null}}')
    out(t, "form-version.json", base + '"form_version": 1, "cells": {}}')
    out(t, "duplicate-key.json", base + '"cells": {"a": 1, "a": 2}}')
    out(t, "unknown-field.json", base + '"cell": {}}')
    out(t, "float.json", base + '"cells": {"a": 1.5, "b": 1e999}}')
    out(t, "huge.json", base + '"cells": {"a": 9223372036854775807, '
        '"b": -9223372036854775808, "c": 18446744073709551616}}')
    out(t, "nul-text.json", base + '"texts": {"a": "x\\u0000y", '
        '"b": "\\ud800"}}')
    out(t, "wrong-types.json", '{"unit": 18073, "form": [], "period": {}, '
        '"revision": "1", "cells": [1], "texts": 3}')
    out(t, "revision-0.json", base.replace('"revision": 1', '"revision": 0')
        + '"cells": {}}')
    out(t, "bad-code.json", base.replace("18073", "18 073") + '"cells": {}}')
    out(t, "bom.json", b"\xef\xbb\xbf" + (base + '"cells": {}}').encode())
    out(t, "deep.json", "[" * 2000 + "]" * 2000)
    out(t, "array.json", "[1, 2, 3]")
    out(t, "empty.json", "")


# --- CSV --------------------------------------------------------------------

def csv():
    t = "csv"
    for name in ["libreoffice-calc.csv", "libreoffice-calc-semicolon.csv",
                 "excel-semicolon-vi.csv", "excel-cp1258-vi.csv",
                 "excel-thousands-comma.csv", "excel-utf8-bom-crlf.csv",
                 "quoted-newlines.csv", "trailing-empty.csv",
                 "bad-stray-byte.csv", "bad-viscii.csv", "bad-binary.csv",
                 "bad-letters.csv"]:
        copy(t, "tests/fixtures/csv/" + name)
    # UTF-16 ("Unicode Text"): its start is enough.
    with open(os.path.join(TOP, "tests/fixtures/csv/"
                           "bad-utf16-unicode-text.csv"), "rb") as f:
        out(t, "bad-utf16-start.csv", f.read(600))
    small = ("\ufeff#gom,form,HT-VSTBPN-6T,version,1,period,2026-H1,unit,18073,"
             "revision,1\r\n#section,ToChuc,Công tác tổ chức\r\n"
             "#columns,,,so\r\n#,STT,Nội dung,Số lượng\r\n"
             "TC1,1,Số lượng,\"1.234\"\r\nTC2,2,Số,1 234\r\nTC3,3,x,-0\r\n"
             "#text,situation,Tình hình chung,\"Dòng 1\r\nDòng 2\"\r\n")
    out(t, "small.csv", small)
    out(t, "small-semicolon.csv", small.replace(",", ";"))
    out(t, "not-gom.csv", "a,b,c\n1,2,3\n")
    out(t, "empty.csv", "")


# --- workbooks --------------------------------------------------------------

XLSX = "tests/fixtures/xlsx/"


def xlsx():
    t = "xlsx"
    copy(t, XLSX + "DB-LDLD-NUCB-2020-18073-hand.xlsx")
    copy(t, XLSX + "DB-LDLD-NUCB-2020-18076-libreoffice.xlsx")
    out(t, "ole.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 56)
    out(t, "pk-cut.xlsx", b"PK\x03\x04\x14\x00\x00\x00")
    out(t, "empty.xlsx", b"")
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    out(t, "zip-no-workbook.xlsx", b.getvalue())
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_STORED) as z:
        src = zipfile.ZipFile(os.path.join(TOP, XLSX +
                                           "DB-LDLD-NUCB-2020-18073-hand.xlsx"))
        for name in ["xl/workbook.xml", "xl/_rels/workbook.xml.rels"]:
            z.writestr(name, src.read(name))
        z.writestr("xl/worksheets/sheet1.xml", SMALL_SHEET)
    out(t, "stored-inline.xlsx", b.getvalue())


SST = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns='
       '"http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
SHEET = ('<?xml version="1.0" encoding="UTF-8"?>\n<worksheet xmlns='
         '"http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
         '<sheetData>')


def inline(ref, text):
    return '<c r="%s" t="inlineStr"><is><t>%s</t></is></c>' % (ref, text)


def row(number, cells):
    return '<row r="%d">%s</row>' % (number, "".join(cells))


SMALL_SHEET = SHEET + "".join([
    row(1, [inline("A1", "#gom"), inline("B1", "form"),
            inline("C1", "DB-LDLD-NUCB-2020"), inline("D1", "version"),
            '<c r="E1"><v>1</v></c>', inline("F1", "period"),
            inline("G1", "2018-2023"), inline("H1", "unit"),
            inline("I1", "18073"), inline("J1", "revision"),
            '<c r="K1" t="str"><f>1</f><v>1</v></c>']),
    row(6, [inline("A6", "#section"), inline("B6", "NCB")]),
    row(7, [inline("A7", "#columns"), inline("D7", "bch_total"),
            inline("E7", "bch_women")]),
    row(9, [inline("A9", "CDCS"), '<c r="D9"><v>12.0000000001</v></c>',
            '<c r="E9" t="inlineStr"><is><r><t>1.</t></r><r><t>234</t></r>'
            '<rPh><t>x</t></rPh></is></c>']),
    row(10, ['<c><is><t>CDCT</t></is></c>', '<c/>', '<c/>',
             '<c t="n"><v>1E2</v></c>', '<c t="b"><v>1</v></c>']),
    row(11, [inline("A11", "LDLD"), '<c r="D11" t="e"><v>#DIV/0!</v></c>']),
]) + "</sheetData></worksheet>"


def xlsx_sheet():
    t = "xlsx_sheet"
    for name in ["DB-LDLD-NUCB-2020-18073-hand.xlsx",
                 "DB-LDLD-NUCB-2020-18076-libreoffice.xlsx"]:
        z = zipfile.ZipFile(os.path.join(TOP, XLSX + name))
        data = (z.read("xl/sharedStrings.xml") + b"<!--gom:sheet-->"
                + z.read("xl/worksheets/sheet1.xml"))
        out(t, name.replace(".xlsx", ".xml"), data)
    out(t, "inline-only.xml", SMALL_SHEET)
    out(t, "shared.xml", SST + "<si><t>#gom</t></si><si><r><t>fo</t></r>"
        "<r><t>rm</t></r></si><si/><si><t>x</t><rPh><t>y</t></rPh></si>"
        "</sst><!--gom:sheet-->" + SHEET
        + '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v>'
        '</c><c r="C1" t="s"><v>3</v></c><c r="D1" t="s"><v>99</v></c></row>'
        "</sheetData></worksheet>")
    out(t, "bad-ref.xml", SHEET + '<row r="2"><c r="A1"><v>1</v></c></row>'
        '<row r="1"/><row><c r="XFE1"/><c r="A0"/></row>'
        "</sheetData></worksheet>")
    out(t, "not-xml.xml", "<worksheet><sheetData><row>")


# --- forms ------------------------------------------------------------------

SMALL_FORM = {
    "form": "F", "version": 1, "title": "Biểu nhỏ", "period": "half-year",
    "deadline": {"H1": "06-15", "H2": "12-15"},
    "sections": [{
        "code": "S", "title": "Mục", "required": False,
        "columns": [{"code": "total", "label": "Tổng"},
                    {"code": "a", "label": "A"}, {"code": "b", "label": "B"}],
        "sum_columns": {"total": ["a", "b"]},
        "rows": [
            {"code": "R1", "no": "1", "label": "Hàng 1"},
            {"code": "R2", "no": "2", "label": "Hàng 2", "le": "R1",
             "min": -5},
            {"no": "", "label": "Tiêu đề", "heading": True},
            {"code": "R3", "no": "-", "label": "Hàng 3",
             "columns": ["total"], "required": True}]}],
    "checks": [{"type": "le", "cell": "R3.total", "max": "R1.total"},
               {"type": "sum", "cell": "R1.total",
                "parts": ["R1.a", "R1.b"]},
               {"type": "required", "cells": ["R1.a"]}],
    "indicators": [{"code": "i", "label": "Tỷ lệ",
                    "numerator": ["R1.a"], "denominator": ["R1.total"],
                    "scale": 100, "target": {"min": 20, "max": 80}}],
    "texts": [{"code": "situation", "label": "Tình hình", "required": True}],
}


def form():
    t = "form"
    for name in sorted(os.listdir(os.path.join(TOP, "deploy/forms"))):
        if name.endswith(".json"):
            copy(t, "deploy/forms/" + name)
    out(t, "small.json", json.dumps(SMALL_FORM, ensure_ascii=False))
    year = dict(SMALL_FORM, period="year", deadline={"year": "03-31"})
    out(t, "small-year.json", json.dumps(year, ensure_ascii=False))
    rng = dict(SMALL_FORM, period="range", periods=["2016-2020"],
               deadline={"date": "2020-12-31"})
    out(t, "small-range.json", json.dumps(rng, ensure_ascii=False))
    bad = dict(SMALL_FORM, checks=[{"type": "sum", "cell": "R1.total",
                                    "parts": ["R1.total", "nope"]}])
    out(t, "bad-check.json", json.dumps(bad, ensure_ascii=False))
    bad = dict(SMALL_FORM, deadline={"H1": "02-30", "H2": "13-01"})
    out(t, "bad-deadline.json", json.dumps(bad, ensure_ascii=False))
    out(t, "empty-object.json", "{}")
    out(t, "syntax.json", '{"form": "F", "version": 1,')


# --- unit trees -------------------------------------------------------------

def units():
    t = "units"
    copy(t, "deploy/units-ha-tinh-sample.csv")
    copy(t, "deploy/units-ha-tinh-demo.csv")
    out(t, "dates-bom.csv",
        "\ufeffcode,name,parent,level,active_from,inactive_from\r\n"
        "42,Tỉnh Hà Tĩnh,,province,,\r\n"
        "436,Thành phố Hà Tĩnh,42,district,,2025-07-01\r\n"
        "18073,\"Phường Bắc Hà, TP Hà Tĩnh\",436,commune,,\r\n"
        "18074,Xã mới,42,commune,2025-07-01,\r\n"
        "LDLD,Liên đoàn Lao động tỉnh,,federation,,\r\n")
    out(t, "four-columns.csv", "code,name,parent,level\n1,A,,x\n2,B,1,y\n")
    out(t, "cycle.csv", "code,name,parent,level\n1,A,2,x\n2,B,1,y\n")
    out(t, "missing-parent.csv", "code,name,parent,level\n1,A,9,x\n")
    out(t, "duplicate.csv", "code,name,parent,level\n1,A,,x\n1,B,,y\n")
    out(t, "bad-date.csv", "code,name,parent,level,active_from,inactive_from"
        "\n1,A,,x,2025-02-30,2024-01-01\n")
    out(t, "header-only.csv", "code,name,parent,level\n")
    out(t, "empty.csv", "")


# --- config files -----------------------------------------------------------

KEY = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"


def config():
    t = "config"
    copy(t, "deploy/agent.cfg.sample")
    copy(t, "deploy/hub.cfg.sample")
    out(t, "agent.cfg", "agent\n    hub = \"tcp://127.0.0.1:7770\"\n"
        "    hub_key = \"%s\"\n    units = \"18073,18076\"\n"
        "    window = 8\n    resend_min_ms = 500\n" % KEY)
    out(t, "hub.cfg", "hub\n    endpoint = \"tcp://*:7770\"\n"
        "    batch_max = 1\n    forms = \"/etc/gom/forms\"\n"
        "    http_port = 0\n")
    out(t, "bad-int.cfg", "hub\n    batch_max = 12x\n    backlog = -1\n"
        "    io_threads = 99999999999999999999\n")
    out(t, "nested.cfg", "hub\n    a\n        b = 1\n            c = 2\n"
        "agent = x\n    hub = tcp://\n")
    out(t, "syntax.cfg", "hub\n  bad indent = \"unterminated\n")
    out(t, "empty.cfg", "")


def main():
    clean()
    wire()
    report_json()
    csv()
    xlsx()
    xlsx_sheet()
    form()
    units()
    config()
    total = 0
    for target in sorted(os.listdir(CORPUS)):
        d = os.path.join(CORPUS, target)
        size = sum(os.path.getsize(os.path.join(d, n)) for n in os.listdir(d))
        total += size
        print("%-12s %3d files %7d bytes" % (target, len(os.listdir(d)), size))
    print("total %d bytes" % total)


if __name__ == "__main__":
    main()
