/*  hub_users: see hub_users.h. */
#include "hub_users.h"
#include "gom_db.h"
#include "gom_util.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const char *s_schema =
    "CREATE TABLE IF NOT EXISTS users ("
    "  name TEXT PRIMARY KEY, role TEXT NOT NULL, hash TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL)";

//  A hash of a password nobody knows, so that an unknown name costs the
//  same time as a wrong password. Made at the first login (an Argon2id
//  hash takes 64 MiB and a good part of a second here: not at every
//  start of the hub, nor for `gom-hub user list`).
static char s_dummy [crypto_pwhash_STRBYTES];
static pthread_once_t s_dummy_once = PTHREAD_ONCE_INIT;

static void
s_make_dummy (void)
{
    if (crypto_pwhash_str (s_dummy, "gom-no-such-user", 16,
                           crypto_pwhash_OPSLIMIT_INTERACTIVE,
                           crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        s_dummy [0] = 0;
}

int
hub_users_init (void)
{
    return sodium_init () < 0 ? -1 : 0;
}

static sqlite3 *
s_open (const char *keys_path, char *err, size_t errlen)
{
    sqlite3 *db = gom_db_open (keys_path, false, err, errlen);
    if (db && gom_db_exec (db, s_schema) != 0) {
        snprintf (err, errlen, "%s: cannot make the users table: %s", keys_path,
                  sqlite3_errmsg (db));
        gom_db_close (&db);
    }
    return db;
}

static bool
s_name_valid (const char *name)
{
    size_t n = strlen (name);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name [i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

int
hub_users_set (const char *keys_path, const char *name, const char *role,
               const char *password, bool replace, char *err, size_t errlen)
{
    if (!s_name_valid (name)) {
        snprintf (err, errlen,
                  "user name '%s': use 1 to 64 letters, digits, '.', '_' "
                  "or '-'",
                  name);
        return -1;
    }
    if (role && strcmp (role, "admin") != 0 && strcmp (role, "read") != 0) {
        snprintf (err, errlen, "role '%s': use admin or read", role);
        return -1;
    }
    if (!role && !replace) {
        snprintf (err, errlen, "a new user needs --role admin or read");
        return -1;
    }
    size_t plen = strlen (password);
    if (plen < 8 || plen > 1024) {
        snprintf (err, errlen, "the password must have 8 to 1024 characters");
        return -1;
    }
    char hash [crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str (hash, password, plen,
                           crypto_pwhash_OPSLIMIT_INTERACTIVE,
                           crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        snprintf (err, errlen, "cannot hash the password (out of memory)");
        return -1;
    }
    sqlite3 *db = s_open (keys_path, err, errlen);
    if (!db)
        return -1;
    int rc = -1;
    sqlite3_stmt *st =
        replace ? gom_db_prepare (db, "UPDATE users SET hash=?1, "
                                      "role=coalesce(?2, role) WHERE name=?3")
                : gom_db_prepare (db, "INSERT OR IGNORE INTO users (hash, "
                                      "role, name, created_ms) "
                                      "VALUES (?1, ?2, ?3, ?4)");
    if (st) {
        gom_db_bind_str (st, 1, hash);
        gom_db_bind_str (st, 2, role);
        gom_db_bind_str (st, 3, name);
        if (!replace)
            sqlite3_bind_int64 (st, 4, gom_now_ms ());
        if (sqlite3_step (st) != SQLITE_DONE)
            snprintf (err, errlen, "%s: %s", keys_path, sqlite3_errmsg (db));
        else if (sqlite3_changes (db) != 1)
            snprintf (err, errlen,
                      replace ? "no user named '%s'"
                              : "a user named '%s' exists already",
                      name);
        else
            rc = 0;
    }
    else
        snprintf (err, errlen, "%s: %s", keys_path, sqlite3_errmsg (db));
    sqlite3_finalize (st);
    sodium_memzero (hash, sizeof hash);
    gom_db_close (&db);
    return rc;
}

int
hub_users_del (const char *keys_path, const char *name, char *err,
               size_t errlen)
{
    sqlite3 *db = s_open (keys_path, err, errlen);
    if (!db)
        return -1;
    int rc = -1;
    sqlite3_stmt *st = gom_db_prepare (db, "DELETE FROM users WHERE name=?");
    if (st) {
        gom_db_bind_str (st, 1, name);
        if (sqlite3_step (st) != SQLITE_DONE)
            snprintf (err, errlen, "%s: %s", keys_path, sqlite3_errmsg (db));
        else if (sqlite3_changes (db) != 1)
            snprintf (err, errlen, "no user named '%s'", name);
        else
            rc = 0;
    }
    sqlite3_finalize (st);
    gom_db_close (&db);
    return rc;
}

json_t *
hub_users_list (const char *keys_path, char *err, size_t errlen)
{
    sqlite3 *db = s_open (keys_path, err, errlen);
    if (!db)
        return NULL;
    json_t *list = json_array ();
    sqlite3_stmt *st = gom_db_prepare (
        db, "SELECT name, role, created_ms FROM users ORDER BY name");
    while (st && sqlite3_step (st) == SQLITE_ROW) {
        char at [32];
        gom_iso_time (sqlite3_column_int64 (st, 2), at, sizeof at);
        json_array_append_new (
            list, json_pack ("{s:s, s:s, s:s}", "name",
                             (const char *)sqlite3_column_text (st, 0), "role",
                             (const char *)sqlite3_column_text (st, 1),
                             "created_at", at));
    }
    sqlite3_finalize (st);
    gom_db_close (&db);
    return list;
}

bool
hub_users_verify (const char *keys_path, const char *name, const char *password,
                  char *role, size_t rolelen)
{
    pthread_once (&s_dummy_once, s_make_dummy);
    if (!s_dummy [0])
        return false;  //  out of memory for the hash: refuse every login
    char err [256];
    char hash [crypto_pwhash_STRBYTES] = "";
    char found_role [16] = "";
    sqlite3 *db = gom_db_open (keys_path, false, err, sizeof err);
    sqlite3_stmt *st =
        db ? gom_db_prepare (db, "SELECT hash, role FROM users WHERE name=?")
           : NULL;
    if (st) {
        gom_db_bind_str (st, 1, name);
        if (sqlite3_step (st) == SQLITE_ROW) {
            snprintf (hash, sizeof hash, "%s",
                      (const char *)sqlite3_column_text (st, 0));
            snprintf (found_role, sizeof found_role, "%s",
                      (const char *)sqlite3_column_text (st, 1));
        }
    }
    sqlite3_finalize (st);
    gom_db_close (&db);
    bool known = hash [0] != 0;
    bool ok = crypto_pwhash_str_verify (known ? hash : s_dummy, password,
                                        strlen (password)) == 0;
    if (known && ok) {
        snprintf (role, rolelen, "%s", found_role);
        return true;
    }
    return false;
}
