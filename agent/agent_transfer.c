/*  agent_transfer: see agent_transfer.h. */
#include "agent_transfer.h"
#include "agent_outbox.h"
#include "gom_db.h"
#include "gom_keys.h"
#include "gom_transfer.h"
#include "gom_util.h"
#include "gom_wire.h"

#include <czmq.h>

//  The agent's keypair and the hub's public key, raw; 0 or -1 with err.
static zcert_t *
s_keys (agent_options_t *opt, uint8_t *hub, char *err, size_t errlen)
{
    if (!opt->hub_key || strlen (opt->hub_key) != 40 ||
        !zmq_z85_decode (hub, opt->hub_key)) {
        snprintf (err, errlen, "hub_key in the config is not a Z85 key");
        return NULL;
    }
    return gom_keys_load (opt->cert_path, err, errlen);
}

int
agent_export (agent_options_t *opt, const char *path, FILE *out, char *err,
              size_t errlen)
{
    uint8_t hub [32];
    zcert_t *cert = s_keys (opt, hub, err, errlen);
    agent_outbox_t *box =
        cert ? agent_outbox_open (opt->outbox_path, false, err, errlen) : NULL;
    if (!box) {
        zcert_destroy (&cert);
        return -1;
    }
    sqlite3 *db = agent_outbox_db (box);
    Gom__Transfer t = GOM__TRANSFER__INIT;
    sqlite3_stmt *st =
        gom_db_prepare (db, "SELECT payload FROM outbox WHERE state IN "
                            "('queued', 'sent') ORDER BY seq");
    while (st && sqlite3_step (st) == SQLITE_ROW) {
        size_t len;
        uint8_t *frame =
            gom_wire_wrap_report (sqlite3_column_blob (st, 0),
                                  (size_t)sqlite3_column_bytes (st, 0), &len);
        assert (frame);
        gom_transfer_add (&t, frame, len);
    }
    sqlite3_finalize (st);
    int rc = 0;
    if (!t.n_envelopes)
        fprintf (out, "nothing waits to be sent: no file written\n");
    else {
        t.made_ms = gom_now_ms ();
        rc = gom_transfer_write (path, &t, zcert_public_key (cert),
                                 zcert_secret_key (cert), hub, err, errlen);
        if (rc == 0)
            fprintf (out,
                     "%zu reports in %s, sealed for the hub %s; they stay "
                     "queued here until the hub's receipts come back "
                     "(gom-agent receipts FILE) or this agent reaches the "
                     "hub\n",
                     t.n_envelopes, path, opt->hub_key);
    }
    gom_transfer_clear (&t);
    agent_outbox_destroy (&box);
    zcert_destroy (&cert);
    return rc;
}

//  The file must come from the hub this agent reports to.
static bool
s_from_hub (void *arg, const uint8_t *sender, char *err, size_t errlen)
{
    if (memcmp (sender, arg, 32) == 0)
        return true;
    snprintf (err, errlen,
              "not made by this agent's hub (hub_key): "
              "nothing taken");
    return false;
}

int
agent_receipts (agent_options_t *opt, const char *path, FILE *out, char *err,
                size_t errlen)
{
    uint8_t hub [32], sender [32];
    zcert_t *cert = s_keys (opt, hub, err, errlen);
    Gom__Transfer *t =
        cert ? gom_transfer_read (path, zcert_public_key (cert),
                                  zcert_secret_key (cert), s_from_hub, hub,
                                  sender, err, errlen)
             : NULL;
    agent_outbox_t *box =
        t ? agent_outbox_open (opt->outbox_path, false, err, errlen) : NULL;
    int rc = box ? 0 : -1;
    sqlite3 *db = box ? agent_outbox_db (box) : NULL;
    sqlite3_stmt *ack = NULL, *nack = NULL;
    if (db && gom_db_exec (db, "BEGIN IMMEDIATE") == 0) {
        ack = gom_db_prepare (
            db, "UPDATE outbox SET state='acked', receipt=?2, hub_ms=?3, "
                "acked_ms=?4, hub_db_id=?5, code=NULL, reason=NULL "
                "WHERE report_id=?1 AND state IN ('queued', 'sent')");
        nack = gom_db_prepare (
            db, "UPDATE outbox SET state='rejected', code=?2, reason=?3, "
                "use_revision=?4 WHERE report_id=?1 AND state IN ('queued', "
                "'sent')");
    }
    if (db && (!ack || !nack)) {
        snprintf (err, errlen, "%s: %s", opt->outbox_path, sqlite3_errmsg (db));
        rc = -1;
    }
    size_t acked = 0, rejected = 0, other = 0;
    for (size_t i = 0; rc == 0 && i < t->n_envelopes; i++) {
        ProtobufCBinaryData *e = &t->envelopes [i];
        gom_wire_msg_t *w =
            gom_wire_decode (e->data, e->len, 8 * e->len + 4096);
        Gom__Envelope *env = gom_wire_env (w);
        sqlite3_stmt *q = NULL;
        if (gom_wire_status (w) != GOM_WIRE_OK)
            ;
        else if (env->body_case == GOM__ENVELOPE__BODY_ACK &&
                 env->ack->report_id.len == GOM_ID_BYTES) {
            q = ack;
            sqlite3_bind_blob (q, 1, env->ack->report_id.data, GOM_ID_BYTES,
                               SQLITE_TRANSIENT);
            sqlite3_bind_int64 (q, 2, (int64_t)env->ack->receipt);
            sqlite3_bind_int64 (q, 3, env->ack->hub_time_ms);
            sqlite3_bind_int64 (q, 4, gom_now_ms ());
            gom_db_bind_str (q, 5, t->hub_db_id);
        }
        else if (env->body_case == GOM__ENVELOPE__BODY_NACK &&
                 env->nack->kind == GOM__NACK__KIND__PERMANENT &&
                 env->nack->report_id.len == GOM_ID_BYTES) {
            q = nack;
            sqlite3_bind_blob (q, 1, env->nack->report_id.data, GOM_ID_BYTES,
                               SQLITE_TRANSIENT);
            gom_db_bind_str (q, 2, env->nack->code);
            gom_db_bind_str (q, 3, env->nack->reason);
            sqlite3_bind_int64 (q, 4, env->nack->use_revision);
        }
        if (q && sqlite3_step (q) != SQLITE_DONE) {
            snprintf (err, errlen, "%s: %s", opt->outbox_path,
                      sqlite3_errmsg (db));
            rc = -1;
        }
        else if (q && sqlite3_changes (db) == 1)
            *(q == ack ? &acked : &rejected) += 1;
        else
            other++;
        if (q)
            sqlite3_reset (q);
        gom_wire_msg_destroy (&w);
    }
    sqlite3_finalize (ack);
    sqlite3_finalize (nack);
    if (db && !sqlite3_get_autocommit (db) &&
        gom_db_exec (db, rc == 0 ? "COMMIT" : "ROLLBACK") != 0 && rc == 0) {
        snprintf (err, errlen, "%s: commit: %s", opt->outbox_path,
                  sqlite3_errmsg (db));
        rc = -1;
    }
    if (rc == 0)
        fprintf (out,
                 "%s: %zu acknowledged, %zu rejected by the hub (gom-agent "
                 "list says why), %zu already known or still to resend\n",
                 path, acked, rejected, other);
    agent_outbox_destroy (&box);
    if (t)
        gom__transfer__free_unpacked (t, NULL);
    zcert_destroy (&cert);
    return rc;
}
