/*  gom_config: reads a ZPL configuration file (czmq's zconfig) with one
    top-level section ("hub" or "agent"). Values are looked up by key within
    that section; paths resolve relative to the file's folder. Every getter
    that can fail says which file, which key and what is wrong. */
#ifndef GOM_CONFIG_H
#define GOM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _gom_config_t gom_config_t;

//  Loads path and checks it has the section; NULL with err filled on error.
gom_config_t *gom_config_load (const char *path, const char *section, char *err,
                               size_t errlen);
void gom_config_destroy (gom_config_t **self_p);

//  The file's own path and folder.
const char *gom_config_path (gom_config_t *self);
const char *gom_config_dir (gom_config_t *self);

//  Value of key, or dflt when absent. Owned by the config.
const char *gom_config_str (gom_config_t *self, const char *key,
                            const char *dflt);

//  Integer value of key within [min, max]; dflt when absent. 0 on success,
//  -1 with err filled when the value is not such an integer.
int gom_config_int (gom_config_t *self, const char *key, int64_t dflt,
                    int64_t min, int64_t max, int64_t *value, char *err,
                    size_t errlen);

//  Path value of key resolved against the file's folder; caller frees.
char *gom_config_file (gom_config_t *self, const char *key, const char *dflt);

#endif
