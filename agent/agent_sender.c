/*  agent_sender: see agent_sender.h.

    Connection states, driven by the socket monitor (libzmq gives a DEALER
    no other signal):
      no socket  --(rebuild time)-->  connecting
      connecting --HANDSHAKE_SUCCEEDED--> connected: send HELLO (with
                   backoff until WELCOME)
      connected  --WELCOME--> welcomed: send the window, all of it
      any        --DISCONNECTED--> connecting (libzmq reconnects)
      any        --HANDSHAKE_FAILED_AUTH--> no socket: after a ZAP refusal
                   libzmq never reconnects that socket (PITFALLS.md 3), so
                   we rebuild it after a backoff; the key may be enrolled
                   by then.
    IMMEDIATE=1 with DONTWAIT sends: nothing queues inside libzmq while
    there is no connection; the outbox is the only queue (PITFALLS.md 1).

    Writes to the outbox are gathered into one transaction per loop turn. */
#include "agent_sender.h"
#include "agent_relay.h"
#include "agent_outbox.h"
#include "agent_spool.h"
#include "agent_spool_rule.h"
#include "gom_db.h"
#include "gom_fault.h"
#include "gom_form.h"
#include "gom_keys.h"
#include "gom_notify.h"
#include "gom_signals.h"
#include "gom_util.h"
#include "gom_wire.h"

#include <czmq.h>
#include <dirent.h>
#include <sys/inotify.h>

typedef struct {
    bool live;                  //  slot in use
    int64_t seq;                //  outbox row
    uint8_t id [GOM_ID_BYTES];  //  report_id
    uint8_t *frame;             //  the Envelope as sent
    size_t len;
    int attempts;     //  sends on this run
    int64_t sent_ms;  //  monotonic, last send
    int64_t due_ms;   //  monotonic, when to resend
    bool timer;       //  due_ms is the resend timeout (not a NACK's wait)
    int64_t rto_ms;   //  the timeout drawn at the last send
    //  Order of its first and last send on this connection (0: none yet):
    //  the hub answers one connection's messages in the order they came.
    int64_t first_order, last_order;
} flight_t;

typedef struct {
    agent_options_t *opt;
    agent_outbox_t *outbox;
    sqlite3 *db;
    zcert_t *cert;
    zsock_t *dealer;
    zsock_t *monitor;
    int monitor_seq;  //  makes monitor endpoints unique
    int sigfd;
    bool connected;        //  handshake done
    bool welcomed;         //  hub answered hello
    bool unreachable;      //  connection attempts are failing
    bool in_tx;            //  a write transaction is open
    bool reload;           //  a write failed: reload the window
    int64_t hold_ms;       //  monotonic; no sending before (write failed)
    int64_t hold_backoff;  //  next hold after a failed write, ms
    int64_t rebuild_ms;    //  monotonic; when to make a socket
    int64_t auth_backoff_ms;
    int64_t hello_due_ms;
    int64_t hello_sent_ms;  //  the first hello of this connection
    int hellos;             //  sent on this connection before the welcome
    int64_t hello_backoff_ms;
    int64_t last_rx_ms;
    int64_t contact_written_ms;
    int64_t spool_due_ms;
    int64_t relay_due_ms;
    int64_t purge_due_ms;
    int watch_fd;  //  inotify: the spool folder and the outbox's (-1: none)
    int watch_spool;
    int64_t hub_max_bytes;  //  from welcome
    int64_t cursor;         //  highest outbox seq loaded
    gom_rtt_t rtt;          //  round trip (ms) and Karn's doublings
    int64_t send_order;     //  reports sent on this run (orders sends)
    flight_t *flights;
    size_t n_flights;                 //  live ones
    int64_t acked, rejected, resent;  // for the periodic log line
    int64_t last_log_ms;
    int64_t busy_ms;  //  monotonic: the last time there was work (quiet)
} agent_t;

int
agent_options_load (gom_config_t *cfg, agent_options_t *o, char *err,
                    size_t errlen)
{
    memset (o, 0, sizeof *o);
    o->hub = gom_config_str (cfg, "hub", NULL);
    o->hub_key = gom_config_str (cfg, "hub_key", NULL);
    const char *units = gom_config_str (cfg, "units", NULL);
    if (!o->hub || strncmp (o->hub, "tcp://", 6) != 0) {
        snprintf (err, errlen, "%s: hub must be tcp://HOST:PORT",
                  gom_config_path (cfg));
        return -1;
    }
    if (!o->hub_key || !gom_key_valid (o->hub_key)) {
        snprintf (err, errlen,
                  "%s: hub_key must be the hub's 40-character "
                  "Z85 public key",
                  gom_config_path (cfg));
        return -1;
    }
    size_t n = 0;
    //  units inline, and/or units_file: a file of codes (one a line, or
    //  comma-separated), for an office that reports for many units (a
    //  config line holds at most about a thousand characters).
    char *list = strdup (units ? units : "");
    char *file = gom_config_file (cfg, "units_file", NULL);
    if (file) {
        FILE *f = fopen (file, "r");
        if (!f) {
            snprintf (err, errlen, "%s: units_file %s: %s",
                      gom_config_path (cfg), file, strerror (errno));
            free (file);
            free (list);
            return -1;
        }
        char line [256];
        while (fgets (line, sizeof line, f)) {
            line [strcspn (line, "\r\n")] = 0;
            size_t len = strlen (list);
            list = realloc (list, len + strlen (line) + 2);
            snprintf (list + len, strlen (line) + 2, ",%s", line);
        }
        fclose (f);
        free (file);
    }
    o->units = gom_split_list (list, &n);
    free (list);
    for (size_t i = 0; i < n; i++)
        if (!gom_code_valid (o->units [i])) {
            snprintf (err, errlen, "%s: units: \"%.40s\" is not a unit code",
                      gom_config_path (cfg), o->units [i]);
            agent_options_free (o);
            return -1;
        }
    if (n == 0) {
        snprintf (err, errlen, "%s: units: no unit code given",
                  gom_config_path (cfg));
        agent_options_free (o);
        return -1;
    }
    o->outbox_path = gom_config_file (cfg, "outbox", "outbox.db");
    o->cert_path = gom_config_file (cfg, "cert", "agent.cert");
    o->spool_dir = gom_config_file (cfg, "spool", "spool");
    o->forms_dir = gom_config_file (cfg, "forms", "forms");
    o->relay_from = gom_config_file (cfg, "relay_from", NULL);
    if (gom_config_int (cfg, "window", 128, 1, 1024, &o->window, err, errlen) ||
        gom_config_int (cfg, "resend_min_ms", 2000, 10, 3600000,
                        &o->resend_min_ms, err, errlen) ||
        gom_config_int (cfg, "resend_max_ms", 60000, 10, 86400000,
                        &o->resend_max_ms, err, errlen) ||
        gom_config_int (cfg, "reconnect_ivl_ms", 1000, 10, 3600000,
                        &o->reconnect_ivl_ms, err, errlen) ||
        gom_config_int (cfg, "reconnect_ivl_max_ms", 30000, 10, 3600000,
                        &o->reconnect_ivl_max_ms, err, errlen) ||
        gom_config_int (cfg, "heartbeat_ivl_ms", 5000, 0, 3600000,
                        &o->heartbeat_ivl_ms, err, errlen) ||
        gom_config_int (cfg, "heartbeat_timeout_ms", 15000, 0, 3600000,
                        &o->heartbeat_timeout_ms, err, errlen) ||
        gom_config_int (cfg, "tcp_maxrt_ms", 0, 0, 3600000, &o->tcp_maxrt_ms,
                        err, errlen) ||
        gom_config_int (cfg, "hello_ivl_ms", 60000, 100, 86400000,
                        &o->hello_ivl_ms, err, errlen) ||
        gom_config_int (cfg, "spool_scan_ms", 1000, 10, 3600000,
                        &o->spool_scan_ms, err, errlen) ||
        gom_config_int (cfg, "spool_settle_ms", 1000, 0, 3600000,
                        &o->spool_settle_ms, err, errlen) ||
        gom_config_int (cfg, "max_report_bytes", 262144, 1024, 16777216,
                        &o->max_report_bytes, err, errlen) ||
        gom_config_int (cfg, "retention_days", 400, 1, 36500,
                        &o->retention_days, err, errlen) ||
        gom_config_int (cfg, "quiet_after_ms", 0, 0, 86400000,
                        &o->quiet_after_ms, err, errlen) ||
        gom_config_int (cfg, "check_in_ms", 3600000, 1000, 604800000,
                        &o->check_in_ms, err, errlen)) {
        agent_options_free (o);
        return -1;
    }
    if (o->resend_max_ms < o->resend_min_ms)
        o->resend_max_ms = o->resend_min_ms;
    //  Default: the heartbeat timeout, but never under 30 s, so that a slow
    //  line that is still acknowledging is not cut.
    if (o->tcp_maxrt_ms == 0)
        o->tcp_maxrt_ms =
            o->heartbeat_timeout_ms > 30000 ? o->heartbeat_timeout_ms : 30000;
    return 0;
}

