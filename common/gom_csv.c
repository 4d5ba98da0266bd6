/*  gom_csv: see gom_csv.h. libcsv writes the quoting and reads the fields;
    this module lays out the template and turns fields into cells. */
#include "gom_csv.h"
#include "gom_report.h"
#include "gom_util.h"

#include <csv.h>
#include <czmq.h>
#include <errno.h>
#include <iconv.h>
#include <stdarg.h>

//  --- Writing --------------------------------------------------------------

static void
s_field (FILE *out, bool first, const char *text)
{
    if (!first)
        fputc (',', out);
    csv_fwrite (out, text ? text : "", text ? strlen (text) : 0);
}

int
gom_csv_template (gom_form_t *form, const char *period, const char *unit,
                  uint32_t revision, FILE *out)
{
    char version [16], rev [16];
    snprintf (version, sizeof version, "%u", gom_form_version (form));
    snprintf (rev, sizeof rev, "%u", revision);
    fputs ("\xEF\xBB\xBF", out);  //  UTF-8 byte-order mark, for Excel
    const char *meta [] = { "#gom",     "form",  gom_form_code (form),
                            "version",  version, "period",
                            period,     "unit",  unit,
                            "revision", rev };
    for (size_t i = 0; i < sizeof meta / sizeof meta [0]; i++)
        s_field (out, i == 0, meta [i]);
    fputs ("\r\n", out);
    s_field (out, true, "#");
    s_field (out, false, gom_form_title (form));
    fputs ("\r\n", out);
    s_field (out, true, "#");
    s_field (out, false,
             "Điền số nguyên vào các ô trống bên phải; để trống ô không có số "
             "liệu (để trống khác với 0). Không sửa các cột đầu và các dòng "
             "bắt đầu bằng #.");
    fputs ("\r\n", out);
    s_field (out, true, "#");
    s_field (out, false,
             "Fill whole numbers into the empty boxes on the right; leave a "
             "box empty when there is no figure (empty is not 0). Do not "
             "change the first columns or the lines starting with #.");
    fputs ("\r\n", out);
    const gom_form_line_t *section = NULL;
    for (size_t i = 0; i < gom_form_line_count (form); i++) {
        const gom_form_line_t *l = gom_form_line (form, i);
        if (l->kind == GOM_LINE_SECTION) {
            section = l;
            //  A separator line that is not blank: libcsv skips blank
            //  lines, and the reader's line numbers must match the file's.
            fputs ("#\r\n", out);
            s_field (out, true, "#section");
            s_field (out, false, l->code);
            s_field (out, false, l->label);
            fputs ("\r\n", out);
            s_field (out, true, "#columns");
            s_field (out, false, "");
            s_field (out, false, "");
            for (size_t c = 0; c < l->n_columns; c++)
                s_field (out, false, l->column_codes [c]);
            fputs ("\r\n", out);
            s_field (out, true, "#");
            s_field (out, false, "STT");
            s_field (out, false, "Nội dung");
            for (size_t c = 0; c < l->n_columns; c++)
                s_field (out, false, l->column_labels [c]);
            fputs ("\r\n", out);
        }
        else if (l->kind == GOM_LINE_HEADING) {
            s_field (out, true, "#");
            s_field (out, false, l->no);
            s_field (out, false, l->label);
            fputs ("\r\n", out);
        }
        else {
            s_field (out, true, l->code);
            s_field (out, false, l->no);
            s_field (out, false, l->label);
            //  An empty box under each column the row has; "x" where it has
            //  none, so nobody types a figure there.
            for (size_t c = 0; section && c < section->n_columns; c++)
                s_field (out, false, l->cells [c] == SIZE_MAX ? "x" : "");
            fputs ("\r\n", out);
        }
    }
    if (gom_form_text_count (form)) {
        fputs ("#\r\n", out);
        s_field (out, true, "#");
        s_field (out, false, "");
        s_field (out, false,
                 "Phần viết: ghi vào ô bên phải / Narrative: write in the box "
                 "on the right");
        fputs ("\r\n", out);
    }
    for (size_t i = 0; i < gom_form_text_count (form); i++) {
        const char *code, *label;
        bool required;
        gom_form_text (form, i, &code, &label, &required);
        //  Whole: a fixed buffer cut a long label inside a character,
        //  and the template did not read back (tests/fuzz, fuzz_form).
        char *shown = zsys_sprintf ("%s%s", label,
                                    required ? " (bắt buộc / required)" : "");
        s_field (out, true, "#text");
        s_field (out, false, code);
        s_field (out, false, shown);
        s_field (out, false, "");
        fputs ("\r\n", out);
        zstr_free (&shown);
    }
    return fflush (out) == 0 && !ferror (out) ? 0 : -1;
}

