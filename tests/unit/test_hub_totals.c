/*  Unit tests of hub_totals on a real sqlite store: the highest revision of
    each unit counts (rule 7), empty cells add nothing (rule 10), a ratio is
    the sum of numerators over the sum of denominators (not an average of
    the units' ratios), targets as floors, completeness over the active
    leaves of the subtree with on-time / late / missing. */
#include "check.h"
#include "gom_util.h"
#include "hub_store.h"
#include "hub_totals.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

static const char *KEY = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
static char s_dir [] = "/tmp/gom-test-totals-XXXXXX";

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

//  Stores one report: cells "R.tong" and "R.nu" (a value < 0 leaves the
//  cell empty), sealed at sealed_ms.
static void
s_store (hub_store_t *store, uint8_t tag, const char *unit, uint32_t rev,
         int64_t tong, int64_t nu, int64_t sealed_ms)
{
    Gom__Report r = GOM__REPORT__INIT;
    uint8_t id [16] = { tag };
    r.report_id.data = id;
    r.report_id.len = 16;
    r.unit = (char *)unit;
    r.form = "T";
    r.period = "2026";
    r.revision = rev;
    r.sealed_at_ms = sealed_ms;
    Gom__Cell a = GOM__CELL__INIT, b = GOM__CELL__INIT;
    Gom__Cell *cells [2];
    size_t n = 0;
    b.code = "R.nu";  //  canonical order: "R.nu" < "R.tong"
    b.value = nu;
    a.code = "R.tong";
    a.value = tong;
    if (nu >= 0)
        cells [n++] = &b;
    if (tong >= 0)
        cells [n++] = &a;
    r.cells = cells;
    r.n_cells = n;
    hub_result_t res;
    CHECK (hub_store_begin (store) == 0);
    hub_store_report (store, KEY, &r, gom_now_ms (), NULL, NULL, &res);
    CHECK (res.ack && !res.duplicate);
    CHECK (hub_store_commit (store) == 0);
}

static json_t *
s_find (json_t *list, const char *code)
{
    size_t i;
    json_t *o;
    json_array_foreach (list, i, o)
        if (strcmp (json_string_value (json_object_get (o, "code")), code) == 0)
            return o;
    return NULL;
}

