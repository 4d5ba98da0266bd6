/*  agent_relay: see agent_relay.h. */
#include "agent_relay.h"
#include "gom_db.h"
#include "gom_util.h"

#include <czmq.h>

#define RELAY_BATCH "500"  //  reports taken a call at most

//  The packed Report the district hub took: its stored content (cells and
//  texts, a packed Report itself) after the other fields (protobuf fields
//  concatenate).
static uint8_t *
s_payload (sqlite3_stmt *st, size_t *len)
{
    Gom__Report head = GOM__REPORT__INIT;
    head.report_id.data = (uint8_t *)sqlite3_column_blob (st, 1);
    head.report_id.len = (size_t)sqlite3_column_bytes (st, 1);
    head.unit = (char *)sqlite3_column_text (st, 2);
    head.form = (char *)sqlite3_column_text (st, 3);
    head.period = (char *)sqlite3_column_text (st, 4);
    head.revision = (uint32_t)sqlite3_column_int64 (st, 5);
    head.form_version = (uint32_t)sqlite3_column_int64 (st, 6);
    head.sealed_at_ms = sqlite3_column_int64 (st, 8);
    size_t head_len = gom__report__get_packed_size (&head);
    size_t content_len = (size_t)sqlite3_column_bytes (st, 7);
    uint8_t *buf = malloc (head_len + content_len + 1);
    assert (buf);
    gom__report__pack (&head, buf);
    if (content_len)
        memcpy (buf + head_len, sqlite3_column_blob (st, 7), content_len);
    *len = head_len + content_len;
    return buf;
}

int
agent_relay_pump (agent_outbox_t *outbox, const char *hub_db)
{
    sqlite3 *hub = NULL;
    if (sqlite3_open_v2 (hub_db, &hub, SQLITE_OPEN_READONLY, NULL) !=
        SQLITE_OK) {
        zsys_error ("relay: cannot open %s: %s", hub_db,
                    hub ? sqlite3_errmsg (hub) : "out of memory");
        sqlite3_close (hub);
        return -1;
    }
    sqlite3_busy_timeout (hub, 10000);
    sqlite3 *db = agent_outbox_db (outbox);
    char *hub_id = gom_db_meta_get (hub, "db_id");
    char *seen_id = gom_db_meta_get (db, "relay_db_id");
    int64_t cursor = gom_db_meta_int (db, "relay_receipt");
    if (hub_id && (!seen_id || strcmp (hub_id, seen_id) != 0)) {
        if (seen_id)
            zsys_warning ("relay: %s is another database now (was %s, now "
                          "%s): reading it again from the start",
                          hub_db, seen_id, hub_id);
        cursor = 0;
    }
    int taken = -1;
    sqlite3_stmt *st = gom_db_prepare (
        hub, "SELECT receipt, report_id, unit, form, period, revision, "
             "form_version, content, sealed_ms FROM reports WHERE receipt > "
             "? ORDER BY receipt LIMIT " RELAY_BATCH);
    sqlite3_stmt *ins = gom_db_prepare (
        db, "INSERT OR IGNORE INTO outbox (report_id, unit, form, period, "
            "revision, content, payload, sealed_ms, source) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, 'relay')");
    if (hub_id && st && ins && gom_db_exec (db, "BEGIN IMMEDIATE") == 0) {
        taken = 0;
        sqlite3_bind_int64 (st, 1, cursor);
        int rc;
        while ((rc = sqlite3_step (st)) == SQLITE_ROW) {
            size_t len;
            uint8_t *payload = s_payload (st, &len);
            for (int c = 1; c <= 5; c++)
                sqlite3_bind_value (ins, c, sqlite3_column_value (st, c));
            sqlite3_bind_value (ins, 6, sqlite3_column_value (st, 7));
            sqlite3_bind_blob (ins, 7, payload, (int)len, SQLITE_TRANSIENT);
            sqlite3_bind_value (ins, 8, sqlite3_column_value (st, 8));
            if (sqlite3_step (ins) != SQLITE_DONE)
                rc = SQLITE_ERROR;
            taken += sqlite3_changes (db) > 0;
            sqlite3_reset (ins);
            free (payload);
            if (rc == SQLITE_ERROR)
                break;
            cursor = sqlite3_column_int64 (st, 0);
        }
        char buf [24];
        snprintf (buf, sizeof buf, "%" PRId64, cursor);
        if (rc != SQLITE_DONE || gom_db_meta_set (db, "relay_receipt", buf) ||
            gom_db_meta_set (db, "relay_db_id", hub_id) ||
            gom_db_exec (db, "COMMIT")) {
            zsys_error ("relay: %s: %s", hub_db, sqlite3_errmsg (db));
            gom_db_exec (db, "ROLLBACK");
            taken = -1;
        }
        else if (taken)
            zsys_info ("relay: %d reports from %s queued for the hub", taken,
                       hub_db);
    }
    else
        zsys_error ("relay: %s: %s", hub_db,
                    !hub_id ? "not a gom hub database (no db_id)"
                    : st    ? sqlite3_errmsg (db)
                            : sqlite3_errmsg (hub));
    sqlite3_finalize (st);
    sqlite3_finalize (ins);
    sqlite3_close (hub);
    free (hub_id);
    free (seen_id);
    return taken;
}
