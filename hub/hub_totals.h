/*  hub_totals: consolidation of one form and period over a subtree of the
    unit tree (DESIGN.md, forms and consolidation; rules 7, 9, 10).

    - Each unit counts with its highest stored revision only (rule 7);
      earlier revisions stay on record but are not summed.
    - Each unit's report holds its own figures, never its children's: the
      hub sums them up the tree. A cell a unit left empty is not reported
      and adds nothing (rule 10); each total says how many units reported
      it.
    - A ratio is the sum of its numerator cells over the sum of its
      denominator cells, times its scale, never an average of the units'
      ratios; it is then compared with its target (floor and/or ceiling).
    - Completeness: the units expected to report are the active leaf units
      of the subtree (the reporting bodies; the levels above them gather).
      A unit whose first revision was sealed by the end of the form's
      deadline day (Vietnam time) is on time (a correction sent later does
      not make it late), later is late, none is missing; completeness never
      exceeds 100%. Without a unit tree there is no list of expected units,
      and only what arrived is counted. */
#ifndef HUB_TOTALS_H
#define HUB_TOTALS_H

#include "gom_form.h"
#include "gom_units.h"
#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>

//  The checks the commands below make before reading (what: "totals",
//  "arrivals" or "texts"): the period is valid for the form, root is in
//  the tree, arrivals have a tree, texts' section is one of the form's.
//  False with err (the commands' words) if one fails.
bool hub_view_valid (const char *what, gom_form_t *form, gom_units_t *units,
                     const char *period, const char *root, const char *section,
                     char *err, size_t errlen);

//  Totals of form for period over the subtree at root (NULL: every unit).
//  units may be NULL (no tree). Returns a new JSON object, or NULL with err.
json_t *hub_totals_json (sqlite3 *db, gom_form_t *form, gom_units_t *units,
                         const char *period, const char *root, char *err,
                         size_t errlen);

//  Every expected unit of the subtree (active leaves) with its state:
//  on_time, late, missing, or rejected (refused, nothing accepted), its
//  latest revision, first sealed and received times, and the refusal;
//  with the counts and the completeness share (never above 100%). Needs
//  the unit tree. New JSON object, or NULL with err.
json_t *hub_arrivals_json (sqlite3 *db, gom_form_t *form, gom_units_t *units,
                           const char *period, const char *root, char *err,
                           size_t errlen);

//  Every unit's narrative text for one section (a text code of the form),
//  from each unit's latest revision, in the subtree at root. New JSON
//  array, or NULL with err.
json_t *hub_texts_json (sqlite3 *db, gom_form_t *form, gom_units_t *units,
                        const char *period, const char *section,
                        const char *root, char *err, size_t errlen);

//  A rollup: one form and period held in memory, per unit its status
//  (first sealed and received times, highest revision, latest refusal)
//  and, with values, its highest revision's cells. The dashboard keeps one
//  per form and period and updates it before each answer, reading only
//  what was stored since (reports by receipt, refusals by id: both only
//  grow), so that a province of 10,000 units is not read again at every
//  arrival. The commands above make one, use it once and drop it. It
//  keeps the sums over every unit as values change, and a view of the
//  unit tree (names, who is expected) made at its first answer: pass it
//  the same tree for as long as it lives.
typedef struct _hub_rollup_t hub_rollup_t;

//  period must be valid for form; form must outlive the rollup.
hub_rollup_t *hub_rollup_new (gom_form_t *form, const char *period,
                              bool with_values);
void hub_rollup_destroy (hub_rollup_t **self_p);
//  Reads what was stored since the last update. 0, or -1 (sqlite error).
int hub_rollup_update (hub_rollup_t *self, sqlite3 *db);
//  As hub_totals_json (needs with_values); root already checked.
json_t *hub_rollup_totals (hub_rollup_t *self, gom_units_t *units,
                           const char *root);
//  As hub_arrivals_json (units not NULL; root already checked); without
//  summaries, no missing_units and late_units lists.
json_t *hub_rollup_arrivals (hub_rollup_t *self, gom_units_t *units,
                             const char *root, bool summaries);

//  The same as JSON text, written directly (a province's arrivals are
//  2 MB of JSON: building them as jansson objects and dumping took longer
//  than the dashboard may). New string, its length in *len.
char *hub_rollup_arrivals_text (hub_rollup_t *self, gom_units_t *units,
                                const char *root, size_t *len);

//  What `gom-hub totals|arrivals|texts` print for a person (docs/cli.md),
//  from the JSON above: the table with its ratios and the completeness
//  line; the arrivals grouped by parent and the completeness line; the
//  texts one after another. (--json prints the JSON, indented by 2.)
void hub_totals_print (json_t *totals, FILE *f);
void hub_arrivals_print (json_t *arrivals, FILE *f);
void hub_texts_print (json_t *texts, FILE *f);

//  The command's own output of arrivals, written from a rollup: with json,
//  byte for byte what json_dumpf of hub_rollup_arrivals (with summaries)
//  indented by 2 writes, and a newline; else what hub_arrivals_print
//  prints. As fast as hub_rollup_arrivals_text (the hub answers the
//  command line with it: jansson would take 100 ms to build, and the
//  command as long again to read, 3 MB of a province's arrivals). New
//  string, its length in *len.
char *hub_rollup_arrivals_output (hub_rollup_t *self, gom_units_t *units,
                                  const char *root, bool json, size_t *len);

#endif
