/*  fuzz_util: what the libFuzzer targets in tests/fuzz share: a scratch
    file per process for parsers that read a path, the form pack loaded
    once, and the checks the agent and hub run on a report once it is read.

    Scratch files live in $GOM_FUZZ_TMP (run.sh makes one per run), else
    /dev/shm, else $TMPDIR or /tmp, in a folder named after the process, so
    that libFuzzer's -jobs/-fork workers never share one. */
#ifndef GOM_FUZZ_UTIL_H
#define GOM_FUZZ_UTIL_H

#include "gom_form.h"
#include "gom_report.h"
#include "gom_util.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef GOM_FUZZ_SOURCE_DIR
#error "GOM_FUZZ_SOURCE_DIR: the source tree (tests/fuzz/CMakeLists.txt)"
#endif

//  Stops the run with a message: a target whose setup fails must not
//  fuzz nothing quietly.
#define FUZZ_REQUIRE(cond, ...)                                                \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf (stderr, "fuzz: " __VA_ARGS__);                            \
            fprintf (stderr, "\n");                                            \
            abort ();                                                          \
        }                                                                      \
    } while (0)

//  A parser that refuses must say why: an empty error is a bug too.
#define FUZZ_REFUSED_WITH_REASON(err)                                          \
    FUZZ_REQUIRE ((err) [0] != 0, "%s:%d: refused with an empty error",        \
                  __FILE__, __LINE__)

static char s_fuzz_dir [512];

static inline void
s_fuzz_cleanup (void)
{
    DIR *d = opendir (s_fuzz_dir);
    if (!d)
        return;
    struct dirent *e;
    char path [1024];
    while ((e = readdir (d)))
        if (strcmp (e->d_name, ".") && strcmp (e->d_name, "..")) {
            snprintf (path, sizeof path, "%s/%s", s_fuzz_dir, e->d_name);
            unlink (path);
        }
    closedir (d);
    rmdir (s_fuzz_dir);
}

//  The process's scratch folder, made on first use.
static inline const char *
fuzz_dir (void)
{
    if (s_fuzz_dir [0])
        return s_fuzz_dir;
    const char *base = getenv ("GOM_FUZZ_TMP");
    if (!base || access (base, W_OK) != 0)
        base = access ("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv ("TMPDIR");
    if (!base || access (base, W_OK) != 0)
        base = "/tmp";
    snprintf (s_fuzz_dir, sizeof s_fuzz_dir, "%s/gom-fuzz-%ld", base,
              (long)getpid ());
    FUZZ_REQUIRE (mkdir (s_fuzz_dir, 0700) == 0 ||
                      access (s_fuzz_dir, W_OK) == 0,
                  "cannot make %s", s_fuzz_dir);
    atexit (s_fuzz_cleanup);
    return s_fuzz_dir;
}

//  Writes data to the scratch file name (reused by every input) and
//  returns its path.
static inline const char *
fuzz_write (const char *name, const uint8_t *data, size_t size)
{
    static char path [600];
    snprintf (path, sizeof path, "%s/%s", fuzz_dir (), name);
    FILE *f = fopen (path, "wb");
    FUZZ_REQUIRE (f, "cannot write %s", path);
    if (size)
        FUZZ_REQUIRE (fwrite (data, 1, size, f) == size, "short write");
    FUZZ_REQUIRE (fclose (f) == 0, "cannot write %s", path);
    return path;
}

//  The seed form pack (deploy/forms), or $GOM_FUZZ_FORMS: loaded once.
#define FUZZ_FORMS_MAX 64
static gom_form_t *s_fuzz_forms [FUZZ_FORMS_MAX];
static size_t s_fuzz_n_forms;

static inline const char *
fuzz_forms_dir (void)
{
    const char *dir = getenv ("GOM_FUZZ_FORMS");
    return dir ? dir : GOM_FUZZ_SOURCE_DIR "/deploy/forms";
}

static inline void
fuzz_forms_load (void)
{
    if (s_fuzz_n_forms)
        return;
    const char *dir = fuzz_forms_dir ();
    DIR *d = opendir (dir);
    FUZZ_REQUIRE (d, "no form pack in %s", dir);
    struct dirent *e;
    while ((e = readdir (d)) && s_fuzz_n_forms < FUZZ_FORMS_MAX) {
        size_t len = strlen (e->d_name);
        if (len < 6 || strcmp (e->d_name + len - 5, ".json"))
            continue;
        char path [1024], err [1024];
        snprintf (path, sizeof path, "%s/%s", dir, e->d_name);
        gom_form_t *f = gom_form_load (path, err, sizeof err);
        FUZZ_REQUIRE (f, "%s", err);
        s_fuzz_forms [s_fuzz_n_forms++] = f;
    }
    closedir (d);
    FUZZ_REQUIRE (s_fuzz_n_forms, "no form in %s", dir);
}

//  The pack's form code (newest version, or version when not 0), as the
//  agent finds it in its cache; NULL if none.
static inline gom_form_t *
fuzz_form_find (const char *code, uint32_t version)
{
    gom_form_t *best = NULL;
    for (size_t i = 0; i < s_fuzz_n_forms; i++) {
        gom_form_t *f = s_fuzz_forms [i];
        if (strcmp (gom_form_code (f), code))
            continue;
        if (version ? gom_form_version (f) == version
                    : !best || gom_form_version (f) > gom_form_version (best))
            best = f;
    }
    return best;
}

//  A fixed form of the pack, to check any report against.
static inline gom_form_t *
fuzz_form_fixed (void)
{
    gom_form_t *f = fuzz_form_find ("HT-VSTBPN-6T", 0);
    return f ? f : s_fuzz_forms [0];
}

//  Checks a form's problem text against its count, as callers rely on.
static inline void
fuzz_check_problems (gom_form_t *form, const Gom__Report *r)
{
    size_t count = 0;
    char *problems = gom_form_check_report (form, r, &count);
    FUZZ_REQUIRE ((problems == NULL) == (count == 0),
                  "gom_form_check_report: %zu problems but text %s", count,
                  problems ? "given" : "NULL");
    FUZZ_REQUIRE (!problems || problems [0], "empty problem text");
    free (problems);
}

//  What the agent does with a report it has read (agent_outbox_take_file):
//  the receiver's checks, the canonical content, and the form's checks
//  when it has the form; and, for coverage, the fixed form's checks.
static inline void
fuzz_after_read (const Gom__Report *r)
{
    char err [1024] = "";
    if (gom_report_check (r, err, sizeof err) != 0) {
        FUZZ_REFUSED_WITH_REASON (err);
        return;
    }
    size_t len = 0;
    free (gom_report_content (r, &len));
    gom_form_t *form = fuzz_form_find (r->form, r->form_version);
    if (form)
        fuzz_check_problems (form, r);
    if (form != fuzz_form_fixed ())
        fuzz_check_problems (fuzz_form_fixed (), r);
}

#endif