void
agent_options_free (agent_options_t *o)
{
    gom_strv_free (&o->units);
    free (o->outbox_path);
    free (o->cert_path);
    free (o->spool_dir);
    free (o->forms_dir);
    free (o->quiet_path);
    free (o->relay_from);
    o->outbox_path = o->cert_path = o->spool_dir = o->forms_dir = NULL;
    o->relay_from = NULL;
}

//  --- Outbox writes, gathered per loop turn --------------------------------

static bool
s_tx (agent_t *self)
{
    if (!self->in_tx) {
        if (gom_db_exec (self->db, "BEGIN IMMEDIATE") != 0) {
            self->reload = true;  //  see s_tx_commit
            return false;
        }
        self->in_tx = true;
    }
    return true;
}

static void
s_tx_commit (agent_t *self)
{
    if (!self->in_tx)
        return;
    self->in_tx = false;
    if (sqlite3_exec (self->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        zsys_error ("outbox %s: commit: %s", self->opt->outbox_path,
                    sqlite3_errmsg (self->db));
        if (!sqlite3_get_autocommit (self->db))
            gom_db_exec (self->db, "ROLLBACK");
        //  The acks and rejections of this turn are not on record: load
        //  the window again from the outbox (at the end of the turn), so
        //  that nothing it still holds as unanswered is left out; the hub
        //  answers a resend with the same receipt.
        self->reload = true;
    }
    else
        self->hold_backoff = 0;
}

//  After a failed outbox write (a full disk, say) the window is loaded
//  again and resent; without a pause, the hub's answers would come back
//  at once, fail to be recorded again, and the agent would spin, resending
//  its window hundreds of times a second and logging as often.
static void
s_hold_sending (agent_t *self)
{
    int64_t min = self->opt->resend_min_ms, max = self->opt->resend_max_ms;
    self->hold_backoff = self->hold_backoff ? self->hold_backoff * 2 : min;
    if (self->hold_backoff > max)
        self->hold_backoff = max;
    self->hold_ms = gom_mono_ms () + self->hold_backoff;
    zsys_warning ("outbox %s: cannot record; sending paused for %" PRId64 " ms",
                  self->opt->outbox_path, self->hold_backoff);
}

static void
s_set_error (agent_t *self, const char *fmt, ...)
{
    char text [400], line [460];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (text, sizeof text, fmt, ap);
    va_end (ap);
    char now [32];
    gom_iso_time (gom_now_ms (), now, sizeof now);
    snprintf (line, sizeof line, "%s %s", now, text);
    if (s_tx (self))
        gom_db_meta_set (self->db, "last_error", line);
}

//  What `gom-agent status` reads of the line (agent_outbox_status_json):
//  key set to the time now (ms since 1970), or to "" (none) if !now.
static void
s_meta_time (agent_t *self, const char *key, bool now)
{
    char buf [24] = "";
    if (now)
        snprintf (buf, sizeof buf, "%" PRId64, gom_now_ms ());
    if (s_tx (self))
        gom_db_meta_set (self->db, key, buf);
}

static void
s_exec_id (agent_t *self, const char *sql, const uint8_t *id,
           void (*bind) (sqlite3_stmt *, void *), void *arg)
{
    if (!s_tx (self))
        return;
    sqlite3_stmt *st = gom_db_prepare (self->db, sql);
    if (!st)
        return;
    if (bind)
        bind (st, arg);
    sqlite3_bind_blob (st, 1, id, GOM_ID_BYTES, SQLITE_TRANSIENT);
    if (sqlite3_step (st) != SQLITE_DONE) {
        zsys_error ("outbox %s: %s", self->opt->outbox_path,
                    sqlite3_errmsg (self->db));
        //  The answer is not on record, and its report leaves the window:
        //  load the window again, or it would wait for the next restart.
        self->reload = true;
    }
    sqlite3_finalize (st);
}

//  --- The window -----------------------------------------------------------

static flight_t *
s_flight_find (agent_t *self, const uint8_t *id, size_t len)
{
    if (len != GOM_ID_BYTES)
        return NULL;
    for (int64_t i = 0; i < self->opt->window; i++)
        if (self->flights [i].live &&
            memcmp (self->flights [i].id, id, GOM_ID_BYTES) == 0)
            return &self->flights [i];
    return NULL;
}

static void
s_flight_drop (agent_t *self, flight_t *f)
{
    free (f->frame);
    memset (f, 0, sizeof *f);
    self->n_flights--;
}

static void
s_flights_clear (agent_t *self)
{
    for (int64_t i = 0; i < self->opt->window; i++)
        if (self->flights [i].live)
            s_flight_drop (self, &self->flights [i]);
    self->cursor = 0;
}

//  Resend timeout for a report sent `attempts` times (gom_rtt_timeout).
static int64_t
s_timeout (agent_t *self, int attempts)
{
    return gom_rtt_timeout (&self->rtt, attempts, self->opt->resend_min_ms,
                            self->opt->resend_max_ms);
}

static void
s_fill_window (agent_t *self)
{
    int64_t free_slots = self->opt->window - (int64_t)self->n_flights;
    if (free_slots <= 0)
        return;
    sqlite3_stmt *st = gom_db_prepare (
        self->db, "SELECT seq, report_id, payload FROM outbox "
                  "WHERE state IN ('queued', 'sent') AND seq > ? "
                  "ORDER BY seq LIMIT ?");
    if (!st)
        return;
    sqlite3_bind_int64 (st, 1, self->cursor);
    sqlite3_bind_int64 (st, 2, free_slots);
    int64_t slot = 0;
    while (sqlite3_step (st) == SQLITE_ROW) {
        while (self->flights [slot].live)
            slot++;
        flight_t *f = &self->flights [slot];
        f->seq = sqlite3_column_int64 (st, 0);
        if (sqlite3_column_bytes (st, 1) != GOM_ID_BYTES)
            break;  //  cannot be: the column is written by us
        memcpy (f->id, sqlite3_column_blob (st, 1), GOM_ID_BYTES);
        f->frame = gom_wire_wrap_report (sqlite3_column_blob (st, 2),
                                         (size_t)sqlite3_column_bytes (st, 2),
                                         &f->len);
        if (!f->frame)
            break;              //  out of memory: try again next turn
        self->cursor = f->seq;  //  only now: a row not loaded is retried
        f->live = true;
        f->attempts = 0;
        f->due_ms = 0;
        self->n_flights++;
    }
    sqlite3_finalize (st);
}

typedef struct {
    const char *code;
    const char *reason;
    uint32_t use_revision;
} reject_args_t;

static void
s_bind_reject (sqlite3_stmt *st, void *arg)
{
    reject_args_t *a = arg;
    gom_db_bind_str (st, 2, a->code);
    gom_db_bind_str (st, 3, a->reason);
    if (a->use_revision)
        sqlite3_bind_int64 (st, 4, a->use_revision);
}

static void
s_reject (agent_t *self, const uint8_t *id, const char *code,
          const char *reason, uint32_t use_revision)
{
    reject_args_t args = { code, reason, use_revision };
    s_exec_id (self,
               "UPDATE outbox SET state='rejected', code=?2, reason=?3, "
               "use_revision=?4 WHERE report_id=?1 AND state!='acked'",
               id, s_bind_reject, &args);
    self->rejected++;
}

static void
s_send_due (agent_t *self)
{
    int64_t now = gom_mono_ms ();
    for (int64_t i = 0; i < self->opt->window; i++) {
        flight_t *f = &self->flights [i];
        if (!f->live || f->due_ms > now)
            continue;
        if (f->attempts > 0 && f->timer && f->attempts > self->rtt.shift)
            self->rtt.shift = f->attempts;  //  its timeout expired
        if (self->hub_max_bytes && (int64_t)f->len > self->hub_max_bytes) {
            char reason [200];
            snprintf (reason, sizeof reason,
                      "report is %zu bytes; the hub takes at most %" PRId64,
                      f->len, self->hub_max_bytes);
            zsys_warning ("report %" PRId64 " set aside: %s", f->seq, reason);
            s_reject (self, f->id, "too-large", reason, 0);
            s_flight_drop (self, f);
            continue;
        }
        if (zmq_send (zsock_resolve (self->dealer), f->frame, f->len,
                      ZMQ_DONTWAIT) < 0) {
            //  No connection at this instant (IMMEDIATE) or the pipe is
            //  full: try again shortly; the report stays in the outbox.
            f->due_ms = now + 200;
            break;
        }
        if (f->attempts > 0)
            self->resent++;
        f->attempts++;
        f->sent_ms = now;
        f->rto_ms = s_timeout (self, f->attempts);
        f->due_ms = now + f->rto_ms;
        f->timer = true;
        f->last_order = ++self->send_order;
        if (!f->first_order)
            f->first_order = f->last_order;
        if (s_tx (self)) {
            sqlite3_stmt *st = gom_db_prepare (
                self->db, "UPDATE outbox SET state='sent', "
                          "attempts=attempts+1, last_sent_ms=? "
                          "WHERE seq=? AND state IN ('queued', 'sent')");
            if (st) {
                sqlite3_bind_int64 (st, 1, gom_now_ms ());
                sqlite3_bind_int64 (st, 2, f->seq);
                sqlite3_step (st);
                sqlite3_finalize (st);
            }
        }
    }
}

//  --- Messages -------------------------------------------------------------

static void
s_send_hello (agent_t *self)
{
    Gom__Hello hello = GOM__HELLO__INIT;
    hello.agent_version = (char *)GOM_VERSION;
    size_t n = 0;
    while (self->opt->units [n])
        n++;
    hello.n_units = n;
    hello.units = self->opt->units;
    hello.agent_time_ms = gom_now_ms ();
    sqlite3_stmt *st =
        gom_db_prepare (self->db, "SELECT count(*), min(sealed_ms) FROM outbox "
                                  "WHERE state IN ('queued', 'sent')");
    if (st && sqlite3_step (st) == SQLITE_ROW) {
        hello.queue_depth = (uint32_t)sqlite3_column_int64 (st, 0);
        if (sqlite3_column_type (st, 1) != SQLITE_NULL)
            hello.oldest_queued_age_s =
                (uint64_t)((gom_now_ms () - sqlite3_column_int64 (st, 1)) /
                           1000);
    }
    sqlite3_finalize (st);
    char *last_id = gom_db_meta_get (self->db, "hub_db_id");
    hello.last_hub_db_id = last_id ? last_id : (char *)"";
    //  The forms we hold, so that the hub sends only what we lack.
    Gom__FormRef refs [256];
    Gom__FormRef *ref_ptrs [256];
    char codes [256][GOM_CODE_MAX + 1];
    DIR *dir = opendir (self->opt->forms_dir);
    struct dirent *e;
    while (dir && (e = readdir (dir)) && hello.n_forms < 256) {
        unsigned version;
        char *dot = strstr (e->d_name, ".v");
        if (e->d_name [0] == '.' || !dot ||
            (size_t)(dot - e->d_name) > GOM_CODE_MAX ||
            sscanf (dot, ".v%u.json", &version) != 1)
            continue;
        size_t i = hello.n_forms++;
        snprintf (codes [i], sizeof codes [i], "%.*s", (int)(dot - e->d_name),
                  e->d_name);
        gom__form_ref__init (&refs [i]);
        refs [i].code = codes [i];
        refs [i].version = version;
        ref_ptrs [i] = &refs [i];
    }
    if (dir)
        closedir (dir);
    hello.forms = ref_ptrs;
    Gom__Envelope env = GOM__ENVELOPE__INIT;
    env.body_case = GOM__ENVELOPE__BODY_HELLO;
    env.hello = &hello;
    size_t len = 0;
    uint8_t *buf = gom_wire_encode (&env, &len);
    if (buf &&
        zmq_send (zsock_resolve (self->dealer), buf, len, ZMQ_DONTWAIT) < 0)
        zsys_debug ("hello not sent: %s", zmq_strerror (zmq_errno ()));
    free (buf);
    free (last_id);
}

static void
s_on_welcome (agent_t *self, Gom__Welcome *w)
{
    char *last = gom_db_meta_get (self->db, "hub_db_id");
    if (!s_tx (self)) {
        free (last);
        return;
    }
    if (last && w->hub_db_id && strcmp (last, w->hub_db_id) != 0) {
        //  Rule 11: a hub with another database id lacks what the old one
        //  had. Our retained reports make it whole; its idempotence makes
        //  the resend safe.
        int64_t cutoff = gom_now_ms () - self->opt->retention_days * 86400000LL;
        sqlite3_stmt *st = gom_db_prepare (
            self->db, "UPDATE outbox SET state='queued' WHERE state='sent' "
                      "OR (state='acked' AND acked_ms >= ?)");
        int changes = 0;
        if (st) {
            sqlite3_bind_int64 (st, 1, cutoff);
            sqlite3_step (st);
            changes = sqlite3_changes (self->db);
            sqlite3_finalize (st);
        }
        zsys_warning ("hub database changed (was %s, now %s): resending %d "
                      "retained reports",
                      last, w->hub_db_id, changes);
        s_flights_clear (self);
    }
    if (!last || strcmp (last, w->hub_db_id) != 0)
        gom_db_meta_set (self->db, "hub_db_id", w->hub_db_id);
    free (last);
    bool was_welcomed = self->welcomed;
    //  The first round trip estimate: hello to welcome, when the hello went
    //  once (Karn), so that the first window of reports on a slow line is
    //  not resent at the floor before any report could give one.
    if (!self->welcomed && self->hellos == 1 && !self->rtt.srtt)
        gom_rtt_sample (&self->rtt, gom_mono_ms () - self->hello_sent_ms);
    if (!self->welcomed) {
        char units [256] = "";
        for (size_t i = 0; i < w->n_units; i++)
            snprintf (units + strlen (units), sizeof units - strlen (units),
                      "%s%s", i ? "," : "", w->units [i]);
        zsys_info ("hub welcomed us (database %s; enrolled for %s)",
                   w->hub_db_id, *units ? units : "no unit");
        gom_db_meta_set (self->db, "last_error", "");
        s_meta_time (self, "connected_since_ms", true);
        s_meta_time (self, "disconnected_since_ms", false);
    }
    self->welcomed = true;
    self->hub_max_bytes = w->max_report_bytes;
    self->hello_due_ms = gom_mono_ms () + self->opt->hello_ivl_ms;
    //  Rule 6: a (re)connection resends the whole window at once; the
    //  welcome that answers a periodic status hello changes nothing.
    if (!was_welcomed)
        for (int64_t i = 0; i < self->opt->window; i++) {
            flight_t *f = &self->flights [i];
            f->due_ms = 0, f->timer = false;
            f->first_order = f->last_order = 0;  //  a new connection
        }
}

//  The hub answered a report (f, or NULL when it is no longer in flight).
//  Rule 6's timeout, as TCP's (RFC 6298 5.3): an answer shows that the
//  connection and the hub are alive, so the timeout of every report still
//  waiting starts again from now. A resend on a live connection cannot
//  overtake the first copy; it only adds to the queue (on a slow line,
//  sending reports twice kept the line busy with copies). What an answer
//  does prove lost is what was sent before f on this connection and is
//  still unanswered: the hub answers a connection's messages in order, so
//  those (or their answers) were dropped, and they go again at once.
static void
s_answered (agent_t *self, const flight_t *f)
{
    int64_t now = gom_mono_ms ();
    for (int64_t i = 0; i < self->opt->window; i++) {
        flight_t *g = &self->flights [i];
        if (!g->live || !g->timer || g == f)
            continue;
        gom_rtt_answered (f ? f->first_order : 0, g->last_order, now, g->rto_ms,
                          &g->due_ms, &g->timer);
    }
}

typedef struct {
    Gom__Ack *ack;
    const char *db_id;
} ack_args_t;

static void
s_bind_ack (sqlite3_stmt *st, void *arg)
{
    ack_args_t *a = arg;
    sqlite3_bind_int64 (st, 2, (int64_t)a->ack->receipt);
    sqlite3_bind_int64 (st, 3, a->ack->hub_time_ms);
    sqlite3_bind_int64 (st, 4, gom_now_ms ());
    gom_db_bind_str (st, 5, a->db_id);
}

static void
s_on_ack (agent_t *self, Gom__Ack *ack)
{
    if (ack->report_id.len != GOM_ID_BYTES)
        return;
    gom_fault_point ("agent-before-ack-record");  //  decoded, not recorded
    flight_t *f = s_flight_find (self, ack->report_id.data, ack->report_id.len);
    if (f && f->attempts == 1) {  //  Karn: only unambiguous samples
        gom_rtt_sample (&self->rtt, gom_mono_ms () - f->sent_ms);
        self->rtt.shift = 0;
    }
    s_answered (self, f);
    char *db_id = gom_db_meta_get (self->db, "hub_db_id");
    ack_args_t args = { ack, db_id };
    s_exec_id (self,
               "UPDATE outbox SET state='acked', receipt=?2, hub_ms=?3, "
               "acked_ms=?4, hub_db_id=?5, code=NULL, reason=NULL "
               "WHERE report_id=?1 AND state IN ('sent', 'acked')",
               ack->report_id.data, s_bind_ack, &args);
    free (db_id);
    if (f)
        s_flight_drop (self, f);
    self->acked++;
}

static void
s_on_nack (agent_t *self, Gom__Nack *nack)
{
    if (nack->report_id.len != GOM_ID_BYTES) {
        zsys_error ("hub could not read a message of ours: %s: %s", nack->code,
                    nack->reason);
        s_set_error (self, "hub: %s: %s", nack->code, nack->reason);
        return;
    }
    flight_t *f =
        s_flight_find (self, nack->report_id.data, nack->report_id.len);
    s_answered (self, f);
    if (nack->kind == GOM__NACK__KIND__PERMANENT) {
        //  Rule 5 and 8: set aside with the hub's reason, never retried by
        //  itself, and the rest keep flowing.
        zsys_warning ("report %" PRId64 " rejected by the hub: %s: %s",
                      f ? f->seq : 0, nack->code, nack->reason);
        s_reject (self, nack->report_id.data, nack->code, nack->reason,
                  nack->use_revision);
        if (f)
            s_flight_drop (self, f);
    }
    else {
        s_set_error (self, "hub: %s: %s", nack->code, nack->reason);
        if (f) {
            int64_t wait = s_timeout (self, f->attempts + 1);
            if (nack->retry_after_ms > wait)
                wait = nack->retry_after_ms;
            f->due_ms = gom_mono_ms () + wait;
            f->timer = false;
        }
    }
}

//  A form from the hub: kept only if it loads, under CODE.vVERSION.json,
//  written atomically so that `submit` never reads half a file.
static void
s_on_form (agent_t *self, Gom__Form *f)
{
    char err [600], name [200];
    snprintf (name, sizeof name, "form %s v%u from the hub", f->code,
              f->version);
    gom_form_t *form =
        gom_form_parse ((const char *)f->definition.data, f->definition.len,
                        name, err, sizeof err);
    if (!form || strcmp (gom_form_code (form), f->code) != 0 ||
        gom_form_version (form) != f->version || !gom_code_valid (f->code)) {
        zsys_error ("%s",
                    form ? "form from the hub does not match its name" : err);
        gom_form_destroy (&form);
        return;
    }
    gom_form_destroy (&form);
    gom_mkdir_p (self->opt->forms_dir, 0750);
    char path [4200];
    snprintf (path, sizeof path, "%s/%s.v%u.json", self->opt->forms_dir,
              f->code, f->version);
    if (gom_write_file (path, f->definition.data, f->definition.len, 0640,
                        false) != 0)
        zsys_error ("%s: %s", path, strerror (errno));
    else
        zsys_info ("received form %s version %u", f->code, f->version);
}

static void
s_receive (agent_t *self)
{
    for (int n = 0; n < 10000; n++) {
        zmsg_t *msg = zmsg_recv (self->dealer);
        if (!msg)
            break;
        self->last_rx_ms = gom_mono_ms ();
        zframe_t *frame = zmsg_first (msg);
        if (zmsg_size (msg) != 1 || !frame) {
            zsys_warning ("hub sent a %zu-frame message; ignored",
                          zmsg_size (msg));
            zmsg_destroy (&msg);
            continue;
        }
        gom_wire_msg_t *wire =
            gom_wire_decode (zframe_data (frame), zframe_size (frame),
                             8 * zframe_size (frame) + 65536);
        Gom__Envelope *env = gom_wire_env (wire);
        if (!env)
            zsys_warning ("from hub: %s", gom_wire_error (wire));
        else if (env->body_case == GOM__ENVELOPE__BODY_WELCOME)
            s_on_welcome (self, env->welcome);
        else if (env->body_case == GOM__ENVELOPE__BODY_ACK)
            s_on_ack (self, env->ack);
        else if (env->body_case == GOM__ENVELOPE__BODY_NACK)
            s_on_nack (self, env->nack);
        else if (env->body_case == GOM__ENVELOPE__BODY_FORM)
            s_on_form (self, env->form);
        gom_wire_msg_destroy (&wire);
        zmsg_destroy (&msg);
    }
}

//  --- The socket -----------------------------------------------------------

static void
s_socket_close (agent_t *self)
{
    if (self->dealer)
        zmq_socket_monitor (zsock_resolve (self->dealer), NULL, 0);
    zsock_destroy (&self->monitor);
    zsock_destroy (&self->dealer);
    self->connected = self->welcomed = false;
}

static int
s_socket_open (agent_t *self)
{
    self->dealer = zsock_new (ZMQ_DEALER);
    if (!self->dealer)
        return -1;
    //  Every option before connect: the session copies them.
    zcert_apply (self->cert, self->dealer);
    zsock_set_curve_serverkey (self->dealer, self->opt->hub_key);
    zsock_set_immediate (self->dealer, 1);
    zsock_set_sndtimeo (self->dealer, 0);
    zsock_set_rcvtimeo (self->dealer, 0);
    zsock_set_linger (self->dealer, 0);
    zsock_set_maxmsgsize (self->dealer, 1 << 20);
    zsock_set_reconnect_ivl (self->dealer, (int)self->opt->reconnect_ivl_ms);
    zsock_set_reconnect_ivl_max (self->dealer,
                                 (int)self->opt->reconnect_ivl_max_ms);
    zsock_set_heartbeat_ivl (self->dealer, (int)self->opt->heartbeat_ivl_ms);
    zsock_set_heartbeat_timeout (self->dealer,
                                 (int)self->opt->heartbeat_timeout_ms);
    //  A dead link with data stuck in the send buffer: libzmq sends its PING
    //  (and starts the heartbeat timeout) only once pending output is
    //  written, so the heartbeat alone never fires. TCP_USER_TIMEOUT makes
    //  the kernel drop a connection whose data stays unacknowledged this
    //  long; libzmq then reconnects. (Found by tests/netfault/
    //  test_blackhole.py.)
    zsock_set_tcp_maxrt (self->dealer, (int)self->opt->tcp_maxrt_ms);
    zsock_set_heartbeat_ttl (self->dealer,
                             (int)self->opt->heartbeat_timeout_ms);
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "inproc://gom-agent-monitor-%d",
              ++self->monitor_seq);
    if (zmq_socket_monitor (zsock_resolve (self->dealer), endpoint,
                            ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                                ZMQ_EVENT_DISCONNECTED |
                                ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                ZMQ_EVENT_CONNECT_RETRIED) != 0) {
        zsys_error ("monitor: %s", zmq_strerror (zmq_errno ()));
        s_socket_close (self);
        return -1;
    }
    self->monitor = zsock_new (ZMQ_PAIR);
    zsock_set_rcvtimeo (self->monitor, 0);
    if (!self->monitor || zsock_connect (self->monitor, "%s", endpoint) != 0 ||
        zsock_connect (self->dealer, "%s", self->opt->hub) != 0) {
        zsys_error ("cannot connect to %s: %s", self->opt->hub,
                    zmq_strerror (zmq_errno ()));
        s_socket_close (self);
        return -1;
    }
    return 0;
}

