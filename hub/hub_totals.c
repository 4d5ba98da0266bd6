/*  hub_totals: see hub_totals.h. One read transaction; the latest revision
    of each unit's report comes from one query, its cells from another. */
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
} unit_status_t;

static void
s_status_free (void **item)
{
    unit_status_t *u = *item;
    if (u) {
        free (u->code);
        free (u->reason);
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

//  unit -> unit_status_t for every unit that sent form/period, accepted
//  or refused. Timeliness is judged on the first revision: a correction
//  sent after the deadline does not make a report that was on time late.
static zhashx_t *
s_statuses (sqlite3 *db, const char *form, const char *period)
{
    zhashx_t *map = zhashx_new ();
    zhashx_set_destructor (map, s_status_free);
    sqlite3_stmt *st = gom_db_prepare (
        db, "SELECT unit, max(revision), min(sealed_ms), min(received_ms) "
            "FROM reports WHERE form=? AND period=? GROUP BY unit");
    if (st) {
        sqlite3_bind_text (st, 1, form, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (st, 2, period, -1, SQLITE_TRANSIENT);
        while (sqlite3_step (st) == SQLITE_ROW) {
            unit_status_t *u =
                s_status (map, (const char *)sqlite3_column_text (st, 0));
            u->reported = true;
            u->revision = sqlite3_column_int64 (st, 1);
            u->first_sealed = sqlite3_column_int64 (st, 2);
            u->first_received = sqlite3_column_int64 (st, 3);
        }
    }
    sqlite3_finalize (st);
    st = gom_db_prepare (
        db, "SELECT unit, code, reason FROM rejections WHERE form=? AND "
            "period=? AND unit IS NOT NULL ORDER BY id");
    if (st) {
        sqlite3_bind_text (st, 1, form, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (st, 2, period, -1, SQLITE_TRANSIENT);
        while (sqlite3_step (st) == SQLITE_ROW) {
            unit_status_t *u =
                s_status (map, (const char *)sqlite3_column_text (st, 0));
            free (u->code);
            free (u->reason);
            u->code = strdup ((const char *)sqlite3_column_text (st, 1));
            u->reason = strdup ((const char *)sqlite3_column_text (st, 2));
        }
    }
    sqlite3_finalize (st);
    return map;
}

//  Completeness over the expected units (active leaves of the subtree):
//  counts, and with list_all every unit with its state.
static json_t *
s_completeness (gom_units_t *units, zhashx_t *statuses, const char *root,
                int64_t deadline, bool list_all)
{
    json_t *comp = json_object ();
    if (!units) {
        json_object_set_new (comp, "expected", json_null ());
        return comp;
    }
    size_t expected = 0, on_time = 0, late = 0, rejected = 0;
    json_t *missing = json_array (), *late_units = json_array ();
    json_t *all = json_array ();
    for (size_t i = 0; i < gom_units_count (units); i++) {
        const char *code = gom_units_code (units, i);
        if ((root && !gom_units_within (units, code, root)) ||
            !gom_units_is_leaf (units, code) ||
            !gom_units_active (units, code, deadline))
            continue;
        expected++;
        unit_status_t *u = zhashx_lookup (statuses, code);
        const char *state = "missing";
        if (u && u->reported && u->first_sealed <= deadline) {
            state = "on_time";
            on_time++;
        }
        else if (u && u->reported) {
            state = "late";
            late++;
        }
        else if (u && u->code) {
            state = "rejected";
            rejected++;
        }
        if (!list_all && strcmp (state, "on_time") == 0)
            continue;  //  nothing to list about it
        const char *parent = gom_units_parent (units, code);
        json_t *who = json_pack ("{s:s, s:s}", "code", code, "name",
                                 gom_units_name (units, code));
        if (strcmp (state, "late") == 0)
            json_array_append (late_units, who);
        else if (strcmp (state, "on_time") != 0)
            json_array_append (missing, who);
        if (list_all) {
            json_object_set_new (who, "state", json_string (state));
            json_object_set_new (who, "parent",
                                 parent ? json_string (parent) : json_null ());
            json_object_set_new (
                who, "parent_name",
                parent ? json_string (gom_units_name (units, parent))
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
    json_object_set_new (comp, "missing_units", missing);
    json_object_set_new (comp, "late_units", late_units);
    if (list_all)
        json_object_set_new (comp, "units", all);
    else
        json_decref (all);
    return comp;
}

json_t *
hub_totals_json (sqlite3 *db, gom_form_t *form, gom_units_t *units,
                 const char *period, const char *root, char *err, size_t errlen)
{
    if (!gom_form_period_valid (form, period)) {
        snprintf (err, errlen, "period %s is not valid for form %s (%s)",
                  period, gom_form_code (form), gom_form_period_type (form));
        return NULL;
    }
    if (root && units && !gom_units_exists (units, root)) {
        snprintf (err, errlen, "unit %s is not in the unit tree", root);
        return NULL;
    }
    int64_t deadline = gom_form_deadline_ms (form, period);
    size_t n_cells = gom_form_cell_count (form);
    int64_t *sum = calloc (n_cells + 1, sizeof (int64_t));
    int64_t *count = calloc (n_cells + 1, sizeof (int64_t));
    size_t n_reports = 0;  //  units counted (latest revisions)

    gom_db_exec (db, "BEGIN");
    sqlite3_stmt *st = gom_db_prepare (
        db, "SELECT unit, receipt, revision, sealed_ms, received_ms, content "
            "FROM reports r WHERE form=?1 AND period=?2 AND revision="
            "(SELECT max(revision) FROM reports "
            " WHERE unit=r.unit AND form=?1 AND period=?2) ORDER BY unit");
    //  The cells come from each report's canonical content (one packed blob
    //  a report) rather than the cells table (one row a cell): ten times
    //  fewer sqlite steps. Reports of one form list their cells in the same
    //  order, so the previous report's code -> cell mapping is tried first.
    arena_t arena = { malloc (1 << 16), 1 << 16, 0, false };
    size_t map_cap = 0;
    size_t *map = NULL;       //  position in a report -> cell index
    char **map_codes = NULL;  //  the code seen at that position
    if (st) {
        sqlite3_bind_text (st, 1, gom_form_code (form), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (st, 2, period, -1, SQLITE_TRANSIENT);
    }
    while (st && sqlite3_step (st) == SQLITE_ROW) {
        const char *unit = (const char *)sqlite3_column_text (st, 0);
        if (root && (units ? !gom_units_within (units, unit, root)
                           : strcmp (unit, root) != 0))
            continue;
        n_reports++;
        Gom__Report *content = s_unpack (&arena, sqlite3_column_blob (st, 5),
                                         (size_t)sqlite3_column_bytes (st, 5));
        for (size_t k = 0; content && k < content->n_cells; k++) {
            const char *code = content->cells [k]->code;
            if (k >= map_cap) {
                size_t old = map_cap;
                map_cap = map_cap ? 2 * map_cap : 128;
                map = realloc (map, map_cap * sizeof (size_t));
                map_codes = realloc (map_codes, map_cap * sizeof (char *));
                for (size_t z = old; z < map_cap; z++)
                    map_codes [z] = NULL;
            }
            if (!map_codes [k] || strcmp (map_codes [k], code) != 0) {
                free (map_codes [k]);
                map_codes [k] = strdup (code);
                map [k] = gom_form_cell_index (form, code);
            }
            size_t i = map [k];
            if (i == SIZE_MAX)
                continue;  //  a cell of another version of the form
            sum [i] += content->cells [k]->value;
            count [i]++;
        }
    }
    free (arena.block);
    for (size_t z = 0; z < map_cap; z++)
        free (map_codes [z]);
    free (map_codes);
    free (map);
    sqlite3_finalize (st);
    gom_db_exec (db, "COMMIT");

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

    zhashx_t *statuses = s_statuses (db, gom_form_code (form), period);
    json_t *comp = s_completeness (units, statuses, root, deadline, false);
    zhashx_destroy (&statuses);
    json_object_set_new (out, "completeness", comp);
    free (sum);
    free (count);
    return out;
}

json_t *
hub_arrivals_json (sqlite3 *db, gom_form_t *form, gom_units_t *units,
                   const char *period, const char *root, char *err,
                   size_t errlen)
{
    if (!gom_form_period_valid (form, period)) {
        snprintf (err, errlen, "period %s is not valid for form %s (%s)",
                  period, gom_form_code (form), gom_form_period_type (form));
        return NULL;
    }
    if (!units) {
        snprintf (err, errlen, "arrivals need a unit tree (units.csv)");
        return NULL;
    }
    if (root && !gom_units_exists (units, root)) {
        snprintf (err, errlen, "unit %s is not in the unit tree", root);
        return NULL;
    }
    int64_t deadline = gom_form_deadline_ms (form, period);
    gom_db_exec (db, "BEGIN");
    zhashx_t *statuses = s_statuses (db, gom_form_code (form), period);
    gom_db_exec (db, "COMMIT");
    json_t *out = s_completeness (units, statuses, root, deadline, true);
    zhashx_destroy (&statuses);
    json_object_set_new (out, "form", json_string (gom_form_code (form)));
    json_object_set_new (out, "period", json_string (period));
    json_object_set_new (out, "unit", root ? json_string (root) : json_null ());
    json_object_set_new (out, "deadline_at", s_time (deadline));
    return out;
}

json_t *
hub_texts_json (sqlite3 *db, gom_form_t *form, gom_units_t *units,
                const char *period, const char *section, const char *root,
                char *err, size_t errlen)
{
    bool known = false;
    for (size_t i = 0; i < gom_form_text_count (form); i++) {
        const char *code, *label;
        bool required;
        gom_form_text (form, i, &code, &label, &required);
        known = known || strcmp (code, section) == 0;
    }
    if (!known) {
        snprintf (err, errlen, "form %s has no narrative section %s",
                  gom_form_code (form), section);
        return NULL;
    }
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
