/*  agent_spool: the spool folder. A file dropped there is taken in like
    `gom-agent submit FILE`, then moved to done/ or, if refused, to
    rejected/ with FILE.reason.txt beside it saying why. Files whose names
    start with a dot, end in .tmp or .part, or changed in the last
    spool_settle_ms are left alone (still being written). */
#ifndef AGENT_SPOOL_H
#define AGENT_SPOOL_H

#include "agent_outbox.h"
#include "agent_sender.h"

//  The longest one pass reads files before it leaves the rest for the
//  next (the daemon's loop waits for it).
#define AGENT_SPOOL_PASS_MS 5000

//  One pass over the folder, taking in or refusing up to 1,000 files.
//  *settling gets how many it left because they changed too lately; *more
//  is set if it stopped before the end (1,000 files, AGENT_SPOOL_PASS_MS,
//  or the agent stopping) having moved files out of the folder, so that
//  the next pass comes at once. A file
//  that cannot be read now (OUTBOX_LATER) ends the pass, and stays.
void agent_spool_scan (agent_outbox_t *outbox, agent_options_t *opt,
                       int *settling, bool *more);

#endif
