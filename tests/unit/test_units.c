/*  Unit tests of gom_units: a tree of any depth with a BOM and CRLF lines
    (as Excel saves), active dates, subtree membership; every kind of broken
    file is refused with FILE:LINE and the fault. */
#include "check.h"
#include "gom_units.h"

#include <string.h>
#include <unistd.h>

static char s_dir [] = "/tmp/gom-test-units-XXXXXX";

static const char *
s_file (const char *text)
{
    static char path [256];
    snprintf (path, sizeof path, "%s/units.csv", s_dir);
    FILE *f = fopen (path, "w");
    fputs (text, f);
    fclose (f);
    return path;
}

int
main (void)
{
    if (!mkdtemp (s_dir))
        return 2;
    char err [400];
    gom_units_t *u = gom_units_load (
        s_file ("\xEF\xBB\xBF"
                "code,name,parent,level,active_from,inactive_from\r\n"
                "42,Tỉnh Hà Tĩnh,,province,,\r\n"
                "436,Thành phố Hà Tĩnh,42,district,,2025-07-01\r\n"
                "18073,\"Phường Bắc Hà, TP Hà Tĩnh\",436,commune,,\r\n"
                "18074,Xã mới,42,commune,2025-07-01,\r\n"
                "LDLD,Liên đoàn Lao động tỉnh,,federation,,\r\n"
                "\r\n"),
        err, sizeof err);
    CHECK (u != NULL);
    if (!u) {
        fprintf (stderr, "%s\n", err);
        CHECK_DONE ();
    }
    CHECK (gom_units_count (u) == 5);
    CHECK (strcmp (gom_units_name (u, "18073"), "Phường Bắc Hà, TP Hà Tĩnh") ==
           0);
    CHECK (strcmp (gom_units_parent (u, "18073"), "436") == 0);
    CHECK (gom_units_parent (u, "42") == NULL);
    const char *chain [4] = { NULL };
    CHECK (gom_units_chain (u, "18073", chain, 4) == 3);
    CHECK (chain [0] && strcmp (chain [0], "18073") == 0);
    CHECK (chain [1] && strcmp (chain [1], "436") == 0);
    CHECK (chain [2] && strcmp (chain [2], "42") == 0);
    CHECK (gom_units_chain (u, "18073", chain, 2) == 2);  //  at most max
    CHECK (gom_units_chain (u, "LDLD", chain, 4) == 1);
    CHECK (gom_units_chain (u, "99999", chain, 4) == 0);
    CHECK (strcmp (gom_units_level (u, "436"), "district") == 0);
    CHECK (gom_units_within (u, "18073", "42"));
    CHECK (gom_units_within (u, "18073", "18073"));
    CHECK (!gom_units_within (u, "42", "18073"));
    CHECK (!gom_units_within (u, "LDLD", "42"));
    //  2025-06-30 12:00 UTC: the district still active, the new commune not
    int64_t before = 1751284800000LL, after = 1751371200000LL + 86400000LL;
    CHECK (gom_units_active (u, "436", before));
    CHECK (!gom_units_active (u, "436", after));
    CHECK (!gom_units_active (u, "18074", before));
    CHECK (gom_units_active (u, "18074", after));
    CHECK (!gom_units_active (u, "nope", after));
    gom_units_destroy (&u);
    CHECK (u == NULL);

    struct {
        const char *text, *expect;
    } bad [] = {
        { "unit,name\n", "units.csv:1: the first line must be the header" },
        { "code,name,parent,level\n", "units.csv:2: no units in the file" },
        { "code,name,parent,level\n42,A,,province\n42,B,,province\n",
          "units.csv:3: unit 42 is defined twice (first on line 2)" },
        { "code,name,parent,level\n42,A,,province\n43,B,99,district\n",
          "units.csv:3: unit 43: parent 99 is not in the file" },
        { "code,name,parent,level\n1,A,2,x\n2,B,1,x\n",
          "units.csv:2: unit 1 is its own ancestor" },
        { "code,name,parent,level,active_from\n1,A,,x,1/7/2025\n",
          "units.csv:2: unit 1: active_from \"1/7/2025\" is not YYYY-MM-DD" },
        { "code,name,parent,level\n1 2,A,,x\n", "units.csv:2: code \"1 2\"" },
        { "code,name,parent,level\n1,,,x\n", "units.csv:2: unit 1: the name" },
        { "code,name,parent,level\n1,A,,x,y,z,w\n", "units.csv:2: 7 fields" },
        { "code,name,parent,level\n1,\"A,,x\n", "not valid CSV" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        err [0] = 0;
        u = gom_units_load (s_file (bad [i].text), err, sizeof err);
        CHECK (u == NULL);
        if (!strstr (err, bad [i].expect))
            fprintf (stderr, "case %zu: got \"%s\", want \"%s\"\n", i, err,
                     bad [i].expect);
        CHECK (strstr (err, bad [i].expect) != NULL);
        gom_units_destroy (&u);
    }
    char cmd [300];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    if (system (cmd) != 0)
        fprintf (stderr, "could not remove %s\n", s_dir);
    CHECK_DONE ();
}
