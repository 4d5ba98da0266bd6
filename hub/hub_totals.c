/*  hub_totals: see hub_totals.h. Everything is computed from a rollup of
    one form and period: what each unit sent, read from hub.db in one read
    transaction, and then only what came since (by receipt). */
#include "hub_totals.h"
#include "gom_db.h"
#include "gom_util.h"

#include <czmq.h>
#include <math.h>

//  A bump allocator for unpacking report contents: one block, reused for
//  every report, so that a province's million cells cost no malloc each.
typedef struct {
    char *block;
    size_t size, used;
    bool overflow;  //  a report did not fit: unpack fails
} arena_t;

static void *
s_arena_alloc (void *data, size_t size)
{
    arena_t *a = data;
    size = (size + 15) & ~(size_t)15;
    if (a->used + size > a->size) {
        a->overflow = true;
        return NULL;
    }
    void *p = a->block + a->used;
    a->used += size;
    return p;
}

static void
s_arena_free (void *data, void *ptr)
{
    (void)data;
    (void)ptr;  //  freed all at once, by resetting
}

//  Unpacks a report's content into the arena, growing it (and trying once
//  more) when a report does not fit. NULL if the blob is not a report.
static Gom__Report *
s_unpack (arena_t *a, const uint8_t *data, size_t len)
{
    for (int round = 0; round < 2; round++) {
        ProtobufCAllocator alloc = { s_arena_alloc, s_arena_free, a };
        a->used = 0;
        a->overflow = false;
        Gom__Report *r = gom__report__unpack (&alloc, len, data);
        if (r || !a->overflow)
            return r;
        a->size = 2 * a->size + 16 * len;
        a->block = realloc (a->block, a->size);
    }
    return NULL;
}

static json_t *
s_time (int64_t ms)
{
    char buf [32];
    gom_iso_time (ms, buf, sizeof buf);
    return json_string (buf);
}

//  What one unit has sent for a form and period.
typedef struct {
    bool reported;         //  an accepted report is stored
    int64_t first_sealed;  //  sealed time of its first revision
    int64_t first_received;
    int64_t revision;     //  its highest revision
    char *code, *reason;  //  its latest refusal, if any
    int64_t *values;      //  its highest revision's cells (rollup with
    uint8_t *present;     //  values), by the form's cell index
} unit_status_t;

static void
s_status_free (void **item)
{
    unit_status_t *u = *item;
    if (u) {
        free (u->code);
        free (u->reason);
        free (u->values);
        free (u->present);
        free (u);
        *item = NULL;
    }
}

static unit_status_t *
s_status (zhashx_t *map, const char *unit)
{
    unit_status_t *u = zhashx_lookup (map, unit);
    if (!u) {
        u = calloc (1, sizeof *u);
        zhashx_insert (map, unit, u);
    }
    return u;
}

//  A unit of the tree as a rollup sees it: names and parent looked up
//  once, whether it is expected (an active leaf at the deadline), and its
//  status here.
typedef struct {
    const char *code, *name, *parent, *parent_name;
    bool expected;
    unit_status_t *u;  //  NULL: nothing from it yet
} tree_unit_t;

struct _hub_rollup_t {
    gom_form_t *form;
    char *period;
    bool with_values;
    size_t n_cells;
    zhashx_t *statuses;  //  unit -> unit_status_t
    int64_t last_receipt, last_rejection;
    arena_t arena;
    //  Position in a report -> cell index, from the previous report: the
    //  reports of one form list their cells in the same order.
    size_t map_cap;
    size_t *map;
    char **map_codes;
    //  Every unit's values summed, kept as they change (with values)
    int64_t *sum, *count;
    size_t n_values;  //  units with values
    //  The unit tree in file order (s_tree), for the tree it was made of
    gom_units_t *tree_of;
    tree_unit_t *tree;
    size_t tree_n, tree_statuses;
};

hub_rollup_t *
hub_rollup_new (gom_form_t *form, const char *period, bool with_values)
{
    hub_rollup_t *self = calloc (1, sizeof *self);
    assert (self);
    self->form = form;
    self->period = strdup (period);
    self->with_values = with_values;
    self->n_cells = gom_form_cell_count (form);
    self->statuses = zhashx_new ();
    zhashx_set_destructor (self->statuses, s_status_free);
    self->arena.size = 1 << 16;
    self->arena.block = malloc (self->arena.size);
    self->sum = calloc (self->n_cells + 1, sizeof (int64_t));
    self->count = calloc (self->n_cells + 1, sizeof (int64_t));
    return self;
}

void
hub_rollup_destroy (hub_rollup_t **self_p)
{
    hub_rollup_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->statuses);
    for (size_t z = 0; z < self->map_cap; z++)
        free (self->map_codes [z]);
    free (self->map_codes);
    free (self->map);
    free (self->arena.block);
    free (self->sum);
    free (self->count);
    free (self->tree);
    free (self->period);
    free (self);
    *self_p = NULL;
}

