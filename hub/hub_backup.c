/*  hub_backup: see hub_backup.h.

    Why the copy is shaped this way:
    - sqlite's backup API copies pages through sqlite's own locks, so the
      copy is a committed state, never a torn file (cp of a live WAL
      database is not: the -wal file holds the recent commits).
    - One read transaction on the source for the whole copy: in WAL mode it
      never blocks the hub's writer (only its checkpoints stop at our
      snapshot for a moment), and the copy never restarts, as it would after
      each of the hub's commits if every step took a fresh snapshot.
    - Steps of PAGES_PER_STEP pages with a short sleep between leave the
      disk to the hub's commits (each one an fsync) while we copy.
    - The copy goes to a temporary name beside the target, is checked
      (integrity_check), fsynced, renamed, and the folder fsynced: a crash
      leaves the old backup or the new one, never half of one. */
#include "hub_backup.h"
#include "gom_config.h"
#include "gom_db.h"
#include "gom_util.h"

#include <czmq.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <sqlite3.h>
#include <sys/stat.h>

#define PAGES_PER_STEP 256   //  1 MiB at the default page size
#define STEP_SLEEP_MS  5     //  between steps: the hub's fsyncs go first
#define BUSY_TRIES     2000  //  steps answered BUSY before giving up (~10 s)

static void
s_err (char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (err, errlen, fmt, ap);
    va_end (ap);
}

static char *
s_suffixed (const char *path, const char *suffix)
{
    char *out = malloc (strlen (path) + strlen (suffix) + 1);
    assert (out);
    strcpy (out, path);
    strcat (out, suffix);
    return out;
}

//  A database file and the files sqlite keeps beside it.
static const char *s_sides [] = { "", "-wal", "-shm", "-journal" };
#define N_SIDES (sizeof s_sides / sizeof s_sides [0])

//  Removes path and the files beside it, if there.
static void
s_remove (const char *path)
{
    for (size_t i = 0; i < N_SIDES; i++) {
        char *side = s_suffixed (path, s_sides [i]);
        unlink (side);
        free (side);
    }
}

