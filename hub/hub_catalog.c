/*  hub_catalog: see hub_catalog.h. */
#include "hub_catalog.h"
#include "gom_report.h"
#include "gom_units.h"
#include "gom_util.h"

#include <czmq.h>
#include <dirent.h>

typedef struct {
    gom_form_t *form;
    char *text;  //  the file as read, for agents
    size_t len;
} entry_t;

struct _hub_catalog_t {
    entry_t *forms;
    size_t n_forms;
    gom_units_t *units;  //  NULL: no tree
};

static int
s_name_cmp (const void *a, const void *b)
{
    return strcmp (*(char *const *)a, *(char *const *)b);
}

hub_catalog_t *
hub_catalog_load (const char *forms_dir, const char *units_path, char *err,
                  size_t errlen)
{
    hub_catalog_t *self = calloc (1, sizeof *self);
    assert (self);
    DIR *dir = forms_dir ? opendir (forms_dir) : NULL;
    char **names = NULL;
    size_t n_names = 0;
    struct dirent *e;
    while (dir && (e = readdir (dir))) {
        size_t len = strlen (e->d_name);
        if (e->d_name [0] == '.' || len < 6 ||
            strcmp (e->d_name + len - 5, ".json") != 0)
            continue;
        names = realloc (names, (n_names + 1) * sizeof (char *));
        names [n_names++] = gom_path_join (forms_dir, e->d_name);
    }
    if (dir)
        closedir (dir);
    if (n_names)
        qsort (names, n_names, sizeof (char *), s_name_cmp);
    self->forms = calloc (n_names + 1, sizeof (entry_t));
    int rc = 0;
    for (size_t i = 0; i < n_names && rc == 0; i++) {
        entry_t *en = &self->forms [self->n_forms];
        if (gom_read_file (names [i], 16 * 1048576, &en->text, &en->len) != 0) {
            snprintf (err, errlen, "%s: %s", names [i], strerror (errno));
            rc = -1;
            break;
        }
        en->form = gom_form_parse (en->text, en->len, names [i], err, errlen);
        if (!en->form) {
            free (en->text);
            rc = -1;
            break;
        }
        for (size_t j = 0; j < self->n_forms; j++)
            if (strcmp (gom_form_code (self->forms [j].form),
                        gom_form_code (en->form)) == 0 &&
                gom_form_version (self->forms [j].form) ==
                    gom_form_version (en->form)) {
                snprintf (err, errlen,
                          "%s: form %s version %u is already in another file "
                          "of the pack",
                          names [i], gom_form_code (en->form),
                          gom_form_version (en->form));
                gom_form_destroy (&en->form);
                free (en->text);
                rc = -1;
                break;
            }
        if (rc == 0)
            self->n_forms++;
    }
    for (size_t i = 0; i < n_names; i++)
        free (names [i]);
    free (names);
    if (rc == 0 && units_path && access (units_path, F_OK) == 0) {
        self->units = gom_units_load (units_path, err, errlen);
        if (!self->units)
            rc = -1;
    }
    if (rc != 0)
        hub_catalog_destroy (&self);
    return self;
}

hub_catalog_t *
hub_catalog_open (gom_config_t *cfg, const char *why, char *err, size_t errlen)
{
    char *forms_dir = gom_config_file (cfg, "forms", "forms");
    char *units_path = gom_config_file (cfg, "units", "units.csv");
    hub_catalog_t *self = hub_catalog_load (forms_dir, units_path, err, errlen);
    if (self && why)
        zsys_info ("%s: %zu forms from %s; %zu units from %s", why,
                   hub_catalog_form_count (self), forms_dir,
                   hub_catalog_unit_count (self),
                   hub_catalog_unit_count (self) ? units_path : "(no tree)");
    free (forms_dir);
    free (units_path);
    return self;
}

void
hub_catalog_destroy (hub_catalog_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hub_catalog_t *self = *self_p;
    for (size_t i = 0; i < self->n_forms; i++) {
        gom_form_destroy (&self->forms [i].form);
        free (self->forms [i].text);
    }
    free (self->forms);
    gom_units_destroy (&self->units);
    free (self);
    *self_p = NULL;
}

size_t
hub_catalog_form_count (hub_catalog_t *self)
{
    return self->n_forms;
}

size_t
hub_catalog_unit_count (hub_catalog_t *self)
{
    return self->units ? gom_units_count (self->units) : 0;
}

//  Form code at version (0: newest), or NULL.
static gom_form_t *
s_find (hub_catalog_t *self, const char *code, uint32_t version)
{
    gom_form_t *best = NULL;
    for (size_t i = 0; i < self->n_forms; i++) {
        gom_form_t *f = self->forms [i].form;
        if (strcmp (gom_form_code (f), code) != 0)
            continue;
        if (version ? gom_form_version (f) == version
                    : !best || gom_form_version (f) > gom_form_version (best))
            best = f;
    }
    return best;
}

