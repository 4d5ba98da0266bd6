/*  gom_fault: deterministic crash points, for the crash tests
    (tests/integration/test_crash_points.py). A crash point is a named place
    in the code where a real crash would leave the system in a state worth
    proving: the hub's batch is on disk but its ACKs have not left, or the
    agent holds an ACK it has not recorded yet. Random kill -9 rarely lands
    there; these points land there every time.

    With the environment variable GOM_FAULT set to NAME, the first call of
    gom_fault_point (NAME) kills the process; with NAME:N, the Nth call
    does. The process dies by SIGKILL, as from kill -9: no atexit handlers,
    no sqlite close, no buffered output flushed. Without GOM_FAULT, or with
    another name, a call costs a string compare and does nothing. */
#ifndef GOM_FAULT_H
#define GOM_FAULT_H

#include <stdbool.h>

//  If GOM_FAULT names this point (and this is the Nth call of it), writes
//  one line to standard error and kills the process with SIGKILL; does not
//  return then. Otherwise returns at once. Not thread-safe: call each point
//  from one thread only.
void gom_fault_point (const char *name);

//  As gom_fault_point, without the kill: true for the Nth call of the point
//  GOM_FAULT names (the caller then misbehaves on purpose, e.g. drops an
//  answer), false otherwise. The same rules; one point per process.
bool gom_fault_hit (const char *name);

//  Writes "GOM_FAULT: crash point WHAT: SIGKILL" to standard error (with
//  write(2): nothing buffered dies with it) and kills the process with
//  SIGKILL. Does not return.
_Noreturn void gom_fault_die (const char *what);

/*  I/O faults, after SQLite's own method of testing: with GOM_FAULT_IO set
    to write:N or sync:N, the Nth write (or fsync) that sqlite makes once
    the process has called gom_fault_io_arm fails with an I/O error, once;
    the calls before and after it succeed. With tear:N, the Nth write to a
    WAL puts half its bytes in the file and the process kills itself with
    SIGKILL: a crash inside a transaction's write, every time
    (test_crash_points.py). The store fault loop
    (tests/integration/test_store_faults.py) runs N = 1, 2, 3 ... until a
    run ends without the fault firing. */

//  Registers, as sqlite's default, a VFS over the default one that counts
//  (and fails) as GOM_FAULT_IO says; does nothing without it. Call before
//  the first database is opened. 0, or -1 if the spec is not valid.
int gom_fault_io_install (void);

//  Starts counting (so that opening and setting up the databases is not
//  what fails).
void gom_fault_io_arm (void);

#endif
