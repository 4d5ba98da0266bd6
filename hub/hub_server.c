/*  hub_server: see hub_server.h.

    Security shape (PITFALLS.md 3): the hub answers ZAP itself on
    inproc://zeromq.zap.01 from its own loop, with the key table in keys.db,
    so a key enrolled or revoked by another process counts at the next
    handshake, and there is no authenticator thread that could die and
    leave the door open. The ROUTER also sets ZAP_ENFORCE_DOMAIN (raw option
    93: czmq's setter is a no-op on Debian's build), so with no handler
    bound every handshake fails instead of passing.

    Delivery shape (DESIGN.md rules 3, 4; PITFALLS.md 1, 6): ROUTER_MANDATORY
    with SNDTIMEO 0, so an ACK to a vanished or slow agent is dropped at once
    instead of freezing the loop; the agent resends and gets the same
    receipt.

    Threads: this loop owns the sockets and the catalog (receives, decodes,
    checks limits, and prepares each report: its own checks, its content,
    its form's verdict, its unit chain; hub_report_prepare), and answers;
    one writer thread (s_writer) owns the database connection while it
    stores a batch, and does only database work, so that the next batch is
    received and the last one answered while one is being stored and
    committed. A batch goes to the writer and comes back through an inproc
    pipe, which orders every access: this loop uses the store only while no
    batch is out, and replaces the catalog only then (a batch out holds
    unit chains into it). ZAP reads keys.db through its own connection. */
#include "hub_server.h"
#include "gom_db.h"
#include "gom_fault.h"
#include "gom_keys.h"
#include "gom_notify.h"
#include "gom_report.h"
#include "gom_signals.h"
#include "gom_util.h"
#include "gom_wire.h"
#include "hub_catalog.h"
#include "hub_http.h"
#include "hub_store.h"

#include <czmq.h>
#include <malloc.h>

#define ZAP_ENFORCE_DOMAIN 93  //  DRAFT in zmq.h, honoured by 4.3.4

typedef struct {
    int64_t batch_max;          //  most messages in one transaction
    int64_t max_message_bytes;  //  MAXMSGSIZE on the ROUTER
    int64_t heartbeat_ivl_ms;
    int64_t heartbeat_timeout_ms;
    int64_t handshake_ivl_ms;
    int64_t backlog;
    int64_t io_threads;
    int64_t tcp_maxrt_ms;          //  TCP_USER_TIMEOUT on agents' connections
    int64_t max_cells_per_report;  //  more: permanent "too-large"
    int64_t max_text_bytes_per_report;  //  all texts together, bytes
    int64_t max_reports_per_minute;     //  per key; more: transient "rate"
    int64_t max_connections;   //  open connections; more: refused at ZAP
    int64_t revoked_retry_ms;  //  a revoked key's agent waits this long
    int64_t max_memory_mb;     //  resident memory that closes connections
} hub_options_t;

//  A token bucket per authenticated key (in memory only): it holds up to
//  max_reports_per_minute tokens, refills at that rate, and each report
//  message takes one. Empty: the report gets a transient "rate" NACK.
typedef struct {
    double tokens;      //  reports this key may send now
    int64_t refill_ms;  //  when tokens was last brought up to date
    int64_t logged_ms;  //  last "rate" log line for this key
    int64_t refused;    //  "rate" NACKs since that line
} hub_bucket_t;

typedef struct {
    bool held;                   //  id and payload hold a message
    zmq_msg_t id;                //  as received: its routing id
    zmq_msg_t payload;           //  and its data frame (the first, if more)
    gom_wire_msg_t *wire;        //  decoded payload
    char key [GOM_KEY_Z85 + 1];  //  authenticated sender
    bool reply;                  //  send out below
    Gom__Envelope out;           //  the reply
    union {
        Gom__Ack ack;
        Gom__Nack nack;
        Gom__Welcome welcome;
    } body;
    char **units;         //  welcome: enrolled units
    hub_prepared_t prep;  //  report: what this thread made of it
    hub_result_t result;  //  report: what the store decided
} hub_item_t;

//  Messages stored in one transaction. While the writer thread stores one
//  batch, the loop receives the next and sends the answers of the last.
typedef struct {
    hub_item_t *items;
    size_t n_items;
    size_t bytes;     //  raw bytes of its messages
    bool stored;      //  the writer committed it
    bool no_store;    //  there was no database: reports refused, transiently
    int64_t took_us;  //  the writer's time on it
    char db_id [65];  //  of the database it went to (for welcomes)
    bool store_down;  //  and after it the writer has no database
} hub_batch_t;

typedef struct {
    gom_config_t *cfg;
    hub_options_t opt;
    hub_store_t *store;
    hub_catalog_t *catalog;  //  form pack and unit tree
    char *db_path;
    char *keys_path;
    zsock_t *router;
    zsock_t *zap;
    zsock_t *monitor;   //  the ROUTER's accepts and disconnections
    zhashx_t *peers;    //  fds of open connections
    zhashx_t *buckets;  //  key -> hub_bucket_t, for max_reports_per_minute
    int64_t buckets_swept_ms;  //  when full buckets were last dropped
    hub_http_t *http;          //  the dashboard (NULL: off)
    int sigfd;
    //  The writer thread (s_writer) uses the store while a batch is out
    //  (out != NULL); this thread uses it only while none is. The catalog
    //  is this thread's; it is replaced only while none is out.
    zactor_t *writer;
    hub_batch_t pair [2];    //  one in hand, one at the writer or free
    hub_batch_t *fill;       //  the batch in hand
    hub_batch_t *out;        //  the batch at the writer, or NULL
    hub_batch_t idle;        //  an empty batch: the writer's idle work
    hub_store_t *zap_store;  //  its own connection, for ZAP's key lookups
    hub_ckpt_t *ckpt;        //  the checkpointer thread (NULL: the writer)
    bool store_down;    //  the writer had no database when it last answered
    int64_t reopen_ms;  //  when to try the database again
    char *bound;        //  the endpoint bound, as libzmq names it
    bool rx_partial;    //  a message cut off: its rest is drained first
    //  The memory guard (s_memory_guard)
    int64_t memory_check_ms;  //  when to look next
    int64_t idle_due_ms;      //  a second after the last message or idle
    int64_t memory_cut_ms;    //  when it last closed the connections
    bool memory_cut;          //  and memory has not come down since
    //  Counters for the periodic log line
    int64_t stored, dups, nacks, dropped_replies, batches;
    int64_t last_log_ms;
} hub_t;

