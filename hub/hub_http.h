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
#include "hub_catalog.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

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

//  The ask channel (docs/dashboard.md): while the dashboard runs, the
//  commands `gom-hub totals|arrivals|texts` ask the hub rather than read
//  the province again. A ZeroMQ REP socket on ipc://DIR/hub.ask, DIR the
//  database's folder (NAME.ask for a database NAME.db), mode 0600:
//  whoever may ask may read hub.db anyway.
//  A request is 6 frames, what ("totals", "arrivals" or "texts"), form,
//  period, root, section (empty: none) and format ("json", "text", or for
//  totals "csv"); the answer is 2 frames, the status ("200", "400", "404",
//  "503") and the body: with 200, exactly what the command prints on
//  standard output; else the error, in the command's words.

//  The socket file's path for the database at db_path (DIR/hub.db:
//  DIR/hub.ask, DIR made absolute): NULL if DIR is not there or the path
//  is too long for a Unix socket (107 bytes).
char *hub_ask_path (const char *db_path);

//  Asks the hub that serves db_path. 0 with its *status: with 200 the
//  body written to out (straight from the message: a province's arrivals
//  are 3 MB), else the error in err. -1 if no hub answered within
//  timeout_ms: none running (no socket file, or one a killed hub left:
//  known at once, without waiting), or one too slow.
int hub_ask (const char *db_path, const char *what, const char *form,
             const char *period, const char *root, const char *section,
             const char *format, int timeout_ms, FILE *out, unsigned *status,
             char *err, size_t errlen);

//  Takes catalog (a form pack and unit tree loaded again, on SIGHUP) as
//  the dashboard's copy: the rollups and answers made with the old one
//  are dropped, and the old one destroyed.
void hub_http_catalog (hub_http_t *self, hub_catalog_t *catalog);

#endif
