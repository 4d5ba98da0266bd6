/*  gom_csv: see gom_csv.h. libcsv writes the quoting and reads the fields;
    this module lays out the template and turns fields into cells. */
#include "gom_csv.h"
#include "gom_report.h"
#include "gom_util.h"

#include <csv.h>
#include <czmq.h>
#include <errno.h>
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
        char shown [600];
        snprintf (shown, sizeof shown, "%s%s", label,
                  required ? " (bắt buộc / required)" : "");
        s_field (out, true, "#text");
        s_field (out, false, code);
        s_field (out, false, shown);
        s_field (out, false, "");
        fputs ("\r\n", out);
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
    snprintf (r->err, r->errlen, "line %zu: %s", r->line, msg);
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
s_add_cell (reader_t *r, const char *code, int64_t value)
{
    Gom__Report *rep = r->report;
    for (size_t i = 0; i < rep->n_cells; i++)
        if (strcmp (rep->cells [i]->code, code) == 0)
            return s_fail (r, "cell %s is given twice", code);
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
                s_fail (r,
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
            size_t label_len = strlen (label);
            if (label_len > 60) {
                label_len = 60;
                while (label_len && ((unsigned char)label [label_len] & 0xC0) ==
                                        0x80)
                    label_len--;
            }
            if (!s_whole (v, &value))
                s_fail (r, "cell %s (%.*s): \"%.40s\" is not a whole number",
                        code, (int)label_len, label, v);
            else
                s_add_cell (r, code, value);
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

Gom__Report *
gom_csv_read (const char *path, char *err, size_t errlen)
{
    FILE *file = fopen (path, "rb");
    if (!file) {
        snprintf (err, errlen, "%s", strerror (errno));
        return NULL;
    }
    Gom__Report *rep = calloc (1, sizeof *rep);
    gom__report__init (rep);
    reader_t r = { .report = rep, .err = err, .errlen = errlen };
    struct csv_parser parser;
    csv_init (&parser, CSV_APPEND_NULL);
    char buf [65536];
    size_t len, total = 0;
    bool first = true;
    while (!r.failed && (len = fread (buf, 1, sizeof buf, file)) > 0) {
        size_t skip = 0;
        if (first) {
            //  The byte-order mark is not part of the first field: left
            //  in, it would make a quoted "#gom" (as the template writes
            //  it) unreadable.
            skip = len >= 3 && !memcmp (buf, "\xEF\xBB\xBF", 3) ? 3 : 0;
            //  Excel saves with ";" where "," is the decimal mark; the
            //  first field may be quoted.
            const char *p = buf + skip;
            size_t rest = len - skip;
            if ((rest >= 5 && !memcmp (p, "#gom;", 5)) ||
                (rest >= 7 && !memcmp (p, "\"#gom\";", 7)))
                csv_set_delim (&parser, ';');
            first = false;
        }
        total += len;
        if (total > 16 * 1048576) {
            s_fail (&r, "the file is larger than 16 MiB: not a report");
            break;
        }
        if (csv_parse (&parser, buf + skip, len - skip, s_on_field,
                       s_on_record, &r) != len - skip)
            s_fail (&r, "not valid CSV: %s",
                    csv_strerror (csv_error (&parser)));
    }
    if (!r.failed)
        csv_fini (&parser, s_on_field, s_on_record, &r);
    for (size_t i = 0; i < r.n_fields && i < MAX_FIELDS; i++)
        free (r.fields [i]);
    for (size_t i = 0; i < r.n_columns; i++)
        free (r.columns [i]);
    csv_free (&parser);
    fclose (file);
    if (!r.failed && !r.have_meta)
        s_fail (&r, "not a gom template: no #gom line (make one with "
                    "gom-agent template)");
    if (!r.failed &&
        (!*rep->form || !*rep->period || !*rep->unit || !rep->revision))
        s_fail (&r, "the #gom line lacks form, period, unit or revision");
    if (!r.failed) {
        if (rep->n_cells)
            qsort (rep->cells, rep->n_cells, sizeof (Gom__Cell *), s_cell_cmp);
        if (rep->n_texts)
            qsort (rep->texts, rep->n_texts, sizeof (Gom__Text *), s_text_cmp);
        if (gom_report_check (rep, err, errlen) != 0)
            r.failed = true;
    }
    if (r.failed)
        gom_report_free (&rep);
    return rep;
}