static void
s_fingerprint (const char *key, char *fp)
{
    gom_key_fingerprint (key, fp, 16);
}

static void s_monitor_handle (hub_t *self);

//  ZAP (RFC 27): one request, one reply, in this thread.
static void
s_zap_handle (hub_t *self)
{
    //  The connection asking was accepted before its handshake began, so
    //  its ACCEPTED event is waiting on the monitor: read it first, and the
    //  count includes this connection.
    if (self->monitor)
        s_monitor_handle (self);
    zmsg_t *req;
    while ((req = zmsg_recv (self->zap))) {
        char *version = zmsg_popstr (req);
        char *request_id = zmsg_popstr (req);
        char *domain = zmsg_popstr (req);
        char *address = zmsg_popstr (req);
        char *identity = zmsg_popstr (req);
        char *mechanism = zmsg_popstr (req);
        zframe_t *cred = zmsg_pop (req);
        char key [GOM_KEY_Z85 + 1] = "";
        const char *status = "400", *text = "not enrolled";
        if (!version || strcmp (version, "1.0") || !mechanism ||
            strcmp (mechanism, "CURVE") || !cred || zframe_size (cred) != 32)
            text = "bad ZAP request";
        else {
            zmq_z85_encode (key, zframe_data (cred), 32);
            if (!self->zap_store || self->store_down) {
                //  No database: say "try later" (300 makes the client retry
                //  after the handshake interval, where 400 would stop it).
                status = "300";
                text = "hub database unavailable";
            }
            else if (hub_store_key_admitted (self->zap_store, key)) {
                //  libzmq accepts every TCP connection; refusing the
                //  handshake is where the hub can bound them. 400, not
                //  300: libzmq answers 300 with silence and holds the
                //  connection (and its fd) until handshake_ivl ends, and
                //  the agent learns nothing; after a 400 the connection
                //  closes at once and the agent rebuilds its socket after
                //  a doubling backoff (agent_sender.c).
                if (self->opt.max_connections && self->monitor &&
                    (int64_t)zhashx_size (self->peers) >
                        self->opt.max_connections) {
                    status = "400";
                    text = "too many connections";
                }
                else {
                    status = "200";
                    text = "OK";
                }
            }
        }
        if (strcmp (status, "200") != 0) {
            char fp [16];
            s_fingerprint (key, fp);
            zsys_warning ("zap: denied %s (%s) from %s: %s", key, fp,
                          address ? address : "?", text);
        }
        zmsg_t *rep = zmsg_new ();
        zmsg_addstr (rep, "1.0");
        zmsg_addstr (rep, request_id ? request_id : "");
        zmsg_addstr (rep, status);
        zmsg_addstr (rep, text);
        //  User-Id: the Z85 public key, which the ROUTER attaches to every
        //  message of this connection (PITFALLS.md 2).
        zmsg_addstr (rep, strcmp (status, "200") == 0 ? key : "");
        zmsg_addmem (rep, "", 0);
        if (zmsg_send (&rep, self->zap) != 0)
            zmsg_destroy (&rep);
        zstr_free (&version);
        zstr_free (&request_id);
        zstr_free (&domain);
        zstr_free (&address);
        zstr_free (&identity);
        zstr_free (&mechanism);
        zframe_destroy (&cred);
        zmsg_destroy (&req);
    }
}

static void
s_nack (hub_item_t *it, const ProtobufCBinaryData *report_id, bool permanent,
        const char *code, const char *reason)
{
    gom__nack__init (&it->body.nack);
    if (report_id)
        it->body.nack.report_id = *report_id;
    it->body.nack.kind =
        permanent ? GOM__NACK__KIND__PERMANENT : GOM__NACK__KIND__TRANSIENT;
    snprintf (it->result.code, sizeof it->result.code, "%s", code);
    snprintf (it->result.reason, sizeof it->result.reason, "%s", reason);
    it->body.nack.code = it->result.code;
    it->body.nack.reason = it->result.reason;
    it->out.body_case = GOM__ENVELOPE__BODY_NACK;
    it->out.nack = &it->body.nack;
    it->reply = true;
}

static void
s_bucket_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

//  Takes one token from key's bucket. False when it is empty, with *wait_ms
//  the time until the next token.
static bool
s_take_token (hub_t *self, const char *key, int64_t *wait_ms)
{
    int64_t now = gom_mono_ms ();
    double cap = (double)self->opt.max_reports_per_minute;
    if (now - self->buckets_swept_ms >= 60000) {
        //  A bucket untouched for a minute is full again: forget it, so the
        //  table holds only keys that sent reports in the last minute.
        //  (Keys are copied first: deleting while iterating is unsafe.)
        zlistx_t *keys = zhashx_keys (self->buckets);
        for (const char *k = zlistx_first (keys); k; k = zlistx_next (keys)) {
            hub_bucket_t *old = zhashx_lookup (self->buckets, k);
            if (now - old->refill_ms >= 60000)
                zhashx_delete (self->buckets, k);
        }
        zlistx_destroy (&keys);
        self->buckets_swept_ms = now;
    }
    hub_bucket_t *b = zhashx_lookup (self->buckets, key);
    if (!b) {
        b = calloc (1, sizeof *b);
        assert (b);
        b->tokens = cap;
        b->refill_ms = now;
        zhashx_insert (self->buckets, key, b);
    }
    b->tokens += (double)(now - b->refill_ms) * cap / 60000.0;
    if (b->tokens > cap)
        b->tokens = cap;
    b->refill_ms = now;
    if (b->tokens >= 1) {
        b->tokens -= 1;
        return true;
    }
    *wait_ms = (int64_t)((1 - b->tokens) * 60000.0 / cap) + 1;
    b->refused++;
    if (now - b->logged_ms >= 10000) {
        //  One line per key per 10 s, however hard it floods.
        char fp [16];
        s_fingerprint (key, fp);
        zsys_warning ("rate: %s over max_reports_per_minute = %" PRId64
                      ": %" PRId64 " report(s) refused (transient)",
                      fp, self->opt.max_reports_per_minute, b->refused);
        b->logged_ms = now;
        b->refused = 0;
    }
    return false;
}