//  --- Reading --------------------------------------------------------------

#define MAX_FIELDS 64

typedef struct {
    Gom__Report *report;
    char *err;
    size_t errlen;
    bool failed;
    bool have_meta;
    size_t line;
    char *fields [MAX_FIELDS];
    size_t n_fields;
    char *columns [MAX_FIELDS];  //  column codes of the current section
    size_t n_columns;
    size_t cap_cells, cap_texts;
    //  A workbook's lines (gom_lines_t): how to name the current line
    //  ("sheet S, row 14") and each of its fields ("S!D14"), and where
    //  each cell code was found (code -> field's name), if wanted.
    const char *where;
    const char *const *places;
    zhashx_t *by_code;
} reader_t;

static void
s_fail (reader_t *r, const char *fmt, ...)
{
    if (r->failed)
        return;
    r->failed = true;
    char msg [400];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (msg, sizeof msg, fmt, ap);
    va_end (ap);
    if (r->where)
        snprintf (r->err, r->errlen, "%s: %s", r->where, msg);
    else
        snprintf (r->err, r->errlen, "line %zu: %s", r->line, msg);
    gom_utf8_mend_end (r->err);  //  msg (a label) may be cut at its end
}

//  As s_fail, about field i of the line: named by its place when the line
//  has places (a workbook's cell address), else by the line.
static void
s_fail_at (reader_t *r, size_t i, const char *fmt, ...)
{
    char msg [400];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (msg, sizeof msg, fmt, ap);
    va_end (ap);
    const char *where = r->where;
    if (r->places && r->places [i])
        r->where = r->places [i];
    s_fail (r, "%s", msg);
    r->where = where;
}

static void
s_on_field (void *data, size_t len, void *arg)
{
    reader_t *r = arg;
    if (r->n_fields < MAX_FIELDS)
        r->fields [r->n_fields] = strndup (data ? data : "", data ? len : 0);
    r->n_fields++;
}

//  Whole number, with ".", "," or spaces between groups of three digits.
static bool
s_whole (const char *text, int64_t *value)
{
    char digits [32];
    size_t n = 0, group = 0;
    bool neg = false, sep = false;
    const char *p = text;
    while (*p == ' ')
        p++;
    if (*p == '-') {
        neg = true;
        p++;
    }
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            if (n >= 18)
                return false;
            digits [n++] = *p;
            group++;
        }
        else if (*p == '.' || *p == ',' || *p == ' ') {
            if (*p == ' ' && !p [1])
                break;  //  trailing space
            if (group == 0 || (sep && group != 3) || (!sep && group > 3))
                return false;
            sep = true;
            group = 0;
        }
        else
            return false;
    }
    if (n == 0 || (sep && group != 3))
        return false;
    digits [n] = 0;
    *value = strtoll (digits, NULL, 10) * (neg ? -1 : 1);
    return true;
}

static void
s_add_cell (reader_t *r, size_t field, const char *code, int64_t value)
{
    Gom__Report *rep = r->report;
    for (size_t i = 0; i < rep->n_cells; i++)
        if (strcmp (rep->cells [i]->code, code) == 0)
            return s_fail_at (r, field, "cell %s is given twice", code);
    if (r->by_code && r->places && r->places [field])
        zhashx_update (r->by_code, code, strdup (r->places [field]));
    if (rep->n_cells == r->cap_cells) {
        r->cap_cells = r->cap_cells ? 2 * r->cap_cells : 64;
        rep->cells = realloc (rep->cells, r->cap_cells * sizeof (Gom__Cell *));
    }
    Gom__Cell *cell = malloc (sizeof *cell);
    gom__cell__init (cell);
    cell->code = strdup (code);
    cell->value = value;
    rep->cells [rep->n_cells++] = cell;
}