static void
s_monitor_events (agent_t *self)
{
    zmsg_t *msg;
    while (self->monitor && (msg = zmsg_recv (self->monitor))) {
        zframe_t *f = zmsg_first (msg);
        uint16_t event = 0;
        if (f && zframe_size (f) >= 6)
            memcpy (&event, zframe_data (f), 2);
        zmsg_destroy (&msg);
        int64_t now = gom_mono_ms ();
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            zsys_info ("connected to %s", self->opt->hub);
            self->connected = true;
            self->unreachable = false;
            self->welcomed = false;
            self->auth_backoff_ms = 0;
            self->hello_backoff_ms = self->opt->resend_min_ms;
            self->hello_due_ms = now;
            self->hellos = 0;
        }
        else if (event == ZMQ_EVENT_DISCONNECTED) {
            if (self->connected) {
                zsys_info ("disconnected from %s", self->opt->hub);
                //  So that `gom-agent status` says so while it lasts; the
                //  next welcome clears it.
                s_set_error (self, "disconnected from the hub; reconnecting");
                s_meta_time (self, "connected_since_ms", false);
                s_meta_time (self, "disconnected_since_ms", true);
            }
            self->connected = self->welcomed = false;
        }
        else if (event == ZMQ_EVENT_CONNECT_RETRIED && !self->unreachable) {
            //  The first failed attempt of a run of them: record it once.
            s_set_error (self, "cannot reach the hub at %s; retrying",
                         self->opt->hub);
            self->unreachable = true;
        }
        else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
            //  After a ZAP refusal libzmq never reconnects this socket.
            self->auth_backoff_ms = self->auth_backoff_ms
                                        ? self->auth_backoff_ms * 2
                                        : self->opt->reconnect_ivl_ms;
            if (self->auth_backoff_ms > self->opt->reconnect_ivl_max_ms)
                self->auth_backoff_ms = self->opt->reconnect_ivl_max_ms;
            //  ZAP 400: the key is not enrolled or was revoked, or the hub
            //  is at max_connections (it cannot say which: only the status
            //  code reaches us).
            zsys_warning ("hub refused this agent (key not enrolled or "
                          "revoked, or too many connections); trying again "
                          "in %" PRId64 " ms",
                          self->auth_backoff_ms);
            s_set_error (self, "hub refused this agent (key not enrolled or "
                               "revoked, or too many connections)");
            s_socket_close (self);
            self->rebuild_ms = now + self->auth_backoff_ms;
            return;
        }
        else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
                 event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
            s_set_error (self, "handshake with %s failed (wrong hub key?)",
                         self->opt->hub);
        }
    }
}

