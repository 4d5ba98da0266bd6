//  bench_ingest_floor: the least a hub must do for durable ingest on this
//  stack, to measure gom-hub against (tests/bench/run, step 1c). It is not
//  gom-hub: it speaks just enough of the wire contract for gom_load (a
//  Welcome to every Hello, an Ack to every Report), on the hub's endpoint
//  and with the hub's key from DIR/hub.cfg, and does for each report only
//  what no durable hub can skip:
//    - CURVE (libzmq decrypts each report and encrypts each Ack), and the
//      sender's key from the connection (ZAP sets it; read per message);
//    - the Envelope unpacked (gom_wire_decode, as gom-hub does);
//    - with --store sqlite: one row a report in one table with the two
//      unique keys of DESIGN.md (report_id; unit, form, period,
//      revision), the message as received as its content, the reports of
//      a batch (what has arrived, at most --batch-max) in one transaction,
//      committed in WAL mode with synchronous=FULL (fsync'd before any Ack
//      of the batch is sent), sqlite's own checkpointing;
//      with --store none: the Ack at once, nothing stored (the transport's
//      floor);
//    - an Ack a report, duplicates answered as such.
//  What gom-hub does beside this and the floor does not: the form's checks
//  and the unit tree's, the key's authorization for the unit (a secure hub
//  cannot skip it: the floor is optimistic there), the canonical content,
//  texts,
//  the rate limits, the memory guard, the dashboard's feed, NACKs with
//  reasons, the writer and checkpointer threads.
//
//  Usage: bench_ingest_floor --hub-config DIR/hub.cfg [--store sqlite|none]
//                            [--db FILE] [--batch-max N]
//  Prints "listening on ENDPOINT" on stderr once bound; runs until SIGTERM
//  or SIGINT, then prints its counts on stderr.

#include "gom_config.h"
#include "gom_keys.h"
#include "gom_util.h"
#include "gom_wire.h"

#include <czmq.h>
#include <getopt.h>
#include <signal.h>
#include <sqlite3.h>

static volatile sig_atomic_t s_stop;

static void
s_on_signal (int sig)
{
    (void)sig;
    s_stop = 1;
}

typedef struct {
    zmq_msg_t id;          //  the sender's routing id
    gom_wire_msg_t *wire;  //  the report, decoded
    zmq_msg_t payload;     //  as received: stored as the content
} item_t;

typedef struct {
    void *router;
    void *zap;
    sqlite3 *db;  //  NULL with --store none
    sqlite3_stmt *insert;
    sqlite3_stmt *find;
    item_t *items;
    int64_t *receipt;  //  per item of the batch: 0 = not stored
    bool *dup;
    size_t n_items, batch_max;
    int64_t reports, duplicates, conflicts, hellos, bad, commits;
} floor_t;

