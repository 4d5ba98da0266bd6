/*  agent_outbox: the agent's queue, a sqlite file (outbox.db, WAL,
    synchronous=FULL). A report is written here, durably, before anyone is
    told it is queued (DESIGN.md rule 2), and stays until the hub has
    acknowledged it and the retention period has passed.

    States: queued (not yet sent on this run), sent (sent, not yet
    acknowledged), acked (hub has it; receipt recorded), rejected (hub or
    agent refused it permanently; waits for a person). Several processes
    use the file at once (`submit` while `run` sends); sqlite's locking and
    the busy timeout make that safe. */
#ifndef AGENT_OUTBOX_H
#define AGENT_OUTBOX_H

#include "gom.pb-c.h"
#include "gom_form.h"
#include "gom_xlsx_places.h"
#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct _agent_outbox_t agent_outbox_t;

//  Free space `submit` leaves on the outbox's disk: room for the sender to
//  go on recording the hub's answers (each rewrites a report's row, in the
//  WAL first; the WAL is checkpointed at about 4 MiB) when queued reports
//  are what filled the disk.
#define AGENT_OUTBOX_RESERVE (16 * 1024 * 1024)

typedef enum {
    OUTBOX_QUEUED,   //  new in the outbox
    OUTBOX_SAME,     //  already there with the same content
    OUTBOX_REFUSED,  //  not taken; see the message
    OUTBOX_LATER     //  not read now (the agent is stopping): try again
} outbox_take_t;

agent_outbox_t *agent_outbox_open (const char *path, bool create, char *err,
                                   size_t errlen);
void agent_outbox_destroy (agent_outbox_t **self_p);
sqlite3 *agent_outbox_db (agent_outbox_t *self);

//  Reads a report file, checks it (units: the agent's units; max_bytes:
//  the largest packed report; forms_dir: the forms cached from the hub, if
//  the report's form is there, every check of it) and queues it. line gets
//  the answer for a person: "<unit> <form> <period> r<rev> <report_id>"
//  and whether it was checked against a form, or the reasons it was not
//  taken, one per line. With revise, the report becomes the next revision
//  of its unit, form and period (unless its content is the latest's).
//  warn gets what the person must be told about a file that was taken all
//  the same ("" if nothing; one warning per line, English then
//  Vietnamese): a CSV read as Windows-1258 (gom_csv_read_noted), or a
//  unit that lost its leading zeros in a spreadsheet (412 for this
//  agent's 00412, when exactly one of its units is that number), which is
//  taken as that unit.
//  A report file as submit, the spool folder and check read it: ".csv" and
//  ".xlsx" are filled-in templates, anything else is JSON. *xlsx_p (if
//  given) gets which; *places_p gets a workbook's cells' addresses (NULL
//  for other files); warn as gom_csv_read_noted. NULL with err; *later_p
//  (if given) set if no fault of the file's (agent_xlsx_read).
typedef enum { AGENT_FILE_JSON, AGENT_FILE_CSV, AGENT_FILE_XLSX } agent_file_t;
Gom__Report *agent_read_report (const char *path, agent_file_t *kind_p,
                                gom_xlsx_places_t **places_p, bool *later_p,
                                char *warn, size_t warnlen, char *err,
                                size_t errlen);

//  The form's problems with report (gom_form_check_report), each about a
//  workbook's cell prefixed with its address when places is given; NULL
//  if it passes.
char *agent_check_report (gom_form_t *form, const Gom__Report *report,
                          gom_xlsx_places_t *places, size_t *count);

outbox_take_t agent_outbox_take_file (agent_outbox_t *self, const char *path,
                                      char **units, int64_t max_bytes,
                                      const char *forms_dir, bool revise,
                                      char *line, size_t linelen, char *warn,
                                      size_t warnlen);

//  Listings for `status` and `list`. New references.
json_t *agent_outbox_status_json (agent_outbox_t *self);
json_t *agent_outbox_list_json (agent_outbox_t *self);

#endif
