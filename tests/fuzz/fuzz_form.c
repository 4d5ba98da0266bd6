/*  fuzz_form: the form loader (gom_form_parse: a form file of the hub's
    pack, or a Form message the agent caches from the hub). A form that
    loads must be usable: every accessor over its cells, lines,
    indicators and texts; its periods and deadlines; its CSV template,
    written and read back (gom_csv_template, gom_csv_read); its Excel
    template, written and read back (gom_xlsx_template, gom_xlsx_read)
    (a form that loads must give templates that read back; GOM_FUZZ_STRICT=0
    only asks for a reason); and a report
    with a figure in every cell checked against it. */
#include "fuzz_util.h"
#include "gom_csv.h"
#include "gom_xlsx.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  A template of a form that loads must read back (GOM_FUZZ_STRICT=0: a
//  reason is enough). On since the two faults of README.md ("Found") were
//  fixed.
static bool s_strict;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *strict = getenv ("GOM_FUZZ_STRICT");
    s_strict = !strict || strcmp (strict, "0") != 0;
    return 0;
}

static void
s_use (gom_form_t *f)
{
    FUZZ_REQUIRE (gom_form_code (f) && gom_form_title (f) &&
                      gom_form_period_type (f),
                  "a form without code, title or period type");
    size_t n_cells = gom_form_cell_count (f);
    for (size_t i = 0; i < n_cells; i++) {
        const char *code = gom_form_cell_code (f, i);
        FUZZ_REQUIRE (code && gom_code_valid (code), "cell %zu: bad code", i);
        FUZZ_REQUIRE (gom_form_cell_index (f, code) == i, "cell %s: index",
                      code);
        FUZZ_REQUIRE (gom_form_cell_label (f, i), "cell %s: no label", code);
        gom_form_cell_min (f, i);
    }
    for (size_t i = 0; i < gom_form_indicator_count (f); i++) {
        gom_indicator_t ind;
        gom_form_indicator (f, i, &ind);
        for (size_t k = 0; k < ind.n_numerator; k++)
            FUZZ_REQUIRE (ind.numerator [k] < n_cells, "indicator cell");
        for (size_t k = 0; k < ind.n_denominator; k++)
            FUZZ_REQUIRE (ind.denominator [k] < n_cells, "indicator cell");
    }
    for (size_t i = 0; i < gom_form_line_count (f); i++) {
        const gom_form_line_t *l = gom_form_line (f, i);
        FUZZ_REQUIRE (l, "line %zu missing", i);
        for (size_t c = 0; l->kind == GOM_LINE_SECTION && c < l->n_columns; c++)
            FUZZ_REQUIRE (l->column_codes [c] && l->column_labels [c],
                          "section column %zu", c);
    }
    for (size_t i = 0; i < gom_form_text_count (f); i++) {
        const char *code, *label;
        bool required;
        gom_form_text (f, i, &code, &label, &required);
        FUZZ_REQUIRE (code && label, "text %zu", i);
    }
    //  Every check names cells of the form.
    for (size_t i = 0; i < gom_form_check_count (f); i++) {
        gom_form_check_t chk;
        gom_form_check (f, i, &chk);
        FUZZ_REQUIRE (chk.kind == GOM_CHECK_REQUIRED || chk.cell < n_cells,
                      "check %zu: cell %zu of %zu", i, chk.cell, n_cells);
        for (size_t k = 0; k < chk.n_others; k++)
            FUZZ_REQUIRE (chk.others [k] < n_cells, "check %zu: part %zu", i,
                          k);
    }

    //  A period of the form: its periods, or one of its type.
    const char *const *periods = gom_form_periods (f);
    const char *period = periods && periods [0] ? periods [0]
                         : strcmp (gom_form_period_type (f), "year") == 0
                             ? "2026"
                             : "2026-H1";
    static const char *tries [] = { "2026-H1", "2026-H2", "2026", "2016-2020",
                                    "1899",    "9999-H2", "",     "2026-H3" };
    for (size_t i = 0; i < sizeof tries / sizeof tries [0]; i++)
        if (gom_form_period_valid (f, tries [i]))
            FUZZ_REQUIRE (gom_form_deadline_ms (f, tries [i]) != -1,
                          "valid period %s without a deadline", tries [i]);
    if (!gom_form_period_valid (f, period))
        return;
    gom_form_deadline_ms (f, period);

    //  The template, and back: what an officer saves unchanged.
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream (&text, &len);
    FUZZ_REQUIRE (out, "open_memstream");
    int rc = gom_csv_template (f, period, "18073", 1, out);
    fclose (out);
    if (rc == 0) {
        const char *path = fuzz_write ("template.csv", (uint8_t *)text, len);
        char err [2048] = "", warn [1024] = "";
        Gom__Report *r =
            gom_csv_read_noted (path, warn, sizeof warn, err, sizeof err);
        //  A template gom wrote for a form it loaded must read back
        //  (strict), or at least be refused with a reason.
        if (s_strict)
            FUZZ_REQUIRE (r, "the CSV template does not read back: %s", err);
        if (r) {
            FUZZ_REQUIRE (strcmp (r->form, gom_form_code (f)) == 0 &&
                              strcmp (r->period, period) == 0 &&
                              r->n_cells == 0,
                          "the CSV template reads back as another report");
            fuzz_check_problems (f, r);
            gom_report_free (&r);
        }
        else
            FUZZ_REFUSED_WITH_REASON (err);
    }
    free (text);

    //  The same for the Excel template (gom_xlsx_template, gom_xlsx_read).
    char path [700];
    snprintf (path, sizeof path, "%s/template.xlsx", fuzz_dir ());
    char err [2048] = "";
    if (gom_xlsx_template (f, period, "18073", 1, path, err, sizeof err) == 0) {
        Gom__Report *r = gom_xlsx_read (path, NULL, err, sizeof err);
        if (s_strict)
            FUZZ_REQUIRE (r, "the Excel template does not read back: %s", err);
        if (r) {
            FUZZ_REQUIRE (strcmp (r->form, gom_form_code (f)) == 0 &&
                              strcmp (r->period, period) == 0 &&
                              r->n_cells == 0,
                          "the Excel template reads back as another report");
            gom_report_free (&r);
        }
        else
            FUZZ_REFUSED_WITH_REASON (err);
    }
    else
        FUZZ_REFUSED_WITH_REASON (err);

    //  A report with a figure in every cell (up to the report limit).
    Gom__Report r = GOM__REPORT__INIT;
    r.unit = "18073";
    r.form = (char *)gom_form_code (f);
    r.period = (char *)period;
    r.revision = 1;
    size_t n = n_cells < 2000 ? n_cells : 2000;
    Gom__Cell *cells = calloc (n + 1, sizeof *cells);
    Gom__Cell **ptrs = calloc (n + 1, sizeof *ptrs);
    for (size_t i = 0; i < n; i++) {
        gom__cell__init (&cells [i]);
        cells [i].code = (char *)gom_form_cell_code (f, i);
        cells [i].value = (int64_t)(i % 7) - 1;
        ptrs [i] = &cells [i];
    }
    r.cells = ptrs;
    r.n_cells = n;
    fuzz_check_problems (f, &r);
    free (ptrs);
    free (cells);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char err [2048] = "";
    gom_form_t *f =
        gom_form_parse ((const char *)data, size, "fuzz.json", err, sizeof err);
    if (!f) {
        FUZZ_REFUSED_WITH_REASON (err);
        return 0;
    }
    s_use (f);
    gom_form_destroy (&f);
    return 0;
}
