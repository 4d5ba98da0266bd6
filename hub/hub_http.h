/*  hub_http: the operator dashboard and its JSON API (docs/dashboard.md),
    served by libmicrohttpd from its own threads inside `gom-hub run`.

    The HTTP side never writes reports: it reads hub.db through its own
    sqlite connections (WAL lets them read while the hub writes), and has
    its own copy of the form pack and unit tree (czmq's hash tables are not
    safe for two threads, even for lookups). The hub's loop tells it what
    happened (hub_http_arrival and the others below), which feeds the live
    events, the metrics and the cache of answers. Every function here is
    safe to call from the hub's thread while HTTP threads run. */
#ifndef HUB_HTTP_H
#define HUB_HTTP_H

#include "gom.pb-c.h"
#include "gom_config.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct _hub_http_t hub_http_t;

//  Starts serving as cfg says (http_address, http_port; port 0: off, and
//  returns NULL with err empty). NULL with err on a fault.
hub_http_t *hub_http_start (gom_config_t *cfg, const char *db_path,
                            const char *keys_path, char *err, size_t errlen);
//  Ends every connection (live event streams included) and stops.
void hub_http_stop (hub_http_t **self_p);

//  The hub's loop reports, after each COMMIT (self may be NULL):
//  a report stored for the first time;
void hub_http_arrival (hub_http_t *self, const Gom__Report *report,
                       uint64_t receipt, int64_t received_ms);
//  a duplicate acknowledged again;
void hub_http_duplicate (hub_http_t *self);
//  a NACK sent (report NULL when the message could not be read);
void hub_http_nack (hub_http_t *self, const char *key,
                    const Gom__Report *report, bool permanent, const char *code,
                    const char *reason);
//  a hello stored;
void hub_http_hello (hub_http_t *self, const char *key);
//  a batch committed, and how long it took, begin to COMMIT.
void hub_http_commit (hub_http_t *self, int64_t micros);
//  The number of agents' connections whose handshake succeeded, now.
void hub_http_connections (hub_http_t *self, int64_t connected);

#endif
