/*  agent_xlsx: gom-agent's Excel work, done by its helper program
    gom-agent-xlsx (agent/xlsx_main.c), a process started for each workbook
    and gone when it is done. The daemon that waits on the line for days
    then holds neither libzip, libxml2 and ICU (the reader) nor
    libxlsxwriter and OpenSSL's libcrypto (the template): about 3.8 MB of
    its resident memory (docs/performance.md). And a workbook that makes
    the reader crash, hang or swell stops the helper, not the daemon: the
    file is refused with the reason and everything else goes on.

    The helper is gom-agent-xlsx beside the running gom-agent (both in
    /usr/bin from the package, both in build/agent/ from a build), or the
    program named by $GOM_AGENT_XLSX. */
#ifndef AGENT_XLSX_H
#define AGENT_XLSX_H

#include "gom.pb-c.h"
#include "gom_xlsx_places.h"

//  The longest the helper may take over one workbook before it is killed:
//  a report's workbook takes well under a second; less than the 30 s of
//  systemd's watchdog (deploy/systemd/gom-agent.service), which the wait
//  pings all the same.
#define AGENT_XLSX_TIMEOUT_MS 20000

//  Reads a filled workbook as gom_xlsx_read does (its error text when the
//  file is at fault), through the helper; NULL with err also when the
//  helper is missing, crashes or takes too long. *later_p (if given) is
//  set when it is no fault of the file and the file should be read again
//  later: the agent is stopping (SIGINT or SIGTERM waits, or the helper
//  was stopped by one), or the helper could not be started at all (not
//  installed, no process or pipe to be had). Free with gom_report_free.
Gom__Report *agent_xlsx_read (const char *path, gom_xlsx_places_t **places_p,
                              bool *later_p, char *err, size_t errlen);

//  Writes the template of form (a form of forms_dir) for (period, unit,
//  revision) to path, as gom_xlsx_template does; 0, or -1 with err.
int agent_xlsx_template (const char *forms_dir, const char *form,
                         const char *period, const char *unit,
                         uint32_t revision, const char *path, char *err,
                         size_t errlen);

#endif
