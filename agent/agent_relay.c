/*  agent_relay: see agent_relay.h. */
#include "agent_relay.h"
#include "gom_db.h"
#include "gom_report.h"
#include "gom_util.h"

#include <czmq.h>

#define RELAY_BATCH "500"  //  reports taken a call at most

//  The packed Report the district hub took (payload) and its canonical
//  content, for the outbox: from its columns and its stored content (the
//  report as it came, or its canonical content, as older hubs store it:
//  cells and texts are taken from it either way). -1 if the content does
//  not unpack.
static int
s_payload (sqlite3_stmt *st, uint8_t **payload, size_t *len, uint8_t **content,
           size_t *content_len)
{
    Gom__Report *stored =
        gom__report__unpack (NULL, (size_t)sqlite3_column_bytes (st, 7),
                             sqlite3_column_blob (st, 7));
    if (!stored)
        return -1;
    Gom__Report r = GOM__REPORT__INIT;
    r.report_id.data = (uint8_t *)sqlite3_column_blob (st, 1);
    r.report_id.len = (size_t)sqlite3_column_bytes (st, 1);
    r.unit = (char *)sqlite3_column_text (st, 2);
    r.form = (char *)sqlite3_column_text (st, 3);
    r.period = (char *)sqlite3_column_text (st, 4);
    r.revision = (uint32_t)sqlite3_column_int64 (st, 5);
    r.form_version = (uint32_t)sqlite3_column_int64 (st, 6);
    r.sealed_at_ms = sqlite3_column_int64 (st, 8);
    r.n_cells = stored->n_cells;
    r.cells = stored->cells;
    r.n_texts = stored->n_texts;
    r.texts = stored->texts;
    *len = gom__report__get_packed_size (&r);
    *payload = malloc (*len + 1);
    assert (*payload);
    gom__report__pack (&r, *payload);
    *content = gom_report_content (&r, content_len);
    assert (*content);
    gom__report__free_unpacked (stored, NULL);
    return 0;
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
            size_t len, content_len;
            uint8_t *payload, *content;
            if (s_payload (st, &payload, &len, &content, &content_len)) {
                //  Not something a hub writes (a damaged database): said,
                //  and stepped over, so that it blocks nothing after it.
                zsys_error ("relay: %s: receipt %" PRId64
                            " skipped: its content is not a packed report",
                            hub_db, sqlite3_column_int64 (st, 0));
                cursor = sqlite3_column_int64 (st, 0);
                continue;
            }
            for (int c = 1; c <= 5; c++)
                sqlite3_bind_value (ins, c, sqlite3_column_value (st, c));
            sqlite3_bind_blob (ins, 6, content, (int)content_len,
                               SQLITE_TRANSIENT);
            sqlite3_bind_blob (ins, 7, payload, (int)len, SQLITE_TRANSIENT);
            sqlite3_bind_value (ins, 8, sqlite3_column_value (st, 8));
            if (sqlite3_step (ins) != SQLITE_DONE)
                rc = SQLITE_ERROR;
            taken += sqlite3_changes (db) > 0;
            sqlite3_reset (ins);
            free (payload);
            free (content);
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
