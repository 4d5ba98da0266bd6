/*  fuzz_inputs: a bounded, repeatable fuzz run over every parser that reads
    input gom does not control: envelopes off the wire (gom_wire_decode,
    then the hub's gom_report_check), report JSON files
    (gom_report_from_json), form files (gom_form_parse), unit trees
    (gom_units_load) and filled-in CSV reports (gom_csv_read).

    Inputs are valid seeds (the form pack and sample reports given on the
    command line, plus envelopes, a unit tree and CSV templates made here)
    mutated by bit flips, byte changes, truncations, insertions, deletions,
    repeated chunks and tokens that parsers trip on, and some purely random
    buffers. Each input must be accepted or refused with a non-empty error;
    crashes, leaks and undefined behaviour are left to ASan and UBSan (the
    GOM_SANITIZE build). A fixed seed makes a failure replay exactly; a
    failing input is written to the temp folder and its path printed.

      fuzz_inputs [--seed N] [--iterations N] [--seconds N] SEED_FILE...

    This is not libFuzzer (no coverage feedback): it is the cheap, always-on
    half of issue 5's fuzzing, run by ctest on every build. */
#include "check.h"
#include "gom_csv.h"
#include "gom_form.h"
#include "gom_report.h"
#include "gom_units.h"
#include "gom_util.h"
#include "gom_wire.h"

#include <assert.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FUZZ_MAX_INPUT 65536

typedef enum {
    T_WIRE,
    T_REPORT_JSON,
    T_FORM,
    T_UNITS,
    T_CSV,
    T_COUNT
} target_t;

static const char *s_target_name [T_COUNT] = { "wire", "report-json", "form",
                                               "units", "csv" };

typedef struct {
    uint8_t *data;
    size_t len;
} buf_t;

typedef struct {
    buf_t *items;
    size_t n;
} seeds_t;

static uint64_t s_rng;

static uint64_t
s_rand (void)
{
    //  xorshift64*: repeatable from the seed, good enough for mutations.
    s_rng ^= s_rng >> 12;
    s_rng ^= s_rng << 25;
    s_rng ^= s_rng >> 27;
    return s_rng * 2685821657736338717ULL;
}

static size_t
s_below (size_t n)
{
    return n ? (size_t)(s_rand () % n) : 0;
}

static void
s_seed_add (seeds_t *seeds, const void *data, size_t len)
{
    seeds->items = realloc (seeds->items, (seeds->n + 1) * sizeof (buf_t));
    assert (seeds->items);
    buf_t *b = &seeds->items [seeds->n++];
    b->data = malloc (len ? len : 1);
    assert (b->data);
    memcpy (b->data, data, len);
    b->len = len;
}

static void
s_seed_file (seeds_t *seeds, const char *path)
{
    FILE *f = fopen (path, "rb");
    if (!f) {
        fprintf (stderr, "fuzz_inputs: cannot read %s\n", path);
        exit (2);
    }
    uint8_t *data = malloc (FUZZ_MAX_INPUT);
    size_t len = fread (data, 1, FUZZ_MAX_INPUT, f);
    fclose (f);
    s_seed_add (seeds, data, len);
    free (data);
}

static const char *s_tokens [] = { "{",
                                   "}",
                                   "[",
                                   "]",
                                   "\"",
                                   ",",
                                   ":",
                                   "null",
                                   "true",
                                   "-1",
                                   "0",
                                   "1e999",
                                   "1.5",
                                   "\\u0000",
                                   "\\ud800",
                                   "\xff",
                                   "\xc3\x28",
                                   "\xef\xbb\xbf",
                                   "\r\n",
                                   "\n",
                                   ";",
                                   "#",
                                   "#gom",
                                   "#section",
                                   "#text",
                                   "\"\"",
                                   "9223372036854775807",
                                   "-9223372036854775808",
                                   "18446744073709551616",
                                   "1000000000001",
                                   "2026-H1",
                                   "\x80",
                                   "\x08\x01",
                                   "\x62\xff\xff\xff\xff\x0f" };

