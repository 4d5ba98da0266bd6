/*  gom_load: load generator for tests/bench/run. One process simulates P
    agents, each with its own CURVE keypair and DEALER connection to a real
    `gom-hub run`, each sending its reports of a form (the Điện Biên table,
    seed 000, by default) filled with plausible numbers that pass the
    form's checks, for units of the hub's unit tree its key is enrolled for.
    The cells and checks are gom_form's (the hub's own reading of the
    form), so any form in deploy/forms/ serves: a part is made a share of
    the cells it must not exceed, a total the sum of its parts.

      gom_load prepare --hub-config DIR/hub.cfg --agents P --units-per-agent K
                       [--keys FILE] [--seed S]
          Writes the unit tree (one province, districts of 100 communes, P*K
          communes) where hub.cfg's `units` points, makes P keypairs and
          enrolls them in the hub's keys.db (agent i for communes
          i*K .. i*K+K-1), all in one process, and writes FILE (default
          DIR/agents.keys): "PUBLIC SECRET UNIT,UNIT,..." a line. Run it
          before the hub starts (the hub reads its tree at start).

      gom_load run --hub-config DIR/hub.cfg --form FORM.json --mode MODE
                   --reports N [--agents P] [--keys FILE] [--window W]
                   [--rate R] [--name NAME] [--time-limit S]
                   [--hub-pid PID] [--seed S] [--hub-endpoint EP]
                   [--reconnect-max-ms MS]
          MODE ingest: all P agents connect and are welcomed first (not
          timed); then every agent sends its N reports as fast as its
          window of W unacknowledged reports allows (max rate), or, with
          --rate R, on a fixed schedule of R reports a second in all
          (latency is then measured from the scheduled time, so a report
          held back by a full window counts its wait).
          MODE storm: all P sockets are made and connected at once, and
          the clock runs from the first connect until the last of the P*N
          reports is acknowledged.
          --hub-endpoint: where to connect (default tcp://127.0.0.1 and
          the port of hub.cfg's endpoint); --reconnect-max-ms: libzmq's
          longest reconnect wait (default 30000; the netfault storm test
          keeps it at 1000 so that every agent is back within a second
          of a partition's end).

      gom_load json --form FORM.json --unit UNIT --reports N DIR
          Writes N report files (revisions 1..N of UNIT) for `gom-agent
          submit`, with the same numbers, and prints their paths.

    The agents follow DESIGN.md's rules as gom-agent does: hello after
    every handshake, reports only after the welcome; a window of reports in
    flight; a resend after an adaptive timeout (smoothed round trip plus
    four deviations, at least --resend-min-ms, doubled per attempt and
    kept doubled until a clean sample (Karn), with jitter) that every
    answer from the hub starts again, at once for what an answer to a
    later report proves lost (agent_sender.c, s_answered), after a
    transient NACK (at its retry_after_ms), and of the whole window after
    a reconnection; a socket rebuilt after a ZAP
    refusal. A report is done only when ACKed; a permanent NACK is counted
    and reported, never retried.

    Output: one line per figure, `figure NAME VALUE UNIT`, on stdout;
    progress and problems on stderr. The report_id is made as gom-agent
    makes it (gom_report_id_new: 48 bits of the time in ms, then random
    bits), its time stamped when the report is first sent (an agent that
    is online sends a report as soon as it is queued); its last 8 bytes
    are the agent's and the report's index instead of random, so that an
    ACK finds its report at once. The time comes first so that the hub's
    report_id index sees the order it would see from real agents: with
    the indexes first, each agent's reports went to one place in it.

    Hub figures with --hub-pid: its CPU seconds over the run (utime+stime
    from /proc/PID/stat), its peak resident memory (VmHWM, since its start),
    the most open file descriptors seen (sampled every 200 ms), and per
    report acknowledged, what it wrote to its files over the run (from
    /proc/PID/io: bytes and calls passed to write and pwrite, and bytes of
    page cache dirtied; its sockets use send, not counted). Ingest also
    prints the CPU of the sending alone (from the first report sent to the
    last ACK, the rate's window, without the handshakes and welcomes): the
    generator's and, with --hub-pid, the hub's, in seconds and per report,
    and the cores the two kept busy meanwhile. */
#include "gom_config.h"
#include "gom_form.h"
#include "gom_keys.h"
#include "gom_report.h"
#include "gom_util.h"
#include "gom_wire.h"
#include "hub_store.h"

#include <czmq.h>
#include <dirent.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#define ST_FLIGHT 1
#define ST_ACKED  2
#define ST_NACKED 3

//  ------------------------------------------------------------------------
//  Options

typedef struct {
    const char *hub_config;
    const char *keys;
    const char *unit;
    const char *form;
    const char *mode;
    const char *name;
    long agents;
    long units_per_agent;
    long reports;
    long window;
    double rate;
    double time_limit;
    long hub_pid;
    long resend_min_ms;
    long io_threads;
    long reconnect_max_ms;
    const char *hub_endpoint;
    uint64_t seed;
} opts_t;

//  ------------------------------------------------------------------------
//  A small deterministic generator (xorshift64*), for the numbers.

static uint64_t
s_rand (uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ULL;
}

//  Uniform in [lo, hi].
static int64_t
s_between (uint64_t *s, int64_t lo, int64_t hi)
{
    if (hi <= lo)
        return lo;
    return lo + (int64_t)(s_rand (s) % (uint64_t)(hi - lo + 1));
}

//  ------------------------------------------------------------------------
//  The form: cells and the checks that tie them, as gom_form reads them
//  (the form's lines and checks), so that every report made here passes
//  the hub's checks.

typedef struct {
    const char *code;  //  ROW.COLUMN
    int section;       //  index of the section
    const char *col;   //  column code
    size_t le [4];     //  earlier cells it must not exceed
    int n_le;
    const size_t *parts;  //  cells whose sum it is (a SUM check), or NULL
    size_t n_parts;
} cell_t;

typedef struct {
    char code [64];
    uint32_t version;
    char period [64];
    cell_t *cells;
    int n_cells;
    int *order;  //  cell indices sorted by code (canonical order)
    char **text_codes;
    size_t n_texts;
    size_t (*late) [2];  //  LE checks (part, whole) whose whole comes later
    size_t n_late;
    gom_form_t *form;
} form_t;

static int
s_cmp_str (const void *a, const void *b)
{
    return strcmp (*(char *const *)a, *(char *const *)b);
}

static form_t *s_sort_form;
static int
s_cmp_cell (const void *a, const void *b)
{
    return strcmp (s_sort_form->cells [*(const int *)a].code,
                   s_sort_form->cells [*(const int *)b].code);
}

