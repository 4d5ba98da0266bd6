/*  fuzz_csv: the agent's CSV intake (a filled-in template, gom-agent
    submit FILE.csv, the spool folder): gom_csv_read_noted on the input as
    a file (UTF-8, Windows-1258 and UTF-16 detection, "," or ";", Excel's
    number formats), then what the agent does with a report it has read
    (fuzz_util.h, fuzz_after_read). */
#include "fuzz_util.h"
#include "gom_csv.h"

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
    const char *path = fuzz_write ("report.csv", data, size);
    char err [2048] = "", warn [2048] = "";
    Gom__Report *r =
        gom_csv_read_noted (path, warn, sizeof warn, err, sizeof err);
    if (!r) {
        FUZZ_REFUSED_WITH_REASON (err);
        return 0;
    }
    fuzz_after_read (r);
    gom_report_free (&r);
    return 0;
}