static void
s_on_record (int c, void *arg)
{
    (void)c;
    reader_t *r = arg;
    r->line++;
    char **f = r->fields;
    size_t n = r->n_fields < MAX_FIELDS ? r->n_fields : MAX_FIELDS;
    Gom__Report *rep = r->report;
    if (r->failed || n == 0)
        goto done;
    if (r->n_fields > MAX_FIELDS) {
        s_fail (r,
                "%zu fields: at most %d (a figure typed past the form's "
                "columns?)",
                r->n_fields, MAX_FIELDS);
        goto done;
    }
    if (r->line == 1 && strncmp (f [0], "\xEF\xBB\xBF", 3) == 0)
        memmove (f [0], f [0] + 3, strlen (f [0] + 3) + 1);
    if (strcmp (f [0], "#gom") == 0) {
        for (size_t i = 1; i + 1 < n; i += 2) {
            const char *k = f [i], *v = f [i + 1];
            char **field = strcmp (k, "form") == 0     ? &rep->form
                           : strcmp (k, "period") == 0 ? &rep->period
                           : strcmp (k, "unit") == 0   ? &rep->unit
                                                       : NULL;
            int64_t version;
            if (field) {
                if (*field != protobuf_c_empty_string) {
                    s_fail (r, "\"%s\" is given twice on the #gom line", k);
                    break;
                }
                *field = strdup (v);
            }
            else if (strcmp (k, "version") == 0) {
                if (!s_whole (v, &version) || version < 0 ||
                    version > UINT32_MAX)
                    s_fail (r, "version \"%.20s\" is not a whole number", v);
                else
                    rep->form_version = (uint32_t)version;
            }
            else if (strcmp (k, "revision") == 0) {
                int64_t rev;
                if (!s_whole (v, &rev) || rev < 1 ||
                    rev > GOM_REPORT_MAX_REVISION)
                    s_fail (r,
                            "revision \"%.20s\" is not a whole number "
                            "from 1",
                            v);
                else
                    rep->revision = (uint32_t)rev;
            }
        }
        r->have_meta = true;
    }
    else if (!r->have_meta)
        s_fail (r, "not a gom template: the first line must start with "
                   "#gom (make one with gom-agent template)");
    else if (strcmp (f [0], "#columns") == 0) {
        for (size_t i = 0; i < r->n_columns; i++)
            free (r->columns [i]);
        r->n_columns = 0;
        for (size_t i = 3; i < n; i++)
            r->columns [r->n_columns++] = strdup (f [i]);
    }
    else if (strcmp (f [0], "#text") == 0) {
        if (n >= 4 && *f [3]) {
            if (!gom_utf8_valid (f [3], strlen (f [3]))) {
                s_fail (r, "text %s is not UTF-8 (save the file as CSV UTF-8)",
                        n > 1 ? f [1] : "?");
                goto done;
            }
            if (rep->n_texts == r->cap_texts) {
                r->cap_texts = r->cap_texts ? 2 * r->cap_texts : 16;
                rep->texts =
                    realloc (rep->texts, r->cap_texts * sizeof (Gom__Text *));
            }
            Gom__Text *t = malloc (sizeof *t);
            gom__text__init (t);
            t->code = strdup (f [1]);
            t->text = strdup (f [3]);
            rep->texts [rep->n_texts++] = t;
        }
    }
    else if (f [0][0] == '#' || f [0][0] == 0)
        ;  //  a line for people, or an empty one
    else {
        for (size_t i = 3; i < n && !r->failed; i++) {
            const char *v = f [i];
            while (*v == ' ')
                v++;
            if (!*v || strcmp (v, "x") == 0)
                continue;  //  not reported, or no box here
            if (i - 3 >= r->n_columns) {
                s_fail_at (r, i,
                           "row %s: a figure in column %zu, past the "
                           "section's columns",
                           f [0], i + 1);
                break;
            }
            char code [2 * GOM_CODE_MAX + 2];
            snprintf (code, sizeof code, "%s.%s", f [0], r->columns [i - 3]);
            int64_t value;
            //  The row's label, cut to 60 bytes at a character boundary
            //  (never inside a UTF-8 sequence).
            const char *label = n > 2 ? f [2] : "";
            size_t label_len = gom_utf8_prefix (label, 60);
            if (!s_whole (v, &value))
                s_fail_at (r, i,
                           "ô %s (%.*s): \"%.40s\" không phải số nguyên / "
                           "cell %s: \"%.40s\" is not a whole number",
                           code, (int)label_len, label, v, code, v);
            else
                s_add_cell (r, i, code, value);
        }
    }
done:
    for (size_t i = 0; i < n; i++)
        free (f [i]);
    r->n_fields = 0;
}

