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
    //  Quiet (docs/cli.md): after this long with nothing to send, hang up
    //  and become gom-agent-quiet until a report comes or the check-in
    //  (check_in_ms) is due; 0: stay connected (the default).
    int64_t quiet_after_ms;
    int64_t check_in_ms;
    char *quiet_path;  //  gom-agent-quiet (set by the program; NULL: none)
} agent_options_t;

//  What `run` hands to gom-agent-quiet when it hangs up: an inotify
//  descriptor, open across exec, that already watches the spool folder
//  (spool_wd) and the outbox's folder (outbox_wd; only a write to the WAL,
//  wal, wakes).
typedef struct {
    int fd, spool_wd, outbox_wd;
    char wal [256];
} agent_quiet_t;

//  agent_sender_run's status when it hung up to go quiet.
#define AGENT_RUN_QUIET 3

//  Reads options from the config; 0, or -1 with err filled.
int agent_options_load (gom_config_t *cfg, agent_options_t *opt, char *err,
                        size_t errlen);
void agent_options_free (agent_options_t *opt);

//  Runs until SIGTERM or SIGINT; returns the exit status. Or, with
//  opt->quiet_after_ms and nothing to send, AGENT_RUN_QUIET with quiet
//  filled: the caller then execs opt->quiet_path.
int agent_sender_run (agent_options_t *opt, agent_quiet_t *quiet);

#endif
