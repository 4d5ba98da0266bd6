/*  Unit tests of gom_form: a small valid form loads with the cells, checks,
    indicators and texts it defines; broken forms are refused with the
    place and the fault; periods, deadlines and report checks. Form files
    given on the command line (the shipped pack) must all load. */
#include "check.h"
#include "gom_form.h"
#include "gom_util.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char s_dir [] = "/tmp/gom-test-form-XXXXXX";

static const char *
s_file (const char *name, const char *text)
{
    static char path [256];
    snprintf (path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen (path, "w");
    fputs (text, f);
    fclose (f);
    return path;
}

#define GOOD_HEAD                                                              \
    "{\"form\":\"T1\",\"version\":2,\"title\":\"Biểu thử\","               \
    "\"period\":\"half-year\",\"deadline\":{\"H1\":\"06-14\","                 \
    "\"H2\":\"12-14\"},"

static const char *s_good = GOOD_HEAD
    "\"sections\":[{\"code\":\"I\",\"title\":\"Số liệu chung\","
    "\"columns\":[{\"code\":\"total\",\"label\":\"Tổng số\"},"
    "{\"code\":\"pub\",\"label\":\"HCSN\"},{\"code\":\"priv\",\"label\":"
    "\"Ngoài "
    "NN\"}],"
    "\"sum_columns\":{\"total\":[\"pub\",\"priv\"]},"
    "\"rows\":[{\"code\":\"I1\",\"no\":\"1\",\"label\":\"Số CNVCLĐ\"},"
    "{\"heading\":true,\"label\":\"Trong đó\"},"
    "{\"code\":\"I2\",\"no\":\"2\",\"label\":\"Số nữ CNVCLĐ\",\"le\":\"I1\"},"
    "{\"code\":\"I3\",\"label\":\"Số BNC\",\"columns\":[\"total\"],"
    "\"required\":true}]}],"
    "\"checks\":[{\"type\":\"le\",\"cell\":\"I3.total\",\"max\":\"I1.total\"}],"
    "\"indicators\":[{\"code\":\"women_share\",\"label\":\"Tỷ lệ nữ\","
    "\"numerator\":[\"I2.total\"],\"denominator\":[\"I1.total\"],"
    "\"target\":{\"min\":40}}],"
    "\"texts\":[{\"code\":\"situation\",\"label\":\"Tình hình chung\","
    "\"required\":true}]}";

static void
test_good (void)
{
    char err [600];
    gom_form_t *f =
        gom_form_load (s_file ("good.json", s_good), err, sizeof err);
    CHECK (f != NULL);
    if (!f) {
        fprintf (stderr, "%s\n", err);
        return;
    }
    CHECK (strcmp (gom_form_code (f), "T1") == 0 && gom_form_version (f) == 2);
    CHECK (gom_form_cell_count (f) == 7);  //  3 + 3 + 1
    //  sum on I1 and I2 (I3 lacks the parts), le x3 for I2, 1 explicit
    CHECK (gom_form_check_count (f) == 6);
    //  The same checks through gom_form_check: I2.x <= I1.x for each
    //  column, and the explicit I3.total <= I1.total, as LE; the two
    //  rows' totals as SUM of pub and priv.
    size_t le = 0, sum = 0;
    bool explicit_le = false;
    for (size_t k = 0; k < gom_form_check_count (f); k++) {
        gom_form_check_t chk;
        gom_form_check (f, k, &chk);
        const char *cell = gom_form_cell_code (f, chk.cell);
        if (chk.kind == GOM_CHECK_LE) {
            le++;
            CHECK (chk.n_others == 1);
            explicit_le =
                explicit_le || (strcmp (cell, "I3.total") == 0 &&
                                strcmp (gom_form_cell_code (f, chk.others [0]),
                                        "I1.total") == 0);
        }
        else if (chk.kind == GOM_CHECK_SUM) {
            sum++;
            CHECK (chk.n_others == 2 && strstr (cell, ".total") != NULL);
            CHECK (strstr (gom_form_cell_code (f, chk.others [0]), ".pub"));
        }
    }
    CHECK (le == 4 && sum == 2 && explicit_le);
    CHECK (gom_form_indicator_count (f) == 1 && gom_form_text_count (f) == 1);
    CHECK (gom_form_period_valid (f, "2026-H1"));
    CHECK (!gom_form_period_valid (f, "2026"));
    CHECK (!gom_form_period_valid (f, "2026-H3"));
    //  H1 2026 is due by the end of 14 June in Vietnam: 16:59:59.999 UTC.
    char when [32];
    gom_iso_time (gom_form_deadline_ms (f, "2026-H1"), when, sizeof when);
    CHECK (strcmp (when, "2026-06-14T16:59:59.999Z") == 0);
    CHECK (gom_form_deadline_ms (f, "2026") == -1);

    Gom__Report r = GOM__REPORT__INIT;
    r.form = "T1";
    r.period = "2026-H1";
    r.revision = 1;
    Gom__Cell c [6];
    Gom__Cell *cp [6];
    const char *codes [] = { "I1.priv", "I1.pub",   "I1.total",
                             "I2.pub",  "I2.total", "I3.total" };
    int64_t ok_values [] = { 60, 40, 100, 30, 50, 3 };
    for (int i = 0; i < 6; i++) {
        gom__cell__init (&c [i]);
        c [i].code = (char *)codes [i];
        c [i].value = ok_values [i];
        cp [i] = &c [i];
    }
    r.cells = cp;
    r.n_cells = 6;
    Gom__Text t = GOM__TEXT__INIT;
    Gom__Text *tp [] = { &t };
    t.code = "situation";
    t.text = "Tình hình ổn định";
    r.texts = tp;
    r.n_texts = 1;
    size_t n = 99;
    char *problems = gom_form_check_report (f, &r, &n);
    CHECK (problems == NULL && n == 0);
    free (problems);
    //  Cells out of code order are found all the same (the walk in code
    //  order falls back to the index).
    Gom__Cell *reversed [6];
    for (int i = 0; i < 6; i++)
        reversed [i] = cp [5 - i];
    r.cells = reversed;
    problems = gom_form_check_report (f, &r, &n);
    CHECK (problems == NULL && n == 0);
    free (problems);
    r.cells = cp;

    //  Every kind of problem at once, each on its own line.
    c [1].value = 41;         //  I1: 60 + 41 != 100
    c [3].value = 45;         //  I2.pub 45 > I1.pub 41
    c [5].value = -1;         //  below the floor
    c [4].code = "I9.total";  //  not in the form; I2.total now empty
    r.n_texts = 0;            //  required text missing
    r.period = "2026";
    problems = gom_form_check_report (f, &r, &n);
    CHECK (problems != NULL);
    if (problems) {
        CHECK (
            strstr (problems, "cell I1.total = 100 but its parts sum to 101"));
        CHECK (strstr (problems,
                       "cell I2.pub = 45 is more than cell I1.pub = 41"));
        CHECK (strstr (problems,
                       "cell I3.total = -1: must be a whole number from 0"));
        CHECK (strstr (problems, "cell I9.total is not in form T1"));
        CHECK (strstr (problems, "text situation is required but empty"));
        CHECK (strstr (problems, "period 2026 is not valid"));
        CHECK (strstr (problems, "Số nữ CNVCLĐ — HCSN"));  //  labels
        CHECK (n == 6);
    }
    free (problems);
    gom_form_destroy (&f);
    CHECK (f == NULL);
}

static void
test_broken (void)
{
    struct {
        const char *text, *expect;
    } bad [] = {
        { "{\"form\":", "line 1 column" },
        { "[1]", "top: a form file holds one JSON object" },
        { "{\"version\":1}", "form: \"form\" is missing" },
        { "{\"form\":\"a b\",\"version\":1}", "is not a code" },
        { "{\"form\":\"T\",\"version\":0,\"title\":\"x\"}",
          "version: must be" },
        { GOOD_HEAD "\"sections\":[]}", "sections: must be a non-empty list" },
        { "{\"form\":\"T\",\"version\":1,\"title\":\"x\",\"period\":\"week\"}",
          "period: must be" },
        { "{\"form\":\"T\",\"version\":1,\"title\":\"x\",\"period\":\"year\","
          "\"deadline\":{\"year\":\"02-30\"}}",
          "deadline: a year form needs" },
        { "{\"form\":\"T\",\"version\":1,\"title\":\"x\",\"period\":\"range\","
          "\"periods\":[\"2020-2016\"],\"deadline\":{\"date\":\"2020-06-30\"}}",
          "periods: \"2020-2016\" is not YYYY-YYYY" },
        { GOOD_HEAD "\"sections\":[{\"code\":\"S\",\"columns\":[{\"code\":"
                    "\"a\"}],\"rows\":[{\"code\":\"R\"},{\"code\":\"R\"}]}]}",
          "sections[0].rows[1]: cell R.a is defined twice" },
        { GOOD_HEAD
          "\"sections\":[{\"code\":\"S\",\"columns\":[{\"code\":"
          "\"a\"}],\"rows\":[{\"code\":\"R\",\"columns\":[\"b\"]}]}]}",
          "column b is not one of section S's" },
        { GOOD_HEAD "\"sections\":[{\"code\":\"S\",\"columns\":[{\"code\":"
                    "\"a\"}],\"rows\":[{\"code\":\"R\",\"le\":\"Q\"}]}]}",
          "\"le\": row Q has no cell" },
        { GOOD_HEAD "\"sections\":[{\"code\":\"S\",\"columns\":[{\"code\":"
                    "\"a\"}],\"rows\":[{\"code\":\"R\"}]}],\"checks\":[{"
                    "\"type\":\"le\",\"cell\":\"R.a\",\"max\":\"R.b\"}]}",
          "checks[0]: no cell \"R.b\" in this form" },
        { GOOD_HEAD "\"sections\":[{\"code\":\"S\",\"columns\":[{\"code\":"
                    "\"a\"}],\"rows\":[{\"code\":\"R\"}]}],\"indicators\":[{"
                    "\"code\":\"i\",\"numerator\":[\"R.a\"],\"denominator\":[],"
                    "\"target\":{\"min\":1}}]}",
          "indicators[0].denominator: a non-empty list" },
        { GOOD_HEAD "\"sections\":[{\"code\":\"S\",\"columns\":[{\"code\":"
                    "\"a\"}],\"rows\":[{\"code\":\"R\"}]}],\"indicators\":[{"
                    "\"code\":\"i\",\"numerator\":[\"R.a\"],\"denominator\":["
                    "\"R.a\"],\"target\":{\"min\":30,\"max\":20}}]}",
          "target min is above max" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        char err [600] = "";
        gom_form_t *f =
            gom_form_load (s_file ("bad.json", bad [i].text), err, sizeof err);
        CHECK (f == NULL);
        if (!strstr (err, bad [i].expect) || !strstr (err, "bad.json: "))
            fprintf (stderr, "case %zu: got \"%s\", want \"%s\"\n", i, err,
                     bad [i].expect);
        CHECK (strstr (err, bad [i].expect) != NULL);
        CHECK (strstr (err, "bad.json: ") != NULL);
        gom_form_destroy (&f);
    }
}

//  The agent's cache of forms: CODE.vN.json, codes listed once.
static void
test_cached_codes (void)
{
    char dir [300];
    snprintf (dir, sizeof dir, "%s/cache", s_dir);
    CHECK (mkdir (dir, 0700) == 0);
    const char *names [] = { "cache/A.v1.json",    "cache/A.v2.json",
                             "cache/B-2.v10.json", "cache/junk.json",
                             "cache/C.vx.json",    "cache/D.v3.json.tmp" };
    for (size_t i = 0; i < sizeof names / sizeof names [0]; i++)
        s_file (names [i], "{}");
    char **codes = gom_form_cached_codes (dir);
    CHECK (codes [0] && strcmp (codes [0], "A") == 0);
    CHECK (codes [0] && codes [1] && strcmp (codes [1], "B-2") == 0);
    CHECK (codes [0] && codes [1] && !codes [2]);
    gom_strv_free (&codes);
    codes = gom_form_cached_codes ("/nonexistent-gom-folder");
    CHECK (codes && !codes [0]);
    gom_strv_free (&codes);
}

int
main (int argc, char **argv)
{
    if (!mkdtemp (s_dir))
        return 2;
    test_good ();
    test_broken ();
    test_cached_codes ();
    //  The shipped form pack: every file must load.
    for (int i = 1; i < argc; i++) {
        char err [600];
        gom_form_t *f = gom_form_load (argv [i], err, sizeof err);
        if (!f)
            fprintf (stderr, "%s\n", err);
        CHECK (f != NULL && gom_form_cell_count (f) > 0);
        gom_form_destroy (&f);
    }
    char cmd [300];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    if (system (cmd) != 0)
        fprintf (stderr, "could not remove %s\n", s_dir);
    CHECK_DONE ();
}
