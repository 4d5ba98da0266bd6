/*  hub_http: see hub_http.h and docs/dashboard.md.

    Threads: libmicrohttpd runs a thread per connection (at most
    http_max_connections), so a live event stream may block in its own
    thread waiting for the next event. Shared state (sessions, events,
    counters, cache, the catalog copy) is behind self->lock, except the
    catalog, which has its own lock because consolidating 10,000 units
    takes tens of milliseconds and events must not wait for that. */
#include "hub_http.h"
#include "gom_db.h"
#include "gom_form.h"
#include "gom_keys.h"
#include "gom_units.h"
#include "gom_util.h"
#include "hub_catalog.h"
#include "hub_export.h"
#include "hub_store.h"
#include "hub_totals.h"
#include "hub_users.h"

#include <arpa/inet.h>
#include <czmq.h>
#include <microhttpd.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

//  The page's files, made from hub/web/ at build time (web_assets.c).
typedef struct {
    const char *path;
    const char *type;
    const unsigned char *data;
    size_t len;
} gom_web_asset_t;
extern const gom_web_asset_t gom_web_assets [];

#define MAX_SESSIONS 256
#define MAX_BODY     65536
#define RING         4096  //  live events kept for slow readers
#define CACHE_SLOTS  32
#define MAX_CODES    32  //  distinct NACK codes counted
#define KEEPALIVE_MS 15000
#define ROLLUPS      8  //  (form, period) pairs kept in memory
#define ROLLUPS_TEXT "8"
#define HOT_ASKS     8       //  questions the ask channel keeps answered
#define HOT_MS       600000  //  ... for 10 minutes after they were asked
#define REFRESH_MS   500     //  ... at most twice a second

typedef struct {
    char token [65];  //  hex of 32 random bytes; "" = free slot
    char user [65];
    char role [16];
    int64_t expires_ms;
} session_t;

//  An answer, shared by the cache and the ask channel's messages on
//  their way out (libzmq lets it go from its own thread).
typedef struct {
    atomic_int refs;
    size_t len;
    char *data;  //  NUL-terminated
} blob_t;

typedef struct {
    char *key;
    blob_t *blob;
    uint64_t generation;
    int64_t used_ms;
} cache_t;

static const double s_buckets [] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                     0.1,   0.25,   0.5,   1.0,  2.5,   5.0 };
#define N_BUCKETS (sizeof s_buckets / sizeof s_buckets [0])

struct _hub_http_t {
    struct MHD_Daemon *daemon;
    char *db_path, *keys_path;
    bool cookie_secure;
    bool metrics_public;
    int64_t session_ms;
    pthread_mutex_t lock;
    pthread_cond_t changed;  //  a new event, or stopping
    bool stopping;
    //  Sessions
    session_t sessions [MAX_SESSIONS];
    pthread_mutex_t login_lock;  //  one password check at a time
    pthread_t warm;              //  s_warm, at start
    bool warming;
    //  Live events: ring of formatted SSE records; seq counts all ever made
    char *ring [RING];
    uint64_t seq;
    int64_t sse_clients;
    //  Cache of answers, valid while generation is unchanged
    uint64_t generation;
    cache_t cache [CACHE_SLOTS];
    //  Counters for /metrics
    int64_t received, duplicates, connected;
    char nack_codes [MAX_CODES][24];
    int64_t nack_counts [MAX_CODES];
    int64_t commit_buckets [N_BUCKETS + 1];
    double commit_sum;
    int64_t commit_count;
    zhashx_t *last_message;  //  key -> int64_t ms (this run)
    //  Form pack and unit tree, this side's own copy
    pthread_mutex_t catalog_lock;
    hub_catalog_t *catalog;
    //  Rollups of (form, period) for totals and arrivals (catalog_lock)
    hub_rollup_t *rollups [ROLLUPS];
    char *rollup_keys [ROLLUPS];
    int64_t rollup_used [ROLLUPS];
    //  Idle store connections for request threads
    hub_store_t *pool [8];
    size_t n_pool;
    //  The ask channel: the command line's questions (s_ask_actor)
    zactor_t *ask;
    char *ask_path;
    int stored_fd;      //  eventfd: something was stored (-1: none)
    int64_t asks;       //  answers given (for /metrics)
    int64_t refreshes;  //  times the recent answers were made again
};

typedef struct {
    char *body;
    size_t len;
    bool too_big;
} request_t;

//  --------------------------------------------------------------------------
//  Small helpers

static void
s_json_free (void **item)
{
    json_decref (*item);
    *item = NULL;
}

static hub_store_t *
s_store_get (hub_http_t *self)
{
    pthread_mutex_lock (&self->lock);
    hub_store_t *store = self->n_pool ? self->pool [--self->n_pool] : NULL;
    pthread_mutex_unlock (&self->lock);
    if (!store) {
        char err [512];
        store = hub_store_open (self->db_path, self->keys_path, false, err,
                                sizeof err);
        if (!store)
            zsys_error ("http: %s", err);
    }
    return store;
}

static void
s_store_put (hub_http_t *self, hub_store_t *store)
{
    if (!store)
        return;
    pthread_mutex_lock (&self->lock);
    if (self->n_pool < sizeof self->pool / sizeof self->pool [0]) {
        self->pool [self->n_pool++] = store;
        store = NULL;
    }
    pthread_mutex_unlock (&self->lock);
    hub_store_destroy (&store);
}

