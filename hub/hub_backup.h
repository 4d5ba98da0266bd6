/*  hub_backup: a copy of a running hub, and putting one back.

    A backup is two sqlite files made with sqlite's online backup API while
    the hub runs: FILE (hub.db: reports, the database id) and FILE-keys
    (keys.db: enrolled keys, dashboard accounts). Both are read in one read
    transaction, so each is a consistent snapshot; in WAL mode a reader
    never blocks the hub's writer. Each copy is written beside its name,
    checked with PRAGMA integrity_check, made durable and renamed into place.

    A restore (the hub stopped) puts FILE back as hub.db with a NEW database
    id: the agents see an id they do not know, and resend every report they
    retain (DESIGN.md rule 11), so what the hub stored after the backup
    comes back; the hub's idempotence (rule 4) makes the resend of what the
    copy already holds harmless. With the copy's own id the agents would
    resend nothing and those reports would be lost. keys.db is kept when it
    is sound (it holds enrollments and revocations made since the backup)
    and taken from FILE-keys only when it is missing or broken. The files
    replaced are kept beside, renamed, never deleted. docs/operations.md
    tells the operator's side. */
#ifndef HUB_BACKUP_H
#define HUB_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char db_id [64];      //  backup: the hub's id; restore: the copy's id
    char new_db_id [64];  //  restore: the id the restored hub.db got
    int64_t reports;      //  reports in the copy
    int64_t agents;       //  enrolled keys in the copy
    int64_t bytes;        //  size of the hub.db copy
    bool keys_restored;   //  restore: keys.db was taken from the backup
    char aside [4096];    //  restore: where the replaced files went
} hub_backup_info_t;

//  Copies the hub's db_path and keys_path to file and file-keys. 0, or -1
//  with err (the reason, naming the file); no partial copy is left.
int hub_backup_make (const char *db_path, const char *keys_path,
                     const char *file, hub_backup_info_t *info, char *err,
                     size_t errlen);

//  Puts the backup file (and file-keys, if keys_path is missing or broken)
//  back in place of db_path with a new database id. Refuses while another
//  program (the hub) has db_path open. 0, or -1 with err; on failure
//  nothing was replaced.
int hub_backup_restore (const char *db_path, const char *keys_path,
                        const char *file, hub_backup_info_t *info, char *err,
                        size_t errlen);

//  gom-hub backup|restore --config DIR/hub.cfg [--json] FILE: argv [0] is
//  the command. Prints the result; returns the exit status (0, 1, 2 for a
//  usage error).
int hub_backup_command (int argc, char **argv);

#endif
