/*  hub_server: `gom-hub run`. One thread, one loop over three things: the
    ZAP socket (our own authenticator), the ROUTER where agents' messages
    arrive, and a signalfd. Messages that arrive together are stored in one
    transaction and acknowledged after its COMMIT. */
#ifndef HUB_SERVER_H
#define HUB_SERVER_H

#include "gom_config.h"

//  Serves until SIGTERM or SIGINT. Returns the process exit status.
int hub_server_run (gom_config_t *cfg);

#endif