static int
s_form_load (const char *path, form_t *f)
{
    memset (f, 0, sizeof *f);
    char err [600];
    f->form = gom_form_load (path, err, sizeof err);
    if (!f->form) {
        fprintf (stderr, "gom_load: %s\n", err);
        return -1;
    }
    snprintf (f->code, sizeof f->code, "%s", gom_form_code (f->form));
    f->version = gom_form_version (f->form);
    const char *const *periods = gom_form_periods (f->form);
    const char *type = gom_form_period_type (f->form);
    snprintf (f->period, sizeof f->period, "%s",
              periods && periods [0]            ? periods [0]
              : strcmp (type, "half-year") == 0 ? "2026-H1"
                                                : "2026");
    f->n_cells = (int)gom_form_cell_count (f->form);
    f->cells = calloc ((size_t)f->n_cells + 1, sizeof (cell_t));
    //  A row's cells are its section's columns, in the section's order.
    int section = -1;
    const gom_form_line_t *sec = NULL;
    for (size_t l = 0; l < gom_form_line_count (f->form); l++) {
        const gom_form_line_t *line = gom_form_line (f->form, l);
        if (line->kind == GOM_LINE_SECTION) {
            section++;
            sec = line;
        }
        if (line->kind != GOM_LINE_ROW || !sec)
            continue;
        for (size_t c = 0; c < line->n_columns && c < sec->n_columns; c++) {
            if (line->cells [c] == SIZE_MAX)
                continue;
            cell_t *cell = &f->cells [line->cells [c]];
            cell->section = section;
            cell->col = sec->column_codes [c];
        }
    }
    for (int i = 0; i < f->n_cells; i++)
        f->cells [i].code = gom_form_cell_code (f->form, (size_t)i);
    //  A part is made a share of the cells it must not exceed, which are
    //  made first (form order); a total is the sum of its parts, made
    //  after them. A whole that comes later (or a fifth one) is kept in
    //  late, for the cut after the totals.
    for (size_t k = 0; k < gom_form_check_count (f->form); k++) {
        gom_form_check_t chk;
        gom_form_check (f->form, k, &chk);
        cell_t *cell = &f->cells [chk.cell];
        if (chk.kind == GOM_CHECK_LE && chk.others [0] < chk.cell &&
            cell->n_le < 4)
            cell->le [cell->n_le++] = chk.others [0];
        else if (chk.kind == GOM_CHECK_LE) {
            f->late = realloc (f->late, (f->n_late + 1) * sizeof *f->late);
            f->late [f->n_late][0] = chk.cell;
            f->late [f->n_late++][1] = chk.others [0];
        }
        else if (chk.kind == GOM_CHECK_SUM) {
            cell->parts = chk.others;
            cell->n_parts = chk.n_others;
        }
    }
    f->order = calloc ((size_t)f->n_cells + 1, sizeof (int));
    for (int i = 0; i < f->n_cells; i++)
        f->order [i] = i;
    s_sort_form = f;
    qsort (f->order, (size_t)f->n_cells, sizeof (int), s_cmp_cell);
    f->n_texts = gom_form_text_count (f->form);
    f->text_codes = calloc (f->n_texts + 1, sizeof (char *));
    for (size_t i = 0; i < f->n_texts; i++) {
        const char *code, *label;
        bool required;
        gom_form_text (f->form, i, &code, &label, &required);
        f->text_codes [i] = strdup (code);
    }
    //  A report's texts go in code order, as its cells (gom_report_check).
    qsort (f->text_codes, f->n_texts, sizeof (char *), s_cmp_str);
    return 0;
}

static void
s_form_free (form_t *f)
{
    for (size_t i = 0; i < f->n_texts; i++)
        free (f->text_codes [i]);
    free (f->text_codes);
    free (f->late);
    free (f->cells);
    free (f->order);
    gom_form_destroy (&f->form);
}

//  Plausible figures for a district's union over five years: thousands
//  of workers, tens of committees, hundreds of sessions, a few awards.
static int64_t
s_figure (uint64_t *rng, const cell_t *c)
{
    bool people = c->col && strcmp (c->col, "people") == 0;
    switch (c->section) {
        case 0: return s_between (rng, 800, 24000);
        case 1: return s_between (rng, 3, 160);
        case 2: return s_between (rng, 10, 900);
        case 3:
            return people ? s_between (rng, 400, 30000)
                          : s_between (rng, 5, 420);
        case 4:
            return people ? s_between (rng, 20, 6000) : s_between (rng, 1, 90);
        default: return s_between (rng, 0, 45);
    }
}

//  Each total the sum of its parts.
static void
s_sums (form_t *f, int64_t *val)
{
    for (int i = 0; i < f->n_cells; i++) {
        cell_t *c = &f->cells [i];
        if (!c->parts)
            continue;
        val [i] = 0;
        for (size_t k = 0; k < c->n_parts; k++)
            val [i] += val [c->parts [k]];
    }
}

//  One report (an Envelope, packed) for unit, revision; values from rng.
static uint8_t *
s_make_report (form_t *f, uint64_t *rng, const char *unit, uint32_t revision,
               uint32_t agent, uint32_t index, size_t *len, uint32_t *id_at,
               bool check)
{
    int64_t *val = calloc ((size_t)f->n_cells + 1, sizeof (int64_t));
    //  Parts first (in form order, so a row's `le` row is done), then sums.
    for (int i = 0; i < f->n_cells; i++) {
        cell_t *c = &f->cells [i];
        if (c->parts)
            continue;
        if (c->n_le) {
            int64_t max = val [c->le [0]];
            for (int k = 1; k < c->n_le; k++)
                max = val [c->le [k]] < max ? val [c->le [k]] : max;
            val [i] = s_between (rng, max * 35 / 100, max * 65 / 100);
        }
        else
            val [i] = s_figure (rng, c);
    }
    s_sums (f, val);
    //  A part whose whole comes later in the form (a form-level check) is
    //  cut down to it afterwards, and the totals made again.
    for (int round = 0; round < 8; round++) {
        bool cut = false;
        for (size_t k = 0; k < f->n_late; k++) {
            size_t a = f->late [k][0], b = f->late [k][1];
            if (!f->cells [a].parts && val [a] > val [b]) {
                val [a] = val [b];
                cut = true;
            }
        }
        if (!cut)
            break;
        s_sums (f, val);
    }
    Gom__Report r = GOM__REPORT__INIT;
    uint8_t id [GOM_ID_BYTES];
    gom_report_id_new (id, gom_now_ms ());
    memcpy (id + 8, &agent, 4);
    memcpy (id + 12, &index, 4);
    r.report_id.data = id;
    r.report_id.len = sizeof id;
    r.unit = (char *)unit;
    r.form = f->code;
    r.period = f->period;
    r.revision = revision;
    r.form_version = f->version;
    r.sealed_at_ms = gom_now_ms ();
    Gom__Cell *cells = calloc ((size_t)f->n_cells + 1, sizeof (Gom__Cell));
    Gom__Cell **cellv = calloc ((size_t)f->n_cells + 1, sizeof (Gom__Cell *));
    for (int k = 0; k < f->n_cells; k++) {
        int i = f->order [k];
        gom__cell__init (&cells [k]);
        cells [k].code = (char *)f->cells [i].code;  //  packed, not changed
        cells [k].value = val [i];
        cellv [k] = &cells [k];
    }
    r.n_cells = (size_t)f->n_cells;
    r.cells = cellv;
    Gom__Text *texts = calloc (f->n_texts + 1, sizeof (Gom__Text));
    Gom__Text **textv = calloc (f->n_texts + 1, sizeof (Gom__Text *));
    for (size_t k = 0; k < f->n_texts; k++) {
        gom__text__init (&texts [k]);
        texts [k].code = f->text_codes [k];
        texts [k].text = "Đã triển khai đầy đủ theo kế hoạch.";
        textv [k] = &texts [k];
    }
    r.n_texts = f->n_texts;
    r.texts = textv;
    if (check) {
        char err [200];
        size_t count = 0;
        char *problems = gom_form_check_report (f->form, &r, &count);
        if (problems || gom_report_check (&r, err, sizeof err) != 0) {
            fprintf (stderr, "gom_load: made a report the form refuses: %s\n",
                     problems ? problems : err);
            exit (2);
        }
    }
    Gom__Envelope env = GOM__ENVELOPE__INIT;
    env.body_case = GOM__ENVELOPE__BODY_REPORT;
    env.report = &r;
    uint8_t *buf = gom_wire_encode (&env, len);
    if (id_at) {
        uint8_t *at = memmem (buf, *len, id, sizeof id);
        *id_at = at ? (uint32_t)(at - buf) : UINT32_MAX;
    }
    free (val);
    free (cells);
    free (cellv);
    free (texts);
    free (textv);
    return buf;
}

