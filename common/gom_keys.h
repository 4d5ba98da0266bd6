/*  gom_keys: CURVE keypairs on disk. The public certificate is czmq's ZPL
    format (zcert); the secret file (<cert>_secret) is written by us with
    mode 0600 and O_EXCL, because zcert_save_secret keeps the mode of a file
    that already exists (PITFALLS.md section 4). A secret file that others
    can read is refused. No function here ever prints a secret key. */
#ifndef GOM_KEYS_H
#define GOM_KEYS_H

#include <czmq.h>
#include <stddef.h>

//  Makes a new keypair and writes cert_path and cert_path_secret; fails if
//  either exists. public_z85 gets the public key (41 bytes). 0 or -1.
int gom_keys_create (const char *cert_path, char *public_z85, char *err,
                     size_t errlen);

//  Loads a keypair written by gom_keys_create; checks the secret file's
//  mode. Returns the certificate or NULL with err filled.
zcert_t *gom_keys_load (const char *cert_path, char *err, size_t errlen);

#endif
