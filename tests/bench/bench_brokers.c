/*  bench_brokers: issue 8's workload through the brokers a user might pick
    instead of gom: RabbitMQ (librabbitmq), NATS JetStream (libnats) and
    Mosquitto (libmosquitto). tests/bench/bench_brokers.sh starts each broker
    on loopback and runs this program against it.

    The workload: P publishers, each on its own connection and its own
    thread, together send N messages (N / P each; the remainder to the first
    ones). Each message is a gom report of the seed-000 form (the Điện Biên
    table, DB-LDLD-BDG-2016-2020) filled with realistic numbers, packed as
    the Envelope a gom agent sends; each publisher's unit code differs, each
    message has its own report_id. A publisher keeps at most W messages
    unacknowledged (default 64, gom-agent's own window): it sends while it
    has room and otherwise waits for the broker's acknowledgements.

    Acknowledged means: RabbitMQ's publisher confirm (basic.ack), a
    JetStream PubAck, an MQTT PUBACK (QoS 1). Latency is from the moment the
    publisher hands the message to the client library to the moment its
    acknowledgement is seen. Throughput is acknowledged messages divided by
    the time from the start signal (all publishers connected) to the last
    acknowledgement.

        bench_brokers payload [--form F]
        bench_brokers rabbitmq --port N [--queue-type classic|quorum]
        bench_brokers nats --port N
        bench_brokers mosquitto --port N
    common options: --publishers P (8), --messages N (20000), --window W
    (64), --name NAME (the figure's name), --timeout S (600), --form F.

    Prints `figure NAME VALUE UNIT` lines, and `check` lines that compare
    what the broker says it holds with what was acknowledged. Exits 1 if a
    message was refused or lost, 2 on a setup failure. */

#include "gom.pb-c.h"
#include "gom_form.h"
#include "gom_report.h"
#include "gom_util.h"
#include "gom_wire.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <mosquitto.h>
#include <nats/nats.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef GOM_SOURCE_DIR
#define GOM_SOURCE_DIR "."
#endif

//  --- Options and per-publisher state ------------------------------------

typedef struct {
    const char *broker;
    const char *host;
    int port;
    int publishers;
    size_t messages;
    size_t window;
    const char *queue_type;
    const char *name;
    const char *form_path;
    int timeout_s;
    bool no_store;  //  mosquitto: no persistent subscriber (nothing kept)
} opts_t;

typedef struct pub_s pub_t;
struct pub_s {
    int id;
    const opts_t *o;
    pthread_t thread;
    size_t n;          //  messages this publisher sends
    uint8_t *payload;  //  its Envelope; report_id rewritten per message
    size_t payload_len;
    size_t id_offset;   //  where the report_id's 16 bytes are
    uint64_t *sent_ns;  //  per message: handed to the library
    uint64_t *lat_ns;   //  per message: ack seen minus sent (0: none yet)
    atomic_size_t acked;
    atomic_size_t failed;
    atomic_uint_fast64_t last_ack_ns;
    int error;  //  set when the publisher gave up
    //  Mosquitto: the window and mid -> message index.
    pthread_mutex_t lock;
    pthread_cond_t cond;
    size_t inflight;
    size_t *mid_index;  //  65536 entries
    bool connected;
};

static pthread_barrier_t s_start;

static bool
s_streq (const char *a, const char *b)
{
    return strcmp (a, b) == 0;
}
static uint64_t s_start_ns;

static uint64_t
s_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void
s_ack (pub_t *p, size_t i)
{
    uint64_t now = s_now_ns ();
    p->lat_ns [i] = now - p->sent_ns [i];
    atomic_fetch_add (&p->acked, 1);
    uint64_t last = atomic_load (&p->last_ack_ns);
    while (now > last &&
           !atomic_compare_exchange_weak (&p->last_ack_ns, &last, now))
        ;
}

//  Each message's report_id: the publisher and the sequence number, so
//  that every message differs from every other as gom's reports do.
static void
s_stamp (pub_t *p, size_t i)
{
    uint8_t *id = p->payload + p->id_offset;
    uint64_t a = ((uint64_t)(uint32_t)p->id << 32) | 0x676f6d00u;
    uint64_t b = (uint64_t)i * 0x9E3779B97F4A7C15ULL ^ 0x5bd1e995u;
    for (int k = 0; k < 8; k++) {
        id [k] = (uint8_t)(a >> (8 * k));
        id [8 + k] = (uint8_t)(b >> (8 * k));
    }
}

//  --- The payload: a filled seed-000 report ------------------------------