//  ------------------------------------------------------------------------
//  json: report files for gom-agent submit (docs/cli.md), made the same way

static int
s_json (opts_t *o, int argc, char **argv, int first)
{
    form_t form;
    if (!o->form || !o->unit || o->reports < 1 ||
        s_form_load (o->form, &form) != 0) {
        fprintf (stderr, "gom_load json: needs --form, --unit and --reports N, "
                         "then a folder\n");
        return 2;
    }
    const char *dir = first < argc ? argv [first] : ".";
    uint64_t rng = o->seed ? o->seed : 0x9E3779B97F4A7C15ULL;
    for (long k = 0; k < o->reports; k++) {
        size_t len = 0;
        uint8_t *buf = s_make_report (&form, &rng, o->unit, (uint32_t)k + 1, 0,
                                      (uint32_t)k, &len, NULL, true);
        gom_wire_msg_t *w = gom_wire_decode (buf, len, 1 << 20);
        Gom__Report *r = gom_wire_env (w)->report;
        json_t *cells = json_object ();
        for (size_t i = 0; i < r->n_cells; i++)
            json_object_set_new (cells, r->cells [i]->code,
                                 json_integer (r->cells [i]->value));
        json_t *texts = json_object ();
        for (size_t i = 0; i < r->n_texts; i++)
            json_object_set_new (texts, r->texts [i]->code,
                                 json_string (r->texts [i]->text));
        json_t *doc =
            json_pack ("{s:s, s:s, s:s, s:i, s:o, s:o}", "unit", r->unit,
                       "form", r->form, "period", r->period, "revision",
                       (int)r->revision, "cells", cells, "texts", texts);
        char path [4200];
        snprintf (path, sizeof path, "%s/%s-r%ld.json", dir, o->unit, k + 1);
        if (json_dump_file (doc, path, JSON_INDENT (1)) != 0) {
            fprintf (stderr, "gom_load: cannot write %s\n", path);
            return 2;
        }
        printf ("%s\n", path);
        json_decref (doc);
        gom_wire_msg_destroy (&w);
        free (buf);
    }
    s_form_free (&form);
    return 0;
}

//  ------------------------------------------------------------------------
//  prepare: the unit tree, the keys, the enrollment

static int
s_prepare (opts_t *o)
{
    if (!o->hub_config || o->agents < 1 || o->units_per_agent < 1) {
        fprintf (stderr, "gom_load prepare: needs --hub-config, --agents and "
                         "--units-per-agent\n");
        return 2;
    }
    char err [512];
    gom_config_t *cfg = gom_config_load (o->hub_config, "hub", err, sizeof err);
    if (!cfg) {
        fprintf (stderr, "gom_load: %s\n", err);
        return 2;
    }
    char *units_path = gom_config_file (cfg, "units", "units.csv");
    char *db = gom_config_file (cfg, "database", "hub.db");
    char *keys_db = gom_config_file (cfg, "keys", "keys.db");
    char *keys_file = o->keys
                          ? strdup (o->keys)
                          : gom_path_join (gom_config_dir (cfg), "agents.keys");
    size_t n_units = (size_t)(o->agents * o->units_per_agent);
    FILE *f = fopen (units_path, "w");
    if (!f) {
        fprintf (stderr, "gom_load: %s: %s\n", units_path, strerror (errno));
        return 2;
    }
    fprintf (f, "code,name,parent,level,active_from,inactive_from\n"
                "11,Tỉnh Điện Biên,,province,,\n");
    size_t n_districts = (n_units + 99) / 100;
    for (size_t d = 0; d < n_districts; d++)
        fprintf (f, "11%03zu,Huyện %zu,11,district,,\n", d, d + 1);
    for (size_t u = 0; u < n_units; u++)
        fprintf (f, "%06zu,Xã %zu,11%03zu,commune,,\n", 100000 + u, u + 1,
                 u / 100);
    fclose (f);
    hub_store_t *store = hub_store_open (db, keys_db, true, err, sizeof err);
    if (!store) {
        fprintf (stderr, "gom_load: %s\n", err);
        return 2;
    }
    //  This tool's connection only: the enrollment of thousands of bench
    //  keys need not wait for an fsync each (the hub's own connection sets
    //  synchronous=FULL for itself).
    sqlite3_exec (hub_store_db (store), "PRAGMA keys.synchronous=OFF", NULL,
                  NULL, NULL);
    FILE *out = fopen (keys_file, "w");
    if (!out) {
        fprintf (stderr, "gom_load: %s: %s\n", keys_file, strerror (errno));
        return 2;
    }
    int64_t t0 = gom_mono_us ();
    for (long a = 0; a < o->agents; a++) {
        char pub [41], sec [41];
        if (zmq_curve_keypair (pub, sec) != 0) {
            fprintf (stderr, "gom_load: zmq_curve_keypair failed\n");
            return 2;
        }
        char **units = calloc ((size_t)o->units_per_agent + 1, sizeof (char *));
        fprintf (out, "%s %s ", pub, sec);
        for (long k = 0; k < o->units_per_agent; k++) {
            char code [32];
            snprintf (code, sizeof code, "%06ld",
                      100000 + a * o->units_per_agent + k);
            units [k] = strdup (code);
            fprintf (out, "%s%s", k ? "," : "", code);
        }
        fprintf (out, "\n");
        if (hub_store_enroll (store, pub, units, err, sizeof err) != 0) {
            fprintf (stderr, "gom_load: enroll: %s\n", err);
            return 2;
        }
        gom_strv_free (&units);
    }
    fclose (out);
    hub_store_destroy (&store);
    fprintf (stderr,
             "gom_load: %zu units in %s; %ld keys enrolled in %.2f s, "
             "written to %s\n",
             n_units, units_path, o->agents,
             (double)(gom_mono_us () - t0) / 1e6, keys_file);
    free (units_path);
    free (db);
    free (keys_db);
    free (keys_file);
    gom_config_destroy (&cfg);
    return 0;
}

//  ------------------------------------------------------------------------
//  run: the agents

