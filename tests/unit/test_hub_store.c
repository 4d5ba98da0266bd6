/*  Unit tests of hub_store on real sqlite files: DESIGN.md rule 4
    (idempotence and conflicts), authorization by enrolled key, revocation,
    and that keys outlive a replaced hub.db. */
#include "check.h"
#include "gom_db.h"
#include "gom_util.h"
#include "hub_store.h"

#include <string.h>
#include <unistd.h>

static const char *KEY = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";

static void
s_report (Gom__Report *r, uint8_t *id, uint8_t tag, const char *unit,
          uint32_t revision, Gom__Cell **cells, int64_t value)
{
    gom__report__init (r);
    memset (id, 0, 16);
    id [0] = tag;
    r->report_id.data = id;
    r->report_id.len = 16;
    r->unit = (char *)unit;
    r->form = "F1";
    r->period = "2026-H1";
    r->revision = revision;
    gom__cell__init (cells [0]);
    cells [0]->code = "A";
    cells [0]->value = value;
    r->cells = cells;
    r->n_cells = 1;
}

//  Stores r as hub_server does, from the bytes it came as (r packed).
static void
s_store_packed (hub_store_t *s, Gom__Report *r, int64_t now_ms,
                hub_result_t *res)
{
    uint8_t bytes [256];
    size_t len = gom__report__pack (r, bytes);
    hub_prepared_t prep;
    hub_report_prepare (&prep, r, bytes, len, NULL, NULL, NULL);
    hub_store_report_prepared (s, KEY, r, now_ms, &prep, res);
    hub_prepared_free (&prep);
}

static bool
s_refuse_all (void *arg, const Gom__Report *r, hub_result_t *res)
{
    (void)arg;
    (void)r;
    res->ack = false;
    res->permanent = true;
    snprintf (res->code, sizeof res->code, "refused");
    snprintf (res->reason, sizeof res->reason, "the form says no");
    return false;
}

