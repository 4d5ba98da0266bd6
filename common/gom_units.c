/*  gom_units: see gom_units.h. libcsv reads the fields; this module checks
    them row by row and then checks the tree (parents exist, no cycles). */
#include "gom_units.h"
#include "gom_util.h"

#include <csv.h>
#include <czmq.h>
#include <stdarg.h>

typedef struct {
    char *code, *name, *parent, *level;
    int64_t from_ms;   //  active from (0: always)
    int64_t until_ms;  //  inactive from (0: never)
    size_t line;       //  where it was defined
    size_t children;   //  units whose parent this is
    size_t up;         //  the parent's index + 1 (0: a root)
} unit_t;

struct _gom_units_t {
    unit_t *units;
    size_t n, cap;
    zhashx_t *index;  //  code -> index + 1
};

typedef struct {
    gom_units_t *self;
    const char *file;
    char *err;
    size_t errlen;
    bool failed;
    size_t line;       //  1-based line of the record being read
    char *fields [8];  //  fields of the record being read
    size_t n_fields;
} reader_t;

static void
s_fail (reader_t *r, size_t line, const char *fmt, ...)
{
    if (r->failed)
        return;
    r->failed = true;
    char msg [300];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (msg, sizeof msg, fmt, ap);
    va_end (ap);
    snprintf (r->err, r->errlen, "%s:%zu: %s", r->file, line, msg);
    gom_utf8_mend_end (r->err);  //  msg (a name) may be cut at its end
}