//  fsync of a file or folder by name; 0 or -1 (errno).
static int
s_fsync_path (const char *path, bool dir)
{
    int fd = open (path, (dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync (fd);
    int saved = errno;
    close (fd);
    errno = saved;
    return rc;
}

//  Runs PRAGMA integrity_check on db: 0 if sqlite says "ok", else -1 with
//  sqlite's first complaint in err.
static int
s_integrity (sqlite3 *db, const char *name, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2 (db, "PRAGMA integrity_check", -1, &st, NULL) !=
        SQLITE_OK) {
        s_err (err, errlen, "%s: %s", name, sqlite3_errmsg (db));
        return -1;
    }
    int rc = sqlite3_step (st);
    const char *first =
        rc == SQLITE_ROW ? (const char *)sqlite3_column_text (st, 0) : NULL;
    bool ok = first && strcmp (first, "ok") == 0;
    if (!ok)
        s_err (err, errlen, "%s: fails integrity_check: %s", name,
               first ? first : sqlite3_errmsg (db));
    sqlite3_finalize (st);
    return ok ? 0 : -1;
}

//  One integer from sql on db, or -1.
static int64_t
s_count (sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2 (db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step (st) == SQLITE_ROW)
        n = sqlite3_column_int64 (st, 0);
    sqlite3_finalize (st);
    return n;
}

//  The value of meta db_id in schema main of db into out ("" if none).
static void
s_db_id (sqlite3 *db, char *out, size_t size)
{
    char *id = gom_db_meta_get (db, "db_id");
    snprintf (out, size, "%s", id ? id : "");
    free (id);
}

//  Copies schema of src into a new file "dest.tmp" with the backup API,
//  sets its journal mode (DELETE: one self-contained file; WAL: what the
//  hub runs with), gives it new_db_id if not NULL, checks it and fsyncs
//  it. Returns the temporary name (the caller renames or removes it), or
//  NULL with err; nothing is left behind on failure.
static char *
s_copy (sqlite3 *src, const char *schema, const char *dest, bool wal,
        const char *new_db_id, mode_t mode, char *err, size_t errlen)
{
    char *tmp = s_suffixed (dest, ".tmp");
    if (unlink (tmp) != 0 && errno != ENOENT) {
        s_err (err, errlen, "cannot write %s: %s", dest, strerror (errno));
        free (tmp);
        return NULL;
    }
    //  Made here, not by sqlite, for a plain reason when the folder is
    //  missing or not writable ("unable to open database file" says little).
    int fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        s_err (err, errlen, "cannot write %s: %s", dest, strerror (errno));
        free (tmp);
        return NULL;
    }
    close (fd);
    sqlite3 *dst = NULL;
    sqlite3_backup *b = NULL;
    bool ok = false;
    if (sqlite3_open_v2 (tmp, &dst, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        s_err (err, errlen, "cannot write %s: %s", dest,
               dst ? sqlite3_errmsg (dst) : "out of memory");
        goto done;
    }
    b = sqlite3_backup_init (dst, "main", src, schema);
    if (!b) {
        s_err (err, errlen, "cannot copy to %s: %s", dest,
               sqlite3_errmsg (dst));
        goto done;
    }
    int rc, busy = 0;
    while ((rc = sqlite3_backup_step (b, PAGES_PER_STEP)) != SQLITE_DONE) {
        if (rc == SQLITE_OK)
            sqlite3_sleep (STEP_SLEEP_MS);
        else if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) &&
                 ++busy < BUSY_TRIES)
            sqlite3_sleep (STEP_SLEEP_MS);
        else
            break;
    }
    rc = sqlite3_backup_finish (b);
    b = NULL;
    if (rc != SQLITE_OK) {
        int sys = sqlite3_system_errno (dst);
        s_err (err, errlen, "cannot copy to %s: %s%s%s%s", dest,
               sqlite3_errmsg (dst), sys ? " (" : "", sys ? strerror (sys) : "",
               sys ? ")" : "");
        goto done;
    }
    if (sqlite3_exec (dst,
                      wal ? "PRAGMA journal_mode=WAL"
                          : "PRAGMA "
                            "journal_mode=DELETE",
                      NULL, NULL, NULL) != SQLITE_OK) {
        s_err (err, errlen, "%s: %s", dest, sqlite3_errmsg (dst));
        goto done;
    }
    if (new_db_id) {
        char now [32];
        gom_iso_time (gom_now_ms (), now, sizeof now);
        char old [64];
        s_db_id (dst, old, sizeof old);
        if (gom_db_meta_set (dst, "restored_from_db_id", old) != 0 ||
            gom_db_meta_set (dst, "restored_at", now) != 0 ||
            gom_db_meta_set (dst, "db_id", new_db_id) != 0) {
            s_err (err, errlen, "%s: cannot set the new database id: %s", dest,
                   sqlite3_errmsg (dst));
            goto done;
        }
    }
    if (s_integrity (dst, dest, err, errlen) != 0)
        goto done;
    ok = true;
done:
    if (dst && sqlite3_close (dst) != SQLITE_OK && ok) {
        s_err (err, errlen, "%s: cannot close the copy", dest);
        ok = false;
    }
    if (ok && s_fsync_path (tmp, false) != 0) {
        s_err (err, errlen, "cannot write %s: %s", dest, strerror (errno));
        ok = false;
    }
    if (!ok) {
        s_remove (tmp);
        free (tmp);
        return NULL;
    }
    return tmp;
}

//  Renames tmp to dest and fsyncs dest's folder. 0 or -1 with err.
static int
s_install (const char *tmp, const char *dest, char *err, size_t errlen)
{
    if (rename (tmp, dest) != 0) {
        s_err (err, errlen, "cannot write %s: %s", dest, strerror (errno));
        return -1;
    }
    char *dir = gom_dirname (dest);
    int rc = s_fsync_path (dir, true);
    if (rc != 0)
        s_err (err, errlen, "%s: fsync: %s", dir, strerror (errno));
    free (dir);
    return rc;
}

