/*  gom_fault_io: see gom_fault.h. A VFS shim over sqlite's default VFS:
    each file it opens is the default VFS's file behind a forwarding
    sqlite3_io_methods, whose xWrite and xSync count calls and fail the
    chosen one. All the other methods (the WAL's shared memory among them)
    are passed through unchanged. */
#include "gom_fault.h"

#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    sqlite3_file base;
    sqlite3_file *real;  //  the default VFS's file, right after this struct
    bool wal;            //  a write-ahead log
} shim_file_t;

static sqlite3_vfs *s_real_vfs;
static sqlite3_vfs s_vfs;
static bool s_on_write;  //  write:N or tear:N (else sync:N)
static bool s_tear;      //  tear:N: half the write, then SIGKILL
static long s_nth;
static atomic_bool s_armed;
static atomic_long s_count;

//  Counts a write (or a sync) of a WAL (or of another file): true for the
//  Nth of the kind chosen. tear:N counts writes to WALs only: a kill in a
//  transaction's write (the checkpointer's writes to the database files
//  are not counted).
static bool
s_fails (bool on_write, bool wal)
{
    if (!atomic_load (&s_armed) || on_write != s_on_write || (s_tear && !wal))
        return false;
    long n = atomic_fetch_add (&s_count, 1) + 1;
    if (n != s_nth)
        return false;
    char line [160];
    int len = snprintf (line, sizeof line, "GOM_FAULT_IO: %s #%ld %s\n",
                        on_write ? "write" : "sync", n,
                        s_tear ? "is torn" : "fails with an I/O error");
    if (len > 0 && write (STDERR_FILENO, line, (size_t)len) < 0)
        len = 0;
    return true;
}

#define REAL(f) (((shim_file_t *)(f))->real)

static int
s_close (sqlite3_file *f)
{
    return REAL (f)->pMethods->xClose (REAL (f));
}
static int
s_read (sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
    return REAL (f)->pMethods->xRead (REAL (f), buf, amt, off);
}
static int
s_write (sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
    if (s_fails (true, ((shim_file_t *)f)->wal)) {
        if (!s_tear)
            return SQLITE_IOERR_WRITE;
        //  A crash in the middle of a write: half of it reaches the file
        //  (the page cache; a power cut could keep any part), then the
        //  process dies as from kill -9.
        REAL (f)->pMethods->xWrite (REAL (f), buf, amt / 2, off);
        gom_fault_die ("write torn in half");
    }
    return REAL (f)->pMethods->xWrite (REAL (f), buf, amt, off);
}
static int
s_truncate (sqlite3_file *f, sqlite3_int64 size)
{
    return REAL (f)->pMethods->xTruncate (REAL (f), size);
}
static int
s_sync (sqlite3_file *f, int flags)
{
    if (s_fails (false, ((shim_file_t *)f)->wal))
        return SQLITE_IOERR_FSYNC;
    return REAL (f)->pMethods->xSync (REAL (f), flags);
}
static int
s_file_size (sqlite3_file *f, sqlite3_int64 *size)
{
    return REAL (f)->pMethods->xFileSize (REAL (f), size);
}
static int
s_lock (sqlite3_file *f, int level)
{
    return REAL (f)->pMethods->xLock (REAL (f), level);
}
static int
s_unlock (sqlite3_file *f, int level)
{
    return REAL (f)->pMethods->xUnlock (REAL (f), level);
}
static int
s_check_lock (sqlite3_file *f, int *out)
{
    return REAL (f)->pMethods->xCheckReservedLock (REAL (f), out);
}
static int
s_control (sqlite3_file *f, int op, void *arg)
{
    return REAL (f)->pMethods->xFileControl (REAL (f), op, arg);
}
static int
s_sector (sqlite3_file *f)
{
    return REAL (f)->pMethods->xSectorSize (REAL (f));
}
static int
s_device (sqlite3_file *f)
{
    return REAL (f)->pMethods->xDeviceCharacteristics (REAL (f));
}
static int
s_shm_map (sqlite3_file *f, int page, int size, int extend, void volatile **p)
{
    return REAL (f)->pMethods->xShmMap (REAL (f), page, size, extend, p);
}
static int
s_shm_lock (sqlite3_file *f, int offset, int n, int flags)
{
    return REAL (f)->pMethods->xShmLock (REAL (f), offset, n, flags);
}
static void
s_shm_barrier (sqlite3_file *f)
{
    REAL (f)->pMethods->xShmBarrier (REAL (f));
}
static int
s_shm_unmap (sqlite3_file *f, int del)
{
    return REAL (f)->pMethods->xShmUnmap (REAL (f), del);
}
static int
s_fetch (sqlite3_file *f, sqlite3_int64 off, int amt, void **p)
{
    return REAL (f)->pMethods->xFetch (REAL (f), off, amt, p);
}
static int
s_unfetch (sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return REAL (f)->pMethods->xUnfetch (REAL (f), off, p);
}

static const sqlite3_io_methods s_methods = {
    3,           s_close,   s_read,     s_write,       s_truncate,  s_sync,
    s_file_size, s_lock,    s_unlock,   s_check_lock,  s_control,   s_sector,
    s_device,    s_shm_map, s_shm_lock, s_shm_barrier, s_shm_unmap, s_fetch,
    s_unfetch,
};

static int
s_open (sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
        int *out_flags)
{
    (void)vfs;
    shim_file_t *sf = (shim_file_t *)f;
    sf->real = (sqlite3_file *)(sf + 1);
    sf->wal = (flags & SQLITE_OPEN_WAL) != 0;
    int rc = s_real_vfs->xOpen (s_real_vfs, name, sf->real, flags, out_flags);
    //  The real file's methods decide what we can forward: without them
    //  (a failed open) sqlite must not call ours either.
    sf->base.pMethods =
        rc == SQLITE_OK && sf->real->pMethods ? &s_methods : NULL;
    return rc;
}

int
gom_fault_io_install (void)
{
    const char *spec = getenv ("GOM_FAULT_IO");
    if (!spec || !*spec)
        return 0;
    char *end = NULL;
    if (strncmp (spec, "write:", 6) == 0)
        s_on_write = true;
    else if (strncmp (spec, "tear:", 5) == 0)
        s_on_write = s_tear = true;
    else if (strncmp (spec, "sync:", 5) != 0) {
        fprintf (stderr, "GOM_FAULT_IO=%s: want write:N, tear:N or sync:N\n",
                 spec);
        return -1;
    }
    s_nth = strtol (strchr (spec, ':') + 1, &end, 10);
    if (*end || s_nth < 1) {
        fprintf (stderr, "GOM_FAULT_IO=%s: want write:N, tear:N or sync:N\n",
                 spec);
        return -1;
    }
    s_real_vfs = sqlite3_vfs_find (NULL);
    if (!s_real_vfs)
        return -1;
    s_vfs = *s_real_vfs;
    s_vfs.zName = "gom-fault-io";
    s_vfs.szOsFile = (int)sizeof (shim_file_t) + s_real_vfs->szOsFile;
    s_vfs.xOpen = s_open;
    s_vfs.pAppData = NULL;
    return sqlite3_vfs_register (&s_vfs, 1) == SQLITE_OK ? 0 : -1;
}

void
gom_fault_io_arm (void)
{
    atomic_store (&s_armed, true);
}