//  The periodic log line: what was acked, rejected and resent since the
//  last one, if anything.
static void
s_log_counts (agent_t *self, int64_t now)
{
    if (self->acked || self->rejected || self->resent)
        zsys_info ("acked %" PRId64 ", rejected %" PRId64 ", resent %" PRId64
                   ", in flight %zu",
                   self->acked, self->rejected, self->resent, self->n_flights);
    self->acked = self->rejected = self->resent = 0;
    self->last_log_ms = now;
}

//  The outbox's real path: sqlite follows a symlink, and writes its WAL
//  beside the file it points to. Caller frees.
static char *
s_outbox_real (agent_t *self)
{
    char *real = realpath (self->opt->outbox_path, NULL);
    return real ? real : strdup (self->opt->outbox_path);
}

//  --- Quiet ----------------------------------------------------------------

//  Whether the agent may hang up at all (quiet_after_ms): asked for, with
//  a gom-agent-quiet to become, welcomed by the hub in this run (its hello,
//  with the agent's status, went through), not relaying (a district's hub
//  is read every spool_scan_ms), watching with inotify, nothing in flight.
static bool
s_quiet_possible (agent_t *self)
{
    const agent_options_t *o = self->opt;
    return o->quiet_after_ms > 0 && o->quiet_path && !o->relay_from &&
           self->watch_fd >= 0 && self->welcomed && self->n_flights == 0;
}

