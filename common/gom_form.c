/*  gom_form: see gom_form.h. jansson parses; this module walks the parsed
    tree once, building flat arrays of cells, checks, indicators and texts
    (indices, not pointers), and a code index for each. */
#include "gom_form.h"
#include "gom_util.h"

#include <ctype.h>
#include <czmq.h>
#include <jansson.h>
#include <dirent.h>
#include <stdarg.h>

typedef struct {
    char *code;   //  ROW.COLUMN
    char *label;  //  "row label — column label"
    int64_t min;  //  floor (0 by default)
    bool required;
} cell_t;

typedef struct {
    gom_check_kind_t kind;
    size_t cell;     //  LE: the part; SUM: the total
    size_t *others;  //  LE: [whole]; SUM: parts; REQUIRED: cells
    size_t n_others;
} check_t;

typedef struct {
    char *code;
    char *label;
    size_t *num, n_num, *den, n_den;
    double scale;
    bool has_min, has_max;
    double min, max;
} indicator_t;

typedef struct {
    char *code;
    char *label;
    bool required;
} text_t;

struct _gom_form_t {
    char *code;  //  form code
    uint32_t version;
    char *title;
    char *period_type;  //  half-year, year, range
    char **periods;     //  range: allowed periods (NULL-terminated)
    char h1 [6], h2 [6], year [6], date [11];  //  deadline parts
    cell_t *cells;
    size_t n_cells, cap_cells;
    zhashx_t *cell_index;  //  code -> index + 1
    cell_t **by_code;      //  the cells in code order (strcmp)
    check_t *checks;
    size_t n_checks, cap_checks;
    indicator_t *indicators;
    size_t n_indicators;
    text_t *texts;
    size_t n_texts;
    gom_form_line_t *lines;  //  the layout, for templates
    size_t n_lines, cap_lines;
};

//  Appends a layout line; strings are copied, arrays owned.
static gom_form_line_t *
s_add_line (gom_form_t *self, gom_line_kind_t kind, const char *code,
            const char *no, const char *label)
{
    if (self->n_lines == self->cap_lines) {
        self->cap_lines = self->cap_lines ? 2 * self->cap_lines : 32;
        self->lines =
            realloc (self->lines, self->cap_lines * sizeof (gom_form_line_t));
    }
    gom_form_line_t *l = &self->lines [self->n_lines++];
    memset (l, 0, sizeof *l);
    l->kind = kind;
    l->code = code ? strdup (code) : NULL;
    l->no = strdup (no ? no : "");
    l->label = strdup (label ? label : "");
    return l;
}

typedef struct {
    const char *file;
    char *err;
    size_t errlen;
    bool failed;
} ctx_t;

static void
s_fail (ctx_t *ctx, const char *where, const char *fmt, ...)
{
    if (ctx->failed)
        return;  //  the first fault is the one to fix
    ctx->failed = true;
    char msg [400];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (msg, sizeof msg, fmt, ap);
    va_end (ap);
    snprintf (ctx->err, ctx->errlen, "%s: %s: %s", ctx->file, where, msg);
    gom_utf8_mend_end (ctx->err);  //  msg (a label) may be cut at its end
}

//  The first string anywhere in json that holds a control character other
//  than tab, CR or LF (which XML 1.0 cannot carry), or NULL.
static const char *
s_control (json_t *json)
{
    const char *key, *found = NULL;
    json_t *v;
    size_t i;
    if (json_is_string (json)) {
        for (const char *p = json_string_value (json); *p; p++)
            if ((unsigned char)*p < 0x20 && *p != '\t' && *p != '\n' &&
                *p != '\r')
                return json_string_value (json);
    }
    else if (json_is_object (json)) {
        json_object_foreach (json, key, v)
            if ((found = s_control (v)))
                return found;
    }
    else if (json_is_array (json))
        json_array_foreach (json, i, v)
            if ((found = s_control (v)))
                return found;
    return NULL;
}

//  True if s is n digits.
static bool
s_digits (const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s [i] < '0' || s [i] > '9')
            return false;
    return true;
}

static const char *
s_str (json_t *obj, const char *key)
{
    json_t *v = json_object_get (obj, key);
    return json_is_string (v) ? json_string_value (v) : NULL;
}

//  A code field that must be there and valid; NULL after s_fail.
static const char *
s_code (ctx_t *ctx, json_t *obj, const char *key, const char *where)
{
    const char *code = s_str (obj, key);
    if (!code)
        s_fail (ctx, where, "\"%s\" is missing or not a string", key);
    else if (!gom_code_valid (code)) {
        s_fail (ctx, where,
                "\"%s\": \"%.80s\" is not a code (1 to %d of A-Z a-z 0-9 "
                "_ . : -)",
                key, code, GOM_CODE_MAX);
        code = NULL;
    }
    return code;
}

static size_t
s_cell (gom_form_t *self, const char *code)
{
    void *v = zhashx_lookup (self->cell_index, code);
    return v ? (size_t)(uintptr_t)v - 1 : SIZE_MAX;
}

//  The cell with this code, looked for from *next on in code order (the
//  walk a report's cells, in that order too, make beside the form's), and
//  then in the index: SIZE_MAX if the form has none.
static size_t
s_cell_walk (gom_form_t *self, const char *code, size_t *next)
{
    while (*next < self->n_cells) {
        cell_t *cell = self->by_code [*next];
        int cmp = strcmp (cell->code, code);
        if (cmp > 0)
            break;
        (*next)++;
        if (cmp == 0)
            return (size_t)(cell - self->cells);
    }
    return s_cell (self, code);
}

