/*  gom_db: opening sqlite databases the way gom's guarantees need them, and
    a few statement helpers. Every connection gets WAL, synchronous=FULL (set
    on each open: it lives in the connection, not the file; PITFALLS.md 6),
    a busy timeout and foreign keys. Errors are logged once, here, with
    sqlite3_errmsg. */
#ifndef GOM_DB_H
#define GOM_DB_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  Opens (creating if create) path and applies gom's pragmas. NULL with err
//  filled on failure.
sqlite3 *gom_db_open (const char *path, bool create, char *err, size_t errlen);

//  Closes db (NULL is fine) and sets the pointer to NULL.
void gom_db_close (sqlite3 **db_p);

//  Runs one or more statements without results; 0 or -1 (logged).
int gom_db_exec (sqlite3 *db, const char *sql);

//  Prepares sql; NULL on failure (logged).
sqlite3_stmt *gom_db_prepare (sqlite3 *db, const char *sql);

//  Value of meta key (a key/value table named "meta"), or NULL; caller
//  frees.
char *gom_db_meta_get (sqlite3 *db, const char *key);

//  Value of meta key as an integer; 0 when missing, empty or not a number.
int64_t gom_db_meta_int (sqlite3 *db, const char *key);

//  Sets meta key; 0 or -1.
int gom_db_meta_set (sqlite3 *db, const char *key, const char *value);

//  sqlite3_bind_text of a C string (NULL binds NULL), transient copy.
int gom_db_bind_str (sqlite3_stmt *stmt, int col, const char *value);

#endif
