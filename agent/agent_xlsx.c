/*  agent_xlsx: see agent_xlsx.h. The helper's answer to `read` is a packed
    gom.XlsxRead (proto/gom_local.proto) on its standard output; to
    `template`, its exit status, with the reason on its standard error. */
#include "agent_xlsx.h"
#include "gom_local.pb-c.h"
#include "gom_notify.h"
#include "gom_report.h"
#include "gom_signals.h"
#include "gom_util.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

//  The most the helper's answer may be: the largest report with its
//  places is a few MB.
#define OUT_MAX (64 * 1048576)

//  Reads what is ready on fd into buf, up to max bytes in all; false at
//  the end of the stream (or an error).
static bool
s_drain (int fd, gom_buf_t *buf, size_t max, bool *overflow)
{
    char chunk [65536];
    ssize_t n = read (fd, chunk, sizeof chunk);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN;
    if (n == 0)
        return false;
    if (buf->len + (size_t)n > max) {
        *overflow = true;
        n = (ssize_t)(max - buf->len);
    }
    gom_buf_add (buf, chunk, (size_t)n);
    return true;
}

//  How a run of the helper ended, beside its wait status.
typedef enum {
    RUN_EXITED,   //  it ended by itself: see the status
    RUN_FAILED,   //  it could not start, or the wait failed: err
    RUN_LATE,     //  killed: it took longer than AGENT_XLSX_TIMEOUT_MS
    RUN_TOO_BIG,  //  killed: its answer was over OUT_MAX
    RUN_STOPPING  //  killed: the agent is asked to stop
} run_end_t;