//  Keeps the cells of a unit's report (its highest revision so far).
static void
s_take_values (hub_rollup_t *self, unit_status_t *u, const uint8_t *blob,
               size_t len)
{
    if (!u->values) {
        u->values = calloc (self->n_cells + 1, sizeof (int64_t));
        u->present = calloc (self->n_cells + 1, 1);
        self->n_values++;
    }
    for (size_t i = 0; i < self->n_cells; i++) {
        self->sum [i] -= u->values [i];
        self->count [i] -= u->present [i];
    }
    memset (u->values, 0, (self->n_cells + 1) * sizeof (int64_t));
    memset (u->present, 0, self->n_cells + 1);
    //  The cells come from each report's stored content (one packed Report
    //  a report) rather than the cells table (one row a cell): ten times
    //  fewer sqlite steps.
    Gom__Report *content = s_unpack (&self->arena, blob, len);
    for (size_t k = 0; content && k < content->n_cells; k++) {
        const char *code = content->cells [k]->code;
        if (k >= self->map_cap) {
            size_t old = self->map_cap;
            self->map_cap = self->map_cap ? 2 * self->map_cap : 128;
            self->map = realloc (self->map, self->map_cap * sizeof (size_t));
            self->map_codes =
                realloc (self->map_codes, self->map_cap * sizeof (char *));
            for (size_t z = old; z < self->map_cap; z++)
                self->map_codes [z] = NULL;
        }
        if (!self->map_codes [k] || strcmp (self->map_codes [k], code) != 0) {
            free (self->map_codes [k]);
            self->map_codes [k] = strdup (code);
            self->map [k] = gom_form_cell_index (self->form, code);
        }
        size_t i = self->map [k];
        if (i == SIZE_MAX)
            continue;  //  a cell of another version of the form
        u->values [i] = content->cells [k]->value;
        u->present [i] = 1;
    }
    for (size_t i = 0; i < self->n_cells; i++) {
        self->sum [i] += u->values [i];
        self->count [i] += u->present [i];
    }
}