//  A response of body (len bytes; MHD frees it, or, with a persistent
//  body, never does) with the headers every answer carries.
static struct MHD_Response *
s_response (char *body, size_t len, bool persistent, const char *type,
            const char *cache)
{
    struct MHD_Response *r = MHD_create_response_from_buffer (
        len, body, persistent ? MHD_RESPMEM_PERSISTENT : MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header (r, "Content-Type", type);
    MHD_add_response_header (r, "Cache-Control", cache);
    MHD_add_response_header (r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header (r, "X-Frame-Options", "DENY");
    MHD_add_response_header (r, "Referrer-Policy", "no-referrer");
    return r;
}

//  JSON (stolen) as a response, or NULL if it cannot be written.
static struct MHD_Response *
s_json_response (json_t *json)
{
    char *text = json_dumps (json, JSON_COMPACT);
    json_decref (json);
    return text ? s_response (text, strlen (text), false,
                              "application/json; charset=utf-8", "no-store")
                : NULL;
}

//  Queues r (NULL: fails the connection) and lets it go.
static enum MHD_Result
s_queue (struct MHD_Connection *conn, unsigned status, struct MHD_Response *r)
{
    if (!r)
        return MHD_NO;
    enum MHD_Result rc = MHD_queue_response (conn, status, r);
    MHD_destroy_response (r);
    return rc;
}

static enum MHD_Result
s_send (struct MHD_Connection *conn, unsigned status, const char *type,
        char *body, size_t len)
{
    return s_queue (conn, status,
                    s_response (body, len, false, type, "no-store"));
}

//  Sends json (stolen) with status.
static enum MHD_Result
s_json (struct MHD_Connection *conn, unsigned status, json_t *json)
{
    return s_queue (conn, status, s_json_response (json));
}

static enum MHD_Result
s_error (struct MHD_Connection *conn, unsigned status, const char *fmt, ...)
{
    char text [1024];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (text, sizeof text, fmt, ap);
    va_end (ap);
    return s_json (conn, status, json_pack ("{s:s}", "error", text));
}

static const char *
s_arg (struct MHD_Connection *conn, const char *name)
{
    const char *v =
        MHD_lookup_connection_value (conn, MHD_GET_ARGUMENT_KIND, name);
    return v && *v ? v : NULL;
}

//  --------------------------------------------------------------------------
//  Sessions

static bool
s_session (hub_http_t *self, struct MHD_Connection *conn, session_t *out)
{
    const char *token =
        MHD_lookup_connection_value (conn, MHD_COOKIE_KIND, "gom_session");
    if (!token || strlen (token) != 64)
        return false;
    bool found = false;
    int64_t now = gom_mono_ms ();
    pthread_mutex_lock (&self->lock);
    for (size_t i = 0; i < MAX_SESSIONS && !found; i++) {
        session_t *s = &self->sessions [i];
        if (s->token [0] && sodium_memcmp (s->token, token, 64) == 0) {
            if (s->expires_ms > now) {
                *out = *s;
                found = true;
            }
            else
                memset (s, 0, sizeof *s);
        }
    }
    pthread_mutex_unlock (&self->lock);
    return found;
}

static void
s_cookie (hub_http_t *self, struct MHD_Response *r, const char *token,
          int64_t max_age_s)
{
    char cookie [256];
    snprintf (cookie, sizeof cookie,
              "gom_session=%s; Path=/; HttpOnly; SameSite=Strict; "
              "Max-Age=%" PRId64 "%s",
              token, max_age_s, self->cookie_secure ? "; Secure" : "");
    MHD_add_response_header (r, "Set-Cookie", cookie);
}

static enum MHD_Result
s_login (hub_http_t *self, struct MHD_Connection *conn, json_t *body)
{
    const char *user = json_string_value (json_object_get (body, "user"));
    const char *password =
        json_string_value (json_object_get (body, "password"));
    if (!user || !password)
        return s_error (conn, 400, "give \"user\" and \"password\"");
    char role [16] = "";
    pthread_mutex_lock (&self->login_lock);
    bool ok =
        hub_users_verify (self->keys_path, user, password, role, sizeof role);
    pthread_mutex_unlock (&self->login_lock);
    if (!ok) {
        zsys_warning ("http: login refused for '%.64s'", user);
        return s_error (conn, 401, "wrong user name or password");
    }
    uint8_t raw [32];
    randombytes_buf (raw, sizeof raw);
    session_t s;
    memset (&s, 0, sizeof s);
    gom_hex (raw, sizeof raw, s.token);
    snprintf (s.user, sizeof s.user, "%s", user);
    snprintf (s.role, sizeof s.role, "%s", role);
    int64_t now = gom_mono_ms ();
    s.expires_ms = now + self->session_ms;
    pthread_mutex_lock (&self->lock);
    //  A free or expired slot, else the one that expires first.
    size_t pick = 0;
    for (size_t i = 0; i < MAX_SESSIONS; i++) {
        session_t *c = &self->sessions [i];
        if (!c->token [0] || c->expires_ms <= now) {
            pick = i;
            break;
        }
        if (c->expires_ms < self->sessions [pick].expires_ms)
            pick = i;
    }
    self->sessions [pick] = s;
    pthread_mutex_unlock (&self->lock);
    zsys_info ("http: %s logged in (%s)", s.user, s.role);
    struct MHD_Response *r = s_json_response (
        json_pack ("{s:s, s:s}", "user", s.user, "role", s.role));
    if (r)
        s_cookie (self, r, s.token, self->session_ms / 1000);
    return s_queue (conn, 200, r);
}

static enum MHD_Result
s_logout (hub_http_t *self, struct MHD_Connection *conn)
{
    const char *token =
        MHD_lookup_connection_value (conn, MHD_COOKIE_KIND, "gom_session");
    pthread_mutex_lock (&self->lock);
    for (size_t i = 0; token && i < MAX_SESSIONS; i++)
        if (self->sessions [i].token [0] &&
            strcmp (self->sessions [i].token, token) == 0)
            memset (&self->sessions [i], 0, sizeof (session_t));
    pthread_mutex_unlock (&self->lock);
    struct MHD_Response *r = s_json_response (json_object ());
    if (r)
        s_cookie (self, r, "", 0);
    return s_queue (conn, 200, r);
}

//  --------------------------------------------------------------------------
//  Live events

static void
s_event (hub_http_t *self, const char *type, json_t *data)
{
    if (!self) {
        json_decref (data);
        return;
    }
    char *text = json_dumps (data, JSON_COMPACT);
    json_decref (data);
    pthread_mutex_lock (&self->lock);
    uint64_t id = self->seq + 1;
    char *record = zsys_sprintf ("id: %" PRIu64 "\nevent: %s\ndata: %s\n\n", id,
                                 type, text ? text : "{}");
    free (self->ring [id % RING]);
    self->ring [id % RING] = record;
    self->seq = id;
    pthread_cond_broadcast (&self->changed);
    pthread_mutex_unlock (&self->lock);
    free (text);
}

typedef struct {
    hub_http_t *http;
    uint64_t next;  //  seq of the next event to send
    char *pending;  //  what is left of the record being sent
    size_t len, off;
} sse_t;

static ssize_t
s_sse_read (void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    sse_t *c = cls;
    hub_http_t *self = c->http;
    if (c->off == c->len) {
        free (c->pending);
        c->pending = NULL;
        c->len = c->off = 0;
        pthread_mutex_lock (&self->lock);
        struct timespec until;
        clock_gettime (CLOCK_REALTIME, &until);
        until.tv_sec += KEEPALIVE_MS / 1000;
        int rc = 0;
        while (!self->stopping && c->next > self->seq && rc == 0)
            rc = pthread_cond_timedwait (&self->changed, &self->lock, &until);
        if (self->stopping) {
            pthread_mutex_unlock (&self->lock);
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        if (c->next > self->seq)
            c->pending = strdup (": keepalive\n\n");
        else if (self->seq - c->next >= RING - 1) {
            //  Too far behind: the ring has moved past what it needs.
            c->pending = zsys_sprintf (
                "id: %" PRIu64 "\nevent: resync\ndata: {}\n\n", self->seq);
            c->next = self->seq + 1;
        }
        else {
            //  Several records at once when they are waiting, up to max.
            size_t cap = 4096, n = 0;
            char *out = malloc (cap);
            while (c->next <= self->seq && n < max) {
                const char *rec = self->ring [c->next % RING];
                size_t rl = strlen (rec);
                if (n + rl > cap) {
                    while (n + rl > cap)
                        cap *= 2;
                    out = realloc (out, cap);
                }
                memcpy (out + n, rec, rl);
                n += rl;
                c->next++;
            }
            c->pending = out;
            c->len = n;
        }
        if (c->pending && !c->len)
            c->len = strlen (c->pending);
        pthread_mutex_unlock (&self->lock);
    }
    size_t n = c->len - c->off < max ? c->len - c->off : max;
    memcpy (buf, c->pending + c->off, n);
    c->off += n;
    return (ssize_t)n;
}

static void
s_sse_free (void *cls)
{
    sse_t *c = cls;
    pthread_mutex_lock (&c->http->lock);
    c->http->sse_clients--;
    pthread_mutex_unlock (&c->http->lock);
    free (c->pending);
    free (c);
}

static enum MHD_Result
s_events (hub_http_t *self, struct MHD_Connection *conn)
{
    sse_t *c = calloc (1, sizeof *c);
    c->http = self;
    pthread_mutex_lock (&self->lock);
    c->next = self->seq + 1;
    const char *last =
        MHD_lookup_connection_value (conn, MHD_HEADER_KIND, "Last-Event-ID");
    if (last) {
        //  A reconnecting browser: resend what it missed, if still kept.
        uint64_t l = strtoull (last, NULL, 10);
        if (l <= self->seq && self->seq - l < RING - 1)
            c->next = l + 1;
    }
    self->sse_clients++;
    pthread_mutex_unlock (&self->lock);
    struct MHD_Response *r = MHD_create_response_from_callback (
        MHD_SIZE_UNKNOWN, 16384, s_sse_read, c, s_sse_free);
    MHD_add_response_header (r, "Content-Type", "text/event-stream");
    MHD_add_response_header (r, "Cache-Control", "no-store");
    MHD_add_response_header (r, "X-Accel-Buffering", "no");
    return s_queue (conn, 200, r);
}

//  --------------------------------------------------------------------------
//  Hooks called from the hub's loop

//  Tells the ask channel that its answers are out of date.
static void
s_stored (hub_http_t *self)
{
    uint64_t one = 1;
    //  A full counter (EAGAIN) means the channel has been told already.
    ssize_t rc =
        self->stored_fd >= 0 ? write (self->stored_fd, &one, sizeof one) : 0;
    (void)rc;
}

//  Something was stored another way (an import) or the catalog changed:
//  every answer made before is out of date.
static void
s_changed (hub_http_t *self)
{
    pthread_mutex_lock (&self->lock);
    self->generation++;
    pthread_mutex_unlock (&self->lock);
    s_stored (self);
}

static void
s_seen (hub_http_t *self, const char *key)
{
    int64_t *at = zhashx_lookup (self->last_message, key);
    if (!at) {
        at = malloc (sizeof *at);
        zhashx_insert (self->last_message, key, at);
    }
    *at = gom_now_ms ();
}

void
hub_http_arrival (hub_http_t *self, const Gom__Report *report, uint64_t receipt,
                  int64_t received_ms)
{
    if (!self)
        return;
    pthread_mutex_lock (&self->lock);
    self->received++;
    self->generation++;
    pthread_mutex_unlock (&self->lock);
    s_stored (self);
    s_event (self, "arrival",
             json_pack ("{s:I, s:s, s:s, s:s, s:I, s:o, s:o}", "receipt",
                        (json_int_t)receipt, "unit", report->unit, "form",
                        report->form, "period", report->period, "revision",
                        (json_int_t)report->revision, "sealed_at",
                        gom_time_json (report->sealed_at_ms), "received_at",
                        gom_time_json (received_ms)));
}

void
hub_http_duplicate (hub_http_t *self)
{
    if (!self)
        return;
    pthread_mutex_lock (&self->lock);
    self->duplicates++;
    pthread_mutex_unlock (&self->lock);
}

void
hub_http_nack (hub_http_t *self, const char *key, const Gom__Report *report,
               bool permanent, const char *code, const char *reason)
{
    if (!self)
        return;
    pthread_mutex_lock (&self->lock);
    size_t i;
    for (i = 0; i < MAX_CODES && self->nack_codes [i][0]; i++)
        if (strcmp (self->nack_codes [i], code) == 0)
            break;
    if (i == MAX_CODES)
        i = MAX_CODES - 1;  //  "other": the last slot
    else if (!self->nack_codes [i][0])
        snprintf (self->nack_codes [i], sizeof self->nack_codes [i], "%s",
                  code);
    self->nack_counts [i]++;
    if (key)
        s_seen (self, key);
    if (permanent)
        self->generation++;
    pthread_mutex_unlock (&self->lock);
    if (permanent)
        s_stored (self);
    if (permanent && report && key) {
        char fp [16];
        gom_key_fingerprint (key, fp, sizeof fp);
        s_event (self, "rejection",
                 json_pack ("{s:s, s:s, s:s, s:I, s:s, s:s, s:s}", "unit",
                            report->unit, "form", report->form, "period",
                            report->period, "revision",
                            (json_int_t)report->revision, "code", code,
                            "reason", reason, "fingerprint", fp));
    }
}

void
hub_http_hello (hub_http_t *self, const char *key)
{
    if (!self)
        return;
    pthread_mutex_lock (&self->lock);
    s_seen (self, key);
    pthread_mutex_unlock (&self->lock);
    char fp [16];
    gom_key_fingerprint (key, fp, sizeof fp);
    s_event (self, "agent",
             json_pack ("{s:s, s:o}", "fingerprint", fp, "at",
                        gom_time_json (gom_now_ms ())));
}

void
hub_http_commit (hub_http_t *self, int64_t micros)
{
    if (!self)
        return;
    double s = (double)micros / 1e6;
    pthread_mutex_lock (&self->lock);
    size_t b = 0;
    while (b < N_BUCKETS && s > s_buckets [b])
        b++;
    self->commit_buckets [b]++;
    self->commit_sum += s;
    self->commit_count++;
    pthread_mutex_unlock (&self->lock);
}

void
hub_http_connections (hub_http_t *self, int64_t connected)
{
    if (!self)
        return;
    pthread_mutex_lock (&self->lock);
    self->connected = connected;
    pthread_mutex_unlock (&self->lock);
}

//  --------------------------------------------------------------------------
//  Cache of answers that depend only on the stored reports and the catalog

//  A new answer of data (taken: malloc'd, NUL-terminated), one reference.
static blob_t *
s_blob_new (char *data, size_t len)
{
    blob_t *b = malloc (sizeof *b);
    assert (b);
    atomic_init (&b->refs, 1);
    b->len = len;
    b->data = data;
    return b;
}

static blob_t *
s_blob_ref (blob_t *b)
{
    atomic_fetch_add (&b->refs, 1);
    return b;
}

static void
s_blob_unref (blob_t *b)
{
    if (b && atomic_fetch_sub (&b->refs, 1) == 1) {
        free (b->data);
        free (b);
    }
}

//  The cached answer to key, a reference to it, or NULL. A stable answer
//  (the catalog's alone: units, layout) stays valid for the whole run; the
//  others while nothing was stored.
static blob_t *
s_cache_ref (hub_http_t *self, const char *key, bool stable)
{
    blob_t *found = NULL;
    pthread_mutex_lock (&self->lock);
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        cache_t *c = &self->cache [i];
        if (c->key && strcmp (c->key, key) == 0 &&
            (stable || c->generation == self->generation)) {
            found = s_blob_ref (c->blob);
            c->used_ms = gom_mono_ms ();
            break;
        }
    }
    pthread_mutex_unlock (&self->lock);
    return found;
}

//  The same, as a copy of its own (MHD frees it).
static char *
s_cache_get (hub_http_t *self, const char *key, bool stable, size_t *len)
{
    blob_t *b = s_cache_ref (self, key, stable);
    if (!b)
        return NULL;
    char *copy = malloc (b->len + 1);
    memcpy (copy, b->data, b->len + 1);
    *len = b->len;
    s_blob_unref (b);
    return copy;
}

//  Keeps a reference to blob as the answer to key.
static void
s_cache_keep (hub_http_t *self, const char *key, uint64_t generation,
              blob_t *blob)
{
    pthread_mutex_lock (&self->lock);
    size_t pick = 0;
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        cache_t *c = &self->cache [i];
        if (!c->key || strcmp (c->key, key) == 0) {
            pick = i;
            break;
        }
        if (c->used_ms < self->cache [pick].used_ms)
            pick = i;
    }
    cache_t *c = &self->cache [pick];
    free (c->key);
    s_blob_unref (c->blob);
    c->key = strdup (key);
    c->blob = s_blob_ref (blob);
    c->generation = generation;
    c->used_ms = gom_mono_ms ();
    pthread_mutex_unlock (&self->lock);
}

//  Forgets every cached answer (under lock).
static void
s_cache_drop (hub_http_t *self)
{
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        zstr_free (&self->cache [i].key);
        s_blob_unref (self->cache [i].blob);
        self->cache [i].blob = NULL;
    }
}

