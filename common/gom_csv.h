/*  gom_csv: the report as a spreadsheet a commune officer fills in Excel or
    LibreOffice, and back. The template is CSV, UTF-8 with a byte-order mark
    (so Excel reads the Vietnamese right), one block per section of the
    form: the section title, its column labels, then a line per row with
    the row's code, its number and label as the document prints them, and
    an empty box under each column the row has. Narrative sections follow,
    one line each. Lines whose first field starts with "#" are for people
    or for gom and are not figures:

        #gom,form,HT-VSTBPN-6T,version,1,period,2026-H1,unit,18073,revision,1
        #section,ToChuc,II.2.1. Công tác tổ chức
        #columns,,,so
        #,STT,Nội dung,Số lượng
        TC1,1,Số lượng các đơn vị được kiện toàn ...,
        #text,situation,Tình hình chung,

    Reading accepts "," or ";" between fields (Excel in some locales saves
    with ";"), whole numbers with "." or "," or spaces between thousands,
    and names the line and the cell of anything it cannot read. */
#ifndef GOM_CSV_H
#define GOM_CSV_H

#include "gom.pb-c.h"
#include "gom_form.h"
#include <stdio.h>

//  Writes the template of form for (period, unit, revision) to out.
//  0 or -1 (errno).
int gom_csv_template (gom_form_t *form, const char *period, const char *unit,
                      uint32_t revision, FILE *out);

//  Reads a filled-in template into a new Report (no report_id); NULL with
//  err ("line N: ..."). Free with gom_report_free.
Gom__Report *gom_csv_read (const char *path, char *err, size_t errlen);

#endif
