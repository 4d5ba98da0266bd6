/*  Benchmark: consolidation and checked ingest at province scale.

    Makes a province of N units (1 province, N/100 districts, communes
    under them) and a form of about 100 cells (10 rows x 10 columns, with
    sum and part-of-whole rules and two ratios), stores one report per unit
    through hub_store_report in batches of 512 (the hub's own path, real
    sqlite files, WAL, synchronous=FULL), once with the form and tree checks
    and once without, then times gom-hub's totals and arrivals over the
    whole province. Prints the figures.

        bench_totals [UNITS] [RUNS]     (defaults 10000 and 5) */
#include "gom_util.h"
#include "hub_catalog.h"
#include "hub_store.h"
#include "hub_totals.h"

#include <czmq.h>
#include <time.h>

static const char *KEY = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
s_cmp (const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

//  Stores one report per unit; returns reports per second.
static double
s_ingest (const char *dir, const char *name, hub_catalog_t *catalog,
          char **units, size_t n_units)
{
    char db [512], keys [512], err [600];
    snprintf (db, sizeof db, "%s/%s.db", dir, name);
    snprintf (keys, sizeof keys, "%s/%s-keys.db", dir, name);
    hub_store_t *store = hub_store_open (db, keys, true, err, sizeof err);
    if (!store || hub_store_enroll (store, KEY, units, err, sizeof err) != 0) {
        fprintf (stderr, "%s\n", err);
        exit (1);
    }
    //  10 rows R0..R9 x columns c0..c9; c0 = sum of c1..c9, R1 <= R0.
    Gom__Cell cells [100], *cp [100];
    char codes [100][16];
    size_t n = 0;
    for (int col = 0; col < 10; col++)
        for (int row = 0; row < 10; row++) {
            snprintf (codes [n], sizeof codes [n], "R%d.c%d", row, col);
            cp [n] = &cells [n];
            n++;
        }
    //  Canonical order: sorted by code.
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (strcmp (codes [i], codes [j]) > 0) {
                char t [16];
                memcpy (t, codes [i], 16);
                memcpy (codes [i], codes [j], 16);
                memcpy (codes [j], t, 16);
            }
    double t0 = s_now ();
    size_t done = 0;
    while (done < n_units) {
        hub_store_begin (store);
        for (size_t k = 0; k < 512 && done < n_units; k++, done++) {
            for (size_t i = 0; i < n; i++) {
                gom__cell__init (&cells [i]);
                cells [i].code = codes [i];
                int row = codes [i][1] - '0', col = codes [i][4] - '0';
                //  c1..c9 = 10 - row (so R1 <= R0); c0 = their sum.
                cells [i].value = col ? 10 - row : 9 * (10 - row);
            }
            Gom__Report r = GOM__REPORT__INIT;
            uint8_t id [16] = { 0 };
            memcpy (id, &done, sizeof done);
            r.report_id.data = id;
            r.report_id.len = 16;
            r.unit = units [done];
            r.form = "BENCH";
            r.period = "2026";
            r.revision = 1;
            r.sealed_at_ms = gom_now_ms ();
            r.cells = cp;
            r.n_cells = n;
            hub_result_t res;
            hub_store_report (store, KEY, &r, gom_now_ms (),
                              catalog ? hub_catalog_validate : NULL, catalog,
                              &res);
            if (!res.ack) {
                fprintf (stderr, "refused: %s %s\n", res.code, res.reason);
                exit (1);
            }
        }
        if (hub_store_commit (store) != 0)
            exit (1);
    }
    double rate = n_units / (s_now () - t0);
    hub_store_destroy (&store);
    return rate;
}

int
main (int argc, char **argv)
{
    size_t n_units = argc > 1 ? (size_t)atol (argv [1]) : 10000;
    int runs = argc > 2 ? atoi (argv [2]) : 5;
    char dir [] = "/tmp/gom-bench-totals-XXXXXX";
    if (!mkdtemp (dir))
        return 2;
    char path [700], forms [100];
    snprintf (forms, sizeof forms, "%s/forms", dir);
    gom_mkdir_p (forms, 0700);
    snprintf (path, sizeof path, "%s/BENCH.json", forms);
    FILE *f = fopen (path, "w");
    fprintf (f, "{\"form\":\"BENCH\",\"version\":1,\"title\":\"Bench\","
                "\"period\":\"year\",\"deadline\":{\"year\":\"12-14\"},"
                "\"sections\":[{\"code\":\"S\",\"columns\":[");
    for (int c = 0; c < 10; c++)
        fprintf (f, "%s{\"code\":\"c%d\",\"label\":\"Cột %d\"}", c ? "," : "",
                 c, c);
    fprintf (f, "],\"sum_columns\":{\"c0\":[\"c1\",\"c2\",\"c3\",\"c4\","
                "\"c5\",\"c6\",\"c7\",\"c8\",\"c9\"]},\"rows\":[");
    for (int r = 0; r < 10; r++)
        fprintf (f, "%s{\"code\":\"R%d\",\"label\":\"Dòng %d\"%s}",
                 r ? "," : "", r, r, r == 1 ? ",\"le\":\"R0\"" : "");
    fprintf (f, "]}],\"indicators\":["
                "{\"code\":\"i1\",\"numerator\":[\"R1.c0\"],"
                "\"denominator\":[\"R0.c0\"],\"target\":{\"min\":50}},"
                "{\"code\":\"i2\",\"numerator\":[\"R2.c1\",\"R3.c1\"],"
                "\"denominator\":[\"R0.c1\"],\"scale\":100000,"
                "\"target\":{\"max\":200000}}]}");
    fclose (f);
    snprintf (path, sizeof path, "%s/units.csv", dir);
    f = fopen (path, "w");
    fprintf (f, "code,name,parent,level\nP,Tỉnh,,province\n");
    size_t n_districts = n_units / 100 ? n_units / 100 : 1;
    for (size_t d = 0; d < n_districts; d++)
        fprintf (f, "D%zu,Huyện %zu,P,district\n", d, d);
    char **units = calloc (n_units + 1, sizeof (char *));
    for (size_t u = 0; u < n_units; u++) {
        char code [32];
        snprintf (code, sizeof code, "C%zu", u);
        units [u] = strdup (code);
        fprintf (f, "%s,Xã %zu,D%zu,commune\n", code, u, u % n_districts);
    }
    fclose (f);
    char err [600];
    hub_catalog_t *catalog = hub_catalog_load (forms, path, err, sizeof err);
    if (!catalog) {
        fprintf (stderr, "%s\n", err);
        return 1;
    }
    double plain = s_ingest (dir, "plain", NULL, units, n_units);
    double checked = s_ingest (dir, "checked", catalog, units, n_units);

    char db [600], keys [600];
    snprintf (db, sizeof db, "%s/checked.db", dir);
    snprintf (keys, sizeof keys, "%s/checked-keys.db", dir);
    hub_store_t *store = hub_store_open (db, keys, false, err, sizeof err);
    gom_form_t *form = hub_catalog_form (catalog, "BENCH", 0);
    gom_units_t *tree = hub_catalog_units (catalog);
    double *tt = calloc (runs, sizeof (double));
    double *ta = calloc (runs, sizeof (double));
    double *td = calloc (runs, sizeof (double));
    size_t text_len = 0;
    int64_t check_sum = 0;
    for (int i = 0; i < runs; i++) {
        double t0 = s_now ();
        json_t *out = hub_totals_json (hub_store_db (store), form, tree, "2026",
                                       NULL, err, sizeof err);
        tt [i] = s_now () - t0;
        json_t *c0 = json_array_get (json_object_get (out, "cells"), 0);
        check_sum = json_integer_value (json_object_get (c0, "sum"));
        json_decref (out);
        t0 = s_now ();
        out = hub_arrivals_json (hub_store_db (store), form, tree, "2026", NULL,
                                 err, sizeof err);
        ta [i] = s_now () - t0;
        //  What the dashboard then does with it: JSON text.
        t0 = s_now ();
        char *text = json_dumps (out, JSON_COMPACT);
        td [i] = s_now () - t0;
        text_len = strlen (text);
        free (text);
        json_decref (out);
    }
    //  The dashboard's way: one rollup kept, the arrivals written as text.
    double *tx = calloc (runs, sizeof (double));
    hub_rollup_t *rollup = hub_rollup_new (form, "2026", true);
    hub_rollup_update (rollup, hub_store_db (store));
    for (int i = 0; i < runs; i++) {
        double t0 = s_now ();
        size_t len = 0;
        free (hub_rollup_arrivals_text (rollup, tree, NULL, &len));
        tx [i] = s_now () - t0;
    }
    hub_rollup_destroy (&rollup);
    qsort (tx, runs, sizeof (double), s_cmp);
    qsort (tt, runs, sizeof (double), s_cmp);
    qsort (ta, runs, sizeof (double), s_cmp);
    qsort (td, runs, sizeof (double), s_cmp);
    printf ("units %zu, form of %zu cells, one report each\n", n_units,
            gom_form_cell_count (form));
    printf ("ingest through hub_store_report, batches of 512, WAL + "
            "synchronous=FULL:\n");
    printf ("  without form checks: %.0f reports/s\n", plain);
    printf ("  with form and tree checks: %.0f reports/s (%.1f%% of the "
            "rate without)\n",
            checked, 100.0 * checked / plain);
    printf ("totals over the province: median %.1f ms, best %.1f ms (%d "
            "runs; first cell sums to %" PRId64 ")\n",
            1000 * tt [runs / 2], 1000 * tt [0], runs, check_sum);
    printf ("arrivals over the province: median %.1f ms, best %.1f ms\n",
            1000 * ta [runs / 2], 1000 * ta [0]);
    printf ("arrivals as JSON text (%zu bytes): median %.1f ms, best %.1f ms\n",
            text_len, 1000 * td [runs / 2], 1000 * td [0]);
    printf ("arrivals written as text from a kept rollup (the dashboard): "
            "median %.1f ms, best %.1f ms\n",
            1000 * tx [runs / 2], 1000 * tx [0]);
    hub_store_destroy (&store);
    hub_catalog_destroy (&catalog);
    for (size_t u = 0; u < n_units; u++)
        free (units [u]);
    free (units);
    free (tt);
    free (ta);
    free (td);
    free (tx);
    if (getenv ("GOM_BENCH_KEEP")) {
        printf ("kept %s\n", dir);
        return 0;
    }
    char cmd [700];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system (cmd) == 0 ? 0 : 1;
}