//  Keeps a copy of body as the answer to key.
static void
s_cache_put (hub_http_t *self, const char *key, uint64_t generation,
             const char *body, size_t len)
{
    char *copy = malloc (len + 1);
    memcpy (copy, body, len + 1);
    blob_t *blob = s_blob_new (copy, len);
    s_cache_keep (self, key, generation, blob);
    s_blob_unref (blob);
}

//  --------------------------------------------------------------------------
//  Answers that need the catalog (under catalog_lock)

static int
s_by_last_receipt (const void *a, const void *b)
{
    json_int_t x = json_integer_value (
        json_object_get (*(json_t *const *)a, "last_receipt"));
    json_int_t y = json_integer_value (
        json_object_get (*(json_t *const *)b, "last_receipt"));
    return x < y ? 1 : x > y ? -1 : 0;
}

static json_t *
s_forms_json (hub_http_t *self, sqlite3 *db)
{
    json_t *list = json_array ();
    for (size_t i = 0;; i++) {
        gom_form_t *form = hub_catalog_form_at (self->catalog, i);
        if (!form)
            break;
        const char *code = gom_form_code (form);
        if (hub_catalog_form (self->catalog, code, 0) != form)
            continue;  //  an older version
        //  Periods: those with reports, and the current and previous ones.
        json_t *periods = json_array ();
        zlistx_t *seen = zlistx_new ();
        zlistx_set_destructor (seen, (zlistx_destructor_fn *)zstr_free);
        zlistx_set_duplicator (seen, (zlistx_duplicator_fn *)strdup);
        zlistx_set_comparator (seen, (zlistx_comparator_fn *)strcmp);
        sqlite3_stmt *st = gom_db_prepare (
            db, "SELECT DISTINCT period FROM reports WHERE form=?");
        if (st)
            gom_db_bind_str (st, 1, code);
        while (st && sqlite3_step (st) == SQLITE_ROW)
            zlistx_add_end (seen, (void *)sqlite3_column_text (st, 0));
        sqlite3_finalize (st);
        time_t now = time (NULL) + 7 * 3600;  //  Vietnam
        struct tm tm;
        gmtime_r (&now, &tm);
        int year = tm.tm_year + 1900;
        char cand [32];
        for (int y = year; y >= year - 1; y--) {
            const char *fmts [] = { "%d-H2", "%d-H1", "%d" };
            for (size_t f = 0; f < 3; f++) {
                snprintf (cand, sizeof cand, fmts [f], y);
                if (gom_form_period_valid (form, cand) &&
                    !zlistx_find (seen, cand))
                    zlistx_add_end (seen, cand);
            }
        }
        const char *const *ranges = gom_form_periods (form);
        for (size_t r = 0; ranges && ranges [r]; r++)
            if (!zlistx_find (seen, (void *)ranges [r]))
                zlistx_add_end (seen, (void *)ranges [r]);
        zlistx_sort (seen);
        for (char *p = zlistx_last (seen); p; p = zlistx_prev (seen))
            json_array_append_new (periods, json_string (p));
        zlistx_destroy (&seen);
        int64_t last = 0;  //  the form's newest receipt
        st = gom_db_prepare (db, "SELECT max(receipt) FROM reports "
                                 "WHERE form=?");
        if (st) {
            gom_db_bind_str (st, 1, code);
            if (sqlite3_step (st) == SQLITE_ROW)
                last = sqlite3_column_int64 (st, 0);
        }
        sqlite3_finalize (st);
        json_array_append_new (
            list, json_pack ("{s:s, s:I, s:s, s:s, s:o, s:I}", "code", code,
                             "version", (json_int_t)gom_form_version (form),
                             "title", gom_form_title (form), "period_type",
                             gom_form_period_type (form), "periods", periods,
                             "last_receipt", (json_int_t)last));
    }
    //  The form that received a report last comes first: the page opens it.
    size_t n = json_array_size (list);
    json_t **sorted = calloc (n + 1, sizeof (json_t *));
    for (size_t i = 0; i < n; i++)
        sorted [i] = json_incref (json_array_get (list, i));
    qsort (sorted, n, sizeof (json_t *), s_by_last_receipt);
    json_array_clear (list);
    for (size_t i = 0; i < n; i++)
        json_array_append_new (list, sorted [i]);
    free (sorted);
    return json_pack ("{s:o}", "forms", list);
}

static json_t *
s_layout_json (gom_form_t *form)
{
    json_t *lines = json_array ();
    for (size_t i = 0; i < gom_form_line_count (form); i++) {
        const gom_form_line_t *l = gom_form_line (form, i);
        json_t *o = json_object ();
        if (l->kind == GOM_LINE_SECTION) {
            json_object_set_new (o, "kind", json_string ("section"));
            json_t *cols = json_array ();
            for (size_t c = 0; c < l->n_columns; c++)
                json_array_append_new (
                    cols, json_pack ("{s:s, s:s}", "code", l->column_codes [c],
                                     "label", l->column_labels [c]));
            json_object_set_new (o, "columns", cols);
        }
        else if (l->kind == GOM_LINE_HEADING)
            json_object_set_new (o, "kind", json_string ("heading"));
        else {
            json_object_set_new (o, "kind", json_string ("row"));
            json_t *cells = json_array ();
            for (size_t c = 0; c < l->n_columns; c++)
                json_array_append_new (
                    cells, l->cells [c] == SIZE_MAX
                               ? json_null ()
                               : json_string (
                                     gom_form_cell_code (form, l->cells [c])));
            json_object_set_new (o, "cells", cells);
            json_object_set_new (o, "no", json_string (l->no ? l->no : ""));
        }
        if (l->code)
            json_object_set_new (o, "code", json_string (l->code));
        json_object_set_new (o, "label",
                             json_string (l->label ? l->label : ""));
        json_array_append_new (lines, o);
    }
    json_t *texts = json_array ();
    for (size_t i = 0; i < gom_form_text_count (form); i++) {
        const char *code, *label;
        bool required;
        gom_form_text (form, i, &code, &label, &required);
        json_array_append_new (texts, json_pack ("{s:s, s:s, s:b}", "code",
                                                 code, "label", label,
                                                 "required", required));
    }
    json_t *inds = json_array ();
    for (size_t i = 0; i < gom_form_indicator_count (form); i++) {
        gom_indicator_t ind;
        gom_form_indicator (form, i, &ind);
        json_array_append_new (
            inds,
            json_pack ("{s:s, s:s, s:f, s:o, s:o}", "code", ind.code, "label",
                       ind.label, "scale", ind.scale, "target_min",
                       ind.has_min ? json_real (ind.min) : json_null (),
                       "target_max",
                       ind.has_max ? json_real (ind.max) : json_null ()));
    }
    return json_pack (
        "{s:s, s:I, s:s, s:s, s:o, s:o, s:o}", "form", gom_form_code (form),
        "version", (json_int_t)gom_form_version (form), "title",
        gom_form_title (form), "period_type", gom_form_period_type (form),
        "lines", lines, "texts", texts, "indicators", inds);
}

static json_t *
s_units_json (gom_units_t *units)
{
    json_t *list = json_array ();
    int64_t now = gom_now_ms ();
    for (size_t i = 0; units && i < gom_units_count (units); i++) {
        const char *code = gom_units_code (units, i);
        const char *parent = gom_units_parent (units, code);
        const char *level = gom_units_level (units, code);
        json_array_append_new (
            list,
            json_pack ("{s:s, s:s, s:o, s:o, s:b, s:b}", "code", code, "name",
                       gom_units_name (units, code), "parent",
                       parent && *parent ? json_string (parent) : json_null (),
                       "level", level ? json_string (level) : json_null (),
                       "leaf", gom_units_is_leaf (units, code), "active",
                       gom_units_active (units, code, now)));
    }
    return json_pack ("{s:o}", "units", list);
}

//  Forgets the rollup in slot i (under catalog_lock).
static void
s_rollup_drop (hub_http_t *self, size_t i)
{
    hub_rollup_destroy (&self->rollups [i]);
    zstr_free (&self->rollup_keys [i]);
    self->rollup_used [i] = 0;
}

//  Forgets every rollup (under catalog_lock): the catalog changed.
static void
s_rollups_drop (hub_http_t *self)
{
    for (size_t i = 0; i < ROLLUPS; i++)
        s_rollup_drop (self, i);
}