//  The hub's limits on one report, before any database work: its key's
//  rate, its cells, its text bytes. Past one, answers the item (a NACK).
static void
s_limit_report (hub_t *self, hub_item_t *it, const Gom__Report *r)
{
    char reason [200];
    int64_t wait_ms = 0;
    if (self->opt.max_reports_per_minute &&
        !s_take_token (self, it->key, &wait_ms)) {
        snprintf (reason, sizeof reason,
                  "more than %" PRId64 " reports a minute from this agent "
                  "(max_reports_per_minute); send it again later",
                  self->opt.max_reports_per_minute);
        s_nack (it, &r->report_id, false, "rate", reason);
        it->body.nack.retry_after_ms =
            (uint32_t)(wait_ms < 3600000 ? wait_ms : 3600000);
        self->nacks++;
        return;
    }
    if (!hub_report_too_large (r, self->opt.max_cells_per_report,
                               self->opt.max_text_bytes_per_report, reason,
                               sizeof reason))
        return;
    char fp [16];
    s_fingerprint (it->key, fp);
    zsys_warning ("nack too-large to %s: %s r%u: %s", fp,
                  gom_code_valid (r->unit) ? r->unit : "(invalid unit)",
                  r->revision, reason);
    s_nack (it, &r->report_id, true, "too-large", reason);
    self->nacks++;
}

//  A report's checks, content, verdict and unit chain, made here so that
//  the writer does only database work, and never reads the catalog.
static void
s_prepare (hub_t *self, hub_item_t *it)
{
    size_t len;
    const uint8_t *bytes = gom_wire_report_bytes (it->wire, &len);
    hub_report_prepare (&it->prep, gom_wire_env (it->wire)->report, bytes, len,
                        hub_catalog_units (self->catalog), hub_catalog_validate,
                        self->catalog);
}

//  Closes the item's message (once).
static void
s_item_release (hub_item_t *it)
{
    if (!it->held)
        return;
    zmq_msg_close (&it->id);
    zmq_msg_close (&it->payload);
    it->held = false;
}

//  Receives and drops the rest of a message, after a frame that said more:
//  the frames dropped (their bytes added to *bytes, if not NULL), or -1 if
//  a receive failed.
static int
s_drop_rest (void *raw, size_t *bytes)
{
    int n = 0;
    for (bool more = true; more; n++) {
        zmq_msg_t frame;
        zmq_msg_init (&frame);
        if (zmq_msg_recv (&frame, raw, 0) < 0) {
            zmq_msg_close (&frame);
            return -1;
        }
        more = zmq_msg_more (&frame);
        if (bytes)
            *bytes += zmq_msg_size (&frame);
        zmq_msg_close (&frame);
    }
    return n;
}

//  Reads one message into the batch, or answers/drops it at once if it
//  cannot be read. Returns false when nothing was waiting.
static bool
s_receive (hub_t *self)
{
    //  libzmq's messages, not czmq's: no zmsg, zframes and list nodes made
    //  and freed for each of tens of thousands of reports a second.
    void *raw = zsock_resolve (self->router);
    if (self->rx_partial) {
        if (s_drop_rest (raw, NULL) < 0)
            return false;
        self->rx_partial = false;
    }
    hub_batch_t *b = self->fill;
    hub_item_t *it = &b->items [b->n_items];
    memset (it, 0, sizeof *it);
    zmq_msg_init (&it->id);
    if (zmq_msg_recv (&it->id, raw, 0) < 0) {  //  RCVTIMEO 0: none waiting
        zmq_msg_close (&it->id);
        return false;
    }
    it->held = true;
    gom__envelope__init (&it->out);
    //  The data frames: the first kept, any more counted and dropped.
    zmq_msg_init (&it->payload);
    b->bytes += zmq_msg_size (&it->id);
    size_t frames = 0;
    int extra = 0;
    if (zmq_msg_more (&it->id)) {
        if (zmq_msg_recv (&it->payload, raw, 0) < 0)
            extra = -1;
        else {
            frames = 1;
            b->bytes += zmq_msg_size (&it->payload);
            if (zmq_msg_more (&it->payload))
                extra = s_drop_rest (raw, &b->bytes);
        }
    }
    if (extra < 0) {
        //  Cannot happen (libzmq hands out a message only whole) but on
        //  ETERM: the rest is drained at the next call, never read as the
        //  next message's routing id; this one is dropped.
        zsys_error ("router: a message cut off in its frames (%s), dropped",
                    zmq_strerror (zmq_errno ()));
        self->rx_partial = true;
        s_item_release (it);
        return true;
    }
    frames += (size_t)extra;
    //  libzmq 4.3.4 attaches the connection's metadata to the data frames,
    //  not to the routing-id frame the ROUTER makes up (seen on Debian 12;
    //  PITFALLS.md 2 says otherwise).
    const char *user = frames ? zmq_msg_gets (&it->payload, "User-Id") : NULL;
    if (!user || !gom_key_valid (user)) {
        //  Cannot happen with ZAP enforced; if it does, trust nothing.
        zsys_error ("router: message without an authenticated key, "
                    "dropped");
        s_item_release (it);
        return true;
    }
    memcpy (it->key, user, sizeof it->key);  //  40 characters and a 0
    //  The key's fingerprint for a warning, made only for one (snprintf
    //  for every message cost more than a little).
    char fp [16];
    b->n_items++;
    if (frames != 1 || zmq_msg_size (&it->payload) == 0) {
        s_fingerprint (it->key, fp);
        if (frames != 1)
            zsys_warning ("router: %zu-frame message from %s: gom speaks "
                          "single-frame messages only",
                          frames, fp);
        else
            zsys_warning ("router: empty frame from %s", fp);
        s_nack (it, NULL, true, "malformed",
                "gom messages are exactly one non-empty frame");
        self->nacks++;
        return true;
    }
    //  Budget: 8 times the frame plus a little, well above what a real
    //  report needs and far below what a hostile one could ask for.
    size_t size = zmq_msg_size (&it->payload);
    it->wire = gom_wire_decode_keeping (zmq_msg_data (&it->payload), size,
                                        8 * size + 65536);
    gom_wire_status_t status = gom_wire_status (it->wire);
    if (status != GOM_WIRE_OK) {
        s_fingerprint (it->key, fp);
        zsys_warning ("router: from %s: %s", fp, gom_wire_error (it->wire));
        s_nack (it, NULL, true,
                status == GOM_WIRE_VERSION ? "version" : "malformed",
                gom_wire_error (it->wire));
        self->nacks++;
        return true;
    }
    Gom__Envelope *env = gom_wire_env (it->wire);
    if (env->body_case != GOM__ENVELOPE__BODY_HELLO &&
        env->body_case != GOM__ENVELOPE__BODY_REPORT) {
        s_fingerprint (it->key, fp);
        zsys_warning ("router: from %s: unexpected message type %d", fp,
                      (int)env->body_case);
        s_nack (it, NULL, true, "unexpected",
                "agents send hello and report only");
        self->nacks++;
    }
    else if (env->body_case == GOM__ENVELOPE__BODY_REPORT) {
        s_limit_report (self, it, env->report);
        if (!it->reply)
            s_prepare (self, it);
    }
    return true;
}

