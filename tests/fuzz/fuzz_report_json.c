/*  fuzz_report_json: the agent's JSON intake (gom-agent submit FILE.json,
    the spool folder): gom_report_from_json on the input as a file, then
    what the agent does with a report it has read (fuzz_util.h,
    fuzz_after_read): gom_report_check, the canonical content, and the
    form's checks against the seed pack. */
#include "fuzz_util.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_forms_load ();
    return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    const char *path = fuzz_write ("report.json", data, size);
    char err [2048] = "";
    Gom__Report *r = gom_report_from_json (path, err, sizeof err);
    if (!r) {
        FUZZ_REFUSED_WITH_REASON (err);
        return 0;
    }
    fuzz_after_read (r);
    gom_report_free (&r);
    return 0;
}