//  The rollup of form and period, brought up to date (under catalog_lock).
//  NULL if the database cannot be read.
static hub_rollup_t *
s_rollup (hub_http_t *self, gom_form_t *form, const char *period, sqlite3 *db)
{
    char key [128];
    snprintf (key, sizeof key, "%s|%u|%s", gom_form_code (form),
              gom_form_version (form), period);
    size_t pick = 0;
    bool found = false;
    for (size_t i = 0; i < ROLLUPS && !found; i++) {
        if (self->rollup_keys [i] && strcmp (self->rollup_keys [i], key) == 0) {
            pick = i;
            found = true;
        }
        else if (self->rollup_used [i] < self->rollup_used [pick])
            pick = i;
    }
    if (!found) {
        s_rollup_drop (self, pick);
        self->rollups [pick] = hub_rollup_new (form, period, true);
        self->rollup_keys [pick] = strdup (key);
    }
    self->rollup_used [pick] = gom_mono_ms ();
    if (hub_rollup_update (self->rollups [pick], db) != 0) {
        //  Start afresh next time: what it holds may be half-read.
        s_rollup_drop (self, pick);
        return NULL;
    }
    return self->rollups [pick];
}

//  The generation an answer is made at, read before the database (so the
//  answer holds at least what was committed when it began), and a store
//  to read it from; NULL with 503 and err if the database is unavailable.
static hub_store_t *
s_answer_store (hub_http_t *self, uint64_t *generation, unsigned *status_p,
                char *err, size_t errlen)
{
    pthread_mutex_lock (&self->lock);
    *generation = self->generation;
    pthread_mutex_unlock (&self->lock);
    hub_store_t *store = s_store_get (self);
    if (!store) {
        *status_p = 503;
        snprintf (err, errlen, "the hub's database is unavailable");
    }
    return store;
}

//  GET answers built from the catalog and the database, cached.
//  The answer (JSON text, *len bytes) to what, from the cache or made now;
//  NULL with *status and err on a fault. The parameters are checked.
static char *
s_answer (hub_http_t *self, const char *what, const char *form_code,
          const char *period, const char *root, const char *section,
          const char *version, size_t *len_p, unsigned *status_p, char *err,
          size_t errlen)
{
    bool needs_form = strcmp (what, "forms") && strcmp (what, "units");
    bool needs_period = needs_form && strcmp (what, "layout");
    *status_p = 400;
    if (needs_form && !form_code) {
        snprintf (err, errlen, "%s needs the parameter form", what);
        return NULL;
    }
    if (needs_period && !period) {
        snprintf (err, errlen, "%s needs the parameter period", what);
        return NULL;
    }
    if (strcmp (what, "texts") == 0 && !section) {
        snprintf (err, errlen, "texts needs the parameter section");
        return NULL;
    }
    char *key =
        zsys_sprintf ("%s|%s|%s|%s|%s|%s", what, form_code ? form_code : "",
                      period ? period : "", root ? root : "",
                      section ? section : "", version ? version : "");
    bool stable = strcmp (what, "units") == 0 || strcmp (what, "layout") == 0;
    size_t len = 0;
    char *body = s_cache_get (self, key, stable, &len);
    if (body) {
        free (key);
        *len_p = len;
        return body;
    }
    uint64_t generation;
    hub_store_t *store =
        s_answer_store (self, &generation, status_p, err, errlen);
    if (!store) {
        free (key);
        return NULL;
    }
    sqlite3 *db = hub_store_db (store);
    unsigned status = 200;
    json_t *out = NULL;
    pthread_mutex_lock (&self->catalog_lock);
    gom_units_t *units = hub_catalog_units (self->catalog);
    gom_form_t *form = NULL;
    if (needs_form) {
        form = hub_catalog_form (self->catalog, form_code,
                                 version ? (uint32_t)atoi (version) : 0);
        if (!form) {
            status = 404;
            snprintf (err, errlen, "form %s%s%s is not in the form pack",
                      form_code, version ? " v" : "", version ? version : "");
        }
    }
    if (status == 200 && root && units && !gom_units_exists (units, root)) {
        status = 404;
        snprintf (err, errlen, "unit %s is not in the unit tree", root);
    }
    if (status == 200 && needs_period &&
        !gom_form_period_valid (form, period)) {
        status = 400;
        snprintf (err, errlen, "period %s is not valid for form %s (%s)",
                  period, form_code, gom_form_period_type (form));
    }
    if (status != 200)
        ;
    else if (strcmp (what, "forms") == 0)
        out = s_forms_json (self, db);
    else if (strcmp (what, "units") == 0)
        out = s_units_json (units);
    else if (strcmp (what, "layout") == 0)
        out = s_layout_json (form);
    else if (strcmp (what, "arrivals") == 0 && !units)
        snprintf (err, errlen,
                  "the hub has no unit tree: no list of expected units");
    else if (strcmp (what, "totals") == 0 || strcmp (what, "arrivals") == 0) {
        hub_rollup_t *rollup = s_rollup (self, form, period, db);
        if (!rollup) {
            status = 503;
            snprintf (err, errlen, "cannot read the reports: %s",
                      sqlite3_errmsg (db));
        }
        else if (strcmp (what, "totals") == 0)
            out = hub_rollup_totals (rollup, units, root);
        else
            body = hub_rollup_arrivals_text (rollup, units, root, &len);
    }
    else if (strcmp (what, "texts") == 0) {
        json_t *list = hub_texts_json (db, form, units, period, section, root,
                                       err, errlen);
        out = list ? json_pack ("{s:o}", "texts", list) : NULL;
    }
    pthread_mutex_unlock (&self->catalog_lock);
    s_store_put (self, store);
    if (!out && !body) {
        free (key);
        *status_p = status == 200 ? 400 : status;
        return NULL;
    }
    if (out) {
        body = json_dumps (out, JSON_COMPACT);
        json_decref (out);
        len = strlen (body);
    }
    s_cache_put (self, key, generation, body, len);
    free (key);
    *len_p = len;
    return body;
}

static enum MHD_Result
s_consolidated (hub_http_t *self, struct MHD_Connection *conn, const char *what)
{
    char err [600] = "";
    unsigned status = 200;
    size_t len = 0;
    char *body =
        s_answer (self, what, s_arg (conn, "form"), s_arg (conn, "period"),
                  s_arg (conn, "root"), s_arg (conn, "section"),
                  s_arg (conn, "version"), &len, &status, err, sizeof err);
    if (!body)
        return s_error (conn, status, "%s", err);
    return s_send (conn, 200, "application/json; charset=utf-8", body, len);
}

//  What the command `gom-hub WHAT` prints (docs/cli.md), for the ask
//  channel: the rollups and the cache of the API's answers, the command's
//  own checks and words (so that its output does not depend on who
//  answered it: the test integration/test_cli_ask.py compares): a
//  reference to it, or NULL with *status and err on a fault.
static blob_t *
s_cli_answer (hub_http_t *self, const char *what, const char *form_code,
              const char *period, const char *root, const char *section,
              const char *format, unsigned *status_p, char *err, size_t errlen)
{
    *status_p = 400;
    bool totals = strcmp (what, "totals") == 0;
    bool arrivals = strcmp (what, "arrivals") == 0;
    bool texts = strcmp (what, "texts") == 0;
    bool json = strcmp (format, "json") == 0;
    bool csv = strcmp (format, "csv") == 0;
    if (!(totals || arrivals || texts) ||
        !(json || csv || strcmp (format, "text") == 0) || (csv && !totals)) {
        snprintf (err, errlen, "the hub does not answer %.32s as %.16s", what,
                  format);
        return NULL;
    }
    if (!form_code || !period) {
        snprintf (err, errlen, "%s needs --form F and --period P", what);
        return NULL;
    }
    if (texts && !section) {
        snprintf (err, errlen,
                  "texts needs --section S (a narrative section code)");
        return NULL;
    }
    if (!texts)
        section = NULL;
    char *key = zsys_sprintf ("cli|%s|%s|%s|%s|%s|%s", what, form_code, period,
                              root ? root : "", section ? section : "", format);
    blob_t *blob = s_cache_ref (self, key, false);
    if (blob) {
        free (key);
        *status_p = 200;
        return blob;
    }
    uint64_t generation;
    hub_store_t *store =
        s_answer_store (self, &generation, status_p, err, errlen);
    if (!store) {
        free (key);
        return NULL;
    }
    sqlite3 *db = hub_store_db (store);
    json_t *out = NULL;
    char *body = NULL;
    size_t len = 0;
    pthread_mutex_lock (&self->catalog_lock);
    gom_units_t *units = hub_catalog_units (self->catalog);
    gom_form_t *form = hub_catalog_form (self->catalog, form_code, 0);
    if (!form) {
        *status_p = 404;
        //  The command's words (hub/main.c, s_consolidate).
        snprintf (err, errlen, "form %s is not in the hub's form pack",
                  form_code);
    }
    else if (!hub_view_valid (what, form, units, period, root, section, err,
                              errlen))
        ;
    else if (texts)
        out = hub_texts_json (db, form, units, period, section, root, err,
                              errlen);
    else {
        hub_rollup_t *rollup = s_rollup (self, form, period, db);
        if (!rollup) {
            *status_p = 503;
            snprintf (err, errlen, "cannot read the reports: %s",
                      sqlite3_errmsg (db));
        }
        else if (arrivals)
            body = hub_rollup_arrivals_output (rollup, units, root, json, &len);
        else
            out = hub_rollup_totals (rollup, units, root);
    }
    pthread_mutex_unlock (&self->catalog_lock);
    s_store_put (self, store);
    if (out) {
        FILE *f = open_memstream (&body, &len);
        if (json) {  //  as the command's s_print_json
            json_dumpf (out, f, JSON_INDENT (2));
            fputc ('\n', f);
        }
        else if (csv)
            hub_export_csv (out, f);
        else if (totals)
            hub_totals_print (out, f);
        else
            hub_texts_print (out, f);
        fclose (f);
        json_decref (out);
    }
    if (body) {
        blob = s_blob_new (body, len);
        s_cache_keep (self, key, generation, blob);
        *status_p = 200;
    }
    free (key);
    return blob;
}

