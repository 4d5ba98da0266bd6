/*  fuzz_xlsx_sheet: gom_xlsx_read on the XML inside a workbook rather than
    on the zip archive: the input is a sheet's XML, or the shared strings'
    XML, the marker <!--gom:sheet--> and the sheet's XML; it is packed
    (stored, not compressed) with a fixed workbook.xml and its
    relationships into a well-formed .xlsx, read as the agent does, and
    what was read is checked (fuzz_xlsx.h). Without the marker the
    workbook has no shared strings part (as some writers make it). */
#include "fuzz_util.h"
#include "fuzz_xlsx.h"

#include <zip.h>

#define MARKER "<!--gom:sheet-->"

static const char s_workbook [] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
    "<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/"
    "main\" xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/"
    "relationships\"><sheets><sheet name=\"Báo cáo\" sheetId=\"1\" "
    "r:id=\"rId1\"/></sheets></workbook>";

static const char s_rels [] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/"
    "relationships\"><Relationship Id=\"rId1\" "
    "Type=\"http://schemas.openxmlformats.org/officeDocument/2006/"
    "relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
    "<Relationship Id=\"rId4\" Type=\"http://schemas.openxmlformats.org/"
    "officeDocument/2006/relationships/sharedStrings\" "
    "Target=\"sharedStrings.xml\"/></Relationships>";

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

static void
s_add (zip_t *zip, const char *name, const void *data, size_t len)
{
    zip_source_t *src = zip_source_buffer (zip, data, len, 0);
    FUZZ_REQUIRE (src, "zip_source_buffer: %s", zip_strerror (zip));
    zip_int64_t i = zip_file_add (zip, name, src, ZIP_FL_OVERWRITE);
    if (i < 0)
        zip_source_free (src);
    FUZZ_REQUIRE (i >= 0, "zip_file_add: %s", zip_strerror (zip));
    zip_set_file_compression (zip, (zip_uint64_t)i, ZIP_CM_STORE, 0);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static char path [600];
    if (!path [0])
        snprintf (path, sizeof path, "%s/sheet.xlsx", fuzz_dir ());
    const uint8_t *sheet = data, *shared = NULL;
    size_t sheet_len = size, shared_len = 0;
    const uint8_t *m = memmem (data, size, MARKER, strlen (MARKER));
    if (m) {
        shared = data;
        shared_len = (size_t)(m - data);
        sheet = m + strlen (MARKER);
        sheet_len = size - shared_len - strlen (MARKER);
    }
    int zerr = 0;
    zip_t *zip = zip_open (path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    FUZZ_REQUIRE (zip, "cannot make %s (%d)", path, zerr);
    s_add (zip, "xl/workbook.xml", s_workbook, strlen (s_workbook));
    s_add (zip, "xl/_rels/workbook.xml.rels", s_rels, strlen (s_rels));
    s_add (zip, "xl/worksheets/sheet1.xml", sheet, sheet_len);
    if (shared)
        s_add (zip, "xl/sharedStrings.xml", shared, shared_len);
    FUZZ_REQUIRE (zip_close (zip) == 0, "zip_close: %s", zip_strerror (zip));
    fuzz_xlsx_read (path);
    return 0;
}
