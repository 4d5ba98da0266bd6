/*  agent_sender: `gom-agent run`. Keeps one CURVE DEALER connection to the
    hub and moves reports from the outbox to the hub: a window of reports in
    flight, each resent after an adaptive timeout with exponential backoff
    and jitter, the whole window resent when a connection comes back, and
    every acknowledgement recorded in the outbox (DESIGN.md rules 5, 6, 8,
    11). Also takes in the spool folder. */
#ifndef AGENT_SENDER_H
#define AGENT_SENDER_H

#include "gom_config.h"
#include <stdint.h>

typedef struct {
    const char *hub;      //  hub endpoint, tcp://HOST:PORT
    const char *hub_key;  //  hub public key, Z85
    char **units;         //  units this agent reports for
    char *outbox_path;
    char *cert_path;
    char *spool_dir;
    char *forms_dir;        //  forms cached from the hub
    char *relay_from;       //  a hub database to relay (NULL: none)
    int64_t window;         //  most reports in flight
    int64_t resend_min_ms;  //  floor of the resend timeout
    int64_t resend_max_ms;  //  ceiling of the resend timeout
    int64_t reconnect_ivl_ms;
    int64_t reconnect_ivl_max_ms;
    int64_t heartbeat_ivl_ms;
    int64_t heartbeat_timeout_ms;
    int64_t tcp_maxrt_ms;  //  TCP_USER_TIMEOUT: unacked data this long
    int64_t hello_ivl_ms;  //  status hello while connected
    int64_t spool_scan_ms;
    int64_t spool_settle_ms;  //  a spool file must be this old
    int64_t max_report_bytes;
    int64_t retention_days;
} agent_options_t;

//  Reads options from the config; 0, or -1 with err filled.
int agent_options_load (gom_config_t *cfg, agent_options_t *opt, char *err,
                        size_t errlen);
void agent_options_free (agent_options_t *opt);

//  Runs until SIGTERM or SIGINT; returns the exit status.
int agent_sender_run (agent_options_t *opt);

#endif