//  Makes, in its own thread at start, the answers the first operator will
//  ask for: the unit tree, and the rollups of the form and period pairs
//  that have reports (newest first), so that the first page after a
//  restart does not wait for a province's reports to be read.
static void *
s_warm (void *arg)
{
    hub_http_t *self = arg;
    char err [600];
    unsigned status;
    size_t len;
    free (s_answer (self, "units", NULL, NULL, NULL, NULL, NULL, &len, &status,
                    err, sizeof err));
    hub_store_t *store = s_store_get (self);
    sqlite3_stmt *st =
        store ? gom_db_prepare (hub_store_db (store),
                                "SELECT form, period FROM reports GROUP BY "
                                "form, period ORDER BY max(receipt) DESC "
                                "LIMIT " ROLLUPS_TEXT)
              : NULL;
    zlistx_t *pairs = zlistx_new ();
    zlistx_set_destructor (pairs, (zlistx_destructor_fn *)zstr_free);
    while (st && sqlite3_step (st) == SQLITE_ROW) {
        zlistx_add_end (pairs,
                        strdup ((const char *)sqlite3_column_text (st, 0)));
        zlistx_add_end (pairs,
                        strdup ((const char *)sqlite3_column_text (st, 1)));
    }
    sqlite3_finalize (st);
    s_store_put (self, store);
    //  Oldest first, so that the newest is the last one the LRU keeps.
    for (char *period = zlistx_last (pairs); period;
         period = zlistx_prev (pairs)) {
        char *form = zlistx_prev (pairs);
        pthread_mutex_lock (&self->lock);
        bool stop = self->stopping;
        pthread_mutex_unlock (&self->lock);
        if (stop || !form)
            break;
        free (s_answer (self, "arrivals", form, period, NULL, NULL, NULL, &len,
                        &status, err, sizeof err));
    }
    zlistx_destroy (&pairs);
    return NULL;
}

//  The consolidated table as a download.
static enum MHD_Result
s_export (hub_http_t *self, struct MHD_Connection *conn, bool xlsx)
{
    const char *form_code = s_arg (conn, "form");
    const char *period = s_arg (conn, "period");
    const char *root = s_arg (conn, "root");
    if (!form_code || !period)
        return s_error (conn, 400, "export needs the parameters form, period");
    hub_store_t *store = s_store_get (self);
    if (!store)
        return s_error (conn, 503, "the hub's database is unavailable");
    sqlite3 *db = hub_store_db (store);
    char err [600] = "";
    char *data = NULL;
    size_t len = 0;
    unsigned status = 400;
    pthread_mutex_lock (&self->catalog_lock);
    gom_units_t *units = hub_catalog_units (self->catalog);
    gom_form_t *form = hub_catalog_form (self->catalog, form_code, 0);
    json_t *totals = NULL;
    if (!form) {
        status = 404;
        snprintf (err, sizeof err, "form %s is not in the form pack",
                  form_code);
    }
    else if (!gom_form_period_valid (form, period))
        snprintf (err, sizeof err, "period %s is not valid for form %s", period,
                  form_code);
    else if (root && units && !gom_units_exists (units, root)) {
        status = 404;
        snprintf (err, sizeof err, "unit %s is not in the unit tree", root);
    }
    else
        totals =
            hub_totals_json (db, form, units, period, root, err, sizeof err);
    if (totals && !xlsx) {
        FILE *f = open_memstream (&data, &len);
        hub_export_csv (totals, f);
        fclose (f);
    }
    else if (totals) {
        json_t *arr = units ? hub_arrivals_json (db, form, units, period, root,
                                                 err, sizeof err)
                            : NULL;
        char path [] = "/tmp/gom-export-XXXXXX";
        int fd = mkstemp (path);
        if (fd < 0)
            snprintf (err, sizeof err, "cannot make a temporary file: %s",
                      strerror (errno));
        else {
            close (fd);
            if (hub_export_xlsx (form, totals, arr, path, err, sizeof err) ==
                0) {
                FILE *f = fopen (path, "rb");
                if (f) {
                    fseek (f, 0, SEEK_END);
                    long n = ftell (f);
                    fseek (f, 0, SEEK_SET);
                    data = malloc ((size_t)n + 1);
                    len = fread (data, 1, (size_t)n, f);
                    fclose (f);
                }
            }
            unlink (path);
        }
        json_decref (arr);
    }
    pthread_mutex_unlock (&self->catalog_lock);
    s_store_put (self, store);
    json_decref (totals);
    if (!data) {
        if (!err [0])
            snprintf (err, sizeof err, "export failed");
        return s_error (conn, status == 400 && form ? 500 : status, "%s", err);
    }
    struct MHD_Response *r = s_response (
        data, len, false,
        xlsx ? "application/"
               "vnd.openxmlformats-officedocument.spreadsheetml.sheet"
             : "text/csv; charset=utf-8",
        "no-store");
    char disp [256];
    snprintf (disp, sizeof disp, "attachment; filename=\"%s-%s%s%s.%s\"",
              form_code, period, root ? "-" : "", root ? root : "",
              xlsx ? "xlsx" : "csv");
    //  The names are codes (letters, digits, '.', '-'): safe in quotes.
    for (char *p = disp; *p; p++)
        if (*p == '\r' || *p == '\n')
            *p = ' ';
    MHD_add_response_header (r, "Content-Disposition", disp);
    return s_queue (conn, 200, r);
}

//  --------------------------------------------------------------------------
//  Answers straight from the database

static enum MHD_Result
s_reports (hub_http_t *self, struct MHD_Connection *conn)
{
    const char *unit = s_arg (conn, "unit");
    const char *form = s_arg (conn, "form");
    const char *period = s_arg (conn, "period");
    if (!unit)
        return s_error (conn, 400, "reports needs the parameter unit");
    hub_store_t *store = s_store_get (self);
    if (!store)
        return s_error (conn, 503, "the hub's database is unavailable");
    sqlite3 *db = hub_store_db (store);
    json_t *list = json_array ();
    gom_db_exec (db, "BEGIN");
    sqlite3_stmt *st = gom_db_prepare (
        db, "SELECT receipt, report_id, unit, form, form_version, period, "
            "revision, agent_key, sealed_ms, received_ms, content FROM reports "
            "WHERE unit=?1 AND (?2 IS NULL OR form=?2) "
            "AND (?3 IS NULL OR period=?3) "
            "ORDER BY form, period DESC, revision DESC LIMIT 500");
    sqlite3_stmt *texts = gom_db_prepare (
        db, "SELECT code, text FROM texts WHERE receipt=? ORDER BY code");
    if (st) {
        gom_db_bind_str (st, 1, unit);
        gom_db_bind_str (st, 2, form);
        gom_db_bind_str (st, 3, period);
    }
    while (st && texts && sqlite3_step (st) == SQLITE_ROW) {
        int64_t receipt = sqlite3_column_int64 (st, 0);
        char id [33] = "";
        if (sqlite3_column_bytes (st, 1) == 16)
            gom_hex (sqlite3_column_blob (st, 1), 16, id);
        char fp [16];
        gom_key_fingerprint ((const char *)sqlite3_column_text (st, 7), fp,
                             sizeof fp);
        json_t *jc =
            hub_store_cells_json (sqlite3_column_blob (st, 10),
                                  (size_t)sqlite3_column_bytes (st, 10));
        json_t *jt = json_object ();
        sqlite3_bind_int64 (texts, 1, receipt);
        while (sqlite3_step (texts) == SQLITE_ROW)
            json_object_set_new (
                jt, (const char *)sqlite3_column_text (texts, 0),
                json_string ((const char *)sqlite3_column_text (texts, 1)));
        sqlite3_reset (texts);
        json_array_append_new (
            list,
            json_pack ("{s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:o, s:o, s:s, "
                       "s:o, s:o}",
                       "report_id", id, "unit",
                       (const char *)sqlite3_column_text (st, 2), "form",
                       (const char *)sqlite3_column_text (st, 3), "version",
                       (json_int_t)sqlite3_column_int64 (st, 4), "period",
                       (const char *)sqlite3_column_text (st, 5), "revision",
                       (json_int_t)sqlite3_column_int64 (st, 6), "receipt",
                       (json_int_t)receipt, "sealed_at",
                       gom_time_json (sqlite3_column_int64 (st, 8)),
                       "received_at",
                       gom_time_json (sqlite3_column_int64 (st, 9)), "sender",
                       fp, "cells", jc, "texts", jt));
    }
    sqlite3_finalize (st);
    sqlite3_finalize (texts);
    gom_db_exec (db, "COMMIT");
    s_store_put (self, store);
    return s_json (conn, 200, json_pack ("{s:o}", "reports", list));
}

static enum MHD_Result
s_agents (hub_http_t *self, struct MHD_Connection *conn)
{
    hub_store_t *store = s_store_get (self);
    if (!store)
        return s_error (conn, 503, "the hub's database is unavailable");
    sqlite3 *db = hub_store_db (store);
    json_t *list = hub_store_agents_json (store);
    //  Refusals: the last one per key, and how many are not followed by
    //  an accepted report for the same unit, form and period.
    zhashx_t *last = zhashx_new ();
    zhashx_set_destructor (last, s_json_free);
    sqlite3_stmt *st = gom_db_prepare (
        db, "SELECT agent_key, code, reason, max(at_ms) FROM rejections "
            "GROUP BY agent_key");
    while (st && sqlite3_step (st) == SQLITE_ROW)
        zhashx_insert (
            last, (const char *)sqlite3_column_text (st, 0),
            json_pack ("{s:s, s:s, s:o}", "code",
                       (const char *)sqlite3_column_text (st, 1), "reason",
                       (const char *)sqlite3_column_text (st, 2), "at",
                       gom_time_json (sqlite3_column_int64 (st, 3))));
    sqlite3_finalize (st);
    zhashx_t *waiting = zhashx_new ();
    zhashx_set_destructor (waiting, s_json_free);
    st = gom_db_prepare (
        db, "SELECT agent_key, count(*) FROM rejections r WHERE NOT EXISTS "
            "(SELECT 1 FROM reports p WHERE p.unit=r.unit AND p.form=r.form "
            " AND p.period=r.period AND p.received_ms >= r.at_ms) "
            "GROUP BY agent_key");
    while (st && sqlite3_step (st) == SQLITE_ROW)
        zhashx_insert (waiting, (const char *)sqlite3_column_text (st, 0),
                       json_integer (sqlite3_column_int64 (st, 1)));
    sqlite3_finalize (st);
    s_store_put (self, store);
    size_t i;
    json_t *a;
    pthread_mutex_lock (&self->lock);
    json_array_foreach (list, i, a) {
        const char *key = json_string_value (json_object_get (a, "key"));
        if (!key)
            continue;
        int64_t *at = zhashx_lookup (self->last_message, key);
        json_object_set_new (a, "last_message_at",
                             at ? gom_time_json (*at) : json_null ());
        json_t *e = zhashx_lookup (last, key);
        json_object_set (a, "last_error", e ? e : json_null ());
        json_t *w = zhashx_lookup (waiting, key);
        json_object_set_new (a, "rejected",
                             json_integer (w ? json_integer_value (w) : 0));
    }
    pthread_mutex_unlock (&self->lock);
    zhashx_destroy (&last);
    zhashx_destroy (&waiting);
    return s_json (conn, 200, json_pack ("{s:o}", "agents", list));
}