int
hub_backup_make (const char *db_path, const char *keys_path, const char *file,
                 hub_backup_info_t *info, char *err, size_t errlen)
{
    assert (db_path && keys_path && file && info);
    memset (info, 0, sizeof *info);
    if (access (db_path, F_OK) != 0) {
        s_err (err, errlen, "%s: no hub database here (run gom-hub init)",
               db_path);
        return -1;
    }
    if (access (keys_path, F_OK) != 0) {
        s_err (err, errlen, "%s: %s", keys_path, strerror (errno));
        return -1;
    }
    char *keys_file = s_suffixed (file, "-keys");
    char *tmp_db = NULL, *tmp_keys = NULL;
    int rc = -1;
    sqlite3 *src = NULL;
    //  Read only: the backup must not change the hub's files (not even the
    //  journal mode, which gom_db_open would set).
    if (sqlite3_open_v2 (db_path, &src, SQLITE_OPEN_READONLY, NULL) !=
        SQLITE_OK) {
        s_err (err, errlen, "%s: %s", db_path,
               src ? sqlite3_errmsg (src) : "out of memory");
        goto done;
    }
    sqlite3_busy_timeout (src, 10000);
    sqlite3_stmt *attach = NULL;
    if (sqlite3_prepare_v2 (src, "ATTACH ? AS keys", -1, &attach, NULL) !=
        SQLITE_OK) {
        s_err (err, errlen, "%s: %s", keys_path, sqlite3_errmsg (src));
        goto done;
    }
    sqlite3_bind_text (attach, 1, keys_path, -1, SQLITE_TRANSIENT);
    int step = sqlite3_step (attach);
    sqlite3_finalize (attach);
    if (step != SQLITE_DONE) {
        s_err (err, errlen, "%s: %s", keys_path, sqlite3_errmsg (src));
        goto done;
    }
    //  The snapshot both copies are taken from: the read transaction starts
    //  on each file at its first read, here.
    if (sqlite3_exec (src, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        s_err (err, errlen, "%s: %s", db_path, sqlite3_errmsg (src));
        goto done;
    }
    info->reports = s_count (src, "SELECT count(*) FROM main.reports");
    info->agents = s_count (src, "SELECT count(*) FROM keys.agents");
    if (info->reports < 0 || info->agents < 0) {
        s_err (err, errlen, "%s: not a gom hub database: %s", db_path,
               sqlite3_errmsg (src));
        goto done;
    }
    s_db_id (src, info->db_id, sizeof info->db_id);
    tmp_db = s_copy (src, "main", file, false, NULL, 0640, err, errlen);
    if (!tmp_db)
        goto done;
    //  keys.db holds the dashboard's password hashes: owner only.
    tmp_keys = s_copy (src, "keys", keys_file, false, NULL, 0600, err, errlen);
    if (!tmp_keys)
        goto done;
    sqlite3_exec (src, "COMMIT", NULL, NULL, NULL);
    if (s_install (tmp_db, file, err, errlen) != 0 ||
        s_install (tmp_keys, keys_file, err, errlen) != 0)
        goto done;
    struct stat st;
    info->bytes = stat (file, &st) == 0 ? (int64_t)st.st_size : 0;
    rc = 0;
done:
    if (rc != 0) {
        if (tmp_db)
            unlink (tmp_db);
        if (tmp_keys)
            unlink (tmp_keys);
    }
    free (tmp_db);
    free (tmp_keys);
    free (keys_file);
    sqlite3_close (src);
    return rc;
}

//  0 if path can be opened as a sound gom database holding table (checked
//  in full), else -1 with err.
static int
s_check_file (const char *path, const char *table, char *err, size_t errlen)
{
    if (access (path, F_OK) != 0) {
        s_err (err, errlen, "%s: %s", path, strerror (errno));
        return -1;
    }
    sqlite3 *db = NULL;
    int rc = -1;
    //  Read-write (falling back to read-only on read-only media) so that a
    //  WAL file can be read; nothing here writes.
    if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        s_err (err, errlen, "%s: %s", path,
               db ? sqlite3_errmsg (db) : "out of memory");
    else if (s_integrity (db, path, err, errlen) == 0) {
        char sql [128];
        snprintf (sql, sizeof sql, "SELECT count(*) FROM %s", table);
        if (s_count (db, sql) < 0)
            s_err (err, errlen, "%s: not a gom hub backup (no table %s)", path,
                   table);
        else
            rc = 0;
    }
    sqlite3_close (db);
    return rc;
}

//  -1 if another connection (the hub) has path open, else 0. Takes, then
//  drops, an exclusive lock: a WAL database open anywhere else holds a
//  shared lock on the file for as long as it is open.
static int
s_not_in_use (const char *path, char *err, size_t errlen)
{
    if (access (path, F_OK) != 0)
        return 0;
    sqlite3 *db = NULL;
    int rc = 0;
    if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
        sqlite3_exec (db, "PRAGMA locking_mode=EXCLUSIVE", NULL, NULL, NULL);
        int r = sqlite3_exec (db, "BEGIN EXCLUSIVE", NULL, NULL, NULL);
        if ((r & 0xff) == SQLITE_BUSY || (r & 0xff) == SQLITE_LOCKED) {
            s_err (err, errlen,
                   "%s is in use: stop the hub first (systemctl stop "
                   "gom-hub)",
                   path);
            rc = -1;
        }
        else if (r == SQLITE_OK)
            sqlite3_exec (db, "COMMIT", NULL, NULL, NULL);
        //  Any other error: a broken file, which the restore sets aside.
    }
    sqlite3_close (db);
    return rc;
}

