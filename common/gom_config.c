/*  gom_config: see gom_config.h. zconfig parses the file; this module only
    resolves keys inside the one section and checks numbers. */
#include "gom_config.h"
#include "gom_util.h"

#include <czmq.h>
#include <errno.h>

struct _gom_config_t {
    zconfig_t *root;     //  the whole parsed file
    zconfig_t *section;  //  the top-level section we read
    char *path;          //  file path as given
    char *dir;           //  its folder, for relative paths
};

gom_config_t *
gom_config_load (const char *path, const char *section, char *err,
                 size_t errlen)
{
    if (access (path, R_OK) != 0) {
        snprintf (err, errlen, "%s: %s", path, strerror (errno));
        return NULL;
    }
    //  Not zconfig_load: it leaks its file handle when the text does not
    //  parse (czmq 4.2.1; found by tests/fuzz/fuzz_config).
    zchunk_t *chunk = zchunk_slurp (path, 0);
    zconfig_t *root = chunk ? zconfig_chunk_load (chunk) : NULL;
    zchunk_destroy (&chunk);
    if (!root) {
        snprintf (err, errlen,
                  "%s: not a valid config file (ZPL syntax error; see the "
                  "line reported above)",
                  path);
        return NULL;
    }
    zconfig_t *sect = zconfig_locate (root, section);
    if (!sect) {
        snprintf (err, errlen, "%s: no '%s' section", path, section);
        zconfig_destroy (&root);
        return NULL;
    }
    gom_config_t *self = calloc (1, sizeof *self);
    assert (self);
    self->root = root;
    self->section = sect;
    self->path = strdup (path);
    self->dir = gom_dirname (path);
    return self;
}

void
gom_config_destroy (gom_config_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gom_config_t *self = *self_p;
    zconfig_destroy (&self->root);
    free (self->path);
    free (self->dir);
    free (self);
    *self_p = NULL;
}

const char *
gom_config_path (gom_config_t *self)
{
    return self->path;
}

const char *
gom_config_dir (gom_config_t *self)
{
    return self->dir;
}

const char *
gom_config_str (gom_config_t *self, const char *key, const char *dflt)
{
    zconfig_t *item = zconfig_locate (self->section, key);
    if (!item || !zconfig_value (item))
        return dflt;
    return zconfig_value (item);
}

int
gom_config_int (gom_config_t *self, const char *key, int64_t dflt, int64_t min,
                int64_t max, int64_t *value, char *err, size_t errlen)
{
    const char *text = gom_config_str (self, key, NULL);
    if (!text || !*text) {
        *value = dflt;
        return 0;
    }
    char *end;
    errno = 0;
    long long v = strtoll (text, &end, 10);
    if (errno || *end || v < min || v > max) {
        snprintf (err, errlen,
                  "%s: %s = \"%s\": want a whole number from %lld to %lld",
                  self->path, key, text, (long long)min, (long long)max);
        return -1;
    }
    *value = v;
    return 0;
}

char *
gom_config_file (gom_config_t *self, const char *key, const char *dflt)
{
    const char *name = gom_config_str (self, key, dflt);
    return name ? gom_path_join (self->dir, name) : NULL;
}
