/*  agent_relay: a district hub that relays (docs/relay.md). An agent whose
    config names a hub database (`relay_from = "/var/lib/gom-hub/hub.db"`)
    takes every report that hub stores into its own outbox, with the same
    report_id, unit, form, period, revision, seal time and content, and
    sends it on to its own hub like any other report: acknowledgements hop
    by hop (the commune's agent has its receipt from the district hub; this
    agent gets the province's), and the same idempotency at every hop (the
    report_id and the natural key). Where it stopped is kept in the outbox
    with the district hub's database id, in the same transaction as the
    reports it took, so a crash loses nothing and a restored district
    database is read again from the start (taking a report twice is
    harmless: INSERT OR IGNORE on the report_id). */
#ifndef AGENT_RELAY_H
#define AGENT_RELAY_H

#include "agent_outbox.h"

//  Takes what the hub at hub_db stored since the last call (at most a few
//  hundred reports a call). Returns how many were queued, or -1 (logged).
int agent_relay_pump (agent_outbox_t *outbox, const char *hub_db);

#endif