static enum MHD_Result
s_status (hub_http_t *self, struct MHD_Connection *conn)
{
    hub_store_t *store = s_store_get (self);
    if (!store)
        return s_error (conn, 503, "the hub's database is unavailable");
    json_t *out = hub_store_status_json (store);
    s_store_put (self, store);
    pthread_mutex_lock (&self->lock);
    json_object_set_new (out, "connected_agents",
                         json_integer (self->connected));
    pthread_mutex_unlock (&self->lock);
    return s_json (conn, 200, out);
}

static enum MHD_Result
s_enroll (hub_http_t *self, struct MHD_Connection *conn, json_t *body,
          const session_t *who, bool revoke)
{
    const char *key = json_string_value (json_object_get (body, "key"));
    if (!key || !gom_key_valid (key))
        return s_error (conn, 400,
                        "\"key\" must be an agent's public key (40 Z85 "
                        "characters, as gom-agent init prints it)");
    json_t *junits = json_object_get (body, "units");
    size_t n = revoke ? 0 : json_array_size (junits);
    if (!revoke && n == 0)
        return s_error (conn, 400, "\"units\" must list at least one unit");
    char **units = calloc (n + 1, sizeof (char *));
    char err [512] = "";
    pthread_mutex_lock (&self->catalog_lock);
    gom_units_t *tree = hub_catalog_units (self->catalog);
    for (size_t i = 0; i < n && !err [0]; i++) {
        const char *u = json_string_value (json_array_get (junits, i));
        if (!u || !gom_code_valid (u))
            snprintf (err, sizeof err, "unit %zu is not a valid unit code",
                      i + 1);
        else if (tree && !gom_units_exists (tree, u))
            snprintf (err, sizeof err, "unit %s is not in the unit tree", u);
        else
            units [i] = strdup (u);
    }
    pthread_mutex_unlock (&self->catalog_lock);
    hub_store_t *store = err [0] ? NULL : s_store_get (self);
    int rc = -1;
    if (store)
        rc = revoke ? hub_store_revoke (store, key, err, sizeof err)
                    : hub_store_enroll (store, key, units, err, sizeof err);
    else if (!err [0])
        snprintf (err, sizeof err, "the hub's database is unavailable");
    s_store_put (self, store);
    gom_strv_free (&units);
    if (rc != 0)
        return s_error (conn, 400, "%s", err);
    char fp [16];
    gom_key_fingerprint (key, fp, sizeof fp);
    zsys_info ("http: %s %s agent %s", who->user,
               revoke ? "revoked" : "enrolled", fp);
    //  (No cached answer depends on enrollment: the cache stays valid.)
    json_t *out = json_pack ("{s:s, s:s}", "key", key, "fingerprint", fp);
    if (!revoke)  //  every one checked above: the units as given
        json_object_set (out, "units", junits);
    return s_json (conn, 200, out);
}