typedef struct {
    uint32_t idx;
    zsock_t *dealer;
    zsock_t *monitor;
    char pub [41], sec [41];
    char **units;
    size_t n_units;
    bool connected, welcomed;
    bool ever_connected, ever_welcomed;
    int64_t hello_due_us;
    int64_t hello_ivl_us;
    int64_t rebuild_us;  //  0: socket wanted now (when dealer is NULL)
    int64_t auth_backoff_ms;
    gom_rtt_t rtt;       //  round trip (us) and Karn's doublings
    int64_t send_order;  //  sends so far (orders them)
    size_t n_reports;
    uint8_t **frames;
    size_t *lens;
    uint8_t *state;
    uint16_t *attempts;
    uint32_t *id_at;     //  where each frame's report_id is (its time part is
                         //  stamped when the report is first sent)
    int64_t *submit_us;  //  when it was (meant to be) first sent
    int64_t *sent_us;    //  last send
    int64_t *due_us;     //  resend at
    int64_t *rto_us;     //  the timeout drawn at the last send
    bool *timer;         //  due_us is that timeout (not a NACK's wait)
    int64_t *first_order, *last_order;  //  on this connection; 0: none
    size_t next;                        //  first report never sent
    size_t *flight;                     //  indices in flight
    size_t n_flight;
    size_t done;
} agent_t;

typedef struct {
    opts_t *o;
    agent_t *agents;
    size_t n_agents;
    char hub_endpoint [128];
    char hub_key [41];
    form_t form;
    int mon_seq;
    int64_t t0_us;  //  the clock's zero (first send, or first connect)
    int64_t *lat_us;
    size_t n_lat;
    size_t total, finished;
    //  Counters
    int64_t sent, acked, dup_acks, nacked, transient, resent, late_acks;
    int64_t reconnects, auth_refusals, forms, bad;
    int64_t lost_handshakes;  //  connections closed before the handshake
    int64_t last_ack_us;
    size_t n_connected, n_welcomed;  //  agents ever connected, welcomed
    int64_t all_connected_us, all_welcomed_us;  //  when the last one was
    char first_nack [300];
} load_t;

//  The resend timeout (us), as gom-agent's (gom_rtt_timeout), at most 60 s.
static int64_t
s_rto_us (load_t *L, agent_t *a, int attempts)
{
    return gom_rtt_timeout (&a->rtt, attempts, L->o->resend_min_ms * 1000,
                            60000000);
}

//  One epoll set over every socket's ZMQ_FD: zmq_poll over thousands of
//  sockets costs a system call per socket per call (ZMQ_EVENTS), which
//  made the generator, not the hub, the bottleneck of the storm. ZMQ_FD
//  only says "look again": a socket is drained (recv until EAGAIN) when
//  its fd is readable, after each send, and in a sweep every second.
static int s_epoll = -1;

static void
s_epoll_set (agent_t *a, bool add)
{
    zsock_t *socks [2] = { a->dealer, a->monitor };
    for (int i = 0; i < 2; i++) {
        if (!socks [i])
            continue;
        struct epoll_event ev = { .events = EPOLLIN };
        ev.data.u64 = ((uint64_t)a->idx << 1) | (uint64_t)i;
        epoll_ctl (s_epoll, add ? EPOLL_CTL_ADD : EPOLL_CTL_DEL,
                   zsock_fd (socks [i]), &ev);
    }
}

static void
s_socket_close (agent_t *a)
{
    if (a->dealer) {
        s_epoll_set (a, false);
        zmq_socket_monitor (zsock_resolve (a->dealer), NULL, 0);
    }
    zsock_destroy (&a->monitor);
    zsock_destroy (&a->dealer);
    a->connected = a->welcomed = false;
}