//  Renames path (and its -wal, -shm) to path.before-restore-STAMP; appends
//  the new name to info->aside. 0 or -1 with err.
static int
s_set_aside (const char *path, const char *stamp, hub_backup_info_t *info,
             char *err, size_t errlen)
{
    for (size_t i = 0; i < N_SIDES; i++) {
        char *from = s_suffixed (path, s_sides [i]);
        char to [4096];
        snprintf (to, sizeof to, "%s.before-restore-%s%s", path, stamp,
                  s_sides [i]);
        int rc = 0;
        if (access (from, F_OK) == 0) {
            rc = rename (from, to);
            if (rc != 0)
                s_err (err, errlen, "cannot move %s aside: %s", from,
                       strerror (errno));
            else if (i == 0)
                snprintf (info->aside + strlen (info->aside),
                          sizeof info->aside - strlen (info->aside), "%s%s",
                          info->aside [0] ? " " : "", to);
        }
        free (from);
        if (rc != 0)
            return -1;
    }
    return 0;
}

int
hub_backup_restore (const char *db_path, const char *keys_path,
                    const char *file, hub_backup_info_t *info, char *err,
                    size_t errlen)
{
    assert (db_path && keys_path && file && info);
    memset (info, 0, sizeof *info);
    char *keys_file = s_suffixed (file, "-keys");
    char *tmp_db = NULL, *tmp_keys = NULL;
    sqlite3 *src = NULL;
    int rc = -1;
    if (s_check_file (file, "reports", err, errlen) != 0)
        goto done;
    if (s_not_in_use (db_path, err, errlen) != 0 ||
        s_not_in_use (keys_path, err, errlen) != 0)
        goto done;
    //  keys.db is kept when sound: it knows the enrollments and, above all,
    //  the revocations made since the backup.
    char why [512];
    info->keys_restored =
        s_check_file (keys_path, "agents", why, sizeof why) != 0;
    if (info->keys_restored &&
        s_check_file (keys_file, "agents", err, errlen) != 0)
        goto done;

    uint8_t raw [16];
    gom_random (raw, sizeof raw);
    gom_hex (raw, sizeof raw, info->new_db_id);
    if (sqlite3_open_v2 (file, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        s_err (err, errlen, "%s: %s", file, sqlite3_errmsg (src));
        goto done;
    }
    s_db_id (src, info->db_id, sizeof info->db_id);
    info->reports = s_count (src, "SELECT count(*) FROM reports");
    tmp_db =
        s_copy (src, "main", db_path, true, info->new_db_id, 0640, err, errlen);
    sqlite3_close (src);
    src = NULL;
    if (!tmp_db)
        goto done;
    if (info->keys_restored) {
        if (sqlite3_open_v2 (keys_file, &src, SQLITE_OPEN_READONLY, NULL) !=
            SQLITE_OK) {
            s_err (err, errlen, "%s: %s", keys_file, sqlite3_errmsg (src));
            goto done;
        }
        tmp_keys =
            s_copy (src, "main", keys_path, true, NULL, 0640, err, errlen);
        if (!tmp_keys)
            goto done;
    }
    //  Everything new is ready and checked: now, and only now, replace.
    char stamp [32];
    time_t now = time (NULL);
    strftime (stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", gmtime (&now));
    if (s_set_aside (db_path, stamp, info, err, errlen) != 0)
        goto done;
    if (tmp_keys && s_set_aside (keys_path, stamp, info, err, errlen) != 0)
        goto done;
    if (s_install (tmp_db, db_path, err, errlen) != 0)
        goto done;
    if (tmp_keys && s_install (tmp_keys, keys_path, err, errlen) != 0)
        goto done;
    rc = 0;
done:
    if (rc != 0) {
        if (tmp_db)
            unlink (tmp_db);
        if (tmp_keys)
            unlink (tmp_keys);
    }
    sqlite3_close (src);
    free (tmp_db);
    free (tmp_keys);
    free (keys_file);
    return rc;
}

//  "gom-hub: " and the message on standard error; returns 1 (exit status).
#define s_fail(...) gom_fail ("gom-hub", __VA_ARGS__)

int
hub_backup_command (int argc, char **argv)
{
    static struct option opts [] = { { "config", required_argument, 0, 'c' },
                                     { "json", no_argument, 0, 'j' },
                                     { 0, 0, 0, 0 } };
    const char *cmd = argv [0];
    bool restore = strcmp (cmd, "restore") == 0;
    const char *config = NULL;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long (argc, argv, "", opts, NULL)) != -1) {
        if (c == 'c')
            config = optarg;
        else if (c == 'j')
            json = true;
        else
            return 2;
    }
    if (!config || optind != argc - 1) {
        fprintf (stderr,
                 "usage: gom-hub %s --config DIR/hub.cfg [--json] "
                 "FILE\n",
                 cmd);
        return 2;
    }
    const char *file = argv [optind];
    char err [4096 + 512];
    gom_config_t *cfg = gom_config_load (config, "hub", err, sizeof err);
    if (!cfg)
        return s_fail ("%s", err);
    char *db = gom_config_file (cfg, "database", "hub.db");
    char *keys = gom_config_file (cfg, "keys", "keys.db");
    gom_config_destroy (&cfg);
    hub_backup_info_t info;
    int rc = restore
                 ? hub_backup_restore (db, keys, file, &info, err, sizeof err)
                 : hub_backup_make (db, keys, file, &info, err, sizeof err);
    if (rc != 0) {
        free (db);
        free (keys);
        return s_fail ("%s: %s", cmd, err);
    }
    char *keys_file = s_suffixed (file, "-keys");
    if (json) {
        json_t *o = json_pack ("{s:s, s:s, s:s, s:I}", "file", file,
                               "keys_file", keys_file, "db_id", info.db_id,
                               "reports", (json_int_t)info.reports);
        if (restore) {
            json_object_set_new (o, "new_db_id", json_string (info.new_db_id));
            json_object_set_new (o, "keys_restored",
                                 json_boolean (info.keys_restored));
            json_object_set_new (o, "set_aside", json_string (info.aside));
        }
        else {
            json_object_set_new (o, "agents", json_integer (info.agents));
            json_object_set_new (o, "bytes", json_integer (info.bytes));
            json_object_set_new (o, "integrity", json_string ("ok"));
        }
        json_dumpf (o, stdout, JSON_INDENT (2));
        printf ("\n");
        json_decref (o);
    }
    else if (restore) {
        printf ("restored: %s from %s (%" PRId64 " reports)\n", db, file,
                info.reports);
        printf ("database id: %s (the backup's was %s): agents resend what "
                "they hold\n",
                info.new_db_id, info.db_id);
        if (info.keys_restored)
            printf ("restored: %s from %s: enrollments and revocations made "
                    "since the backup are lost; make them again\n",
                    keys, keys_file);
        else
            printf ("kept: %s (sound; it holds the enrollments since the "
                    "backup)\n",
                    keys);
        printf ("set aside: %s\n", info.aside);
    }
    else {
        printf ("backup: %s: %" PRId64 " reports, database id %s, %" PRId64
                " bytes, integrity ok\n",
                file, info.reports, info.db_id, info.bytes);
        printf ("backup: %s: %" PRId64 " enrolled keys, integrity ok\n",
                keys_file, info.agents);
    }
    free (keys_file);
    free (db);
    free (keys);
    return 0;
}
