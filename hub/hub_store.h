/*  hub_store: the hub's durable state, in two sqlite files.

    hub.db holds the reports (and their cells and texts) and the database
    id; keys.db holds enrolled agent keys, their units and what they last
    said in hello. They are separate files so that a hub restored from an old
    copy of hub.db (or given a new one) still knows every agent enrolled
    since: the agents then resend what the old copy lacks (DESIGN.md rule
    11).

    Writes happen in batches: hub_store_begin, any number of
    hub_store_report / hub_store_hello, hub_store_commit. Results of a batch
    are final only if commit returns 0; the caller acknowledges nothing
    before that (DESIGN.md rule 3). */
#ifndef HUB_STORE_H
#define HUB_STORE_H

#include "gom.pb-c.h"
#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct _hub_store_t hub_store_t;

typedef struct {
    bool ack;               //  true: ACK; false: NACK
    uint64_t receipt;       //  ACK: receipt number
    int64_t hub_ms;         //  ACK: when it was first stored
    bool duplicate;         //  ACK: stored before this message
    bool permanent;         //  NACK: never retry as is
    char code [24];         //  NACK: machine-readable reason
    char reason [4096];     //  NACK: for a person
    uint32_t use_revision;  //  NACK conflict: next free revision
} hub_result_t;

//  Opens (and, with create, makes) the two databases. NULL with err.
hub_store_t *hub_store_open (const char *db_path, const char *keys_path,
                             bool create, char *err, size_t errlen);
void hub_store_destroy (hub_store_t **self_p);

//  The connection, for readers such as hub_totals (not for writing).
sqlite3 *hub_store_db (hub_store_t *self);

//  The database id (a random 32-hex string made with hub.db).
const char *hub_store_db_id (hub_store_t *self);

//  The unit tree hub_store_report's authorization looks up (owned by the
//  caller, which keeps it alive or sets another first): a key enrolled for
//  a unit may report for every unit under it, as a district office for its
//  communes. NULL (the default): for the units it was enrolled for only.
//  (hub_store_report_prepared uses the chain it was given instead.)
struct _gom_units_t;
void hub_store_set_tree (hub_store_t *self, struct _gom_units_t *tree);

//  True if key is enrolled and not revoked (ZAP's question).
bool hub_store_key_admitted (hub_store_t *self, const char *key);

//  Enrolls key for units (replacing its units), or revokes it. 0 or -1.
int hub_store_enroll (hub_store_t *self, const char *key, char **units,
                      char *err, size_t errlen);
int hub_store_revoke (hub_store_t *self, const char *key, char *err,
                      size_t errlen);

//  Checks a report against its form and the unit tree: true to store it,
//  or false with res filled as a NACK. Its verdict is used only for a report
//  the store has not seen (after the duplicate and conflict lookups), so
//  that a resend of a stored report is always acknowledged.
typedef bool (hub_validate_fn) (void *arg, const Gom__Report *report,
                                hub_result_t *res);

//  Batch writing; see the top of this file. validate may be NULL.
int hub_store_begin (hub_store_t *self);
void hub_store_report (hub_store_t *self, const char *key,
                       const Gom__Report *report, int64_t now_ms,
                       hub_validate_fn *validate, void *validate_arg,
                       hub_result_t *result);
//  What can be known of a report without the database, made before its
//  batch (hub_report_prepare, in any thread: it reads only the report, the
//  unit tree and what validate reads), so that the thread that holds the
//  database does only database work: the report's own checks, its content
//  (the bytes it came as, if given: they unpack to report; else packed
//  canonical), validate's verdict (used only if the report is new: a resend of
//  a stored report is acknowledged even if its form changed since), and the
//  units whose enrollment authorizes it. Valid while the tree lives.
#define HUB_CHAIN_MAX 64  //  units looked at for a key's enrollment

typedef struct {
    hub_result_t *refusal;  //  NULL: valid; else the NACK (heap)
    bool bad;               //  refusal is the report's own check: no lookups
    //  What is stored (not bad): the report's bytes as they came (not
    //  owned), or its canonical content (gom_report_content, owned). Rule 4
    //  compares contents canonically, so either may be stored.
    const uint8_t *content;
    size_t content_len;
    bool content_owned;
    //  The unit, then those above it in the tree; NULL-terminated.
    const char *chain [HUB_CHAIN_MAX + 1];
} hub_prepared_t;

//  bytes (NULL or what report was unpacked from, outliving prep), tree and
//  validate may be NULL. Free with hub_prepared_free.
void hub_report_prepare (hub_prepared_t *prep, const Gom__Report *report,
                         const uint8_t *bytes, size_t bytes_len,
                         struct _gom_units_t *tree, hub_validate_fn *validate,
                         void *validate_arg);
void hub_prepared_free (hub_prepared_t *prep);
//  hub_store_report with the report prepared; the store's tree is not used.
void hub_store_report_prepared (hub_store_t *self, const char *key,
                                const Gom__Report *report, int64_t now_ms,
                                const hub_prepared_t *prep,
                                hub_result_t *result);
//  Records a hello; fills *units (NULL-terminated; free with
//  gom_strv_free) with the key's enrolled units.
void hub_store_hello (hub_store_t *self, const char *key,
                      const Gom__Hello *hello, const char *peer, int64_t now_ms,
                      char ***units);
void hub_store_count_nack (hub_store_t *self);
//  0 when everything since begin is on disk; -1 otherwise (rolled back;
//  the caller must reopen: PITFALLS.md 6, the connection may be in error).
int hub_store_commit (hub_store_t *self);

//  A checkpointer: a thread with its own connection that copies the WAL
//  into the database files (hub.db and keys.db) while the writer goes on
//  (PITFALLS.md 6). NULL if it cannot start (the writer then checkpoints
//  by itself).
typedef struct _hub_ckpt_t hub_ckpt_t;
hub_ckpt_t *hub_ckpt_start (const char *db_path, const char *keys_path);
void hub_ckpt_stop (hub_ckpt_t **self_p);

//  After a commit or when idle. With a checkpointer (ckpt not NULL), under
//  load, asks it for a pass once 2,048 frames are new since the last ask
//  (every commit near the bound) and returns at once; when idle, or once the
//  WAL is past its bound (a WAL restarts only after a checkpoint that
//  copied all of it, which the checkpointer, running beside the commits,
//  does not get to), waits for its pass and runs one here. Without one:
//  a checkpoint here when idle, or under load every 256 batches or 512 new
//  frames. A passive checkpoint never waits for readers.
void hub_store_checkpoint (hub_store_t *self, hub_ckpt_t *ckpt, bool idle);

//  Listings for the command line and, later, the dashboard. New references.
json_t *hub_store_reports_json (hub_store_t *self);
json_t *hub_store_status_json (hub_store_t *self);
json_t *hub_store_agents_json (hub_store_t *self);
//  The cells of a report's stored content (a packed Report: the report as
//  it came, or its cells and texts only) as {"CODE": value}, in the
//  content's order (by code).
json_t *hub_store_cells_json (const void *content, size_t len);

#endif
