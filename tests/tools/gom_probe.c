/*  gom-probe: test tool. Connects to a hub as an enrolled agent (its
    agent.cfg and keys) and sends one hand-made message, to see what the hub
    does with input a real agent never sends. Prints the hub's answer as one
    line and exits 0 if there was one, 3 if none came within the wait.

      gom-probe --config DIR/agent.cfg --mode MODE [--size N] [--wait-ms N]

    MODE: hello (a valid hello), garbage (N random bytes), empty (a zero-length
    frame), multi (two frames), version (an envelope of version 9), big (N
    bytes, meant to exceed the hub's maximum), truncated (a valid report cut
    short), badreport (a report whose unit code is not valid), ack (a message
    type agents do not send). */
#include "agent_sender.h"
#include "gom_config.h"
#include "gom_keys.h"
#include "gom_util.h"
#include "gom_wire.h"

#include <czmq.h>
#include <getopt.h>

static uint8_t *
s_report (const char *unit, size_t *len)
{
    Gom__Report r = GOM__REPORT__INIT;
    uint8_t id [GOM_ID_BYTES];
    gom_random (id, sizeof id);
    r.report_id.data = id;
    r.report_id.len = sizeof id;
    r.unit = (char *)unit;
    r.form = "F1";
    r.period = "2026-H1";
    r.revision = 1;
    Gom__Envelope env = GOM__ENVELOPE__INIT;
    env.body_case = GOM__ENVELOPE__BODY_REPORT;
    env.report = &r;
    return gom_wire_encode (&env, len);
}

int
main (int argc, char **argv)
{
    static struct option opts [] = { { "config", required_argument, 0, 'c' },
                                     { "mode", required_argument, 0, 'm' },
                                     { "size", required_argument, 0, 's' },
                                     { "wait-ms", required_argument, 0, 'w' },
                                     { 0, 0, 0, 0 } };
    const char *config = NULL, *mode = NULL;
    long size = 100, wait_ms = 5000;
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
        buf = s_report (opt.units [0], &len);
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
        buf = s_report (opt.units [0], &len);
        len = len / 2;
    }
    else if (streq (mode, "badreport"))
        buf = s_report ("not a unit", &len);
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
