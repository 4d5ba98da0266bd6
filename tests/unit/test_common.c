/*  Unit tests of common/: text checks, lists, the wire codec (garbage,
    truncation, versions, budget) and reading report files. */
#include "check.h"
#include "gom_csv.h"
#include "gom_report.h"
#include "gom_util.h"
#include "gom_wire.h"

#include <string.h>
#include <unistd.h>

static char s_dir [] = "/tmp/gom-test-common-XXXXXX";

static const char *
s_file (const char *name, const char *text)
{
    static char path [256];
    snprintf (path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen (path, "w");
    fputs (text, f);
    fclose (f);
    return path;
}

static void
test_util (void)
{
    CHECK (gom_utf8_valid ("Tổng số nữ", strlen ("Tổng số nữ")));
    CHECK (!gom_utf8_valid ("\xC3", 1));          //  truncated
    CHECK (!gom_utf8_valid ("\xC0\xAF", 2));      //  overlong
    CHECK (!gom_utf8_valid ("\xED\xA0\x80", 3));  //  surrogate
    CHECK (!gom_utf8_valid ("a\0b", 3));          //  NUL
    //  A message cut inside a character loses only that character.
    const char *whole [] = { "", "a", "nữ", "Tổng số nữ", "€", "😀" };
    for (size_t i = 0; i < sizeof whole / sizeof whole [0]; i++) {
        size_t len = strlen (whole [i]);
        for (size_t cut = 0; cut <= len; cut++) {
            char buf [32];
            snprintf (buf, sizeof buf, "%.*s", (int)cut, whole [i]);
            gom_utf8_mend_end (buf);
            CHECK (gom_utf8_valid (buf, strlen (buf)) &&
                   strncmp (buf, whole [i], strlen (buf)) == 0 &&
                   cut - strlen (buf) < 4);
            CHECK (cut < len || strcmp (buf, whole [i]) == 0);
        }
    }
    CHECK (gom_code_valid ("DB-01.x:2"));
    CHECK (!gom_code_valid (""));
    CHECK (!gom_code_valid ("a b"));
    CHECK (!gom_code_valid ("Tổng"));
    CHECK (!gom_code_valid (NULL));
    char code [66];
    memset (code, 'x', 65);
    code [64] = 0;
    CHECK (gom_code_valid (code));  //  GOM_CODE_MAX
    code [64] = 'x';
    code [65] = 0;
    CHECK (!gom_code_valid (code));
    size_t n = 0;
    char **v = gom_split_list (" A, B ,,C ", &n);
    CHECK (n == 3 && strcmp (v [0], "A") == 0 && strcmp (v [2], "C") == 0 &&
           v [3] == NULL);
    gom_strv_free (&v);
    CHECK (v == NULL);
    CHECK (gom_key_valid ("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"));
    CHECK (!gom_key_valid ("short"));
    //  40 characters, each mark of Z85 once, and two that are not Z85.
    CHECK (gom_key_valid ("Az09.-:+=^!/*?&<>()[]{}@%$#abcdefghijklm"));
    CHECK (!gom_key_valid ("Az09.-:+=^!/*?&<>()[]{}@%$#abcdefghijkl "));
    CHECK (!gom_key_valid ("Az09.-:+=^!/*?&<>()[]{}@%$#abcdefghijkl\""));
    char fp [16];
    gom_key_fingerprint ("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", fp,
                         sizeof fp);
    CHECK (strlen (fp) == 14 && fp [4] == '-');
}

//  A report for unit U1, form F1, period 2026-H1 with these cells.
static void
s_test_report (Gom__Report *r, uint8_t *id, uint32_t revision,
               Gom__Cell **cells, size_t n_cells)
{
    gom__report__init (r);
    r->report_id.data = id;
    r->report_id.len = 16;
    r->unit = "U1";
    r->form = "F1";
    r->period = "2026-H1";
    r->revision = revision;
    r->cells = cells;
    r->n_cells = n_cells;
}

static void
test_wire (void)
{
    //  Garbage and empty input: never a crash, always a status.
    uint8_t junk [64];
    for (int round = 0; round < 2000; round++) {
        size_t len = (size_t)(round % 64);
        gom_random (junk, len);
        gom_wire_msg_t *m = gom_wire_decode (junk, len, 1 << 20);
        CHECK (m != NULL);
        if (gom_wire_status (m) == GOM_WIRE_OK)
            CHECK (gom_wire_env (m)->version == GOM_PROTOCOL_VERSION);
        gom_wire_msg_destroy (&m);
    }
    //  A real report round trip through wrap_report.
    Gom__Cell c1 = GOM__CELL__INIT, c2 = GOM__CELL__INIT;
    c1.code = "A";
    c1.value = 5;
    c2.code = "B";
    c2.value = -1;
    Gom__Cell *cells [] = { &c1, &c2 };
    Gom__Report r;
    uint8_t id [16] = { 1, 2, 3 };
    s_test_report (&r, id, 2, cells, 2);
    uint8_t packed [256];
    size_t plen = gom__report__pack (&r, packed);
    size_t elen = 0;
    uint8_t *env = gom_wire_wrap_report (packed, plen, &elen);
    gom_wire_msg_t *m = gom_wire_decode (env, elen, 1 << 20);
    CHECK (gom_wire_status (m) == GOM_WIRE_OK);
    Gom__Envelope *e = gom_wire_env (m);
    CHECK (e && e->body_case == GOM__ENVELOPE__BODY_REPORT);
    CHECK (e && e->report->revision == 2 && e->report->n_cells == 2 &&
           e->report->cells [1]->value == -1);
    char err [200];
    CHECK (e && gom_report_check (e->report, err, sizeof err) == 0);
    gom_wire_msg_destroy (&m);
    //  Every truncation decodes to an error or to something check refuses
    //  or to a well-formed prefix; never a crash.
    for (size_t cut = 0; cut < elen; cut++) {
        m = gom_wire_decode (env, cut, 1 << 20);
        CHECK (m != NULL);
        gom_wire_msg_destroy (&m);
    }
    //  A report far larger than its first arena block: 3,000 cells and
    //  two long texts decode whole (the arena grows block by block), and
    //  a budget a little short of it fails cleanly.
    {
        enum { N = 3000 };
        Gom__Report big = r;
        Gom__Cell *bc = calloc (N, sizeof *bc);
        Gom__Cell **bp = calloc (N, sizeof *bp);
        char (*codes) [8] = calloc (N, 8);
        CHECK (bc && bp && codes);
        for (size_t i = 0; i < N; i++) {
            gom__cell__init (&bc [i]);
            snprintf (codes [i], 8, "C%04zu", i);
            bc [i].code = codes [i];
            bc [i].value = (int64_t)(i * 7919);
            bp [i] = &bc [i];
        }
        big.cells = bp;
        big.n_cells = N;
        char *long_text = malloc (40001);
        CHECK (long_text);
        memset (long_text, 'x', 40000);
        long_text [40000] = 0;
        Gom__Text t1 = GOM__TEXT__INIT, t2 = GOM__TEXT__INIT;
        t1.code = "T1";
        t1.text = "short";
        t2.code = "T2";
        t2.text = long_text;
        Gom__Text *texts [] = { &t1, &t2 };
        big.texts = texts;
        big.n_texts = 2;
        size_t blen = gom__report__get_packed_size (&big);
        uint8_t *bpacked = malloc (blen);
        CHECK (bpacked);
        gom__report__pack (&big, bpacked);
        size_t belen = 0;
        uint8_t *benv = gom_wire_wrap_report (bpacked, blen, &belen);
        gom_wire_msg_t *bm = gom_wire_decode (benv, belen, 8 * belen + 65536);
        CHECK (gom_wire_status (bm) == GOM_WIRE_OK);
        Gom__Envelope *be = gom_wire_env (bm);
        CHECK (be && be->report->n_cells == N && be->report->n_texts == 2);
        bool same = be && be->report->n_cells == N;
        for (size_t i = 0; same && i < N; i++)
            same = strcmp (be->report->cells [i]->code, codes [i]) == 0 &&
                   be->report->cells [i]->value == (int64_t)(i * 7919);
        CHECK (same);
        CHECK (be && strcmp (be->report->texts [0]->text, "short") == 0 &&
               strcmp (be->report->texts [1]->text, long_text) == 0);
        gom_wire_msg_destroy (&bm);
        bm = gom_wire_decode (benv, belen, belen);
        CHECK (gom_wire_status (bm) == GOM_WIRE_MALFORMED);
        gom_wire_msg_destroy (&bm);
        free (benv);
        free (bpacked);
        free (long_text);
        free (codes);
        free (bp);
        free (bc);
    }
    //  A version we do not speak.
    env [1] = 9;
    m = gom_wire_decode (env, elen, 1 << 20);
    CHECK (gom_wire_status (m) == GOM_WIRE_VERSION);
    CHECK (strstr (gom_wire_error (m), "version 9") != NULL);
    gom_wire_msg_destroy (&m);
    env [1] = 1;
    //  The allocation budget turns a large unpack into a clean failure.
    m = gom_wire_decode (env, elen, 16);
    CHECK (gom_wire_status (m) == GOM_WIRE_MALFORMED);
    gom_wire_msg_destroy (&m);
    free (env);
    //  Out-of-order cells are refused by the check.
    Gom__Cell *rev [] = { &c2, &c1 };
    r.cells = rev;
    CHECK (gom_report_check (&r, err, sizeof err) != 0);
}

//  A frame gom_wire_decode_keeping decodes to the test's report (its cell
//  A = 42) without keeping its bytes.
static void
s_report_not_kept (const uint8_t *frame, size_t len)
{
    gom_wire_msg_t *m = gom_wire_decode_keeping (frame, len, 1 << 20);
    CHECK (gom_wire_status (m) == GOM_WIRE_OK);
    Gom__Envelope *e = gom_wire_env (m);
    CHECK (e && e->body_case == GOM__ENVELOPE__BODY_REPORT &&
           e->report->cells [0]->value == 42);
    size_t blen = 1;
    CHECK (gom_wire_report_bytes (m, &blen) == NULL && blen == 0);
    gom_wire_msg_destroy (&m);
}

//  gom_wire_decode_keeping: a report envelope's report kept as the bytes
//  that came, and anything else decoded as gom_wire_decode does.
static void
test_wire_keeping (void)
{
    Gom__Cell c1 = GOM__CELL__INIT;
    c1.code = "A";
    c1.value = 42;
    Gom__Cell *cells [] = { &c1 };
    Gom__Report r;
    uint8_t id [16] = { 7 };
    s_test_report (&r, id, 3, cells, 1);
    r.sealed_at_ms = 1234;
    uint8_t packed [256];
    size_t plen = gom__report__pack (&r, packed);
    size_t elen = 0;
    uint8_t *env = gom_wire_wrap_report (packed, plen, &elen);
    uint8_t frame [300];
    CHECK (env && elen + 8 < sizeof frame);
    memcpy (frame, env, elen);

    //  The report, and its bytes exactly as packed.
    gom_wire_msg_t *m = gom_wire_decode_keeping (frame, elen, 1 << 20);
    CHECK (gom_wire_status (m) == GOM_WIRE_OK);
    Gom__Envelope *e = gom_wire_env (m);
    CHECK (e && e->version == GOM_PROTOCOL_VERSION &&
           e->body_case == GOM__ENVELOPE__BODY_REPORT);
    CHECK (e && e->report->revision == 3 && e->report->n_cells == 1 &&
           e->report->cells [0]->value == 42 &&
           strcmp (e->report->unit, "U1") == 0);
    size_t blen = 0;
    const uint8_t *bytes = gom_wire_report_bytes (m, &blen);
    CHECK (bytes && blen == plen && memcmp (bytes, packed, plen) == 0);
    gom_wire_msg_destroy (&m);

    //  Another field after it (unknown here, field 20 = 5): decoded whole,
    //  no bytes kept (they would not be all the envelope said).
    memcpy (frame + elen, "\xa0\x01\x05", 3);
    s_report_not_kept (frame, elen + 3);

    //  A field of the report unknown here (field 20 = 5, inside it): the
    //  report decoded, its bytes not kept (they were not all checked).
    {
        uint8_t inner [300];
        memcpy (inner, packed, plen);
        memcpy (inner + plen, "\xa0\x01\x05", 3);
        size_t ilen = 0;
        uint8_t *ienv = gom_wire_wrap_report (inner, plen + 3, &ilen);
        s_report_not_kept (ienv, ilen);
        free (ienv);
    }

    //  A field unknown here inside a cell: the same.
    {
        uint8_t five = 5;
        ProtobufCMessageUnknownField uf = { 20, PROTOBUF_C_WIRE_TYPE_VARINT, 1,
                                            &five };
        c1.base.n_unknown_fields = 1;
        c1.base.unknown_fields = &uf;
        uint8_t inner [300];
        size_t ilen = gom__report__pack (&r, inner);
        c1.base.n_unknown_fields = 0;
        c1.base.unknown_fields = NULL;
        CHECK (ilen == plen + 3);
        size_t elen2 = 0;
        uint8_t *ienv = gom_wire_wrap_report (inner, ilen, &elen2);
        s_report_not_kept (ienv, elen2);
        free (ienv);
    }

    //  A hello after the report (field 10, empty): the last of the oneof
    //  is the body, as gom_wire_decode has it.
    memcpy (frame + elen, "\x52\x00", 2);
    m = gom_wire_decode_keeping (frame, elen + 2, 1 << 20);
    gom_wire_msg_t *plain = gom_wire_decode (frame, elen + 2, 1 << 20);
    CHECK (gom_wire_status (m) == GOM_WIRE_OK &&
           gom_wire_status (plain) == GOM_WIRE_OK);
    CHECK (gom_wire_env (m) && gom_wire_env (plain) &&
           gom_wire_env (m)->body_case == GOM__ENVELOPE__BODY_HELLO &&
           gom_wire_env (plain)->body_case == GOM__ENVELOPE__BODY_HELLO);
    CHECK (gom_wire_report_bytes (m, &blen) == NULL);
    gom_wire_msg_destroy (&m);
    gom_wire_msg_destroy (&plain);

    //  A hello alone.
    Gom__Envelope he = GOM__ENVELOPE__INIT;
    Gom__Hello hello = GOM__HELLO__INIT;
    hello.agent_version = "t";
    he.body_case = GOM__ENVELOPE__BODY_HELLO;
    he.hello = &hello;
    size_t hlen = 0;
    uint8_t *hframe = gom_wire_encode (&he, &hlen);
    m = gom_wire_decode_keeping (hframe, hlen, 1 << 20);
    CHECK (gom_wire_status (m) == GOM_WIRE_OK && gom_wire_env (m) &&
           gom_wire_env (m)->body_case == GOM__ENVELOPE__BODY_HELLO &&
           strcmp (gom_wire_env (m)->hello->agent_version, "t") == 0);
    CHECK (gom_wire_report_bytes (m, &blen) == NULL);
    gom_wire_msg_destroy (&m);
    free (hframe);

    //  Report bytes that are not a report: malformed, as before.
    const uint8_t notreport [] = { 0x08, 0x01, 0x62, 0x03, 0xff, 0xff, 0xff };
    m = gom_wire_decode_keeping (notreport, sizeof notreport, 1 << 20);
    CHECK (gom_wire_status (m) == GOM_WIRE_MALFORMED);
    CHECK (gom_wire_env (m) == NULL);
    gom_wire_msg_destroy (&m);
    //  A version we do not speak; a budget too small.
    frame [1] = 9;
    m = gom_wire_decode_keeping (frame, elen, 1 << 20);
    CHECK (gom_wire_status (m) == GOM_WIRE_VERSION);
    gom_wire_msg_destroy (&m);
    frame [1] = 1;
    m = gom_wire_decode_keeping (frame, elen, 16);
    CHECK (gom_wire_status (m) == GOM_WIRE_MALFORMED);
    gom_wire_msg_destroy (&m);
    //  Garbage and every truncation: a status, never a crash, and the
    //  same status as gom_wire_decode gives.
    uint8_t junk [64];
    for (int round = 0; round < 2000; round++) {
        size_t len = (size_t)(round % 64);
        gom_random (junk, len);
        if (round % 2)
            memcpy (junk, frame, len < elen ? len : elen);
        m = gom_wire_decode_keeping (junk, len, 1 << 20);
        plain = gom_wire_decode (junk, len, 1 << 20);
        CHECK (gom_wire_status (m) == gom_wire_status (plain));
        gom_wire_msg_destroy (&m);
        gom_wire_msg_destroy (&plain);
    }
    free (env);
}

static void
test_report_json (void)
{
    char err [300];
    Gom__Report *r = gom_report_from_json (
        s_file ("ok.json",
                "{\"unit\":\"U1\",\"form\":\"F1\",\"period\":\"2026-H1\","
                "\"revision\":1,\"cells\":{\"B\":2,\"A\":1,\"C\":null},"
                "\"texts\":{\"N\":\"Tổng số nữ\"}}"),
        err, sizeof err);
    CHECK (r != NULL);
    if (r) {
        CHECK (r->n_cells == 2);  //  null is "not reported", not zero
        CHECK (strcmp (r->cells [0]->code, "A") == 0);
        CHECK (r->n_texts == 1 &&
               strcmp (r->texts [0]->text, "Tổng số nữ") == 0);
        size_t l1 = 0, l2 = 0;
        uint8_t *a = gom_report_content (r, &l1);
        r->revision = 7;  //  the natural key is not content
        uint8_t *b = gom_report_content (r, &l2);
        CHECK (l1 == l2 && memcmp (a, b, l1) == 0);
        free (a);
        free (b);
        gom_report_free (&r);
        CHECK (r == NULL);
    }
    struct {
        const char *text, *expect;
    } bad [] = {
        { "{\"unit\":", "line 1" },
        { "[]", "JSON object" },
        { "{\"form\":\"F\",\"period\":\"P\",\"revision\":1}",
          "\"unit\" is missing" },
        { "{\"unit\":\"U 1\",\"form\":\"F\",\"period\":\"P\",\"revision\":1}",
          "\"unit\" must be a code" },
        { "{\"unit\":\"U\",\"form\":\"F\",\"period\":\"P\",\"revision\":0}",
          "revision" },
        { "{\"unit\":\"U\",\"form\":\"F\",\"period\":\"P\",\"revision\":1,"
          "\"cells\":{\"A\":1.5}}",
          "cell A: must be a whole number" },
        { "{\"unit\":\"U\",\"form\":\"F\",\"period\":\"P\",\"revision\":1,"
          "\"cells\":{\"A\":\"7\"}}",
          "cell A" },
        { "{\"unit\":\"U\",\"form\":\"F\",\"period\":\"P\",\"revision\":1,"
          "\"colour\":1}",
          "unknown field \"colour\"" },
        { "{\"unit\":\"U\",\"unit\":\"V\",\"form\":\"F\",\"period\":\"P\","
          "\"revision\":1}",
          "duplicate" },
        { "{\"unit\":\"U\",\"form\":\"F\",\"period\":\"P\",\"revision\":1,"
          "\"cells\":{\"A\":99999999999999999999999}}",
          "line 1" },
        { "\xff\xfe{}", "line 1" },
        { "{\"unit\":\"U\",\"form\":\"F\",\"period\":\"P\",\"revision\":1,"
          "\"cells\":{\"A\":1000000000001}}",
          "cell A = 1000000000001: larger than gom takes" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        err [0] = 0;
        r = gom_report_from_json (s_file ("bad.json", bad [i].text), err,
                                  sizeof err);
        CHECK (r == NULL);
        if (!strstr (err, bad [i].expect))
            fprintf (stderr, "case %zu: got \"%s\", want \"%s\"\n", i, err,
                     bad [i].expect);
        CHECK (strstr (err, bad [i].expect) != NULL);
        gom_report_free (&r);
    }
}

static void
test_csv (void)
{
    char err [300];
    struct {
        const char *text, *expect;
    } bad [] = {
        { "#gom,form,F,form,G,period,2026,unit,U,revision,1\n",
          "line 1: \"form\" is given twice" },
        { "#gom,form,F,period,2026,revision,1\n",
          "lacks form, period, unit or revision" },
        { "#gom,form,F,version,-1,period,2026,unit,U,revision,1\n",
          "version \"-1\" is not a whole number" },
        { "a,b\n", "line 1: not a gom template" },
        { "#gom,form,F,period,2026,unit,U,revision,1\n#columns,,,a\n"
          "R,,x,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,"
          "24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,"
          "46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65\n",
          "line 3: 68 fields: at most 64" },
        { "#gom,form,F,period,2026,unit,U,revision,1\n#columns,,,a\n"
          "R,,x,1.5\n",
          "line 3: ô R.a (x): \"1.5\" không phải số nguyên / cell R.a: "
          "\"1.5\" is not a whole number" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        err [0] = 0;
        Gom__Report *r =
            gom_csv_read (s_file ("t.csv", bad [i].text), err, sizeof err);
        CHECK (r == NULL);
        if (!strstr (err, bad [i].expect))
            fprintf (stderr, "csv case %zu: got \"%s\", want \"%s\"\n", i, err,
                     bad [i].expect);
        CHECK (strstr (err, bad [i].expect) != NULL);
        gom_report_free (&r);
    }
    Gom__Report *r = gom_csv_read (
        s_file ("ok.csv",
                "\xEF\xBB\xBF#gom;form;F;period;2026;unit;U;revision;2\r\n"
                "#columns;;;a;b\r\nR;1;\"nhãn; có dấu\";1.234;\r\n"),
        err, sizeof err);
    CHECK (r != NULL);
    if (r) {
        CHECK (r->revision == 2 && r->n_cells == 1);
        CHECK (strcmp (r->cells [0]->code, "R.a") == 0 &&
               r->cells [0]->value == 1234);
    }
    else
        fprintf (stderr, "%s\n", err);
    gom_report_free (&r);
}

//  CSV in other encodings than UTF-8 (gom_csv_read_noted).
static void
test_csv_encodings (void)
{
    char err [2048], warn [2048];
    const char *head = "#gom;form;F;period;2026;unit;U;revision;1\r\n"
                       "#text;t;;";
    //  Windows-1258 as Excel writes it on Vietnamese Windows: precomposed
    //  where the code page has the letter (0xD0 Đ, 0xFD ư, 0xE2 â), else the
    //  letter and a combining tone mark (0xCC grave, 0xEC acute, 0xDE tilde,
    //  0xD2 hook, 0xF2 dot below). glibc's iconv composes them (NFC).
    struct {
        const char *cp1258, *utf8;
    } good [] = {
        { "Vi\xEA\xF2t Nam", "Việt Nam" },
        { "\xD0\xFD\xF5\xCCng", "Đường" },
        { "a\xDE u\xD2 y\xEC \xE2\xEC o\xCC", "ã ủ ý ấ ò" },
        { "\x93"
          "Bi\xCCnh \xF0\xE3\xF2ng\x94 \x96 5\xFE\x85",
          "“Bình đặng” – 5₫…" },
    };
    for (size_t i = 0; i < sizeof good / sizeof good [0]; i++) {
        char text [300];
        snprintf (text, sizeof text, "%s%s\r\n", head, good [i].cp1258);
        Gom__Report *r = gom_csv_read_noted (s_file ("w.csv", text), warn,
                                             sizeof warn, err, sizeof err);
        CHECK (r && r->n_texts == 1);
        if (r && r->n_texts == 1) {
            if (strcmp (r->texts [0]->text, good [i].utf8) != 0)
                fprintf (stderr, "cp1258 case %zu: got \"%s\"\n", i,
                         r->texts [0]->text);
            CHECK (strcmp (r->texts [0]->text, good [i].utf8) == 0);
        }
        else
            fprintf (stderr, "cp1258 case %zu: %s\n", i, err);
        CHECK (strstr (warn, "read as Windows-1258") != NULL);
        CHECK (strstr (warn, "CSV UTF-8 (Comma delimited)") != NULL);
        CHECK (strstr (warn, "đã đọc theo bảng mã Windows-1258") != NULL);
        gom_report_free (&r);
    }
    //  UTF-8 is read as it is, with no warning.
    char text [300];
    snprintf (text, sizeof text, "\xEF\xBB\xBF%sViệt Nam\r\n", head);
    Gom__Report *r = gom_csv_read_noted (s_file ("u.csv", text), warn,
                                         sizeof warn, err, sizeof err);
    CHECK (r && r->n_texts == 1 &&
           strcmp (r->texts [0]->text, "Việt Nam") == 0 && warn [0] == 0);
    gom_report_free (&r);

    struct {
        const char *text, *expect;
    } bad [] = {
        //  UTF-8 with one Latin-1 byte: line and byte offset (from the
        //  start of the file) named.
        { "#gom;form;F;period;2026;unit;U;revision;1\r\n#text;t;;Việt "
          "Nam, caf\xE9\r\n",
          "line 2: byte 0xE9 at byte offset 67 is not UTF-8 (the rest of the "
          "file is UTF-8: 1 bad byte" },
        //  A byte Windows-1258 does not define.
        { "#gom;form;F;period;2026;unit;U;revision;1\r\n#text;t;;Vi\xEA\xF2t "
          "\x81\r\n",
          "byte 0x81 at byte offset 58 is not a Windows-1258 character" },
        //  A tone mark after a letter that takes none.
        { "#gom;form;F;period;2026;unit;U;revision;1\r\n#text;t;;\xF0q\xEC\r\n",
          "a tone mark that goes with no letter" },
        //  A control character.
        { "#gom;form;F;period;2026;unit;U;revision;1\r\n#text;t;;\xF0\x01\r\n",
          "control character 0x01 at byte offset 53" },
        //  Latin-1, no letter only Vietnamese writes.
        { "#gom;form;F;period;2026;unit;U;revision;1\r\n#text;t;;caf\xE9\r\n",
          "line 2: the file is neither UTF-8 (byte 0xE9 at byte offset 55) "
          "nor Vietnamese text in Windows-1258 (not one Vietnamese letter" },
        //  Not UTF-8 and not a template at all.
        { "\xE9t\xE9\r\n", "line 1: not a gom template" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        err [0] = 0;
        r = gom_csv_read_noted (s_file ("b.csv", bad [i].text), warn,
                                sizeof warn, err, sizeof err);
        CHECK (r == NULL && warn [0] == 0);
        if (!strstr (err, bad [i].expect))
            fprintf (stderr, "encoding case %zu: got \"%s\", want \"%s\"\n", i,
                     err, bad [i].expect);
        CHECK (strstr (err, bad [i].expect) != NULL);
        if (i < 5)
            CHECK (strstr (err, "File > Save As > CSV UTF-8 (Comma delimited) "
                                "(*.csv)") &&
                   strstr (err, "Character set Unicode (UTF-8)") &&
                   strstr (err, "\ndòng "));
        gom_report_free (&r);
    }
    //  UTF-16 (Excel's "Unicode Text"), with its byte-order mark.
    const char utf16 [] = "\xFF\xFE#\0g\0o\0m\0\t\0";
    char path [256];
    snprintf (path, sizeof path, "%s/w16.csv", s_dir);
    FILE *f = fopen (path, "wb");
    fwrite (utf16, 1, sizeof utf16 - 1, f);
    fclose (f);
    r = gom_csv_read_noted (path, warn, sizeof warn, err, sizeof err);
    CHECK (r == NULL && strstr (err, "line 1: the file is UTF-16 text"));
    gom_report_free (&r);
}

static void
test_iso_time (void)
{
    //  Expected values from Python's datetime.
    struct {
        int64_t ms;
        const char *text;
    } cases [] = { { 0, "1970-01-01T00:00:00.000Z" },
                   { 1795975131106, "2026-11-29T17:58:51.106Z" },
                   { -1, "1969-12-31T23:59:59.999Z" },
                   { 253402300799999, "9999-12-31T23:59:59.999Z" } };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char buf [32];
        gom_iso_time (cases [i].ms, buf, sizeof buf);
        CHECK (strcmp (buf, cases [i].text) == 0);
    }
}

//  report_ids: the time in ms, big-endian, in the first 6 bytes; the rest
//  random (two ids of the same ms differ); ids of later times sort after.
static void
test_report_id (void)
{
    uint8_t a [GOM_ID_BYTES], b [GOM_ID_BYTES], c [GOM_ID_BYTES];
    int64_t ms = 1795975131106;  //  0x01A2 2875 AFE2
    CHECK (gom_report_id_new (a, ms) == 0);
    CHECK (gom_report_id_new (b, ms) == 0);
    CHECK (gom_report_id_new (c, ms + 1) == 0);
    const uint8_t want [6] = { 0x01, 0xA2, 0x28, 0x75, 0xAF, 0xE2 };
    CHECK (memcmp (a, want, 6) == 0);
    CHECK (memcmp (a, b, 6) == 0);
    CHECK (memcmp (a + 6, b + 6, GOM_ID_BYTES - 6) != 0);
    CHECK (memcmp (a, c, GOM_ID_BYTES) < 0 && memcmp (b, c, GOM_ID_BYTES) < 0);
    gom_report_id_set_time (c, 0);
    CHECK (memcmp (c, (uint8_t [6]){ 0 }, 6) == 0);
}

//  The resend timeout: srtt + 4 rttvar or the floor, doubled per attempt
//  or by Karn's shift, capped, plus up to a quarter of jitter that varies.
static void
test_rtt (void)
{
    gom_rtt_t rtt = { 0 };
    bool varied = false;
    int64_t first = gom_rtt_timeout (&rtt, 1, 2000, 60000);
    for (int i = 0; i < 200; i++) {
        int64_t t = gom_rtt_timeout (&rtt, 1, 2000, 60000);
        CHECK (t >= 2000 && t <= 2500);
        varied = varied || t != first;
        t = gom_rtt_timeout (&rtt, 3, 2000, 60000);
        CHECK (t >= 8000 && t <= 10000);
        t = gom_rtt_timeout (&rtt, 10, 2000, 60000);
        CHECK (t >= 60000 && t <= 75000);
    }
    CHECK (varied);
    gom_rtt_sample (&rtt, 4000);
    int64_t t = gom_rtt_timeout (&rtt, 1, 2000, 60000);
    int64_t rto = rtt.srtt + 4 * rtt.rttvar;
    CHECK (rto > 2000 && t >= rto && t <= rto + rto / 4);
    rtt.shift = 2;
    t = gom_rtt_timeout (&rtt, 1, 2000, 600000);
    CHECK (t >= 4 * rto && t <= 5 * rto);
}

//  An answer to another report: one last sent before the answered one was
//  first sent is lost (due now, its timeout over); any other's timeout
//  starts again from now, never sooner than it was.
static void
test_rtt_answered (void)
{
    int64_t due = 5000;
    bool timer = true;
    gom_rtt_answered (10, 7, 1000, 3000, &due, &timer);
    CHECK (due == 1000 && !timer);
    due = 5000, timer = true;
    gom_rtt_answered (10, 12, 1000, 3000, &due, &timer);
    CHECK (due == 5000 && timer);  //  sent after: its timeout, not sooner
    gom_rtt_answered (10, 12, 4000, 3000, &due, &timer);
    CHECK (due == 7000 && timer);  //  started again from now
    due = 5000;
    gom_rtt_answered (0, 7, 4000, 3000, &due, &timer);
    CHECK (due == 7000 && timer);  //  the answered one's order unknown
    due = 5000;
    gom_rtt_answered (10, 0, 4000, 3000, &due, &timer);
    CHECK (due == 7000 && timer);  //  not sent on this connection
}

int
main (void)
{
    if (!mkdtemp (s_dir))
        return 2;
    test_util ();
    test_iso_time ();
    test_wire ();
    test_wire_keeping ();
    test_report_json ();
    test_report_id ();
    test_rtt ();
    test_rtt_answered ();
    test_csv ();
    test_csv_encodings ();
    char cmd [300];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    if (system (cmd) != 0)
        fprintf (stderr, "could not remove %s\n", s_dir);
    CHECK_DONE ();
}
