/*  hub_store: see hub_store.h.

    Idempotence (DESIGN.md rule 4) is decided inside the batch transaction,
    so two copies of one report in the same batch, or a copy arriving after
    a crash that happened between COMMIT and ACK, find the first copy and
    get its receipt. A COMMIT that fails may still be on disk after a crash
    (PITFALLS.md 6); the same lookups make the resend safe. */
#include "hub_store.h"
#include "gom_db.h"
#include "gom_report.h"
#include "gom_units.h"
#include "gom_util.h"

#include <czmq.h>
#include <pthread.h>

struct _hub_store_t {
    sqlite3 *db;           //  hub.db, with keys.db attached as "keys"
    char *db_id;           //  meta db_id
    bool in_batch;         //  between begin and commit
    bool failed;           //  a write failed inside this batch
    int64_t pending_dups;  //  counters to add at commit
    int64_t pending_nacks;
    int64_t pending_reports;
    int64_t writes_since_ckpt;  //  batches since the last checkpoint
    int wal_frames;             //  frames in main's WAL (the WAL hook)
    int ckpt_frames;            //  of which the last checkpoint copied
    int asked_frames;           //  wal_frames when the checkpointer was asked
    sqlite3_stmt *by_id;        //  find a report by report_id
    sqlite3_stmt *by_key;       //  find a report by natural key
    sqlite3_stmt *max_rev;      //  highest revision of (unit, form, period)
    sqlite3_stmt *insert;       //  new report
    sqlite3_stmt *insert_text;
    sqlite3_stmt *authorized;  //  key enrolled for unit, not revoked
    gom_units_t *tree;         //  for enrollments of a subtree (or NULL)
    sqlite3_stmt *admitted;    //  key enrolled, not revoked
    //  Enrollments (key, unit) the authorized query found, not revoked: a
    //  fact of keys.db alone, forgotten whenever keys.db changes (its
    //  data_version, read in each batch's write transaction; or an enroll
    //  or revoke through this connection).
    zhashx_t *enrolled;
    sqlite3_stmt *keys_version;
    int64_t keys_version_seen;
};

static const char *s_schema =
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS reports ("
    "  receipt INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  report_id BLOB NOT NULL UNIQUE,"
    "  unit TEXT NOT NULL, form TEXT NOT NULL, period TEXT NOT NULL,"
    "  revision INTEGER NOT NULL, form_version INTEGER NOT NULL DEFAULT 0,"
    "  content BLOB NOT NULL, agent_key TEXT NOT NULL,"
    "  sealed_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL,"
    "  UNIQUE (unit, form, period, revision));"
    "CREATE TABLE IF NOT EXISTS cells ("
    "  receipt INTEGER NOT NULL REFERENCES reports(receipt),"
    "  code TEXT NOT NULL, value INTEGER NOT NULL,"
    "  PRIMARY KEY (receipt, code)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS texts ("
    "  receipt INTEGER NOT NULL REFERENCES reports(receipt),"
    "  code TEXT NOT NULL, text TEXT NOT NULL,"
    "  PRIMARY KEY (receipt, code)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS rejections ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  report_id BLOB, agent_key TEXT NOT NULL,"
    "  unit TEXT, form TEXT, period TEXT, revision INTEGER,"
    "  code TEXT NOT NULL, reason TEXT NOT NULL, at_ms INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS rejections_key "
    "  ON rejections (form, period, unit);"
    "CREATE UNIQUE INDEX IF NOT EXISTS rejections_once "
    "  ON rejections (report_id, code);"
    "CREATE TABLE IF NOT EXISTS counters ("
    "  name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS keys.agents ("
    "  key TEXT PRIMARY KEY, enrolled_ms INTEGER NOT NULL,"
    "  revoked_ms INTEGER, last_seen_ms INTEGER, agent_version TEXT,"
    "  queue_depth INTEGER, oldest_queued_age_s INTEGER,"
    "  clock_skew_ms INTEGER, peer TEXT);"
    "CREATE TABLE IF NOT EXISTS keys.agent_units ("
    "  key TEXT NOT NULL, unit TEXT NOT NULL,"
    "  PRIMARY KEY (key, unit)) WITHOUT ROWID;";

//  Under load, a checkpoint once the WAL holds this many frames (4 KiB
//  pages) that the last one did not copy: a checkpoint stops the hub's
//  loop while it copies, so small and often keeps every ACK waiting only
//  a little (every 256 batches of a few reports each, one had to copy
//  5,000 reports at once: 113 ms; docs/performance.md).
#define STORE_CKPT_FRAMES 512

//  With a checkpointer, the writer's own checkpoint comes only once the WAL
//  holds this many frames (128 MiB; the file keeps that size): the
//  checkpointer has copied nearly all of them, so it is short, and the next
//  commit starts the WAL again. At half the hub's maximum rate (13,000
//  reports/s on the 2-core VM), p99 submit-to-ACK was 48 to 51 ms with
//  this bound, 47 to 151 with 16,384 frames, 83 to 234 with 4,096 or 8,192,
//  and 136 to 141 with 65,536 (a long WAL slows every page lookup).
#define STORE_WAL_BOUND 32768

//  With a checkpointer, it is asked for a pass once the WAL holds this many
//  frames (8 MiB) more than at the last ask, and after every commit in the
//  last stretch before STORE_WAL_BOUND, so that the writer's own checkpoint
//  there finds little left to copy. After every commit instead, small
//  batches (a hub at half its maximum rate) had their hot pages (index
//  leaves, the table's last page) copied and fsync'd into hub.db again and
//  again: at 14,000 reports/s the checkpointer took 2.8 to 3.7 s of CPU
//  in 20 s, 1.7 to 2.1 s with this (docs/performance.md).
#define STORE_CKPT_ASK 2048

static int
s_prepare_all (hub_store_t *self)
{
    sqlite3 *db = self->db;
    self->by_id = gom_db_prepare (
        db, "SELECT receipt, unit, form, period, revision, content, "
            "received_ms FROM reports WHERE report_id=?");
    self->by_key = gom_db_prepare (
        db, "SELECT receipt, content, received_ms FROM reports "
            "WHERE unit=? AND form=? AND period=? AND revision=?");
    self->max_rev = gom_db_prepare (db, "SELECT max(revision) FROM reports "
                                        "WHERE unit=? AND form=? AND period=?");
    self->insert = gom_db_prepare (
        db, "INSERT INTO reports (report_id, unit, form, period, revision, "
            "form_version, content, agent_key, sealed_ms, received_ms) "
            "VALUES (?,?,?,?,?,?,?,?,?,?)");
    self->insert_text = gom_db_prepare (
        db, "INSERT INTO texts (receipt, code, text) VALUES (?,?,?)");
    self->authorized = gom_db_prepare (
        db, "SELECT 1 FROM keys.agent_units u JOIN keys.agents a "
            "ON a.key=u.key WHERE u.key=? AND u.unit=? "
            "AND a.revoked_ms IS NULL");
    self->admitted = gom_db_prepare (
        db, "SELECT 1 FROM keys.agents WHERE key=? AND revoked_ms IS NULL");
    self->keys_version = gom_db_prepare (db, "PRAGMA keys.data_version");
    return (self->by_id && self->by_key && self->max_rev && self->insert &&
            self->insert_text && self->authorized && self->admitted &&
            self->keys_version)
               ? 0
               : -1;
}

//  True if both files already hold gom's schema (a read, no lock taken).
static bool
s_schema_ready (hub_store_t *self)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2 (
            self->db,
            "SELECT (SELECT count(*) FROM main.sqlite_master WHERE "
            "name IN ('meta', 'reports', 'cells', 'texts', 'counters', "
            "'rejections'))"
            " + (SELECT count(*) FROM keys.sqlite_master WHERE "
            "name IN ('agents', 'agent_units'))",
            -1, &st, NULL) != SQLITE_OK)
        return false;
    bool ready =
        sqlite3_step (st) == SQLITE_ROW && sqlite3_column_int (st, 0) == 8;
    sqlite3_finalize (st);
    return ready;
}

