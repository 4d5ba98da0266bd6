/*  gom_report: a report as gom carries it: natural key (unit, form,
    period, revision), report_id, sealed time, cells (whole numbers; an
    absent cell was not reported, which is not zero) and narrative texts.

    Both sides use the same checks (gom_report_check), so that what an agent
    accepts offline the hub accepts too. Cells and texts are kept sorted by
    code: the canonical order makes "same content" a byte comparison of
    gom_report_content(). */
#ifndef GOM_REPORT_H
#define GOM_REPORT_H

#include "gom.pb-c.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  Limits that apply before any form is known.
#define GOM_REPORT_MAX_CELLS      20000
#define GOM_REPORT_MAX_TEXTS      200
#define GOM_REPORT_MAX_TEXT_BYTES 65536
#define GOM_REPORT_MAX_REVISION   1000000
//  The largest figure a cell may hold, either sign: far above any count a
//  unit reports, and low enough that sums over a province cannot overflow.
#define GOM_REPORT_MAX_VALUE 1000000000000LL

//  Reads a JSON report file (see docs/cli.md) into a new Report with no
//  report_id; NULL with err filled ("line L column C: ...", or which field).
//  Free with gom_report_free.
Gom__Report *gom_report_from_json (const char *path, char *err, size_t errlen);

//  Frees a report made by gom_report_from_json (not one from unpack).
void gom_report_free (Gom__Report **report_p);

//  Checks a report's fields as a receiver must (codes, revision, id length,
//  canonical order, UTF-8, limits). 0, or -1 with err filled.
int gom_report_check (const Gom__Report *report, char *err, size_t errlen);

//  The canonical content (cells and texts only) packed; caller frees.
uint8_t *gom_report_content (const Gom__Report *report, size_t *len);
//  True if packed (len bytes) unpacks to a Report with report's canonical
//  content, whatever else it holds (a whole report, or a content).
bool gom_report_same_content (const uint8_t *packed, size_t len,
                              const Gom__Report *report);

//  A new report_id in id (GOM_ID_BYTES): the time it is made, ms since
//  1970 in 48 bits big-endian, then 80 random bits. As unique as 128
//  random bits for any number of reports a province makes, and new ids
//  go to the end of the hub's report_id index instead of a page of their
//  own each (docs/performance.md: a third fewer bytes written a report).
//  The hub takes any 16 bytes: the time is never read. 0, or -1 (errno)
//  if there is no random source.
int gom_report_id_new (uint8_t *id, int64_t ms);

//  Writes ms into id's time part (its first 6 bytes).
void gom_report_id_set_time (uint8_t *id, int64_t ms);

#endif
