/*  gom_report: see gom_report.h. JSON is parsed by jansson. */
#include "gom_report.h"
#include "gom_util.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
s_cell_cmp (const void *a, const void *b)
{
    return strcmp ((*(Gom__Cell *const *)a)->code,
                   (*(Gom__Cell *const *)b)->code);
}

static int
s_text_cmp (const void *a, const void *b)
{
    return strcmp ((*(Gom__Text *const *)a)->code,
                   (*(Gom__Text *const *)b)->code);
}

static char *
s_json_code (json_t *root, const char *field, char *err, size_t errlen)
{
    json_t *v = json_object_get (root, field);
    if (!v) {
        snprintf (err, errlen, "field \"%s\" is missing", field);
        return NULL;
    }
    if (!json_is_string (v) || !gom_code_valid (json_string_value (v))) {
        snprintf (err, errlen,
                  "field \"%s\" must be a code of 1 to %d letters, digits "
                  "or _ . : -",
                  field, GOM_CODE_MAX);
        return NULL;
    }
    return strdup (json_string_value (v));
}

Gom__Report *
gom_report_from_json (const char *path, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_load_file (path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf (err, errlen, "line %d column %d: %s", jerr.line, jerr.column,
                  jerr.text);
        return NULL;
    }
    Gom__Report *report = calloc (1, sizeof *report);
    gom__report__init (report);
    if (!json_is_object (root)) {
        snprintf (err, errlen, "a report must be a JSON object");
        goto fail;
    }
    const char *key;
    json_t *value;
    json_object_foreach (root, key, value) {
        if (strcmp (key, "unit") && strcmp (key, "form") &&
            strcmp (key, "period") && strcmp (key, "revision") &&
            strcmp (key, "cells") && strcmp (key, "texts") &&
            strcmp (key, "form_version")) {
            snprintf (err, errlen, "unknown field \"%s\"", key);
            goto fail;
        }
    }
    if (!(report->unit = s_json_code (root, "unit", err, errlen)) ||
        !(report->form = s_json_code (root, "form", err, errlen)) ||
        !(report->period = s_json_code (root, "period", err, errlen)))
        goto fail;

    json_t *rev = json_object_get (root, "revision");
    if (!rev) {
        snprintf (err, errlen,
                  "field \"revision\" is missing (1 for a first "
                  "report)");
        goto fail;
    }
    if (!json_is_integer (rev) || json_integer_value (rev) < 1 ||
        json_integer_value (rev) > GOM_REPORT_MAX_REVISION) {
        snprintf (err, errlen,
                  "field \"revision\" must be a whole number "
                  "from 1");
        goto fail;
    }
    report->revision = (uint32_t)json_integer_value (rev);
    json_t *fv = json_object_get (root, "form_version");
    if (fv) {
        if (!json_is_integer (fv) || json_integer_value (fv) < 0 ||
            json_integer_value (fv) > UINT32_MAX) {
            snprintf (err, errlen,
                      "field \"form_version\" must be a whole "
                      "number");
            goto fail;
        }
        report->form_version = (uint32_t)json_integer_value (fv);
    }

    json_t *cells = json_object_get (root, "cells");
    if (cells && !json_is_object (cells)) {
        snprintf (err, errlen,
                  "field \"cells\" must be an object of "
                  "\"CODE\": number");
        goto fail;
    }
    if (cells && json_object_size (cells) > GOM_REPORT_MAX_CELLS) {
        snprintf (err, errlen, "%zu cells: at most %d",
                  json_object_size (cells), GOM_REPORT_MAX_CELLS);
        goto fail;
    }
    if (cells && json_object_size (cells)) {
        report->cells = calloc (json_object_size (cells), sizeof (Gom__Cell *));
        json_object_foreach (cells, key, value) {
            if (!gom_code_valid (key)) {
                snprintf (err, errlen, "cell \"%.80s\": not a valid code", key);
                goto fail;
            }
            if (json_is_null (value))
                continue;  //  not reported, which is not zero
            if (!json_is_integer (value)) {
                snprintf (err, errlen,
                          "cell %s: must be a whole number, or null when not "
                          "reported",
                          key);
                goto fail;
            }
            Gom__Cell *cell = malloc (sizeof *cell);
            gom__cell__init (cell);
            cell->code = strdup (key);
            cell->value = json_integer_value (value);
            report->cells [report->n_cells++] = cell;
        }
        qsort (report->cells, report->n_cells, sizeof (Gom__Cell *),
               s_cell_cmp);
    }

    json_t *texts = json_object_get (root, "texts");
    if (texts && !json_is_object (texts)) {
        snprintf (err, errlen,
                  "field \"texts\" must be an object of "
                  "\"CODE\": \"text\"");
        goto fail;
    }
    if (texts && json_object_size (texts) > GOM_REPORT_MAX_TEXTS) {
        snprintf (err, errlen, "%zu texts: at most %d",
                  json_object_size (texts), GOM_REPORT_MAX_TEXTS);
        goto fail;
    }
    if (texts && json_object_size (texts)) {
        report->texts = calloc (json_object_size (texts), sizeof (Gom__Text *));
        json_object_foreach (texts, key, value) {
            if (!gom_code_valid (key)) {
                snprintf (err, errlen, "text \"%.80s\": not a valid code", key);
                goto fail;
            }
            if (json_is_null (value))
                continue;
            if (!json_is_string (value)) {
                snprintf (err, errlen, "text %s: must be a string", key);
                goto fail;
            }
            Gom__Text *text = malloc (sizeof *text);
            gom__text__init (text);
            text->code = strdup (key);
            text->text =
                strndup (json_string_value (value), json_string_length (value));
            report->texts [report->n_texts++] = text;
        }
        qsort (report->texts, report->n_texts, sizeof (Gom__Text *),
               s_text_cmp);
    }
    json_decref (root);
    if (gom_report_check (report, err, errlen) == 0)
        return report;
    gom_report_free (&report);
    return NULL;
fail:
    json_decref (root);
    gom_report_free (&report);
    return NULL;
}