static int
s_socket_open (load_t *L, agent_t *a)
{
    a->dealer = zsock_new (ZMQ_DEALER);
    if (!a->dealer)
        return -1;
    zsock_set_curve_publickey (a->dealer, a->pub);
    zsock_set_curve_secretkey (a->dealer, a->sec);
    zsock_set_curve_serverkey (a->dealer, L->hub_key);
    zsock_set_immediate (a->dealer, 1);
    zsock_set_sndtimeo (a->dealer, 0);
    zsock_set_rcvtimeo (a->dealer, 0);
    zsock_set_linger (a->dealer, 0);
    zsock_set_maxmsgsize (a->dealer, 1 << 20);
    zsock_set_reconnect_ivl (a->dealer, 1000);
    zsock_set_reconnect_ivl_max (a->dealer, (int)L->o->reconnect_max_ms);
    zsock_set_heartbeat_ivl (a->dealer, 5000);
    zsock_set_heartbeat_timeout (a->dealer, 15000);
    zsock_set_heartbeat_ttl (a->dealer, 15000);
    char ep [64];
    snprintf (ep, sizeof ep, "inproc://gom-load-mon-%d", ++L->mon_seq);
    if (zmq_socket_monitor (zsock_resolve (a->dealer), ep,
                            ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                                ZMQ_EVENT_DISCONNECTED |
                                ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0) {
        zsock_destroy (&a->dealer);
        return -1;
    }
    a->monitor = zsock_new (ZMQ_PAIR);
    zsock_set_rcvtimeo (a->monitor, 0);
    if (zsock_connect (a->monitor, "%s", ep) != 0 ||
        zsock_connect (a->dealer, "%s", L->hub_endpoint) != 0) {
        s_socket_close (a);
        return -1;
    }
    s_epoll_set (a, true);
    return 0;
}

static void
s_send_hello (load_t *L, agent_t *a)
{
    Gom__Hello h = GOM__HELLO__INIT;
    h.agent_version = "gom-load";
    h.n_units = a->n_units;
    h.units = a->units;
    h.queue_depth = (uint32_t)(a->n_reports - a->done);
    h.agent_time_ms = gom_now_ms ();
    Gom__FormRef ref = GOM__FORM_REF__INIT;
    ref.code = L->form.code;
    ref.version = L->form.version;
    Gom__FormRef *refs [1] = { &ref };
    h.n_forms = 1;
    h.forms = refs;
    Gom__Envelope env = GOM__ENVELOPE__INIT;
    env.body_case = GOM__ENVELOPE__BODY_HELLO;
    env.hello = &h;
    size_t len = 0;
    uint8_t *buf = gom_wire_encode (&env, &len);
    if (zmq_send (zsock_resolve (a->dealer), buf, len, ZMQ_DONTWAIT) >= 0)
        free (buf);
}

static void
s_flight_remove (agent_t *a, size_t k)
{
    for (size_t i = 0; i < a->n_flight; i++)
        if (a->flight [i] == k) {
            a->flight [i] = a->flight [--a->n_flight];
            return;
        }
}

static void
s_finish (load_t *L, agent_t *a, size_t k, uint8_t state)
{
    a->state [k] = state;
    s_flight_remove (a, k);
    a->done++;
    L->finished++;
    free (a->frames [k]);
    a->frames [k] = NULL;
}

//  Report k has just been sent.
static void
s_sent (load_t *L, agent_t *a, size_t k, int64_t now)
{
    a->sent_us [k] = now;
    a->rto_us [k] = s_rto_us (L, a, a->attempts [k]);
    a->due_us [k] = now + a->rto_us [k];
    a->timer [k] = true;
    a->last_order [k] = ++a->send_order;
    if (!a->first_order [k])
        a->first_order [k] = a->last_order [k];
}

//  The hub answered report k (SIZE_MAX: not one in flight): as gom-agent
//  does (gom_rtt_answered), every waiting timeout starts again, and what
//  was sent before k on this connection and is unanswered goes again at
//  once.
static void
s_answered (agent_t *a, size_t k, int64_t now)
{
    int64_t first = k != SIZE_MAX ? a->first_order [k] : 0;
    for (size_t i = 0; i < a->n_flight; i++) {
        size_t j = a->flight [i];
        if (j == k || !a->timer [j])
            continue;
        gom_rtt_answered (first, a->last_order [j], now, a->rto_us [j],
                          &a->due_us [j], &a->timer [j]);
    }
}

//  Sends what is due: resends first, then new reports while the window has
//  room (and, with a rate, their time has come).
static bool
s_send_due (load_t *L, agent_t *a, int64_t now)
{
    void *raw = zsock_resolve (a->dealer);
    bool sent = false;
    for (size_t i = 0; i < a->n_flight; i++) {
        size_t k = a->flight [i];
        if (a->due_us [k] > now)
            continue;
        if (zmq_send (raw, a->frames [k], a->lens [k], ZMQ_DONTWAIT) < 0) {
            a->due_us [k] = now + 20000;
            return sent;
        }
        sent = true;
        L->resent++;
        L->sent++;
        if (a->timer [k] && a->attempts [k] > a->rtt.shift)
            a->rtt.shift = a->attempts [k];  //  its timeout expired
        a->attempts [k]++;
        s_sent (L, a, k, now);
    }
    while (a->n_flight < (size_t)L->o->window && a->next < a->n_reports) {
        size_t k = a->next;
        if (L->o->rate > 0 && a->submit_us [k] > now)
            break;
        if (a->id_at [k] != UINT32_MAX)
            gom_report_id_set_time (a->frames [k] + a->id_at [k],
                                    gom_now_ms ());
        if (zmq_send (raw, a->frames [k], a->lens [k], ZMQ_DONTWAIT) < 0)
            return sent;
        sent = true;
        L->sent++;
        if (L->o->rate <= 0)
            a->submit_us [k] = now;
        a->state [k] = ST_FLIGHT;
        a->attempts [k] = 1;
        s_sent (L, a, k, now);
        a->flight [a->n_flight++] = k;
        a->next++;
    }
    return sent;
}

//  User and system CPU seconds of a getrusage.
static double
s_rusage_s (const struct rusage *ru)
{
    return (double)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) +
           (double)(ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1e6;
}

static void
s_on_message (load_t *L, agent_t *a, const uint8_t *data, size_t size)
{
    int64_t now = gom_mono_us ();
    gom_wire_msg_t *w = gom_wire_decode (data, size, 8 * size + 65536);
    Gom__Envelope *env = gom_wire_env (w);
    if (!env) {
        L->bad++;
        gom_wire_msg_destroy (&w);
        return;
    }
    if (env->body_case == GOM__ENVELOPE__BODY_WELCOME) {
        if (!a->welcomed) {
            //  Rule 6: after a (re)connection, the whole window again.
            for (size_t i = 0; i < a->n_flight; i++) {
                size_t k = a->flight [i];
                a->due_us [k] = 0, a->timer [k] = false;
                a->first_order [k] = a->last_order [k] = 0;
            }
        }
        a->welcomed = true;
        if (!a->ever_welcomed) {
            a->ever_welcomed = true;
            if (++L->n_welcomed == L->n_agents)
                L->all_welcomed_us = now;
        }
    }
    else if (env->body_case == GOM__ENVELOPE__BODY_FORM)
        L->forms++;
    else if (env->body_case == GOM__ENVELOPE__BODY_ACK ||
             env->body_case == GOM__ENVELOPE__BODY_NACK) {
        ProtobufCBinaryData *rid = env->body_case == GOM__ENVELOPE__BODY_ACK
                                       ? &env->ack->report_id
                                       : &env->nack->report_id;
        uint32_t ai = UINT32_MAX, k = UINT32_MAX;
        if (rid->len == GOM_ID_BYTES) {
            memcpy (&ai, rid->data + 8, 4);
            memcpy (&k, rid->data + 12, 4);
        }
        if (ai != a->idx || k >= a->n_reports) {
            L->bad++;
            if (env->body_case == GOM__ENVELOPE__BODY_NACK && !*L->first_nack)
                snprintf (L->first_nack, sizeof L->first_nack, "%s: %s",
                          env->nack->code, env->nack->reason);
        }
        else if (a->state [k] != ST_FLIGHT) {
            L->late_acks++;
            s_answered (a, SIZE_MAX, now);
        }
        else if (env->body_case == GOM__ENVELOPE__BODY_ACK) {
            s_answered (a, k, now);
            if (a->attempts [k] == 1) {
                gom_rtt_sample (&a->rtt, now - a->sent_us [k]);
                a->rtt.shift = 0;
            }
            L->lat_us [L->n_lat++] = now - a->submit_us [k];
            L->acked++;
            if (env->ack->duplicate)
                L->dup_acks++;
            L->last_ack_us = now;
            s_finish (L, a, k, ST_ACKED);
        }
        else if (env->nack->kind == GOM__NACK__KIND__PERMANENT) {
            s_answered (a, k, now);
            L->nacked++;
            if (!*L->first_nack)
                snprintf (L->first_nack, sizeof L->first_nack, "%s: %s",
                          env->nack->code, env->nack->reason);
            s_finish (L, a, k, ST_NACKED);
        }
        else {
            s_answered (a, k, now);
            L->transient++;
            int64_t wait = s_rto_us (L, a, a->attempts [k] + 1);
            if ((int64_t)env->nack->retry_after_ms * 1000 > wait)
                wait = (int64_t)env->nack->retry_after_ms * 1000;
            a->due_us [k] = now + wait;
            a->timer [k] = false;
        }
    }
    gom_wire_msg_destroy (&w);
}

static void
s_monitor (load_t *L, agent_t *a, int64_t now)
{
    zmsg_t *msg;
    while (a->monitor && (msg = zmsg_recv (a->monitor))) {
        zframe_t *f = zmsg_first (msg);
        uint16_t event = 0;
        if (f && zframe_size (f) >= 6)
            memcpy (&event, zframe_data (f), 2);
        zmsg_destroy (&msg);
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            if (!a->ever_connected) {
                a->ever_connected = true;
                if (++L->n_connected == L->n_agents)
                    L->all_connected_us = now;
            }
            a->connected = true;
            a->welcomed = false;
            a->auth_backoff_ms = 0;
            a->hello_due_us = now;
            a->hello_ivl_us = 2000000;
        }
        else if (event == ZMQ_EVENT_DISCONNECTED) {
            if (a->connected)
                L->reconnects++;
            else
                L->lost_handshakes++;
            a->connected = a->welcomed = false;
        }
        else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
            //  libzmq never reconnects after a ZAP refusal: rebuild.
            L->auth_refusals++;
            a->auth_backoff_ms =
                a->auth_backoff_ms ? a->auth_backoff_ms * 2 : 1000;
            if (a->auth_backoff_ms > 30000)
                a->auth_backoff_ms = 30000;
            s_socket_close (a);
            a->rebuild_us = now + a->auth_backoff_ms * 1000;
            return;
        }
    }
}

static void
s_receive (load_t *L, agent_t *a)
{
    void *raw = zsock_resolve (a->dealer);
    for (int n = 0; n < 10000; n++) {
        zmq_msg_t m;
        zmq_msg_init (&m);
        if (zmq_msg_recv (&m, raw, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&m);
            break;
        }
        if (!zmq_msg_more (&m))
            s_on_message (L, a, zmq_msg_data (&m), zmq_msg_size (&m));
        else
            L->bad++;
        zmq_msg_close (&m);
    }
}

