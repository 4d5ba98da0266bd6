/*  agent_spool_rule: the names in the spool folder that are never taken.
    Header only, so that gom-agent-quiet (libc only) applies the same rule
    as the spool pass (agent_spool.c). */
#ifndef AGENT_SPOOL_RULE_H
#define AGENT_SPOOL_RULE_H

#include <stdbool.h>
#include <string.h>

static inline bool
agent_spool_ends_with (const char *s, const char *suffix)
{
    size_t a = strlen (s), b = strlen (suffix);
    return a >= b && strcmp (s + a - b, suffix) == 0;
}

//  Hidden and partial files, editors' backups, and the owner files
//  ("~$name.xlsx") Excel keeps while a workbook is open: never taken.
static inline bool
agent_spool_skipped (const char *name)
{
    return name [0] == '.' || !strncmp (name, "~$", 2) ||
           agent_spool_ends_with (name, ".tmp") ||
           agent_spool_ends_with (name, ".part") ||
           agent_spool_ends_with (name, "~");
}

#endif