//  The store (authorizing with the unit chain each report was prepared
//  with: subtree enrollment).
static hub_store_t *
s_store_open (hub_t *self, char *err, size_t errlen)
{
    hub_store_t *store =
        hub_store_open (self->db_path, self->keys_path, true, err, errlen);
    //  16 MiB of page cache for the writer's connection only (sqlite's
    //  default is 2): a batch of 2,048 reports dirties about 3 MiB, and
    //  with 2 sqlite wrote pages to the WAL in the middle of the
    //  transaction (PcacheFetchStress in perf), some again at the commit.
    if (store)
        gom_db_exec (hub_store_db (store), "PRAGMA cache_size=-16384");
    return store;
}

//  Opens the database again; if it cannot, the next try is in 1 s.
static void
s_store_reopen (hub_t *self)
{
    char err [512];
    self->store = s_store_open (self, err, sizeof err);
    if (self->store)
        zsys_info ("store: database reopened");
    else {
        zsys_error ("store: %s; trying again in 1 s", err);
        self->reopen_ms = gom_mono_ms () + 1000;
    }
}

//  The writer thread's work on one batch: every message's database work in
//  one transaction, committed (fsync'd) before any of it is answered; then
//  a checkpoint if one is due. An empty batch is the loop saying it is idle:
//  checkpoint, or try the database again.
static void
s_write_batch (hub_t *self, hub_batch_t *b)
{
    b->stored = b->no_store = false;
    b->took_us = 0;
    if (!self->store && gom_mono_ms () >= self->reopen_ms)
        s_store_reopen (self);
    if (!self->store) {
        b->no_store = true;
        return;
    }
    if (b->n_items == 0) {
        hub_store_checkpoint (self->store, self->ckpt, true);
        return;
    }
    int64_t now = gom_now_ms ();
    int64_t started = gom_mono_us ();
    bool ok = hub_store_begin (self->store) == 0;
    for (size_t i = 0; ok && i < b->n_items; i++) {
        hub_item_t *it = &b->items [i];
        if (it->held && it->reply)
            hub_store_count_nack (self->store);  //  refused on arrival
        if (!it->held || it->reply)
            continue;
        Gom__Envelope *env = gom_wire_env (it->wire);
        if (env->body_case == GOM__ENVELOPE__BODY_HELLO) {
            const char *peer = zmq_msg_gets (&it->payload, "Peer-Address");
            hub_store_hello (self->store, it->key, env->hello, peer, now,
                             &it->units);
        }
        else
            hub_store_report_prepared (self->store, it->key, env->report, now,
                                       &it->prep, &it->result);
    }
    if (ok && hub_store_commit (self->store) != 0)
        ok = false;
    b->took_us = gom_mono_us () - started;
    b->stored = ok;
    //  A copy: the store may be reopened while this batch is answered.
    snprintf (b->db_id, sizeof b->db_id, "%s", hub_store_db_id (self->store));
    if (!ok) {
        //  Nothing of this batch may be acknowledged. Reopen the store: after
        //  an I/O error the connection can be left in an error state.
        zsys_error ("store: batch of %zu not stored; reopening the database",
                    b->n_items);
        hub_store_destroy (&self->store);
        s_store_reopen (self);
    }
    if (self->store)
        hub_store_checkpoint (self->store, self->ckpt, false);
}

//  The writer thread: takes a batch from the loop, stores it, gives it back.
static void
s_writer (zsock_t *pipe, void *arg)
{
    hub_t *self = arg;
    zsock_signal (pipe, 0);
    while (true) {
        zmsg_t *msg = zmsg_recv (pipe);
        zframe_t *frame = msg ? zmsg_first (msg) : NULL;
        if (!frame || zframe_size (frame) != sizeof (hub_batch_t *)) {
            zmsg_destroy (&msg);
            break;  //  $TERM
        }
        hub_batch_t *b;
        memcpy (&b, zframe_data (frame), sizeof b);
        zmsg_destroy (&msg);
        s_write_batch (self, b);
        b->store_down = !self->store;
        zsock_send (pipe, "p", b);
    }
}

//  The answer to every message of a batch back from the writer.
static void
s_answer (hub_t *self, hub_batch_t *b)
{
    bool ok = b->stored;
    if (ok)
        hub_http_commit (self->http, b->took_us);
    for (size_t i = 0; i < b->n_items; i++) {
        hub_item_t *it = &b->items [i];
        if (!it->held || it->reply)
            continue;
        Gom__Envelope *env = gom_wire_env (it->wire);
        if (b->no_store) {
            //  No database: refuse, transiently; agents resend later. A
            //  hello waits for the next try.
            if (env->body_case == GOM__ENVELOPE__BODY_REPORT)
                s_nack (it, &env->report->report_id, false, "storage",
                        "the hub's database is unavailable");
            continue;
        }
        if (env->body_case == GOM__ENVELOPE__BODY_HELLO) {
            if (!ok)
                continue;  //  the agent says hello again
            gom__welcome__init (&it->body.welcome);
            it->body.welcome.hub_db_id = b->db_id;
            it->body.welcome.hub_time_ms = gom_now_ms ();
            size_t n = 0;
            while (it->units && it->units [n])
                n++;
            it->body.welcome.n_units = n;
            it->body.welcome.units = it->units;
            it->body.welcome.max_report_bytes =
                (uint32_t)self->opt.max_message_bytes - 64;
            it->out.body_case = GOM__ENVELOPE__BODY_WELCOME;
            it->out.welcome = &it->body.welcome;
            it->reply = true;
            continue;
        }
        ProtobufCBinaryData *rid = &env->report->report_id;
        if (!ok) {
            s_nack (it, rid, false, "storage",
                    "the hub could not store this batch; send it again");
            self->nacks++;
        }
        else if (it->result.ack) {
            gom_fault_point ("hub-after-commit");  //  committed, not answered
            gom__ack__init (&it->body.ack);
            it->body.ack.report_id = *rid;
            it->body.ack.receipt = it->result.receipt;
            it->body.ack.hub_time_ms = it->result.hub_ms;
            it->body.ack.duplicate = it->result.duplicate;
            it->out.body_case = GOM__ENVELOPE__BODY_ACK;
            it->out.ack = &it->body.ack;
            it->reply = true;
            if (it->result.duplicate)
                self->dups++;
            else
                self->stored++;
        }
        else {
            hub_result_t res = it->result;
            s_nack (it, rid, res.permanent, res.code, res.reason);
            it->body.nack.use_revision = res.use_revision;
            //  A revoked key's agent waits before it tries again.
            if (strcmp (res.code, "revoked") == 0)
                it->body.nack.retry_after_ms =
                    (uint32_t)self->opt.revoked_retry_ms;
            self->nacks++;
            if (res.permanent) {
                char fp [16];
                s_fingerprint (it->key, fp);
                //  Only codes are printed: the peer's raw bytes (not UTF-8,
                //  newlines) never reach the log.
                const Gom__Report *r = env->report;
                zsys_info ("nack %s to %s: %s %s %s r%u: %s", res.code, fp,
                           gom_code_valid (r->unit) ? r->unit : "(invalid)",
                           gom_code_valid (r->form) ? r->form : "(invalid)",
                           gom_code_valid (r->period) ? r->period : "(invalid)",
                           r->revision, res.reason);
            }
        }
    }
    self->batches++;
}