//  ... and has had nothing else to do for quiet_after_ms.
static bool
s_quiet_due (agent_t *self, int64_t now)
{
    return s_quiet_possible (self) &&
           now - self->busy_ms >= self->opt->quiet_after_ms;
}

//  Whether anything waits to be sent, or to be taken from the spool folder
//  (settled or not); errors count as something.
static bool
s_quiet_work (agent_t *self)
{
    sqlite3_stmt *st = gom_db_prepare (
        self->db,
        "SELECT 1 FROM outbox WHERE state IN ('queued', 'sent') LIMIT 1");
    int rc = st ? sqlite3_step (st) : SQLITE_ERROR;
    sqlite3_finalize (st);
    if (rc != SQLITE_DONE)
        return true;
    char oldest [256];
    int64_t age;
    return agent_spool_waiting (self->opt->spool_dir, 0, oldest, sizeof oldest,
                                &age) != 0;
}

//  Hangs up if nothing waits. Records it for `gom-agent status` first (a
//  write to the outbox would wake gom-agent-quiet), then watches, with a
//  descriptor kept across exec, before its last look at the outbox and the
//  spool folder: whatever comes after that look wakes gom-agent-quiet.
//  True with quiet filled; false, busy again, if something waits.
static bool
s_quiet_begin (agent_t *self, agent_quiet_t *quiet)
{
    const agent_options_t *o = self->opt;
    int64_t idle_s = (gom_mono_ms () - self->busy_ms) / 1000;
    self->busy_ms = gom_mono_ms ();  //  if not now, not for quiet_after_ms
    //  A report held back (a failed write, a NACK's wait) or a workbook
    //  left for later: not now, and nothing written.
    s_tx_commit (self);
    if (self->reload || s_quiet_work (self))
        return false;
    char *path = s_outbox_real (self);
    const char *base = strrchr (path, '/');
    size_t wal = (size_t)snprintf (quiet->wal, sizeof quiet->wal, "%s-wal",
                                   base ? base + 1 : path);
    char *outbox_dir = gom_dirname (path);
    free (path);
    if (wal >= sizeof quiet->wal) {
        free (outbox_dir);
        return false;
    }
    //  For status; put back if it does not go quiet after all.
    char *connected = gom_db_meta_get (self->db, "connected_since_ms");
    char *disconnected = gom_db_meta_get (self->db, "disconnected_since_ms");
    int64_t check_in_ms = gom_now_ms () + o->check_in_ms;
    char at [24];
    snprintf (at, sizeof at, "%" PRId64, check_in_ms);
    s_meta_time (self, "quiet_since_ms", true);
    if (s_tx (self))
        gom_db_meta_set (self->db, "check_in_at_ms", at);
    s_meta_time (self, "connected_since_ms", false);
    s_meta_time (self, "disconnected_since_ms", true);
    s_tx_commit (self);
    quiet->fd = inotify_init1 (IN_NONBLOCK);
    quiet->spool_wd =
        quiet->fd >= 0
            ? inotify_add_watch (quiet->fd, o->spool_dir,
                                 IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE)
            : -1;
    quiet->outbox_wd =
        quiet->spool_wd >= 0
            //  Only writes: closing the outbox, as this process is about
            //  to, closes its WAL (IN_CLOSE_WRITE) without writing to it.
            ? inotify_add_watch (quiet->fd, outbox_dir, IN_MODIFY | IN_MASK_ADD)
            : -1;
    free (outbox_dir);
    bool ok = quiet->outbox_wd >= 0 && !self->reload && !s_quiet_work (self);
    if (!ok) {
        if (quiet->fd >= 0)
            close (quiet->fd);
        s_meta_time (self, "quiet_since_ms", false);
        if (s_tx (self)) {
            gom_db_meta_set (self->db, "connected_since_ms",
                             connected ? connected : "");
            gom_db_meta_set (self->db, "disconnected_since_ms",
                             disconnected ? disconnected : "");
        }
        s_tx_commit (self);
    }
    free (connected);
    free (disconnected);
    if (!ok)
        return false;
    time_t check_in = (time_t)(check_in_ms / 1000);
    struct tm tm;
    char when [32];
    localtime_r (&check_in, &tm);
    strftime (when, sizeof when, "%H:%M", &tm);
    s_log_counts (self, gom_mono_ms ());
    zsys_info ("quiet: nothing to send for %" PRId64
               " s; hanging up until a report comes, or the check-in at %s",
               idle_s, when);
    return true;
}