//  Called by sqlite after each commit with the frames now in the WAL; never
//  checkpoints by itself (hub_store_checkpoint does).
static int
s_wal_hook (void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)db;
    hub_store_t *self = arg;
    if (strcmp (name, "main") == 0)
        self->wal_frames = frames;
    return SQLITE_OK;
}

hub_store_t *
hub_store_open (const char *db_path, const char *keys_path, bool create,
                char *err, size_t errlen)
{
    if (!create && access (db_path, F_OK) != 0) {
        snprintf (err, errlen, "%s: no hub database here (run gom-hub init)",
                  db_path);
        return NULL;
    }
    hub_store_t *self = calloc (1, sizeof *self);
    assert (self);
    self->enrolled = zhashx_new ();
    assert (self->enrolled);
    self->db = gom_db_open (db_path, true, err, errlen);
    if (!self->db)
        goto fail;
    //  The hub's writer checkpoints by itself when idle, so that no COMMIT
    //  pays for a checkpoint (PITFALLS.md 6).
    gom_db_exec (self->db, "PRAGMA wal_autocheckpoint=0");
    sqlite3_stmt *attach = gom_db_prepare (self->db, "ATTACH ? AS keys");
    if (!attach)
        goto fail;
    sqlite3_bind_text (attach, 1, keys_path, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step (attach);
    sqlite3_finalize (attach);
    if (rc != SQLITE_DONE) {
        snprintf (err, errlen, "%s: %s", keys_path, sqlite3_errmsg (self->db));
        goto fail;
    }
    //  An existing hub needs no write here, so that the command line can
    //  read while the hub is busy writing; only a new file gets the schema.
    if (s_schema_ready (self)) {
        self->db_id = gom_db_meta_get (self->db, "db_id");
        if (self->db_id)
            goto prepare;
    }
    if (gom_db_exec (self->db, "PRAGMA keys.journal_mode=WAL;"
                               "PRAGMA keys.synchronous=FULL;"
                               "PRAGMA keys.wal_autocheckpoint=0;") != 0 ||
        gom_db_exec (self->db, "BEGIN IMMEDIATE") != 0) {
        snprintf (err, errlen, "%s: cannot write: %s", db_path,
                  sqlite3_errmsg (self->db));
        goto fail;
    }
    if (gom_db_exec (self->db, s_schema) != 0) {
        snprintf (err, errlen, "%s: cannot make the schema: %s", db_path,
                  sqlite3_errmsg (self->db));
        gom_db_exec (self->db, "ROLLBACK");
        goto fail;
    }
    self->db_id = gom_db_meta_get (self->db, "db_id");
    if (!self->db_id) {
        uint8_t raw [16];
        char hex [33];
        gom_random (raw, sizeof raw);
        gom_hex (raw, sizeof raw, hex);
        char now [32];
        gom_iso_time (gom_now_ms (), now, sizeof now);
        if (gom_db_meta_set (self->db, "db_id", hex) != 0 ||
            gom_db_meta_set (self->db, "created_at", now) != 0) {
            snprintf (err, errlen, "%s: cannot write", db_path);
            gom_db_exec (self->db, "ROLLBACK");
            goto fail;
        }
        self->db_id = strdup (hex);
    }
    if (gom_db_exec (self->db, "COMMIT") != 0) {
        snprintf (err, errlen, "%s: cannot commit: %s", db_path,
                  sqlite3_errmsg (self->db));
        goto fail;
    }
prepare:
    gom_db_exec (self->db, "PRAGMA keys.synchronous=FULL;"
                           "PRAGMA keys.wal_autocheckpoint=0;");
    if (s_prepare_all (self) != 0) {
        snprintf (err, errlen, "%s: %s", db_path, sqlite3_errmsg (self->db));
        goto fail;
    }
    //  After the last wal_autocheckpoint pragma, which would replace it.
    sqlite3_wal_hook (self->db, s_wal_hook, self);
    return self;
fail:
    hub_store_destroy (&self);
    return NULL;
}

void
hub_store_destroy (hub_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hub_store_t *self = *self_p;
    if (self->in_batch)
        gom_db_exec (self->db, "ROLLBACK");
    sqlite3_finalize (self->by_id);
    sqlite3_finalize (self->by_key);
    sqlite3_finalize (self->max_rev);
    sqlite3_finalize (self->insert);
    sqlite3_finalize (self->insert_text);
    sqlite3_finalize (self->authorized);
    sqlite3_finalize (self->admitted);
    sqlite3_finalize (self->keys_version);
    zhashx_destroy (&self->enrolled);
    gom_db_close (&self->db);
    free (self->db_id);
    free (self);
    *self_p = NULL;
}

sqlite3 *
hub_store_db (hub_store_t *self)
{
    return self->db;
}

const char *
hub_store_db_id (hub_store_t *self)
{
    return self->db_id;
}

void
hub_store_set_tree (hub_store_t *self, gom_units_t *tree)
{
    self->tree = tree;
}

bool
hub_store_key_admitted (hub_store_t *self, const char *key)
{
    sqlite3_reset (self->admitted);
    sqlite3_bind_text (self->admitted, 1, key, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step (self->admitted);
    sqlite3_reset (self->admitted);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        zsys_error ("store: key lookup: %s", sqlite3_errmsg (self->db));
    return rc == SQLITE_ROW;  //  any error denies: ZAP fails closed
}

int
hub_store_enroll (hub_store_t *self, const char *key, char **units, char *err,
                  size_t errlen)
{
    zhashx_purge (self->enrolled);
    if (gom_db_exec (self->db, "BEGIN IMMEDIATE") != 0) {
        snprintf (err, errlen, "cannot write: %s", sqlite3_errmsg (self->db));
        return -1;
    }
    sqlite3_stmt *up = gom_db_prepare (
        self->db, "INSERT INTO keys.agents (key, enrolled_ms) VALUES (?, ?) "
                  "ON CONFLICT(key) DO UPDATE SET revoked_ms=NULL, "
                  "enrolled_ms=excluded.enrolled_ms");
    sqlite3_stmt *del =
        gom_db_prepare (self->db, "DELETE FROM keys.agent_units WHERE key=?");
    sqlite3_stmt *add = gom_db_prepare (
        self->db, "INSERT OR IGNORE INTO keys.agent_units (key, unit) "
                  "VALUES (?, ?)");
    int rc = (up && del && add) ? 0 : -1;
    if (rc == 0) {
        sqlite3_bind_text (up, 1, key, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64 (up, 2, gom_now_ms ());
        sqlite3_bind_text (del, 1, key, -1, SQLITE_TRANSIENT);
        if (sqlite3_step (up) != SQLITE_DONE ||
            sqlite3_step (del) != SQLITE_DONE)
            rc = -1;
    }
    for (char **u = units; rc == 0 && *u; u++) {
        sqlite3_reset (add);
        sqlite3_bind_text (add, 1, key, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (add, 2, *u, -1, SQLITE_TRANSIENT);
        if (sqlite3_step (add) != SQLITE_DONE)
            rc = -1;
    }
    if (rc != 0)
        snprintf (err, errlen, "cannot enroll: %s", sqlite3_errmsg (self->db));
    sqlite3_finalize (up);
    sqlite3_finalize (del);
    sqlite3_finalize (add);
    if (rc == 0 && gom_db_exec (self->db, "COMMIT") != 0) {
        snprintf (err, errlen, "cannot commit: %s", sqlite3_errmsg (self->db));
        rc = -1;
    }
    if (rc != 0)
        gom_db_exec (self->db, "ROLLBACK");
    return rc;
}

int
hub_store_revoke (hub_store_t *self, const char *key, char *err, size_t errlen)
{
    zhashx_purge (self->enrolled);
    sqlite3_stmt *st = gom_db_prepare (
        self->db, "UPDATE keys.agents SET revoked_ms=? WHERE key=? "
                  "AND revoked_ms IS NULL");
    if (!st) {
        snprintf (err, errlen, "%s", sqlite3_errmsg (self->db));
        return -1;
    }
    sqlite3_bind_int64 (st, 1, gom_now_ms ());
    sqlite3_bind_text (st, 2, key, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step (st);
    sqlite3_finalize (st);
    if (rc != SQLITE_DONE) {
        snprintf (err, errlen, "cannot revoke: %s", sqlite3_errmsg (self->db));
        return -1;
    }
    if (sqlite3_changes (self->db) == 0) {
        snprintf (err, errlen, "key %s is not enrolled (or already revoked)",
                  key);
        return -1;
    }
    return 0;
}

int
hub_store_begin (hub_store_t *self)
{
    assert (!self->in_batch);
    if (gom_db_exec (self->db, "BEGIN IMMEDIATE") != 0)
        return -1;
    //  The transaction holds keys.db too (IMMEDIATE takes every attached
    //  file): what it says of enrollments now holds until the commit.
    sqlite3_reset (self->keys_version);
    int64_t version = sqlite3_step (self->keys_version) == SQLITE_ROW
                          ? sqlite3_column_int64 (self->keys_version, 0)
                          : -1;
    sqlite3_reset (self->keys_version);
    if (version < 0 || version != self->keys_version_seen ||
        zhashx_size (self->enrolled) > 100000)
        zhashx_purge (self->enrolled);
    self->keys_version_seen = version;
    self->in_batch = true;
    self->failed = false;
    self->pending_dups = self->pending_nacks = self->pending_reports = 0;
    return 0;
}

static void
s_nack (hub_result_t *res, bool permanent, const char *code, const char *reason)
{
    res->ack = false;
    res->permanent = permanent;
    snprintf (res->code, sizeof res->code, "%s", code);
    snprintf (res->reason, sizeof res->reason, "%s", reason);
}

static void
s_storage_failed (hub_store_t *self, hub_result_t *res, const char *what)
{
    zsys_error ("store: %s: %s", what, sqlite3_errmsg (self->db));
    self->failed = true;
    s_nack (res, false, "storage",
            "the hub could not store the report; it "
            "will be taken when resent");
}

void
hub_store_count_nack (hub_store_t *self)
{
    self->pending_nacks++;
}

void
hub_report_prepare (hub_prepared_t *p, const Gom__Report *r,
                    const uint8_t *bytes, size_t bytes_len, gom_units_t *tree,
                    hub_validate_fn *validate, void *validate_arg)
{
    memset (p, 0, sizeof *p);
    hub_result_t verdict;  //  4 KiB: not cleared whole for every report
    verdict.ack = verdict.duplicate = verdict.permanent = false;
    verdict.receipt = 0;
    verdict.hub_ms = 0;
    verdict.use_revision = 0;
    verdict.code [0] = verdict.reason [0] = 0;
    char err [200];
    if (r->report_id.len != GOM_ID_BYTES ||
        gom_report_check (r, err, sizeof err)) {
        s_nack (&verdict, true, "invalid",
                r->report_id.len != GOM_ID_BYTES ? "report_id must be 16 bytes"
                                                 : err);
        p->bad = true;
    }
    else {
        if (bytes && bytes_len) {
            p->content = bytes;
            p->content_len = bytes_len;
        }
        else {
            p->content = gom_report_content (r, &p->content_len);
            assert (p->content);
            p->content_owned = true;
        }
        //  A unit not in the tree (or no tree): the unit alone.
        if (!tree || !gom_units_chain (tree, r->unit, p->chain, HUB_CHAIN_MAX))
            p->chain [0] = r->unit;
        if (!validate || validate (validate_arg, r, &verdict))
            return;
    }
    p->refusal = malloc (sizeof *p->refusal);
    assert (p->refusal);
    *p->refusal = verdict;
}

void
hub_prepared_free (hub_prepared_t *p)
{
    free (p->refusal);
    if (p->content_owned)
        free ((void *)p->content);
    memset (p, 0, sizeof *p);
}

//  "key unit", a key of the enrolled cache (a Z85 key has no space), or
//  NULL if either is longer than a key or a code: not cached then.
static const char *
s_pair (char *pair, const char *key, const char *unit)
{
    size_t k = strlen (key), u = strlen (unit);
    if (k > GOM_KEY_Z85 || u > GOM_CODE_MAX)
        return NULL;
    memcpy (pair, key, k);
    pair [k] = ' ';
    memcpy (pair + k + 1, unit, u + 1);
    return pair;
}

//  Stores a new report and its texts: SQLITE_DONE when res is its answer
//  (stored, or the batch failed), or the insert's error (a unique key
//  taken: SQLITE_CONSTRAINT_UNIQUE), res untouched.
static int
s_insert (hub_store_t *self, const char *key, const Gom__Report *r,
          const hub_prepared_t *prep, int64_t now_ms, hub_result_t *res)
{
    sqlite3_stmt *st = self->insert;
    sqlite3_reset (st);
    sqlite3_bind_blob (st, 1, r->report_id.data, (int)r->report_id.len,
                       SQLITE_STATIC);
    sqlite3_bind_text (st, 2, r->unit, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 3, r->form, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 4, r->period, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 5, r->revision);
    sqlite3_bind_int64 (st, 6, r->form_version);
    sqlite3_bind_blob (st, 7, prep->content, (int)prep->content_len,
                       SQLITE_STATIC);
    sqlite3_bind_text (st, 8, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 9, r->sealed_at_ms);
    sqlite3_bind_int64 (st, 10, now_ms);
    int rc = sqlite3_step (st);
    sqlite3_reset (st);
    if (rc != SQLITE_DONE)
        return rc;
    int64_t receipt = sqlite3_last_insert_rowid (self->db);
    //  Cells are not written a row each: the report's content holds them
    //  all (it is what totals read); rows cost most of the hub's time per
    //  report (docs/performance.md). The cells table stays, empty for new
    //  reports, for databases made before.
    for (size_t i = 0; i < r->n_texts; i++) {
        st = self->insert_text;
        sqlite3_reset (st);
        sqlite3_bind_int64 (st, 1, receipt);
        sqlite3_bind_text (st, 2, r->texts [i]->code, -1, SQLITE_STATIC);
        sqlite3_bind_text (st, 3, r->texts [i]->text, -1, SQLITE_STATIC);
        rc = sqlite3_step (st);
        sqlite3_reset (st);
        if (rc != SQLITE_DONE) {
            s_storage_failed (self, res, "insert text");
            return SQLITE_DONE;  //  answered
        }
    }
    res->ack = true;
    res->receipt = (uint64_t)receipt;
    res->hub_ms = now_ms;
    self->pending_reports++;
    return SQLITE_DONE;
}

//  Whether a stored report's content (the bytes it came as, or its
//  canonical content, as databases before 2026-12 hold) is r's: the same
//  bytes, or else the same once both are packed canonically (cells and
//  texts only, sorted: rule 4 does not look at report_id or sealed time).
//  The packing is the writer's, but only for a clash or a resend whose
//  bytes differ (another agent's, or one stored before 2026-12).
static bool
s_same_content (const void *stored, size_t stored_len, const Gom__Report *r,
                const hub_prepared_t *prep)
{
    return (stored_len == prep->content_len &&
            (stored_len == 0 ||
             memcmp (stored, prep->content, stored_len) == 0)) ||
           gom_report_same_content (stored, stored_len, r);
}

static void
s_report (hub_store_t *self, const char *key, const Gom__Report *r,
          int64_t now_ms, const hub_prepared_t *prep, hub_result_t *res)
{
    assert (self->in_batch);
    memset (res, 0, sizeof *res);
    if (self->failed) {
        s_storage_failed (self, res, "batch already failed");
        return;
    }
    if (prep->bad) {
        *res = *prep->refusal;
        self->pending_nacks++;
        return;
    }
    //  Authorization comes from the key the connection authenticated, never
    //  from the message (DESIGN.md, wire contract): enrolled for the unit,
    //  or for a unit above it in the tree.
    //  (Every value is bound SQLITE_STATIC: it outlives the step, and the
    //  statement is reset and bound again before each use.)
    char pair [GOM_KEY_Z85 + GOM_CODE_MAX + 2];
    int rc = SQLITE_DONE;
    for (size_t i = 0; prep->chain [i] && rc == SQLITE_DONE; i++) {
        const char *cached = s_pair (pair, key, prep->chain [i]);
        if (cached && zhashx_lookup (self->enrolled, cached))
            rc = SQLITE_ROW;
    }
    sqlite3_stmt *st = self->authorized;
    for (size_t i = 0; prep->chain [i] && rc == SQLITE_DONE; i++) {
        sqlite3_reset (st);
        sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_text (st, 2, prep->chain [i], -1, SQLITE_STATIC);
        rc = sqlite3_step (st);
        sqlite3_reset (st);
        const char *cached = s_pair (pair, key, prep->chain [i]);
        if (rc == SQLITE_ROW && cached)
            zhashx_insert (self->enrolled, cached, (void *)1);
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        s_storage_failed (self, res, "authorization lookup");
        return;
    }
    if (rc == SQLITE_DONE) {
        //  A key revoked while its agent is connected: what it sends waits
        //  at the agent (a transient NACK), so that re-enrolling the key
        //  (a revocation by mistake, a key moved) lets it all through
        //  without a person resubmitting anything.
        //  (A lookup that fails counts as revoked: transient, so safe.)
        if (!hub_store_key_admitted (self, key)) {
            s_nack (res, false, "revoked",
                    "this agent's key is revoked at the hub (gom-hub "
                    "revoke): the report stays queued at the agent and is "
                    "sent when the key is enrolled again");
            self->pending_nacks++;
            char fp [16];
            gom_key_fingerprint (key, fp, sizeof fp);
            zsys_warning ("store: report for unit %s from revoked key %s "
                          "held back (transient NACK)",
                          r->unit, fp);
            return;
        }
    }
    if (rc != SQLITE_ROW) {
        char reason [200];
        snprintf (reason, sizeof reason,
                  "this agent's key is not enrolled for unit %s", r->unit);
        s_nack (res, true, "unauthorized", reason);
        self->pending_nacks++;
        char fp [16];
        gom_key_fingerprint (key, fp, sizeof fp);
        zsys_warning ("store: refused report for unit %s from key %s (not "
                      "enrolled for it)",
                      r->unit, fp);
        return;
    }
    //  A new report, the common case, is stored at once: the insert fails
    //  on either of its unique keys (report_id, the natural key) if it is
    //  taken, and only then are the lookups of rule 4 made. A report its
    //  form refuses is looked up first: a resend of a stored one is
    //  acknowledged all the same, whatever its form says now.
    if (!prep->refusal) {
        rc = s_insert (self, key, r, prep, now_ms, res);
        if (rc == SQLITE_DONE)
            return;
        if (rc != SQLITE_CONSTRAINT_UNIQUE) {
            s_storage_failed (self, res, "insert");
            return;
        }
    }

    //  Rule 4, first half: the same report_id again.
    st = self->by_id;
    sqlite3_reset (st);
    sqlite3_bind_blob (st, 1, r->report_id.data, (int)r->report_id.len,
                       SQLITE_STATIC);
    rc = sqlite3_step (st);
    if (rc == SQLITE_ROW) {
        bool same =
            strcmp ((const char *)sqlite3_column_text (st, 1), r->unit) == 0 &&
            strcmp ((const char *)sqlite3_column_text (st, 2), r->form) == 0 &&
            strcmp ((const char *)sqlite3_column_text (st, 3), r->period) ==
                0 &&
            (uint32_t)sqlite3_column_int64 (st, 4) == r->revision &&
            s_same_content (sqlite3_column_blob (st, 5),
                            (size_t)sqlite3_column_bytes (st, 5), r, prep);
        if (same) {
            res->ack = true;
            res->duplicate = true;
            res->receipt = (uint64_t)sqlite3_column_int64 (st, 0);
            res->hub_ms = sqlite3_column_int64 (st, 6);
            self->pending_dups++;
        }
        else {
            s_nack (res, true, "id-reused",
                    "this report_id was already used for other content");
            self->pending_nacks++;
        }
        sqlite3_reset (st);
        return;
    }
    sqlite3_reset (st);
    if (rc != SQLITE_DONE) {
        s_storage_failed (self, res, "report_id lookup");
        return;
    }
    //  Rule 4, second half: the same natural key.
    st = self->by_key;
    sqlite3_reset (st);
    sqlite3_bind_text (st, 1, r->unit, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 2, r->form, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 3, r->period, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 4, r->revision);
    rc = sqlite3_step (st);
    if (rc == SQLITE_ROW) {
        bool same =
            s_same_content (sqlite3_column_blob (st, 1),
                            (size_t)sqlite3_column_bytes (st, 1), r, prep);
        if (same) {
            res->ack = true;
            res->duplicate = true;
            res->receipt = (uint64_t)sqlite3_column_int64 (st, 0);
            res->hub_ms = sqlite3_column_int64 (st, 2);
            self->pending_dups++;
            sqlite3_reset (st);
            return;
        }
        sqlite3_reset (st);
        sqlite3_stmt *mx = self->max_rev;
        sqlite3_reset (mx);
        sqlite3_bind_text (mx, 1, r->unit, -1, SQLITE_STATIC);
        sqlite3_bind_text (mx, 2, r->form, -1, SQLITE_STATIC);
        sqlite3_bind_text (mx, 3, r->period, -1, SQLITE_STATIC);
        int64_t max = r->revision;
        if (sqlite3_step (mx) == SQLITE_ROW)
            max = sqlite3_column_int64 (mx, 0);
        sqlite3_reset (mx);
        res->use_revision = (uint32_t)max + 1;
        char reason [256];
        snprintf (reason, sizeof reason,
                  "%s %s %s revision %u is already stored with other "
                  "content; send the correction as revision %u",
                  r->unit, r->form, r->period, r->revision, res->use_revision);
        s_nack (res, true, "conflict", reason);
        self->pending_nacks++;
        return;
    }
    sqlite3_reset (st);
    if (rc != SQLITE_DONE) {
        s_storage_failed (self, res, "natural key lookup");
        return;
    }
    //  Neither key is taken: a report its form refuses (checked before,
    //  hub_report_prepare) is refused now.
    if (prep->refusal) {
        *res = *prep->refusal;
        self->pending_nacks++;
        char fp [16];
        gom_key_fingerprint (key, fp, sizeof fp);
        zsys_warning ("store: refused %s %s %s r%u from key %s: %s: %s",
                      r->unit, r->form, r->period, r->revision, fp, res->code,
                      res->reason);
        return;
    }
    //  The insert met a unique key that neither lookup found: cannot
    //  happen inside this transaction.
    s_storage_failed (self, res, "insert (a unique key taken, not found)");
}

void
hub_store_report (hub_store_t *self, const char *key, const Gom__Report *r,
                  int64_t now_ms, hub_validate_fn *validate, void *validate_arg,
                  hub_result_t *res)
{
    hub_prepared_t prep;
    hub_report_prepare (&prep, r, NULL, 0, self->tree, validate, validate_arg);
    hub_store_report_prepared (self, key, r, now_ms, &prep, res);
    hub_prepared_free (&prep);
}

void
hub_store_report_prepared (hub_store_t *self, const char *key,
                           const Gom__Report *r, int64_t now_ms,
                           const hub_prepared_t *prep, hub_result_t *res)
{
    s_report (self, key, r, now_ms, prep, res);
    if (res->ack || !res->permanent || self->failed)
        return;
    //  Every permanent refusal is kept, once per report_id and reason (an
    //  agent that resends one bad report does not fill the disk), so that
    //  the operator sees who tried and why; within this batch, so it is on
    //  disk with the rest.
    sqlite3_stmt *st = gom_db_prepare (
        self->db,
        "INSERT OR IGNORE INTO rejections (report_id, agent_key, unit, form, "
        "period, revision, code, reason, at_ms) "
        "VALUES (?,?,?,?,?,?,?,?,?)");
    if (!st)
        return;
    sqlite3_bind_blob (st, 1, r->report_id.data, (int)r->report_id.len,
                       SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 2, key, -1, SQLITE_TRANSIENT);
    //  A field that is not a code (the reason this report is refused,
    //  maybe) is the peer's raw bytes, perhaps not UTF-8: kept as NULL, so
    //  that no reader or JSON answer ever meets it.
    gom_db_bind_str (st, 3, gom_code_valid (r->unit) ? r->unit : NULL);
    gom_db_bind_str (st, 4, gom_code_valid (r->form) ? r->form : NULL);
    gom_db_bind_str (st, 5, gom_code_valid (r->period) ? r->period : NULL);
    sqlite3_bind_int64 (st, 6, r->revision);
    sqlite3_bind_text (st, 7, res->code, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 8, res->reason, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64 (st, 9, now_ms);
    if (sqlite3_step (st) != SQLITE_DONE)
        zsys_warning ("store: cannot record a rejection: %s",
                      sqlite3_errmsg (self->db));
    sqlite3_finalize (st);
}

void
hub_store_hello (hub_store_t *self, const char *key, const Gom__Hello *h,
                 const char *peer, int64_t now_ms, char ***units)
{
    assert (self->in_batch);
    sqlite3_stmt *st = gom_db_prepare (
        self->db, "UPDATE keys.agents SET last_seen_ms=?, agent_version=?, "
                  "queue_depth=?, oldest_queued_age_s=?, clock_skew_ms=?, "
                  "peer=? WHERE key=?");
    if (st) {
        sqlite3_bind_int64 (st, 1, now_ms);
        //  The peer's own words: kept only if they are short UTF-8, so
        //  that `gom-hub agents --json` and the dashboard can show them
        //  (jansson refuses invalid UTF-8, and the agent's row vanished).
        const char *version = h->agent_version;
        gom_db_bind_str (st, 2,
                         version && strlen (version) <= 64 &&
                                 gom_utf8_valid (version, strlen (version))
                             ? version
                             : NULL);
        sqlite3_bind_int64 (st, 3, h->queue_depth);
        sqlite3_bind_int64 (st, 4, (int64_t)h->oldest_queued_age_s);
        if (h->agent_time_ms)
            sqlite3_bind_int64 (st, 5, h->agent_time_ms - now_ms);
        gom_db_bind_str (st, 6, peer);
        sqlite3_bind_text (st, 7, key, -1, SQLITE_TRANSIENT);
        if (sqlite3_step (st) != SQLITE_DONE)
            zsys_warning ("store: hello: %s", sqlite3_errmsg (self->db));
        sqlite3_finalize (st);
    }
    size_t n = 0;
    char **list = calloc (1, sizeof (char *));
    st = gom_db_prepare (self->db, "SELECT unit FROM keys.agent_units "
                                   "WHERE key=? ORDER BY unit");
    if (st) {
        sqlite3_bind_text (st, 1, key, -1, SQLITE_TRANSIENT);
        while (sqlite3_step (st) == SQLITE_ROW) {
            list = realloc (list, (n + 2) * sizeof (char *));
            list [n++] = strdup ((const char *)sqlite3_column_text (st, 0));
            list [n] = NULL;
        }
        sqlite3_finalize (st);
    }
    *units = list;
}

static void
s_add_counter (hub_store_t *self, const char *name, int64_t delta)
{
    if (delta == 0)
        return;
    sqlite3_stmt *st = gom_db_prepare (
        self->db, "INSERT INTO counters (name, value) VALUES (?, ?) "
                  "ON CONFLICT(name) DO UPDATE SET value=value+excluded.value");
    if (!st)
        return;
    sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (st, 2, delta);
    if (sqlite3_step (st) != SQLITE_DONE)
        self->failed = true;
    sqlite3_finalize (st);
}

int
hub_store_commit (hub_store_t *self)
{
    assert (self->in_batch);
    self->in_batch = false;
    s_add_counter (self, "duplicates", self->pending_dups);
    s_add_counter (self, "nacks", self->pending_nacks);
    if (self->failed) {
        gom_db_exec (self->db, "ROLLBACK");
        return -1;
    }
    //  The ACKs for this batch leave only after this returns SQLITE_OK: with
    //  WAL and synchronous=FULL the commit record is fsync'd first.
    int rc = sqlite3_exec (self->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        zsys_error ("store: COMMIT failed: %s", sqlite3_errmsg (self->db));
        if (!sqlite3_get_autocommit (self->db))
            gom_db_exec (self->db, "ROLLBACK");
        return -1;
    }
    self->writes_since_ckpt++;
    return 0;
}

struct _hub_ckpt_t {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool due;      //  a pass is asked for
    bool running;  //  a pass is running
    bool stop;
    char *db_path;
    char *keys_path;
    int64_t warned_ms;  //  last warning (one a minute at most)
};

//  A warning from the checkpointer, at most one a minute: it may fail at
//  every commit.
static void
s_ckpt_warn (hub_ckpt_t *self, const char *what)
{
    int64_t now = gom_mono_ms ();
    if (self->warned_ms && now - self->warned_ms < 60000)
        return;
    self->warned_ms = now;
    zsys_warning ("checkpointer: %s; the writer checkpoints when the WAL "
                  "holds %d frames",
                  what, STORE_WAL_BOUND);
}

static sqlite3 *
s_ckpt_open (hub_ckpt_t *self)
{
    char err [512] = "";
    sqlite3 *db = gom_db_open (self->db_path, false, err, sizeof err);
    sqlite3_stmt *attach = db ? gom_db_prepare (db, "ATTACH ? AS keys") : NULL;
    if (db && !attach)
        snprintf (err, sizeof err, "%s: %s", self->db_path,
                  sqlite3_errmsg (db));
    if (attach) {
        sqlite3_bind_text (attach, 1, self->keys_path, -1, SQLITE_TRANSIENT);
        if (sqlite3_step (attach) != SQLITE_DONE)
            snprintf (err, sizeof err, "%s: %s", self->keys_path,
                      sqlite3_errmsg (db));
        else
            err [0] = 0;
        sqlite3_finalize (attach);
    }
    if (!attach || err [0]) {
        s_ckpt_warn (self, err);
        sqlite3_close (db);
        return NULL;
    }
    return db;
}

//  One pass: 0, or -1 after an error (the connection is then closed, as
//  after any I/O error, and opened again for the next pass).
static int
s_ckpt_pass (hub_ckpt_t *self, sqlite3 *db)
{
    int rc = sqlite3_wal_checkpoint_v2 (db, "main", SQLITE_CHECKPOINT_PASSIVE,
                                        NULL, NULL);
    int rc2 = sqlite3_wal_checkpoint_v2 (db, "keys", SQLITE_CHECKPOINT_PASSIVE,
                                         NULL, NULL);
    if ((rc == SQLITE_OK || rc == SQLITE_BUSY) &&
        (rc2 == SQLITE_OK || rc2 == SQLITE_BUSY))
        return 0;
    s_ckpt_warn (self, sqlite3_errmsg (db));
    return -1;
}

static void *
s_ckpt_run (void *arg)
{
    hub_ckpt_t *self = arg;
    sqlite3 *db = NULL;
    pthread_mutex_lock (&self->lock);
    while (true) {
        while (!self->due && !self->stop)
            pthread_cond_wait (&self->cond, &self->lock);
        if (self->stop)
            break;
        self->due = false;
        self->running = true;
        pthread_mutex_unlock (&self->lock);
        if (!db)
            db = s_ckpt_open (self);
        if (db && s_ckpt_pass (self, db) != 0) {
            sqlite3_close (db);
            db = NULL;
        }
        pthread_mutex_lock (&self->lock);
        self->running = false;
        pthread_cond_broadcast (&self->cond);
    }
    pthread_mutex_unlock (&self->lock);
    sqlite3_close (db);
    return NULL;
}

static void
s_ckpt_free (hub_ckpt_t *self)
{
    pthread_mutex_destroy (&self->lock);
    pthread_cond_destroy (&self->cond);
    free (self->db_path);
    free (self->keys_path);
    free (self);
}

hub_ckpt_t *
hub_ckpt_start (const char *db_path, const char *keys_path)
{
    hub_ckpt_t *self = calloc (1, sizeof *self);
    assert (self);
    self->db_path = strdup (db_path);
    self->keys_path = strdup (keys_path);
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->cond, NULL);
    if (pthread_create (&self->thread, NULL, s_ckpt_run, self) != 0) {
        zsys_warning ("checkpointer: cannot start a thread; the writer "
                      "checkpoints by itself");
        s_ckpt_free (self);
        return NULL;
    }
    return self;
}

void
hub_ckpt_stop (hub_ckpt_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    hub_ckpt_t *self = *self_p;
    pthread_mutex_lock (&self->lock);
    self->stop = true;
    pthread_cond_broadcast (&self->cond);
    pthread_mutex_unlock (&self->lock);
    pthread_join (self->thread, NULL);
    s_ckpt_free (self);
    *self_p = NULL;
}

//  Asks for a pass (with wait: waits for the one running, if any, and asks
//  for none).
static void
s_ckpt_ask (hub_ckpt_t *self, bool wait)
{
    pthread_mutex_lock (&self->lock);
    if (wait) {
        self->due = false;
        while (self->running)
            pthread_cond_wait (&self->cond, &self->lock);
    }
    else {
        self->due = true;
        pthread_cond_signal (&self->cond);
    }
    pthread_mutex_unlock (&self->lock);
}

//  Frames written to main's WAL since it held mark frames: all of them if
//  it has started again from its beginning since.
static int
s_frames_since (hub_store_t *self, int mark)
{
    return self->wal_frames >= mark ? self->wal_frames - mark
                                    : self->wal_frames;
}

void
hub_store_checkpoint (hub_store_t *self, hub_ckpt_t *ckpt, bool idle)
{
    //  Without a checkpointer: when idle, after any write; under steady
    //  load, every 256 batches or STORE_CKPT_FRAMES new frames, whichever
    //  comes first, so that the WAL cannot grow without bound and no one
    //  checkpoint is long. (A WAL that restarted from its beginning holds
    //  only new frames.)
    if (self->writes_since_ckpt == 0)
        return;
    if (!idle && ckpt && self->wal_frames < STORE_WAL_BOUND) {
        if (s_frames_since (self, self->asked_frames) < STORE_CKPT_ASK &&
            self->wal_frames < STORE_WAL_BOUND - STORE_CKPT_ASK)
            return;
        self->asked_frames = self->wal_frames;
        s_ckpt_ask (ckpt, false);
        return;
    }
    if (!idle && !ckpt && self->writes_since_ckpt < 256 &&
        s_frames_since (self, self->ckpt_frames) < STORE_CKPT_FRAMES)
        return;
    if (ckpt)
        s_ckpt_ask (ckpt, true);  //  two checkpoints at once: one is BUSY
    int log = 0, done = 0;
    sqlite3_wal_checkpoint_v2 (self->db, "main", SQLITE_CHECKPOINT_PASSIVE,
                               &log, &done);
    sqlite3_wal_checkpoint_v2 (self->db, "keys", SQLITE_CHECKPOINT_PASSIVE,
                               NULL, NULL);
    self->writes_since_ckpt = 0;
    self->ckpt_frames = done > 0 ? done : 0;
}

static json_t *
s_time_json (sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type (st, col) == SQLITE_NULL)
        return json_null ();
    char buf [32];
    gom_iso_time (sqlite3_column_int64 (st, col), buf, sizeof buf);
    return json_string (buf);
}

static json_t *
s_int_json (sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type (st, col) == SQLITE_NULL)
        return json_null ();
    return json_integer (sqlite3_column_int64 (st, col));
}

json_t *
hub_store_reports_json (hub_store_t *self)
{
    json_t *list = json_array ();
    gom_db_exec (self->db, "BEGIN");
    sqlite3_stmt *st = gom_db_prepare (
        self->db, "SELECT receipt, report_id, unit, form, period, revision, "
                  "received_ms, sealed_ms, agent_key, form_version, content "
                  "FROM reports ORDER BY receipt");
    sqlite3_stmt *texts = gom_db_prepare (
        self->db, "SELECT code, text FROM texts WHERE receipt=? ORDER BY code");
    while (st && texts && sqlite3_step (st) == SQLITE_ROW) {
        char hex [2 * GOM_ID_BYTES + 1] = "";
        if (sqlite3_column_bytes (st, 1) == GOM_ID_BYTES)
            gom_hex (sqlite3_column_blob (st, 1), GOM_ID_BYTES, hex);
        json_t *c =
            hub_store_cells_json (sqlite3_column_blob (st, 10),
                                  (size_t)sqlite3_column_bytes (st, 10));
        json_t *t = json_object ();
        sqlite3_bind_int64 (texts, 1, sqlite3_column_int64 (st, 0));
        while (sqlite3_step (texts) == SQLITE_ROW)
            json_object_set_new (
                t, (const char *)sqlite3_column_text (texts, 0),
                json_string ((const char *)sqlite3_column_text (texts, 1)));
        sqlite3_reset (texts);
        json_array_append_new (
            list,
            json_pack ("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:o, s:I, s:o, "
                       "s:s, s:I, s:o, s:o}",
                       "report_id", hex, "unit", sqlite3_column_text (st, 2),
                       "form", sqlite3_column_text (st, 3), "period",
                       sqlite3_column_text (st, 4), "revision",
                       (json_int_t)sqlite3_column_int64 (st, 5), "receipt",
                       (json_int_t)sqlite3_column_int64 (st, 0), "received_ms",
                       (json_int_t)sqlite3_column_int64 (st, 6), "received_at",
                       s_time_json (st, 6), "sealed_ms",
                       (json_int_t)sqlite3_column_int64 (st, 7), "sealed_at",
                       s_time_json (st, 7), "agent_key",
                       sqlite3_column_text (st, 8), "form_version",
                       (json_int_t)sqlite3_column_int64 (st, 9), "cells", c,
                       "texts", t));
    }
    sqlite3_finalize (st);
    sqlite3_finalize (texts);
    gom_db_exec (self->db, "COMMIT");
    return list;
}

json_t *
hub_store_cells_json (const void *content, size_t len)
{
    json_t *cells = json_object ();
    Gom__Report *r = content ? gom__report__unpack (NULL, len, content) : NULL;
    for (size_t i = 0; r && i < r->n_cells; i++)
        json_object_set_new (cells, r->cells [i]->code,
                             json_integer (r->cells [i]->value));
    if (r)
        gom__report__free_unpacked (r, NULL);
    return cells;
}

static int64_t
s_scalar (hub_store_t *self, const char *sql)
{
    int64_t value = 0;
    sqlite3_stmt *st = gom_db_prepare (self->db, sql);
    if (st && sqlite3_step (st) == SQLITE_ROW)
        value = sqlite3_column_int64 (st, 0);
    sqlite3_finalize (st);
    return value;
}

json_t *
hub_store_status_json (hub_store_t *self)
{
    gom_db_exec (self->db, "BEGIN");
    json_t *obj = json_object ();
    json_object_set_new (obj, "db_id", json_string (self->db_id));
    json_object_set_new (obj, "reports",
                         json_integer (s_scalar (self, "SELECT count(*) FROM "
                                                       "reports")));
    json_object_set_new (
        obj, "agents",
        json_integer (s_scalar (self, "SELECT count(*) FROM keys.agents WHERE "
                                      "revoked_ms IS NULL")));
    json_object_set_new (
        obj, "units_reporting",
        json_integer (
            s_scalar (self, "SELECT count(DISTINCT unit) FROM reports")));
    int64_t last = s_scalar (self, "SELECT coalesce(max(received_ms), 0) "
                                   "FROM reports");
    char buf [32];
    gom_iso_time (last, buf, sizeof buf);
    json_object_set_new (obj, "last_received_ms",
                         last ? json_integer (last) : json_null ());
    json_object_set_new (obj, "last_received_at",
                         last ? json_string (buf) : json_null ());
    json_object_set_new (
        obj, "duplicates",
        json_integer (s_scalar (self, "SELECT coalesce(sum(value), 0) FROM "
                                      "counters WHERE name='duplicates'")));
    json_object_set_new (
        obj, "nacks",
        json_integer (s_scalar (self, "SELECT coalesce(sum(value), 0) FROM "
                                      "counters WHERE name='nacks'")));
    gom_db_exec (self->db, "COMMIT");
    return obj;
}

json_t *
hub_store_agents_json (hub_store_t *self)
{
    json_t *list = json_array ();
    gom_db_exec (self->db, "BEGIN");
    sqlite3_stmt *st = gom_db_prepare (
        self->db, "SELECT key, enrolled_ms, revoked_ms, last_seen_ms, "
                  "agent_version, queue_depth, oldest_queued_age_s, "
                  "clock_skew_ms, peer FROM keys.agents ORDER BY enrolled_ms");
    sqlite3_stmt *un = gom_db_prepare (
        self->db,
        "SELECT unit FROM keys.agent_units WHERE key=? ORDER BY unit");
    while (st && un && sqlite3_step (st) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text (st, 0);
        json_t *units = json_array ();
        sqlite3_bind_text (un, 1, key, -1, SQLITE_TRANSIENT);
        while (sqlite3_step (un) == SQLITE_ROW)
            json_array_append_new (
                units, json_string ((const char *)sqlite3_column_text (un, 0)));
        sqlite3_reset (un);
        char fp [16];
        gom_key_fingerprint (key, fp, sizeof fp);
        json_t *ver =
            sqlite3_column_type (st, 4) == SQLITE_NULL
                ? json_null ()
                : json_string ((const char *)sqlite3_column_text (st, 4));
        json_array_append_new (
            list,
            json_pack ("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                       "key", key, "fingerprint", fp, "units", units,
                       "enrolled_at", s_time_json (st, 1), "revoked_at",
                       s_time_json (st, 2), "last_seen_at", s_time_json (st, 3),
                       "agent_version", ver, "queue_depth", s_int_json (st, 5),
                       "oldest_queued_age_s", s_int_json (st, 6),
                       "clock_skew_ms", s_int_json (st, 7)));
    }
    sqlite3_finalize (st);
    sqlite3_finalize (un);
    gom_db_exec (self->db, "COMMIT");
    return list;
}
