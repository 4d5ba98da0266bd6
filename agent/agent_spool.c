/*  agent_spool: see agent_spool.h. The report is in the outbox (durably)
    before its file moves; a crash between the two takes the file in again
    next time, which the outbox answers with "already queued". */
#include "agent_spool.h"
#include "agent_spool_rule.h"
#include "gom_notify.h"
#include "gom_signals.h"
#include "gom_util.h"

#include <czmq.h>
#include <dirent.h>

//  Moves path into folder, under a name that does not clobber another.
static char *
s_move (const char *path, const char *folder, const char *name)
{
    char *dest = gom_path_join (folder, name);
    for (int i = 1; access (dest, F_OK) == 0 && i < 1000; i++) {
        free (dest);
        char alt [4096];
        snprintf (alt, sizeof alt, "%s/%s.%d", folder, name, i);
        dest = strdup (alt);
    }
    if (rename (path, dest) != 0) {
        zsys_error ("spool: cannot move %s to %s: %s", path, dest,
                    strerror (errno));
        free (dest);
        return NULL;
    }
    return dest;
}

void
agent_spool_scan (agent_outbox_t *outbox, agent_options_t *opt, int *settling,
                  bool *more)
{
    *settling = 0;
    *more = false;
    DIR *dir = opendir (opt->spool_dir);
    if (!dir)
        return;
    char *done = gom_path_join (opt->spool_dir, "done");
    char *rejected = gom_path_join (opt->spool_dir, "rejected");
    gom_mkdir_p (done, 0750);
    gom_mkdir_p (rejected, 0750);
    int count = 0, moved = 0;
    struct dirent *e;
    int64_t now = gom_now_ms ();
    int64_t until = gom_mono_ms () + AGENT_SPOOL_PASS_MS;
    while ((e = readdir (dir))) {
        if (count >= 1000 || gom_mono_ms () >= until ||
            gom_signals_stop_pending ()) {
            //  Again at once only if this pass got files out of the way:
            //  files that cannot be moved (a folder gom may not write)
            //  would be read again and again.
            *more = moved > 0;
            break;
        }
        gom_notify_watchdog ();
        const char *name = e->d_name;
        if (agent_spool_skipped (name))
            continue;
        int64_t age = agent_spool_age_ms (dirfd (dir), name, now);
        if (age < 0)
            continue;
        if (age < opt->spool_settle_ms) {
            (*settling)++;
            continue;
        }
        char *path = gom_path_join (opt->spool_dir, name);
        char line [4096], warn [2048];
        outbox_take_t taken = agent_outbox_take_file (
            outbox, path, opt->units, opt->max_report_bytes, opt->forms_dir,
            false, line, sizeof line, warn, sizeof warn);
        if (taken == OUTBOX_LATER) {
            //  Left where it is, for the next pass.
            zsys_info ("spool: %s left for later: %s", name, line);
            free (path);
            break;
        }
        if (taken == OUTBOX_REFUSED) {
            zsys_warning ("spool: %s refused: %s", name, line);
            char *dest = s_move (path, rejected, name);
            if (dest) {
                moved++;
                char reason_path [4200];
                snprintf (reason_path, sizeof reason_path, "%s.reason.txt",
                          dest);
                char text [4400];
                snprintf (text, sizeof text, "%s: %s\n", name, line);
                gom_write_file (reason_path, text, strlen (text), 0644, false);
                free (dest);
            }
        }
        else {
            zsys_info ("spool: %s %s: %s", name,
                       taken == OUTBOX_QUEUED ? "queued" : "already queued",
                       line);
            //  What was read differently from the file (a warning per
            //  line, English then Vietnamese).
            for (char *w = warn; *w;) {
                size_t n = strcspn (w, "\n");
                zsys_warning ("spool: %s: warning: %.*s", name, (int)n, w);
                w += n + (w [n] == '\n');
            }
            char *dest = s_move (path, done, name);
            moved += dest != NULL;
            free (dest);
        }
        count++;
        free (path);
    }
    closedir (dir);
    free (done);
    free (rejected);
}
