/*  gom_xlsx: the report as an Excel workbook, the file a commune officer
    saves by default. The template is the CSV template's layout (gom_csv.h)
    in a sheet: column A, hidden, holds what the CSV's first field holds
    (the #gom line, row codes, #section, #columns, #text), so that the same
    reader turns either into a report; the #gom and #columns rows are
    hidden too. Labels and codes are locked and the sheet is protected
    without a password; only the input cells are open, each with Excel's
    own data validation (a whole number from the cell's floor; a text of
    bounded length), so that Excel refuses a wrong figure as it is typed.

    Reading takes the workbook as Excel or LibreOffice save it (libzip and
    libxml2): shared and inline strings, numbers stored as text, formulas
    with their cached values, empty cells (not reported). */
#ifndef GOM_XLSX_H
#define GOM_XLSX_H

#include "gom.pb-c.h"
#include "gom_form.h"
#include "gom_xlsx_places.h"

//  The longest narrative text the template's validation lets Excel take
//  into one cell, in characters.
#define GOM_XLSX_TEXT_MAX 20000

//  Writes the template of form for (period, unit, revision) to path.
//  0, or -1 with err.
int gom_xlsx_template (gom_form_t *form, const char *period, const char *unit,
                       uint32_t revision, const char *path, char *err,
                       size_t errlen);

//  Reads a filled workbook into a new Report (no report_id); NULL with err
//  naming the sheet and cell of the fault. places_p (optional) gets the
//  cells' addresses. Free with gom_report_free.
Gom__Report *gom_xlsx_read (const char *path, gom_xlsx_places_t **places_p,
                            char *err, size_t errlen);

#endif