static int
s_by_code (const void *a, const void *b)
{
    return strcmp ((*(cell_t *const *)a)->code, (*(cell_t *const *)b)->code);
}

static size_t
s_cell_ref (gom_form_t *self, ctx_t *ctx, json_t *v, const char *where)
{
    if (!json_is_string (v)) {
        s_fail (ctx, where, "a cell code (a string) is expected");
        return SIZE_MAX;
    }
    size_t i = s_cell (self, json_string_value (v));
    if (i == SIZE_MAX)
        s_fail (ctx, where, "no cell \"%.80s\" in this form",
                json_string_value (v));
    return i;
}

static void
s_add_cell (gom_form_t *self, ctx_t *ctx, const char *row, const char *col,
            const char *row_label, const char *col_label, int64_t min,
            bool required, const char *where)
{
    char code [2 * GOM_CODE_MAX + 2];
    snprintf (code, sizeof code, "%s.%s", row, col);
    if (!gom_code_valid (code)) {
        s_fail (ctx, where, "cell code %s is longer than %d characters", code,
                GOM_CODE_MAX);
        return;
    }
    if (zhashx_lookup (self->cell_index, code)) {
        s_fail (ctx, where, "cell %s is defined twice", code);
        return;
    }
    if (self->n_cells == self->cap_cells) {
        self->cap_cells = self->cap_cells ? 2 * self->cap_cells : 64;
        self->cells = realloc (self->cells, self->cap_cells * sizeof (cell_t));
    }
    cell_t *c = &self->cells [self->n_cells++];
    c->code = strdup (code);
    //  Whole: a fixed buffer could cut a long label inside a character.
    c->label = zsys_sprintf ("%s — %s", row_label ? row_label : row,
                             col_label ? col_label : col);
    c->min = min;
    c->required = required;
    zhashx_insert (self->cell_index, code, (void *)(uintptr_t)self->n_cells);
}

static check_t *
s_add_check (gom_form_t *self, gom_check_kind_t kind, size_t cell, size_t n)
{
    if (self->n_checks == self->cap_checks) {
        self->cap_checks = self->cap_checks ? 2 * self->cap_checks : 32;
        self->checks =
            realloc (self->checks, self->cap_checks * sizeof (check_t));
    }
    check_t *k = &self->checks [self->n_checks++];
    k->kind = kind;
    k->cell = cell;
    k->n_others = n;
    k->others = calloc (n ? n : 1, sizeof (size_t));
    return k;
}

//  Columns of a row: its own "columns" list, or all of the section's.
static json_t *
s_row_columns (json_t *row, json_t *section_cols)
{
    json_t *own = json_object_get (row, "columns");
    return own ? own : section_cols;
}

static const char *
s_col_label (json_t *section_cols, const char *code)
{
    size_t i;
    json_t *c;
    json_array_foreach (section_cols, i, c) {
        const char *cc = s_str (c, "code");
        if (cc && strcmp (cc, code) == 0)
            return s_str (c, "label");
    }
    return NULL;
}

static const char *
s_col_code (json_t *v)
{
    //  A section column is an object with a code; a row's list holds codes.
    return json_is_string (v) ? json_string_value (v) : s_str (v, "code");
}

