/*  agent_transfer: a commune with no link at all (docs/transfer.md).
    `gom-agent export` writes every report not yet acknowledged to one
    file sealed for the hub (for a USB stick); they stay queued here. `gom-
    agent receipts` takes the file the hub's `import --receipts` wrote back:
    sealed by the hub's key, for this agent's key; each Ack marks its report
    acknowledged with the hub's receipt, as the network would, and each
    permanent Nack sets it aside with the hub's reason. */
#ifndef AGENT_TRANSFER_H
#define AGENT_TRANSFER_H

#include "agent_sender.h"
#include <stdio.h>

//  0 (says what it wrote on out), or -1 with err.
int agent_export (agent_options_t *opt, const char *path, FILE *out, char *err,
                  size_t errlen);
int agent_receipts (agent_options_t *opt, const char *path, FILE *out,
                    char *err, size_t errlen);

#endif