static int
s_cell_cmp (const void *a, const void *b)
{
    return strcmp ((*(Gom__Cell *const *)a)->code,
                   (*(Gom__Cell *const *)b)->code);
}

static int
s_text_cmp (const void *a, const void *b)
{
    return strcmp ((*(Gom__Text *const *)a)->code,
                   (*(Gom__Text *const *)b)->code);
}

//  The end of a reading: the #gom line's facts, cells and texts in code
//  order, the report's own checks. Frees what the reader holds; the report
//  or NULL (with the reader's err).
static Gom__Report *
s_finish (reader_t *r)
{
    Gom__Report *rep = r->report;
    for (size_t i = 0; i < r->n_columns; i++)
        free (r->columns [i]);
    r->n_columns = 0;
    if (!r->failed && !r->have_meta)
        s_fail (r, "not a gom template: no #gom line (make one with "
                   "gom-agent template)");
    if (!r->failed &&
        (!*rep->form || !*rep->period || !*rep->unit || !rep->revision))
        s_fail (r, "the #gom line lacks form, period, unit or revision");
    if (!r->failed) {
        if (rep->n_cells)
            qsort (rep->cells, rep->n_cells, sizeof (Gom__Cell *), s_cell_cmp);
        if (rep->n_texts)
            qsort (rep->texts, rep->n_texts, sizeof (Gom__Text *), s_text_cmp);
        if (gom_report_check (rep, r->err, r->errlen) != 0)
            r->failed = true;
    }
    if (r->failed)
        gom_report_free (&rep);
    return rep;
}

//  --- Encodings ------------------------------------------------------------

//  How to save a spreadsheet as CSV UTF-8, for the messages below.
#define SAVE_AS_UTF8_EN                                                        \
    "save it as \"CSV UTF-8\": in Excel, File > Save As > CSV UTF-8 "          \
    "(Comma delimited) (*.csv); in LibreOffice, File > Save As, file type "    \
    "Text CSV, tick Edit filter settings, Character set Unicode (UTF-8)"
#define SAVE_AS_UTF8_VI                                                          \
    "lưu lại dạng \"CSV UTF-8\": trong Excel, Tệp (File) > Lưu như "    \
    "(Save As) > CSV UTF-8 (Comma delimited) (*.csv); trong LibreOffice, "       \
    "File > Save As, kiểu tệp Text CSV, đánh dấu Edit filter settings, " \
    "Character set chọn Unicode (UTF-8)"

//  Scans s as UTF-8 (RFC 3629: no overlong forms, surrogates or values
//  past U+10FFFF): the offset of the first byte that is not part of a
//  valid sequence (len if none), and how many valid multi-byte sequences
//  and how many bad bytes there are.
static size_t
s_utf8_scan (const unsigned char *s, size_t len, size_t *good, size_t *bad)
{
    size_t first = len;
    *good = *bad = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = s [i];
        size_t need = c < 0x80                ? 0
                      : c >= 0xC2 && c < 0xE0 ? 1
                      : c >= 0xE0 && c < 0xF0 ? 2
                      : c >= 0xF0 && c < 0xF5 ? 3
                                              : SIZE_MAX;
        bool ok = need != SIZE_MAX && i + need < len;
        uint32_t cp = need == 1 ? c & 0x1F : need == 2 ? c & 0x0F : c & 0x07;
        for (size_t k = 1; ok && k <= need; k++) {
            ok = (s [i + k] & 0xC0) == 0x80;
            cp = (cp << 6) | (s [i + k] & 0x3F);
        }
        if (ok && need &&
            ((need == 2 && cp < 0x800) ||
             (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
             (cp >= 0xD800 && cp <= 0xDFFF)))
            ok = false;
        if (!ok) {
            if (first == len)
                first = i;
            (*bad)++;
            i++;
        }
        else {
            *good += need ? 1 : 0;
            i += need + 1;
        }
    }
    return first;
}

static void
s_count_field (void *data, size_t len, void *arg)
{
    (void)data, (void)len, (void)arg;
}