static uint64_t s_rng = 20200323;  //  the seed's date: the same bytes always

static int64_t
s_rand (int64_t lo, int64_t hi)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return lo + (int64_t)(s_rng % (uint64_t)(hi - lo + 1));
}

static int
s_cell_cmp (const void *a, const void *b)
{
    const Gom__Cell *x = *(Gom__Cell *const *)a;
    const Gom__Cell *y = *(Gom__Cell *const *)b;
    return strcmp (x->code, y->code);
}

static int
s_column (const gom_form_line_t *line, const char *code)
{
    for (size_t c = 0; c < line->n_columns; c++)
        if (s_streq (line->column_codes [c], code))
            return (int)c;
    return -1;
}

//  Plausible figures for one row of the Điện Biên table: counts of union
//  members, organisations, sessions, people reached and commendations, in
//  the sizes a provincial federation reports; totals are the sum of their
//  parts, women a share of all.
static void
s_fill_row (const gom_form_line_t *sec, const gom_form_line_t *row_line,
            int64_t *values, const int64_t *row_i1)
{
    //  A row has a cell per column of its section (SIZE_MAX where none).
    const char *section = sec->code, *row = row_line->code;
    const gom_form_line_t *line = sec;
    for (size_t c = 0; c < line->n_columns; c++)
        values [c] = -1;
    int total = s_column (line, "total");
    int pub = s_column (line, "public");
    int non = s_column (line, "nonstate");
    if (pub >= 0 && non >= 0) {
        if (s_streq (row, "I1")) {
            values [pub] = s_rand (8000, 16000);
            values [non] = s_rand (3000, 9000);
        }
        else if (s_streq (row, "I2") && row_i1) {
            values [pub] = row_i1 [pub] * s_rand (38, 62) / 100;
            values [non] = row_i1 [non] * s_rand (30, 70) / 100;
        }
        else if (s_streq (section, "II")) {
            values [pub] = s_rand (20, 400);
            values [non] = s_rand (5, 150);
        }
        else {
            values [pub] = s_rand (100, 3000);
            values [non] = s_rand (20, 900);
        }
        if (total >= 0)
            values [total] = values [pub] + values [non];
    }
    for (size_t c = 0; c < line->n_columns; c++) {
        if (values [c] >= 0)
            continue;
        const char *col = line->column_codes [c];
        if (s_streq (col, "sessions"))
            values [c] = s_rand (12, 240);
        else if (s_streq (col, "people") && s_streq (row, "IV4"))
            values [c] = s_rand (0, 35);
        else if (s_streq (col, "people"))
            values [c] = s_rand (400, 12000);
        else if (s_streq (col, "total"))
            values [c] = s_rand (3, 90);
        else if (s_streq (col, "flags"))
            values [c] = s_rand (0, 6);
        else if (s_streq (col, "collective"))
            values [c] = s_rand (2, 40);
        else if (s_streq (col, "individual"))
            values [c] = s_rand (5, 120);
        else
            values [c] = s_rand (0, 500);
    }
}