//  Reads what was stored since the last update: reports by receipt and
//  refusals by id, both of which only grow (one writer, numbers given in
//  commit order), in one read transaction. Statuses: timeliness is judged
//  on the first revision (a correction sent after the deadline does not
//  make a report that was on time late); the values are the highest
//  revision's.
int
hub_rollup_update (hub_rollup_t *self, sqlite3 *db)
{
    const char *form = gom_form_code (self->form);
    if (gom_db_exec (db, "BEGIN") != 0)
        return -1;
    int rc = 0;
    sqlite3_stmt *st = gom_db_prepare (
        db, self->with_values
                ? "SELECT receipt, unit, revision, sealed_ms, received_ms, "
                  "content FROM reports WHERE receipt > ?3 AND form=?1 "
                  "AND period=?2 ORDER BY receipt"
                : "SELECT receipt, unit, revision, sealed_ms, received_ms "
                  "FROM reports WHERE receipt > ?3 AND form=?1 "
                  "AND period=?2 ORDER BY receipt");
    if (st) {
        sqlite3_bind_text (st, 1, form, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (st, 2, self->period, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64 (st, 3, self->last_receipt);
        while ((rc = sqlite3_step (st)) == SQLITE_ROW) {
            unit_status_t *u = s_status (
                self->statuses, (const char *)sqlite3_column_text (st, 1));
            int64_t revision = sqlite3_column_int64 (st, 2);
            int64_t sealed = sqlite3_column_int64 (st, 3);
            int64_t received = sqlite3_column_int64 (st, 4);
            bool latest = !u->reported || revision >= u->revision;
            if (!u->reported || sealed < u->first_sealed)
                u->first_sealed = sealed;
            if (!u->reported || received < u->first_received)
                u->first_received = received;
            if (latest)
                u->revision = revision;
            u->reported = true;
            if (latest && self->with_values)
                s_take_values (self, u, sqlite3_column_blob (st, 5),
                               (size_t)sqlite3_column_bytes (st, 5));
            self->last_receipt = sqlite3_column_int64 (st, 0);
        }
        rc = rc == SQLITE_DONE ? 0 : -1;
    }
    else
        rc = -1;
    sqlite3_finalize (st);
    st = rc == 0 ? gom_db_prepare (
                       db, "SELECT id, unit, code, reason FROM rejections "
                           "WHERE id > ?3 AND form=?1 AND period=?2 AND unit "
                           "IS NOT NULL ORDER BY id")
                 : NULL;
    if (st) {
        sqlite3_bind_text (st, 1, form, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (st, 2, self->period, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64 (st, 3, self->last_rejection);
        while ((rc = sqlite3_step (st)) == SQLITE_ROW) {
            unit_status_t *u = s_status (
                self->statuses, (const char *)sqlite3_column_text (st, 1));
            free (u->code);
            free (u->reason);
            u->code = strdup ((const char *)sqlite3_column_text (st, 2));
            u->reason = strdup ((const char *)sqlite3_column_text (st, 3));
            self->last_rejection = sqlite3_column_int64 (st, 0);
        }
        rc = rc == SQLITE_DONE ? 0 : -1;
    }
    else
        rc = -1;
    sqlite3_finalize (st);
    gom_db_exec (db, "COMMIT");
    return rc;
}

//  Expected to report: the active leaf units of the subtree.
static bool
s_expected (gom_units_t *units, const char *code, const char *root,
            int64_t deadline)
{
    return (!root || gom_units_within (units, code, root)) &&
           gom_units_is_leaf (units, code) &&
           gom_units_active (units, code, deadline);
}

//  on_time, late, rejected (refused, nothing accepted) or missing.
static const char *
s_state (unit_status_t *u, int64_t deadline)
{
    if (u && u->reported)
        return u->first_sealed <= deadline ? "on_time" : "late";
    return u && u->code ? "rejected" : "missing";
}

//  The unit tree as the rollup sees it, in file order: made once for a
//  tree (units must not change while the rollup keeps a view of them: the
//  dashboard's tree lives as long as the hub runs), each unit's status
//  looked up again only when units were added to the rollup. An answer
//  for 10,000 units then makes no lookup at all, where it made six a unit.
static tree_unit_t *
s_tree (hub_rollup_t *self, gom_units_t *units)
{
    size_t n = gom_units_count (units);
    if (self->tree_of != units || self->tree_n != n) {
        free (self->tree);
        self->tree = calloc (n + 1, sizeof (tree_unit_t));
        int64_t deadline = gom_form_deadline_ms (self->form, self->period);
        for (size_t i = 0; i < n; i++) {
            tree_unit_t *t = &self->tree [i];
            t->code = gom_units_code (units, i);
            t->name = gom_units_name (units, t->code);
            t->parent = gom_units_parent (units, t->code);
            t->parent_name =
                t->parent ? gom_units_name (units, t->parent) : NULL;
            t->expected = s_expected (units, t->code, NULL, deadline);
        }
        self->tree_of = units;
        self->tree_n = n;
        self->tree_statuses = SIZE_MAX;
    }
    if (self->tree_statuses != zhashx_size (self->statuses)) {
        for (size_t i = 0; i < n; i++)
            self->tree [i].u =
                zhashx_lookup (self->statuses, self->tree [i].code);
        self->tree_statuses = zhashx_size (self->statuses);
    }
    return self->tree;
}

//  Expected, and within root.
static bool
s_tree_expected (gom_units_t *units, const tree_unit_t *t, const char *root)
{
    return t->expected && (!root || gom_units_within (units, t->code, root));
}

//  Completeness over the expected units (active leaves of the subtree):
//  counts, and with list_all every unit with its state.
static json_t *
s_completeness (hub_rollup_t *self, gom_units_t *units, const char *root,
                int64_t deadline, bool list_all, bool summaries)
{
    json_t *comp = json_object ();
    if (!units) {
        json_object_set_new (comp, "expected", json_null ());
        return comp;
    }
    size_t expected = 0, on_time = 0, late = 0, rejected = 0;
    json_t *missing = json_array (), *late_units = json_array ();
    json_t *all = json_array ();
    tree_unit_t *tree = s_tree (self, units);
    for (size_t i = 0; i < self->tree_n; i++) {
        const tree_unit_t *t = &tree [i];
        if (!s_tree_expected (units, t, root))
            continue;
        const char *code = t->code;
        expected++;
        unit_status_t *u = t->u;
        const char *state = s_state (u, deadline);
        on_time += state [0] == 'o';
        late += state [0] == 'l';
        rejected += state [0] == 'r';
        if ((!list_all && strcmp (state, "on_time") == 0) ||
            (!list_all && !summaries))
            continue;  //  nothing to list about it
        const char *parent = t->parent;
        json_t *who = json_pack ("{s:s, s:s}", "code", code, "name", t->name);
        if (summaries && strcmp (state, "late") == 0)
            json_array_append (late_units, who);
        else if (summaries && strcmp (state, "on_time") != 0)
            json_array_append (missing, who);
        if (list_all) {
            json_object_set_new (who, "state", json_string (state));
            json_object_set_new (who, "parent",
                                 parent ? json_string (parent) : json_null ());
            json_object_set_new (who, "parent_name",
                                 parent ? json_string (t->parent_name)
                                        : json_null ());
            json_object_set_new (who, "revision",
                                 u && u->reported ? json_integer (u->revision)
                                                  : json_null ());
            json_object_set_new (who, "sealed_at",
                                 u && u->reported ? s_time (u->first_sealed)
                                                  : json_null ());
            json_object_set_new (who, "received_at",
                                 u && u->reported ? s_time (u->first_received)
                                                  : json_null ());
            json_object_set_new (who, "rejected_code",
                                 u && u->code ? json_string (u->code)
                                              : json_null ());
            json_object_set_new (who, "rejected_reason",
                                 u && u->reason ? json_string (u->reason)
                                                : json_null ());
            json_array_append (all, who);
        }
        json_decref (who);
    }
    json_object_set_new (comp, "expected", json_integer (expected));
    json_object_set_new (comp, "on_time", json_integer (on_time));
    json_object_set_new (comp, "late", json_integer (late));
    json_object_set_new (comp, "rejected", json_integer (rejected));
    json_object_set_new (comp, "missing",
                         json_integer (expected - on_time - late));
    json_object_set_new (
        comp, "percent",
        expected ? json_real (round (1000.0 * (on_time + late) / expected) / 10)
                 : json_null ());
    if (summaries) {
        json_object_set_new (comp, "missing_units", missing);
        json_object_set_new (comp, "late_units", late_units);
    }
    else {
        json_decref (missing);
        json_decref (late_units);
    }
    if (list_all)
        json_object_set_new (comp, "units", all);
    else
        json_decref (all);
    return comp;
}

json_t *
hub_rollup_totals (hub_rollup_t *self, gom_units_t *units, const char *root)
{
    gom_form_t *form = self->form;
    const char *period = self->period;
    int64_t deadline = gom_form_deadline_ms (form, period);
    size_t n_cells = self->n_cells;
    int64_t *sum = calloc (n_cells + 1, sizeof (int64_t));
    int64_t *count = calloc (n_cells + 1, sizeof (int64_t));
    size_t n_reports = 0;  //  units counted (latest revisions)
    if (!root) {           //  every unit: the sums kept as values changed
        memcpy (sum, self->sum, n_cells * sizeof (int64_t));
        memcpy (count, self->count, n_cells * sizeof (int64_t));
        n_reports = self->n_values;
    }
    for (unit_status_t *u = root ? zhashx_first (self->statuses) : NULL; u;
         u = zhashx_next (self->statuses)) {
        const char *unit = zhashx_cursor (self->statuses);
        if (!u->reported || !u->values)
            continue;
        if (root && (units ? !gom_units_within (units, unit, root)
                           : strcmp (unit, root) != 0))
            continue;
        n_reports++;
        for (size_t i = 0; i < n_cells; i++) {
            sum [i] += u->values [i];
            count [i] += u->present [i];
        }
    }

    json_t *out = json_object ();
    json_object_set_new (out, "form", json_string (gom_form_code (form)));
    json_object_set_new (out, "version",
                         json_integer (gom_form_version (form)));
    json_object_set_new (out, "title", json_string (gom_form_title (form)));
    json_object_set_new (out, "period", json_string (period));
    json_object_set_new (out, "unit", root ? json_string (root) : json_null ());
    json_object_set_new (out, "deadline_at", s_time (deadline));
    json_object_set_new (out, "reports", json_integer ((json_int_t)n_reports));

    json_t *jcells = json_array ();
    for (size_t i = 0; i < n_cells; i++)
        json_array_append_new (
            jcells,
            json_pack ("{s:s, s:s, s:o, s:I}", "code",
                       gom_form_cell_code (form, i), "label",
                       gom_form_cell_label (form, i), "sum",
                       count [i] ? json_integer (sum [i]) : json_null (),
                       "units", (json_int_t)count [i]));
    json_object_set_new (out, "cells", jcells);

    json_t *jind = json_array ();
    for (size_t k = 0; k < gom_form_indicator_count (form); k++) {
        gom_indicator_t ind;
        gom_form_indicator (form, k, &ind);
        int64_t num = 0, den = 0;
        bool any = false;
        for (size_t i = 0; i < ind.n_numerator; i++) {
            num += sum [ind.numerator [i]];
            any = any || count [ind.numerator [i]];
        }
        for (size_t i = 0; i < ind.n_denominator; i++)
            den += sum [ind.denominator [i]];
        json_t *value = json_null (), *met = json_null ();
        if (any && den > 0) {
            double v = ind.scale * (double)num / (double)den;
            value = json_real (round (v * 100) / 100);
            if (ind.has_min || ind.has_max)
                met = json_boolean ((!ind.has_min || v >= ind.min) &&
                                    (!ind.has_max || v <= ind.max));
        }
        json_array_append_new (
            jind, json_pack ("{s:s, s:s, s:I, s:I, s:f, s:o, s:o, s:o, s:o}",
                             "code", ind.code, "label", ind.label, "numerator",
                             (json_int_t)num, "denominator", (json_int_t)den,
                             "scale", ind.scale, "value", value, "target_min",
                             ind.has_min ? json_real (ind.min) : json_null (),
                             "target_max",
                             ind.has_max ? json_real (ind.max) : json_null (),
                             "met", met));
    }
    json_object_set_new (out, "indicators", jind);
    json_object_set_new (
        out, "completeness",
        s_completeness (self, units, root, deadline, false, true));
    free (sum);
    free (count);
    return out;
}

json_t *
hub_rollup_arrivals (hub_rollup_t *self, gom_units_t *units, const char *root,
                     bool summaries)
{
    int64_t deadline = gom_form_deadline_ms (self->form, self->period);
    json_t *out = s_completeness (self, units, root, deadline, true, summaries);
    json_object_set_new (out, "form", json_string (gom_form_code (self->form)));
    json_object_set_new (out, "period", json_string (self->period));
    json_object_set_new (out, "unit", root ? json_string (root) : json_null ());
    json_object_set_new (out, "deadline_at", s_time (deadline));
    return out;
}

//  JSON text of a string (UTF-8 passes through; quotes, backslashes and
//  control characters escaped).
static void
s_put_str (FILE *f, const char *str)
{
    if (!str) {
        fputs_unlocked ("null", f);
        return;
    }
    fputc_unlocked ('"', f);
    const unsigned char *p = (const unsigned char *)str, *run = p;
    for (; *p; p++) {
        if (*p != '"' && *p != '\\' && *p >= 0x20)
            continue;
        fwrite_unlocked (run, 1, (size_t)(p - run),
                         f);  //  the plain run before it
        if (*p < 0x20)
            fprintf (f, "\\u%04x", *p);
        else
            fprintf (f, "\\%c", *p);
        run = p + 1;
    }
    fwrite_unlocked (run, 1, (size_t)(p - run), f);
    fputc_unlocked ('"', f);
}

static void
s_put_time (FILE *f, int64_t ms)
{
    char buf [32];
    gom_iso_time (ms, buf, sizeof buf);
    fputc_unlocked ('"', f);
    fputs_unlocked (buf, f);
    fputc_unlocked ('"', f);
}

char *
hub_rollup_arrivals_text (hub_rollup_t *self, gom_units_t *units,
                          const char *root, size_t *len)
{
    int64_t deadline = gom_form_deadline_ms (self->form, self->period);
    char *text = NULL;
    FILE *f = open_memstream (&text, len);
    size_t expected = 0, on_time = 0, late = 0, rejected = 0;
    fputs_unlocked ("{\"units\":[", f);
    tree_unit_t *tree = s_tree (self, units);
    for (size_t i = 0; i < self->tree_n; i++) {
        const tree_unit_t *t = &tree [i];
        if (!s_tree_expected (units, t, root))
            continue;
        unit_status_t *u = t->u;
        const char *state = s_state (u, deadline);
        on_time += state [0] == 'o';
        late += state [0] == 'l';
        rejected += state [0] == 'r';
        const char *parent = t->parent;
        fputs_unlocked (expected++ ? ",{\"code\":" : "{\"code\":", f);
        s_put_str (f, t->code);
        fputs_unlocked (",\"name\":", f);
        s_put_str (f, t->name);
        fputs_unlocked (",\"state\":\"", f);
        fputs_unlocked (state, f);
        fputs_unlocked ("\",\"parent\":", f);
        s_put_str (f, parent);
        fputs_unlocked (",\"parent_name\":", f);
        s_put_str (f, t->parent_name);
        if (u && u->reported) {
            fprintf (f,
                     ",\"revision\":%" PRId64 ",\"sealed_at\":", u->revision);
            s_put_time (f, u->first_sealed);
            fputs_unlocked (",\"received_at\":", f);
            s_put_time (f, u->first_received);
        }
        else
            fputs_unlocked (",\"revision\":null,\"sealed_at\":null,"
                            "\"received_at\":null",
                            f);
        fputs_unlocked (",\"rejected_code\":", f);
        s_put_str (f, u ? u->code : NULL);
        fputs_unlocked (",\"rejected_reason\":", f);
        s_put_str (f, u ? u->reason : NULL);
        fputc_unlocked ('}', f);
    }
    fprintf (f,
             "],\"expected\":%zu,\"on_time\":%zu,\"late\":%zu,"
             "\"rejected\":%zu,\"missing\":%zu,\"percent\":",
             expected, on_time, late, rejected, expected - on_time - late);
    if (expected)
        fprintf (f, "%.1f",
                 round (1000.0 * (double)(on_time + late) / (double)expected) /
                     10);
    else
        fputs_unlocked ("null", f);
    fputs_unlocked (",\"form\":", f);
    s_put_str (f, gom_form_code (self->form));
    fputs_unlocked (",\"period\":", f);
    s_put_str (f, self->period);
    fputs_unlocked (",\"unit\":", f);
    s_put_str (f, root);
    fputs_unlocked (",\"deadline_at\":", f);
    if (deadline > 0)
        s_put_time (f, deadline);
    else
        fputs_unlocked ("null", f);
    fputc_unlocked ('}', f);
    fclose (f);
    return text;
}

//  The checks both commands make before reading.
static bool
s_valid (gom_form_t *form, gom_units_t *units, const char *period,
         const char *root, char *err, size_t errlen)
{
    if (!gom_form_period_valid (form, period)) {
        snprintf (err, errlen, "period %s is not valid for form %s (%s)",
                  period, gom_form_code (form), gom_form_period_type (form));
        return false;
    }
    if (root && units && !gom_units_exists (units, root)) {
        snprintf (err, errlen, "unit %s is not in the unit tree", root);
        return false;
    }
    return true;
}

//  Texts: the section is one of the form's narrative sections.
static bool
s_section_valid (gom_form_t *form, const char *section, char *err,
                 size_t errlen)
{
    for (size_t i = 0; i < gom_form_text_count (form); i++) {
        const char *code, *label;
        bool required;
        gom_form_text (form, i, &code, &label, &required);
        if (strcmp (code, section) == 0)
            return true;
    }
    snprintf (err, errlen, "form %s has no narrative section %s",
              gom_form_code (form), section);
    return false;
}

bool
hub_view_valid (const char *what, gom_form_t *form, gom_units_t *units,
                const char *period, const char *root, const char *section,
                char *err, size_t errlen)
{
    if (strcmp (what, "texts") == 0)
        return s_section_valid (form, section ? section : "", err, errlen);
    if (!s_valid (form, units, period, root, err, errlen))
        return false;
    if (strcmp (what, "arrivals") == 0 && !units) {
        snprintf (err, errlen, "arrivals need a unit tree (units.csv)");
        return false;
    }
    return true;
}

//  A rollup read from nothing, for one answer; NULL with err.
static hub_rollup_t *
s_read_once (sqlite3 *db, gom_form_t *form, const char *period,
             bool with_values, char *err, size_t errlen)
{
    hub_rollup_t *rollup = hub_rollup_new (form, period, with_values);
    if (hub_rollup_update (rollup, db) != 0) {
        snprintf (err, errlen, "cannot read the reports: %s",
                  sqlite3_errmsg (db));
        hub_rollup_destroy (&rollup);
    }
    return rollup;
}

json_t *
hub_totals_json (sqlite3 *db, gom_form_t *form, gom_units_t *units,
                 const char *period, const char *root, char *err, size_t errlen)
{
    if (!hub_view_valid ("totals", form, units, period, root, NULL, err,
                         errlen))
        return NULL;
    hub_rollup_t *rollup = s_read_once (db, form, period, true, err, errlen);
    json_t *out = rollup ? hub_rollup_totals (rollup, units, root) : NULL;
    hub_rollup_destroy (&rollup);
    return out;
}

json_t *
hub_arrivals_json (sqlite3 *db, gom_form_t *form, gom_units_t *units,
                   const char *period, const char *root, char *err,
                   size_t errlen)
{
    if (!hub_view_valid ("arrivals", form, units, period, root, NULL, err,
                         errlen))
        return NULL;
    hub_rollup_t *rollup = s_read_once (db, form, period, false, err, errlen);
    json_t *out =
        rollup ? hub_rollup_arrivals (rollup, units, root, true) : NULL;
    hub_rollup_destroy (&rollup);
    return out;
}

json_t *
hub_texts_json (sqlite3 *db, gom_form_t *form, gom_units_t *units,
                const char *period, const char *section, const char *root,
                char *err, size_t errlen)
{
    if (!s_section_valid (form, section, err, errlen))
        return NULL;
    json_t *list = json_array ();
    gom_db_exec (db, "BEGIN");
    sqlite3_stmt *st = gom_db_prepare (
        db, "SELECT r.unit, r.revision, t.text FROM reports r "
            "JOIN texts t ON t.receipt=r.receipt AND t.code=?3 "
            "WHERE r.form=?1 AND r.period=?2 AND r.revision="
            "(SELECT max(revision) FROM reports "
            " WHERE unit=r.unit AND form=?1 AND period=?2) ORDER BY r.unit");
    if (st) {
        sqlite3_bind_text (st, 1, gom_form_code (form), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (st, 2, period, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (st, 3, section, -1, SQLITE_TRANSIENT);
    }
    while (st && sqlite3_step (st) == SQLITE_ROW) {
        const char *unit = (const char *)sqlite3_column_text (st, 0);
        if (root && units && !gom_units_within (units, unit, root))
            continue;
        const char *name = units ? gom_units_name (units, unit) : NULL;
        json_array_append_new (
            list,
            json_pack ("{s:s, s:o, s:I, s:s}", "unit", unit, "name",
                       name ? json_string (name) : json_null (), "revision",
                       (json_int_t)sqlite3_column_int64 (st, 1), "text",
                       (const char *)sqlite3_column_text (st, 2)));
    }
    sqlite3_finalize (st);
    gom_db_exec (db, "COMMIT");
    return list;
}

//  --------------------------------------------------------------------------
//  What the commands print

static void
s_print_completeness (json_t *comp, FILE *f)
{
    if (!json_is_integer (json_object_get (comp, "expected")))
        return;
    json_t *pct = json_object_get (comp, "percent");
    fprintf (f,
             "  %" JSON_INTEGER_FORMAT " on time, %" JSON_INTEGER_FORMAT
             " late, %" JSON_INTEGER_FORMAT " missing (%" JSON_INTEGER_FORMAT
             " of them rejected), of %" JSON_INTEGER_FORMAT
             " expected: %.1f%% complete\n",
             json_integer_value (json_object_get (comp, "on_time")),
             json_integer_value (json_object_get (comp, "late")),
             json_integer_value (json_object_get (comp, "missing")),
             json_integer_value (json_object_get (comp, "rejected")),
             json_integer_value (json_object_get (comp, "expected")),
             json_is_number (pct) ? json_number_value (pct) : 0.0);
}

void
hub_totals_print (json_t *out, FILE *f)
{
    json_t *root = json_object_get (out, "unit");
    fprintf (f,
             "%s v%" JSON_INTEGER_FORMAT " (%s), period %s, %s; deadline %s\n",
             json_string_value (json_object_get (out, "form")),
             json_integer_value (json_object_get (out, "version")),
             json_string_value (json_object_get (out, "title")),
             json_string_value (json_object_get (out, "period")),
             json_is_string (root) ? json_string_value (root) : "all units",
             json_string_value (json_object_get (out, "deadline_at")));
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get (out, "cells"), i, c) {
        json_t *sum = json_object_get (c, "sum");
        char num [32] = "-";
        if (json_is_integer (sum))
            snprintf (num, sizeof num, "%" JSON_INTEGER_FORMAT,
                      json_integer_value (sum));
        fprintf (f, "  %-16s %12s  (%" JSON_INTEGER_FORMAT " units)  %s\n",
                 json_string_value (json_object_get (c, "code")), num,
                 json_integer_value (json_object_get (c, "units")),
                 json_string_value (json_object_get (c, "label")));
    }
    json_array_foreach (json_object_get (out, "indicators"), i, c) {
        json_t *v = json_object_get (c, "value");
        json_t *met = json_object_get (c, "met");
        fprintf (f, "  %-30s %8.2f  %s  %s\n",
                 json_string_value (json_object_get (c, "code")),
                 json_is_number (v) ? json_number_value (v) : NAN,
                 json_is_true (met)    ? "met"
                 : json_is_false (met) ? "NOT MET"
                                       : "-",
                 json_string_value (json_object_get (c, "label")));
    }
    s_print_completeness (json_object_get (out, "completeness"), f);
}

//  One unit's line (and its refusal's) in the arrivals for a person.
static void
s_print_arrival (FILE *f, const char *state, const char *code, const char *name,
                 const char *sealed, const char *why)
{
    fprintf (f, "  %-10s %-12s %s%s%s\n", state, code, name,
             sealed ? "  sealed " : "", sealed ? sealed : "");
    if (why && !sealed)
        fprintf (f, "             -- %s\n", why);
}

void
hub_arrivals_print (json_t *out, FILE *f)
{
    size_t i;
    json_t *u;
    const char *group = NULL;
    json_array_foreach (json_object_get (out, "units"), i, u) {
        const char *parent = json_string_value (json_object_get (u, "parent"));
        if (parent && (!group || strcmp (group, parent) != 0)) {
            const char *pname =
                json_string_value (json_object_get (u, "parent_name"));
            fprintf (f, "%s %s\n", parent, pname ? pname : "(null)");
            group = parent;
        }
        const char *name = json_string_value (json_object_get (u, "name"));
        s_print_arrival (
            f, json_string_value (json_object_get (u, "state")),
            json_string_value (json_object_get (u, "code")),
            name ? name : "(null)",
            json_string_value (json_object_get (u, "sealed_at")),
            json_string_value (json_object_get (u, "rejected_reason")));
    }
    s_print_completeness (out, f);
}

void
hub_texts_print (json_t *texts, FILE *f)
{
    size_t i;
    json_t *t;
    json_array_foreach (texts, i, t) {
        json_t *name = json_object_get (t, "name");
        fprintf (f, "== %s %s (r%" JSON_INTEGER_FORMAT ")\n%s\n\n",
                 json_string_value (json_object_get (t, "unit")),
                 json_is_string (name) ? json_string_value (name) : "",
                 json_integer_value (json_object_get (t, "revision")),
                 json_string_value (json_object_get (t, "text")));
    }
}

//  The command's output of arrivals is written into one gom_buf_t sized
//  for it at the start (a province's is 3 MB: a memory stream, growing by
//  doubling and zeroing, touched twice the pages).

static void
s_outs (gom_buf_t *o, const char *text)
{
    gom_buf_add (o, text, strlen (text));
}

static void
s_outf (gom_buf_t *o, const char *fmt, ...)
{
    char buf [256];
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (buf, sizeof buf, fmt, ap);
    va_end (ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof buf)
        gom_buf_add (o, buf, (size_t)n);
    else {
        char *big = malloc ((size_t)n + 1);
        va_start (ap, fmt);
        vsnprintf (big, (size_t)n + 1, fmt, ap);
        va_end (ap);
        gom_buf_add (o, big, (size_t)n);
        free (big);
    }
}

static void
s_out_time (gom_buf_t *o, int64_t ms)
{
    char buf [32];
    gom_iso_time (ms, buf, sizeof buf);
    gom_buf_add (o, "\"", 1);
    s_outs (o, buf);
    gom_buf_add (o, "\"", 1);
}

//  A string as jansson writes it (JSON_INDENT, no JSON_ENSURE_ASCII):
//  UTF-8 as it is; quote, backslash and control characters escaped, with
//  the short forms where JSON has them.
static void
s_dump_str (gom_buf_t *o, const char *str)
{
    if (!str) {
        gom_buf_add (o, "null", 4);
        return;
    }
    gom_buf_add (o, "\"", 1);
    const unsigned char *p = (const unsigned char *)str, *run = p;
    for (; *p; p++) {
        if (*p != '"' && *p != '\\' && *p >= 0x20)
            continue;
        gom_buf_add (o, (const char *)run, (size_t)(p - run));
        switch (*p) {
            case '"': gom_buf_add (o, "\\\"", 2); break;
            case '\\': gom_buf_add (o, "\\\\", 2); break;
            case '\b': gom_buf_add (o, "\\b", 2); break;
            case '\f': gom_buf_add (o, "\\f", 2); break;
            case '\n': gom_buf_add (o, "\\n", 2); break;
            case '\r': gom_buf_add (o, "\\r", 2); break;
            case '\t': gom_buf_add (o, "\\t", 2); break;
            default: s_outf (o, "\\u%04X", *p); break;
        }
        run = p + 1;
    }
    gom_buf_add (o, (const char *)run, (size_t)(p - run));
    gom_buf_add (o, "\"", 1);
}

//  A real as jansson writes it: 17 significant digits, ".0" when that
//  looks like an integer, no '+' nor leading zeros in an exponent.
static void
s_dump_real (gom_buf_t *o, double value)
{
    char buf [64];
    int n = snprintf (buf, sizeof buf - 2, "%.17g", value);
    if (n < 0 || (size_t)n >= sizeof buf - 2)
        n = 0;
    if (!strchr (buf, '.') && !strchr (buf, 'e')) {
        buf [n++] = '.';
        buf [n++] = '0';
        buf [n] = 0;
    }
    char *start = strchr (buf, 'e');
    if (start) {
        start++;
        char *end = start + 1;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start)
            memmove (start, end, strlen (end) + 1);
    }
    s_outs (o, buf);
}

//  One expected unit, its tree's names looked up once.
typedef struct {
    const char *code, *name, *parent, *parent_name;
    unit_status_t *u;
    const char *state;
} arrival_t;

//  One unit of the arrivals as jansson indents it, as an item of a list
//  that is itself a member of the top object.
static void
s_dump_arrival (gom_buf_t *o, const arrival_t *a)
{
    s_outs (o, "{\n      \"code\": ");
    s_dump_str (o, a->code);
    s_outs (o, ",\n      \"name\": ");
    s_dump_str (o, a->name);
    s_outs (o, ",\n      \"state\": \"");
    s_outs (o, a->state);
    s_outs (o, "\",\n      \"parent\": ");
    s_dump_str (o, a->parent);
    s_outs (o, ",\n      \"parent_name\": ");
    s_dump_str (o, a->parent_name);
    unit_status_t *u = a->u;
    if (u && u->reported) {
        s_outf (o, ",\n      \"revision\": %" PRId64 ",\n      \"sealed_at\": ",
                u->revision);
        s_out_time (o, u->first_sealed);
        s_outs (o, ",\n      \"received_at\": ");
        s_out_time (o, u->first_received);
    }
    else
        s_outs (o, ",\n      \"revision\": null,\n      \"sealed_at\": "
                   "null,\n      \"received_at\": null");
    s_outs (o, ",\n      \"rejected_code\": ");
    s_dump_str (o, u ? u->code : NULL);
    s_outs (o, ",\n      \"rejected_reason\": ");
    s_dump_str (o, u ? u->reason : NULL);
    s_outs (o, "\n    }");
}

//  A member of the top object that lists the arrivals in which keep says
//  yes ("late", or missing and rejected; NULL: all).
static void
s_dump_arrivals (gom_buf_t *o, const char *key, const arrival_t *list, size_t n,
                 const char *keep)
{
    s_outf (o, ",\n  \"%s\": [", key);
    size_t written = 0;
    for (size_t i = 0; i < n; i++) {
        const char *state = list [i].state;
        if (keep &&
            (strcmp (keep, "late") == 0 ? strcmp (state, "late") != 0
                                        : state [0] != 'm' && state [0] != 'r'))
            continue;
        s_outs (o, written++ ? ",\n    " : "\n    ");
        s_dump_arrival (o, &list [i]);
    }
    s_outs (o, written ? "\n  ]" : "]");
}

//  One unit's lines in the arrivals for a person (as s_print_arrival).
static void
s_line_arrival (gom_buf_t *o, const arrival_t *a)
{
    char sealed [32] = "";
    if (a->u && a->u->reported)
        gom_iso_time (a->u->first_sealed, sealed, sizeof sealed);
    s_outf (o, "  %-10s %-12s ", a->state, a->code);
    s_outs (o, a->name ? a->name : "(null)");
    if (*sealed) {
        s_outs (o, "  sealed ");
        s_outs (o, sealed);
    }
    gom_buf_add (o, "\n", 1);
    if (!*sealed && a->u && a->u->reason) {
        s_outs (o, "             -- ");
        s_outs (o, a->u->reason);
        gom_buf_add (o, "\n", 1);
    }
}

char *
hub_rollup_arrivals_output (hub_rollup_t *self, gom_units_t *units,
                            const char *root, bool json, size_t *len)
{
    int64_t deadline = gom_form_deadline_ms (self->form, self->period);
    tree_unit_t *tree = s_tree (self, units);
    arrival_t *list = calloc (self->tree_n + 1, sizeof (arrival_t));
    size_t n = 0, on_time = 0, late = 0, rejected = 0;
    for (size_t i = 0; i < self->tree_n; i++) {
        const tree_unit_t *t = &tree [i];
        if (!s_tree_expected (units, t, root))
            continue;
        arrival_t *a = &list [n++];
        a->code = t->code;
        a->name = t->name;
        a->parent = t->parent;
        a->parent_name = t->parent_name;
        a->u = t->u;
        a->state = s_state (a->u, deadline);
        on_time += a->state [0] == 'o';
        late += a->state [0] == 'l';
        rejected += a->state [0] == 'r';
    }
    double percent =
        n ? round (1000.0 * (double)(on_time + late) / (double)n) / 10 : 0;
    //  About 320 bytes a unit in JSON, 80 in text.
    gom_buf_t o = { NULL, 0, (json ? 360 : 100) * (n + 2) + 4096 };
    o.data = malloc (o.cap);
    assert (o.data);
    if (json) {
        s_outf (&o,
                "{\n  \"expected\": %zu,\n  \"on_time\": %zu,\n  \"late\": "
                "%zu,\n  \"rejected\": %zu,\n  \"missing\": %zu,\n  "
                "\"percent\": ",
                n, on_time, late, rejected, n - on_time - late);
        if (n)
            s_dump_real (&o, percent);
        else
            s_outs (&o, "null");
        s_dump_arrivals (&o, "missing_units", list, n, "missing");
        s_dump_arrivals (&o, "late_units", list, n, "late");
        s_dump_arrivals (&o, "units", list, n, NULL);
        s_outs (&o, ",\n  \"form\": ");
        s_dump_str (&o, gom_form_code (self->form));
        s_outs (&o, ",\n  \"period\": ");
        s_dump_str (&o, self->period);
        s_outs (&o, ",\n  \"unit\": ");
        s_dump_str (&o, root);
        s_outs (&o, ",\n  \"deadline_at\": ");
        s_out_time (&o, deadline);
        s_outs (&o, "\n}\n");
    }
    else {
        const char *group = NULL;
        for (size_t i = 0; i < n; i++) {
            const char *parent = list [i].parent;
            if (parent && (!group || strcmp (group, parent) != 0)) {
                s_outs (&o, parent);
                gom_buf_add (&o, " ", 1);
                s_outs (&o,
                        list [i].parent_name ? list [i].parent_name : "(null)");
                gom_buf_add (&o, "\n", 1);
                group = parent;
            }
            s_line_arrival (&o, &list [i]);
        }
        s_outf (&o,
                "  %zu on time, %zu late, %zu missing (%zu of them "
                "rejected), of %zu expected: %.1f%% complete\n",
                on_time, late, n - on_time - late, rejected, n, percent);
    }
    o.data [o.len] = 0;
    free (list);
    *len = o.len;
    return o.data;
}