static void
s_count_record (int c, void *arg)
{
    (void)c;
    (*(size_t *)arg)++;
}

//  The line (spreadsheet row, as the reader counts them: a quoted field
//  with newlines in it is one row) that the byte at offset is on.
static size_t
s_row_of (const char *data, size_t offset)
{
    struct csv_parser parser;
    size_t rows = 0;
    csv_init (&parser, 0);
    csv_parse (&parser, data, offset, s_count_field, s_count_record, &rows);
    csv_free (&parser);
    return rows + 1;
}

//  Whether decoded text (valid UTF-8) holds a letter only Vietnamese
//  writes (ă, đ, ĩ, ũ, ơ, ư and the letters with tone marks of
//  U+1EA0..U+1EF9, either case), and whether a tone mark stands alone
//  (U+0300, U+0301, U+0303, U+0309, U+0323 that did not compose with the
//  letter before it).
static void
s_vietnamese (const char *text, size_t len, size_t *letters, size_t *marks)
{
    const unsigned char *s = (const unsigned char *)text;
    *letters = *marks = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp = s [i];
        size_t n = cp < 0x80 ? 1 : cp < 0xE0 ? 2 : cp < 0xF0 ? 3 : 4;
        if (i + n > len)
            break;
        if (n > 1) {
            cp &= n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07;
            for (size_t k = 1; k < n; k++)
                cp = (cp << 6) | (s [i + k] & 0x3F);
        }
        if ((cp >= 0x1EA0 && cp <= 0x1EF9) || cp == 0x102 || cp == 0x103 ||
            cp == 0x110 || cp == 0x111 || cp == 0x128 || cp == 0x129 ||
            cp == 0x168 || cp == 0x169 || cp == 0x1A0 || cp == 0x1A1 ||
            cp == 0x1AF || cp == 0x1B0)
            (*letters)++;
        else if (cp == 0x300 || cp == 0x301 || cp == 0x303 || cp == 0x309 ||
                 cp == 0x323)
            (*marks)++;
        i += n;
    }
}

//  data as Windows-1258 turned into UTF-8 by glibc's iconv, which composes
//  a letter and the tone mark after it into one character (NFC, as
//  Vietnamese is typed in UTF-8). NULL with why (naming the byte, at its
//  offset in the file: base + its offset in data) when it is not plausibly
//  Vietnamese text in Windows-1258: a byte Windows-1258 does not define, a
//  control character other than tab, CR and LF, a tone mark that goes with
//  no letter, or not one letter only Vietnamese writes.
static char *
s_from_cp1258 (const char *data, size_t len, size_t base, size_t *outlen,
               char *why, size_t whylen)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)data [i];
        if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7F) {
            snprintf (why, whylen,
                      "control character 0x%02X at byte offset %zu", c,
                      base + i);
            return NULL;
        }
    }
    iconv_t cd = iconv_open ("UTF-8", "WINDOWS-1258");
    if (cd == (iconv_t)-1) {
        snprintf (why, whylen, "no Windows-1258 converter here: %s",
                  strerror (errno));
        return NULL;
    }
    //  A byte becomes at most 3 bytes of UTF-8 (composing only shortens).
    size_t cap = 3 * len + 16;
    char *out = malloc (cap);
    char *in = (char *)data, *o = out;
    size_t inleft = len, outleft = cap;
    size_t rc = iconv (cd, &in, &inleft, &o, &outleft);
    if (rc != (size_t)-1)
        rc = iconv (cd, NULL, NULL, &o, &outleft);  //  the last letter held
    int e = rc == (size_t)-1 ? errno : 0;
    iconv_close (cd);
    if (e) {
        if (e == EILSEQ)
            snprintf (why, whylen,
                      "byte 0x%02X at byte offset %zu is not a Windows-1258 "
                      "character",
                      inleft ? (unsigned char)*in : 0, base + len - inleft);
        else
            snprintf (why, whylen, "iconv: %s", strerror (e));
        free (out);
        return NULL;
    }
    *outlen = (size_t)(o - out);
    size_t letters, marks;
    s_vietnamese (out, *outlen, &letters, &marks);
    if (marks || !letters) {
        snprintf (why, whylen, "%s",
                  marks ? "a tone mark that goes with no letter"
                        : "not one Vietnamese letter (ă, đ, ơ, ư, ệ...)");
        free (out);
        return NULL;
    }
    return out;
}

