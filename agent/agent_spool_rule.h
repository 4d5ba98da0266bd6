/*  agent_spool_rule: which files in the spool folder wait to be taken.
    libc only, so that gom-agent-quiet (quiet_main.c) applies the same rule
    as the spool pass (agent_spool.c) and `gom-agent status`. */
#ifndef AGENT_SPOOL_RULE_H
#define AGENT_SPOOL_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  Hidden and partial files, editors' backups, and the owner files
//  ("~$name.xlsx") Excel keeps while a workbook is open: never taken.
bool agent_spool_skipped (const char *name);

//  The age in ms (against now, ms since 1970) of name in the folder open
//  as dirfd if it is a regular file, or -1.
int64_t agent_spool_age_ms (int dirfd, const char *name, int64_t now);

//  The files in folder a pass would read (not skipped, at least settle_ms
//  old): the count, with the oldest one's name in oldest and its age in
//  *oldest_age_ms (0 and "" if none); -1 if the folder cannot be read.
int agent_spool_waiting (const char *folder, int64_t settle_ms, char *oldest,
                         size_t oldestlen, int64_t *oldest_age_ms);

#endif
