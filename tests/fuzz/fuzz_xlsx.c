/*  fuzz_xlsx: the agent's Excel intake (gom-agent submit FILE.xlsx, the
    spool folder): gom_xlsx_read on the input as a whole .xlsx file (zip
    archive, workbook parts, shared strings, the sheet), then what the
    agent does with a report it has read (fuzz_util.h, fuzz_after_read),
    and the form's problems located in the workbook (gom_xlsx_locate).
    Mutations of a zip mostly break its CRCs: fuzz_xlsx_sheet fuzzes the
    XML inside a well-formed archive. */
#include "fuzz_util.h"
#include "fuzz_xlsx.h"

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
    fuzz_xlsx_read (fuzz_write ("report.xlsx", data, size));
    return 0;
}