//  Makes the packed Envelope for unit `unit`; *id_offset gets where its
//  report_id sits. NULL on failure (message printed).
static uint8_t *
s_make_payload (const char *form_path, const char *unit, size_t *len,
                size_t *id_offset)
{
    char err [512];
    gom_form_t *form = gom_form_load (form_path, err, sizeof err);
    if (!form) {
        fprintf (stderr, "bench_brokers: %s\n", err);
        return NULL;
    }
    s_rng = 20200323;
    size_t n_cells = gom_form_cell_count (form);
    Gom__Cell *cells = calloc (n_cells, sizeof *cells);
    Gom__Cell **cellp = calloc (n_cells, sizeof *cellp);
    int64_t *values = calloc (n_cells, sizeof *values);
    int64_t i1 [16];
    bool have_i1 = false;
    const gom_form_line_t *section = NULL;
    for (size_t i = 0; i < n_cells; i++)
        values [i] = -1;
    for (size_t l = 0; l < gom_form_line_count (form); l++) {
        const gom_form_line_t *line = gom_form_line (form, l);
        if (line->kind == GOM_LINE_SECTION)
            section = line;
        if (line->kind != GOM_LINE_ROW || !section || section->n_columns > 16)
            continue;
        int64_t v [16];
        s_fill_row (section, line, v, have_i1 ? i1 : NULL);
        if (s_streq (line->code, "I1")) {
            memcpy (i1, v, sizeof v);
            have_i1 = true;
        }
        for (size_t c = 0; c < section->n_columns; c++)
            if (line->cells [c] != SIZE_MAX)
                values [line->cells [c]] = v [c];
    }
    size_t n = 0;
    for (size_t i = 0; i < n_cells; i++) {
        if (values [i] < 0)
            continue;
        gom__cell__init (&cells [n]);
        cells [n].code = (char *)gom_form_cell_code (form, i);
        cells [n].value = values [i];
        cellp [n] = &cells [n];
        n++;
    }
    qsort (cellp, n, sizeof *cellp, s_cell_cmp);

    uint8_t report_id [GOM_ID_BYTES];
    memset (report_id, 0xA5, sizeof report_id);
    Gom__Report report;
    gom__report__init (&report);
    report.report_id.data = report_id;
    report.report_id.len = sizeof report_id;
    report.unit = (char *)unit;
    report.form = (char *)gom_form_code (form);
    report.period = "2016-2020";
    report.revision = 1;
    report.form_version = gom_form_version (form);
    report.sealed_at_ms = 1774000000000LL;  //  a fixed instant in 2026
    report.n_cells = n;
    report.cells = cellp;

    uint8_t *out = NULL;
    size_t problems = 0;
    char *check = gom_form_check_report (form, &report, &problems);
    if (gom_report_check (&report, err, sizeof err) != 0)
        fprintf (stderr, "bench_brokers: report fails: %s\n", err);
    else if (check) {
        fprintf (stderr, "bench_brokers: report fails the form:\n%s\n", check);
    }
    else {
        size_t rlen = gom__report__get_packed_size (&report);
        uint8_t *packed = malloc (rlen);
        gom__report__pack (&report, packed);
        out = gom_wire_wrap_report (packed, rlen, len);
        free (packed);
        uint8_t *at = memmem (out, *len, report_id, sizeof report_id);
        if (!at) {
            fprintf (stderr, "bench_brokers: report_id not found\n");
            free (out);
            out = NULL;
        }
        else
            *id_offset = (size_t)(at - out);
    }
    free (check);
    free (values);
    free (cellp);
    free (cells);
    gom_form_destroy (&form);
    return out;
}

//  --- RabbitMQ: librabbitmq, publisher confirms --------------------------

static bool
s_amqp_ok (amqp_connection_state_t conn, const char *what)
{
    amqp_rpc_reply_t r = amqp_get_rpc_reply (conn);
    if (r.reply_type == AMQP_RESPONSE_NORMAL)
        return true;
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION)
        fprintf (stderr, "bench_brokers: rabbitmq %s: %s\n", what,
                 amqp_error_string2 (r.library_error));
    else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        amqp_channel_close_t *c = r.reply.decoded;
        fprintf (stderr, "bench_brokers: rabbitmq %s: %.*s\n", what,
                 (int)c->reply_text.len, (char *)c->reply_text.bytes);
    }
    else
        fprintf (stderr, "bench_brokers: rabbitmq %s failed\n", what);
    return false;
}

static amqp_connection_state_t
s_amqp_open (const opts_t *o)
{
    amqp_connection_state_t conn = amqp_new_connection ();
    amqp_socket_t *sock = amqp_tcp_socket_new (conn);
    if (!sock || amqp_socket_open (sock, o->host, o->port) != AMQP_STATUS_OK) {
        fprintf (stderr, "bench_brokers: rabbitmq: cannot connect\n");
        amqp_destroy_connection (conn);
        return NULL;
    }
    amqp_rpc_reply_t r = amqp_login (conn, "/", 0, 131072, 0,
                                     AMQP_SASL_METHOD_PLAIN, "guest", "guest");
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        fprintf (stderr, "bench_brokers: rabbitmq: login failed\n");
        amqp_destroy_connection (conn);
        return NULL;
    }
    amqp_channel_open (conn, 1);
    if (!s_amqp_ok (conn, "channel.open")) {
        amqp_destroy_connection (conn);
        return NULL;
    }
    return conn;
}