//  Sends env to the peer with this routing id: packed on the stack when it
//  is small (an ACK, a NACK), in two zmq_send calls, with no czmq objects
//  made and freed for it. 0, or -1 if the ROUTER refused it.
static int
s_send (hub_t *self, zmq_msg_t *id, Gom__Envelope *env)
{
    uint8_t small [512];
    size_t len = 0;
    uint8_t *buf = gom_wire_encode_into (env, small, sizeof small, &len);
    void *raw = zsock_resolve (self->router);
    int rc = -1;
    if (buf &&
        zmq_send (raw, zmq_msg_data (id), zmq_msg_size (id), ZMQ_SNDMORE) >= 0)
        rc = zmq_send (raw, buf, len, 0) >= 0 ? 0 : -1;
    if (buf != small)
        free (buf);
    return rc;
}

typedef struct {
    hub_t *hub;
    zmq_msg_t *id;  //  routing id of the agent
} offer_t;

//  Sends one Form message; the agent caches it and checks reports with it.
static void
s_send_form (void *arg, const char *code, uint32_t version, const char *text,
             size_t len)
{
    offer_t *o = arg;
    Gom__Form form = GOM__FORM__INIT;
    form.code = (char *)code;
    form.version = version;
    form.definition.data = (uint8_t *)text;
    form.definition.len = len;
    Gom__Envelope env = GOM__ENVELOPE__INIT;
    env.body_case = GOM__ENVELOPE__BODY_FORM;
    env.form = &form;
    if (s_send (o->hub, o->id, &env) != 0)
        o->hub->dropped_replies++;
}

//  What the dashboard shows live, and counts for /metrics.
static void
s_tell_dashboard (hub_t *self, hub_item_t *it)
{
    if (!self->http)
        return;
    Gom__Envelope *env = it->wire ? gom_wire_env (it->wire) : NULL;
    const Gom__Report *report =
        env && env->body_case == GOM__ENVELOPE__BODY_REPORT ? env->report
                                                            : NULL;
    switch (it->out.body_case) {
        case GOM__ENVELOPE__BODY_WELCOME:
            hub_http_hello (self->http, it->key);
            break;
        case GOM__ENVELOPE__BODY_ACK:
            if (it->body.ack.duplicate)
                hub_http_duplicate (self->http);
            else if (report)
                hub_http_arrival (self->http, report, it->result.receipt,
                                  it->result.hub_ms);
            break;
        case GOM__ENVELOPE__BODY_NACK:
            hub_http_nack (self->http, it->key, report,
                           it->body.nack.kind == GOM__NACK__KIND__PERMANENT,
                           it->body.nack.code, it->body.nack.reason);
            break;
        default: break;
    }
}

//  Counts agents' open connections from the ROUTER's monitor events: the
//  fd identifies a connection (libzmq 4.3.4 gives the fd with ACCEPTED and
//  DISCONNECTED, but 0 with HANDSHAKE_SUCCEEDED, so a connection is
//  counted from its accept, handshake or not).
static void
s_monitor_handle (hub_t *self)
{
    zmsg_t *msg;
    while ((msg = zmsg_recv (self->monitor))) {
        zframe_t *f = zmsg_first (msg);
        if (f && zframe_size (f) == 6) {
            uint16_t event;
            uint32_t value;
            memcpy (&event, zframe_data (f), 2);
            memcpy (&value, zframe_data (f) + 2, 4);
            char fd [16];
            snprintf (fd, sizeof fd, "%u", value);
            if (event == ZMQ_EVENT_ACCEPTED)
                zhashx_update (self->peers, fd, (void *)1);
            else if (event == ZMQ_EVENT_DISCONNECTED)
                zhashx_delete (self->peers, fd);
        }
        zmsg_destroy (&msg);
    }
    hub_http_connections (self->http, (int64_t)zhashx_size (self->peers));
}

static void
s_reply_all (hub_t *self, hub_batch_t *b)
{
    for (size_t i = 0; i < b->n_items; i++) {
        hub_item_t *it = &b->items [i];
        if (it->held && it->reply &&
            it->out.body_case == GOM__ENVELOPE__BODY_ACK &&
            gom_fault_hit ("hub-drop-ack")) {
            //  Test only (GOM_FAULT): this ACK is lost, as when the peer's
            //  pipe is full; the report is stored.
            zsys_warning ("GOM_FAULT: hub-drop-ack: an ACK not sent");
            self->dropped_replies++;
        }
        else if (it->held && it->reply) {
            s_tell_dashboard (self, it);
            //  SNDTIMEO 0 + ROUTER_MANDATORY: a gone or full peer fails
            //  here at once; it will resend and get the same receipt.
            if (s_send (self, &it->id, &it->out) != 0)
                self->dropped_replies++;
            else if (it->out.body_case == GOM__ENVELOPE__BODY_WELCOME) {
                offer_t offer = { self, &it->id };
                hub_catalog_offer (self->catalog,
                                   gom_wire_env (it->wire)->hello, s_send_form,
                                   &offer);
            }
        }
        gom_strv_free (&it->units);
        hub_prepared_free (&it->prep);
        gom_wire_msg_destroy (&it->wire);
        s_item_release (it);
    }
    b->n_items = 0;
    b->bytes = 0;
}

//  Whether the batch in hand takes another message: a batch ends at
//  batch_max messages or 8 MiB of frames, so that what is held decoded stays
//  bounded (decoding may take up to 8 times a frame).
static bool
s_room (hub_t *self)
{
    return self->fill->n_items < (size_t)self->opt.batch_max &&
           self->fill->bytes < 8 * 1048576;
}

