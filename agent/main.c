/*  gom-agent: the office-PC agent. A thin dispatcher over subcommands; the
    queue is agent_outbox, the sending is agent_sender. */
#include "agent_outbox.h"
#include "agent_sender.h"
#include "agent_spool_rule.h"
#include "agent_transfer.h"
#include "agent_xlsx.h"
#include "gom_config.h"
#include "gom_csv.h"
#include "gom_form.h"
#include "gom_report.h"
#include "gom_keys.h"
#include "gom_util.h"

#include <czmq.h>
#include <getopt.h>
#include <sys/stat.h>
#include <jansson.h>
#include <strings.h>

static const char *s_usage =
    "usage: gom-agent COMMAND [OPTIONS]\n"
    "  init    --dir DIR --hub tcp://HOST:PORT --hub-key Z85 --unit "
    "CODE[,CODE...]\n"
    "  run     --config DIR/agent.cfg\n"
    "  submit  --config DIR/agent.cfg [--revise] FILE...\n"
    "  status  --config DIR/agent.cfg [--json]\n"
    "  list    --config DIR/agent.cfg [--json]\n"
    "  check   --form FORM.json FILE...  (check reports offline: JSON,\n"
    "          .csv or .xlsx)\n"
    "  template --config DIR/agent.cfg --form F --period P [--unit U]\n"
    "           [--revision N] [--out FILE.csv | --xlsx FILE.xlsx]\n"
    "  export  --config DIR/agent.cfg --out FILE  (unsent reports, for a USB "
    "stick)\n"
    "  receipts --config DIR/agent.cfg FILE  (the hub's answers to an "
    "export)\n"
    "  version\n"
    "See docs/cli.md.\n";

typedef struct {
    const char *dir, *config, *hub, *hub_key, *units, *form;
    const char *period, *out, *revision, *xlsx;
    bool json;
    bool revise;     //  submit: make it the next revision
    int first_file;  //  index in argv of the first FILE
} args_t;

//  "gom-agent: " and the message on standard error; returns 1 (exit status).
#define s_fail(...) gom_fail ("gom-agent", __VA_ARGS__)

