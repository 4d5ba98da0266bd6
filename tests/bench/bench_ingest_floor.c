//  bench_ingest_floor: the least a hub must do for durable ingest on this
//  stack, to measure gom-hub against (tests/bench/run, step 1c). It is not
//  gom-hub: it speaks just enough of the wire contract for gom_load (a
//  Welcome to every Hello, an Ack to every Report), on the hub's endpoint
//  and with the hub's key from DIR/hub.cfg, and does for each report what
//  a durable, duplicate-safe hub must, and little else:
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
//    - an Ack a report, duplicates answered as such, a natural-key clash
//      refused.
//  With --pipeline a second thread stores and commits each batch while
//  the first reads, decodes and answers (as gom-hub's writer thread does);
//  without, one thread reads, stores, then answers.
//  What gom-hub does beside this and the floor does not: the form's checks
//  and the unit tree's, the key's authorization for the unit (a secure hub
//  cannot skip it: the floor is optimistic there), the canonical content,
//  texts, the rate limits, the memory guard, the dashboard's feed, NACKs
//  with reasons, a checkpointer thread.
//
//  Usage: bench_ingest_floor --hub-config DIR/hub.cfg [--store sqlite|none]
//                            [--db FILE] [--batch-max N] [--pipeline]
//  Prints "listening on ENDPOINT" on stderr once bound; runs until SIGTERM
//  or SIGINT, then prints its counts on stderr.

#include "gom_config.h"
#include "gom_keys.h"
#include "gom_util.h"
#include "gom_wire.h"

#include <czmq.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/eventfd.h>

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

//  What has arrived, then stored, then answered.
typedef struct {
    item_t *items;
    int64_t *receipt;  //  per item: 0 = not stored
    bool *dup;
    size_t n_items;
    int64_t now_ms;  //  when it was stored
    int rc;          //  of storing it: -1 if the database failed
} batch_t;

