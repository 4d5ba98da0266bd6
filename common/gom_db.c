/*  gom_db: see gom_db.h. */
#include "gom_db.h"

#include <czmq.h>

sqlite3 *
gom_db_open (const char *path, bool create, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (create)
        flags |= SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2 (path, &db, flags, NULL);
    if (rc != SQLITE_OK) {
        snprintf (err, errlen, "%s: %s", path,
                  db ? sqlite3_errmsg (db) : sqlite3_errstr (rc));
        sqlite3_close (db);
        return NULL;
    }
    sqlite3_busy_timeout (db, 10000);
    sqlite3_extended_result_codes (db, 1);
    char *msg = NULL;
    rc = sqlite3_exec (db,
                       "PRAGMA journal_mode=WAL;"
                       "PRAGMA synchronous=FULL;"
                       "PRAGMA foreign_keys=ON;",
                       NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        //  "disk I/O error" alone does not tell a full disk (no room for
        //  the -shm file) from a broken one: add what the system said.
        int sys = sqlite3_system_errno (db);
        snprintf (err, errlen, "%s: %s%s%s%s", path,
                  msg ? msg : sqlite3_errstr (rc), sys ? " (" : "",
                  sys ? strerror (sys) : "", sys ? ")" : "");
        sqlite3_free (msg);
        sqlite3_close (db);
        return NULL;
    }
    return db;
}

void
gom_db_close (sqlite3 **db_p)
{
    if (!db_p || !*db_p)
        return;
    int rc = sqlite3_close (*db_p);
    if (rc != SQLITE_OK)
        zsys_error ("db: close: %s (statements left open)",
                    sqlite3_errstr (rc));
    *db_p = NULL;
}

int
gom_db_exec (sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec (db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        zsys_error ("db: %s: %s", sqlite3_db_filename (db, "main"),
                    msg ? msg : sqlite3_errstr (rc));
        sqlite3_free (msg);
        return -1;
    }
    return 0;
}

sqlite3_stmt *
gom_db_prepare (sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        zsys_error ("db: prepare: %s: %s", sqlite3_errmsg (db), sql);
        return NULL;
    }
    return stmt;
}

char *
gom_db_meta_get (sqlite3 *db, const char *key)
{
    sqlite3_stmt *stmt =
        gom_db_prepare (db, "SELECT value FROM meta WHERE key=?");
    if (!stmt)
        return NULL;
    char *value = NULL;
    sqlite3_bind_text (stmt, 1, key, -1, SQLITE_TRANSIENT);
    if (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_text (stmt, 0))
        value = strdup ((const char *)sqlite3_column_text (stmt, 0));
    sqlite3_finalize (stmt);
    return value;
}

int64_t
gom_db_meta_int (sqlite3 *db, const char *key)
{
    char *value = gom_db_meta_get (db, key);
    int64_t n = value ? atoll (value) : 0;
    free (value);
    return n;
}

int
gom_db_meta_set (sqlite3 *db, const char *key, const char *value)
{
    sqlite3_stmt *stmt = gom_db_prepare (
        db, "INSERT INTO meta(key, value) VALUES(?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, key, -1, SQLITE_TRANSIENT);
    gom_db_bind_str (stmt, 2, value);
    int rc = sqlite3_step (stmt);
    sqlite3_finalize (stmt);
    if (rc != SQLITE_DONE) {
        zsys_error ("db: meta %s: %s", key, sqlite3_errmsg (db));
        return -1;
    }
    return 0;
}

int
gom_db_bind_str (sqlite3_stmt *stmt, int col, const char *value)
{
    if (!value)
        return sqlite3_bind_null (stmt, col);
    return sqlite3_bind_text (stmt, col, value, -1, SQLITE_TRANSIENT);
}
