/*  gom-agent-xlsx: gom-agent's helper for Excel workbooks (agent_xlsx.h).
    gom-agent runs it, once a workbook; people use gom-agent.

        gom-agent-xlsx read FILE.xlsx
            writes a packed gom.XlsxRead (proto/gom_local.proto) to standard
            output: the report and its cells' places, or why the workbook
            is not one; exit 0 either way.
        gom-agent-xlsx template FORMS_DIR FORM PERIOD UNIT REVISION OUT.xlsx
            writes the template of FORM (cached in FORMS_DIR); exit 0, or 1
            with the reason on standard error. */
#include "gom_form.h"
#include "gom_local.pb-c.h"
#include "gom_report.h"
#include "gom_xlsx.h"

#include <czmq.h>

static int
s_read (const char *path)
{
    char err [2048] = "";
    gom_xlsx_places_t *places = NULL;
    Gom__Report *report = gom_xlsx_read (path, &places, err, sizeof err);
    Gom__XlsxRead answer = GOM__XLSX_READ__INIT;
    answer.report = report;
    if (!report)
        answer.error = err [0] ? err : "the workbook cannot be read";
    zhashx_t *map = places ? gom_xlsx_places_map (places) : NULL;
    size_t n = map ? zhashx_size (map) : 0;
    Gom__XlsxPlace *items = calloc (n + 1, sizeof *items);
    Gom__XlsxPlace **list = calloc (n + 1, sizeof *list);
    for (char *address = map ? zhashx_first (map) : NULL; address;
         address = zhashx_next (map)) {
        Gom__XlsxPlace *item = &items [answer.n_places];
        gom__xlsx_place__init (item);
        item->code = (char *)zhashx_cursor (map);
        item->address = address;
        list [answer.n_places++] = item;
    }
    answer.places = list;
    size_t len = gom__xlsx_read__get_packed_size (&answer);
    uint8_t *packed = malloc (len + 1);
    gom__xlsx_read__pack (&answer, packed);
    int rc =
        fwrite (packed, 1, len, stdout) == len && fflush (stdout) == 0 ? 0 : 1;
    if (rc)
        fprintf (stderr, "cannot write the answer: %s\n", strerror (errno));
    free (packed);
    free (list);
    free (items);
    gom_xlsx_places_destroy (&places);
    gom_report_free (&report);
    return rc;
}

static int
s_template (char **argv)
{
    const char *forms_dir = argv [0], *code = argv [1], *period = argv [2],
               *unit = argv [3], *path = argv [5];
    char *end;
    unsigned long revision = strtoul (argv [4], &end, 10);
    char err [600];
    gom_form_t *form = gom_form_find (forms_dir, code, 0, err, sizeof err);
    int rc = 0;
    if (!form)
        rc = 1;
    else if (*end || revision < 1 || revision > UINT32_MAX) {
        snprintf (err, sizeof err, "revision %s: not a whole number from 1",
                  argv [4]);
        rc = 1;
    }
    else if (gom_xlsx_template (form, period, unit, (uint32_t)revision, path,
                                err, sizeof err) != 0)
        rc = 1;
    if (rc)
        fprintf (stderr, "%s\n", err);
    gom_form_destroy (&form);
    return rc;
}

int
main (int argc, char **argv)
{
    if (argc == 3 && strcmp (argv [1], "read") == 0)
        return s_read (argv [2]);
    if (argc == 8 && strcmp (argv [1], "template") == 0)
        return s_template (argv + 2);
    fprintf (stderr,
             "gom-agent-xlsx is gom-agent's helper for Excel workbooks; "
             "use gom-agent check, submit or template --xlsx\n"
             "usage: gom-agent-xlsx read FILE.xlsx\n"
             "       gom-agent-xlsx template FORMS_DIR FORM PERIOD UNIT "
             "REVISION OUT.xlsx\n");
    return 2;
}