//  --- The loop -------------------------------------------------------------

//  An idle agent sleeps until something is due, so that an office PC
//  is not woken ten times a second for nothing: it watches (inotify) the
//  spool folder, for files dropped there, and the outbox's folder, for
//  reports `gom-agent submit` queues from another process (its WAL
//  changes). Without inotify it looks every 100 ms, as before.
static void
s_watch_open (agent_t *self)
{
    self->watch_fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
    char *real = s_outbox_real (self);
    char *outbox_dir = gom_dirname (real);
    free (real);
    gom_mkdir_p (self->opt->spool_dir, 0750);
    self->watch_spool =
        self->watch_fd >= 0
            ? inotify_add_watch (self->watch_fd, self->opt->spool_dir,
                                 IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE)
            : -1;
    if (self->watch_spool < 0 ||
        inotify_add_watch (self->watch_fd, outbox_dir,
                           IN_MODIFY | IN_CLOSE_WRITE) < 0) {
        zsys_warning ("cannot watch %s and %s (%s): looking every 100 ms",
                      self->opt->spool_dir, outbox_dir, strerror (errno));
        if (self->watch_fd >= 0)
            close (self->watch_fd);
        self->watch_fd = -1;
    }
    free (outbox_dir);
}

//  Reads the watch's events: a file in the spool folder is taken once it
//  has settled; anything else only wakes the loop.
static void
s_watch_read (agent_t *self)
{
    char buf [4096]
        __attribute__ ((aligned (__alignof__(struct inotify_event))));
    ssize_t len;
    while ((len = read (self->watch_fd, buf, sizeof buf)) > 0)
        for (char *p = buf; p < buf + len;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            if (ev->wd == self->watch_spool) {
                int64_t at = gom_mono_ms () + self->opt->spool_settle_ms + 20;
                if (at < self->spool_due_ms)
                    self->spool_due_ms = at;
            }
            p += sizeof *ev + ev->len;
        }
}

