/*  hub_transfer: see hub_transfer.h. */
#include "hub_transfer.h"
#include "gom_keys.h"
#include "gom_report.h"
#include "gom_transfer.h"
#include "gom_util.h"
#include "gom_wire.h"
#include "hub_catalog.h"
#include "hub_http.h"
#include "hub_store.h"

#include <czmq.h>

//  The file's key must be one the hub admits (gom_transfer_accept_fn).
static bool
s_admitted (void *arg, const uint8_t *sender, char *err, size_t errlen)
{
    char key [41];
    zmq_z85_encode (key, sender, 32);
    if (hub_store_key_admitted (arg, key))
        return true;
    char fp [16];
    gom_key_fingerprint (key, fp, sizeof fp);
    snprintf (err, errlen,
              "made by key %s (%s), which is not enrolled here or was "
              "revoked: nothing taken",
              key, fp);
    return false;
}

//  One answer for the receipts file, packed.
static void
s_answer (Gom__Transfer *t, const Gom__Report *r, const hub_result_t *res)
{
    Gom__Envelope env = GOM__ENVELOPE__INIT;
    Gom__Ack ack = GOM__ACK__INIT;
    Gom__Nack nack = GOM__NACK__INIT;
    if (res->ack) {
        ack.report_id = r->report_id;
        ack.receipt = res->receipt;
        ack.hub_time_ms = res->hub_ms;
        ack.duplicate = res->duplicate;
        env.body_case = GOM__ENVELOPE__BODY_ACK;
        env.ack = &ack;
    }
    else {
        nack.report_id = r->report_id;
        nack.kind = res->permanent ? GOM__NACK__KIND__PERMANENT
                                   : GOM__NACK__KIND__TRANSIENT;
        nack.code = (char *)res->code;
        nack.reason = (char *)res->reason;
        nack.use_revision = res->use_revision;
        env.body_case = GOM__ENVELOPE__BODY_NACK;
        env.nack = &nack;
    }
    size_t len;
    uint8_t *data = gom_wire_encode (&env, &len);
    assert (data);
    gom_transfer_add (t, data, len);
}

int
hub_import (gom_config_t *cfg, const char *path, const char *receipts,
            FILE *out, char *err, size_t errlen)
{
    int64_t max_cells, max_text;
    if (hub_report_limits (cfg, &max_cells, &max_text, err, errlen) != 0)
        return -1;
    char *cert_path = gom_config_file (cfg, "cert", "hub.cert");
    char *db_path = gom_config_file (cfg, "database", "hub.db");
    char *keys_path = gom_config_file (cfg, "keys", "keys.db");
    zcert_t *cert = gom_keys_load (cert_path, err, errlen);
    hub_catalog_t *catalog =
        cert ? hub_catalog_open (cfg, NULL, err, errlen) : NULL;
    hub_store_t *store =
        catalog ? hub_store_open (db_path, keys_path, false, err, errlen)
                : NULL;
    if (store)
        hub_store_set_tree (store, hub_catalog_units (catalog));
    uint8_t sender [32];
    Gom__Transfer *t =
        store ? gom_transfer_read (path, zcert_public_key (cert),
                                   zcert_secret_key (cert), s_admitted, store,
                                   sender, err, errlen)
              : NULL;
    int rc = t ? 0 : -1;
    char key [41], fp [16];
    if (t) {
        zmq_z85_encode (key, sender, 32);
        gom_key_fingerprint (key, fp, sizeof fp);
        fprintf (out, "%s: %zu reports from agent %s\n", path, t->n_envelopes,
                 fp);
    }
    Gom__Transfer answers = GOM__TRANSFER__INIT;
    size_t stored = 0, again = 0, refused = 0;
    if (t && hub_store_begin (store) != 0) {
        snprintf (err, errlen, "%s: cannot begin a transaction", db_path);
        rc = -1;
    }
    int64_t now = gom_now_ms ();
    for (size_t i = 0; rc == 0 && i < t->n_envelopes; i++) {
        ProtobufCBinaryData *e = &t->envelopes [i];
        gom_wire_msg_t *w =
            gom_wire_decode (e->data, e->len, 8 * e->len + 65536);
        Gom__Envelope *env = gom_wire_env (w);
        hub_result_t res;
        memset (&res, 0, sizeof res);
        if (gom_wire_status (w) != GOM_WIRE_OK ||
            env->body_case != GOM__ENVELOPE__BODY_REPORT) {
            fprintf (out, "  #%zu: refused: %s\n", i + 1,
                     gom_wire_status (w) != GOM_WIRE_OK ? gom_wire_error (w)
                                                        : "not a report");
            refused++;
            gom_wire_msg_destroy (&w);
            continue;
        }
        const Gom__Report *r = env->report;
        if (hub_report_too_large (r, max_cells, max_text, res.reason,
                                  sizeof res.reason)) {
            res.permanent = true;
            snprintf (res.code, sizeof res.code, "too-large");
        }
        else
            hub_store_report (store, key, r, now, hub_catalog_validate, catalog,
                              &res);
        const char *unit = gom_code_valid (r->unit) ? r->unit : "(invalid)";
        if (res.ack) {
            fprintf (out, "  %s %s %s r%u: receipt %" PRIu64 "%s\n", unit,
                     r->form, r->period, r->revision, res.receipt,
                     res.duplicate ? " (had come before)" : "");
            stored += !res.duplicate;
            again += res.duplicate;
        }
        else {
            fprintf (out, "  %s %s %s r%u: refused, %s: %s\n", unit, r->form,
                     r->period, r->revision, res.code, res.reason);
            refused++;
        }
        s_answer (&answers, r, &res);
        gom_wire_msg_destroy (&w);
    }
    if (rc == 0 && t && hub_store_commit (store) != 0) {
        snprintf (err, errlen,
                  "%s: the commit failed: nothing of %s was "
                  "taken; run the import again",
                  db_path, path);
        rc = -1;
    }
    if (rc == 0 && t) {
        fprintf (out, "%zu stored, %zu had come before, %zu refused\n", stored,
                 again, refused);
        //  The running hub's dashboard and commands: read again.
        char ask_err [64];
        unsigned status;
        FILE *null = fopen ("/dev/null", "w");
        hub_ask (db_path, "stored", NULL, NULL, NULL, NULL, "text", 1000,
                 null ? null : out, &status, ask_err, sizeof ask_err);
        if (null)
            fclose (null);
    }
    if (rc == 0 && t && receipts) {
        answers.hub_db_id = (char *)hub_store_db_id (store);
        answers.made_ms = gom_now_ms ();
        if (gom_transfer_write (receipts, &answers, zcert_public_key (cert),
                                zcert_secret_key (cert), sender, err,
                                errlen) != 0) {
            fprintf (out, "the reports are stored; the receipts file could "
                          "not be written\n");
            rc = -1;
        }
        else
            fprintf (out,
                     "receipts for agent %s in %s (gom-agent receipts "
                     "%s)\n",
                     fp, receipts, receipts);
    }
    gom_transfer_clear (&answers);
    if (t)
        gom__transfer__free_unpacked (t, NULL);
    hub_store_destroy (&store);
    hub_catalog_destroy (&catalog);
    zcert_destroy (&cert);
    free (cert_path);
    free (db_path);
    free (keys_path);
    return rc;
}