//  One mutation of b in place; the buffer has room for FUZZ_MAX_INPUT bytes.
static void
s_mutate_once (buf_t *b)
{
    switch (s_below (8)) {
        case 0:  //  flip a bit
            if (b->len)
                b->data [s_below (b->len)] ^= (uint8_t)(1u << s_below (8));
            break;
        case 1:  //  set a byte
            if (b->len)
                b->data [s_below (b->len)] = (uint8_t)s_rand ();
            break;
        case 2:  //  truncate
            b->len = s_below (b->len + 1);
            break;
        case 3: {  //  insert random bytes
            size_t n = 1 + s_below (16);
            if (b->len + n > FUZZ_MAX_INPUT)
                break;
            size_t at = s_below (b->len + 1);
            memmove (b->data + at + n, b->data + at, b->len - at);
            for (size_t i = 0; i < n; i++)
                b->data [at + i] = (uint8_t)s_rand ();
            b->len += n;
            break;
        }
        case 4: {  //  delete a chunk
            if (!b->len)
                break;
            size_t at = s_below (b->len);
            size_t n = 1 + s_below (b->len - at);
            if (n > 64)
                n = 1 + s_below (64);
            memmove (b->data + at, b->data + at + n, b->len - at - n);
            b->len -= n;
            break;
        }
        case 5: {  //  repeat a chunk (many rows, deep nesting)
            if (!b->len)
                break;
            size_t at = s_below (b->len);
            size_t n = 1 + s_below (b->len - at < 256 ? b->len - at : 256);
            size_t times = 1 + s_below (32);
            for (size_t t = 0; t < times && b->len + n <= FUZZ_MAX_INPUT; t++) {
                memmove (b->data + at + n, b->data + at, b->len - at);
                b->len += n;
            }
            break;
        }
        default: {  //  insert a token parsers trip on
            const char *tok =
                s_tokens [s_below (sizeof s_tokens / sizeof s_tokens [0])];
            size_t n = strlen (tok);
            if (b->len + n > FUZZ_MAX_INPUT)
                break;
            size_t at = s_below (b->len + 1);
            memmove (b->data + at + n, b->data + at, b->len - at);
            memcpy (b->data + at, tok, n);
            b->len += n;
            break;
        }
    }
}

//  A new input for a target: mostly a mutated seed, sometimes random bytes.
static void
s_make_input (const seeds_t *seeds, buf_t *out)
{
    if (!seeds->n || s_below (16) == 0) {
        out->len = s_below (512);
        for (size_t i = 0; i < out->len; i++)
            out->data [i] = (uint8_t)s_rand ();
        return;
    }
    const buf_t *seed = &seeds->items [s_below (seeds->n)];
    memcpy (out->data, seed->data, seed->len);
    out->len = seed->len;
    size_t n = 1 + s_below (4);
    for (size_t i = 0; i < n; i++)
        s_mutate_once (out);
}

static char s_dir [] = "/tmp/gom-fuzz-XXXXXX";
static char s_path [T_COUNT][300];

static const char *
s_write (target_t t, const buf_t *in)
{
    FILE *f = fopen (s_path [t], "wb");
    assert (f);
    if (in->len)
        fwrite (in->data, 1, in->len, f);
    fclose (f);
    return s_path [t];
}

static int s_failed_inputs = 0;

//  Keeps a failing input for replay and says where it is.
static void
s_keep (target_t t, const buf_t *in, const char *what)
{
    char path [400];
    snprintf (path, sizeof path, "%s/failed-%s-%d.bin", s_dir,
              s_target_name [t], s_failed_inputs++);
    FILE *f = fopen (path, "wb");
    if (f) {
        fwrite (in->data, 1, in->len, f);
        fclose (f);
    }
    fprintf (stderr, "fuzz_inputs: %s: %s; input kept in %s\n",
             s_target_name [t], what, path);
}

