/*  gom_units: the tree of reporting units, loaded from a CSV file (libcsv):

        code,name,parent,level,active_from,inactive_from
        42,Tỉnh Hà Tĩnh,,province,,
        436,Thành phố Hà Tĩnh,42,district,,2025-07-01
        18073,Phường Bắc Hà,436,commune,,

    Any depth (two levels since 2025 in some provinces, three in others);
    several roots are allowed (a government line and a union line). A unit
    is active from active_from (empty: always) until the day before
    inactive_from (empty: still active). A UTF-8 byte-order mark (as Excel
    writes) is skipped. A broken file is refused with FILE:LINE: fault. */
#ifndef GOM_UNITS_H
#define GOM_UNITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _gom_units_t gom_units_t;

gom_units_t *gom_units_load (const char *path, char *err, size_t errlen);
void gom_units_destroy (gom_units_t **self_p);

size_t gom_units_count (gom_units_t *self);
bool gom_units_exists (gom_units_t *self, const char *code);
//  Name, parent code (NULL for a root) and level; NULL if no such unit.
const char *gom_units_name (gom_units_t *self, const char *code);
const char *gom_units_parent (gom_units_t *self, const char *code);
const char *gom_units_level (gom_units_t *self, const char *code);
//  Fills chain with the unit's code, then its parent's, and so up to its
//  root (at most max; the tree's own strings): how many. 0 if no such unit.
size_t gom_units_chain (gom_units_t *self, const char *code, const char **chain,
                        size_t max);
//  True if the unit exists and is active at Unix time at_ms (Vietnam days).
bool gom_units_active (gom_units_t *self, const char *code, int64_t at_ms);
//  The i-th unit's code, in file order (0 <= i < count).
const char *gom_units_code (gom_units_t *self, size_t i);
//  True if the unit has no children in the file.
bool gom_units_is_leaf (gom_units_t *self, const char *code);
//  True if code is ancestor itself or lies below it.
bool gom_units_within (gom_units_t *self, const char *code,
                       const char *ancestor);

#endif