static enum MHD_Result
s_metrics (hub_http_t *self, struct MHD_Connection *conn)
{
    int64_t enrolled = 0, depth = 0, oldest = 0;
    hub_store_t *store = s_store_get (self);
    if (store) {
        sqlite3_stmt *st = gom_db_prepare (
            hub_store_db (store),
            "SELECT count(*), coalesce(sum(queue_depth),0), "
            "coalesce(max(oldest_queued_age_s),0) FROM keys.agents "
            "WHERE revoked_ms IS NULL");
        if (st && sqlite3_step (st) == SQLITE_ROW) {
            enrolled = sqlite3_column_int64 (st, 0);
            depth = sqlite3_column_int64 (st, 1);
            oldest = sqlite3_column_int64 (st, 2);
        }
        sqlite3_finalize (st);
        s_store_put (self, store);
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream (&buf, &len);
    pthread_mutex_lock (&self->lock);
    fprintf (f,
             "# HELP gom_reports_received_total Reports stored for the "
             "first time.\n# TYPE gom_reports_received_total counter\n"
             "gom_reports_received_total %" PRId64 "\n",
             self->received);
    fprintf (f,
             "# HELP gom_reports_duplicate_total Reports received again "
             "and acknowledged with their first receipt.\n"
             "# TYPE gom_reports_duplicate_total counter\n"
             "gom_reports_duplicate_total %" PRId64 "\n",
             self->duplicates);
    fprintf (f, "# HELP gom_nacks_total Refusals sent, by reason.\n"
                "# TYPE gom_nacks_total counter\n");
    for (size_t i = 0; i < MAX_CODES && self->nack_codes [i][0]; i++)
        fprintf (f, "gom_nacks_total{code=\"%s\"} %" PRId64 "\n",
                 self->nack_codes [i], self->nack_counts [i]);
    fprintf (f, "# HELP gom_commit_seconds Time from the start of a batch "
                "to its COMMIT on disk.\n# TYPE gom_commit_seconds "
                "histogram\n");
    int64_t cum = 0;
    for (size_t b = 0; b < N_BUCKETS; b++) {
        cum += self->commit_buckets [b];
        fprintf (f, "gom_commit_seconds_bucket{le=\"%g\"} %" PRId64 "\n",
                 s_buckets [b], cum);
    }
    cum += self->commit_buckets [N_BUCKETS];
    fprintf (f,
             "gom_commit_seconds_bucket{le=\"+Inf\"} %" PRId64 "\n"
             "gom_commit_seconds_sum %.6f\n"
             "gom_commit_seconds_count %" PRId64 "\n",
             cum, self->commit_sum, self->commit_count);
    fprintf (f,
             "# HELP gom_agents_connected Agents' TCP connections open "
             "now.\n# TYPE gom_agents_connected gauge\n"
             "gom_agents_connected %" PRId64 "\n",
             self->connected);
    fprintf (f,
             "# HELP gom_dashboard_streams Open live event streams.\n"
             "# TYPE gom_dashboard_streams gauge\n"
             "gom_dashboard_streams %" PRId64 "\n",
             self->sse_clients);
    fprintf (f,
             "# HELP gom_ask_answers_total Answers to the command line "
             "over the ask channel (DIR/hub.ask).\n"
             "# TYPE gom_ask_answers_total counter\n"
             "gom_ask_answers_total %" PRId64 "\n"
             "# HELP gom_ask_refreshes_total Times the ask channel made "
             "the answers asked in the last 10 minutes again after reports "
             "were stored.\n"
             "# TYPE gom_ask_refreshes_total counter\n"
             "gom_ask_refreshes_total %" PRId64 "\n",
             self->asks, self->refreshes);
    pthread_mutex_unlock (&self->lock);
    fprintf (f,
             "# HELP gom_agents_enrolled Enrolled, not revoked agent "
             "keys.\n# TYPE gom_agents_enrolled gauge\n"
             "gom_agents_enrolled %" PRId64 "\n"
             "# HELP gom_agent_queue_depth Reports queued at the agents, "
             "as they said at their last hello.\n"
             "# TYPE gom_agent_queue_depth gauge\n"
             "gom_agent_queue_depth %" PRId64 "\n"
             "# HELP gom_agent_oldest_queued_seconds Age of the oldest "
             "queued report at any agent, at its last hello.\n"
             "# TYPE gom_agent_oldest_queued_seconds gauge\n"
             "gom_agent_oldest_queued_seconds %" PRId64 "\n",
             enrolled, depth, oldest);
    fclose (f);
    return s_send (conn, 200, "text/plain; version=0.0.4; charset=utf-8", buf,
                   len);
}

//  --------------------------------------------------------------------------
//  Routing

static enum MHD_Result
s_asset (struct MHD_Connection *conn, const char *url)
{
    if (strcmp (url, "/") == 0)
        url = "/index.html";
    for (const gom_web_asset_t *a = gom_web_assets; a->path; a++)
        if (strcmp (a->path, url) == 0) {
            struct MHD_Response *r =
                s_response ((char *)a->data, a->len, true, a->type, "no-cache");
            MHD_add_response_header (
                r, "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; "
                "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'");
            return s_queue (conn, 200, r);
        }
    return s_error (conn, 404, "no such page: %s", url);
}

static enum MHD_Result
s_route (hub_http_t *self, struct MHD_Connection *conn, const char *url,
         const char *method, request_t *req)
{
    bool get = strcmp (method, "GET") == 0 || strcmp (method, "HEAD") == 0;
    bool post = strcmp (method, "POST") == 0;
    if (!get && !post)
        return s_error (conn, 405, "method %s is not served", method);
    if (strcmp (url, "/metrics") == 0 && get && self->metrics_public)
        return s_metrics (self, conn);
    if (strncmp (url, "/api/", 5) != 0 && strcmp (url, "/metrics") != 0)
        return get ? s_asset (conn, url)
                   : s_error (conn, 405, "POST is for /api/ only");
    json_t *body = NULL;
    if (post) {
        //  Only JSON: a page of another site cannot send it without asking.
        const char *type =
            MHD_lookup_connection_value (conn, MHD_HEADER_KIND, "Content-Type");
        if (!type || strncmp (type, "application/json", 16) != 0)
            return s_error (conn, 415,
                            "POST needs Content-Type: "
                            "application/json");
        if (req->too_big)
            return s_error (conn, 413, "the request body is over %d bytes",
                            MAX_BODY);
        json_error_t jerr;
        body = req->body ? json_loadb (req->body, req->len, 0, &jerr) : NULL;
        if (!json_is_object (body)) {
            json_decref (body);
            return s_error (conn, 400, "the body must be a JSON object");
        }
    }
    enum MHD_Result rc;
    session_t who;
    if (post && strcmp (url, "/api/login") == 0)
        rc = s_login (self, conn, body);
    else if (!s_session (self, conn, &who))
        rc = s_error (conn, 401, "log in first");
    else if (post && strcmp (url, "/api/logout") == 0)
        rc = s_logout (self, conn);
    else if (post && (strcmp (url, "/api/agents/enroll") == 0 ||
                      strcmp (url, "/api/agents/revoke") == 0)) {
        if (strcmp (who.role, "admin") != 0)
            rc = s_error (conn, 403,
                          "only an admin can enroll or revoke "
                          "agents");
        else
            rc = s_enroll (self, conn, body, &who,
                           strcmp (url, "/api/agents/revoke") == 0);
    }
    else if (post)
        rc = s_error (conn, 404, "no such action: %s", url);
    else if (strcmp (url, "/api/me") == 0)
        rc = s_json (
            conn, 200,
            json_pack ("{s:s, s:s}", "user", who.user, "role", who.role));
    else if (strcmp (url, "/api/forms") == 0)
        rc = s_consolidated (self, conn, "forms");
    else if (strcmp (url, "/api/units") == 0)
        rc = s_consolidated (self, conn, "units");
    else if (strcmp (url, "/api/layout") == 0)
        rc = s_consolidated (self, conn, "layout");
    else if (strcmp (url, "/api/arrivals") == 0)
        rc = s_consolidated (self, conn, "arrivals");
    else if (strcmp (url, "/api/totals") == 0)
        rc = s_consolidated (self, conn, "totals");
    else if (strcmp (url, "/api/texts") == 0)
        rc = s_consolidated (self, conn, "texts");
    else if (strcmp (url, "/api/reports") == 0)
        rc = s_reports (self, conn);
    else if (strcmp (url, "/api/agents") == 0)
        rc = s_agents (self, conn);
    else if (strcmp (url, "/api/status") == 0)
        rc = s_status (self, conn);
    else if (strcmp (url, "/api/export.csv") == 0)
        rc = s_export (self, conn, false);
    else if (strcmp (url, "/api/export.xlsx") == 0)
        rc = s_export (self, conn, true);
    else if (strcmp (url, "/api/events") == 0)
        rc = s_events (self, conn);
    else if (strcmp (url, "/metrics") == 0)
        rc = s_metrics (self, conn);
    else
        rc = s_error (conn, 404, "no such path: %s", url);
    json_decref (body);
    return rc;
}

static enum MHD_Result
s_handler (void *cls, struct MHD_Connection *conn, const char *url,
           const char *method, const char *version, const char *upload_data,
           size_t *upload_size, void **con_cls)
{
    (void)version;
    hub_http_t *self = cls;
    request_t *req = *con_cls;
    if (!req) {
        *con_cls = calloc (1, sizeof (request_t));
        return MHD_YES;
    }
    if (*upload_size) {
        if (req->len + *upload_size > MAX_BODY)
            req->too_big = true;
        else {
            req->body = realloc (req->body, req->len + *upload_size);
            memcpy (req->body + req->len, upload_data, *upload_size);
            req->len += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    return s_route (self, conn, url, method, req);
}

static void
s_completed (void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    request_t *req = *con_cls;
    if (req) {
        free (req->body);
        free (req);
    }
    *con_cls = NULL;
}

static void
s_mhd_log (void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line [512];
    vsnprintf (line, sizeof line, fmt, ap);
    size_t n = strlen (line);
    while (n && line [n - 1] == '\n')
        line [--n] = 0;
    zsys_warning ("http: %s", line);
}

//  --------------------------------------------------------------------------
//  The ask channel (hub_http.h): the command line's questions

char *
hub_ask_path (const char *db_path)
{
    char *dir = strdup (db_path);
    char *slash = strrchr (dir, '/');
    const char *name = slash ? db_path + (slash - dir) + 1 : db_path;
    if (slash)
        slash [slash == dir ? 1 : 0] = 0;
    char *real = realpath (slash ? dir : ".", NULL);
    free (dir);
    if (!real)
        return NULL;
    //  hub.db: hub.ask (two hubs' databases in one folder: two sockets).
    size_t stem = strlen (name);
    if (stem > 3 && strcmp (name + stem - 3, ".db") == 0)
        stem -= 3;
    char *path =
        zsys_sprintf ("%s%s%.*s.ask", real, strcmp (real, "/") == 0 ? "" : "/",
                      (int)stem, name);
    free (real);
    struct sockaddr_un sa;
    if (strlen (path) >= sizeof sa.sun_path) {
        free (path);
        return NULL;
    }
    return path;
}

//  True if a process accepts connections on the socket file at path.
static bool
s_ask_listening (const char *path)
{
    struct sockaddr_un sa;
    memset (&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    snprintf (sa.sun_path, sizeof sa.sun_path, "%s", path);
    int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool up = connect (fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close (fd);
    return up;
}

static void
s_blob_free (void *data, void *hint)
{
    (void)data;
    s_blob_unref (hint);
}

//  A question the command line asked (its 6 frames), and when.
typedef struct {
    char *f [6];
    int64_t asked_ms;
} hot_t;

static void
s_hot_clear (hot_t *h)
{
    for (size_t i = 0; i < 6; i++)
        zstr_free (&h->f [i]);
}

static bool
s_same (const char *a, const char *b)
{
    return a == b || (a && b && strcmp (a, b) == 0);
}

//  Remembers a question that was answered: the same one again, a free
//  place, or the one asked longest ago.
static void
s_hot_note (hot_t *hot, char **f)
{
    hot_t *pick = &hot [0];
    bool same = false;
    for (size_t i = 0; i < HOT_ASKS && !same; i++) {
        hot_t *h = &hot [i];
        same = h->f [0] != NULL;
        for (size_t k = 0; same && k < 6; k++)
            same = s_same (h->f [k], f [k]);
        if (same || !h->f [0] || (pick->f [0] && h->asked_ms < pick->asked_ms))
            pick = h;
    }
    if (!same) {
        s_hot_clear (pick);
        for (size_t k = 0; k < 6; k++)
            pick->f [k] = f [k] ? strdup (f [k]) : NULL;
    }
    pick->asked_ms = gom_mono_ms ();
}

//  Once something was stored, makes again the answers to the questions
//  asked in the last HOT_MS, so that the next command (an operator's
//  `watch gom-hub arrivals` on deadline day) finds its answer made and
//  does not wait while the hub reads and writes a province; forgets the
//  older ones.
static void
s_ask_refresh (hub_http_t *self, hot_t *hot)
{
    int64_t now = gom_mono_ms ();
    for (size_t i = 0; i < HOT_ASKS; i++) {
        hot_t *h = &hot [i];
        if (h->f [0] && now - h->asked_ms > HOT_MS)
            s_hot_clear (h);
        if (!h->f [0])
            continue;
        char err [600];
        unsigned status;
        s_blob_unref (s_cli_answer (self, h->f [0], h->f [1], h->f [2],
                                    h->f [3], h->f [4], h->f [5], &status, err,
                                    sizeof err));
    }
    pthread_mutex_lock (&self->lock);
    self->refreshes++;
    pthread_mutex_unlock (&self->lock);
}

//  One request: 6 frames in, [status, body] out.
static void
s_ask_handle (hub_http_t *self, zsock_t *rep, hot_t *hot)
{
    zmsg_t *req = zmsg_recv (rep);
    if (!req)
        return;
    char *f [6] = { NULL };
    bool whole = zmsg_size (req) == 6;
    for (size_t i = 0; whole && i < 6; i++) {
        zframe_t *frame = zmsg_pop (req);
        if (zframe_size (frame) > 0)
            f [i] = zframe_strdup (frame);
        zframe_destroy (&frame);
    }
    zmsg_destroy (&req);
    char err [600] = "";
    unsigned status = 400;
    blob_t *blob = NULL;
    if (!whole || !f [0] || !f [5])
        snprintf (err, sizeof err,
                  "a request is 6 frames: what, form, "
                  "period, root, section, format");
    else if (strcmp (f [0], "stored") == 0) {
        //  Another process stored reports (gom-hub import): answers made
        //  before are out of date.
        s_changed (self);
        status = 200;
        blob = s_blob_new (strdup ("ok"), 2);
    }
    else {
        blob = s_cli_answer (self, f [0], f [1], f [2], f [3], f [4], f [5],
                             &status, err, sizeof err);
        if (blob && status == 200)
            s_hot_note (hot, f);
    }
    for (size_t i = 0; i < 6; i++)
        free (f [i]);
    if (!blob)
        blob = s_blob_new (strdup (err), strlen (err));
    //  The answer as it is, not copied: libzmq lets it go when sent.
    void *raw = zsock_resolve (rep);
    char code [8];
    snprintf (code, sizeof code, "%u", status);
    zmq_msg_t msg;
    if (zmq_send (raw, code, strlen (code), ZMQ_SNDMORE) < 0 ||
        zmq_msg_init_data (&msg, blob->data, blob->len, s_blob_free, blob) != 0)
        s_blob_unref (blob);
    else if (zmq_msg_send (&msg, raw, 0) < 0)
        zmq_msg_close (&msg);  //  the asker is gone
    pthread_mutex_lock (&self->lock);
    self->asks++;
    pthread_mutex_unlock (&self->lock);
}

//  The channel's thread: binds, answers until told to stop, then takes
//  its socket file away (if it is still the one it made).
static void
s_ask_actor (zsock_t *pipe, void *arg)
{
    hub_http_t *self = arg;
    const char *path = self->ask_path;
    zsock_t *rep = NULL;
    struct stat made;
    const char *why = NULL;
    if (s_ask_listening (path))
        why = "another process answers there";
    else if (!(rep = zsock_new (ZMQ_REP)))
        why = "no socket";
    else {
        zsock_set_maxmsgsize (rep, 4096);
        zsock_set_sndtimeo (rep, 1000);
        zsock_set_linger (rep, 0);
        //  A file left by a hub that was killed is replaced.
        if (zsock_bind (rep, "ipc://%s", path) == -1)
            why = zmq_strerror (zmq_errno ());
        else if (chmod (path, 0600) != 0 || stat (path, &made) != 0)
            why = strerror (errno);
    }
    if (why) {
        zsys_warning ("ask: cannot answer the command line on %s (%s); "
                      "commands read hub.db themselves",
                      path, why);
        zsock_destroy (&rep);
    }
    zsock_signal (pipe, 0);
    hot_t hot [HOT_ASKS];
    memset (hot, 0, sizeof hot);
    //  When to make the hot answers again (-1: not due), when last made.
    int64_t due = -1, last = 0;
    while (true) {
        zmq_pollitem_t items [3] = { { zsock_resolve (pipe), 0, ZMQ_POLLIN,
                                       0 } };
        int n = 1;
        if (rep)
            items [n++] =
                (zmq_pollitem_t){ zsock_resolve (rep), 0, ZMQ_POLLIN, 0 };
        if (rep && self->stored_fd >= 0)
            items [n++] =
                (zmq_pollitem_t){ NULL, self->stored_fd, ZMQ_POLLIN, 0 };
        int64_t now = gom_mono_ms ();
        long wait = due < 0 ? -1 : due > now ? (long)(due - now) : 0;
        if (zmq_poll (items, n, wait) < 0) {
            if (zmq_errno () == EINTR)
                continue;
            break;  //  the context is ending
        }
        if (items [0].revents & ZMQ_POLLIN) {
            char *command = zstr_recv (pipe);
            bool term = !command || strcmp (command, "$TERM") == 0;
            zstr_free (&command);
            if (term)
                break;
        }
        if (n > 1 && items [1].revents & ZMQ_POLLIN)
            s_ask_handle (self, rep, hot);
        if (n > 2 && items [2].revents & ZMQ_POLLIN) {
            uint64_t count;
            if (read (self->stored_fd, &count, sizeof count) > 0 && due < 0)
                due = last + REFRESH_MS > now ? last + REFRESH_MS : now;
        }
        if (due >= 0 && gom_mono_ms () >= due) {
            s_ask_refresh (self, hot);
            last = gom_mono_ms ();
            due = -1;
        }
    }
    for (size_t i = 0; i < HOT_ASKS; i++)
        s_hot_clear (&hot [i]);
    if (rep) {
        zsock_destroy (&rep);
        struct stat now;
        if (stat (path, &now) == 0 && now.st_dev == made.st_dev &&
            now.st_ino == made.st_ino)
            unlink (path);
    }
}

int
hub_ask (const char *db_path, const char *what, const char *form,
         const char *period, const char *root, const char *section,
         const char *format, int timeout_ms, FILE *out, unsigned *status,
         char *err, size_t errlen)
{
    char *path = hub_ask_path (db_path);
    //  No hub, or a socket file a killed hub left: nobody to wait for.
    if (!path || !s_ask_listening (path)) {
        free (path);
        return -1;
    }
    void *ctx = zmq_ctx_new ();
    void *sock = ctx ? zmq_socket (ctx, ZMQ_REQ) : NULL;
    int rc = -1;
    if (sock) {
        int zero = 0;
        zmq_setsockopt (sock, ZMQ_LINGER, &zero, sizeof zero);
        char *endpoint = zsys_sprintf ("ipc://%s", path);
        const char *frames [6] = { what, form, period, root, section, format };
        bool sent = zmq_connect (sock, endpoint) == 0;
        free (endpoint);
        for (size_t i = 0; sent && i < 6; i++) {
            const char *v = frames [i] ? frames [i] : "";
            sent = zmq_send (sock, v, strlen (v),
                             (i < 5 ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT) >= 0;
        }
        zmq_pollitem_t item = { sock, 0, ZMQ_POLLIN, 0 };
        int64_t until = gom_mono_ms () + timeout_ms;
        int ready = 0;
        while (sent && ready == 0) {
            int64_t left = until - gom_mono_ms ();
            if (left <= 0)
                break;
            ready = zmq_poll (&item, 1, (long)left);
            if (ready < 0 && zmq_errno () == EINTR)
                ready = 0;
        }
        zmq_msg_t head, body;
        zmq_msg_init (&head);
        zmq_msg_init (&body);
        if (ready > 0 && zmq_msg_recv (&head, sock, 0) >= 0 &&
            zmq_msg_more (&head) && zmq_msg_recv (&body, sock, 0) >= 0 &&
            !zmq_msg_more (&body) && zmq_msg_size (&head) < 8) {
            char code [8] = "";
            memcpy (code, zmq_msg_data (&head), zmq_msg_size (&head));
            *status = (unsigned)atoi (code);
            size_t len = zmq_msg_size (&body);
            if (*status == 200)
                fwrite (zmq_msg_data (&body), 1, len, out);
            else
                snprintf (err, errlen, "%.*s", (int)len,
                          (const char *)zmq_msg_data (&body));
            rc = 0;
        }
        zmq_msg_close (&head);
        zmq_msg_close (&body);
        zmq_close (sock);
    }
    if (ctx)
        zmq_ctx_term (ctx);
    free (path);
    return rc;
}

//  --------------------------------------------------------------------------

hub_http_t *
hub_http_start (gom_config_t *cfg, const char *db_path, const char *keys_path,
                char *err, size_t errlen)
{
    err [0] = 0;
    int64_t port, secure, hours, public_metrics, max_conn;
    if (gom_config_int (cfg, "http_port", 8080, 0, 65535, &port, err, errlen) ||
        gom_config_int (cfg, "http_cookie_secure", 1, 0, 1, &secure, err,
                        errlen) ||
        gom_config_int (cfg, "http_session_hours", 12, 1, 24 * 30, &hours, err,
                        errlen) ||
        gom_config_int (cfg, "metrics_public", 0, 0, 1, &public_metrics, err,
                        errlen) ||
        gom_config_int (cfg, "http_max_connections", 64, 4, 1000, &max_conn,
                        err, errlen))
        return NULL;
    if (port == 0)
        return NULL;
    const char *address = gom_config_str (cfg, "http_address", "127.0.0.1");
    struct sockaddr_storage sa;
    memset (&sa, 0, sizeof sa);
    struct sockaddr_in *in4 = (struct sockaddr_in *)&sa;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (inet_pton (AF_INET, address, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons ((uint16_t)port);
    }
    else if (inet_pton (AF_INET6, address, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons ((uint16_t)port);
        flags |= MHD_USE_IPv6;
    }
    else {
        snprintf (err, errlen,
                  "http_address '%s' is not an IPv4 or IPv6 address", address);
        return NULL;
    }
    if (hub_users_init () != 0) {
        snprintf (err, errlen, "cannot initialize libsodium");
        return NULL;
    }
    hub_http_t *self = calloc (1, sizeof *self);
    assert (self);
    self->db_path = strdup (db_path);
    self->keys_path = strdup (keys_path);
    self->cookie_secure = secure != 0;
    self->metrics_public = public_metrics != 0;
    self->session_ms = hours * 3600 * 1000;
    pthread_mutex_init (&self->lock, NULL);
    pthread_mutex_init (&self->login_lock, NULL);
    pthread_mutex_init (&self->catalog_lock, NULL);
    pthread_cond_init (&self->changed, NULL);
    self->stored_fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    self->last_message = zhashx_new ();
    zhashx_set_destructor (self->last_message,
                           (zhashx_destructor_fn *)zstr_free);
    self->catalog = hub_catalog_open (cfg, NULL, err, errlen);
    if (!self->catalog) {
        hub_http_stop (&self);
        return NULL;
    }
    self->daemon = MHD_start_daemon (
        flags, (uint16_t)port, NULL, NULL, s_handler, self,
        MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, self, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)max_conn, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)120, MHD_OPTION_NOTIFY_COMPLETED, s_completed, self,
        MHD_OPTION_END);
    if (!self->daemon) {
        //  Agents' reports matter more than the page: serve them anyway.
        zsys_error ("dashboard: cannot listen on %s port %" PRId64
                    " (in use? see the line above); the hub goes on "
                    "without its dashboard",
                    address, port);
        hub_http_stop (&self);
        return NULL;
    }
    self->warming = pthread_create (&self->warm, NULL, s_warm, self) == 0;
    self->ask_path = hub_ask_path (db_path);
    if (self->ask_path)
        self->ask = zactor_new (s_ask_actor, self);
    else
        zsys_warning ("ask: no socket for the command line beside %s (the "
                      "path is over 107 bytes); commands read hub.db "
                      "themselves",
                      db_path);
    zsys_info ("dashboard on http://%s%s%s:%" PRId64 "/",
               self->daemon && strchr (address, ':') ? "[" : "", address,
               strchr (address, ':') ? "]" : "", port);
    return self;
}

void
hub_http_stop (hub_http_t **self_p)
{
    hub_http_t *self = *self_p;
    if (!self)
        return;
    pthread_mutex_lock (&self->lock);
    self->stopping = true;
    pthread_cond_broadcast (&self->changed);
    pthread_mutex_unlock (&self->lock);
    zactor_destroy (&self->ask);
    free (self->ask_path);
    if (self->warming)
        pthread_join (self->warm, NULL);
    if (self->daemon)
        MHD_stop_daemon (self->daemon);
    for (size_t i = 0; i < RING; i++)
        free (self->ring [i]);
    s_cache_drop (self);
    for (size_t i = 0; i < self->n_pool; i++)
        hub_store_destroy (&self->pool [i]);
    s_rollups_drop (self);
    hub_catalog_destroy (&self->catalog);
    zhashx_destroy (&self->last_message);
    if (self->stored_fd >= 0)
        close (self->stored_fd);
    pthread_mutex_destroy (&self->lock);
    pthread_mutex_destroy (&self->login_lock);
    pthread_mutex_destroy (&self->catalog_lock);
    pthread_cond_destroy (&self->changed);
    free (self->db_path);
    free (self->keys_path);
    free (self);
    *self_p = NULL;
}

void
hub_http_catalog (hub_http_t *self, hub_catalog_t *catalog)
{
    pthread_mutex_lock (&self->catalog_lock);
    hub_catalog_destroy (&self->catalog);
    self->catalog = catalog;
    s_rollups_drop (self);
    pthread_mutex_unlock (&self->catalog_lock);
    pthread_mutex_lock (&self->lock);
    s_cache_drop (self);
    pthread_mutex_unlock (&self->lock);
    s_changed (self);
}