static int
s_parse (int argc, char **argv, args_t *a, bool files)
{
    static struct option opts [] = { { "dir", required_argument, 0, 'd' },
                                     { "config", required_argument, 0, 'c' },
                                     { "hub", required_argument, 0, 'h' },
                                     { "hub-key", required_argument, 0, 'k' },
                                     { "unit", required_argument, 0, 'u' },
                                     { "json", no_argument, 0, 'j' },
                                     { "revise", no_argument, 0, 'R' },
                                     { "form", required_argument, 0, 'f' },
                                     { "period", required_argument, 0, 'p' },
                                     { "out", required_argument, 0, 'o' },
                                     { "revision", required_argument, 0, 'r' },
                                     { "xlsx", required_argument, 0, 'x' },
                                     { 0, 0, 0, 0 } };
    int c;
    optind = 1;
    while ((c = getopt_long (argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
            case 'd': a->dir = optarg; break;
            case 'c': a->config = optarg; break;
            case 'h': a->hub = optarg; break;
            case 'k': a->hub_key = optarg; break;
            case 'u': a->units = optarg; break;
            case 'j': a->json = true; break;
            case 'R': a->revise = true; break;
            case 'f': a->form = optarg; break;
            case 'p': a->period = optarg; break;
            case 'o': a->out = optarg; break;
            case 'r': a->revision = optarg; break;
            case 'x': a->xlsx = optarg; break;
            default: return -1;
        }
    }
    a->first_file = optind;
    if (!files && optind < argc) {
        fprintf (stderr, "gom-agent: unexpected argument '%s'\n",
                 argv [optind]);
        return -1;
    }
    return 0;
}

static int
s_init (args_t *a)
{
    if (!a->dir || !a->hub || !a->hub_key || !a->units)
        return s_fail ("init needs --dir, --hub, --hub-key and --unit");
    if (strncmp (a->hub, "tcp://", 6) != 0)
        return s_fail ("--hub %s: want tcp://HOST:PORT", a->hub);
    if (!gom_key_valid (a->hub_key))
        return s_fail ("--hub-key must be the hub's 40-character Z85 key "
                       "(the hub-key: line of gom-hub init)");
    size_t n = 0;
    char **units = gom_split_list (a->units, &n);
    for (size_t i = 0; i < n; i++)
        if (!gom_code_valid (units [i])) {
            int rc =
                s_fail ("--unit: '%s' is not a valid unit code", units [i]);
            gom_strv_free (&units);
            return rc;
        }
    gom_strv_free (&units);
    if (n == 0)
        return s_fail ("--unit: no unit code given");
    if (gom_mkdir_p (a->dir, 0750) != 0)
        return s_fail ("%s: %s", a->dir, strerror (errno));
    char *cfg = gom_path_join (a->dir, "agent.cfg");
    char *cert = gom_path_join (a->dir, "agent.cert");
    char *outbox = gom_path_join (a->dir, "outbox.db");
    char *spool = gom_path_join (a->dir, "spool");
    char err [512], key [GOM_KEY_Z85 + 1];
    int rc = 1;
    if (access (cfg, F_OK) == 0) {
        s_fail ("%s exists already: this folder holds an agent", cfg);
        goto done;
    }
    if (gom_keys_create (cert, key, err, sizeof err) != 0) {
        s_fail ("%s", err);
        goto done;
    }
    agent_outbox_t *box = agent_outbox_open (outbox, true, err, sizeof err);
    if (!box) {
        s_fail ("%s", err);
        goto done;
    }
    agent_outbox_destroy (&box);
    char sub [4200];
    snprintf (sub, sizeof sub, "%s/done", spool);
    gom_mkdir_p (sub, 0750);
    snprintf (sub, sizeof sub, "%s/rejected", spool);
    gom_mkdir_p (sub, 0750);
    snprintf (sub, sizeof sub, "%s/forms", a->dir);
    gom_mkdir_p (sub, 0750);
    //  A long list of units goes into a file of its own (a config line
    //  holds at most about a thousand characters).
    char units_line [600];
    if (strlen (a->units) > 400) {
        char *path = gom_path_join (a->dir, "units.txt");
        char *copy = strdup (a->units);
        for (char *p = copy; *p; p++)
            if (*p == ',')
                *p = '\n';
        int wrc = gom_write_file (path, copy, strlen (copy), 0640, false);
        free (copy);
        free (path);
        if (wrc != 0) {
            s_fail ("%s/units.txt: %s", a->dir, strerror (errno));
            goto done;
        }
        snprintf (units_line, sizeof units_line,
                  "    units_file = \"units.txt\"\n");
    }
    else
        snprintf (units_line, sizeof units_line, "    units = \"%s\"\n",
                  a->units);
    char text [2048];
    snprintf (text, sizeof text,
              "#   gom agent configuration (ZPL). Paths are relative to this "
              "file's folder.\n"
              "#   Every key and its default: deploy/agent.cfg.sample\n"
              "agent\n"
              "    hub = \"%s\"\n"
              "    hub_key = \"%s\"\n"
              "%s"
              "    outbox = \"outbox.db\"\n"
              "    cert = \"agent.cert\"\n"
              "    spool = \"spool\"\n"
              "    forms = \"forms\"\n",
              a->hub, a->hub_key, units_line);
    if (gom_write_file (cfg, text, strlen (text), 0640, true) != 0) {
        s_fail ("%s: %s", cfg, strerror (errno));
        goto done;
    }
    char fp [16];
    gom_key_fingerprint (key, fp, sizeof fp);
    printf ("agent-key: %s\n", key);
    printf ("fingerprint: %s\n", fp);
    rc = 0;
done:
    free (cfg);
    free (cert);
    free (outbox);
    free (spool);
    return rc;
}

static int
s_load (args_t *a, gom_config_t **cfg, agent_options_t *opt)
{
    char err [512];
    if (!a->config)
        return s_fail ("this command needs --config DIR/agent.cfg");
    *cfg = gom_config_load (a->config, "agent", err, sizeof err);
    if (!*cfg)
        return s_fail ("%s", err);
    if (agent_options_load (*cfg, opt, err, sizeof err) != 0) {
        gom_config_destroy (cfg);
        return s_fail ("%s", err);
    }
    return 0;
}

//  export --out FILE, receipts FILE (agent_transfer.h).
static int
s_transfer (args_t *a, const char *cmd, int argc, char **argv)
{
    bool export = strcmp (cmd, "export") == 0;
    const char *path = export                      ? a->out
                       : a->first_file == argc - 1 ? argv [a->first_file]
                                                   : NULL;
    if (!path)
        return s_fail (export ? "usage: gom-agent export --config "
                                "DIR/agent.cfg --out FILE"
                              : "usage: gom-agent receipts --config "
                                "DIR/agent.cfg FILE");
    gom_config_t *cfg = NULL;
    agent_options_t opt;
    if (s_load (a, &cfg, &opt) != 0)
        return 1;
    char err [600];
    int rc = export ? agent_export (&opt, path, stdout, err, sizeof err)
                    : agent_receipts (&opt, path, stdout, err, sizeof err);
    agent_options_free (&opt);
    gom_config_destroy (&cfg);
    return rc == 0 ? 0 : s_fail ("%s", err);
}

static int
s_submit (args_t *a, int argc, char **argv)
{
    gom_config_t *cfg = NULL;
    agent_options_t opt;
    if (s_load (a, &cfg, &opt) != 0)
        return 1;
    int rc = 0;
    if (a->first_file >= argc) {
        rc = s_fail ("submit needs at least one FILE");
        goto done;
    }
    char err [512];
    agent_outbox_t *box =
        agent_outbox_open (opt.outbox_path, false, err, sizeof err);
    if (!box) {
        rc = s_fail ("cannot open the outbox: %s; nothing queued", err);
        goto done;
    }
    for (int i = a->first_file; i < argc; i++) {
        char line [4096], warn [2048];
        outbox_take_t taken = agent_outbox_take_file (
            box, argv [i], opt.units, opt.max_report_bytes, opt.forms_dir,
            a->revise, line, sizeof line, warn, sizeof warn);
        if (taken == OUTBOX_REFUSED || taken == OUTBOX_LATER) {
            fflush (stdout);
            fprintf (stderr, "gom-agent: %s: %s\n", argv [i], line);
            rc = 1;
            continue;
        }
        printf ("%s: %s %s\n",
                taken == OUTBOX_QUEUED ? "queued" : "already queued", argv [i],
                line);
        //  What was read differently from the file, under its line: a
        //  warning per line (English, then Vietnamese).
        for (char *w = warn; *w;) {
            size_t n = strcspn (w, "\n");
            printf ("warning: %s: %.*s\n", argv [i], (int)n, w);
            w += n + (w [n] == '\n');
        }
    }
    fflush (stdout);
    agent_outbox_destroy (&box);
done:
    agent_options_free (&opt);
    gom_config_destroy (&cfg);
    return rc;
}

static const char *
s_str (json_t *obj, const char *key)
{
    const char *s = json_string_value (json_object_get (obj, key));
    return s ? s : "?";
}

static json_int_t
s_int (json_t *obj, const char *key)
{
    return json_integer_value (json_object_get (obj, key));
}

//  The status for a person: running? connected? since when? what waits
//  longest, and why? Then the figures, one per line.
static void
s_print_status (json_t *st)
{
    if (json_is_true (json_object_get (st, "running")))
        printf ("running: yes, pid %" JSON_INTEGER_FORMAT ", since %s\n",
                s_int (st, "pid"), s_str (st, "running_since_at"));
    else if (json_is_string (json_object_get (st, "stopped_at")))
        printf ("running: no; stopped at %s\n", s_str (st, "stopped_at"));
    else
        printf ("running: no (never started here, or killed)\n");
    if (json_is_true (json_object_get (st, "connected")))
        printf ("hub: connected since %s\n", s_str (st, "connected_since_at"));
    else if (json_is_string (json_object_get (st, "quiet_since_at")))
        printf ("hub: quiet since %s (hung up with nothing to send; a report "
                "wakes it; next check-in %s)\n",
                s_str (st, "quiet_since_at"), s_str (st, "check_in_at"));
    else if (json_is_string (json_object_get (st, "disconnected_since_at")))
        printf ("hub: not connected since %s\n",
                s_str (st, "disconnected_since_at"));
    else
        printf ("hub: not connected\n");
    json_t *stuck = json_object_get (st, "stuck");
    json_int_t waiting = s_int (st, "queued") + s_int (st, "sent");
    if (json_is_object (stuck)) {
        json_int_t age = s_int (stuck, "age_s");
        printf ("waiting: %" JSON_INTEGER_FORMAT " report%s; the oldest, %s %s "
                "%s r%" JSON_INTEGER_FORMAT ", sealed %" JSON_INTEGER_FORMAT
                " h %" JSON_INTEGER_FORMAT
                " min ago, %s, tried %" JSON_INTEGER_FORMAT " times: %s\n",
                waiting, waiting == 1 ? "" : "s", s_str (stuck, "unit"),
                s_str (stuck, "form"), s_str (stuck, "period"),
                s_int (stuck, "revision"), age / 3600, age / 60 % 60,
                s_str (stuck, "state"), s_int (stuck, "attempts"),
                s_str (stuck, "why"));
    }
    else
        printf ("waiting: nothing; every report is acknowledged or "
                "rejected\n");
    json_t *spool = json_object_get (st, "spool_oldest");
    if (json_is_object (spool)) {
        json_int_t age = s_int (spool, "age_s");
        printf ("spool folder: %" JSON_INTEGER_FORMAT " file%s not taken "
                "yet; the oldest, %s, there %" JSON_INTEGER_FORMAT
                " min (if it stays, the agent's log says why)\n",
                s_int (st, "spool_waiting"),
                s_int (st, "spool_waiting") == 1 ? "" : "s",
                s_str (spool, "name"), age / 60);
    }
    if (s_int (st, "rejected") > 0)
        printf ("rejected: %" JSON_INTEGER_FORMAT
                " (gom-agent list shows each one's reason)\n",
                s_int (st, "rejected"));
    printf ("\n");
}

static int
s_listing (args_t *a, bool list)
{
    gom_config_t *cfg = NULL;
    agent_options_t opt;
    if (s_load (a, &cfg, &opt) != 0)
        return 1;
    char err [512];
    int rc = 0;
    agent_outbox_t *box =
        agent_outbox_open (opt.outbox_path, false, err, sizeof err);
    if (!box)
        rc = s_fail ("%s", err);
    else {
        json_t *value = list ? agent_outbox_list_json (box)
                             : agent_outbox_status_json (box);
        if (!list) {
            //  Files in the spool folder not taken yet: a workbook left
            //  for later (no Excel helper) waits there, not in the outbox.
            char oldest [256];
            int64_t age_ms;
            int n = agent_spool_waiting (opt.spool_dir, opt.spool_settle_ms,
                                         oldest, sizeof oldest, &age_ms);
            json_object_set_new (value, "spool_waiting",
                                 n >= 0 ? json_integer (n) : json_null ());
            if (n > 0)
                json_object_set_new (value, "spool_oldest",
                                     json_pack ("{s:s, s:I}", "name", oldest,
                                                "age_s",
                                                (json_int_t)(age_ms / 1000)));
        }
        if (a->json) {
            json_dumpf (value, stdout, JSON_INDENT (2));
            printf ("\n");
        }
        else if (list) {
            size_t i;
            json_t *r;
            json_array_foreach (value, i, r) {
                json_t *receipt = json_object_get (r, "receipt");
                json_t *reason = json_object_get (r, "reason");
                printf ("%-8s %-12s %-10s %-10s r%-3" JSON_INTEGER_FORMAT " %s",
                        json_string_value (json_object_get (r, "state")),
                        json_string_value (json_object_get (r, "unit")),
                        json_string_value (json_object_get (r, "form")),
                        json_string_value (json_object_get (r, "period")),
                        json_integer_value (json_object_get (r, "revision")),
                        json_string_value (json_object_get (r, "report_id")));
                if (json_is_integer (receipt))
                    printf (" receipt %" JSON_INTEGER_FORMAT,
                            json_integer_value (receipt));
                if (json_is_string (reason))
                    printf (" -- %s", json_string_value (reason));
                printf ("\n");
            }
        }
        else {
            s_print_status (value);
            const char *k;
            json_t *v;
            json_object_foreach (value, k, v) {
                if (json_is_object (v))
                    continue;
                char *s = json_dumps (v, JSON_ENCODE_ANY);
                printf ("%-22s %s\n", k, s);
                free (s);
            }
        }
        json_decref (value);
        agent_outbox_destroy (&box);
    }
    agent_options_free (&opt);
    gom_config_destroy (&cfg);
    return rc;
}

//  gom-agent check --form FORM.json REPORT...: the offline checks a commune
//  officer gets, every problem on its own line naming the cell.
static int
s_check (args_t *a, int argc, char **argv)
{
    if (!a->form || a->first_file >= argc)
        return s_fail ("usage: gom-agent check --form FORM.json REPORT...");
    char err [600];
    gom_form_t *form = gom_form_load (a->form, err, sizeof err);
    if (!form)
        return s_fail ("%s", err);
    int rc = 0;
    for (int i = a->first_file; i < argc; i++) {
        gom_xlsx_places_t *places;
        Gom__Report *r = agent_read_report (argv [i], NULL, &places, NULL, NULL,
                                            0, err, sizeof err);
        if (!r) {
            fprintf (stderr, "gom-agent: %s: %s\n", argv [i], err);
            rc = 1;
            continue;
        }
        size_t count = 0;
        char *problems = agent_check_report (form, r, places, &count);
        if (problems) {
            fprintf (stderr, "gom-agent: %s: %zu problems:\n%s", argv [i],
                     count, problems);
            rc = 1;
        }
        else
            printf ("ok: %s\n", argv [i]);
        free (problems);
        gom_report_free (&r);
        gom_xlsx_places_destroy (&places);
    }
    gom_form_destroy (&form);
    return rc;
}

//  gom-agent template: a CSV of the form for a commune officer to fill in
//  Excel or LibreOffice, from the form the hub sent this agent.
static int
s_template (args_t *a)
{
    gom_config_t *cfg = NULL;
    agent_options_t opt;
    if (!a->form || !a->period)
        return s_fail ("template needs --form F and --period P");
    if (s_load (a, &cfg, &opt) != 0)
        return 1;
    int rc = 0;
    char err [600];
    const char *unit = a->units ? a->units : opt.units [0];
    long revision = a->revision ? strtol (a->revision, NULL, 10) : 1;
    gom_form_t *form =
        gom_form_find (opt.forms_dir, a->form, 0, err, sizeof err);
    FILE *out = NULL;
    if (!form)
        rc = s_fail ("%s (the hub sends its forms when the agent connects; "
                     "is gom-agent run running?)",
                     err);
    else if (!gom_form_period_valid (form, a->period))
        rc = s_fail ("period %s is not valid for form %s (%s)", a->period,
                     a->form, gom_form_period_type (form));
    else if (!gom_code_valid (unit))
        rc = s_fail ("--unit %s is not a unit code", unit);
    else if (revision < 1 || revision > 1000000)
        rc = s_fail ("--revision must be a whole number from 1");
    else if (a->xlsx && a->out)
        rc = s_fail ("give --out FILE.csv or --xlsx FILE.xlsx, not both");
    else if (a->xlsx) {
        if (agent_xlsx_template (opt.forms_dir, a->form, a->period, unit,
                                 (uint32_t)revision, a->xlsx, err,
                                 sizeof err) != 0)
            rc = s_fail ("%s", err);
    }
    else if (!(out = a->out ? fopen (a->out, "wb") : stdout))
        rc = s_fail ("%s: %s", a->out, strerror (errno));
    else if (gom_csv_template (form, a->period, unit, (uint32_t)revision,
                               out) != 0)
        rc = s_fail ("%s: %s", a->out ? a->out : "stdout", strerror (errno));
    if (out && out != stdout && fclose (out) != 0 && rc == 0)
        rc = s_fail ("%s: %s", a->out, strerror (errno));
    if (rc == 0 && (a->out || a->xlsx))
        fprintf (stderr, "template for %s %s, unit %s, written to %s\n",
                 a->form, a->period, unit, a->xlsx ? a->xlsx : a->out);
    gom_form_destroy (&form);
    agent_options_free (&opt);
    gom_config_destroy (&cfg);
    return rc;
}

//  `run` hung up to go quiet (agent_sender.h): becomes gom-agent-quiet,
//  which becomes this program again, with the same arguments, when a report
//  comes, the check-in is due or a signal arrives. Returns only if it
//  cannot (errno set).
static void
s_quiet_exec (const agent_quiet_t *quiet, const agent_options_t *opt, int argc,
              char **argv)
{
    char *self = gom_self_path ();
    if (!self)
        return;
    char fd [16], spool_wd [16], outbox_wd [16], check_in [24];
    snprintf (fd, sizeof fd, "%d", quiet->fd);
    snprintf (spool_wd, sizeof spool_wd, "%d", quiet->spool_wd);
    snprintf (outbox_wd, sizeof outbox_wd, "%d", quiet->outbox_wd);
    snprintf (check_in, sizeof check_in, "%" PRId64, opt->check_in_ms);
    char *head [] = { opt->quiet_path,
                      "--fd",
                      fd,
                      "--spool",
                      opt->spool_dir,
                      "--spool-wd",
                      spool_wd,
                      "--outbox-wd",
                      outbox_wd,
                      "--wal",
                      (char *)quiet->wal,
                      "--check-in-ms",
                      check_in,
                      "--",
                      self };
    size_t n_head = sizeof head / sizeof head [0];
    char **args = calloc (n_head + (size_t)argc, sizeof *args);
    assert (args);
    memcpy (args, head, sizeof head);
    for (int i = 1; i < argc; i++)
        args [n_head + (size_t)i - 1] = argv [i];
    execv (opt->quiet_path, args);
    int saved = errno;
    free (args);
    free (self);
    errno = saved;
}

int
main (int argc, char **argv)
{
    if (argc < 2) {
        fputs (s_usage, stderr);
        return 2;
    }
    //  Databases and configs are for the service's user and group only;
    //  secret key files are made 0600 on their own.
    umask (027);
    //  One line per event, on standard error (czmq logs to stdout by
    //  default), so that stdout carries only what the command answers.
    zsys_set_logstream (stderr);
    const char *cmd = argv [1];
    args_t a = { 0 };
    if (strcmp (cmd, "version") == 0 || strcmp (cmd, "--version") == 0) {
        printf ("gom-agent %s\n", GOM_VERSION);
        return 0;
    }
    if (strcmp (cmd, "help") == 0 || strcmp (cmd, "--help") == 0) {
        fputs (s_usage, stdout);
        return 0;
    }
    bool files = strcmp (cmd, "submit") == 0 || strcmp (cmd, "check") == 0 ||
                 strcmp (cmd, "receipts") == 0;
    if (s_parse (argc - 1, argv + 1, &a, files) != 0) {
        fputs (s_usage, stderr);
        return 2;
    }
    if (strcmp (cmd, "init") == 0)
        return s_init (&a);
    if (strcmp (cmd, "submit") == 0)
        return s_submit (&a, argc - 1, argv + 1);
    if (strcmp (cmd, "check") == 0)
        return s_check (&a, argc - 1, argv + 1);
    if (strcmp (cmd, "template") == 0)
        return s_template (&a);
    if (strcmp (cmd, "export") == 0 || strcmp (cmd, "receipts") == 0)
        return s_transfer (&a, cmd, argc - 1, argv + 1);
    if (strcmp (cmd, "status") == 0)
        return s_listing (&a, false);
    if (strcmp (cmd, "list") == 0)
        return s_listing (&a, true);
    if (strcmp (cmd, "run") == 0) {
        gom_config_t *cfg = NULL;
        agent_options_t opt;
        if (s_load (&a, &cfg, &opt) != 0)
            return 1;
        if (opt.quiet_after_ms > 0) {
            opt.quiet_path =
                gom_helper_path ("GOM_AGENT_QUIET", "gom-agent-quiet");
            if (access (opt.quiet_path, X_OK) != 0) {
                zsys_warning ("quiet_after_ms: %s: %s; staying connected",
                              opt.quiet_path, strerror (errno));
                free (opt.quiet_path);
                opt.quiet_path = NULL;
            }
        }
        agent_quiet_t quiet;
        int rc = agent_sender_run (&opt, &quiet);
        if (rc == AGENT_RUN_QUIET) {
            //  No ZeroMQ threads across the exec; the rest is closed.
            zsys_shutdown ();
            s_quiet_exec (&quiet, &opt, argc, argv);
            fprintf (stderr, "gom-agent: cannot become %s: %s\n",
                     opt.quiet_path, strerror (errno));
            rc = 1;
        }
        agent_options_free (&opt);
        gom_config_destroy (&cfg);
        return rc;
    }
    fprintf (stderr, "gom-agent: unknown command '%s'\n%s", cmd, s_usage);
    return 2;
}