//  Hub process figures from /proc.
static double
s_proc_cpu_s (long pid)
{
    char path [64], buf [2048];
    snprintf (path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen (path, "r");
    if (!f)
        return -1;
    size_t n = fread (buf, 1, sizeof buf - 1, f);
    fclose (f);
    buf [n] = 0;
    char *p = strrchr (buf, ')');
    if (!p)
        return -1;
    unsigned long utime = 0, stime = 0;
    //  After ")": state ppid pgrp session tty tpgid flags minflt cminflt
    //  majflt cmajflt utime stime
    if (sscanf (p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf (_SC_CLK_TCK);
}

//  A "field: value" line of /proc/PID/FILE (status: kB; io: bytes or
//  calls), or -1.
static long long
s_proc_field (long pid, const char *file, const char *field)
{
    char path [64], line [256];
    snprintf (path, sizeof path, "/proc/%ld/%s", pid, file);
    FILE *f = fopen (path, "r");
    if (!f)
        return -1;
    long long v = -1;
    size_t flen = strlen (field);
    while (fgets (line, sizeof line, f))
        if (strncmp (line, field, flen) == 0 && line [flen] == ':') {
            v = atoll (line + flen + 1);
            break;
        }
    fclose (f);
    return v;
}

//  What the hub has written to its files (WAL, databases) since it
//  started, from /proc/PID/io: bytes and calls passed to write(2) and
//  pwrite(2) (its sockets use send(2), not counted), and bytes of page
//  cache it dirtied. -1 where unreadable (only root and the hub's user
//  may read the file).
typedef struct {
    long long bytes, calls, dirtied;
} proc_io_t;

static proc_io_t
s_proc_io (long pid)
{
    proc_io_t io = { -1, -1, -1 };
    if (pid) {
        io.bytes = s_proc_field (pid, "io", "wchar");
        io.calls = s_proc_field (pid, "io", "syscw");
        io.dirtied = s_proc_field (pid, "io", "write_bytes");
    }
    return io;
}

static long
s_proc_fds (long pid)
{
    char path [64];
    snprintf (path, sizeof path, "/proc/%ld/fd", pid);
    DIR *d = opendir (path);
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir (d)))
        if (e->d_name [0] != '.')
            n++;
    closedir (d);
    return n;
}

static int
s_cmp_i64 (const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double
s_pct_ms (load_t *L, double p)
{
    if (!L->n_lat)
        return 0;
    size_t i = (size_t)ceil (p * (double)L->n_lat) - 1;
    if (i >= L->n_lat)
        i = L->n_lat - 1;
    return (double)L->lat_us [i] / 1000.0;
}

static int
s_load_keys (load_t *L, const char *path)
{
    FILE *f = fopen (path, "r");
    if (!f) {
        fprintf (stderr, "gom_load: %s: %s\n", path, strerror (errno));
        return -1;
    }
    size_t cap = L->o->agents > 0 ? (size_t)L->o->agents : 1 << 20;
    L->agents = calloc (cap, sizeof (agent_t));
    char *line = NULL;
    size_t lcap = 0;
    while (L->n_agents < cap && getline (&line, &lcap, f) > 0) {
        char pub [64], sec [64];
        static char units [1 << 16];
        if (sscanf (line, "%63s %63s %65535s", pub, sec, units) != 3 ||
            strlen (pub) != 40 || strlen (sec) != 40)
            continue;
        agent_t *a = &L->agents [L->n_agents];
        a->idx = (uint32_t)L->n_agents++;
        memcpy (a->pub, pub, 41);
        memcpy (a->sec, sec, 41);
        a->units = gom_split_list (units, &a->n_units);
    }
    free (line);
    fclose (f);
    if (L->o->agents > 0 && L->n_agents < (size_t)L->o->agents) {
        fprintf (stderr, "gom_load: %s holds %zu keys, %ld wanted\n", path,
                 L->n_agents, L->o->agents);
        return -1;
    }
    return 0;
}

static int
s_run (opts_t *o)
{
    if (!o->hub_config || !o->form || !o->mode || o->reports < 1) {
        fprintf (stderr, "gom_load run: needs --hub-config, --form, --mode "
                         "and --reports\n");
        return 2;
    }
    bool storm = strcmp (o->mode, "storm") == 0;
    if (!storm && strcmp (o->mode, "ingest") != 0) {
        fprintf (stderr, "gom_load: --mode ingest or storm\n");
        return 2;
    }
    const char *name = o->name ? o->name : o->mode;
    load_t load;
    load_t *L = &load;
    memset (L, 0, sizeof *L);
    L->o = o;
    char err [512];
    gom_config_t *cfg = gom_config_load (o->hub_config, "hub", err, sizeof err);
    if (!cfg) {
        fprintf (stderr, "gom_load: %s\n", err);
        return 2;
    }
    const char *ep = gom_config_str (cfg, "endpoint", "tcp://*:7770");
    const char *colon = strrchr (ep, ':');
    if (o->hub_endpoint)
        snprintf (L->hub_endpoint, sizeof L->hub_endpoint, "%s",
                  o->hub_endpoint);
    else
        snprintf (L->hub_endpoint, sizeof L->hub_endpoint, "tcp://127.0.0.1%s",
                  colon ? colon : ":7770");
    char *cert_path = gom_config_file (cfg, "cert", "hub.cert");
    zcert_t *cert = gom_keys_load (cert_path, err, sizeof err);
    if (!cert) {
        fprintf (stderr, "gom_load: %s\n", err);
        return 2;
    }
    snprintf (L->hub_key, sizeof L->hub_key, "%s", zcert_public_txt (cert));
    zcert_destroy (&cert);
    free (cert_path);
    char *keys = o->keys ? strdup (o->keys)
                         : gom_path_join (gom_config_dir (cfg), "agents.keys");
    int rc = s_load_keys (L, keys);
    free (keys);
    gom_config_destroy (&cfg);
    if (rc != 0 || s_form_load (o->form, &L->form) != 0)
        return 2;

    //  Every report made before the clock starts, so that the generator
    //  spends the measured time on the wire, not on protobuf.
    uint64_t rng = o->seed ? o->seed : 0x9E3779B97F4A7C15ULL;
    L->total = L->n_agents * (size_t)o->reports;
    L->lat_us = calloc (L->total + 1, sizeof (int64_t));
    int64_t made_us = gom_mono_us ();
    size_t bytes = 0;
    for (size_t i = 0; i < L->n_agents; i++) {
        agent_t *a = &L->agents [i];
        size_t n = (size_t)o->reports;
        a->n_reports = n;
        a->frames = calloc (n, sizeof (uint8_t *));
        a->lens = calloc (n, sizeof (size_t));
        a->state = calloc (n, 1);
        a->attempts = calloc (n, sizeof (uint16_t));
        a->id_at = calloc (n, sizeof (uint32_t));
        a->submit_us = calloc (n, sizeof (int64_t));
        a->sent_us = calloc (n, sizeof (int64_t));
        a->due_us = calloc (n, sizeof (int64_t));
        a->rto_us = calloc (n, sizeof (int64_t));
        a->timer = calloc (n, sizeof *a->timer);
        a->first_order = calloc (n, sizeof (int64_t));
        a->last_order = calloc (n, sizeof (int64_t));
        a->flight = calloc ((size_t)o->window + 1, sizeof (size_t));
        for (size_t k = 0; k < n; k++) {
            //  Each unit once, then each again as the next revision.
            const char *unit = a->units [k % a->n_units];
            uint32_t revision = (uint32_t)(k / a->n_units) + 1;
            a->frames [k] = s_make_report (&L->form, &rng, unit, revision,
                                           a->idx, (uint32_t)k, &a->lens [k],
                                           &a->id_at [k], i == 0 && k < 50);
            bytes += a->lens [k];
        }
    }
    fprintf (stderr,
             "gom_load: %zu agents, %zu reports made (%.0f bytes each) in "
             "%.2f s\n",
             L->n_agents, L->total, (double)bytes / (double)L->total,
             (double)(gom_mono_us () - made_us) / 1e6);

    zsys_handler_set (NULL);
    zsys_set_io_threads ((size_t)o->io_threads);
    zsys_set_max_sockets (L->n_agents * 4 + 64);
    zsys_init ();
    double hub_cpu0 = o->hub_pid ? s_proc_cpu_s (o->hub_pid) : 0;
    proc_io_t io0 = s_proc_io (o->hub_pid);
    long fds_max = o->hub_pid ? s_proc_fds (o->hub_pid) : 0;
    struct rusage ru0, ru_go;
    getrusage (RUSAGE_SELF, &ru0);
    ru_go = ru0;
    double hub_cpu_go = hub_cpu0;

    s_epoll = epoll_create1 (EPOLL_CLOEXEC);
    int64_t start = gom_mono_us ();
    int64_t limit_us = start + (int64_t)(o->time_limit * 1e6);
    L->t0_us = start;
    for (size_t i = 0; i < L->n_agents; i++)
        if (s_socket_open (L, &L->agents [i]) != 0) {
            fprintf (stderr, "gom_load: socket %zu: %s\n", i,
                     zmq_strerror (zmq_errno ()));
            return 2;
        }
    int64_t connected_us = gom_mono_us ();
    bool go = storm;  //  ingest: only once every agent is welcomed
    int64_t go_us = storm ? start : 0;
    struct epoll_event events [512];
    int64_t next_sample = 0, next_sweep = 0;
    size_t welcomed = 0;
    while (L->finished < L->total) {
        int64_t now = gom_mono_us ();
        if (now > limit_us) {
            fprintf (stderr,
                     "gom_load: time limit: %zu of %zu reports "
                     "finished\n",
                     L->finished, L->total);
            break;
        }
        if (o->hub_pid && now >= next_sample) {
            long fds = s_proc_fds (o->hub_pid);
            if (fds > fds_max)
                fds_max = fds;
            next_sample = now + 200000;
        }
        if (!go) {
            welcomed = 0;
            for (size_t i = 0; i < L->n_agents; i++)
                welcomed += L->agents [i].welcomed;
            if (welcomed == L->n_agents) {
                go = true;
                //  The CPU of the sending alone, without the handshakes.
                getrusage (RUSAGE_SELF, &ru_go);
                hub_cpu_go = o->hub_pid ? s_proc_cpu_s (o->hub_pid) : 0;
                go_us = gom_mono_us ();
                L->t0_us = go_us;
                //  The fixed-rate schedule: report k of agent a is due at
                //  (k * P + a) / R seconds.
                if (o->rate > 0)
                    for (size_t i = 0; i < L->n_agents; i++)
                        for (size_t k = 0; k < L->agents [i].n_reports; k++)
                            L->agents [i].submit_us [k] =
                                go_us +
                                (int64_t)((double)(k * L->n_agents + i) * 1e6 /
                                          o->rate);
                fprintf (stderr,
                         "gom_load: %zu agents welcomed %.2f s after "
                         "connecting; sending\n",
                         L->n_agents, (double)(go_us - connected_us) / 1e6);
            }
        }
        bool sweep = now >= next_sweep;
        if (sweep)
            next_sweep = now + 1000000;
        for (size_t i = 0; i < L->n_agents; i++) {
            agent_t *a = &L->agents [i];
            if (!a->dealer) {
                if (now >= a->rebuild_us && s_socket_open (L, a) != 0)
                    a->rebuild_us = now + 1000000;
                continue;
            }
            bool sent = false;
            if (a->connected && !a->welcomed && now >= a->hello_due_us) {
                s_send_hello (L, a);
                sent = true;
                a->hello_due_us = now + a->hello_ivl_us;
                if (a->hello_ivl_us < 30000000)
                    a->hello_ivl_us *= 2;
            }
            if (go && a->welcomed)
                sent = s_send_due (L, a, now) || sent;
            if (sweep) {
                s_monitor (L, a, now);
                if (!a->dealer)
                    continue;
            }
            if (sent || sweep)
                s_receive (L, a);
        }
        int timeout = o->rate > 0 ? 1 : 10;
        int n = epoll_wait (s_epoll, events, 512, timeout);
        now = gom_mono_us ();
        for (int i = 0; i < n; i++) {
            uint64_t u = events [i].data.u64;
            agent_t *a = &L->agents [u >> 1];
            if (!a->dealer)
                continue;  //  closed by its monitor's event just now
            if (u & 1)
                s_monitor (L, a, now);
            else
                s_receive (L, a);
        }
    }
    int64_t end_us = L->finished == L->total ? L->last_ack_us : gom_mono_us ();
    struct rusage ru1;
    getrusage (RUSAGE_SELF, &ru1);
    double hub_cpu1 = o->hub_pid ? s_proc_cpu_s (o->hub_pid) : 0;
    long long hub_hwm =
        o->hub_pid ? s_proc_field (o->hub_pid, "status", "VmHWM") : 0;
    proc_io_t io1 = s_proc_io (o->hub_pid);
    long fds_end = o->hub_pid ? s_proc_fds (o->hub_pid) : 0;
    if (fds_end > fds_max)
        fds_max = fds_end;

    qsort (L->lat_us, L->n_lat, sizeof (int64_t), s_cmp_i64);
    double secs = (double)(end_us - L->t0_us) / 1e6;
    if (storm) {
        printf ("figure %s_drain %.2f s\n", name, secs);
        if (L->all_connected_us)
            printf ("figure %s_all_connected %.2f s\n", name,
                    (double)(L->all_connected_us - start) / 1e6);
        if (L->all_welcomed_us)
            printf ("figure %s_all_welcomed %.2f s\n", name,
                    (double)(L->all_welcomed_us - start) / 1e6);
        printf ("figure %s_connect_calls %.2f s\n", name,
                (double)(connected_us - start) / 1e6);
    }
    printf ("figure %s %.0f reports/s\n", name,
            secs > 0 ? (double)L->acked / secs : 0);
    if (o->rate > 0)
        printf ("figure %s_offered %.0f reports/s\n", name, o->rate);
    printf ("figure %s_p50 %.1f ms\n", name, s_pct_ms (L, 0.50));
    printf ("figure %s_p99 %.1f ms\n", name, s_pct_ms (L, 0.99));
    printf ("figure %s_max %.1f ms\n", name, s_pct_ms (L, 1.0));
    printf ("figure %s_agents %zu agents\n", name, L->n_agents);
    printf ("figure %s_reports %zu reports\n", name, L->total);
    printf ("figure %s_sent %" PRId64 " messages\n", name, L->sent);
    printf ("figure %s_acked %" PRId64 " reports\n", name, L->acked);
    printf ("figure %s_nacked %" PRId64 " reports\n", name, L->nacked);
    printf ("figure %s_transient_nacks %" PRId64 " nacks\n", name,
            L->transient);
    printf ("figure %s_resent %" PRId64 " messages\n", name, L->resent);
    printf ("figure %s_duplicate_acks %" PRId64 " acks\n", name, L->dup_acks);
    printf ("figure %s_reconnects %" PRId64 " reconnects\n", name,
            L->reconnects);
    printf ("figure %s_zap_refusals %" PRId64 " refusals\n", name,
            L->auth_refusals);
    printf ("figure %s_lost_handshakes %" PRId64 " connections\n", name,
            L->lost_handshakes);
    printf ("figure %s_unfinished %zu reports\n", name, L->total - L->finished);
    if (!storm)
        printf ("figure %s_welcome_all %.2f s\n", name,
                (double)(go_us - connected_us) / 1e6);
    double load_cpu = s_rusage_s (&ru1) - s_rusage_s (&ru0);
    printf ("figure %s_loadgen_cpu %.2f s\n", name, load_cpu);
    //  Ingest: the CPU from the first report sent to the last ACK (the
    //  rate's window), a report's share of it, and how many of the
    //  machine's cores hub and generator kept busy meanwhile.
    double load_send = s_rusage_s (&ru1) - s_rusage_s (&ru_go);
    double hub_send = hub_cpu1 - hub_cpu_go;
    if (!storm && L->acked > 0 && secs > 0) {
        printf ("figure %s_loadgen_cpu_sending %.2f s\n", name, load_send);
        printf ("figure %s_loadgen_cpu_per_report %.1f us\n", name,
                load_send * 1e6 / (double)L->acked);
        if (o->hub_pid) {
            printf ("figure %s_hub_cpu_sending %.2f s\n", name, hub_send);
            printf ("figure %s_hub_cpu_per_report %.1f us\n", name,
                    hub_send * 1e6 / (double)L->acked);
            printf ("figure %s_cores_busy_sending %.2f cores\n", name,
                    (hub_send + load_send) / secs);
        }
    }
    if (o->hub_pid) {
        printf ("figure %s_hub_cpu %.2f s\n", name, hub_cpu1 - hub_cpu0);
        printf ("figure %s_hub_peak_rss %.1f MB\n", name,
                (double)hub_hwm / 1024.0);
        printf ("figure %s_hub_fds_peak %ld fds\n", name, fds_max);
        if (L->acked > 0 && io0.bytes >= 0 && io1.bytes >= io0.bytes) {
            double n = (double)L->acked;
            printf ("figure %s_hub_file_bytes_per_report %.0f bytes\n", name,
                    (double)(io1.bytes - io0.bytes) / n);
            printf ("figure %s_hub_file_writes_per_report %.2f calls\n", name,
                    (double)(io1.calls - io0.calls) / n);
            printf ("figure %s_hub_dirtied_per_report %.0f bytes\n", name,
                    (double)(io1.dirtied - io0.dirtied) / n);
        }
    }
    if (*L->first_nack)
        fprintf (stderr, "gom_load: first NACK: %s\n", L->first_nack);
    if (L->bad || L->late_acks)
        fprintf (stderr,
                 "gom_load: %" PRId64 " answers not understood or for no "
                 "report, %" PRId64 " for reports already done; %" PRId64
                 " forms offered\n",
                 L->bad, L->late_acks, L->forms);
    fflush (stdout);

    for (size_t i = 0; i < L->n_agents; i++) {
        agent_t *a = &L->agents [i];
        s_socket_close (a);
        for (size_t k = 0; k < a->n_reports; k++)
            free (a->frames [k]);
        free (a->frames);
        free (a->lens);
        free (a->state);
        free (a->attempts);
        free (a->id_at);
        free (a->submit_us);
        free (a->sent_us);
        free (a->due_us);
        free (a->rto_us);
        free (a->timer);
        free (a->first_order);
        free (a->last_order);
        free (a->flight);
        gom_strv_free (&a->units);
    }
    free (L->agents);
    free (L->lat_us);
    close (s_epoll);
    s_form_free (&L->form);
    return L->finished == L->total ? 0 : 1;
}

int
main (int argc, char **argv)
{
    static struct option longopts [] = {
        { "hub-config", required_argument, 0, 'c' },
        { "keys", required_argument, 0, 'k' },
        { "unit", required_argument, 0, 'U' },
        { "form", required_argument, 0, 'f' },
        { "mode", required_argument, 0, 'm' },
        { "name", required_argument, 0, 'n' },
        { "agents", required_argument, 0, 'a' },
        { "units-per-agent", required_argument, 0, 'u' },
        { "reports", required_argument, 0, 'r' },
        { "window", required_argument, 0, 'w' },
        { "rate", required_argument, 0, 'R' },
        { "time-limit", required_argument, 0, 't' },
        { "hub-pid", required_argument, 0, 'p' },
        { "resend-min-ms", required_argument, 0, 'M' },
        { "io-threads", required_argument, 0, 'i' },
        { "seed", required_argument, 0, 's' },
        { "hub-endpoint", required_argument, 0, 'E' },
        { "reconnect-max-ms", required_argument, 0, 'X' },
        { 0, 0, 0, 0 }
    };
    opts_t o = { .window = 64,
                 .time_limit = 120,
                 .resend_min_ms = 2000,
                 .io_threads = 1,
                 .reconnect_max_ms = 30000 };
    if (argc < 2) {
        fprintf (stderr, "usage: gom_load prepare|run [OPTIONS] (see the "
                         "comment at the top of tests/bench/gom_load.c)\n");
        return 2;
    }
    const char *cmd = argv [1];
    int c;
    optind = 2;
    while ((c = getopt_long (argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
            case 'c': o.hub_config = optarg; break;
            case 'k': o.keys = optarg; break;
            case 'U': o.unit = optarg; break;
            case 'f': o.form = optarg; break;
            case 'm': o.mode = optarg; break;
            case 'n': o.name = optarg; break;
            case 'a': o.agents = atol (optarg); break;
            case 'u': o.units_per_agent = atol (optarg); break;
            case 'r': o.reports = atol (optarg); break;
            case 'w': o.window = atol (optarg); break;
            case 'R': o.rate = atof (optarg); break;
            case 't': o.time_limit = atof (optarg); break;
            case 'p': o.hub_pid = atol (optarg); break;
            case 'M': o.resend_min_ms = atol (optarg); break;
            case 'i': o.io_threads = atol (optarg); break;
            case 's': o.seed = strtoull (optarg, NULL, 10); break;
            case 'E': o.hub_endpoint = optarg; break;
            case 'X': o.reconnect_max_ms = atol (optarg); break;
            default: return 2;
        }
    }
    if (o.window < 1 || o.window > 100000 || o.io_threads < 1 ||
        o.resend_min_ms < 1) {
        fprintf (stderr, "gom_load: bad --window, --io-threads or "
                         "--resend-min-ms\n");
        return 2;
    }
    if (strcmp (cmd, "prepare") == 0)
        return s_prepare (&o);
    if (strcmp (cmd, "run") == 0)
        return s_run (&o);
    if (strcmp (cmd, "json") == 0)
        return s_json (&o, argc, argv, optind);
    fprintf (stderr, "gom_load: unknown command %s\n", cmd);
    return 2;
}
