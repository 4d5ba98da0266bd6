/*  fuzz_units: the hub's unit tree (units.csv, an operator's CSV from a
    spreadsheet): gom_units_load on the input as a file, then every
    accessor over every unit (names, parents, levels, leaves, active days,
    ancestry), as the hub's catalog, totals and dashboard use them. */
#include "fuzz_util.h"
#include "gom_units.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    const char *path = fuzz_write ("units.csv", data, size);
    char err [1024] = "";
    gom_units_t *u = gom_units_load (path, err, sizeof err);
    if (!u) {
        FUZZ_REFUSED_WITH_REASON (err);
        return 0;
    }
    size_t n = gom_units_count (u);
    const char *first = n ? gom_units_code (u, 0) : "";
    for (size_t i = 0; i < n; i++) {
        const char *code = gom_units_code (u, i);
        FUZZ_REQUIRE (code && gom_units_exists (u, code), "unit %zu lost", i);
        FUZZ_REQUIRE (gom_units_name (u, code) && gom_units_level (u, code),
                      "unit %s without name or level", code);
        const char *parent = gom_units_parent (u, code);
        FUZZ_REQUIRE (!parent || gom_units_exists (u, parent),
                      "unit %s: parent not in the tree", code);
        FUZZ_REQUIRE (!parent || !gom_units_is_leaf (u, parent),
                      "unit %s: its parent is a leaf", code);
        FUZZ_REQUIRE (gom_units_within (u, code, code), "not within itself");
        gom_units_is_leaf (u, code);
        gom_units_active (u, code, 0);
        gom_units_active (u, code, 1767225600000LL);
        gom_units_active (u, code, INT64_MAX / 2);
        gom_units_within (u, code, first);
        //  Walks up to the root: the tree has no cycle.
        size_t depth = 0;
        for (const char *p = parent; p; p = gom_units_parent (u, p))
            FUZZ_REQUIRE (++depth <= n, "unit %s: a cycle", code);
    }
    gom_units_exists (u, "");
    gom_units_name (u, "no-such-unit");
    gom_units_destroy (&u);
    return 0;
}