//  Runs one input through one target. True if the outcome is sound:
//  accepted, or refused with a non-empty error.
static bool
s_run (target_t t, const buf_t *in, gom_form_t *form, uint64_t *accepted)
{
    char err [1024];
    err [0] = 0;
    if (t == T_WIRE) {
        gom_wire_msg_t *w =
            gom_wire_decode_keeping (in->data, in->len, 8 * in->len + 65536);
        bool ok = true;
        Gom__Envelope *env = gom_wire_env (w);
        if (gom_wire_status (w) != GOM_WIRE_OK)
            ok = gom_wire_error (w) [0] != 0 && env == NULL;
        else if (!env)
            ok = false;
        else if (env->body_case == GOM__ENVELOPE__BODY_REPORT) {
            //  What the hub does next with a report.
            //  The bytes the hub would store read as the same content.
            size_t blen = 0;
            const uint8_t *bytes = gom_wire_report_bytes (w, &blen);
            if (bytes)
                ok = gom_report_same_content (bytes, blen, env->report);
            if (gom_report_check (env->report, err, sizeof err) == 0) {
                size_t len = 0;
                free (gom_report_content (env->report, &len));
                if (form) {
                    size_t count = 0;
                    free (gom_form_check_report (form, env->report, &count));
                }
                (*accepted)++;
            }
            else
                ok = ok && err [0] != 0;
        }
        else
            (*accepted)++;
        gom_wire_msg_destroy (&w);
        return ok;
    }
    if (t == T_REPORT_JSON || t == T_CSV) {
        const char *path = s_write (t, in);
        Gom__Report *r = t == T_CSV
                             ? gom_csv_read (path, err, sizeof err)
                             : gom_report_from_json (path, err, sizeof err);
        if (!r)
            return err [0] != 0;
        bool ok = true;
        //  The agent checks what it read before queueing it.
        if (gom_report_check (r, err, sizeof err) != 0)
            ok = err [0] != 0;
        else {
            (*accepted)++;
            if (form) {
                size_t count = 0;
                char *problems = gom_form_check_report (form, r, &count);
                ok = (problems == NULL) == (count == 0);
                free (problems);
            }
        }
        gom_report_free (&r);
        return ok;
    }
    if (t == T_FORM) {
        gom_form_t *f = gom_form_parse ((const char *)in->data, in->len, "fuzz",
                                        err, sizeof err);
        if (!f)
            return err [0] != 0;
        (*accepted)++;
        //  A form that loads must be usable: its template and periods.
        const char *const *periods = gom_form_periods (f);
        if (periods && periods [0]) {
            FILE *out = fopen ("/dev/null", "w");
            gom_csv_template (f, periods [0], "U1", 1, out);
            fclose (out);
            gom_form_deadline_ms (f, periods [0]);
        }
        gom_form_destroy (&f);
        return true;
    }
    //  T_UNITS
    gom_units_t *u = gom_units_load (s_write (t, in), err, sizeof err);
    if (!u)
        return err [0] != 0;
    (*accepted)++;
    size_t n = gom_units_count (u);
    for (size_t i = 0; i < n; i++) {
        const char *code = gom_units_code (u, i);
        gom_units_active (u, code, 1767225600000LL);
        gom_units_within (u, code, gom_units_code (u, 0));
    }
    gom_units_destroy (&u);
    return true;
}

//  Seeds made here: envelopes of each kind, a unit tree, and each form's
//  CSV template (empty and filled in).
static void
s_make_seeds (seeds_t *seeds, gom_form_t **forms, size_t n_forms)
{
    Gom__Cell c1 = GOM__CELL__INIT, c2 = GOM__CELL__INIT;
    c1.code = "C01";
    c1.value = 3;
    c2.code = "C02";
    c2.value = -7;
    Gom__Cell *cells [] = { &c1, &c2 };
    Gom__Text t1 = GOM__TEXT__INIT;
    t1.code = "T01";
    t1.text = "Tình hình chung";
    Gom__Text *texts [] = { &t1 };
    uint8_t id [GOM_ID_BYTES] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13 };
    Gom__Report r = GOM__REPORT__INIT;
    r.report_id.data = id;
    r.report_id.len = sizeof id;
    r.unit = "18073";
    r.form = "HT-VSTBPN-6T";
    r.period = "2026-H1";
    r.revision = 1;
    r.sealed_at_ms = 1767225600000LL;
    r.n_cells = 2;
    r.cells = cells;
    r.n_texts = 1;
    r.texts = texts;
    Gom__Hello h = GOM__HELLO__INIT;
    char *units [] = { "18073", "18076" };
    h.agent_version = "0.1.0";
    h.n_units = 2;
    h.units = units;
    Gom__Ack a = GOM__ACK__INIT;
    a.report_id = r.report_id;
    a.receipt = 42;
    Gom__Nack k = GOM__NACK__INIT;
    k.report_id = r.report_id;
    k.kind = GOM__NACK__KIND__PERMANENT;
    k.code = "invalid";
    k.reason = "because";
    Gom__Envelope env [4] = { GOM__ENVELOPE__INIT, GOM__ENVELOPE__INIT,
                              GOM__ENVELOPE__INIT, GOM__ENVELOPE__INIT };
    env [0].body_case = GOM__ENVELOPE__BODY_REPORT;
    env [0].report = &r;
    env [1].body_case = GOM__ENVELOPE__BODY_HELLO;
    env [1].hello = &h;
    env [2].body_case = GOM__ENVELOPE__BODY_ACK;
    env [2].ack = &a;
    env [3].body_case = GOM__ENVELOPE__BODY_NACK;
    env [3].nack = &k;
    for (size_t i = 0; i < 4; i++) {
        size_t len = 0;
        uint8_t *buf = gom_wire_encode (&env [i], &len);
        s_seed_add (&seeds [T_WIRE], buf, len);
        free (buf);
    }
    const char *tree = "\xEF\xBB\xBF"
                       "code,name,parent,level,active_from,inactive_from\r\n"
                       "42,Tỉnh Hà Tĩnh,,province,,\r\n"
                       "436,Thành phố Hà Tĩnh,42,district,,2025-07-01\r\n"
                       "18073,\"Phường Bắc Hà, TP Hà Tĩnh\",436,commune,,\r\n"
                       "18074,Xã mới,42,commune,2025-07-01,\r\n"
                       "LDLD,Liên đoàn Lao động tỉnh,,federation,,\r\n";
    s_seed_add (&seeds [T_UNITS], tree, strlen (tree));
    s_seed_add (&seeds [T_UNITS], "code,name,parent,level\n1,A,,x\n2,B,1,y\n",
                38);
    for (size_t i = 0; i < n_forms; i++) {
        const char *const *periods = gom_form_periods (forms [i]);
        if (!periods || !periods [0])
            continue;
        char *text = NULL;
        size_t len = 0;
        FILE *out = open_memstream (&text, &len);
        gom_csv_template (forms [i], periods [0], "18073", 1, out);
        fclose (out);
        s_seed_add (&seeds [T_CSV], text, len);
        //  The same filled in: a number in every empty box.
        char *filled = malloc (2 * len + 1);
        size_t n = 0;
        for (size_t k = 0; k < len; k++) {
            filled [n++] = text [k];
            if (text [k] == ',' &&
                (k + 1 == len || text [k + 1] == ',' || text [k + 1] == '\n' ||
                 text [k + 1] == '\r'))
                filled [n++] = '7';
        }
        s_seed_add (&seeds [T_CSV], filled, n);
        free (filled);
        free (text);
    }
}

