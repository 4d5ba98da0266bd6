/*  agent_spool: the spool folder. A file dropped there is taken in like
    `gom-agent submit FILE`, then moved to done/ or, if refused, to
    rejected/ with FILE.reason.txt beside it saying why. Files whose names
    start with a dot, end in .tmp or .part, or changed in the last
    spool_settle_ms are left alone (still being written). */
#ifndef AGENT_SPOOL_H
#define AGENT_SPOOL_H

#include "agent_outbox.h"
#include "agent_sender.h"

//  One pass over the folder; returns how many files it took in or refused.
//  *settling gets how many it left because they changed too lately.
int agent_spool_scan (agent_outbox_t *outbox, agent_options_t *opt,
                      int *settling);

#endif
