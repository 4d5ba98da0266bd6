/*  hub_catalog: what the hub knows about reports before it takes one: the
    form pack (every *.json in the configured folder) and the unit tree
    (a CSV file). Both are loaded whole at start; a broken file stops the
    hub with the file, the place and the fault.

    With an empty pack the hub checks no report against a form (it relays
    any form; a hub that carries the seed forms has them in its pack). With
    a pack, a report for a form it does not hold is refused. */
#ifndef HUB_CATALOG_H
#define HUB_CATALOG_H

#include "gom.pb-c.h"
#include "gom_config.h"
#include "gom_form.h"
#include "hub_store.h"

typedef struct _hub_catalog_t hub_catalog_t;

//  Loads the pack in forms_dir (missing folder: empty pack) and the tree in
//  units_path (NULL or missing file: no tree). NULL with err on a fault.
hub_catalog_t *hub_catalog_load (const char *forms_dir, const char *units_path,
                                 char *err, size_t errlen);
void hub_catalog_destroy (hub_catalog_t **self_p);
//  The pack and tree hub.cfg names (`forms`, default forms/; `units`,
//  default units.csv), loaded as above; with why, logs "WHY: N forms from
//  DIR; M units from FILE".
hub_catalog_t *hub_catalog_open (gom_config_t *cfg, const char *why, char *err,
                                 size_t errlen);

size_t hub_catalog_form_count (hub_catalog_t *self);
//  Form code at version (0: the newest), or NULL. Owned by the catalog.
gom_form_t *hub_catalog_form (hub_catalog_t *self, const char *code,
                              uint32_t version);
//  The i-th form of the pack (every version), or NULL past the end.
gom_form_t *hub_catalog_form_at (hub_catalog_t *self, size_t i);
//  The unit tree, or NULL when there is none. Owned by the catalog.
struct _gom_units_t *hub_catalog_units (hub_catalog_t *self);
size_t hub_catalog_unit_count (hub_catalog_t *self);

//  hub_validate_fn for hub_store_report: the form (and version) is known,
//  the report passes its checks, the unit is in the tree and active when
//  the report was sealed. On a fault fills res as a permanent NACK.
bool hub_catalog_validate (void *self, const Gom__Report *report,
                           hub_result_t *res);

//  The hub's limits on a report's size from hub.cfg (max_cells_per_report,
//  default 5000; max_text_bytes_per_report, default 262144): 0, or -1 with
//  err.
int hub_report_limits (gom_config_t *cfg, int64_t *max_cells,
                       int64_t *max_text_bytes, char *err, size_t errlen);
//  Over those limits: true with the reason for a person.
bool hub_report_too_large (const Gom__Report *r, int64_t max_cells,
                           int64_t max_text_bytes, char *reason,
                           size_t reasonlen);

//  Forms the agent lacks: for each form code, the newest version, unless
//  the agent's hello lists that version. Calls send(arg, code, version,
//  definition, len) for each; returns how many.
size_t hub_catalog_offer (hub_catalog_t *self, const Gom__Hello *hello,
                          void (*send) (void *arg, const char *code,
                                        uint32_t version, const char *text,
                                        size_t len),
                          void *arg);

#endif
