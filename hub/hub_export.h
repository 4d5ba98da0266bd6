/*  hub_export: the consolidated table of a form and period as an Excel
    workbook (libxlsxwriter), in the form's own layout, ready to print:
    sheet "Tổng hợp" has the form's sections with their column labels and
    the document's row numbers and labels, each cell's sum (empty where no
    unit reported it); sheet "Chỉ tiêu" the ratios against their targets;
    sheet "Đơn vị" every expected unit's state (on time, late, rejected,
    missing). */
#ifndef HUB_EXPORT_H
#define HUB_EXPORT_H

#include "gom_form.h"
#include <jansson.h>
#include <stdio.h>

//  Writes path from totals (hub_totals_json) and arrivals
//  (hub_arrivals_json, may be NULL without a unit tree). 0, or -1 with err.
int hub_export_xlsx (gom_form_t *form, json_t *totals, json_t *arrivals,
                     const char *path, char *err, size_t errlen);

//  Writes totals (hub_totals_json) as CSV for Excel: UTF-8 with a BOM, the
//  cells (code, label, sum, units) and then the indicators.
void hub_export_csv (json_t *totals, FILE *f);

#endif