//  Hands a batch to the writer, which must be free: the one in hand (then
//  the other one is in hand) or the idle one.
static void
s_dispatch (hub_t *self, hub_batch_t *b)
{
    assert (!self->out);
    if (b == self->fill)
        self->fill = b == &self->pair [0] ? &self->pair [1] : &self->pair [0];
    self->out = b;
    zsock_send (self->writer, "p", b);
}

//  Takes the batch back from the writer (waiting for it), and answers it.
//  With hand_on, the batch in hand goes to the writer first, to be stored
//  while this one is answered; without, the writer is left free, and this
//  thread may use the store (and replace the catalog).
static void
s_writer_done (hub_t *self, bool hand_on)
{
    if (!self->out)
        return;
    hub_batch_t *b = NULL;
    if (zsock_recv (self->writer, "p", &b) != 0 || b != self->out) {
        //  Cannot happen: the writer answers every batch it is given.
        zsys_error ("writer: lost a batch");
        abort ();
    }
    self->out = NULL;
    self->store_down = b->store_down;
    if (b == &self->idle)
        return;
    if (hand_on && self->fill->n_items)
        s_dispatch (self, self->fill);
    s_answer (self, b);
    s_reply_all (self, b);
}

//  Resident memory of this process in MiB (-1: unknown).
static int64_t
s_resident_mb (void)
{
    FILE *f = fopen ("/proc/self/statm", "r");
    long size, resident;
    int64_t mb = -1;
    if (f && fscanf (f, "%ld %ld", &size, &resident) == 2)
        mb = (int64_t)resident * sysconf (_SC_PAGESIZE) / 1048576;
    if (f)
        fclose (f);
    return mb;
}

//  The memory guard. libzmq keeps a message whose last frame has not come
//  in memory, whole, whatever MAXMSGSIZE says of each frame: a peer that
//  passed the handshake and sends frames without ever the last one (a
//  ZMTP stack of its own: libzmq sends nothing of a message before its
//  end) makes the hub grow without bound. Past max_memory_mb resident,
//  the hub closes every agent's connection by unbinding its endpoint and
//  binding it again, which frees what they held; the agents connect again
//  and resend what was not acknowledged, so nothing is lost. Once, until
//  memory comes below nine tenths of the limit again.
static void
s_memory_guard (hub_t *self)
{
    int64_t now = gom_mono_ms ();
    if (!self->opt.max_memory_mb || now < self->memory_check_ms)
        return;
    self->memory_check_ms = now + 250;
    int64_t mb = s_resident_mb ();
    if (mb < 0)
        return;
    if (self->memory_cut) {
        if (mb * 10 < self->opt.max_memory_mb * 9) {
            zsys_info ("memory: %" PRId64 " MiB resident again", mb);
            self->memory_cut = false;
        }
        else if (now - self->memory_cut_ms < 5000)
            malloc_trim (0);  //  give back what the connections held
        return;
    }
    if (mb <= self->opt.max_memory_mb)
        return;
    zsys_error ("memory: %" PRId64 " MiB resident, over max_memory_mb %" PRId64
                ": closing every agent's connection (one may be sending a "
                "message that never ends); agents connect again and resend",
                mb, self->opt.max_memory_mb);
    self->memory_cut = true;
    self->memory_cut_ms = now;
    void *raw = zsock_resolve (self->router);
    if (zmq_unbind (raw, self->bound) != 0)
        zsys_error ("memory: cannot unbind %s: %s", self->bound,
                    zmq_strerror (zmq_errno ()));
    //  The listener closes in libzmq's I/O thread: the port may still be
    //  taken for a moment.
    int64_t until = gom_mono_ms () + 5000;
    while (zmq_bind (raw, self->bound) != 0) {
        if (gom_mono_ms () >= until) {
            zsys_error ("memory: cannot listen again on %s: %s", self->bound,
                        zmq_strerror (zmq_errno ()));
            break;
        }
        zclock_sleep (20);
    }
}

//  For `gom-hub status` (hub/main.c): who runs, since when; or when it
//  stopped (a hub killed leaves its pid, which is then not alive).
static void
s_run_mark (hub_t *self, bool starting)
{
    sqlite3 *db = hub_store_db (self->store);
    char pid [24] = "", now [24];
    if (starting)
        snprintf (pid, sizeof pid, "%d", (int)getpid ());
    snprintf (now, sizeof now, "%" PRId64, gom_now_ms ());
    gom_db_meta_set (db, "run_pid", pid);
    gom_db_meta_set (db, starting ? "run_started_ms" : "run_stopped_ms", now);
}

//  SIGHUP: the form pack and the unit tree read again, into the loop's
//  copy and the dashboard's, both or neither: with a broken file the ones
//  in force stay and the log says which file, where and what. Connections
//  stay open; connected agents are offered new forms at their next hello.
//  Keys need nothing: every handshake reads keys.db.
static void
s_reload (hub_t *self)
{
    char err [512];
    hub_catalog_t *mine = hub_catalog_open (self->cfg, NULL, err, sizeof err);
    hub_catalog_t *theirs =
        mine && self->http ? hub_catalog_open (self->cfg, NULL, err, sizeof err)
                           : NULL;
    if (theirs &&
        (hub_catalog_form_count (theirs) != hub_catalog_form_count (mine) ||
         hub_catalog_unit_count (theirs) != hub_catalog_unit_count (mine))) {
        snprintf (err, sizeof err,
                  "the files changed while they were read; send SIGHUP again");
        hub_catalog_destroy (&theirs);
    }
    if (!mine || (self->http && !theirs)) {
        zsys_error ("reload: %s; the form pack and unit tree in force stay",
                    err);
        hub_catalog_destroy (&mine);
        hub_catalog_destroy (&theirs);
        return;
    }
    zsys_info (
        "reload: %zu forms (were %zu), %zu units (were %zu)",
        hub_catalog_form_count (mine), hub_catalog_form_count (self->catalog),
        hub_catalog_unit_count (mine), hub_catalog_unit_count (self->catalog));
    hub_catalog_destroy (&self->catalog);
    self->catalog = mine;
    //  Reports received before, not yet stored, are made again with the new
    //  catalog (their unit chains pointed into the old one).
    for (size_t i = 0; i < self->fill->n_items; i++) {
        hub_item_t *it = &self->fill->items [i];
        if (it->held && !it->reply && it->wire &&
            gom_wire_env (it->wire)->body_case == GOM__ENVELOPE__BODY_REPORT) {
            hub_prepared_free (&it->prep);
            s_prepare (self, it);
        }
    }
    if (self->http)
        hub_http_catalog (self->http, theirs);
}

