/*  gom_form: a form definition (docs/forms.md) loaded from its JSON file
    and checked through, so that a form that loads is one gom can use:
    every code valid and unique, every cell that a check or indicator names
    exists, periods and deadlines well-formed. Errors name the file, the
    place (JSON path, or line and column for a syntax error) and the fault.

    A loaded form checks reports against itself: cells it has, whole
    numbers at or above the floor, required cells and texts, sums and
    part-of-whole rules. Every problem is reported, each on its own line,
    naming the cell's code and its row and column labels, in Vietnamese and
    English. */
#ifndef GOM_FORM_H
#define GOM_FORM_H

#include "gom.pb-c.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _gom_form_t gom_form_t;

//  Loads and validates path. NULL with err filled ("FILE: PLACE: fault").
gom_form_t *gom_form_load (const char *path, char *err, size_t errlen);

//  The same from JSON text in memory; name stands for the file in errors.
gom_form_t *gom_form_parse (const char *text, size_t len, const char *name,
                            char *err, size_t errlen);

//  In a folder of cached forms named CODE.vVERSION.json, loads form code at
//  version (0: the highest there). NULL if none (err says why).
gom_form_t *gom_form_find (const char *dir, const char *code, uint32_t version,
                           char *err, size_t errlen);
//  The codes of the forms cached in such a folder, each once, sorted
//  (NULL-terminated; free with gom_strv_free). An empty list if none.
char **gom_form_cached_codes (const char *dir);
void gom_form_destroy (gom_form_t **self_p);

const char *gom_form_code (gom_form_t *self);
uint32_t gom_form_version (gom_form_t *self);
const char *gom_form_title (gom_form_t *self);
//  "half-year", "year" or "range".
const char *gom_form_period_type (gom_form_t *self);
//  A range form's periods (NULL-terminated), or NULL for other types.
const char *const *gom_form_periods (gom_form_t *self);
size_t gom_form_cell_count (gom_form_t *self);
size_t gom_form_check_count (gom_form_t *self);
size_t gom_form_indicator_count (gom_form_t *self);
size_t gom_form_text_count (gom_form_t *self);

//  The i-th cell (0 <= i < cell count), in the form's order.
const char *gom_form_cell_code (gom_form_t *self, size_t i);
const char *gom_form_cell_label (gom_form_t *self, size_t i);
//  The least value the i-th cell may take (0 unless the form says).
int64_t gom_form_cell_min (gom_form_t *self, size_t i);
//  Index of a cell code, or SIZE_MAX.
size_t gom_form_cell_index (gom_form_t *self, const char *code);

typedef struct {
    const char *code;
    const char *label;
    const size_t *numerator;  //  cell indices
    size_t n_numerator;
    const size_t *denominator;
    size_t n_denominator;
    double scale;           //  100, 100000, or 1
    bool has_min, has_max;  //  floor and/or ceiling
    double min, max;
} gom_indicator_t;

//  The i-th indicator (0 <= i < indicator count).
void gom_form_indicator (gom_form_t *self, size_t i, gom_indicator_t *out);

//  The form's layout, line by line as the document prints it: a section
//  (its code, title and columns), a heading row, or a row of cells.
typedef enum {
    GOM_LINE_SECTION,
    GOM_LINE_HEADING,
    GOM_LINE_ROW
} gom_line_kind_t;

typedef struct {
    gom_line_kind_t kind;
    const char *code;   //  section or row code (NULL: heading)
    const char *no;     //  row number as printed ("1", "-", "")
    const char *label;  //  section title or row label
    size_t n_columns;   //  the section's columns
    const char **column_codes;
    const char **column_labels;
    const size_t *cells;  //  ROW: cell index per column, or SIZE_MAX
} gom_form_line_t;

size_t gom_form_line_count (gom_form_t *self);
const gom_form_line_t *gom_form_line (gom_form_t *self, size_t i);

//  The form's checks, as gom_form_check_report applies them: a cell at
//  most another (LE: others [0]), a total that is the sum of its parts
//  (SUM), or cells filled in together (REQUIRED; cell unused).
typedef enum {
    GOM_CHECK_LE,
    GOM_CHECK_SUM,
    GOM_CHECK_REQUIRED
} gom_check_kind_t;

typedef struct {
    gom_check_kind_t kind;
    size_t cell;
    const size_t *others;
    size_t n_others;
} gom_form_check_t;

//  The i-th check (0 <= i < check count).
void gom_form_check (gom_form_t *self, size_t i, gom_form_check_t *out);

//  The i-th narrative text: code, label, required.
void gom_form_text (gom_form_t *self, size_t i, const char **code,
                    const char **label, bool *required);

//  True if period is one this form is made for ("2026-H1", "2026",
//  "2016-2020", as the period type says).
bool gom_form_period_valid (gom_form_t *self, const char *period);

//  The last instant (Unix ms) at which a report for period is on time: the
//  end of the deadline day in Vietnam (UTC+7). -1 if period is not valid.
int64_t gom_form_deadline_ms (gom_form_t *self, const char *period);

//  Checks a report against the form. Returns NULL when it passes, else a
//  malloc'd text of one problem per line (at most 50 lines); *count gets
//  the number of problems.
char *gom_form_check_report (gom_form_t *self, const Gom__Report *report,
                             size_t *count);

#endif