typedef struct {
    void *router;
    void *zap;
    sqlite3 *db;  //  NULL with --store none
    sqlite3_stmt *insert;
    sqlite3_stmt *find;
    size_t batch_max;
    batch_t pair [2];
    //  --pipeline: a committer thread stores the batch in `out` while this
    //  thread reads the next one, and says it is done on `done`.
    pthread_t committer;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    batch_t *out;  //  the batch the committer has (NULL: none)
    bool stopping;
    int done;  //  eventfd
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

//  Empties a batch without answering it (at a stop: its agents resend).
static void
s_drop (batch_t *b)
{
    for (size_t i = 0; i < b->n_items; i++) {
        zmq_msg_close (&b->items [i].id);
        zmq_msg_close (&b->items [i].payload);
        gom_wire_msg_destroy (&b->items [i].wire);
    }
    b->n_items = 0;
}

//  Stores the batch in one transaction (or not at all with --store none);
//  b->rc is -1 if the database failed.
static void
s_store (floor_t *F, batch_t *b)
{
    int64_t now = gom_now_ms ();
    int rc = 0;
    int64_t *receipt = b->receipt;
    bool *dup = b->dup;
    memset (receipt, 0, b->n_items * sizeof *receipt);
    memset (dup, 0, b->n_items * sizeof *dup);
    if (F->db && b->n_items) {
        rc = sqlite3_exec (F->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0
                                                                          : -1;
        for (size_t i = 0; rc == 0 && i < b->n_items; i++) {
            item_t *it = &b->items [i];
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
    b->now_ms = now;
    b->rc = rc;
}

//  Answers a stored batch and empties it. -1 if it could not be stored
//  (nothing is answered then).
static int
s_answer (floor_t *F, batch_t *b)
{
    int rc = b->rc;
    int64_t now = b->now_ms, *receipt = b->receipt;
    bool *dup = b->dup;
    for (size_t i = 0; i < b->n_items; i++) {
        item_t *it = &b->items [i];
        if (rc == 0 && (!F->db || receipt [i])) {
            s_ack (F, it, F->db ? receipt [i] : F->reports + 1, now, dup [i]);
            F->reports++;
            F->duplicates += dup [i];
        }
        else if (rc == 0) {
            s_conflict (F, it);
            F->conflicts++;
        }
    }
    s_drop (b);
    return rc;
}

//  Reads what has arrived, at most batch_max reports; answers hellos at
//  once and keeps reports for s_flush.
static void
s_receive (floor_t *F, batch_t *b)
{
    while (b->n_items < F->batch_max) {
        item_t *it = &b->items [b->n_items];
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
            b->n_items++;
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

//  --pipeline: stores each batch it is given, and says so on F->done.
static void *
s_committer (void *arg)
{
    floor_t *F = arg;
    pthread_mutex_lock (&F->lock);
    while (!F->stopping) {
        if (!F->out) {
            pthread_cond_wait (&F->cond, &F->lock);
            continue;
        }
        batch_t *b = F->out;
        pthread_mutex_unlock (&F->lock);
        s_store (F, b);
        uint64_t one = 1;
        if (write (F->done, &one, sizeof one) != sizeof one)
            abort ();
        pthread_mutex_lock (&F->lock);
        //  F->out stays set until the main thread has answered it.
        while (F->out == b && !F->stopping)
            pthread_cond_wait (&F->cond, &F->lock);
    }
    pthread_mutex_unlock (&F->lock);
    return NULL;
}

static void
s_hand (floor_t *F, batch_t *b)
{
    pthread_mutex_lock (&F->lock);
    F->out = b;
    pthread_cond_signal (&F->cond);
    pthread_mutex_unlock (&F->lock);
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
    bool pipeline = false;
    static const struct option longs [] = {
        { "hub-config", required_argument, NULL, 'c' },
        { "store", required_argument, NULL, 's' },
        { "db", required_argument, NULL, 'd' },
        { "batch-max", required_argument, NULL, 'b' },
        { "pipeline", no_argument, NULL, 'P' },
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
        else if (c == 'P')
            pipeline = true;
        else
            return 2;
    }
    bool sqlite = strcmp (store, "sqlite") == 0;
    if (!cfg_path || (!sqlite && strcmp (store, "none")) || batch_max < 1 ||
        batch_max > 1000000) {
        fprintf (stderr,
                 "usage: %s --hub-config DIR/hub.cfg [--store sqlite|none] "
                 "[--db FILE] [--batch-max N] [--pipeline]\n",
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
    for (int i = 0; i < 2; i++) {
        batch_t *b = &F.pair [i];
        b->items = calloc (F.batch_max, sizeof *b->items);
        b->receipt = calloc (F.batch_max, sizeof *b->receipt);
        b->dup = calloc (F.batch_max, sizeof *b->dup);
        if (!b->items || !b->receipt || !b->dup) {
            fprintf (stderr, "bench_ingest_floor: out of memory\n");
            return 1;
        }
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
    F.done = -1;
    if (pipeline) {
        pthread_mutex_init (&F.lock, NULL);
        pthread_cond_init (&F.cond, NULL);
        F.done = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (F.done < 0 ||
            pthread_create (&F.committer, NULL, s_committer, &F) != 0) {
            fprintf (stderr,
                     "bench_ingest_floor: cannot start the committer\n");
            return 1;
        }
    }
    fprintf (stderr, "bench_ingest_floor: listening on %s, store %s%s\n",
             endpoint, store, pipeline ? ", pipelined" : "");

    int rc = 0;
    batch_t *fill = &F.pair [0], *out = NULL;  //  out: at the committer
    while (!s_stop && rc == 0) {
        //  A full batch waiting for the committer: the router waits too.
        short router_events = fill->n_items < F.batch_max ? ZMQ_POLLIN : 0;
        zmq_pollitem_t items [] = { { F.router, 0, router_events, 0 },
                                    { F.zap, 0, ZMQ_POLLIN, 0 },
                                    { NULL, F.done, ZMQ_POLLIN, 0 } };
        //  A finite wait: a stop signal that came while storing is seen.
        if (zmq_poll (items, pipeline ? 3 : 2, 100) < 1)
            continue;
        if (items [1].revents & ZMQ_POLLIN)
            s_zap (&F);
        if (pipeline && (items [2].revents & ZMQ_POLLIN)) {
            uint64_t n;
            if (read (F.done, &n, sizeof n) == sizeof n && out) {
                rc = s_answer (&F, out);
                //  The committer may take the next one.
                pthread_mutex_lock (&F.lock);
                F.out = NULL;
                pthread_cond_signal (&F.cond);
                pthread_mutex_unlock (&F.lock);
                out = NULL;
            }
        }
        if (items [0].revents & ZMQ_POLLIN)
            s_receive (&F, fill);
        if (!pipeline && fill->n_items) {
            s_store (&F, fill);
            rc = s_answer (&F, fill);
        }
        else if (pipeline && !out && fill->n_items) {
            out = fill;
            fill = fill == &F.pair [0] ? &F.pair [1] : &F.pair [0];
            s_hand (&F, out);
        }
    }
    if (pipeline) {
        pthread_mutex_lock (&F.lock);
        F.stopping = true;
        pthread_cond_signal (&F.cond);
        pthread_mutex_unlock (&F.lock);
        pthread_join (F.committer, NULL);
        close (F.done);
    }
    for (int i = 0; i < 2; i++)
        s_drop (&F.pair [i]);
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
    for (int i = 0; i < 2; i++) {
        free (F.pair [i].items);
        free (F.pair [i].receipt);
        free (F.pair [i].dup);
    }
    gom_config_destroy (&cfg);
    return rc == 0 ? 0 : 1;
}