static void
s_section (gom_form_t *self, ctx_t *ctx, json_t *sec, size_t si)
{
    char where [200];
    snprintf (where, sizeof where, "sections[%zu]", si);
    if (!json_is_object (sec)) {
        s_fail (ctx, where, "a section must be an object");
        return;
    }
    if (!s_code (ctx, sec, "code", where))
        return;
    json_t *cols = json_object_get (sec, "columns");
    if (!json_is_array (cols) || json_array_size (cols) == 0) {
        s_fail (ctx, where, "\"columns\" must be a non-empty list");
        return;
    }
    size_t ci;
    json_t *col;
    json_array_foreach (cols, ci, col) {
        char w [240];
        snprintf (w, sizeof w, "%s.columns[%zu]", where, ci);
        if (!json_is_object (col) || !s_code (ctx, col, "code", w))
            return s_fail (ctx, w, "a column needs a \"code\"");
        for (size_t cj = 0; cj < ci; cj++)
            if (strcmp (s_col_code (json_array_get (cols, cj)),
                        s_col_code (col)) == 0)
                return s_fail (ctx, w, "column %s is listed twice",
                               s_col_code (col));
    }
    gom_form_line_t *sl =
        s_add_line (self, GOM_LINE_SECTION, s_str (sec, "code"), NULL,
                    s_str (sec, "title"));
    sl->n_columns = json_array_size (cols);
    sl->column_codes = calloc (sl->n_columns, sizeof (char *));
    sl->column_labels = calloc (sl->n_columns, sizeof (char *));
    json_array_foreach (cols, ci, col) {
        sl->column_codes [ci] = strdup (s_col_code (col));
        sl->column_labels [ci] = strdup (
            s_str (col, "label") ? s_str (col, "label") : s_col_code (col));
    }
    bool sec_required = json_is_true (json_object_get (sec, "required"));
    json_t *rows = json_object_get (sec, "rows");
    if (!json_is_array (rows) || json_array_size (rows) == 0)
        return s_fail (ctx, where, "\"rows\" must be a non-empty list");
    size_t ri;
    json_t *row;
    json_array_foreach (rows, ri, row) {
        char w [240];
        snprintf (w, sizeof w, "%s.rows[%zu]", where, ri);
        if (!json_is_object (row))
            return s_fail (ctx, w, "a row must be an object");
        if (json_is_true (json_object_get (row, "heading"))) {
            if (json_object_get (row, "code"))
                return s_fail (ctx, w, "a heading row has no code");
            s_add_line (self, GOM_LINE_HEADING, NULL, s_str (row, "no"),
                        s_str (row, "label"));
            continue;
        }
        const char *rcode = s_code (ctx, row, "code", w);
        if (!rcode)
            return;
        json_t *rcols = s_row_columns (row, cols);
        if (!json_is_array (rcols) || json_array_size (rcols) == 0)
            return s_fail (ctx, w, "\"columns\" must be a non-empty list");
        json_t *jmin = json_object_get (row, "min");
        if (jmin && !json_is_integer (jmin))
            return s_fail (ctx, w, "\"min\" must be a whole number");
        int64_t min = jmin ? json_integer_value (jmin) : 0;
        bool required =
            sec_required || json_is_true (json_object_get (row, "required"));
        size_t k;
        json_t *rc;
        json_array_foreach (rcols, k, rc) {
            const char *cc = s_col_code (rc);
            if (!cc)
                return s_fail (ctx, w, "columns[%zu] is not a column code", k);
            bool known = false;
            size_t cj;
            json_t *sc;
            json_array_foreach (cols, cj, sc)
                if (strcmp (s_col_code (sc), cc) == 0)
                    known = true;
            if (!known)
                return s_fail (ctx, w, "column %s is not one of section %s's",
                               cc, s_str (sec, "code"));
            s_add_cell (self, ctx, rcode, cc, s_str (row, "label"),
                        s_col_label (cols, cc), min, required, w);
            if (ctx->failed)
                return;
        }
        gom_form_line_t *rl = s_add_line (
            self, GOM_LINE_ROW, rcode, s_str (row, "no"), s_str (row, "label"));
        size_t *map = calloc (json_array_size (cols), sizeof (size_t));
        json_array_foreach (cols, ci, col) {
            char code [2 * GOM_CODE_MAX + 2];
            snprintf (code, sizeof code, "%s.%s", rcode, s_col_code (col));
            map [ci] = s_cell (self, code);
        }
        rl->n_columns = json_array_size (cols);
        rl->cells = map;
    }
    //  Second pass: rules between rows and columns, now that all exist.
    json_t *sums = json_object_get (sec, "sum_columns");
    if (sums && !json_is_object (sums))
        return s_fail (ctx, where, "\"sum_columns\" must be an object");
    json_array_foreach (rows, ri, row) {
        const char *rcode = s_str (row, "code");
        if (!rcode)
            continue;
        char w [240];
        snprintf (w, sizeof w, "%s.rows[%zu]", where, ri);
        json_t *le = json_object_get (row, "le");
        if (le) {
            if (!json_is_string (le))
                return s_fail (ctx, w, "\"le\" must name a row");
            size_t matched = 0, k;
            json_t *rc;
            json_array_foreach (s_row_columns (row, cols), k, rc) {
                char a [2 * GOM_CODE_MAX + 2], b [2 * GOM_CODE_MAX + 2];
                snprintf (a, sizeof a, "%s.%s", rcode, s_col_code (rc));
                snprintf (b, sizeof b, "%s.%s", json_string_value (le),
                          s_col_code (rc));
                if (s_cell (self, b) == SIZE_MAX)
                    continue;
                check_t *chk =
                    s_add_check (self, GOM_CHECK_LE, s_cell (self, a), 1);
                chk->others [0] = s_cell (self, b);
                matched++;
            }
            if (!matched)
                return s_fail (ctx, w,
                               "\"le\": row %s has no cell in a column of "
                               "this row",
                               json_string_value (le));
        }
        const char *total;
        json_t *parts;
        if (!sums)
            continue;
        json_object_foreach (sums, total, parts) {
            if (!json_is_array (parts) || json_array_size (parts) < 2)
                return s_fail (ctx, where,
                               "sum_columns.%s must list two or more columns",
                               total);
            char t [2 * GOM_CODE_MAX + 2];
            snprintf (t, sizeof t, "%s.%s", rcode, total);
            size_t ti = s_cell (self, t);
            bool all = ti != SIZE_MAX;
            size_t pi;
            json_t *p;
            json_array_foreach (parts, pi, p) {
                char c [2 * GOM_CODE_MAX + 2];
                snprintf (c, sizeof c, "%s.%s", rcode,
                          json_is_string (p) ? json_string_value (p) : "");
                if (s_cell (self, c) == SIZE_MAX)
                    all = false;
            }
            if (!all)
                continue;  //  this row lacks one of the columns
            check_t *chk =
                s_add_check (self, GOM_CHECK_SUM, ti, json_array_size (parts));
            json_array_foreach (parts, pi, p) {
                char c [2 * GOM_CODE_MAX + 2];
                snprintf (c, sizeof c, "%s.%s", rcode, json_string_value (p));
                chk->others [pi] = s_cell (self, c);
            }
        }
    }
}