static int
s_read_options (gom_config_t *cfg, hub_options_t *o, char *err, size_t len)
{
    if (gom_config_int (cfg, "batch_max", 2048, 1, 100000, &o->batch_max, err,
                        len) ||
        gom_config_int (cfg, "max_message_bytes", 1048576, 4096, 64 * 1048576,
                        &o->max_message_bytes, err, len) ||
        gom_config_int (cfg, "heartbeat_ivl_ms", 10000, 0, 3600000,
                        &o->heartbeat_ivl_ms, err, len) ||
        gom_config_int (cfg, "heartbeat_timeout_ms", 30000, 0, 3600000,
                        &o->heartbeat_timeout_ms, err, len) ||
        gom_config_int (cfg, "handshake_ivl_ms", 10000, 0, 3600000,
                        &o->handshake_ivl_ms, err, len) ||
        gom_config_int (cfg, "backlog", 1024, 1, 65535, &o->backlog, err,
                        len) ||
        gom_config_int (cfg, "io_threads", 1, 1, 64, &o->io_threads, err,
                        len) ||
        gom_config_int (cfg, "tcp_maxrt_ms", 60000, 0, 3600000,
                        &o->tcp_maxrt_ms, err, len) ||
        hub_report_limits (cfg, &o->max_cells_per_report,
                           &o->max_text_bytes_per_report, err, len) ||
        gom_config_int (cfg, "max_reports_per_minute", 600, 0, 1000000,
                        &o->max_reports_per_minute, err, len) ||
        gom_config_int (cfg, "max_connections", 2000, 0, 1000000,
                        &o->max_connections, err, len) ||
        gom_config_int (cfg, "revoked_retry_ms", 300000, 1000, 86400000,
                        &o->revoked_retry_ms, err, len) ||
        gom_config_int (cfg, "max_memory_mb", 1024, 0, 1048576,
                        &o->max_memory_mb, err, len))
        return -1;
    return 0;
}