//  "YYYY-MM-DD" -> Unix ms of that day's start in Vietnam (UTC+7).
static int
s_date (const char *s, int64_t *ms)
{
    int y, m, d;
    char tail;
    if (strlen (s) != 10 ||
        sscanf (s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 ||
        m > 12 || d < 1 || d > 31)
        return -1;
    struct tm tm = { 0 };
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    *ms = (int64_t)timegm (&tm) * 1000 - 7 * 3600000LL;
    return 0;
}

static void
s_field (void *data, size_t len, void *arg)
{
    reader_t *r = arg;
    if (r->n_fields < 8)
        r->fields [r->n_fields] = data ? strndup (data, len) : strdup ("");
    r->n_fields++;
}

static void
s_record (int c, void *arg)
{
    (void)c;
    reader_t *r = arg;
    size_t line = r->line++;
    size_t n = r->n_fields;
    char **f = r->fields;
    if (line == 1) {
        const char *want [] = { "code",  "name",        "parent",
                                "level", "active_from", "inactive_from" };
        char *first = f [0] ? f [0] : "";
        if (strncmp (first, "\xEF\xBB\xBF", 3) == 0)
            memmove (first, first + 3, strlen (first + 3) + 1);
        bool ok = n >= 4 && n <= 6;
        for (size_t i = 0; ok && i < n; i++)
            ok = strcmp (f [i], want [i]) == 0;
        if (!ok)
            s_fail (r, line,
                    "the first line must be the header "
                    "code,name,parent,level[,active_from[,inactive_from]]");
        goto done;
    }
    if (r->failed)
        goto done;
    if (n == 1 && !*f [0])
        goto done;  //  an empty line
    if (n < 4 || n > 6) {
        s_fail (r, line, "%zu fields; want 4 to 6", n);
        goto done;
    }
    gom_units_t *self = r->self;
    if (!gom_code_valid (f [0])) {
        s_fail (r, line,
                "code \"%.40s\" is not a code (1 to %d of A-Z a-z "
                "0-9 _ . : -)",
                f [0], GOM_CODE_MAX);
        goto done;
    }
    if (zhashx_lookup (self->index, f [0])) {
        unit_t *first =
            &self->units [(uintptr_t)zhashx_lookup (self->index, f [0]) - 1];
        s_fail (r, line, "unit %s is defined twice (first on line %zu)", f [0],
                first->line);
        goto done;
    }
    if (!*f [1] || !gom_utf8_valid (f [1], strlen (f [1]))) {
        s_fail (r, line, "unit %s: the name is empty or not UTF-8", f [0]);
        goto done;
    }
    if (*f [2] && !gom_code_valid (f [2])) {
        s_fail (r, line, "unit %s: parent \"%.40s\" is not a code", f [0],
                f [2]);
        goto done;
    }
    if (!gom_code_valid (f [3])) {
        s_fail (r, line,
                "unit %s: level \"%.40s\" is not a word like "
                "province, district, commune",
                f [0], f [3]);
        goto done;
    }
    int64_t from = 0, until = 0;
    if (n > 4 && *f [4] && s_date (f [4], &from) != 0) {
        s_fail (r, line, "unit %s: active_from \"%.20s\" is not YYYY-MM-DD",
                f [0], f [4]);
        goto done;
    }
    if (n > 5 && *f [5] && s_date (f [5], &until) != 0) {
        s_fail (r, line, "unit %s: inactive_from \"%.20s\" is not YYYY-MM-DD",
                f [0], f [5]);
        goto done;
    }
    if (self->n == self->cap) {
        self->cap = self->cap ? 2 * self->cap : 256;
        self->units = realloc (self->units, self->cap * sizeof (unit_t));
    }
    unit_t *u = &self->units [self->n++];
    u->code = strdup (f [0]);
    u->name = strdup (f [1]);
    u->parent = *f [2] ? strdup (f [2]) : NULL;
    u->level = strdup (f [3]);
    u->from_ms = from;
    u->until_ms = until;
    u->line = line;
    u->children = 0;
    u->up = 0;
    zhashx_insert (self->index, u->code, (void *)(uintptr_t)self->n);
done:
    for (size_t i = 0; i < n && i < 8; i++)
        free (f [i]);
    r->n_fields = 0;
}

static unit_t *
s_unit (gom_units_t *self, const char *code)
{
    void *v = code ? zhashx_lookup (self->index, code) : NULL;
    return v ? &self->units [(uintptr_t)v - 1] : NULL;
}

gom_units_t *
gom_units_load (const char *path, char *err, size_t errlen)
{
    FILE *file = fopen (path, "rb");
    if (!file) {
        snprintf (err, errlen, "%s: %s", path, strerror (errno));
        return NULL;
    }
    gom_units_t *self = calloc (1, sizeof *self);
    assert (self);
    self->index = zhashx_new ();
    reader_t r = { self, path, err, errlen, false, 1, { 0 }, 0 };
    struct csv_parser parser;
    csv_init (&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
    char buf [65536];
    size_t len;
    while (!r.failed && (len = fread (buf, 1, sizeof buf, file)) > 0)
        if (csv_parse (&parser, buf, len, s_field, s_record, &r) != len) {
            s_fail (&r, r.line, "not valid CSV: %s",
                    csv_strerror (csv_error (&parser)));
            break;
        }
    if (!r.failed && csv_fini (&parser, s_field, s_record, &r) != 0)
        s_fail (&r, r.line, "not valid CSV: %s",
                csv_strerror (csv_error (&parser)));
    for (size_t i = 0; i < r.n_fields && i < 8; i++)
        free (r.fields [i]);
    csv_free (&parser);
    fclose (file);
    if (!r.failed && self->n == 0)
        s_fail (&r, r.line, "no units in the file");
    //  The tree: every parent exists; no unit is its own ancestor.
    for (size_t i = 0; !r.failed && i < self->n; i++) {
        unit_t *u = &self->units [i];
        if (u->parent && !s_unit (self, u->parent)) {
            s_fail (&r, u->line, "unit %s: parent %s is not in the file",
                    u->code, u->parent);
            break;
        }
        if (u->parent) {
            unit_t *parent = s_unit (self, u->parent);
            parent->children++;
            u->up = (size_t)(parent - self->units) + 1;
        }
        unit_t *p = u;
        for (size_t steps = 0; p && p->parent; steps++) {
            p = s_unit (self, p->parent);
            if (p == u || steps > self->n) {
                s_fail (&r, u->line, "unit %s is its own ancestor (a cycle)",
                        u->code);
                break;
            }
        }
    }
    if (r.failed)
        gom_units_destroy (&self);
    return self;
}

void
gom_units_destroy (gom_units_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gom_units_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++) {
        free (self->units [i].code);
        free (self->units [i].name);
        free (self->units [i].parent);
        free (self->units [i].level);
    }
    free (self->units);
    zhashx_destroy (&self->index);
    free (self);
    *self_p = NULL;
}

size_t
gom_units_chain (gom_units_t *self, const char *code, const char **chain,
                 size_t max)
{
    size_t n = 0;
    for (unit_t *u = s_unit (self, code); u && n < max;
         u = u->up ? &self->units [u->up - 1] : NULL)
        chain [n++] = u->code;
    return n;
}

size_t
gom_units_count (gom_units_t *self)
{
    return self->n;
}

bool
gom_units_exists (gom_units_t *self, const char *code)
{
    return s_unit (self, code) != NULL;
}

const char *
gom_units_name (gom_units_t *self, const char *code)
{
    unit_t *u = s_unit (self, code);
    return u ? u->name : NULL;
}

const char *
gom_units_parent (gom_units_t *self, const char *code)
{
    unit_t *u = s_unit (self, code);
    return u ? u->parent : NULL;
}

const char *
gom_units_level (gom_units_t *self, const char *code)
{
    unit_t *u = s_unit (self, code);
    return u ? u->level : NULL;
}

bool
gom_units_active (gom_units_t *self, const char *code, int64_t at_ms)
{
    unit_t *u = s_unit (self, code);
    return u && (!u->from_ms || at_ms >= u->from_ms) &&
           (!u->until_ms || at_ms < u->until_ms);
}

const char *
gom_units_code (gom_units_t *self, size_t i)
{
    assert (i < self->n);
    return self->units [i].code;
}

bool
gom_units_is_leaf (gom_units_t *self, const char *code)
{
    unit_t *u = s_unit (self, code);
    return u && u->children == 0;
}

bool
gom_units_within (gom_units_t *self, const char *code, const char *ancestor)
{
    unit_t *u = s_unit (self, code);
    for (size_t steps = 0; u && steps <= self->n; steps++) {
        if (strcmp (u->code, ancestor) == 0)
            return true;
        u = s_unit (self, u->parent);
    }
    return false;
}