static void
s_note (char *warn, size_t warnlen, const char *text)
{
    size_t used = warn ? strlen (warn) : 0;
    if (warn && used < warnlen)
        snprintf (warn + used, warnlen - used, "%s%s", used ? "\n" : "", text);
}

//  data (the file, its UTF-8 byte-order mark skipped) as UTF-8 text: data
//  itself when it is UTF-8, else a new buffer read as Windows-1258 with a
//  note in warn; NULL with err when it is neither. A file that is not
//  UTF-8 and does not start with #gom is no template at all, and said so.
static char *
s_as_utf8 (char *data, size_t len, size_t skipped, size_t *outlen, char *warn,
           size_t warnlen, char *err, size_t errlen)
{
    const unsigned char *u = (const unsigned char *)data;
    size_t good, bad;
    size_t first = s_utf8_scan (u, len, &good, &bad);
    if (first == len) {
        *outlen = len;
        return data;
    }
    if (len >= 2 &&
        ((u [0] == 0xFF && u [1] == 0xFE) || (u [0] == 0xFE && u [1] == 0xFF) ||
         (len >= 4 && ((u [0] && !u [1] && u [2] && !u [3]) ||
                       (!u [0] && u [1] && !u [2] && u [3]))))) {
        snprintf (err, errlen,
                  "line 1: the file is UTF-16 text (Excel's \"Unicode "
                  "Text\"), not CSV; " SAVE_AS_UTF8_EN ".\n"
                  "dòng 1: tệp là văn bản UTF-16 (\"Unicode Text\" của "
                  "Excel), không phải CSV; hãy " SAVE_AS_UTF8_VI ".");
        return NULL;
    }
    size_t i = 0;
    while (i < len && strchr (" \t\r\n", data [i]))
        i++;
    if (i < len && data [i] == '"')
        i++;
    if (len - i < 4 || memcmp (data + i, "#gom", 4) != 0) {
        snprintf (err, errlen,
                  "line 1: not a gom template: the first line must start "
                  "with #gom (make one with gom-agent template), and the "
                  "file is not UTF-8 text either (byte 0x%02X at byte "
                  "offset %zu).\n"
                  "dòng 1: không phải mẫu biểu của gom: dòng đầu phải bắt đầu "
                  "bằng #gom (tạo mẫu bằng gom-agent template), và tệp cũng "
                  "không phải văn bản UTF-8 (byte 0x%02X ở vị trí %zu).",
                  u [first], first + skipped, u [first], first + skipped);
        return NULL;
    }
    char why [160] = "";
    char *text = NULL;
    //  Mostly UTF-8 with a few bad bytes is UTF-8 damaged (a character
    //  pasted from elsewhere), not Windows-1258: read as Windows-1258, its
    //  Vietnamese would be mojibake.
    if (good >= bad)
        snprintf (why, sizeof why,
                  "the rest of the file is UTF-8: %zu bad byte%s", bad,
                  bad == 1 ? "" : "s");
    else
        text = s_from_cp1258 (data, len, skipped, outlen, why, sizeof why);
    if (text) {
        s_note (warn, warnlen,
                "the file is not UTF-8: read as Windows-1258 (Excel's \"CSV "
                "(Comma delimited)\" on Vietnamese Windows); next "
                "time, " SAVE_AS_UTF8_EN);
        s_note (warn, warnlen,
                "tệp không phải UTF-8: đã đọc theo bảng mã Windows-1258 "
                "(\"CSV (Comma delimited)\" của Excel trên Windows tiếng "
                "Việt); lần sau, hãy " SAVE_AS_UTF8_VI);
        return text;
    }
    size_t row = s_row_of (data, first);
    if (good >= bad)
        snprintf (err, errlen,
                  "line %zu: byte 0x%02X at byte offset %zu is not UTF-8 (%s; "
                  "a character typed or pasted in another encoding?); fix "
                  "it, or " SAVE_AS_UTF8_EN ".\n"
                  "dòng %zu: byte 0x%02X ở vị trí %zu không phải UTF-8 (phần "
                  "còn lại của tệp là UTF-8; một ký tự gõ hoặc dán từ bảng "
                  "mã khác?); hãy sửa byte đó, hoặc " SAVE_AS_UTF8_VI ".",
                  row, u [first], first + skipped, why, row, u [first],
                  first + skipped);
    else
        snprintf (err, errlen,
                  "line %zu: the file is neither UTF-8 (byte 0x%02X at byte "
                  "offset %zu) nor Vietnamese text in Windows-1258 (%s); "
                  "" SAVE_AS_UTF8_EN ".\n"
                  "dòng %zu: tệp không phải UTF-8 (byte 0x%02X ở vị trí %zu), "
                  "cũng không phải văn bản tiếng Việt mã Windows-1258; "
                  "hãy " SAVE_AS_UTF8_VI ".",
                  row, u [first], first + skipped, why, row, u [first],
                  first + skipped);
    return NULL;
}

