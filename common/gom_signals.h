/*  gom_signals: how both daemons take signals. SIGINT, SIGTERM and SIGHUP
    are blocked in every thread (libzmq's and czmq's threads, made later,
    inherit the mask) and read from a signalfd in the daemon's poll loop;
    czmq's own handler, which would replace ours, is switched off; SIGPIPE
    is ignored (PITFALLS.md 4). Call before the first czmq socket. */
#ifndef GOM_SIGNALS_H
#define GOM_SIGNALS_H

#include <stdbool.h>

//  Returns the signalfd to poll, or -1 (errno).
int gom_signals_open (void);

#define GOM_SIGNAL_STOP   1  //  SIGINT or SIGTERM came
#define GOM_SIGNAL_RELOAD 2  //  SIGHUP came

//  Reads what is waiting on fd: the GOM_SIGNAL_ bits of what came.
int gom_signals_read (int fd);

//  True if SIGINT or SIGTERM came and waits, unread, on the signalfd: for
//  work that runs long outside the poll loop (agent_xlsx) to stop early.
bool gom_signals_stop_pending (void);

#endif