static void
s_amqp_close (amqp_connection_state_t conn)
{
    amqp_channel_close (conn, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close (conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection (conn);
}

#define QUEUE_NAME "gom-bench"

//  Deletes and declares the durable queue; with passive, returns how many
//  messages it holds instead (-1 on failure).
static long
s_rabbit_queue (const opts_t *o, bool passive)
{
    amqp_connection_state_t conn = s_amqp_open (o);
    if (!conn)
        return -1;
    long count = 0;
    amqp_table_entry_t arg;
    arg.key = amqp_cstring_bytes ("x-queue-type");
    arg.value.kind = AMQP_FIELD_KIND_UTF8;
    arg.value.value.bytes = amqp_cstring_bytes (o->queue_type);
    amqp_table_t args = { 1, &arg };
    if (!passive) {
        amqp_queue_delete (conn, 1, amqp_cstring_bytes (QUEUE_NAME), 0, 0);
        if (!s_amqp_ok (conn, "queue.delete"))
            count = -1;
    }
    if (count == 0) {
        amqp_queue_declare_ok_t *ok = amqp_queue_declare (
            conn, 1, amqp_cstring_bytes (QUEUE_NAME), passive, 1, 0, 0,
            passive ? amqp_empty_table : args);
        if (!ok || !s_amqp_ok (conn, "queue.declare"))
            count = -1;
        else
            count = (long)ok->message_count;
    }
    s_amqp_close (conn);
    return count;
}

//  One frame's confirms: ack or nack of delivery tag (message index + 1),
//  or of every tag up to it when multiple is set.
static void
s_rabbit_confirm (pub_t *p, uint8_t *done, size_t *lowest, uint64_t tag,
                  bool multiple, bool ok)
{
    size_t from = multiple ? *lowest : (size_t)tag - 1;
    for (size_t i = from; i < (size_t)tag && i < p->n; i++) {
        if (done [i])
            continue;
        done [i] = 1;
        if (ok)
            s_ack (p, i);
        else
            atomic_fetch_add (&p->failed, 1);
    }
    while (*lowest < p->n && done [*lowest])
        (*lowest)++;
}

static void *
s_rabbit_publisher (void *arg)
{
    pub_t *p = arg;
    amqp_connection_state_t conn = s_amqp_open (p->o);
    if (conn) {
        amqp_confirm_select (conn, 1);
        if (!s_amqp_ok (conn, "confirm.select")) {
            s_amqp_close (conn);
            conn = NULL;
        }
    }
    p->error = conn == NULL;
    pthread_barrier_wait (&s_start);
    if (!conn)
        return NULL;

    uint8_t *done = calloc (p->n, 1);
    size_t lowest = 0, next = 0;
    amqp_basic_properties_t props;
    memset (&props, 0, sizeof props);
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
    props.delivery_mode = 2;  //  persistent
    props.content_type = amqp_cstring_bytes ("application/x-protobuf");
    amqp_bytes_t body = { p->payload_len, p->payload };
    while (lowest < p->n) {
        size_t settled = atomic_load (&p->acked) + atomic_load (&p->failed);
        while (next < p->n && next - settled < p->o->window) {
            s_stamp (p, next);
            p->sent_ns [next] = s_now_ns ();
            if (amqp_basic_publish (conn, 1, amqp_empty_bytes,
                                    amqp_cstring_bytes (QUEUE_NAME), 0, 0,
                                    &props, body) != AMQP_STATUS_OK) {
                fprintf (stderr, "bench_brokers: rabbitmq publish failed\n");
                p->error = 1;
                goto out;
            }
            next++;
        }
        amqp_frame_t frame;
        struct timeval tv = { 60, 0 };
        int rc = amqp_simple_wait_frame_noblock (conn, &frame, &tv);
        if (rc != AMQP_STATUS_OK) {
            fprintf (stderr, "bench_brokers: rabbitmq: no confirm: %s\n",
                     amqp_error_string2 (rc));
            p->error = 1;
            goto out;
        }
        if (frame.frame_type != AMQP_FRAME_METHOD)
            continue;
        amqp_method_number_t id = frame.payload.method.id;
        if (id == AMQP_BASIC_ACK_METHOD) {
            amqp_basic_ack_t *a = frame.payload.method.decoded;
            s_rabbit_confirm (p, done, &lowest, a->delivery_tag, a->multiple,
                              true);
        }
        else if (id == AMQP_BASIC_NACK_METHOD) {
            amqp_basic_nack_t *a = frame.payload.method.decoded;
            s_rabbit_confirm (p, done, &lowest, a->delivery_tag, a->multiple,
                              false);
        }
        else if (id == AMQP_CHANNEL_CLOSE_METHOD ||
                 id == AMQP_CONNECTION_CLOSE_METHOD) {
            fprintf (stderr, "bench_brokers: rabbitmq closed the channel\n");
            p->error = 1;
            goto out;
        }
    }
out:
    free (done);
    s_amqp_close (conn);
    return NULL;
}

//  --- NATS JetStream: libnats, async publish with acks -------------------

#define STREAM_NAME "GOMBENCH"

static void
s_nats_ack (jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae,
            void *closure)
{
    (void)js;
    pub_t *p = closure;
    //  The subject is gom.bench.PUBLISHER.INDEX.
    const char *subj = natsMsg_GetSubject (msg);
    const char *dot = strrchr (subj, '.');
    size_t i = dot ? (size_t)strtoull (dot + 1, NULL, 10) : SIZE_MAX;
    if (i < p->n && pa && !pae)
        s_ack (p, i);
    else
        atomic_fetch_add (&p->failed, 1);
    natsMsg_Destroy (msg);
}

static natsConnection *
s_nats_connect (const opts_t *o)
{
    char url [128];
    snprintf (url, sizeof url, "nats://%s:%d", o->host, o->port);
    natsConnection *nc = NULL;
    natsStatus s = natsConnection_ConnectTo (&nc, url);
    if (s != NATS_OK) {
        fprintf (stderr, "bench_brokers: nats: %s\n", natsStatus_GetText (s));
        return NULL;
    }
    return nc;
}

//  Creates the file-storage stream afresh (or, with check, returns how many
//  messages it holds; -1 on failure).
static long
s_nats_stream (const opts_t *o, bool check)
{
    natsConnection *nc = s_nats_connect (o);
    if (!nc)
        return -1;
    jsCtx *js = NULL;
    long count = -1;
    jsErrCode jerr = 0;
    jsStreamInfo *si = NULL;
    if (natsConnection_JetStream (&js, nc, NULL) != NATS_OK)
        goto out;
    if (check) {
        if (js_GetStreamInfo (&si, js, STREAM_NAME, NULL, &jerr) == NATS_OK)
            count = (long)si->State.Msgs;
    }
    else {
        js_DeleteStream (js, STREAM_NAME, NULL, &jerr);
        jsStreamConfig cfg;
        jsStreamConfig_Init (&cfg);
        const char *subjects [] = { "gom.bench.>" };
        cfg.Name = STREAM_NAME;
        cfg.Subjects = subjects;
        cfg.SubjectsLen = 1;
        cfg.Storage = js_FileStorage;
        cfg.Replicas = 1;
        natsStatus s = js_AddStream (&si, js, &cfg, NULL, &jerr);
        if (s == NATS_OK)
            count = 0;
        else
            fprintf (stderr, "bench_brokers: nats: add stream: %s (%d)\n",
                     natsStatus_GetText (s), (int)jerr);
    }
out:
    if (si)
        jsStreamInfo_Destroy (si);
    if (js)
        jsCtx_Destroy (js);
    natsConnection_Destroy (nc);
    return count;
}

static void *
s_nats_publisher (void *arg)
{
    pub_t *p = arg;
    natsConnection *nc = s_nats_connect (p->o);
    jsCtx *js = NULL;
    if (nc) {
        jsOptions jo;
        jsOptions_Init (&jo);
        jo.PublishAsync.MaxPending = (int64_t)p->o->window;
        jo.PublishAsync.AckHandler = s_nats_ack;
        jo.PublishAsync.AckHandlerClosure = p;
        jo.PublishAsync.StallWait = 60000;
        if (natsConnection_JetStream (&js, nc, &jo) != NATS_OK)
            js = NULL;
    }
    p->error = js == NULL;
    pthread_barrier_wait (&s_start);
    if (js) {
        for (size_t i = 0; i < p->n; i++) {
            char subj [64];
            snprintf (subj, sizeof subj, "gom.bench.%d.%zu", p->id, i);
            s_stamp (p, i);
            p->sent_ns [i] = s_now_ns ();
            //  Blocks while W are pending (MaxPending): the window.
            natsStatus s = js_PublishAsync (js, subj, p->payload,
                                            (int)p->payload_len, NULL);
            if (s != NATS_OK) {
                fprintf (stderr, "bench_brokers: nats publish: %s\n",
                         natsStatus_GetText (s));
                p->error = 1;
                break;
            }
        }
        jsPubOptions po;
        jsPubOptions_Init (&po);
        po.MaxWait = 120000;
        if (js_PublishAsyncComplete (js, &po) != NATS_OK)
            p->error = 1;
        jsCtx_Destroy (js);
    }
    if (nc)
        natsConnection_Destroy (nc);
    return NULL;
}

//  --- Mosquitto: libmosquitto, QoS 1 ------------------------------------

#define MQTT_STORE_CLIENT "gom-bench-store"

static void
s_mqtt_on_connect (struct mosquitto *m, void *obj, int rc)
{
    (void)m;
    pub_t *p = obj;
    pthread_mutex_lock (&p->lock);
    p->connected = rc == 0;
    p->error = rc != 0;
    pthread_cond_broadcast (&p->cond);
    pthread_mutex_unlock (&p->lock);
}

static void
s_mqtt_on_publish (struct mosquitto *m, void *obj, int mid)
{
    (void)m;
    pub_t *p = obj;
    pthread_mutex_lock (&p->lock);
    size_t i = p->mid_index [(uint16_t)mid];
    if (i < p->n && p->lat_ns [i] == 0) {
        s_ack (p, i);
        p->inflight--;
    }
    pthread_cond_broadcast (&p->cond);
    pthread_mutex_unlock (&p->lock);
}

//  Waits on p->cond until pred holds or deadline (monotonic ns); with the
//  lock held. False on timeout.
static bool
s_wait_until (pub_t *p, bool (*pred) (pub_t *), uint64_t deadline)
{
    while (!pred (p)) {
        uint64_t now = s_now_ns ();
        if (now >= deadline)
            return false;
        struct timespec ts;
        clock_gettime (CLOCK_REALTIME, &ts);
        uint64_t wait = deadline - now < 100000000 ? deadline - now : 100000000;
        ts.tv_nsec += (long)wait;
        ts.tv_sec += ts.tv_nsec / 1000000000;
        ts.tv_nsec %= 1000000000;
        pthread_cond_timedwait (&p->cond, &p->lock, &ts);
    }
    return true;
}

static bool
s_pred_connected (pub_t *p)
{
    return p->connected || p->error;
}

static bool
s_pred_room (pub_t *p)
{
    return p->inflight < p->o->window;
}

static bool
s_pred_drained (pub_t *p)
{
    return p->inflight == 0;
}

static struct mosquitto *
s_mqtt_connect (pub_t *p, const char *client_id, bool clean)
{
    struct mosquitto *m = mosquitto_new (client_id, clean, p);
    if (!m)
        return NULL;
    mosquitto_connect_callback_set (m, s_mqtt_on_connect);
    mosquitto_publish_callback_set (m, s_mqtt_on_publish);
    //  Let the library keep the whole window in flight (its default is 20).
    mosquitto_max_inflight_messages_set (m, (unsigned)p->o->window);
    //  Nagle off, as ZeroMQ (gom), librabbitmq and libnats have it.
    mosquitto_int_option (m, MOSQ_OPT_TCP_NODELAY, 1);
    bool ok =
        mosquitto_connect (m, p->o->host, p->o->port, 60) == MOSQ_ERR_SUCCESS &&
        mosquitto_loop_start (m) == MOSQ_ERR_SUCCESS;
    if (ok) {
        pthread_mutex_lock (&p->lock);
        ok = s_wait_until (p, s_pred_connected, s_now_ns () + 10000000000ULL) &&
             p->connected;
        pthread_mutex_unlock (&p->lock);
    }
    if (!ok) {
        fprintf (stderr, "bench_brokers: mosquitto: cannot connect\n");
        mosquitto_disconnect (m);
        mosquitto_loop_stop (m, true);
        mosquitto_destroy (m);
        return NULL;
    }
    return m;
}

static void
s_mqtt_close (struct mosquitto *m)
{
    mosquitto_disconnect (m);
    mosquitto_loop_stop (m, false);
    mosquitto_destroy (m);
}

static void
s_mqtt_on_subscribe (struct mosquitto *m, void *obj, int mid, int n,
                     const int *granted)
{
    (void)m;
    (void)mid;
    pub_t *p = obj;
    pthread_mutex_lock (&p->lock);
    p->inflight = 0;
    p->error = n != 1 || granted [0] != 1;
    pthread_cond_broadcast (&p->cond);
    pthread_mutex_unlock (&p->lock);
}

//  The store: a persistent session (clean session off) subscribed at QoS 1
//  to every publisher's topic, then disconnected, so that the broker keeps
//  each message for it (and in its persistence file) instead of dropping
//  messages no one subscribes to.
static int
s_mqtt_store_session (const opts_t *o)
{
    pub_t p;
    memset (&p, 0, sizeof p);
    p.o = o;
    pthread_mutex_init (&p.lock, NULL);
    pthread_cond_init (&p.cond, NULL);
    struct mosquitto *m = s_mqtt_connect (&p, MQTT_STORE_CLIENT, false);
    if (!m)
        return -1;
    mosquitto_subscribe_callback_set (m, s_mqtt_on_subscribe);
    pthread_mutex_lock (&p.lock);
    p.inflight = 1;
    pthread_mutex_unlock (&p.lock);
    int rc = mosquitto_subscribe (m, NULL, "gom/bench/#", 1);
    pthread_mutex_lock (&p.lock);
    bool ok = rc == MOSQ_ERR_SUCCESS &&
              s_wait_until (&p, s_pred_drained, s_now_ns () + 10000000000ULL) &&
              !p.error;
    pthread_mutex_unlock (&p.lock);
    s_mqtt_close (m);
    if (!ok)
        fprintf (stderr, "bench_brokers: mosquitto: subscribe failed\n");
    return ok ? 0 : -1;
}

static void *
s_mqtt_publisher (void *arg)
{
    pub_t *p = arg;
    char client_id [32], topic [32];
    snprintf (client_id, sizeof client_id, "gom-bench-%d", p->id);
    snprintf (topic, sizeof topic, "gom/bench/%d", p->id);
    p->mid_index = malloc (65536 * sizeof (size_t));
    for (size_t k = 0; k < 65536; k++)
        p->mid_index [k] = SIZE_MAX;
    struct mosquitto *m = s_mqtt_connect (p, client_id, true);
    p->error = m == NULL;
    pthread_barrier_wait (&s_start);
    if (!m)
        return NULL;
    uint64_t deadline = s_now_ns () + (uint64_t)p->o->timeout_s * 1000000000ULL;
    pthread_mutex_lock (&p->lock);
    for (size_t i = 0; i < p->n; i++) {
        if (!s_wait_until (p, s_pred_room, deadline)) {
            p->error = 1;
            break;
        }
        int mid = 0;
        s_stamp (p, i);
        p->sent_ns [i] = s_now_ns ();
        //  The lock is held: the PUBACK callback cannot look mid up before
        //  it is recorded.
        int rc = mosquitto_publish (m, &mid, topic, (int)p->payload_len,
                                    p->payload, 1, false);
        if (rc != MOSQ_ERR_SUCCESS) {
            fprintf (stderr, "bench_brokers: mosquitto publish: %s\n",
                     mosquitto_strerror (rc));
            p->error = 1;
            break;
        }
        p->mid_index [(uint16_t)mid] = i;
        p->inflight++;
    }
    if (!s_wait_until (p, s_pred_drained, deadline))
        p->error = 1;
    pthread_mutex_unlock (&p->lock);
    s_mqtt_close (m);
    return NULL;
}

//  --- Figures -------------------------------------------------------------

static int
s_u64_cmp (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void
s_usage (void)
{
    fprintf (stderr, "usage: bench_brokers payload|rabbitmq|nats|mosquitto"
                     " [--host H] [--port N] [--publishers P] [--messages N]"
                     " [--window W] [--queue-type classic|quorum] [--name NAME]"
                     " [--timeout S] [--form FILE] [--mqtt-store on|off]\n");
    exit (2);
}

int
main (int argc, char *argv [])
{
    opts_t o = { .host = "127.0.0.1",
                 .publishers = 8,
                 .messages = 20000,
                 .window = 64,
                 .queue_type = "classic",
                 .form_path =
                     GOM_SOURCE_DIR "/deploy/forms/DB-LDLD-BDG-2016-2020.json",
                 .timeout_s = 600 };
    if (argc < 2)
        s_usage ();
    o.broker = argv [1];
    for (int a = 2; a < argc; a++) {
        const char *k = argv [a];
        const char *v = a + 1 < argc ? argv [a + 1] : NULL;
        if (!v)
            s_usage ();
        a++;
        if (s_streq (k, "--host"))
            o.host = v;
        else if (s_streq (k, "--port"))
            o.port = atoi (v);
        else if (s_streq (k, "--publishers"))
            o.publishers = atoi (v);
        else if (s_streq (k, "--messages"))
            o.messages = (size_t)atol (v);
        else if (s_streq (k, "--window"))
            o.window = (size_t)atol (v);
        else if (s_streq (k, "--queue-type"))
            o.queue_type = v;
        else if (s_streq (k, "--name"))
            o.name = v;
        else if (s_streq (k, "--timeout"))
            o.timeout_s = atoi (v);
        else if (s_streq (k, "--form"))
            o.form_path = v;
        else if (s_streq (k, "--mqtt-store"))
            o.no_store = s_streq (v, "off");
        else
            s_usage ();
    }
    if (o.publishers < 1 || o.publishers > 1000 || o.window < 1 ||
        o.window > 60000 || o.messages < (size_t)o.publishers)
        s_usage ();
    //  The whole run is bounded: SIGALRM's default action ends the process.
    alarm ((unsigned)o.timeout_s + 60);

    bool rabbit = s_streq (o.broker, "rabbitmq");
    bool nats = s_streq (o.broker, "nats");
    bool mqtt = s_streq (o.broker, "mosquitto");
    if (!rabbit && !nats && !mqtt && !s_streq (o.broker, "payload"))
        s_usage ();
    if (!o.name)
        o.name = o.broker;

    pub_t *pubs = calloc ((size_t)o.publishers, sizeof *pubs);
    for (int i = 0; i < o.publishers; i++) {
        pub_t *p = &pubs [i];
        char unit [16];
        snprintf (unit, sizeof unit, "1%04d", i % 10000);
        p->payload =
            s_make_payload (o.form_path, unit, &p->payload_len, &p->id_offset);
        if (!p->payload)
            return 2;
        p->id = i;
        p->o = &o;
        p->n = o.messages / (size_t)o.publishers +
               ((size_t)i < o.messages % (size_t)o.publishers);
        p->sent_ns = calloc (p->n, sizeof (uint64_t));
        p->lat_ns = calloc (p->n, sizeof (uint64_t));
        pthread_mutex_init (&p->lock, NULL);
        pthread_cond_init (&p->cond, NULL);
    }
    printf ("figure payload_bytes %zu bytes\n", pubs [0].payload_len);
    if (!rabbit && !nats && !mqtt)
        return 0;

    if (rabbit && s_rabbit_queue (&o, false) < 0)
        return 2;
    if (nats && s_nats_stream (&o, false) < 0)
        return 2;
    if (mqtt) {
        mosquitto_lib_init ();
        if (!o.no_store && s_mqtt_store_session (&o) < 0)
            return 2;
    }

    void *(*fn) (void *) = rabbit ? s_rabbit_publisher
                           : nats ? s_nats_publisher
                                  : s_mqtt_publisher;
    pthread_barrier_init (&s_start, NULL, (unsigned)o.publishers + 1);
    for (int i = 0; i < o.publishers; i++)
        if (pthread_create (&pubs [i].thread, NULL, fn, &pubs [i]) != 0) {
            fprintf (stderr, "bench_brokers: pthread_create failed\n");
            return 2;
        }
    pthread_barrier_wait (&s_start);
    s_start_ns = s_now_ns ();
    for (int i = 0; i < o.publishers; i++)
        pthread_join (pubs [i].thread, NULL);

    size_t acked = 0, failed = 0, errors = 0;
    uint64_t last = s_start_ns;
    uint64_t *lat = malloc (o.messages * sizeof *lat);
    for (int i = 0; i < o.publishers; i++) {
        pub_t *p = &pubs [i];
        errors += p->error != 0;
        failed += atomic_load (&p->failed);
        if (atomic_load (&p->last_ack_ns) > last)
            last = atomic_load (&p->last_ack_ns);
        for (size_t k = 0; k < p->n; k++)
            if (p->lat_ns [k])
                lat [acked++] = p->lat_ns [k];
    }
    double secs = (double)(last - s_start_ns) / 1e9;
    printf ("result %s publishers=%d messages=%zu window=%zu acked=%zu "
            "refused=%zu publisher_errors=%zu seconds=%.3f\n",
            o.name, o.publishers, o.messages, o.window, acked, failed, errors,
            secs);
    if (acked > 0) {
        qsort (lat, acked, sizeof *lat, s_u64_cmp);
        printf ("figure ingest_%s %.0f msgs/s\n", o.name,
                secs > 0 ? (double)acked / secs : 0.0);
        printf ("figure ingest_%s_p50 %.2f ms\n", o.name,
                (double)lat [(acked - 1) / 2] / 1e6);
        printf ("figure ingest_%s_p99 %.2f ms\n", o.name,
                (double)lat [(acked - 1) * 99 / 100] / 1e6);
    }
    long held = -1;
    if (rabbit)
        held = s_rabbit_queue (&o, true);
    else if (nats)
        held = s_nats_stream (&o, true);
    if (held >= 0)
        printf ("check %s broker holds %ld messages, %zu acknowledged: %s\n",
                o.name, held, acked, (size_t)held == acked ? "PASS" : "FAIL");
    fflush (stdout);
    bool ok = acked == o.messages && failed == 0 && errors == 0 &&
              (held < 0 || (size_t)held == acked);
    if (mqtt)
        mosquitto_lib_cleanup ();
    if (nats)
        nats_Close ();
    free (lat);
    for (int i = 0; i < o.publishers; i++) {
        free (pubs [i].payload);
        free (pubs [i].sent_ns);
        free (pubs [i].lat_ns);
        free (pubs [i].mid_index);
    }
    free (pubs);
    return ok ? 0 : 1;
}
