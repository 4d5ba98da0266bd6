/*  hub_transfer: `gom-hub import FILE` (docs/transfer.md). Takes the
    reports an agent exported to a file, as the network would deliver them:
    the file's seal names the agent's key, which must be enrolled and not
    revoked; each report passes the same checks (size limits, the key's
    units, the form pack and unit tree) and is stored once whatever number
    of times it comes (the same idempotency as on the network). All in one
    transaction: on a fault nothing of the file is stored. Prints one line a
    report; with receipts, writes the answers (Ack and Nack envelopes) to a
    file sealed for the agent, for `gom-agent receipts`. */
#ifndef HUB_TRANSFER_H
#define HUB_TRANSFER_H

#include "gom_config.h"
#include <stdio.h>

//  0 when the file was taken (even if some reports were refused: each is
//  said); -1 with err when nothing of it was.
int hub_import (gom_config_t *cfg, const char *path, const char *receipts,
                FILE *out, char *err, size_t errlen);

#endif