static void
s_checks (gom_form_t *self, ctx_t *ctx, json_t *checks)
{
    if (!checks)
        return;
    if (!json_is_array (checks))
        return s_fail (ctx, "checks", "must be a list");
    size_t i;
    json_t *c;
    json_array_foreach (checks, i, c) {
        char w [64];
        snprintf (w, sizeof w, "checks[%zu]", i);
        const char *type = s_str (c, "type");
        if (!type)
            return s_fail (ctx, w, "\"type\" is missing");
        if (strcmp (type, "le") == 0) {
            size_t a = s_cell_ref (self, ctx, json_object_get (c, "cell"), w);
            size_t b = s_cell_ref (self, ctx, json_object_get (c, "max"), w);
            if (ctx->failed)
                return;
            s_add_check (self, GOM_CHECK_LE, a, 1)->others [0] = b;
        }
        else if (strcmp (type, "sum") == 0 || strcmp (type, "required") == 0) {
            bool sum = type [0] == 's';
            json_t *list = json_object_get (c, sum ? "parts" : "cells");
            if (!json_is_array (list) || json_array_size (list) == 0)
                return s_fail (ctx, w, "\"%s\" must be a non-empty list",
                               sum ? "parts" : "cells");
            size_t a =
                sum ? s_cell_ref (self, ctx, json_object_get (c, "cell"), w)
                    : 0;
            if (ctx->failed)
                return;
            check_t *chk =
                s_add_check (self, sum ? GOM_CHECK_SUM : GOM_CHECK_REQUIRED, a,
                             json_array_size (list));
            size_t k;
            json_t *v;
            json_array_foreach (list, k, v) {
                chk->others [k] = s_cell_ref (self, ctx, v, w);
                if (ctx->failed)
                    return;
            }
        }
        else
            return s_fail (ctx, w,
                           "type \"%.40s\": want \"le\", \"sum\" or "
                           "\"required\"",
                           type);
    }
}

static size_t *
s_cell_list (gom_form_t *self, ctx_t *ctx, json_t *list, size_t *n,
             const char *where)
{
    if (!json_is_array (list) || json_array_size (list) == 0) {
        s_fail (ctx, where, "a non-empty list of cell codes is expected");
        return NULL;
    }
    size_t *out = calloc (json_array_size (list), sizeof (size_t));
    size_t k;
    json_t *v;
    json_array_foreach (list, k, v) {
        out [k] = s_cell_ref (self, ctx, v, where);
    }
    *n = json_array_size (list);
    return out;
}

static void
s_indicators (gom_form_t *self, ctx_t *ctx, json_t *list)
{
    if (!list)
        return;
    if (!json_is_array (list))
        return s_fail (ctx, "indicators", "must be a list");
    self->indicators =
        calloc (json_array_size (list) + 1, sizeof (indicator_t));
    size_t i;
    json_t *o;
    json_array_foreach (list, i, o) {
        char w [64];
        snprintf (w, sizeof w, "indicators[%zu]", i);
        const char *code = s_code (ctx, o, "code", w);
        if (!code)
            return;
        for (size_t j = 0; j < self->n_indicators; j++)
            if (strcmp (self->indicators [j].code, code) == 0)
                return s_fail (ctx, w, "indicator %s is defined twice", code);
        indicator_t *ind = &self->indicators [self->n_indicators++];
        ind->code = strdup (code);
        ind->label = strdup (s_str (o, "label") ? s_str (o, "label") : code);
        char w2 [80];
        snprintf (w2, sizeof w2, "%s.numerator", w);
        ind->num = s_cell_list (self, ctx, json_object_get (o, "numerator"),
                                &ind->n_num, w2);
        snprintf (w2, sizeof w2, "%s.denominator", w);
        ind->den = s_cell_list (self, ctx, json_object_get (o, "denominator"),
                                &ind->n_den, w2);
        if (ctx->failed)
            return;
        json_t *scale = json_object_get (o, "scale");
        ind->scale = scale ? json_number_value (scale) : 100;
        if (scale && (!json_is_number (scale) || ind->scale <= 0))
            return s_fail (ctx, w, "\"scale\" must be a number above 0");
        json_t *target = json_object_get (o, "target");
        if (target) {
            json_t *mn = json_object_get (target, "min");
            json_t *mx = json_object_get (target, "max");
            if ((mn && !json_is_number (mn)) || (mx && !json_is_number (mx)) ||
                (!mn && !mx))
                return s_fail (ctx, w,
                               "\"target\" needs \"min\" (a floor) and/or "
                               "\"max\" (a ceiling), numbers");
            ind->has_min = mn != NULL;
            ind->has_max = mx != NULL;
            ind->min = mn ? json_number_value (mn) : 0;
            ind->max = mx ? json_number_value (mx) : 0;
            if (mn && mx && ind->min > ind->max)
                return s_fail (ctx, w, "target min is above max");
        }
    }
}

static void
s_texts (gom_form_t *self, ctx_t *ctx, json_t *list)
{
    if (!list)
        return;
    if (!json_is_array (list))
        return s_fail (ctx, "texts", "must be a list");
    self->texts = calloc (json_array_size (list) + 1, sizeof (text_t));
    size_t i;
    json_t *o;
    json_array_foreach (list, i, o) {
        char w [64];
        snprintf (w, sizeof w, "texts[%zu]", i);
        const char *code = s_code (ctx, o, "code", w);
        if (!code)
            return;
        for (size_t j = 0; j < self->n_texts; j++)
            if (strcmp (self->texts [j].code, code) == 0)
                return s_fail (ctx, w, "text %s is defined twice", code);
        text_t *t = &self->texts [self->n_texts++];
        t->code = strdup (code);
        t->label = strdup (s_str (o, "label") ? s_str (o, "label") : code);
        t->required = json_is_true (json_object_get (o, "required"));
    }
}

