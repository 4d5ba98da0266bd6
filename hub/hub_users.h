/*  hub_users: the dashboard's operator accounts, in keys.db (beside the
    agents' keys, so that a hub.db restored from an old copy keeps them).
    Passwords are stored as libsodium crypto_pwhash_str strings (Argon2id,
    "interactive" limits); a password itself is never stored or logged.

    Roles: "admin" (may enroll and revoke agents from the dashboard) and
    "read" (sees everything, changes nothing). */
#ifndef HUB_USERS_H
#define HUB_USERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

//  Initializes libsodium; call once before the others. 0 or -1.
int hub_users_init (void);

//  Adds name (error if it exists) or, with replace, changes an existing
//  account's password (role NULL: keep it). 0, or -1 with err.
int hub_users_set (const char *keys_path, const char *name, const char *role,
                   const char *password, bool replace, char *err,
                   size_t errlen);
//  Deletes name. 0, or -1 with err (no such account).
int hub_users_del (const char *keys_path, const char *name, char *err,
                   size_t errlen);
//  Every account: [{"name","role","created_at"}]. NULL with err.
json_t *hub_users_list (const char *keys_path, char *err, size_t errlen);

//  Checks name and password. Returns true and fills role (at least 8
//  bytes) when they match; false for an unknown name or a wrong password
//  (the same time either way, so the answer does not tell which).
bool hub_users_verify (const char *keys_path, const char *name,
                       const char *password, char *role, size_t rolelen);

#endif