int
main (void)
{
    char dir [] = "/tmp/gom-test-store-XXXXXX";
    if (!mkdtemp (dir))
        return 2;
    char db [300], keys [300], err [300];
    snprintf (db, sizeof db, "%s/hub.db", dir);
    snprintf (keys, sizeof keys, "%s/keys.db", dir);
    hub_store_t *s = hub_store_open (db, keys, true, err, sizeof err);
    CHECK (s != NULL);
    if (!s)
        CHECK_DONE ();
    char *id1 = strdup (hub_store_db_id (s));
    CHECK (strlen (id1) == 32);
    CHECK (!hub_store_key_admitted (s, KEY));
    char *units [] = { "U1", NULL };
    CHECK (hub_store_enroll (s, KEY, units, err, sizeof err) == 0);
    CHECK (hub_store_key_admitted (s, KEY));

    Gom__Cell cell;
    Gom__Cell *cells [] = { &cell };
    Gom__Report r;
    uint8_t id [16];
    hub_result_t res, res2;

    //  A new report, then the same report_id in the same batch.
    CHECK (hub_store_begin (s) == 0);
    s_report (&r, id, 1, "U1", 1, cells, 10);
    hub_store_report (s, KEY, &r, 1000, NULL, NULL, &res);
    CHECK (res.ack && !res.duplicate && res.receipt == 1);
    hub_store_report (s, KEY, &r, 2000, NULL, NULL, &res2);
    CHECK (res2.ack && res2.duplicate && res2.receipt == 1 &&
           res2.hub_ms == 1000);
    CHECK (hub_store_commit (s) == 0);

    CHECK (hub_store_begin (s) == 0);
    //  Same natural key and content under another report_id: same receipt.
    s_report (&r, id, 2, "U1", 1, cells, 10);
    hub_store_report (s, KEY, &r, 3000, NULL, NULL, &res);
    CHECK (res.ack && res.duplicate && res.receipt == 1);
    //  Same natural key, other content: conflict naming revision 2.
    s_report (&r, id, 3, "U1", 1, cells, 11);
    hub_store_report (s, KEY, &r, 3000, NULL, NULL, &res);
    CHECK (!res.ack && res.permanent && strcmp (res.code, "conflict") == 0 &&
           res.use_revision == 2 && strstr (res.reason, "revision 2"));
    //  The report_id of the stored report with other content.
    s_report (&r, id, 1, "U1", 1, cells, 12);
    hub_store_report (s, KEY, &r, 3000, NULL, NULL, &res);
    CHECK (!res.ack && res.permanent && strcmp (res.code, "id-reused") == 0);
    //  Revision 2: a new report with a new receipt.
    s_report (&r, id, 4, "U1", 2, cells, 11);
    hub_store_report (s, KEY, &r, 3000, NULL, NULL, &res);
    CHECK (res.ack && !res.duplicate && res.receipt == 2);
    //  A unit the key is not enrolled for.
    s_report (&r, id, 5, "U2", 1, cells, 1);
    hub_store_report (s, KEY, &r, 3000, NULL, NULL, &res);
    CHECK (!res.ack && res.permanent && strcmp (res.code, "unauthorized") == 0);
    //  A report that fails the field checks.
    s_report (&r, id, 6, "U1", 0, cells, 1);
    hub_store_report (s, KEY, &r, 3000, NULL, NULL, &res);
    CHECK (!res.ack && res.permanent && strcmp (res.code, "invalid") == 0);
    CHECK (hub_store_commit (s) == 0);

    json_t *list = hub_store_reports_json (s);
    CHECK (json_array_size (list) == 2);
    json_decref (list);
    json_t *st = hub_store_status_json (s);
    CHECK (json_integer_value (json_object_get (st, "reports")) == 2);
    CHECK (json_integer_value (json_object_get (st, "duplicates")) == 2);
    CHECK (json_integer_value (json_object_get (st, "nacks")) == 4);
    json_decref (st);

    //  A form that now refuses everything (a form pack changed since): a
    //  resend of a stored report is still acknowledged, under its
    //  report_id or its natural key; a clash is still a conflict; only a
    //  new report gets the form's refusal, and nothing of it is stored.
    CHECK (hub_store_begin (s) == 0);
    s_report (&r, id, 1, "U1", 1, cells, 10);
    hub_store_report (s, KEY, &r, 5000, s_refuse_all, NULL, &res);
    CHECK (res.ack && res.duplicate && res.receipt == 1);
    s_report (&r, id, 8, "U1", 1, cells, 10);
    hub_store_report (s, KEY, &r, 5000, s_refuse_all, NULL, &res);
    CHECK (res.ack && res.duplicate && res.receipt == 1);
    s_report (&r, id, 9, "U1", 1, cells, 13);
    hub_store_report (s, KEY, &r, 5000, s_refuse_all, NULL, &res);
    CHECK (!res.ack && strcmp (res.code, "conflict") == 0);
    s_report (&r, id, 10, "U1", 7, cells, 13);
    hub_store_report (s, KEY, &r, 5000, s_refuse_all, NULL, &res);
    CHECK (!res.ack && res.permanent && strcmp (res.code, "refused") == 0 &&
           strcmp (res.reason, "the form says no") == 0);
    //  The same new report without the refusal: stored (receipt 3).
    hub_store_report (s, KEY, &r, 5000, NULL, NULL, &res);
    CHECK (res.ack && !res.duplicate && res.receipt == 3);
    CHECK (hub_store_commit (s) == 0);

    //  Revocation: refused at ZAP, and its reports held back (a transient
    //  NACK: they wait at the agent in case the key comes back).
    CHECK (hub_store_revoke (s, KEY, err, sizeof err) == 0);
    CHECK (!hub_store_key_admitted (s, KEY));
    CHECK (hub_store_begin (s) == 0);
    s_report (&r, id, 7, "U1", 3, cells, 1);
    hub_store_report (s, KEY, &r, 4000, NULL, NULL, &res);
    CHECK (!res.ack && !res.permanent && strcmp (res.code, "revoked") == 0);
    CHECK (hub_store_commit (s) == 0);
    CHECK (hub_store_enroll (s, KEY, units, err, sizeof err) == 0);

    //  A revocation through another connection (gom-hub revoke while the
    //  hub runs) counts at the next batch, whatever this one remembers of
    //  the key's enrollment; so does enrolling it again.
    hub_store_t *other = hub_store_open (db, keys, false, err, sizeof err);
    CHECK (other != NULL);
    CHECK (hub_store_begin (s) == 0);
    s_report (&r, id, 11, "U1", 4, cells, 1);
    hub_store_report (s, KEY, &r, 6000, NULL, NULL, &res);
    CHECK (res.ack && !res.duplicate);
    CHECK (hub_store_commit (s) == 0);
    CHECK (other && hub_store_revoke (other, KEY, err, sizeof err) == 0);
    CHECK (hub_store_begin (s) == 0);
    s_report (&r, id, 12, "U1", 5, cells, 1);
    hub_store_report (s, KEY, &r, 6000, NULL, NULL, &res);
    CHECK (!res.ack && strcmp (res.code, "revoked") == 0);
    CHECK (hub_store_commit (s) == 0);
    CHECK (other && hub_store_enroll (other, KEY, units, err, sizeof err) == 0);
    CHECK (hub_store_begin (s) == 0);
    hub_store_report (s, KEY, &r, 6000, NULL, NULL, &res);
    CHECK (res.ack && !res.duplicate);
    CHECK (hub_store_commit (s) == 0);
    hub_store_destroy (&other);
    hub_store_destroy (&s);
    CHECK (s == NULL);

    //  Reports stored as the bytes they came as (gom-hub's loop passes the
    //  report's bytes off the wire): rule 4 compares contents canonically,
    //  whichever way each was stored; the stored bytes read as the report.
    s = hub_store_open (db, keys, false, err, sizeof err);
    CHECK (s != NULL);
    if (!s)
        CHECK_DONE ();
    uint8_t b1 [256];
    hub_prepared_t prep;
    CHECK (hub_store_begin (s) == 0);
    s_report (&r, id, 20, "U1", 6, cells, 20);
    r.sealed_at_ms = 111;
    size_t b1_len = gom__report__pack (&r, b1);
    hub_report_prepare (&prep, &r, b1, b1_len, NULL, NULL, NULL);
    CHECK (prep.content == b1 && !prep.content_owned);
    hub_prepared_free (&prep);
    s_store_packed (s, &r, 7000, &res);
    CHECK (res.ack && !res.duplicate);
    uint64_t stored = res.receipt;
    //  The same bytes again (a resend): a duplicate.
    s_store_packed (s, &r, 7001, &res);
    CHECK (res.ack && res.duplicate && res.receipt == stored);
    //  The same report_id and content, sealed at another time (other
    //  bytes): a duplicate all the same.
    r.sealed_at_ms = 222;
    s_store_packed (s, &r, 7002, &res);
    CHECK (res.ack && res.duplicate && res.receipt == stored);
    //  Its natural key under another report_id, given without bytes (the
    //  canonical content): a duplicate; with other content, a conflict.
    s_report (&r, id, 21, "U1", 6, cells, 20);
    hub_store_report (s, KEY, &r, 7003, NULL, NULL, &res);
    CHECK (res.ack && res.duplicate && res.receipt == stored);
    s_report (&r, id, 22, "U1", 6, cells, 21);
    s_store_packed (s, &r, 7004, &res);
    CHECK (!res.ack && strcmp (res.code, "conflict") == 0);
    //  Receipt 1, stored as canonical content, sent again as bytes.
    s_report (&r, id, 1, "U1", 1, cells, 10);
    r.sealed_at_ms = 333;
    s_store_packed (s, &r, 7005, &res);
    CHECK (res.ack && res.duplicate && res.receipt == 1);
    //  ... and with other content under its report_id: refused.
    s_report (&r, id, 1, "U1", 1, cells, 99);
    s_store_packed (s, &r, 7006, &res);
    CHECK (!res.ack && strcmp (res.code, "id-reused") == 0);
    CHECK (hub_store_commit (s) == 0);
    //  What is stored is the bytes, and they read as the report's cells.
    sqlite3_stmt *q = gom_db_prepare (
        hub_store_db (s), "SELECT content FROM reports WHERE receipt = ?");
    CHECK (q != NULL);
    if (q) {
        sqlite3_bind_int64 (q, 1, (int64_t)stored);
        CHECK (sqlite3_step (q) == SQLITE_ROW);
        CHECK ((size_t)sqlite3_column_bytes (q, 0) == b1_len &&
               memcmp (sqlite3_column_blob (q, 0), b1, b1_len) == 0);
        json_t *jc = hub_store_cells_json (sqlite3_column_blob (q, 0),
                                           (size_t)sqlite3_column_bytes (q, 0));
        CHECK (json_integer_value (json_object_get (jc, "A")) == 20 &&
               json_object_size (jc) == 1);
        json_decref (jc);
        sqlite3_finalize (q);
    }
    hub_store_destroy (&s);

    //  Reopen: same id. Replace hub.db: new id, keys kept.
    s = hub_store_open (db, keys, false, err, sizeof err);
    CHECK (s && strcmp (hub_store_db_id (s), id1) == 0);
    hub_store_destroy (&s);
    char cmd [1000];
    snprintf (cmd, sizeof cmd, "rm -f '%s' '%s-wal' '%s-shm'", db, db, db);
    CHECK (system (cmd) == 0);
    s = hub_store_open (db, keys, true, err, sizeof err);
    CHECK (s && strcmp (hub_store_db_id (s), id1) != 0);
    CHECK (s && hub_store_key_admitted (s, KEY));
    hub_store_destroy (&s);
    free (id1);
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system (cmd) != 0)
        fprintf (stderr, "could not remove %s\n", dir);
    CHECK_DONE ();
}