//  "MM-DD" with a real month and a day that month can have.
static bool
s_month_day (const char *s)
{
    static const int days [] = {
        31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };
    int m, d;
    char tail;
    if (!s || strlen (s) != 5 || sscanf (s, "%2d-%2d%c", &m, &d, &tail) != 2)
        return false;
    return m >= 1 && m <= 12 && d >= 1 && d <= days [m - 1];
}

static void
s_period (gom_form_t *self, ctx_t *ctx, json_t *root)
{
    const char *type = s_str (root, "period");
    if (!type || (strcmp (type, "half-year") && strcmp (type, "year") &&
                  strcmp (type, "range")))
        return s_fail (ctx, "period",
                       "must be \"half-year\", \"year\" or \"range\"");
    self->period_type = strdup (type);
    if (strcmp (type, "range") == 0) {
        json_t *list = json_object_get (root, "periods");
        if (!json_is_array (list) || json_array_size (list) == 0)
            return s_fail (ctx, "periods",
                           "a range form lists its periods, e.g. "
                           "[\"2016-2020\"]");
        self->periods = calloc (json_array_size (list) + 1, sizeof (char *));
        size_t i;
        json_t *p;
        json_array_foreach (list, i, p) {
            int a, b;
            char tail;
            if (!json_is_string (p) || strlen (json_string_value (p)) != 9 ||
                !s_digits (json_string_value (p), 4) ||
                json_string_value (p) [4] != '-' ||
                !s_digits (json_string_value (p) + 5, 4) ||
                sscanf (json_string_value (p), "%4d-%4d%c", &a, &b, &tail) !=
                    2 ||
                a > b)
                return s_fail (ctx, "periods", "\"%.20s\" is not YYYY-YYYY",
                               json_is_string (p) ? json_string_value (p)
                                                  : "?");
            self->periods [i] = strdup (json_string_value (p));
        }
    }
    json_t *dl = json_object_get (root, "deadline");
    if (!json_is_object (dl))
        return s_fail (ctx, "deadline", "is missing or not an object");
    const char *date = s_str (dl, "date");
    if (date) {
        int y, m, d;
        char tail;
        char md [6];
        if (strlen (date) != 10 ||
            sscanf (date, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
            return s_fail (ctx, "deadline.date", "want YYYY-MM-DD");
        snprintf (md, sizeof md, "%.5s", date + 5);
        if (!s_month_day (md))
            return s_fail (ctx, "deadline.date", "%s is not a date", date);
        snprintf (self->date, sizeof self->date, "%s", date);
        return;
    }
    if (strcmp (type, "half-year") == 0) {
        const char *h1 = s_str (dl, "H1"), *h2 = s_str (dl, "H2");
        if (!s_month_day (h1) || !s_month_day (h2))
            return s_fail (ctx, "deadline",
                           "a half-year form needs \"H1\" and \"H2\" as MM-DD "
                           "(or a fixed \"date\")");
        snprintf (self->h1, sizeof self->h1, "%s", h1);
        snprintf (self->h2, sizeof self->h2, "%s", h2);
    }
    else if (strcmp (type, "year") == 0) {
        const char *y = s_str (dl, "year");
        if (!s_month_day (y))
            return s_fail (ctx, "deadline",
                           "a year form needs \"year\" as MM-DD (or a fixed "
                           "\"date\")");
        snprintf (self->year, sizeof self->year, "%s", y);
    }
    else
        return s_fail (ctx, "deadline", "a range form needs a fixed \"date\"");
}

static gom_form_t *s_build (json_t *root, const char *path, char *err,
                            size_t errlen);

gom_form_t *
gom_form_load (const char *path, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_load_file (path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf (err, errlen, "%s: line %d column %d: %s", path, jerr.line,
                  jerr.column, jerr.text);
        return NULL;
    }
    return s_build (root, path, err, errlen);
}

gom_form_t *
gom_form_parse (const char *text, size_t len, const char *name, char *err,
                size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb (text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf (err, errlen, "%s: line %d column %d: %s", name, jerr.line,
                  jerr.column, jerr.text);
        return NULL;
    }
    return s_build (root, name, err, errlen);
}

//  A cached form's file name, CODE.vN.json: the length of CODE and N, or
//  0 if name is not one.
static size_t
s_cache_name (const char *name, unsigned *version)
{
    size_t n = strlen (name);
    if (n < 8 || strcmp (name + n - 5, ".json") != 0)
        return 0;
    size_t digits = n - 5;
    while (digits > 0 && isdigit ((unsigned char)name [digits - 1]))
        digits--;
    if (digits == n - 5 || digits < 3 || name [digits - 1] != 'v' ||
        name [digits - 2] != '.')
        return 0;
    *version = (unsigned)strtoul (name + digits, NULL, 10);
    return digits - 2;
}

char **
gom_form_cached_codes (const char *dir)
{
    zlistx_t *codes = zlistx_new ();
    zlistx_set_destructor (codes, (zlistx_destructor_fn *)zstr_free);
    zlistx_set_comparator (codes, (zlistx_comparator_fn *)strcmp);
    DIR *d = dir ? opendir (dir) : NULL;
    struct dirent *e;
    while (d && (e = readdir (d))) {
        unsigned v;
        size_t len = s_cache_name (e->d_name, &v);
        char *code = len ? strndup (e->d_name, len) : NULL;
        if (code && !zlistx_find (codes, code))
            zlistx_add_end (codes, code);
        else
            free (code);
    }
    if (d)
        closedir (d);
    zlistx_sort (codes);
    char **out = calloc (zlistx_size (codes) + 1, sizeof (char *));
    size_t i = 0;
    for (char *c = zlistx_first (codes); c; c = zlistx_next (codes))
        out [i++] = strdup (c);
    zlistx_destroy (&codes);
    return out;
}

gom_form_t *
gom_form_find (const char *dir, const char *code, uint32_t version, char *err,
               size_t errlen)
{
    if (version == 0) {
        //  The highest version cached: CODE.vN.json with the largest N.
        DIR *d = opendir (dir);
        struct dirent *e;
        size_t prefix = strlen (code);
        while (d && (e = readdir (d))) {
            unsigned v;
            if (s_cache_name (e->d_name, &v) == prefix &&
                strncmp (e->d_name, code, prefix) == 0 && v > version)
                version = v;
        }
        if (d)
            closedir (d);
        if (version == 0) {
            snprintf (err, errlen, "form %s is not in %s", code, dir);
            return NULL;
        }
    }
    char path [4096];
    snprintf (path, sizeof path, "%s/%s.v%u.json", dir, code, version);
    if (access (path, R_OK) != 0) {
        snprintf (err, errlen, "form %s version %u is not in %s", code, version,
                  dir);
        return NULL;
    }
    return gom_form_load (path, err, errlen);
}

static gom_form_t *
s_build (json_t *root, const char *path, char *err, size_t errlen)
{
    ctx_t ctx = { path, err, errlen, false };
    gom_form_t *self = calloc (1, sizeof *self);
    assert (self);
    self->cell_index = zhashx_new ();
    const char *bad = NULL;
    if (!json_is_object (root)) {
        s_fail (&ctx, "top", "a form file holds one JSON object");
        goto done;
    }
    if ((bad = s_control (root))) {
        //  Labels go into workbooks (XML) and onto screens and paper.
        s_fail (&ctx, "text",
                "\"%.60s\" holds a control character (only tab and line "
                "breaks may be in a label)",
                bad);
        goto done;
    }
    const char *code = s_code (&ctx, root, "form", "form");
    json_t *ver = json_object_get (root, "version");
    if (!code)
        goto done;
    self->code = strdup (code);
    if (!json_is_integer (ver) || json_integer_value (ver) < 1 ||
        json_integer_value (ver) > UINT32_MAX) {
        s_fail (&ctx, "version", "must be a whole number from 1");
        goto done;
    }
    self->version = (uint32_t)json_integer_value (ver);
    if (!s_str (root, "title")) {
        s_fail (&ctx, "title", "is missing");
        goto done;
    }
    self->title = strdup (s_str (root, "title"));
    s_period (self, &ctx, root);
    json_t *sections = json_object_get (root, "sections");
    if (!ctx.failed &&
        (!json_is_array (sections) || !json_array_size (sections)))
        s_fail (&ctx, "sections", "must be a non-empty list");
    size_t i;
    json_t *sec;
    json_array_foreach (sections, i, sec) {
        if (ctx.failed)
            break;
        s_section (self, &ctx, sec, i);
    }
    if (!ctx.failed)
        s_checks (self, &ctx, json_object_get (root, "checks"));
    if (!ctx.failed)
        s_indicators (self, &ctx, json_object_get (root, "indicators"));
    if (!ctx.failed)
        s_texts (self, &ctx, json_object_get (root, "texts"));
    if (!ctx.failed) {
        self->by_code = malloc ((self->n_cells + 1) * sizeof (cell_t *));
        assert (self->by_code);
        for (size_t c = 0; c < self->n_cells; c++)
            self->by_code [c] = &self->cells [c];
        qsort (self->by_code, self->n_cells, sizeof (cell_t *), s_by_code);
    }
done:
    json_decref (root);
    if (ctx.failed)
        gom_form_destroy (&self);
    return self;
}

void
gom_form_destroy (gom_form_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gom_form_t *self = *self_p;
    for (size_t i = 0; i < self->n_cells; i++) {
        free (self->cells [i].code);
        free (self->cells [i].label);
    }
    free (self->cells);
    for (size_t i = 0; i < self->n_checks; i++)
        free (self->checks [i].others);
    free (self->checks);
    for (size_t i = 0; i < self->n_indicators; i++) {
        free (self->indicators [i].code);
        free (self->indicators [i].label);
        free (self->indicators [i].num);
        free (self->indicators [i].den);
    }
    free (self->indicators);
    for (size_t i = 0; i < self->n_texts; i++) {
        free (self->texts [i].code);
        free (self->texts [i].label);
    }
    free (self->texts);
    for (size_t i = 0; i < self->n_lines; i++) {
        gom_form_line_t *l = &self->lines [i];
        free ((char *)l->code);
        free ((char *)l->no);
        free ((char *)l->label);
        for (size_t c = 0; l->kind == GOM_LINE_SECTION && c < l->n_columns;
             c++) {
            free ((char *)l->column_codes [c]);
            free ((char *)l->column_labels [c]);
        }
        free (l->column_codes);
        free (l->column_labels);
        free ((size_t *)l->cells);
    }
    free (self->lines);
    gom_strv_free (&self->periods);
    zhashx_destroy (&self->cell_index);
    free (self->by_code);
    free (self->code);
    free (self->title);
    free (self->period_type);
    free (self);
    *self_p = NULL;
}

const char *
gom_form_code (gom_form_t *self)
{
    return self->code;
}

uint32_t
gom_form_version (gom_form_t *self)
{
    return self->version;
}

const char *
gom_form_title (gom_form_t *self)
{
    return self->title;
}

const char *const *
gom_form_periods (gom_form_t *self)
{
    return (const char *const *)self->periods;
}

const char *
gom_form_period_type (gom_form_t *self)
{
    return self->period_type;
}

size_t
gom_form_cell_count (gom_form_t *self)
{
    return self->n_cells;
}

size_t
gom_form_check_count (gom_form_t *self)
{
    return self->n_checks;
}

size_t
gom_form_indicator_count (gom_form_t *self)
{
    return self->n_indicators;
}

size_t
gom_form_text_count (gom_form_t *self)
{
    return self->n_texts;
}

size_t
gom_form_line_count (gom_form_t *self)
{
    return self->n_lines;
}

const gom_form_line_t *
gom_form_line (gom_form_t *self, size_t i)
{
    assert (i < self->n_lines);
    return &self->lines [i];
}

void
gom_form_check (gom_form_t *self, size_t i, gom_form_check_t *out)
{
    assert (i < self->n_checks);
    const check_t *chk = &self->checks [i];
    out->kind = chk->kind;
    out->cell = chk->cell;
    out->others = chk->others;
    out->n_others = chk->n_others;
}

void
gom_form_text (gom_form_t *self, size_t i, const char **code,
               const char **label, bool *required)
{
    assert (i < self->n_texts);
    *code = self->texts [i].code;
    *label = self->texts [i].label;
    *required = self->texts [i].required;
}

const char *
gom_form_cell_code (gom_form_t *self, size_t i)
{
    assert (i < self->n_cells);
    return self->cells [i].code;
}

const char *
gom_form_cell_label (gom_form_t *self, size_t i)
{
    assert (i < self->n_cells);
    return self->cells [i].label;
}

int64_t
gom_form_cell_min (gom_form_t *self, size_t i)
{
    assert (i < self->n_cells);
    return self->cells [i].min;
}

size_t
gom_form_cell_index (gom_form_t *self, const char *code)
{
    return s_cell (self, code);
}

void
gom_form_indicator (gom_form_t *self, size_t i, gom_indicator_t *out)
{
    assert (i < self->n_indicators);
    indicator_t *ind = &self->indicators [i];
    out->code = ind->code;
    out->label = ind->label;
    out->numerator = ind->num;
    out->n_numerator = ind->n_num;
    out->denominator = ind->den;
    out->n_denominator = ind->n_den;
    out->scale = ind->scale;
    out->has_min = ind->has_min;
    out->has_max = ind->has_max;
    out->min = ind->min;
    out->max = ind->max;
}

bool
gom_form_period_valid (gom_form_t *self, const char *period)
{
    int y, h;
    char tail;
    if (!period)
        return false;
    if (strcmp (self->period_type, "half-year") == 0)
        return strlen (period) == 7 &&
               sscanf (period, "%4d-H%1d%c", &y, &h, &tail) == 2 && y >= 1900 &&
               (h == 1 || h == 2);
    if (strcmp (self->period_type, "year") == 0)
        return strlen (period) == 4 &&
               sscanf (period, "%4d%c", &y, &tail) == 1 && y >= 1900;
    for (char **p = self->periods; p && *p; p++)
        if (strcmp (*p, period) == 0)
            return true;
    return false;
}

int64_t
gom_form_deadline_ms (gom_form_t *self, const char *period)
{
    if (!gom_form_period_valid (self, period))
        return -1;
    int y = 0, m = 0, d = 0;
    if (*self->date)
        sscanf (self->date, "%d-%d-%d", &y, &m, &d);
    else {
        sscanf (period, "%4d", &y);
        const char *md = *self->year              ? self->year
                         : strstr (period, "-H1") ? self->h1
                                                  : self->h2;
        sscanf (md, "%d-%d", &m, &d);
    }
    struct tm tm = { 0 };
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    int64_t day_start_utc = (int64_t)timegm (&tm) * 1000;
    //  The end of that day in Vietnam (UTC+7).
    return day_start_utc + 86400000LL - 7 * 3600000LL - 1;
}

typedef struct {
    char *text;
    size_t len, cap, count;
} problems_t;

static void
s_append (problems_t *p, const char *line)
{
    size_t n = strlen (line);
    if (p->len + n + 2 > p->cap) {
        p->cap = (p->len + n + 2) * 2;
        p->text = realloc (p->text, p->cap);
    }
    memcpy (p->text + p->len, line, n);
    p->len += n;
    p->text [p->len++] = '\n';
    p->text [p->len] = 0;
}

static void
s_problem (problems_t *p, const char *fmt, ...)
{
    if (++p->count > 50)
        return;
    char line [1200];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (line, sizeof line, fmt, ap);
    va_end (ap);
    //  A long label may be cut: never inside a character.
    gom_utf8_mend_end (line);
    s_append (p, line);
}

char *
gom_form_check_report (gom_form_t *self, const Gom__Report *r, size_t *count)
{
    problems_t p = { NULL, 0, 0, 0 };
    if (strcmp (r->form, self->code) != 0)
        s_problem (&p, "biểu %s không phải biểu %s / form %s is not form %s",
                   r->form, self->code, r->form, self->code);
    if (!gom_form_period_valid (self, r->period))
        s_problem (&p,
                   "kỳ báo cáo %s không hợp lệ cho biểu này / period %s is not "
                   "valid for this form (%s%s)",
                   r->period, r->period, self->period_type,
                   strcmp (self->period_type, "half-year") == 0
                       ? ": YYYY-H1 or YYYY-H2"
                   : strcmp (self->period_type, "year") == 0 ? ": YYYY"
                                                             : "");
    bool *present = calloc (self->n_cells + 1, sizeof (bool));
    int64_t *value = calloc (self->n_cells + 1, sizeof (int64_t));
    size_t next = 0;
    for (size_t i = 0; i < r->n_cells; i++) {
        size_t c = s_cell_walk (self, r->cells [i]->code, &next);
        if (c == SIZE_MAX) {
            s_problem (&p,
                       "ô %s không có trong biểu / cell %s is not in form %s",
                       r->cells [i]->code, r->cells [i]->code, self->code);
            continue;
        }
        present [c] = true;
        value [c] = r->cells [i]->value;
        if (value [c] < self->cells [c].min)
            s_problem (&p,
                       "ô %s (%s) = %" PRId64 ": phải là số nguyên từ %" PRId64
                       " / cell %s = %" PRId64 ": must be a whole number from "
                       "%" PRId64,
                       self->cells [c].code, self->cells [c].label, value [c],
                       self->cells [c].min, self->cells [c].code, value [c],
                       self->cells [c].min);
    }
    for (size_t c = 0; c < self->n_cells; c++)
        if (self->cells [c].required && !present [c])
            s_problem (&p,
                       "ô %s (%s) bắt buộc nhưng để trống / cell %s is "
                       "required but empty",
                       self->cells [c].code, self->cells [c].label,
                       self->cells [c].code);
    for (size_t k = 0; k < self->n_checks; k++) {
        check_t *chk = &self->checks [k];
        if (chk->kind == GOM_CHECK_LE) {
            size_t a = chk->cell, b = chk->others [0];
            if (present [a] && present [b] && value [a] > value [b])
                s_problem (
                    &p,
                    "ô %s (%s) = %" PRId64 " lớn hơn ô %s (%s) = %" PRId64
                    " / cell %s = %" PRId64 " is more than cell %s = "
                    "%" PRId64,
                    self->cells [a].code, self->cells [a].label, value [a],
                    self->cells [b].code, self->cells [b].label, value [b],
                    self->cells [a].code, value [a], self->cells [b].code,
                    value [b]);
        }
        else if (chk->kind == GOM_CHECK_SUM) {
            bool all = present [chk->cell];
            int64_t sum = 0;
            for (size_t i = 0; i < chk->n_others; i++) {
                all = all && present [chk->others [i]];
                sum += value [chk->others [i]];
            }
            if (all && sum != value [chk->cell])
                s_problem (
                    &p,
                    "ô %s (%s) = %" PRId64 " nhưng tổng các phần = %" PRId64
                    " / cell %s = %" PRId64 " but its parts sum to "
                    "%" PRId64,
                    self->cells [chk->cell].code, self->cells [chk->cell].label,
                    value [chk->cell], sum, self->cells [chk->cell].code,
                    value [chk->cell], sum);
        }
        else {
            for (size_t i = 0; i < chk->n_others; i++) {
                size_t c = chk->others [i];
                if (!present [c] && !self->cells [c].required)
                    s_problem (&p,
                               "ô %s (%s) bắt buộc nhưng để trống / cell %s "
                               "is required but empty",
                               self->cells [c].code, self->cells [c].label,
                               self->cells [c].code);
            }
        }
    }
    for (size_t i = 0; i < r->n_texts; i++) {
        bool known = false;
        for (size_t t = 0; t < self->n_texts; t++)
            known =
                known || strcmp (self->texts [t].code, r->texts [i]->code) == 0;
        if (!known)
            s_problem (
                &p, "phần %s không có trong biểu / text %s is not in form %s",
                r->texts [i]->code, r->texts [i]->code, self->code);
    }
    for (size_t t = 0; t < self->n_texts; t++) {
        if (!self->texts [t].required)
            continue;
        bool given = false;
        for (size_t i = 0; i < r->n_texts; i++)
            given = given ||
                    (strcmp (self->texts [t].code, r->texts [i]->code) == 0 &&
                     r->texts [i]->text [0]);
        if (!given)
            s_problem (&p,
                       "phần %s (%s) bắt buộc nhưng để trống / text %s is "
                       "required but empty",
                       self->texts [t].code, self->texts [t].label,
                       self->texts [t].code);
    }
    free (present);
    free (value);
    if (p.count > 50) {
        char line [80];
        snprintf (line, sizeof line, "... (%zu problems in all)", p.count);
        s_append (&p, line);
    }
    if (count)
        *count = p.count;
    return p.text;
}