gom_form_t *
hub_catalog_form (hub_catalog_t *self, const char *code, uint32_t version)
{
    return s_find (self, code, version);
}

gom_form_t *
hub_catalog_form_at (hub_catalog_t *self, size_t i)
{
    return i < self->n_forms ? self->forms [i].form : NULL;
}

gom_units_t *
hub_catalog_units (hub_catalog_t *self)
{
    return self->units;
}

static bool
s_refuse (hub_result_t *res, const char *code, const char *fmt, ...)
{
    res->ack = false;
    res->permanent = true;
    snprintf (res->code, sizeof res->code, "%s", code);
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (res->reason, sizeof res->reason, fmt, ap);
    va_end (ap);
    return false;
}

int
hub_report_limits (gom_config_t *cfg, int64_t *max_cells,
                   int64_t *max_text_bytes, char *err, size_t errlen)
{
    return gom_config_int (cfg, "max_cells_per_report", 5000, 1,
                           GOM_REPORT_MAX_CELLS, max_cells, err, errlen) ||
                   gom_config_int (cfg, "max_text_bytes_per_report", 262144, 1,
                                   64 * 1048576, max_text_bytes, err, errlen)
               ? -1
               : 0;
}

bool
hub_report_too_large (const Gom__Report *r, int64_t max_cells,
                      int64_t max_text_bytes, char *reason, size_t reasonlen)
{
    size_t text_bytes = 0;
    for (size_t i = 0; i < r->n_texts; i++)
        if (r->texts [i]->text)
            text_bytes += strlen (r->texts [i]->text);
    if ((int64_t)r->n_cells > max_cells)
        snprintf (reason, reasonlen,
                  "%zu cells: this hub takes at most %" PRId64
                  " per report (max_cells_per_report)",
                  r->n_cells, max_cells);
    else if ((int64_t)text_bytes > max_text_bytes)
        snprintf (reason, reasonlen,
                  "%zu bytes of text: this hub takes at most %" PRId64
                  " per report (max_text_bytes_per_report)",
                  text_bytes, max_text_bytes);
    else
        return false;
    return true;
}

bool
hub_catalog_validate (void *arg, const Gom__Report *r, hub_result_t *res)
{
    hub_catalog_t *self = arg;
    if (self->units) {
        if (!gom_units_exists (self->units, r->unit))
            return s_refuse (res, "unknown-unit",
                             "unit %s is not in the hub's unit tree", r->unit);
        if (r->sealed_at_ms &&
            !gom_units_active (self->units, r->unit, r->sealed_at_ms))
            return s_refuse (res, "inactive-unit",
                             "unit %s (%s) was not active when this report "
                             "was sealed",
                             r->unit, gom_units_name (self->units, r->unit));
    }
    if (self->n_forms == 0)
        return true;  //  no pack: a relay for any form
    gom_form_t *form = s_find (self, r->form, r->form_version);
    if (!form) {
        if (r->form_version && s_find (self, r->form, 0))
            return s_refuse (res, "form-version",
                             "form %s version %u is not known to this hub "
                             "(newest: %u)",
                             r->form, r->form_version,
                             gom_form_version (s_find (self, r->form, 0)));
        return s_refuse (res, "unknown-form",
                         "form %s is not in the hub's form pack", r->form);
    }
    size_t count = 0;
    char *problems = gom_form_check_report (form, r, &count);
    if (!problems)
        return true;
    //  One line for the reason: the problems joined.
    for (char *p = problems; *p; p++)
        if (*p == '\n' && p [1])
            *p = ';';
    size_t len = strlen (problems);
    if (len && problems [len - 1] == '\n')
        problems [len - 1] = 0;
    s_refuse (res, "invalid", "%zu problem%s against form %s v%u: %s", count,
              count == 1 ? "" : "s", gom_form_code (form),
              gom_form_version (form), problems);
    free (problems);
    return false;
}

size_t
hub_catalog_offer (hub_catalog_t *self, const Gom__Hello *hello,
                   void (*send) (void *, const char *, uint32_t, const char *,
                                 size_t),
                   void *arg)
{
    size_t sent = 0;
    for (size_t i = 0; i < self->n_forms; i++) {
        gom_form_t *f = self->forms [i].form;
        if (s_find (self, gom_form_code (f), 0) != f)
            continue;  //  only the newest version of each form
        bool has = false;
        for (size_t k = 0; k < hello->n_forms; k++)
            has = has ||
                  (strcmp (hello->forms [k]->code, gom_form_code (f)) == 0 &&
                   hello->forms [k]->version == gom_form_version (f));
        if (!has) {
            send (arg, gom_form_code (f), gom_form_version (f),
                  self->forms [i].text, self->forms [i].len);
            sent++;
        }
    }
    return sent;
}
