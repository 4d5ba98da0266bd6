/*  test_xlsx: the workbook template of every form given on the command line
    reads back as the empty report of its unit, form, version, period and
    revision; then the template's sheet and shared strings, mutated at
    random (bytes flipped, cut short, hostile cells spliced in) and packed
    again with libzip, are each either read or refused with a message,
    never a crash (this runs under AddressSanitizer and UBSan in the suite).

    test_xlsx [--seed N] [--iterations N] FORM.json... */
#include "check.h"
#include "gom_form.h"
#include "gom_report.h"
#include "gom_util.h"
#include "gom_xlsx.h"

#include <czmq.h>
#include <zip.h>

static char *
s_entry (const char *path, const char *name, size_t *len)
{
    zip_t *z = zip_open (path, ZIP_RDONLY, NULL);
    if (!z)
        return NULL;
    zip_stat_t st;
    char *data = NULL;
    if (zip_stat (z, name, 0, &st) == 0) {
        zip_file_t *f = zip_fopen (z, name, 0);
        data = malloc (st.size + 1);
        *len = f ? (size_t)zip_fread (f, data, st.size) : 0;
        if (f)
            zip_fclose (f);
    }
    zip_discard (z);
    return data;
}

//  A copy of the workbook at from, with part name replaced by data.
static int
s_repack (const char *from, const char *to, const char *name, const char *data,
          size_t len)
{
    size_t n;
    FILE *in = fopen (from, "rb");
    FILE *out = fopen (to, "wb");
    char buf [65536];
    while (in && out && (n = fread (buf, 1, sizeof buf, in)) > 0)
        fwrite (buf, 1, n, out);
    if (in)
        fclose (in);
    if (out)
        fclose (out);
    zip_t *z = zip_open (to, 0, NULL);
    if (!z)
        return -1;
    zip_source_t *src = zip_source_buffer (z, data, len, 0);
    zip_int64_t i = zip_name_locate (z, name, 0);
    int rc = src && i >= 0 ? zip_file_replace (z, (zip_uint64_t)i, src, 0) : -1;
    if (rc != 0 && src)
        zip_source_free (src);
    return zip_close (z) == 0 && rc == 0 ? 0 : -1;
}

static const char *s_splices [] = {
    "<c r=\"XFD1048576\" t=\"s\"><v>999999999</v></c>",
    "<c r=\"D5\" t=\"s\"><v>-1</v></c>",
    "<c r=\"A1\" t=\"inlineStr\"><is><t>#gom</t></is></c>",
    "<row r=\"0\"><c r=\"A0\"><v>1</v></c></row>",
    "<row r=\"3\"></row><row r=\"2\"></row>",
    "<c r=\"Z9\"><v>1e308</v></c><c r=\"AA9\"><v>nan</v></c>",
    "<c r=\"D7\" t=\"e\"><v>#DIV/0!</v></c>",
    "<c r=\"\"/><c/><c r=\"1A\"/>",
    "<!DOCTYPE x [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>",
    "<c r=\"D9\" t=\"str\"><f>1/0</f></c>",
};

int
main (int argc, char **argv)
{
    unsigned seed = 1258;
    int iterations = 300;
    int first = 1;
    while (first + 1 < argc && argv [first][0] == '-') {
        if (strcmp (argv [first], "--seed") == 0)
            seed = (unsigned)atoi (argv [first + 1]);
        else if (strcmp (argv [first], "--iterations") == 0)
            iterations = atoi (argv [first + 1]);
        first += 2;
    }
    srand (seed);
    char dir [] = "/tmp/gom-test-xlsx-XXXXXX";
    CHECK (mkdtemp (dir) != NULL);
    char tpl [300], mutant [300];
    snprintf (tpl, sizeof tpl, "%s/t.xlsx", dir);
    snprintf (mutant, sizeof mutant, "%s/m.xlsx", dir);
    int read_ok = 0, refused = 0;
    for (int f = first; f < argc; f++) {
        char err [600];
        gom_form_t *form = gom_form_load (argv [f], err, sizeof err);
        CHECK (form != NULL);
        if (!form)
            continue;
        const char *period =
            gom_form_periods (form) ? gom_form_periods (form) [0]
            : strcmp (gom_form_period_type (form), "year") == 0 ? "2026"
                                                                : "2026-H1";
        CHECK (gom_xlsx_template (form, period, "00412", 3, tpl, err,
                                  sizeof err) == 0);
        gom_xlsx_places_t *places = NULL;
        Gom__Report *r = gom_xlsx_read (tpl, &places, err, sizeof err);
        CHECK (r != NULL);
        if (!r)
            fprintf (stderr, "%s: %s\n", argv [f], err);
        if (r) {
            CHECK (streq (r->form, gom_form_code (form)));
            CHECK (r->form_version == gom_form_version (form));
            CHECK (streq (r->period, period));
            CHECK (streq (r->unit, "00412"));
            CHECK (r->revision == 3);
            CHECK (r->n_cells == 0);
            CHECK (r->n_texts == 0);
        }
        gom_report_free (&r);
        gom_xlsx_places_destroy (&places);

        const char *parts [] = { "xl/worksheets/sheet1.xml",
                                 "xl/sharedStrings.xml" };
        for (size_t p = 0; p < 2; p++) {
            size_t len = 0;
            char *orig = s_entry (tpl, parts [p], &len);
            CHECK (orig != NULL && len > 0);
            if (!orig)
                continue;
            for (int i = 0; i < iterations; i++) {
                size_t cap = len + 512;
                char *m = malloc (cap);
                memcpy (m, orig, len);
                size_t mlen = len;
                int kind = rand () % 4;
                if (kind == 0)  //  flip some bytes
                    for (int k = 0; k < 1 + rand () % 8; k++)
                        m [rand () % mlen] = (char)(rand () & 0xFF);
                else if (kind == 1)  //  cut short
                    mlen = (size_t)rand () % mlen;
                else {  //  splice a hostile piece in after a '>'
                    const char *s =
                        s_splices [rand () %
                                   (sizeof s_splices / sizeof s_splices [0])];
                    size_t at = (size_t)rand () % mlen;
                    while (at < mlen && m [at] != '>')
                        at++;
                    at = at < mlen ? at + 1 : mlen;
                    size_t slen = strlen (s);
                    memmove (m + at + slen, m + at, mlen - at);
                    memcpy (m + at, s, slen);
                    mlen += slen;
                }
                CHECK (s_repack (tpl, mutant, parts [p], m, mlen) == 0);
                err [0] = 0;
                r = gom_xlsx_read (mutant, &places, err, sizeof err);
                if (r)
                    read_ok++;
                else {
                    refused++;
                    CHECK (err [0] != 0);  //  never refused without a word
                }
                gom_report_free (&r);
                gom_xlsx_places_destroy (&places);
                free (m);
            }
            free (orig);
        }
        gom_form_destroy (&form);
    }
    printf ("mutants: %d read, %d refused with a message\n", read_ok, refused);
    unlink (tpl);
    unlink (mutant);
    rmdir (dir);
    CHECK_DONE ();
}
