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
    and names the line and the cell of anything it cannot read. A file in
    Windows-1258 (Excel's "CSV (Comma delimited)" on Vietnamese Windows)
    is read too, with a warning: see gom_csv_read_noted. */
#ifndef GOM_CSV_H
#define GOM_CSV_H

#include "gom.pb-c.h"
#include "gom_form.h"
#include <czmq.h>
#include <stdio.h>

//  Writes the template of form for (period, unit, revision) to out.
//  0 or -1 (errno).
int gom_csv_template (gom_form_t *form, const char *period, const char *unit,
                      uint32_t revision, FILE *out);

//  Reads a filled-in template into a new Report (no report_id); NULL with
//  err ("line N: ..."). Free with gom_report_free.
Gom__Report *gom_csv_read (const char *path, char *err, size_t errlen);

//  The same, and warn gets what a person must be told about a file that
//  was read all the same ("" if nothing; lines in English, then in
//  Vietnamese). The file's encoding:
//  - UTF-8 (with or without a byte-order mark) is read as it is;
//  - UTF-16 (Excel's "Unicode Text") is refused, saying how to save as
//    CSV UTF-8;
//  - anything else that is not UTF-8 but is plausibly Vietnamese text in
//    Windows-1258 (what Excel's "CSV (Comma delimited)" writes on a
//    Vietnamese Windows) is read as that, with a warning. Plausibly: fewer
//    valid multi-byte UTF-8 sequences in it than bytes that are not UTF-8
//    (else it is UTF-8 with a stray byte), every byte defined in
//    Windows-1258, no control character but tab, CR and LF, every tone
//    mark composed with its letter (glibc's iconv composes a letter and
//    the combining tone mark after it, as Windows writes what Windows-1258
//    has no single byte for, into the one precomposed character, NFC), and
//    at least one letter only Vietnamese writes (ă, đ, ĩ, ũ, ơ, ư, or one
//    of U+1EA0..U+1EF9);
//  - otherwise it is refused with the line and byte offset of the first
//    byte that is not UTF-8, and how to save as CSV UTF-8 (a file that
//    does not even start with #gom is "not a gom template").
Gom__Report *gom_csv_read_noted (const char *path, char *warn, size_t warnlen,
                                 char *err, size_t errlen);

//  The same reading of lines that come from elsewhere (a workbook's rows):
//  each line's fields, what to call the line in errors ("sheet S, row 14")
//  and what to call each field (places, NULL or one a field: "S!D14").
//  places_by_code (optional) gets, for each cell read, code -> its field's
//  place (a malloc'd copy; give the hash a destructor).
typedef struct _gom_lines_t gom_lines_t;
gom_lines_t *gom_lines_new (zhashx_t *places_by_code, char *err, size_t errlen);
void gom_lines_add (gom_lines_t *self, const char *const *fields, size_t n,
                    const char *where, const char *const *places);
//  The report, or NULL with err; destroys self.
Gom__Report *gom_lines_end (gom_lines_t **self_p);

#endif