Gom__Report *
gom_csv_read (const char *path, char *err, size_t errlen)
{
    return gom_csv_read_noted (path, NULL, 0, err, errlen);
}

Gom__Report *
gom_csv_read_noted (const char *path, char *warn, size_t warnlen, char *err,
                    size_t errlen)
{
    if (warn && warnlen)
        warn [0] = 0;
    //  The whole file, to know its encoding before reading any field.
    char *data;
    size_t len;
    if (gom_read_file (path, 16 * 1048576, &data, &len) != 0) {
        snprintf (err, errlen, "%s",
                  errno == EFBIG
                      ? "the file is larger than 16 MiB: not a report"
                      : strerror (errno));
        return NULL;
    }
    //  The byte-order mark is not part of the first field: left in, it
    //  would make a quoted "#gom" (as the template writes it) unreadable.
    size_t skip = len >= 3 && !memcmp (data, "\xEF\xBB\xBF", 3) ? 3 : 0;
    size_t text_len;
    char *text = s_as_utf8 (data + skip, len - skip, skip, &text_len, warn,
                            warnlen, err, errlen);
    if (!text) {
        free (data);
        return NULL;
    }
    Gom__Report *rep = calloc (1, sizeof *rep);
    gom__report__init (rep);
    reader_t r = { .report = rep, .err = err, .errlen = errlen };
    struct csv_parser parser;
    csv_init (&parser, CSV_APPEND_NULL);
    //  Excel saves with ";" where "," is the decimal mark; the first field
    //  may be quoted.
    if ((text_len >= 5 && !memcmp (text, "#gom;", 5)) ||
        (text_len >= 7 && !memcmp (text, "\"#gom\";", 7)))
        csv_set_delim (&parser, ';');
    if (csv_parse (&parser, text, text_len, s_on_field, s_on_record, &r) !=
        text_len)
        s_fail (&r, "not valid CSV: %s", csv_strerror (csv_error (&parser)));
    if (text != data + skip)
        free (text);
    free (data);
    if (!r.failed)
        csv_fini (&parser, s_on_field, s_on_record, &r);
    for (size_t i = 0; i < r.n_fields && i < MAX_FIELDS; i++)
        free (r.fields [i]);
    csv_free (&parser);
    //  The end is shared with the lines of a workbook (gom_lines_end).
    rep = s_finish (&r);
    if (!rep && warn && warnlen)
        warn [0] = 0;
    return rep;
}

//  --- Lines from elsewhere (a workbook's rows) ------------------------------

struct _gom_lines_t {
    reader_t r;
};

gom_lines_t *
gom_lines_new (zhashx_t *places_by_code, char *err, size_t errlen)
{
    gom_lines_t *self = calloc (1, sizeof *self);
    assert (self);
    self->r.report = calloc (1, sizeof (Gom__Report));
    gom__report__init (self->r.report);
    self->r.err = err;
    self->r.errlen = errlen;
    self->r.by_code = places_by_code;
    return self;
}

void
gom_lines_add (gom_lines_t *self, const char *const *fields, size_t n,
               const char *where, const char *const *places)
{
    reader_t *r = &self->r;
    for (size_t i = 0; i < n; i++)
        s_on_field ((void *)fields [i], strlen (fields [i]), r);
    r->where = where;
    r->places = places;
    s_on_record (0, r);
    r->where = NULL;
    r->places = NULL;
}

Gom__Report *
gom_lines_end (gom_lines_t **self_p)
{
    gom_lines_t *self = *self_p;
    Gom__Report *report = s_finish (&self->r);
    free (self);
    *self_p = NULL;
    return report;
}
