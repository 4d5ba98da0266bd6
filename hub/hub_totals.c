/*  hub_totals: see hub_totals.h. One read transaction; the latest revision
    of each unit's report comes from one query, its cells from another. */
#include "hub_totals.h"
#include "gom_db.h"
#include "gom_util.h"

#include <czmq.h>
#include <math.h>

static json_t *
s_time (int64_t ms)
{
    char buf [32];
    gom_iso_time (ms, buf, sizeof buf);
    return json_string (buf);
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
    zhashx_t *sealed = zhashx_new ();  //  unit -> sealed_ms + 1 (its latest)
    zhashx_set_destructor (sealed, (zhashx_destructor_fn *)zstr_free);
    json_t *reports = json_array ();

    gom_db_exec (db, "BEGIN");
    sqlite3_stmt *st = gom_db_prepare (
        db, "SELECT unit, receipt, revision, sealed_ms, received_ms "
            "FROM reports r WHERE form=?1 AND period=?2 AND revision="
            "(SELECT max(revision) FROM reports "
            " WHERE unit=r.unit AND form=?1 AND period=?2) ORDER BY unit");
    sqlite3_stmt *cells =
        gom_db_prepare (db, "SELECT code, value FROM cells WHERE receipt=?");
    if (st && cells) {
        sqlite3_bind_text (st, 1, gom_form_code (form), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (st, 2, period, -1, SQLITE_TRANSIENT);
    }
    while (st && cells && sqlite3_step (st) == SQLITE_ROW) {
        const char *unit = (const char *)sqlite3_column_text (st, 0);
        if (root && (units ? !gom_units_within (units, unit, root)
                           : strcmp (unit, root) != 0))
            continue;
        int64_t sealed_ms = sqlite3_column_int64 (st, 3);
        char text [24];
        snprintf (text, sizeof text, "%" PRId64, sealed_ms);
        zhashx_update (sealed, unit, strdup (text));
        json_array_append_new (
            reports,
            json_pack ("{s:s, s:I, s:I, s:o, s:o, s:b}", "unit", unit,
                       "receipt", (json_int_t)sqlite3_column_int64 (st, 1),
                       "revision", (json_int_t)sqlite3_column_int64 (st, 2),
                       "sealed_at", s_time (sealed_ms), "received_at",
                       s_time (sqlite3_column_int64 (st, 4)), "on_time",
                       sealed_ms <= deadline));
        sqlite3_bind_int64 (cells, 1, sqlite3_column_int64 (st, 1));
        while (sqlite3_step (cells) == SQLITE_ROW) {
            size_t i = gom_form_cell_index (
                form, (const char *)sqlite3_column_text (cells, 0));
            if (i == SIZE_MAX)
                continue;  //  a cell of another version of the form
            sum [i] += sqlite3_column_int64 (cells, 1);
            count [i]++;
        }
        sqlite3_reset (cells);
    }
    sqlite3_finalize (st);
    sqlite3_finalize (cells);
    gom_db_exec (db, "COMMIT");

    json_t *out = json_object ();
    json_object_set_new (out, "form", json_string (gom_form_code (form)));
    json_object_set_new (out, "version",
                         json_integer (gom_form_version (form)));
    json_object_set_new (out, "title", json_string (gom_form_title (form)));
    json_object_set_new (out, "period", json_string (period));
    json_object_set_new (out, "unit", root ? json_string (root) : json_null ());
    json_object_set_new (out, "deadline_at", s_time (deadline));
    json_object_set_new (out, "reports", reports);

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

    //  Completeness over the expected units (active leaves of the subtree).
    json_t *comp = json_object ();
    if (units) {
        size_t expected = 0, on_time = 0, late = 0;
        json_t *missing = json_array (), *late_units = json_array ();
        for (size_t i = 0; i < gom_units_count (units); i++) {
            const char *code = gom_units_code (units, i);
            if ((root && !gom_units_within (units, code, root)) ||
                !gom_units_is_leaf (units, code) ||
                !gom_units_active (units, code, deadline))
                continue;
            expected++;
            const char *s = zhashx_lookup (sealed, code);
            json_t *who = json_pack ("{s:s, s:s}", "code", code, "name",
                                     gom_units_name (units, code));
            if (!s)
                json_array_append_new (missing, who);
            else if (atoll (s) <= deadline) {
                on_time++;
                json_decref (who);
            }
            else {
                late++;
                json_array_append_new (late_units, who);
            }
        }
        json_object_set_new (comp, "expected", json_integer (expected));
        json_object_set_new (comp, "on_time", json_integer (on_time));
        json_object_set_new (comp, "late", json_integer (late));
        json_object_set_new (comp, "missing",
                             json_integer (json_array_size (missing)));
        json_object_set_new (
            comp, "percent",
            expected
                ? json_real (round (1000.0 * (on_time + late) / expected) / 10)
                : json_null ());
        json_object_set_new (comp, "missing_units", missing);
        json_object_set_new (comp, "late_units", late_units);
    }
    else
        json_object_set_new (comp, "expected", json_null ());
    json_object_set_new (out, "completeness", comp);
    zhashx_destroy (&sealed);
    free (sum);
    free (count);
    return out;
}
