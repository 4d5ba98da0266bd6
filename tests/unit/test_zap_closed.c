/*  ZAP must fail closed (PITFALLS.md 3). On this machine's libzmq, a CURVE
    ROUTER set up as gom-hub sets it up (ZAP domain "gom" and raw option 93,
    ZAP_ENFORCE_DOMAIN) must refuse a client when no ZAP handler is bound.
    The control case, the same ROUTER without option 93, lets the client in:
    it shows the test can tell the two apart. Plain libzmq, one context per
    case, so that no other ZAP handler is in reach. */
#include "check.h"

#include <string.h>
#include <zmq.h>

#define ZAP_ENFORCE_DOMAIN 93

//  Returns 1 if the ROUTER received the client's message within 1.5 s.
static int
s_client_gets_in (int enforce)
{
    char server_pub [41], server_sec [41], client_pub [41], client_sec [41];
    if (zmq_curve_keypair (server_pub, server_sec) != 0 ||
        zmq_curve_keypair (client_pub, client_sec) != 0)
        return -1;
    void *ctx = zmq_ctx_new ();
    void *router = zmq_socket (ctx, ZMQ_ROUTER);
    int one = 1, linger = 0, timeout = 1500;
    zmq_setsockopt (router, ZMQ_CURVE_SERVER, &one, sizeof one);
    zmq_setsockopt (router, ZMQ_CURVE_SECRETKEY, server_sec, 40);
    zmq_setsockopt (router, ZMQ_ZAP_DOMAIN, "gom", 3);
    if (enforce &&
        zmq_setsockopt (router, ZAP_ENFORCE_DOMAIN, &one, sizeof one) != 0)
        return -1;
    zmq_setsockopt (router, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt (router, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    if (zmq_bind (router, "tcp://127.0.0.1:*") != 0)
        return -1;
    char endpoint [64];
    size_t size = sizeof endpoint;
    zmq_getsockopt (router, ZMQ_LAST_ENDPOINT, endpoint, &size);

    void *dealer = zmq_socket (ctx, ZMQ_DEALER);
    zmq_setsockopt (dealer, ZMQ_CURVE_SERVERKEY, server_pub, 40);
    zmq_setsockopt (dealer, ZMQ_CURVE_PUBLICKEY, client_pub, 40);
    zmq_setsockopt (dealer, ZMQ_CURVE_SECRETKEY, client_sec, 40);
    zmq_setsockopt (dealer, ZMQ_LINGER, &linger, sizeof linger);
    zmq_connect (dealer, endpoint);
    zmq_send (dealer, "hello", 5, ZMQ_DONTWAIT);

    char buf [64];
    int got = 0;
    if (zmq_recv (router, buf, sizeof buf, 0) >= 0)  //  routing id
        got = zmq_recv (router, buf, sizeof buf, 0) == 5;
    zmq_close (dealer);
    zmq_close (router);
    zmq_ctx_term (ctx);
    return got;
}

int
main (void)
{
    CHECK (s_client_gets_in (1) == 0);  //  gom's setting: refused
    CHECK (s_client_gets_in (0) == 1);  //  control: libzmq's default admits
    CHECK_DONE ();
}