int
hub_server_run (gom_config_t *cfg)
{
    hub_t hub;
    hub_t *self = &hub;
    memset (self, 0, sizeof *self);
    self->sigfd = -1;
    self->cfg = cfg;
    char err [512];
    int status = 1;
    zcert_t *cert = NULL;
    if (s_read_options (cfg, &self->opt, err, sizeof err) != 0) {
        zsys_error ("%s", err);
        return 1;
    }
    //  Signals: blocked in every thread (czmq and libzmq threads inherit
    //  this mask) and read through a signalfd in the loop; czmq's own
    //  handler is switched off (PITFALLS.md 4).
    self->sigfd = gom_signals_open ();
    zsys_set_io_threads ((size_t)self->opt.io_threads);

    char *cert_path = gom_config_file (cfg, "cert", "hub.cert");
    self->db_path = gom_config_file (cfg, "database", "hub.db");
    self->keys_path = gom_config_file (cfg, "keys", "keys.db");
    const char *endpoint = gom_config_str (cfg, "endpoint", "tcp://*:7770");
    cert = gom_keys_load (cert_path, err, sizeof err);
    if (!cert) {
        zsys_error ("%s", err);
        goto done;
    }
    self->catalog = hub_catalog_open (cfg, "catalog", err, sizeof err);
    if (!self->catalog) {
        zsys_error ("refusing to start: %s", err);
        goto done;
    }
    if (hub_catalog_form_count (self->catalog) == 0)
        zsys_warning ("catalog: no form pack: reports are not checked "
                      "against forms");
    bool fresh = access (self->db_path, F_OK) != 0;
    if (gom_fault_io_install () != 0)
        goto done;
    self->store = s_store_open (self, err, sizeof err);
    if (!self->store) {
        zsys_error ("%s", err);
        goto done;
    }
    if (fresh)
        zsys_warning ("store: %s did not exist: made a new, empty database; "
                      "agents will resend what they hold",
                      self->db_path);
    zsys_info ("store: %s, database id %s", self->db_path,
               hub_store_db_id (self->store));
    s_run_mark (self, true);
    //  ZAP reads keys.db in this thread while the writer stores.
    self->zap_store =
        hub_store_open (self->db_path, self->keys_path, false, err, sizeof err);
    if (!self->zap_store) {
        zsys_error ("%s", err);
        goto done;
    }
    self->ckpt = hub_ckpt_start (self->db_path, self->keys_path);

    self->zap = zsock_new (ZMQ_REP);
    if (!self->zap || zsock_bind (self->zap, "inproc://zeromq.zap.01") != 0) {
        zsys_error ("zap: cannot bind the authenticator: %s",
                    zmq_strerror (zmq_errno ()));
        goto done;
    }
    zsock_set_rcvtimeo (self->zap, 0);
    zsock_set_sndtimeo (self->zap, 0);

    //  Every option before bind: the listener copies them (PITFALLS.md 1).
    self->router = zsock_new (ZMQ_ROUTER);
    assert (self->router);
    void *raw = zsock_resolve (self->router);
    zcert_apply (cert, self->router);
    zsock_set_curve_server (self->router, 1);
    zsock_set_zap_domain (self->router, "gom");
    int one = 1;
    if (zmq_setsockopt (raw, ZAP_ENFORCE_DOMAIN, &one, sizeof one) != 0) {
        zsys_error ("router: cannot enforce ZAP: %s",
                    zmq_strerror (zmq_errno ()));
        goto done;
    }
    zsock_set_router_mandatory (self->router, 1);
    zsock_set_sndtimeo (self->router, 0);
    zsock_set_rcvtimeo (self->router, 0);
    zsock_set_linger (self->router, 1000);
    zsock_set_maxmsgsize (self->router, (int)self->opt.max_message_bytes);
    zsock_set_heartbeat_ivl (self->router, (int)self->opt.heartbeat_ivl_ms);
    zsock_set_heartbeat_timeout (self->router,
                                 (int)self->opt.heartbeat_timeout_ms);
    zsock_set_handshake_ivl (self->router, (int)self->opt.handshake_ivl_ms);
    //  An agent gone with ACKs stuck in the send buffer: see agent_sender.c.
    zsock_set_tcp_maxrt (self->router, (int)self->opt.tcp_maxrt_ms);
    zsock_set_backlog (self->router, (int)self->opt.backlog);
    if (zsock_bind (self->router, "%s", endpoint) < 0) {
        zsys_error ("router: cannot listen on %s: %s", endpoint,
                    zmq_strerror (zmq_errno ()));
        goto done;
    }
    self->bound = zsock_last_endpoint (self->router);
    zsys_info ("listening on %s (hub key %s)", endpoint,
               zcert_public_txt (cert));
    zcert_destroy (&cert);

    self->buckets = zhashx_new ();
    zhashx_set_destructor (self->buckets, s_bucket_free);
    self->buckets_swept_ms = gom_mono_ms ();
    //  Open connections, for the dashboard and max_connections.
    self->peers = zhashx_new ();
    if (zmq_socket_monitor (raw, "inproc://gom-router-monitor",
                            ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) == 0) {
        self->monitor = zsock_new (ZMQ_PAIR);
        zsock_set_rcvtimeo (self->monitor, 0);
        if (zsock_connect (self->monitor, "inproc://gom-router-monitor") != 0)
            zsock_destroy (&self->monitor);
    }
    if (!self->monitor && self->opt.max_connections)
        zsys_warning ("router: no connection monitor: max_connections is "
                      "not enforced");
    //  The dashboard: its own threads, started with signals blocked.
    self->http =
        hub_http_start (cfg, self->db_path, self->keys_path, err, sizeof err);
    if (!self->http && err [0]) {
        zsys_error ("refusing to start: dashboard: %s", err);
        goto done;
    }

    for (size_t i = 0; i < 2; i++) {
        self->pair [i].items =
            calloc ((size_t)self->opt.batch_max, sizeof (hub_item_t));
        assert (self->pair [i].items);
    }
    self->fill = &self->pair [0];
    self->writer = zactor_new (s_writer, self);
    assert (self->writer);
    bool stop = false;
    self->last_log_ms = gom_mono_ms ();
    gom_fault_io_arm ();
    gom_notify_ready ();
    while (!stop) {
        gom_notify_watchdog ();
        //  A full batch waits for the writer; the ROUTER's queue holds the
        //  rest.
        zmq_pollitem_t items [] = {
            { zsock_resolve (self->zap), 0, ZMQ_POLLIN, 0 },
            { raw, 0, s_room (self) ? ZMQ_POLLIN : 0, 0 },
            { NULL, self->sigfd, ZMQ_POLLIN, 0 },
            { zsock_resolve (self->writer), 0, ZMQ_POLLIN, 0 },
            { self->monitor ? zsock_resolve (self->monitor) : NULL, -1,
              ZMQ_POLLIN, 0 }
        };
        //  The memory guard looks every 250 ms, whether or not anything
        //  comes: a message that never ends wakes nothing here (libzmq
        //  holds it in its I/O thread), and at loopback speed a second
        //  late is 250 MB late.
        long timeout = 1000;
        if (self->opt.max_memory_mb) {
            int64_t left = self->memory_check_ms - gom_mono_ms ();
            timeout = left < 0 ? 0 : left < 1000 ? (long)left : 1000;
        }
        int rc = zmq_poll (items, self->monitor ? 5 : 4, timeout);
        if (rc < 0 && zmq_errno () != EINTR) {
            zsys_error ("poll: %s", zmq_strerror (zmq_errno ()));
            break;
        }
        int came = (items [2].revents & ZMQ_POLLIN)
                       ? gom_signals_read (self->sigfd)
                       : 0;
        if (came & GOM_SIGNAL_STOP)
            stop = true;
        else if (came & GOM_SIGNAL_RELOAD) {
            //  A batch out holds unit chains into the catalog in force.
            s_writer_done (self, false);
            s_reload (self);
        }
        //  ZAP first: a handshake waiting behind a long batch is a
        //  connection waiting to deliver.
        if (items [0].revents & ZMQ_POLLIN)
            s_zap_handle (self);
        if (self->monitor && (items [4].revents & ZMQ_POLLIN))
            s_monitor_handle (self);
        if (items [3].revents & ZMQ_POLLIN)
            s_writer_done (self, true);
        if (items [1].revents & ZMQ_POLLIN)
            for (size_t n = 1; s_room (self) && s_receive (self); n++)
                //  A writer done while this loop reads gets the next batch
                //  at once, not when the reading ends.
                if (n % 64 == 0 && self->out &&
                    (zsock_events (self->writer) & ZMQ_POLLIN))
                    s_writer_done (self, true);
        //  Idle: nothing has come for a second, and at most once a second
        //  (the poll wakes sooner for the memory guard, and a gap of a
        //  millisecond under load is not idle: the idle batch checkpoints).
        int64_t now = gom_mono_ms ();
        if (items [1].revents & ZMQ_POLLIN)
            self->idle_due_ms = now + 1000;
        if (!self->out && self->fill->n_items)
            s_dispatch (self, self->fill);
        else if (rc == 0 && !self->out && now >= self->idle_due_ms) {
            self->idle_due_ms = now + 1000;
            s_dispatch (self, &self->idle);
        }
        s_memory_guard (self);
        if (now - self->last_log_ms >= 5000) {
            if (self->batches)
                zsys_info ("stored %" PRId64 " new, %" PRId64
                           " duplicates, %" PRId64 " nacks, %" PRId64
                           " replies dropped, in %" PRId64 " batches",
                           self->stored, self->dups, self->nacks,
                           self->dropped_replies, self->batches);
            self->stored = self->dups = self->nacks = 0;
            self->dropped_replies = self->batches = 0;
            self->last_log_ms = now;
        }
    }
    gom_notify_stopping ();
    //  What was received is stored and answered before the writer goes.
    s_writer_done (self, false);
    if (self->fill->n_items) {
        s_dispatch (self, self->fill);
        s_writer_done (self, false);
    }
    status = 0;
    if (self->store)
        s_run_mark (self, false);
done:
    zcert_destroy (&cert);
    hub_http_stop (&self->http);
    if (self->monitor) {
        zmq_socket_monitor (zsock_resolve (self->router), NULL, 0);
        zsock_destroy (&self->monitor);
    }
    zhashx_destroy (&self->peers);
    zhashx_destroy (&self->buckets);
    zsock_destroy (&self->router);
    zsock_destroy (&self->zap);
    zactor_destroy (&self->writer);
    for (size_t i = 0; i < 2; i++)
        free (self->pair [i].items);
    hub_ckpt_stop (&self->ckpt);
    hub_store_destroy (&self->zap_store);
    hub_store_destroy (&self->store);
    hub_catalog_destroy (&self->catalog);
    free (cert_path);
    free (self->db_path);
    free (self->keys_path);
    free (self->bound);
    if (self->sigfd >= 0)
        close (self->sigfd);
    zsys_info ("stopped");
    return status;
}