int
main (void)
{
    if (!mkdtemp (s_dir))
        return 2;
    char err [600], db [300], keys [300];
    gom_form_t *form = gom_form_load (
        s_file ("T.json",
                "{\"form\":\"T\",\"version\":1,\"title\":\"Thử\","
                "\"period\":\"year\",\"deadline\":{\"year\":\"12-14\"},"
                "\"sections\":[{\"code\":\"S\",\"columns\":["
                "{\"code\":\"tong\",\"label\":\"Tổng số\"},"
                "{\"code\":\"nu\",\"label\":\"Nữ\"}],"
                "\"rows\":[{\"code\":\"R\",\"label\":\"Cấp ủy\"}]}],"
                "\"indicators\":[{\"code\":\"women\",\"label\":\"Tỷ lệ nữ\","
                "\"numerator\":[\"R.nu\"],\"denominator\":[\"R.tong\"],"
                "\"target\":{\"min\":20}}]}"),
        err, sizeof err);
    CHECK (form != NULL);
    gom_units_t *units = gom_units_load (
        s_file ("units.csv",
                "code,name,parent,level,active_from,inactive_from\n"
                "P,Tỉnh,,province,,\n"
                "D1,Huyện 1,P,district,,\n"
                "D2,Huyện 2,P,district,,\n"
                "C1,Xã 1,D1,commune,,\n"
                "C2,\"Xã \"\"2\"\" \\ mới\",D1,commune,,\n"
                "C3,Xã 3,D2,commune,,\n"
                "C4,Xã 4,D2,commune,,\n"
                "C5,Xã cũ,D2,commune,,2026-01-01\n"),
        err, sizeof err);
    CHECK (units != NULL);
    if (!form || !units) {
        fprintf (stderr, "%s\n", err);
        CHECK_DONE ();
    }
    snprintf (db, sizeof db, "%s/hub.db", s_dir);
    snprintf (keys, sizeof keys, "%s/keys.db", s_dir);
    hub_store_t *store = hub_store_open (db, keys, true, err, sizeof err);
    char *all [] = { "C1", "C2", "C3", "C4", NULL };
    CHECK (hub_store_enroll (store, KEY, all, err, sizeof err) == 0);

    int64_t deadline = gom_form_deadline_ms (form, "2026");
    //  C1: revision 1 says 10/1, revision 2 corrects it to 10/4 (counts).
    s_store (store, 1, "C1", 2, 10, 4, deadline - 1000);
    s_store (store, 2, "C1", 1, 10, 1, deadline - 5000);
    //  C2: 100 with 10 women; on time. C3: total only, women empty; late.
    s_store (store, 3, "C2", 1, 100, 10, deadline);
    s_store (store, 4, "C3", 1, 50, -1, deadline + 1);
    //  C4 never reports; C5 was closed before the deadline (not expected).

    json_t *t = hub_totals_json (hub_store_db (store), form, units, "2026",
                                 NULL, err, sizeof err);
    CHECK (t != NULL);
    if (t) {
        json_t *tong = s_find (json_object_get (t, "cells"), "R.tong");
        json_t *nu = s_find (json_object_get (t, "cells"), "R.nu");
        CHECK (json_integer_value (json_object_get (tong, "sum")) == 160);
        CHECK (json_integer_value (json_object_get (tong, "units")) == 3);
        CHECK (json_integer_value (json_object_get (nu, "sum")) == 14);
        CHECK (json_integer_value (json_object_get (nu, "units")) == 2);
        //  14 / 160 = 8.75 %, below the floor of 20 %. (The average of the
        //  units' own ratios, (40 + 10 + 0) / 3, would say 16.67.)
        json_t *w = s_find (json_object_get (t, "indicators"), "women");
        CHECK (fabs (json_number_value (json_object_get (w, "value")) - 8.75) <
               0.001);
        CHECK (json_is_false (json_object_get (w, "met")));
        json_t *c = json_object_get (t, "completeness");
        CHECK (json_integer_value (json_object_get (c, "expected")) == 4);
        CHECK (json_integer_value (json_object_get (c, "on_time")) == 2);
        CHECK (json_integer_value (json_object_get (c, "late")) == 1);
        CHECK (json_integer_value (json_object_get (c, "missing")) == 1);
        CHECK (fabs (json_number_value (json_object_get (c, "percent")) - 75) <
               0.001);
        json_t *m = json_array_get (json_object_get (c, "missing_units"), 0);
        CHECK (m && strcmp (json_string_value (json_object_get (m, "code")),
                            "C4") == 0);
        json_decref (t);
    }
    //  The subtree of D1 only: C1 (rev 2) and C2; both on time.
    t = hub_totals_json (hub_store_db (store), form, units, "2026", "D1", err,
                         sizeof err);
    CHECK (t != NULL);
    if (t) {
        json_t *tong = s_find (json_object_get (t, "cells"), "R.tong");
        CHECK (json_integer_value (json_object_get (tong, "sum")) == 110);
        json_t *w = s_find (json_object_get (t, "indicators"), "women");
        CHECK (fabs (json_number_value (json_object_get (w, "value")) - 12.73) <
               0.001);  //  14 / 110
        CHECK (json_is_false (json_object_get (w, "met")));
        json_t *c = json_object_get (t, "completeness");
        CHECK (json_integer_value (json_object_get (c, "expected")) == 2);
        CHECK (json_integer_value (json_object_get (c, "missing")) == 0);
        json_decref (t);
    }
    //  D2: only C3, which left the women cell empty: no ratio at all.
    t = hub_totals_json (hub_store_db (store), form, units, "2026", "D2", err,
                         sizeof err);
    CHECK (t != NULL);
    if (t) {
        json_t *w = s_find (json_object_get (t, "indicators"), "women");
        CHECK (json_is_null (json_object_get (w, "value")));
        CHECK (json_is_null (json_object_get (w, "met")));
        json_decref (t);
    }
    CHECK (hub_totals_json (hub_store_db (store), form, units, "2026-H1", NULL,
                            err, sizeof err) == NULL);
    CHECK (strstr (err, "period 2026-H1 is not valid") != NULL);
    CHECK (hub_totals_json (hub_store_db (store), form, units, "2026", "X9",
                            err, sizeof err) == NULL);

    //  A rollup kept up to date: the same answers as reading afresh.
    hub_rollup_t *rollup = hub_rollup_new (form, "2026", true);
    CHECK (hub_rollup_update (rollup, hub_store_db (store)) == 0);
    s_store (store, 5, "C4", 1, 100, 5, deadline + 10);
    s_store (store, 6, "C1", 3, 20, 2, deadline + 20);
    CHECK (hub_rollup_update (rollup, hub_store_db (store)) == 0);
    t = hub_rollup_totals (rollup, units, NULL);
    json_t *fresh = hub_totals_json (hub_store_db (store), form, units, "2026",
                                     NULL, err, sizeof err);
    CHECK (t && fresh && json_equal (t, fresh));
    json_t *tong = s_find (json_object_get (t, "cells"), "R.tong");
    CHECK (json_integer_value (json_object_get (tong, "sum")) == 270);
    json_decref (t);
    json_decref (fresh);
    //  The arrivals as text: valid JSON, the same units as the objects
    //  (a name with quotes and a backslash escaped), C1 still on time.
    size_t len = 0;
    char *text = hub_rollup_arrivals_text (rollup, units, NULL, &len);
    json_error_t jerr;
    json_t *parsed = json_loadb (text, len, 0, &jerr);
    json_t *objects = hub_rollup_arrivals (rollup, units, NULL, false);
    CHECK (parsed != NULL);
    CHECK (json_equal (json_object_get (parsed, "units"),
                       json_object_get (objects, "units")));
    CHECK (json_integer_value (json_object_get (parsed, "late")) == 2);
    CHECK (json_integer_value (json_object_get (parsed, "on_time")) == 2);
    json_t *c2 = s_find (json_object_get (parsed, "units"), "C2");
    CHECK (c2 && strcmp (json_string_value (json_object_get (c2, "name")),
                         "Xã \"2\" \\ mới") == 0);
    json_decref (parsed);
    json_decref (objects);
    free (text);
    hub_rollup_destroy (&rollup);

    hub_store_destroy (&store);
    gom_units_destroy (&units);
    gom_form_destroy (&form);
    char cmd [300];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    if (system (cmd) != 0)
        fprintf (stderr, "could not remove %s\n", s_dir);
    CHECK_DONE ();
}