//  Runs the helper with argv (argv[0] its path): standard input from
//  /dev/null, no other descriptor of ours, the signals as a new program
//  has them (the daemon blocks SIGINT, SIGTERM and SIGHUP and ignores
//  SIGPIPE, and a child would inherit that). out gets its standard
//  output, errtext the start of its standard error, *status its wait
//  status. Meanwhile systemd's watchdog is pinged, and a stop signal for
//  the agent stops the helper.
static run_end_t
s_run (char *const argv [], gom_buf_t *out, gom_buf_t *errtext, int *status,
       char *err, size_t errlen)
{
    int opipe [2], epipe [2];
    if (pipe2 (opipe, O_CLOEXEC) != 0) {
        snprintf (err, errlen, "cannot make a pipe: %s", strerror (errno));
        return RUN_FAILED;
    }
    if (pipe2 (epipe, O_CLOEXEC) != 0) {
        snprintf (err, errlen, "cannot make a pipe: %s", strerror (errno));
        close (opipe [0]);
        close (opipe [1]);
        return RUN_FAILED;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init (&fa);
    posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2 (&fa, opipe [1], 1);
    posix_spawn_file_actions_adddup2 (&fa, epipe [1], 2);
    posix_spawn_file_actions_addclosefrom_np (&fa, 3);
    posix_spawnattr_t attr;
    posix_spawnattr_init (&attr);
    sigset_t none, defaults;
    sigemptyset (&none);
    sigemptyset (&defaults);
    sigaddset (&defaults, SIGINT);
    sigaddset (&defaults, SIGTERM);
    sigaddset (&defaults, SIGHUP);
    sigaddset (&defaults, SIGPIPE);
    posix_spawnattr_setsigmask (&attr, &none);
    posix_spawnattr_setsigdefault (&attr, &defaults);
    posix_spawnattr_setflags (&attr,
                              POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int rc = posix_spawn (&pid, argv [0], &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy (&fa);
    posix_spawnattr_destroy (&attr);
    close (opipe [1]);
    close (epipe [1]);
    if (rc != 0) {
        snprintf (err, errlen,
                  "cannot run the Excel helper %s: %s (gom-agent-xlsx is "
                  "part of gom-agent; install the package again)",
                  argv [0], strerror (rc));
        close (opipe [0]);
        close (epipe [0]);
        return RUN_FAILED;
    }
    //  Until it has closed both pipes and ended, or the deadline, or a stop.
    int64_t deadline = gom_mono_ms () + AGENT_XLSX_TIMEOUT_MS;
    run_end_t end = RUN_EXITED;
    bool out_open = true, err_open = true, overflow = false, ignored = false;
    while (true) {
        gom_notify_watchdog ();
        if (gom_signals_stop_pending ()) {
            end = RUN_STOPPING;
            break;
        }
        int64_t left = deadline - gom_mono_ms ();
        if (left <= 0) {
            end = RUN_LATE;
            break;
        }
        if (!out_open && !err_open) {
            //  Both pipes closed: it ends now, or it is made to.
            if (waitpid (pid, status, WNOHANG) == pid)
                break;
            poll (NULL, 0, 10);
            continue;
        }
        struct pollfd pfd [2] = { { out_open ? opipe [0] : -1, POLLIN, 0 },
                                  { err_open ? epipe [0] : -1, POLLIN, 0 } };
        if (poll (pfd, 2, (int)(left < 1000 ? left : 1000)) < 0 &&
            errno != EINTR) {
            snprintf (err, errlen, "cannot wait for the Excel helper: %s",
                      strerror (errno));
            end = RUN_FAILED;
            break;
        }
        if (out_open && pfd [0].revents)
            out_open = s_drain (opipe [0], out, OUT_MAX, &overflow);
        if (err_open && pfd [1].revents)
            err_open = s_drain (epipe [0], errtext, 2000, &ignored);
        if (overflow) {
            end = RUN_TOO_BIG;
            break;
        }
    }
    close (opipe [0]);
    close (epipe [0]);
    if (end != RUN_EXITED) {
        kill (pid, SIGKILL);
        while (waitpid (pid, status, 0) < 0 && errno == EINTR)
            ;
    }
    if (end == RUN_LATE)
        snprintf (err, errlen,
                  "the Excel helper %s took more than %d s and was stopped",
                  argv [0], AGENT_XLSX_TIMEOUT_MS / 1000);
    else if (end == RUN_TOO_BIG)
        snprintf (err, errlen,
                  "the Excel helper %s said more than %d MiB and was stopped",
                  argv [0], OUT_MAX / 1048576);
    else if (end == RUN_STOPPING)
        snprintf (err, errlen, "not read: gom-agent is stopping");
    return end;
}

//  Adds text at the end of err.
static void
s_append (char *err, size_t errlen, const char *text)
{
    size_t used = strlen (err);
    snprintf (err + used, errlen - used, "%s", text);
}

//  err for a helper that ended other than by answering: status as waitpid
//  gives it, errtext what it printed. True if a signal to stop it did
//  (systemd stopping the service: no fault of the workbook).
static bool
s_failed (const char *helper, int status, gom_buf_t *errtext, char *err,
          size_t errlen)
{
    const char *text = errtext->data ? errtext->data : "";
    int textlen = (int)strcspn (text, "\n");
    int sig = WIFSIGNALED (status) ? WTERMSIG (status) : 0;
    if (sig)
        snprintf (err, errlen,
                  "the Excel helper %s stopped with signal %d (%s)%s%.*s",
                  helper, sig, strsignal (sig), textlen ? ": " : "", textlen,
                  text);
    else
        snprintf (err, errlen, "the Excel helper %s failed (exit %d)%s%.*s",
                  helper, WEXITSTATUS (status), textlen ? ": " : "", textlen,
                  text);
    return sig == SIGTERM || sig == SIGINT || sig == SIGHUP;
}

Gom__Report *
agent_xlsx_read (const char *path, gom_xlsx_places_t **places_p, bool *later_p,
                 char *err, size_t errlen)
{
    if (places_p)
        *places_p = NULL;
    if (later_p)
        *later_p = false;
    char *helper = gom_helper_path ("GOM_AGENT_XLSX", "gom-agent-xlsx");
    char *argv [] = { helper, "read", (char *)path, NULL };
    gom_buf_t out = { 0 }, errtext = { 0 };
    int status = 0;
    run_end_t end = s_run (argv, &out, &errtext, &status, err, errlen);
    Gom__Report *report = NULL;
    Gom__XlsxRead *answer = NULL;
    //  Not the file's fault: the agent stopping, or no helper to be had
    //  (no process, no pipe, or not installed).
    bool later = end == RUN_STOPPING || end == RUN_FAILED;
    if (end == RUN_LATE || end == RUN_TOO_BIG)
        s_append (err, errlen,
                  " over this workbook: open it in Excel and save it again");
    if (end != RUN_EXITED)
        goto done;
    if (!WIFEXITED (status) || WEXITSTATUS (status) != 0) {
        later = s_failed (helper, status, &errtext, err, errlen);
        if (!later && WIFSIGNALED (status))
            s_append (err, errlen,
                      " over this workbook: it may be damaged; open it in "
                      "Excel and save it again");
        goto done;
    }
    answer = gom__xlsx_read__unpack (NULL, out.len, (uint8_t *)out.data);
    if (!answer || (!answer->report && !(answer->error && *answer->error))) {
        snprintf (err, errlen,
                  "the Excel helper %s gave an answer gom-agent cannot read "
                  "(are both from the same gom-agent package?)",
                  helper);
        goto done;
    }
    if (!answer->report) {
        snprintf (err, errlen, "%s", answer->error);
        goto done;
    }
    //  The report is the caller's now; it was unpacked with the default
    //  allocator, as gom_report_free expects.
    report = answer->report;
    answer->report = NULL;
    if (places_p) {
        gom_xlsx_places_t *places = gom_xlsx_places_new ();
        for (size_t i = 0; i < answer->n_places; i++)
            zhashx_update (gom_xlsx_places_map (places),
                           answer->places [i]->code,
                           strdup (answer->places [i]->address));
        *places_p = places;
    }
done:
    if (later_p)
        *later_p = later;
    if (answer)
        gom__xlsx_read__free_unpacked (answer, NULL);
    free (gom_buf_take (&out));
    free (gom_buf_take (&errtext));
    free (helper);
    return report;
}

int
agent_xlsx_template (const char *forms_dir, const char *form,
                     const char *period, const char *unit, uint32_t revision,
                     const char *path, char *err, size_t errlen)
{
    char *helper = gom_helper_path ("GOM_AGENT_XLSX", "gom-agent-xlsx");
    char rev [16];
    snprintf (rev, sizeof rev, "%u", revision);
    char *argv [] = { helper,       "template",     (char *)forms_dir,
                      (char *)form, (char *)period, (char *)unit,
                      rev,          (char *)path,   NULL };
    gom_buf_t out = { 0 }, errtext = { 0 };
    int status = 0;
    run_end_t end = s_run (argv, &out, &errtext, &status, err, errlen);
    int rc = -1;
    if (end != RUN_EXITED)
        ;  //  err says why
    else if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
        rc = 0;
    else if (WIFEXITED (status) && WEXITSTATUS (status) == 1 && errtext.len)
        //  The helper's own reason, as gom_xlsx_template gives it.
        snprintf (err, errlen, "%.*s", (int)strcspn (errtext.data, "\n"),
                  errtext.data);
    else
        s_failed (helper, status, &errtext, err, errlen);
    free (gom_buf_take (&out));
    free (gom_buf_take (&errtext));
    free (helper);
    return rc;
}