//  How long the loop may sleep: until the first thing due (capped at 5 s,
//  for systemd's watchdog); 100 ms without a watch.
static long
s_wait_ms (agent_t *self, int64_t now)
{
    int64_t next = now + (self->watch_fd >= 0 ? 5000 : 100);
#define SOONER(t)                                                              \
    do {                                                                       \
        if ((t) < next)                                                        \
            next = (t);                                                        \
    } while (0)
    SOONER (self->spool_due_ms);
    SOONER (self->purge_due_ms);
    if (self->opt->relay_from)
        SOONER (self->relay_due_ms);
    if (!self->dealer)
        SOONER (self->rebuild_ms);
    else if (self->connected)
        SOONER (self->hello_due_ms);
    if (self->welcomed && self->hold_ms > now)
        SOONER (self->hold_ms);
    else if (self->welcomed)
        for (int64_t i = 0; i < self->opt->window; i++)
            if (self->flights [i].live)
                SOONER (self->flights [i].due_ms);
    if (self->last_rx_ms > self->contact_written_ms)
        SOONER (self->contact_written_ms + 1000);
    if (self->acked || self->rejected || self->resent)
        SOONER (self->last_log_ms + 5000);
    if (s_quiet_possible (self))
        SOONER (self->busy_ms + self->opt->quiet_after_ms);
#undef SOONER
    return next > now ? (long)(next - now) : 0;
}

static void
s_contact (agent_t *self)
{
    int64_t now = gom_mono_ms ();
    if (self->last_rx_ms > self->contact_written_ms &&
        now - self->contact_written_ms >= 1000 && s_tx (self)) {
        char buf [24];
        snprintf (buf, sizeof buf, "%" PRId64, gom_now_ms ());
        gom_db_meta_set (self->db, "last_contact_ms", buf);
        self->contact_written_ms = now;
    }
}

static void
s_purge (agent_t *self)
{
    int64_t cutoff = gom_now_ms () - self->opt->retention_days * 86400000LL;
    sqlite3_stmt *st = gom_db_prepare (
        self->db, "DELETE FROM outbox WHERE state='acked' AND acked_ms < ?");
    if (st && s_tx (self)) {
        sqlite3_bind_int64 (st, 1, cutoff);
        sqlite3_step (st);
        if (sqlite3_changes (self->db) > 0)
            zsys_info ("outbox: dropped %d acknowledged reports older than "
                       "%" PRId64 " days",
                       sqlite3_changes (self->db), self->opt->retention_days);
    }
    sqlite3_finalize (st);
}

