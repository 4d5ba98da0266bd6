/*  gom-probe: test tool. Connects to a hub as an enrolled agent (its
    agent.cfg and keys) and sends one hand-made message, to see what the hub
    does with input a real agent never sends. Prints the hub's answer as one
    line and exits 0 if there was one, 3 if none came within the wait.

      gom-probe --config DIR/agent.cfg --mode MODE [--size N] [--wait-ms N]
                [--report FILE.json]

    MODE: hello (a valid hello), garbage (N random bytes), empty (a zero-length
    frame), multi (two frames), version (an envelope of version 9), big (N
    bytes, meant to exceed the hub's maximum), truncated (a valid report cut
    short), badreport (a report whose unit code is not valid), ack (a message
    type agents do not send), report (the JSON report file given by
    --report, read as gom-agent submit reads it but sent as it is, with a new
    report_id and the current time as sealed time: none of the agent's
    checks against the form).

    Reports with hostile content (unit U from the agent's config, form F1,
    period 2026-H1, revision --revision, default 1): badutf8 (a text that is
    not UTF-8), badcode (a unit code with bytes that are not UTF-8),
    badhello (a hello whose agent_version is not UTF-8), overflow (a cell
    of 10^12 + 1), unknown (a valid report with fields
    this protocol version does not define, in the report and the envelope),
    cells (a report of --size cells), text (a report of --size bytes of
    text). */
#include "agent_sender.h"
#include "gom_config.h"
#include "gom_keys.h"
#include "gom_report.h"
#include "gom_util.h"
#include "gom_wire.h"

#include <czmq.h>
#include <getopt.h>

//  A report built by hand, not checked: n_cells cells (value `value` for
//  the first), one text when text is given.
static uint8_t *
s_report_with (const char *unit, uint32_t revision, size_t n_cells,
               int64_t value, const char *text, size_t *len)
{
    Gom__Report r = GOM__REPORT__INIT;
    uint8_t id [GOM_ID_BYTES];
    gom_random (id, sizeof id);
    r.report_id.data = id;
    r.report_id.len = sizeof id;
    r.unit = (char *)unit;
    r.form = "F1";
    r.period = "2026-H1";
    r.revision = revision;
    r.sealed_at_ms = gom_now_ms ();
    Gom__Cell *cells = calloc (n_cells + 1, sizeof (Gom__Cell));
    Gom__Cell **cellv = calloc (n_cells + 1, sizeof (Gom__Cell *));
    char (*codes) [24] = calloc (n_cells + 1, 24);
    for (size_t i = 0; i < n_cells; i++) {
        gom__cell__init (&cells [i]);
        snprintf (codes [i], 24, "C%07zu", i);
        cells [i].code = codes [i];
        cells [i].value = i == 0 ? value : (int64_t)i;
        cellv [i] = &cells [i];
    }
    r.n_cells = n_cells;
    r.cells = cellv;
    Gom__Text t = GOM__TEXT__INIT;
    Gom__Text *textv [1] = { &t };
    if (text) {
        t.code = "T01";
        t.text = (char *)text;
        r.n_texts = 1;
        r.texts = textv;
    }
    Gom__Envelope env = GOM__ENVELOPE__INIT;
    env.body_case = GOM__ENVELOPE__BODY_REPORT;
    env.report = &r;
    uint8_t *buf = gom_wire_encode (&env, len);
    free (cells);
    free (cellv);
    free (codes);
    return buf;
}

