/*  What fuzz_xlsx and fuzz_xlsx_sheet do with a workbook on disk: read it
    as the agent does and check what was read. */
#ifndef GOM_FUZZ_XLSX_H
#define GOM_FUZZ_XLSX_H

#include "fuzz_util.h"
#include "gom_xlsx.h"

static inline void
fuzz_xlsx_read (const char *path)
{
    char err [2048] = "";
    gom_xlsx_places_t *places = NULL;
    Gom__Report *r = gom_xlsx_read (path, &places, err, sizeof err);
    if (!r) {
        FUZZ_REQUIRE (!places, "places without a report");
        FUZZ_REFUSED_WITH_REASON (err);
        return;
    }
    FUZZ_REQUIRE (places, "a report without its places");
    fuzz_after_read (r);
    //  The agent's message for a report its form refuses: each problem
    //  with the workbook address of its cell.
    //  (Against the fixed form too, so that there are problems to place.)
    gom_form_t *form = fuzz_form_find (r->form, r->form_version);
    size_t count = 0;
    char *problems = form ? gom_form_check_report (form, r, &count) : NULL;
    if (!problems)
        problems = gom_form_check_report (fuzz_form_fixed (), r, &count);
    if (problems) {
        char *located = gom_xlsx_locate (places, problems);
        FUZZ_REQUIRE (located && strlen (located) >= strlen (problems),
                      "gom_xlsx_locate lost text");
        free (located);
        free (problems);
    }
    gom_xlsx_places_destroy (&places);
    gom_report_free (&r);
}

#endif
