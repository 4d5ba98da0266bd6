//  bench_floor: what a program holds in memory before it does any of gom's
//  work, for the agent's idle footprint (tests/bench/run, step 5).
//
//  Built three times (tests/CMakeLists.txt), each linking only what its
//  variant names:
//    bench_floor_libc     waits for a signal; links libc only
//    bench_floor_libzmq   one DEALER, CURVE, heartbeats, connected to the hub
//                         as gom-agent's is, and its monitor; links libzmq
//    bench_floor_czmq     the same socket made through czmq, as gom-agent
//                         makes it; links czmq (and so what Debian's czmq
//                         links)
//  Usage: bench_floor_libc
//         bench_floor_libzmq|czmq ENDPOINT HUB_KEY PUBLIC_KEY SECRET_KEY
//  The keys are Z85 text, as in the certificates. It prints "ready" once it
//  waits (the socket variants: once the CURVE handshake with the hub has
//  succeeded; "refused" and exit 1 if the hub refused it), sends nothing,
//  and runs until SIGTERM or SIGINT.

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#if defined(FLOOR_CZMQ)
#include <czmq.h>
#elif defined(FLOOR_LIBZMQ)
#include <zmq.h>
#endif

static volatile sig_atomic_t s_stop;

static void
s_on_signal (int sig)
{
    (void)sig;
    s_stop = 1;
}

#if defined(FLOOR_CZMQ) || defined(FLOOR_LIBZMQ)
//  Waits on the socket and its monitor (an inproc PAIR, as gom-agent
//  watches its own) until a stop signal: "ready" after the handshake. The
//  hub answers only a hello, so nothing comes on the socket; whatever did
//  would be read and dropped. 0, or 1 if the handshake failed.
static int
s_wait (void *ctx, void *sock)
{
    if (zmq_socket_monitor (sock, "inproc://floor-monitor",
                            ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                                ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) != 0)
        return 1;
    void *monitor = zmq_socket (ctx, ZMQ_PAIR);
    if (!monitor || zmq_connect (monitor, "inproc://floor-monitor") != 0)
        return 1;
    int rc = 0;
    while (!s_stop && rc == 0) {
        zmq_pollitem_t items [] = { { sock, 0, ZMQ_POLLIN, 0 },
                                    { monitor, 0, ZMQ_POLLIN, 0 } };
        if (zmq_poll (items, 2, -1) < 1)
            continue;
        zmq_msg_t msg;
        zmq_msg_init (&msg);
        //  An event is two frames: 2 bytes of event and 4 of value, then
        //  the endpoint.
        if ((items [1].revents & ZMQ_POLLIN) &&
            zmq_msg_recv (&msg, monitor, ZMQ_DONTWAIT) >= 6) {
            uint16_t event;
            memcpy (&event, zmq_msg_data (&msg), sizeof event);
            while (zmq_msg_more (&msg))
                zmq_msg_recv (&msg, monitor, ZMQ_DONTWAIT);
            rc = event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED ? 0 : 1;
            printf ("%s\n", rc == 0 ? "ready" : "refused");
            fflush (stdout);
        }
        if (items [0].revents & ZMQ_POLLIN)
            zmq_msg_recv (&msg, sock, ZMQ_DONTWAIT);
        zmq_msg_close (&msg);
    }
    zmq_socket_monitor (sock, NULL, 0);
    zmq_close (monitor);
    return rc;
}
#endif

#if defined(FLOOR_LIBZMQ)
//  Sets a Z85 key (its 40 characters and the terminating zero).
static int
s_key (void *sock, int option, const char *z85)
{
    return zmq_setsockopt (sock, option, z85, strlen (z85) + 1);
}
#endif

int
main (int argc, char **argv)
{
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction (SIGTERM, &sa, NULL);
    sigaction (SIGINT, &sa, NULL);
#if defined(FLOOR_CZMQ) || defined(FLOOR_LIBZMQ)
    if (argc != 5) {
        fprintf (stderr, "usage: %s ENDPOINT HUB_KEY PUBLIC_KEY SECRET_KEY\n",
                 argv [0]);
        return 2;
    }
    //  gom-agent's settings (agent/agent_sender.c): heartbeat every 5 s,
    //  given up after 15 s; nothing queued before the handshake.
#endif
#if defined(FLOOR_CZMQ)
    zsys_handler_set (NULL);
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    if (!dealer)
        return 1;
    zsock_set_curve_serverkey (dealer, argv [2]);
    zsock_set_curve_publickey (dealer, argv [3]);
    zsock_set_curve_secretkey (dealer, argv [4]);
    zsock_set_immediate (dealer, 1);
    zsock_set_linger (dealer, 0);
    zsock_set_heartbeat_ivl (dealer, 5000);
    zsock_set_heartbeat_timeout (dealer, 15000);
    if (zsock_connect (dealer, "%s", argv [1]) != 0) {
        fprintf (stderr, "%s: cannot connect to %s\n", argv [0], argv [1]);
        return 1;
    }
    int rc = s_wait (zsys_init (), zsock_resolve (dealer));
    zsock_destroy (&dealer);
    return rc;
#elif defined(FLOOR_LIBZMQ)
    void *ctx = zmq_ctx_new ();
    void *sock = ctx ? zmq_socket (ctx, ZMQ_DEALER) : NULL;
    int one = 1, zero = 0, ivl = 5000, timeout = 15000;
    if (!sock || s_key (sock, ZMQ_CURVE_SERVERKEY, argv [2]) != 0 ||
        s_key (sock, ZMQ_CURVE_PUBLICKEY, argv [3]) != 0 ||
        s_key (sock, ZMQ_CURVE_SECRETKEY, argv [4]) != 0 ||
        zmq_setsockopt (sock, ZMQ_IMMEDIATE, &one, sizeof one) != 0 ||
        zmq_setsockopt (sock, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt (sock, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl) != 0 ||
        zmq_setsockopt (sock, ZMQ_HEARTBEAT_TIMEOUT, &timeout,
                        sizeof timeout) != 0 ||
        zmq_connect (sock, argv [1]) != 0) {
        fprintf (stderr, "%s: %s\n", argv [0], zmq_strerror (zmq_errno ()));
        return 1;
    }
    int rc = s_wait (ctx, sock);
    zmq_close (sock);
    zmq_ctx_term (ctx);
    return rc;
#else
    (void)argc;
    (void)argv;
    printf ("ready\n");
    fflush (stdout);
    while (!s_stop)
        pause ();
    return 0;
#endif
}
