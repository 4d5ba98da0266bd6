/*  gom_xlsx_places: see gom_xlsx_places.h. */
#include "gom_xlsx_places.h"
#include "gom_util.h"

struct _gom_xlsx_places_t {
    zhashx_t *by_code;  //  cell code -> "Báo cáo!D14"
};

gom_xlsx_places_t *
gom_xlsx_places_new (void)
{
    gom_xlsx_places_t *self = calloc (1, sizeof *self);
    self->by_code = zhashx_new ();
    zhashx_set_destructor (self->by_code, (zhashx_destructor_fn *)zstr_free);
    return self;
}

void
gom_xlsx_places_destroy (gom_xlsx_places_t **self_p)
{
    gom_xlsx_places_t *self = *self_p;
    if (self) {
        zhashx_destroy (&self->by_code);
        free (self);
        *self_p = NULL;
    }
}

zhashx_t *
gom_xlsx_places_map (gom_xlsx_places_t *self)
{
    return self->by_code;
}

char *
gom_xlsx_locate (gom_xlsx_places_t *places, const char *problems)
{
    gom_buf_t out = { 0 };
    const char *p = problems;
    while (*p) {
        const char *eol = strchr (p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen (p);
        //  A problem about a cell starts "ô CODE".
        const char *place = NULL;
        if (len > 4 && !strncmp (p, "ô ", strlen ("ô "))) {
            const char *code = p + strlen ("ô ");
            size_t clen = strcspn (code, " \n");
            char key [2 * GOM_CODE_MAX + 2];
            if (clen < sizeof key) {
                memcpy (key, code, clen);
                key [clen] = 0;
                place = zhashx_lookup (places->by_code, key);
            }
        }
        if (place) {
            gom_buf_add (&out, place, strlen (place));
            gom_buf_add (&out, ": ", 2);
        }
        gom_buf_add (&out, p, len);
        if (eol)
            gom_buf_add (&out, "\n", 1);
        p += len + (eol ? 1 : 0);
    }
    return gom_buf_take (&out);
}