int
main (int argc, char **argv)
{
    static struct option opts [] = { { "seed", required_argument, 0, 's' },
                                     { "iterations", required_argument, 0,
                                       'i' },
                                     { "seconds", required_argument, 0, 't' },
                                     { 0, 0, 0, 0 } };
    uint64_t seed = 20260101;
    long iterations = 20000, seconds = 60;
    int c;
    while ((c = getopt_long (argc, argv, "", opts, NULL)) != -1) {
        if (c == 's')
            seed = strtoull (optarg, NULL, 10);
        else if (c == 'i')
            iterations = atol (optarg);
        else if (c == 't')
            seconds = atol (optarg);
        else
            return 2;
    }
    if (!mkdtemp (s_dir))
        return 2;
    for (int t = 0; t < T_COUNT; t++)
        snprintf (s_path [t], sizeof s_path [t], "%s/input-%s", s_dir,
                  s_target_name [t]);
    s_rng = seed ? seed : 1;

    seeds_t seeds [T_COUNT];
    memset (seeds, 0, sizeof seeds);
    gom_form_t *forms [32];
    size_t n_forms = 0;
    //  Seed files: forms (with "cells"/"sections") or reports ("unit").
    for (int i = optind; i < argc; i++) {
        char err [600];
        gom_form_t *f = gom_form_load (argv [i], err, sizeof err);
        if (f && n_forms < 32) {
            forms [n_forms++] = f;
            s_seed_file (&seeds [T_FORM], argv [i]);
        }
        else {
            gom_form_destroy (&f);
            s_seed_file (&seeds [T_REPORT_JSON], argv [i]);
        }
    }
    s_make_seeds (seeds, forms, n_forms);

    buf_t in = { malloc (FUZZ_MAX_INPUT), 0 };
    assert (in.data);
    uint64_t accepted [T_COUNT] = { 0 }, runs [T_COUNT] = { 0 };
    time_t start = time (NULL);
    long i;
    for (i = 0; i < iterations; i++) {
        if (time (NULL) - start >= seconds)
            break;  //  bounded in time too, whatever the machine
        target_t t = (target_t)(i % T_COUNT);
        s_make_input (&seeds [t], &in);
        gom_form_t *form = n_forms ? forms [s_below (n_forms)] : NULL;
        runs [t]++;
        bool ok = s_run (t, &in, form, &accepted [t]);
        CHECK (ok);
        if (!ok)
            s_keep (t, &in, "refused with an empty error message");
    }
    printf ("fuzz_inputs: seed %" PRIu64 ", %ld inputs in %ld s\n", seed, i,
            (long)(time (NULL) - start));
    for (int t = 0; t < T_COUNT; t++)
        printf ("  %-12s %6" PRIu64 " inputs, %6" PRIu64 " accepted, %zu "
                "seeds\n",
                s_target_name [t], runs [t], accepted [t], seeds [t].n);
    //  Every target must have had seeds and been run.
    for (int t = 0; t < T_COUNT; t++) {
        CHECK (seeds [t].n > 0);
        CHECK (runs [t] > 0);
    }
    free (in.data);
    for (int t = 0; t < T_COUNT; t++) {
        for (size_t k = 0; k < seeds [t].n; k++)
            free (seeds [t].items [k].data);
        free (seeds [t].items);
        unlink (s_path [t]);
    }
    for (size_t k = 0; k < n_forms; k++)
        gom_form_destroy (&forms [k]);
    if (!s_failed_inputs)
        rmdir (s_dir);
    CHECK_DONE ();
}