int
gom_report_id_new (uint8_t *id, int64_t ms)
{
    if (gom_random (id, GOM_ID_BYTES) != 0)
        return -1;
    gom_report_id_set_time (id, ms);
    return 0;
}

void
gom_report_id_set_time (uint8_t *id, int64_t ms)
{
    for (int i = 0; i < 6; i++)
        id [i] = (uint8_t)((uint64_t)ms >> (8 * (5 - i)));
}

void
gom_report_free (Gom__Report **report_p)
{
    if (!report_p || !*report_p)
        return;
    //  Every field was malloc'd, as unpack with the default allocator does.
    gom__report__free_unpacked (*report_p, NULL);
    *report_p = NULL;
}

int
gom_report_check (const Gom__Report *r, char *err, size_t errlen)
{
    if (r->report_id.len != 0 && r->report_id.len != GOM_ID_BYTES) {
        snprintf (err, errlen, "report_id must be %d bytes", GOM_ID_BYTES);
        return -1;
    }
    if (!gom_code_valid (r->unit) || !gom_code_valid (r->form) ||
        !gom_code_valid (r->period)) {
        snprintf (err, errlen,
                  "unit, form and period must be codes of 1 to "
                  "%d letters, digits or _ . : -",
                  GOM_CODE_MAX);
        return -1;
    }
    if (r->revision < 1 || r->revision > GOM_REPORT_MAX_REVISION) {
        snprintf (err, errlen, "revision %u: must be from 1 to %d", r->revision,
                  GOM_REPORT_MAX_REVISION);
        return -1;
    }
    if (r->n_cells > GOM_REPORT_MAX_CELLS ||
        r->n_texts > GOM_REPORT_MAX_TEXTS) {
        snprintf (err, errlen, "%zu cells and %zu texts: at most %d and %d",
                  r->n_cells, r->n_texts, GOM_REPORT_MAX_CELLS,
                  GOM_REPORT_MAX_TEXTS);
        return -1;
    }
    for (size_t i = 0; i < r->n_cells; i++) {
        if (!gom_code_valid (r->cells [i]->code)) {
            snprintf (err, errlen, "cell %zu: code is not valid", i + 1);
            return -1;
        }
        if (r->cells [i]->value > GOM_REPORT_MAX_VALUE ||
            r->cells [i]->value < -GOM_REPORT_MAX_VALUE) {
            snprintf (err, errlen,
                      "cell %s = %" PRId64 ": larger than gom takes (at most "
                      "%lld either way)",
                      r->cells [i]->code, r->cells [i]->value,
                      GOM_REPORT_MAX_VALUE);
            return -1;
        }
        if (i > 0 && strcmp (r->cells [i - 1]->code, r->cells [i]->code) >= 0) {
            snprintf (err, errlen, "cell %s: repeated or out of order",
                      r->cells [i]->code);
            return -1;
        }
    }
    for (size_t i = 0; i < r->n_texts; i++) {
        const Gom__Text *t = r->texts [i];
        if (!gom_code_valid (t->code)) {
            snprintf (err, errlen, "text %zu: code is not valid", i + 1);
            return -1;
        }
        if (i > 0 && strcmp (r->texts [i - 1]->code, t->code) >= 0) {
            snprintf (err, errlen, "text %s: repeated or out of order",
                      t->code);
            return -1;
        }
        size_t len = strlen (t->text);
        if (len > GOM_REPORT_MAX_TEXT_BYTES) {
            snprintf (err, errlen, "text %s: %zu bytes, at most %d", t->code,
                      len, GOM_REPORT_MAX_TEXT_BYTES);
            return -1;
        }
        if (!gom_utf8_valid (t->text, len)) {
            snprintf (err, errlen, "text %s: not valid UTF-8", t->code);
            return -1;
        }
    }
    return 0;
}

uint8_t *
gom_report_content (const Gom__Report *r, size_t *len)
{
    Gom__Report content = GOM__REPORT__INIT;
    content.n_cells = r->n_cells;
    content.cells = r->cells;
    content.n_texts = r->n_texts;
    content.texts = r->texts;
    size_t size = gom__report__get_packed_size (&content);
    uint8_t *buf = malloc (size ? size : 1);
    if (buf)
        *len = gom__report__pack (&content, buf);
    return buf;
}

bool
gom_report_same_content (const uint8_t *packed, size_t len,
                         const Gom__Report *r)
{
    Gom__Report *other = gom__report__unpack (NULL, len, packed);
    if (!other)
        return false;
    size_t a_len = 0, b_len = 0;
    uint8_t *a = gom_report_content (other, &a_len);
    uint8_t *b = gom_report_content (r, &b_len);
    bool same = a && b && a_len == b_len && memcmp (a, b, a_len) == 0;
    free (a);
    free (b);
    gom__report__free_unpacked (other, NULL);
    return same;
}