int
agent_sender_run (agent_options_t *opt, agent_quiet_t *quiet)
{
    agent_t agent;
    agent_t *self = &agent;
    memset (self, 0, sizeof *self);
    self->opt = opt;
    self->sigfd = -1;
    self->watch_fd = -1;
    char err [512];
    int status = 1;

    self->sigfd = gom_signals_open ();

    self->cert = gom_keys_load (opt->cert_path, err, sizeof err);
    if (!self->cert) {
        zsys_error ("%s", err);
        goto done;
    }
    self->outbox = agent_outbox_open (opt->outbox_path, false, err, sizeof err);
    if (!self->outbox) {
        zsys_error ("%s", err);
        goto done;
    }
    self->db = agent_outbox_db (self->outbox);
    self->flights = calloc ((size_t)opt->window, sizeof (flight_t));
    assert (self->flights);
    zsys_info ("agent %s for %s, outbox %s", GOM_VERSION, opt->hub,
               opt->outbox_path);
    //  For `gom-agent status`: who runs, since when, not connected yet.
    char pid [24];
    snprintf (pid, sizeof pid, "%d", (int)getpid ());
    //  Back from quiet (the same process, through gom-agent-quiet): it has
    //  been running since it first started.
    bool woken = gom_db_meta_int (self->db, "run_pid") == (int64_t)getpid () &&
                 gom_db_meta_int (self->db, "quiet_since_ms") > 0;
    if (s_tx (self))
        gom_db_meta_set (self->db, "run_pid", pid);
    if (!woken)
        s_meta_time (self, "run_started_ms", true);
    s_meta_time (self, "run_stopped_ms", false);
    s_meta_time (self, "connected_since_ms", false);
    s_meta_time (self, "disconnected_since_ms", true);
    s_meta_time (self, "quiet_since_ms", false);
    s_tx_commit (self);
    self->last_log_ms = gom_mono_ms ();
    self->busy_ms = self->last_log_ms;
    if (opt->quiet_after_ms > 0 && opt->relay_from)
        zsys_warning ("quiet_after_ms: not for an agent that relays; it "
                      "stays connected");
    s_watch_open (self);
    gom_notify_ready ();
    bool stop = false, went_quiet = false;
    while (!stop) {
        gom_notify_watchdog ();
        int64_t now = gom_mono_ms ();
        if (!self->dealer && now >= self->rebuild_ms &&
            s_socket_open (self) != 0)
            self->rebuild_ms = now + opt->reconnect_ivl_max_ms;
        zmq_pollitem_t items [4] = { { NULL, self->sigfd, ZMQ_POLLIN, 0 },
                                     { NULL, self->watch_fd, ZMQ_POLLIN, 0 } };
        int n = self->watch_fd >= 0 ? 2 : 1;
        if (self->dealer) {
            items [n++] = (zmq_pollitem_t){ zsock_resolve (self->dealer), 0,
                                            ZMQ_POLLIN, 0 };
            items [n++] = (zmq_pollitem_t){ zsock_resolve (self->monitor), 0,
                                            ZMQ_POLLIN, 0 };
        }
        if (zmq_poll (items, n, s_wait_ms (self, now)) < 0 &&
            zmq_errno () != EINTR) {
            zsys_error ("poll: %s", zmq_strerror (zmq_errno ()));
            break;
        }
        if (self->watch_fd >= 0 && (items [1].revents & ZMQ_POLLIN))
            s_watch_read (self);
        int came = (items [0].revents & ZMQ_POLLIN)
                       ? gom_signals_read (self->sigfd)
                       : 0;
        if (came & GOM_SIGNAL_RELOAD)
            zsys_info ("SIGHUP: nothing to reload (the forms come from the "
                       "hub; after editing agent.cfg, restart the agent)");
        if (came & GOM_SIGNAL_STOP)
            stop = true;
        if (self->dealer) {
            s_monitor_events (self);
            if (self->dealer)
                s_receive (self);
        }
        now = gom_mono_ms ();
        if (self->dealer && self->connected && !self->welcomed &&
            now >= self->hello_due_ms) {
            s_send_hello (self);
            if (self->hellos++ == 0)
                self->hello_sent_ms = now;
            self->hello_due_ms = now + self->hello_backoff_ms;
            self->hello_backoff_ms *= 2;
            if (self->hello_backoff_ms > opt->resend_max_ms)
                self->hello_backoff_ms = opt->resend_max_ms;
        }
        if (self->dealer && self->welcomed && now >= self->hold_ms) {
            if (now >= self->hello_due_ms) {
                s_send_hello (self);  //  status for the hub's operators
                self->hello_due_ms = now + opt->hello_ivl_ms;
            }
            s_fill_window (self);
            s_send_due (self);
        }
        //  Not when stopping: a pass may read workbooks for seconds.
        if (!stop && now >= self->spool_due_ms) {
            //  The spool writes its own transactions.
            s_tx_commit (self);
            int settling;
            bool more;
            agent_spool_scan (self->outbox, opt, &settling, &more);
            //  Watched: a look now and then all the same (a folder shared
            //  over the network may not tell); files still settling or
            //  more waiting: soon.
            if (more || settling)
                self->busy_ms = now;
            self->spool_due_ms =
                now + (more                  ? 0
                       : settling            ? opt->spool_settle_ms + 20
                       : self->watch_fd >= 0 ? 60000
                                             : opt->spool_scan_ms);
        }
        if (!stop && opt->relay_from && now >= self->relay_due_ms) {
            s_tx_commit (self);
            agent_relay_pump (self->outbox, opt->relay_from);
            self->relay_due_ms = now + opt->spool_scan_ms;
        }
        if (now >= self->purge_due_ms) {
            s_purge (self);
            self->purge_due_ms = now + 3600 * 1000;
        }
        s_contact (self);
        s_tx_commit (self);
        if (self->n_flights > 0)
            self->busy_ms = now;
        if (!stop && s_quiet_due (self, now) && s_quiet_begin (self, quiet)) {
            went_quiet = true;
            break;
        }
        if (self->reload) {
            s_flights_clear (self);
            s_hold_sending (self);
            self->reload = false;
        }
        if (now - self->last_log_ms >= 5000)
            s_log_counts (self, now);
    }
    if (went_quiet) {
        status = AGENT_RUN_QUIET;
        goto done;
    }
    gom_notify_stopping ();
    status = 0;
    s_meta_time (self, "run_stopped_ms", true);
    s_meta_time (self, "connected_since_ms", false);
    if (s_tx (self))
        gom_db_meta_set (self->db, "run_pid", "");
done:
    s_tx_commit (self);
    s_socket_close (self);
    if (self->flights)
        s_flights_clear (self);
    free (self->flights);
    agent_outbox_destroy (&self->outbox);
    zcert_destroy (&self->cert);
    if (self->sigfd >= 0)
        close (self->sigfd);
    if (self->watch_fd >= 0)
        close (self->watch_fd);
    if (status != AGENT_RUN_QUIET)
        zsys_info ("stopped");
    return status;
}