int
main (int argc, char **argv)
{
    static struct option opts [] = { { "config", required_argument, 0, 'c' },
                                     { "mode", required_argument, 0, 'm' },
                                     { "size", required_argument, 0, 's' },
                                     { "wait-ms", required_argument, 0, 'w' },
                                     { "report", required_argument, 0, 'r' },
                                     { "revision", required_argument, 0, 'v' },
                                     { 0, 0, 0, 0 } };
    const char *config = NULL, *mode = NULL, *report_path = NULL;
    long size = 100, wait_ms = 5000, revision = 1;
    int c;
    while ((c = getopt_long (argc, argv, "", opts, NULL)) != -1) {
        if (c == 'c')
            config = optarg;
        else if (c == 'm')
            mode = optarg;
        else if (c == 's')
            size = atol (optarg);
        else if (c == 'w')
            wait_ms = atol (optarg);
        else if (c == 'r')
            report_path = optarg;
        else if (c == 'v')
            revision = atol (optarg);
        else
            return 2;
    }
    if (!config || !mode || size < 0) {
        fprintf (stderr, "usage: gom-probe --config CFG --mode MODE\n");
        return 2;
    }
    char err [512];
    gom_config_t *cfg = gom_config_load (config, "agent", err, sizeof err);
    agent_options_t opt;
    if (!cfg || agent_options_load (cfg, &opt, err, sizeof err) != 0) {
        fprintf (stderr, "gom-probe: %s\n", err);
        return 2;
    }
    zcert_t *cert = gom_keys_load (opt.cert_path, err, sizeof err);
    if (!cert) {
        fprintf (stderr, "gom-probe: %s\n", err);
        return 2;
    }
    zsys_handler_set (NULL);
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    zcert_apply (cert, dealer);
    zsock_set_curve_serverkey (dealer, opt.hub_key);
    zsock_set_immediate (dealer, 1);
    zsock_set_linger (dealer, 2000);
    zsock_connect (dealer, "%s", opt.hub);

    zmsg_t *msg = zmsg_new ();
    uint8_t *buf = NULL;
    size_t len = 0;
    if (streq (mode, "hello")) {
        Gom__Hello h = GOM__HELLO__INIT;
        h.agent_version = "probe";
        Gom__Envelope env = GOM__ENVELOPE__INIT;
        env.body_case = GOM__ENVELOPE__BODY_HELLO;
        env.hello = &h;
        buf = gom_wire_encode (&env, &len);
    }
    else if (streq (mode, "garbage") || streq (mode, "big")) {
        len = (size_t)size;
        buf = malloc (len + 1);
        gom_random (buf, len);
    }
    else if (streq (mode, "empty"))
        buf = malloc (1);
    else if (streq (mode, "multi")) {
        buf = s_report_with (opt.units [0], 1, 0, 0, NULL, &len);
        zmsg_addmem (msg, buf, len);
    }
    else if (streq (mode, "version")) {
        Gom__Hello h = GOM__HELLO__INIT;
        Gom__Envelope env = GOM__ENVELOPE__INIT;
        env.body_case = GOM__ENVELOPE__BODY_HELLO;
        env.hello = &h;
        buf = gom_wire_encode (&env, &len);
        buf [1] = 9;  //  the version varint follows tag 0x08
    }
    else if (streq (mode, "truncated")) {
        buf = s_report_with (opt.units [0], 1, 0, 0, NULL, &len);
        len = len / 2;
    }
    else if (streq (mode, "badreport"))
        buf = s_report_with ("not a unit", 1, 0, 0, NULL, &len);
    else if (streq (mode, "report")) {
        if (!report_path) {
            fprintf (stderr, "gom-probe: --mode report needs --report FILE\n");
            return 2;
        }
        Gom__Report *r = gom_report_from_json (report_path, err, sizeof err);
        if (!r) {
            fprintf (stderr, "gom-probe: %s: %s\n", report_path, err);
            return 2;
        }
        uint8_t id [GOM_ID_BYTES];
        gom_random (id, sizeof id);
        r->report_id.data = id;
        r->report_id.len = sizeof id;
        r->sealed_at_ms = gom_now_ms ();
        Gom__Envelope env = GOM__ENVELOPE__INIT;
        env.body_case = GOM__ENVELOPE__BODY_REPORT;
        env.report = r;
        buf = gom_wire_encode (&env, &len);
        r->report_id.data = NULL;
        r->report_id.len = 0;
        gom_report_free (&r);
    }
    else if (streq (mode, "badhello")) {
        Gom__Hello h = GOM__HELLO__INIT;
        h.agent_version = "probe \xff\xfe";
        Gom__Envelope env = GOM__ENVELOPE__INIT;
        env.body_case = GOM__ENVELOPE__BODY_HELLO;
        env.hello = &h;
        buf = gom_wire_encode (&env, &len);
    }
    else if (streq (mode, "badutf8"))
        buf = s_report_with (opt.units [0], (uint32_t)revision, 1, 1,
                             "caf\xc3 \xff\xfe", &len);
    else if (streq (mode, "badcode"))
        buf = s_report_with ("U\xc3\x28\xff", (uint32_t)revision, 1, 1, NULL,
                             &len);
    else if (streq (mode, "overflow"))
        buf = s_report_with (opt.units [0], (uint32_t)revision, 1,
                             1000000000001LL, NULL, &len);
    else if (streq (mode, "cells"))
        buf = s_report_with (opt.units [0], (uint32_t)revision, (size_t)size, 1,
                             NULL, &len);
    else if (streq (mode, "text")) {
        char *text = malloc ((size_t)size + 1);
        memset (text, 'a', (size_t)size);
        text [size] = 0;
        buf =
            s_report_with (opt.units [0], (uint32_t)revision, 1, 1, text, &len);
        free (text);
    }
    else if (streq (mode, "unknown")) {
        //  Field 99 (varint 1) inside the report, field 50 (bytes "x")
        //  after it in the envelope: a newer peer's additions.
        Gom__Report r = GOM__REPORT__INIT;
        uint8_t id [GOM_ID_BYTES];
        gom_random (id, sizeof id);
        r.report_id.data = id;
        r.report_id.len = sizeof id;
        r.unit = opt.units [0];
        r.form = "F1";
        r.period = "2026-H1";
        r.revision = (uint32_t)revision;
        r.sealed_at_ms = gom_now_ms ();
        size_t rlen = gom__report__get_packed_size (&r);
        uint8_t *rbuf = malloc (rlen + 3);
        gom__report__pack (&r, rbuf);
        memcpy (rbuf + rlen, "\x98\x06\x01", 3);
        uint8_t *wrapped = gom_wire_wrap_report (rbuf, rlen + 3, &len);
        free (rbuf);
        buf = malloc (len + 4);
        memcpy (buf, wrapped, len);
        memcpy (buf + len, "\x92\x03\x01x", 4);
        len += 4;
        free (wrapped);
    }
    else if (streq (mode, "ack")) {
        Gom__Ack a = GOM__ACK__INIT;
        Gom__Envelope env = GOM__ENVELOPE__INIT;
        env.body_case = GOM__ENVELOPE__BODY_ACK;
        env.ack = &a;
        buf = gom_wire_encode (&env, &len);
    }
    else {
        fprintf (stderr, "gom-probe: unknown mode %s\n", mode);
        return 2;
    }
    zmsg_addmem (msg, buf, len);
    free (buf);

    //  Send when the handshake is done (IMMEDIATE: no pipe before).
    int64_t deadline = gom_mono_ms () + wait_ms;
    zsock_set_sndtimeo (dealer, 100);
    while (zmsg_send (&msg, dealer) != 0 && gom_mono_ms () < deadline)
        ;
    int rc = 3;
    if (msg) {
        zmsg_destroy (&msg);
        printf ("reply: none (not connected)\n");
    }
    else {
        zsock_set_rcvtimeo (dealer, (int)(deadline - gom_mono_ms ()));
        zmsg_t *reply = zmsg_recv (dealer);
        if (!reply)
            printf ("reply: none\n");
        else {
            zframe_t *f = zmsg_first (reply);
            gom_wire_msg_t *w =
                gom_wire_decode (zframe_data (f), zframe_size (f), 1 << 20);
            Gom__Envelope *env = gom_wire_env (w);
            if (!env)
                printf ("reply: undecodable\n");
            else if (env->body_case == GOM__ENVELOPE__BODY_NACK)
                printf ("reply: nack %s %s: %s\n",
                        env->nack->kind == GOM__NACK__KIND__PERMANENT
                            ? "permanent"
                            : "transient",
                        env->nack->code, env->nack->reason);
            else if (env->body_case == GOM__ENVELOPE__BODY_WELCOME)
                printf ("reply: welcome %s\n", env->welcome->hub_db_id);
            else if (env->body_case == GOM__ENVELOPE__BODY_ACK)
                printf ("reply: ack %" PRIu64 "\n", env->ack->receipt);
            else
                printf ("reply: other %d\n", (int)env->body_case);
            gom_wire_msg_destroy (&w);
            zmsg_destroy (&reply);
            rc = 0;
        }
    }
    zsock_destroy (&dealer);
    zcert_destroy (&cert);
    agent_options_free (&opt);
    gom_config_destroy (&cfg);
    return rc;
}
