/*  gom_notify: telling systemd how a daemon is doing (sd_notify, from
    libsystemd). Both daemons call three functions from their main loop and
    nothing else: ready once they serve, a watchdog ping every turn of the
    loop, stopping when they begin to shut down. Outside systemd (no
    NOTIFY_SOCKET) every call does nothing.

    The watchdog ping is sent only when systemd asked for one (WatchdogSec
    in the unit: WATCHDOG_USEC, and WATCHDOG_PID if set naming this
    process), and at most once every WatchdogSec/4, so a loop that turns a
    thousand times a second does not send a thousand datagrams. A loop that
    hangs stops pinging, and systemd restarts the service. */
#ifndef GOM_NOTIFY_H
#define GOM_NOTIFY_H

//  READY=1, and reads whether a watchdog is wanted. Call once, when the
//  daemon does its job (hub: listening; agent: outbox open).
void gom_notify_ready (void);

//  WATCHDOG=1 if a watchdog is wanted and WatchdogSec/4 has passed since
//  the last one. Call every turn of the main loop.
void gom_notify_watchdog (void);

//  STOPPING=1. Call when the daemon begins to shut down.
void gom_notify_stopping (void);

#endif