//  Answers one ZAP request: every CURVE key is let in, with its Z85 text as
//  User-Id (the hub's ZAP looks the key up in keys.db, once a connection).
static void
s_zap (floor_t *F)
{
    zmq_msg_t part [7];
    int n = 0, more = 1;
    while (more && n < 7) {
        zmq_msg_init (&part [n]);
        if (zmq_msg_recv (&part [n], F->zap, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&part [n]);
            break;
        }
        more = zmq_msg_more (&part [n++]);
    }
    char key [41] = "";
    if (n == 7 && zmq_msg_size (&part [6]) == 32)
        zmq_z85_encode (key, zmq_msg_data (&part [6]), 32);
    const char *status = *key ? "200" : "400";
    const char *reply [] = { "1.0", "", status, "", key, "" };
    for (int i = 0; i < 6; i++) {
        const void *data = reply [i];
        size_t size = strlen (reply [i]);
        if (i == 1 && n > 1) {  //  the request id, echoed
            data = zmq_msg_data (&part [1]);
            size = zmq_msg_size (&part [1]);
        }
        zmq_send (F->zap, data, size, i < 5 ? ZMQ_SNDMORE : 0);
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close (&part [i]);
}

static void
s_send (floor_t *F, zmq_msg_t *id, Gom__Envelope *env)
{
    size_t len;
    uint8_t *buf = gom_wire_encode (env, &len);
    if (!buf)
        return;
    zmq_msg_t copy;
    zmq_msg_init (&copy);
    zmq_msg_copy (&copy, id);
    if (zmq_msg_send (&copy, F->router, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        zmq_msg_close (&copy);
    else
        zmq_send (F->router, buf, len, ZMQ_DONTWAIT);
    free (buf);
}

//  A new report_id on a natural key already stored: refused for good, as
//  gom-hub refuses it (rule 4), without its lookup of the next revision.
static void
s_conflict (floor_t *F, item_t *it)
{
    Gom__Nack nack = GOM__NACK__INIT;
    nack.report_id = gom_wire_env (it->wire)->report->report_id;
    nack.kind = GOM__NACK__KIND__PERMANENT;
    nack.code = "conflict";
    nack.reason = "this natural key is already stored with another report_id";
    Gom__Envelope env = GOM__ENVELOPE__INIT;
    env.body_case = GOM__ENVELOPE__BODY_NACK;
    env.nack = &nack;
    s_send (F, &it->id, &env);
}

static void
s_ack (floor_t *F, item_t *it, int64_t receipt, int64_t at_ms, bool dup)
{
    Gom__Ack ack = GOM__ACK__INIT;
    ack.report_id = gom_wire_env (it->wire)->report->report_id;
    ack.receipt = (uint64_t)receipt;
    ack.hub_time_ms = at_ms;
    ack.duplicate = dup;
    Gom__Envelope env = GOM__ENVELOPE__INIT;
    env.body_case = GOM__ENVELOPE__BODY_ACK;
    env.ack = &ack;
    s_send (F, &it->id, &env);
}

//  Stores the batch in one transaction (or not at all with --store none),
//  then answers it. -1 if the database failed.
static int
s_flush (floor_t *F)
{
    int64_t now = gom_now_ms ();
    int rc = 0;
    int64_t *receipt = F->receipt;
    bool *dup = F->dup;
    memset (receipt, 0, F->n_items * sizeof *receipt);
    memset (dup, 0, F->n_items * sizeof *dup);
    if (F->db && F->n_items) {
        rc = sqlite3_exec (F->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0
                                                                          : -1;
        for (size_t i = 0; rc == 0 && i < F->n_items; i++) {
            item_t *it = &F->items [i];
            Gom__Report *r = gom_wire_env (it->wire)->report;
            const char *user = zmq_msg_gets (&it->payload, "User-Id");
            sqlite3_stmt *s = F->insert;
            sqlite3_bind_blob (s, 1, r->report_id.data, (int)r->report_id.len,
                               SQLITE_STATIC);
            sqlite3_bind_text (s, 2, user ? user : "", -1, SQLITE_STATIC);
            sqlite3_bind_text (s, 3, r->unit, -1, SQLITE_STATIC);
            sqlite3_bind_text (s, 4, r->form, -1, SQLITE_STATIC);
            sqlite3_bind_text (s, 5, r->period, -1, SQLITE_STATIC);
            sqlite3_bind_int64 (s, 6, r->revision);
            sqlite3_bind_int64 (s, 7, now);
            sqlite3_bind_blob (s, 8, zmq_msg_data (&it->payload),
                               (int)zmq_msg_size (&it->payload), SQLITE_STATIC);
            int step = sqlite3_step (s);
            sqlite3_reset (s);
            if (step != SQLITE_DONE) {
                rc = -1;
                break;
            }
            if (sqlite3_changes (F->db) == 1) {
                receipt [i] = sqlite3_last_insert_rowid (F->db);
                continue;
            }
            //  Already stored (a resend): its first receipt.
            sqlite3_bind_blob (F->find, 1, r->report_id.data,
                               (int)r->report_id.len, SQLITE_STATIC);
            if (sqlite3_step (F->find) == SQLITE_ROW) {
                receipt [i] = sqlite3_column_int64 (F->find, 0);
                dup [i] = true;
            }
            sqlite3_reset (F->find);
        }
        if (rc == 0 && sqlite3_exec (F->db, "COMMIT", NULL, NULL, NULL) != 0)
            rc = -1;
        if (rc != 0) {
            fprintf (stderr, "bench_ingest_floor: %s\n",
                     sqlite3_errmsg (F->db));
            sqlite3_exec (F->db, "ROLLBACK", NULL, NULL, NULL);
        }
        F->commits++;
    }
    for (size_t i = 0; i < F->n_items; i++) {
        item_t *it = &F->items [i];
        if (rc == 0 && (!F->db || receipt [i])) {
            s_ack (F, it, F->db ? receipt [i] : F->reports + 1, now, dup [i]);
            F->reports++;
            F->duplicates += dup [i];
        }
        else if (rc == 0) {
            s_conflict (F, it);
            F->conflicts++;
        }
        zmq_msg_close (&it->id);
        zmq_msg_close (&it->payload);
        gom_wire_msg_destroy (&it->wire);
    }
    F->n_items = 0;
    return rc;
}

//  Reads what has arrived, at most batch_max reports; answers hellos at
//  once and keeps reports for s_flush.
static void
s_receive (floor_t *F)
{
    while (F->n_items < F->batch_max) {
        item_t *it = &F->items [F->n_items];
        zmq_msg_init (&it->id);
        zmq_msg_init (&it->payload);
        if (zmq_msg_recv (&it->id, F->router, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&it->id);
            zmq_msg_close (&it->payload);
            return;
        }
        if (!zmq_msg_more (&it->id) ||
            zmq_msg_recv (&it->payload, F->router, ZMQ_DONTWAIT) < 0 ||
            zmq_msg_more (&it->payload)) {
            //  Not [id][envelope]: dropped, with any rest of it.
            F->bad++;
            while (zmq_msg_more (&it->payload) &&
                   zmq_msg_recv (&it->payload, F->router, ZMQ_DONTWAIT) >= 0)
                ;
            zmq_msg_close (&it->id);
            zmq_msg_close (&it->payload);
            continue;
        }
        size_t size = zmq_msg_size (&it->payload);
        it->wire = gom_wire_decode (zmq_msg_data (&it->payload), size,
                                    8 * size + 65536);
        Gom__Envelope *env = gom_wire_env (it->wire);
        if (env && env->body_case == GOM__ENVELOPE__BODY_REPORT &&
            env->report->report_id.len == 16) {
            F->n_items++;
            continue;
        }
        if (env && env->body_case == GOM__ENVELOPE__BODY_HELLO) {
            Gom__Welcome w = GOM__WELCOME__INIT;
            w.hub_db_id = "bench-ingest-floor";
            w.hub_time_ms = gom_now_ms ();
            w.max_report_bytes = 1 << 20;
            Gom__Envelope out = GOM__ENVELOPE__INIT;
            out.body_case = GOM__ENVELOPE__BODY_WELCOME;
            out.welcome = &w;
            s_send (F, &it->id, &out);
            F->hellos++;
        }
        else
            F->bad++;
        zmq_msg_close (&it->id);
        zmq_msg_close (&it->payload);
        gom_wire_msg_destroy (&it->wire);
    }
}

static int
s_open_db (floor_t *F, const char *path)
{
    if (sqlite3_open (path, &F->db) != SQLITE_OK)
        return -1;
    const char *schema =
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=FULL;"
        "CREATE TABLE IF NOT EXISTS reports ("
        " receipt INTEGER PRIMARY KEY,"
        " report_id BLOB NOT NULL UNIQUE,"
        " agent TEXT NOT NULL,"
        " unit TEXT NOT NULL, form TEXT NOT NULL, period TEXT NOT NULL,"
        " revision INTEGER NOT NULL,"
        " received_ms INTEGER NOT NULL,"
        " content BLOB NOT NULL,"
        " UNIQUE (unit, form, period, revision));";
    if (sqlite3_exec (F->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2 (F->db,
                            "INSERT INTO reports (report_id, agent, unit, "
                            "form, period, revision, received_ms, content) "
                            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
                            "ON CONFLICT DO NOTHING",
                            -1, &F->insert, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2 (F->db,
                            "SELECT receipt FROM reports WHERE report_id = ?1",
                            -1, &F->find, NULL) != SQLITE_OK)
        return -1;
    return 0;
}

int
main (int argc, char **argv)
{
    const char *cfg_path = NULL, *store = "sqlite", *db_path = NULL;
    long batch_max = 2048;
    static const struct option longs [] = {
        { "hub-config", required_argument, NULL, 'c' },
        { "store", required_argument, NULL, 's' },
        { "db", required_argument, NULL, 'd' },
        { "batch-max", required_argument, NULL, 'b' },
        { NULL, 0, NULL, 0 }
    };
    int c;
    while ((c = getopt_long (argc, argv, "", longs, NULL)) != -1) {
        if (c == 'c')
            cfg_path = optarg;
        else if (c == 's')
            store = optarg;
        else if (c == 'd')
            db_path = optarg;
        else if (c == 'b')
            batch_max = atol (optarg);
        else
            return 2;
    }
    bool sqlite = strcmp (store, "sqlite") == 0;
    if (!cfg_path || (!sqlite && strcmp (store, "none")) || batch_max < 1 ||
        batch_max > 1000000) {
        fprintf (stderr,
                 "usage: %s --hub-config DIR/hub.cfg [--store sqlite|none] "
                 "[--db FILE] [--batch-max N]\n",
                 argv [0]);
        return 2;
    }
    zsys_handler_set (NULL);
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;  //  no SA_RESTART: zmq_poll returns
    sigaction (SIGTERM, &sa, NULL);
    sigaction (SIGINT, &sa, NULL);

    char err [512];
    gom_config_t *cfg = gom_config_load (cfg_path, "hub", err, sizeof err);
    if (!cfg) {
        fprintf (stderr, "bench_ingest_floor: %s\n", err);
        return 1;
    }
    char *cert_path = gom_config_file (cfg, "cert", "hub.cert");
    zcert_t *cert = gom_keys_load (cert_path, err, sizeof err);
    free (cert_path);
    if (!cert) {
        fprintf (stderr, "bench_ingest_floor: %s\n", err);
        return 1;
    }
    const char *endpoint = gom_config_str (cfg, "endpoint", "tcp://*:7770");

    floor_t F;
    memset (&F, 0, sizeof F);
    F.batch_max = (size_t)batch_max;
    F.items = calloc (F.batch_max, sizeof *F.items);
    F.receipt = calloc (F.batch_max, sizeof *F.receipt);
    F.dup = calloc (F.batch_max, sizeof *F.dup);
    if (!F.items || !F.receipt || !F.dup) {
        fprintf (stderr, "bench_ingest_floor: out of memory\n");
        return 1;
    }
    char *path = NULL;
    if (sqlite) {
        path = db_path ? strdup (db_path)
                       : gom_config_file (cfg, "floor_database", "floor.db");
        if (s_open_db (&F, path) != 0) {
            fprintf (stderr, "bench_ingest_floor: %s: %s\n", path,
                     F.db ? sqlite3_errmsg (F.db) : "cannot open");
            return 1;
        }
    }
    void *ctx = zmq_ctx_new ();
    F.zap = zmq_socket (ctx, ZMQ_REP);
    F.router = zmq_socket (ctx, ZMQ_ROUTER);
    int one = 1, zero = 0;
    zmq_setsockopt (F.router, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt (F.zap, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_bind (F.zap, "inproc://zeromq.zap.01") != 0 ||
        zmq_setsockopt (F.router, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt (F.router, ZMQ_CURVE_SECRETKEY, zcert_secret_key (cert),
                        32) != 0 ||
        zmq_setsockopt (F.router, ZMQ_ZAP_DOMAIN, "gom", 3) != 0 ||
        zmq_bind (F.router, endpoint) != 0) {
        fprintf (stderr, "bench_ingest_floor: %s: %s\n", endpoint,
                 zmq_strerror (zmq_errno ()));
        return 1;
    }
    zcert_destroy (&cert);
    fprintf (stderr, "bench_ingest_floor: listening on %s, store %s\n",
             endpoint, store);

    int rc = 0;
    while (!s_stop && rc == 0) {
        zmq_pollitem_t items [] = { { F.router, 0, ZMQ_POLLIN, 0 },
                                    { F.zap, 0, ZMQ_POLLIN, 0 } };
        //  A finite wait: a stop signal that came while storing is seen.
        if (zmq_poll (items, 2, 100) < 1)
            continue;
        if (items [1].revents & ZMQ_POLLIN)
            s_zap (&F);
        if (items [0].revents & ZMQ_POLLIN) {
            s_receive (&F);
            rc = s_flush (&F);
        }
    }
    fprintf (stderr,
             "bench_ingest_floor: %" PRId64 " reports answered (%" PRId64
             " duplicates), %" PRId64 " conflicts, in %" PRId64
             " commits, %" PRId64 " hellos, %" PRId64 " bad messages\n",
             F.reports, F.duplicates, F.conflicts, F.commits, F.hellos, F.bad);
    zmq_close (F.router);
    zmq_close (F.zap);
    zmq_ctx_term (ctx);
    sqlite3_finalize (F.insert);
    sqlite3_finalize (F.find);
    sqlite3_close (F.db);
    free (path);
    free (F.items);
    free (F.receipt);
    free (F.dup);
    gom_config_destroy (&cfg);
    return rc == 0 ? 0 : 1;
}
