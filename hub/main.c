/*  gom-hub: the provincial hub. A thin dispatcher over subcommands; the work
    is in hub_server (serving) and hub_store (the databases). */
#include "gom_config.h"
#include "gom_db.h"
#include "gom_form.h"
#include "gom_keys.h"
#include "gom_util.h"
#include "hub_backup.h"
#include "hub_catalog.h"
#include "hub_export.h"
#include "hub_http.h"
#include "hub_server.h"
#include "hub_totals.h"
#include "hub_transfer.h"
#include "hub_store.h"
#include "hub_users.h"

#include <csv.h>
#include <czmq.h>
#include <getopt.h>
#include <math.h>
#include <sys/stat.h>
#include <jansson.h>
#include <sodium.h>
#include <termios.h>

static const char *s_usage =
    "usage: gom-hub COMMAND [OPTIONS]\n"
    "  init    --dir DIR [--endpoint tcp://*:7770]\n"
    "  enroll  --config DIR/hub.cfg --unit CODE[,CODE...] --key Z85\n"
    "  revoke  --config DIR/hub.cfg --key Z85\n"
    "  run     --config DIR/hub.cfg\n"
    "  reports --config DIR/hub.cfg [--json]\n"
    "  status  --config DIR/hub.cfg [--json]\n"
    "  agents  --config DIR/hub.cfg [--json]\n"
    "  forms check FILE...      (check form definition files)\n"
    "  totals  --config DIR/hub.cfg --form F --period P [--unit ROOT] "
    "[--json|--csv] [--direct]\n"
    "  arrivals --config DIR/hub.cfg --form F --period P [--unit ROOT] "
    "[--json] [--direct]\n"
    "  export  --config DIR/hub.cfg --form F --period P [--unit ROOT] "
    "--xlsx FILE\n"
    "  texts   --config DIR/hub.cfg --form F --period P --section S "
    "[--unit ROOT] [--json] [--direct]\n"
    "          (the running hub answers these three; --direct: read "
    "hub.db)\n"
    "  user add|passwd|del|list --config DIR/hub.cfg [--name NAME] "
    "[--role admin|read]\n"
    "          (the dashboard's operators; the password is read from the "
    "terminal or stdin)\n"
    "  backup  --config DIR/hub.cfg [--json] FILE   (also writes FILE-keys)\n"
    "  restore --config DIR/hub.cfg [--json] FILE   (the hub stopped)\n"
    "  import  --config DIR/hub.cfg [--receipts OUT] FILE  (an agent's "
    "export)\n"
    "  version\n"
    "See docs/cli.md.\n";

typedef struct {
    const char *dir;
    const char *config;
    const char *endpoint;
    const char *units;
    const char *key;
    const char *form;
    const char *period;
    const char *section;
    const char *xlsx;
    const char *name;
    const char *role;
    const char *receipts;
    bool json;
    bool csv;
    bool direct;     //  read hub.db even when the hub runs
    int first_file;  //  index in argv of the first FILE
} args_t;

//  "gom-hub: " and the message on standard error; returns 1 (exit status).
#define s_fail(...) gom_fail ("gom-hub", __VA_ARGS__)

static int
s_parse (int argc, char **argv, args_t *a, bool files)
{
    static struct option opts [] = { { "dir", required_argument, 0, 'd' },
                                     { "config", required_argument, 0, 'c' },
                                     { "endpoint", required_argument, 0, 'e' },
                                     { "unit", required_argument, 0, 'u' },
                                     { "key", required_argument, 0, 'k' },
                                     { "json", no_argument, 0, 'j' },
                                     { "form", required_argument, 0, 'f' },
                                     { "period", required_argument, 0, 'p' },
                                     { "section", required_argument, 0, 's' },
                                     { "csv", no_argument, 0, 'C' },
                                     { "xlsx", required_argument, 0, 'x' },
                                     { "name", required_argument, 0, 'n' },
                                     { "role", required_argument, 0, 'r' },
                                     { "direct", no_argument, 0, 'D' },
                                     { "receipts", required_argument, 0, 'R' },
                                     { 0, 0, 0, 0 } };
    int c;
    optind = 1;
    while ((c = getopt_long (argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
            case 'd': a->dir = optarg; break;
            case 'c': a->config = optarg; break;
            case 'e': a->endpoint = optarg; break;
            case 'u': a->units = optarg; break;
            case 'k': a->key = optarg; break;
            case 'j': a->json = true; break;
            case 'f': a->form = optarg; break;
            case 'p': a->period = optarg; break;
            case 's': a->section = optarg; break;
            case 'C': a->csv = true; break;
            case 'x': a->xlsx = optarg; break;
            case 'n': a->name = optarg; break;
            case 'r': a->role = optarg; break;
            case 'D': a->direct = true; break;
            case 'R': a->receipts = optarg; break;
            default: return -1;
        }
    }
    a->first_file = optind;
    if (!files && optind < argc) {
        fprintf (stderr, "gom-hub: unexpected argument '%s'\n", argv [optind]);
        return -1;
    }
    return 0;
}

static int
s_init (args_t *a)
{
    if (!a->dir)
        return s_fail ("init needs --dir DIR");
    const char *endpoint = a->endpoint ? a->endpoint : "tcp://*:7770";
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return s_fail ("--endpoint %s: want tcp://ADDRESS:PORT", endpoint);
    if (gom_mkdir_p (a->dir, 0750) != 0)
        return s_fail ("%s: %s", a->dir, strerror (errno));
    char *cfg = gom_path_join (a->dir, "hub.cfg");
    char *cert = gom_path_join (a->dir, "hub.cert");
    char *db = gom_path_join (a->dir, "hub.db");
    char *keys = gom_path_join (a->dir, "keys.db");
    char err [512], key [GOM_KEY_Z85 + 1];
    int rc = 1;
    if (access (cfg, F_OK) == 0) {
        s_fail ("%s exists already: this folder holds a hub", cfg);
        goto done;
    }
    if (gom_keys_create (cert, key, err, sizeof err) != 0) {
        s_fail ("%s", err);
        goto done;
    }
    hub_store_t *store = hub_store_open (db, keys, true, err, sizeof err);
    if (!store) {
        s_fail ("%s", err);
        goto done;
    }
    char *forms = gom_path_join (a->dir, "forms");
    gom_mkdir_p (forms, 0750);
    free (forms);
    hub_store_destroy (&store);
    char text [2048];
    snprintf (text, sizeof text,
              "#   gom hub configuration (ZPL). Paths are relative to this "
              "file's folder.\n"
              "#   Every key and its default: deploy/hub.cfg.sample\n"
              "hub\n"
              "    endpoint = \"%s\"\n"
              "    database = \"hub.db\"\n"
              "    keys = \"keys.db\"\n"
              "    cert = \"hub.cert\"\n"
              "    max_message_bytes = 1048576\n"
              "    batch_max = 2048\n"
              "    heartbeat_ivl_ms = 10000\n"
              "    heartbeat_timeout_ms = 30000\n"
              "    handshake_ivl_ms = 10000\n"
              "    forms = \"forms\"\n"
              "    units = \"units.csv\"\n"
              "    http_address = \"127.0.0.1\"\n"
              "    http_port = 8080\n",
              endpoint);
    if (gom_write_file (cfg, text, strlen (text), 0640, true) != 0) {
        s_fail ("%s: %s", cfg, strerror (errno));
        goto done;
    }
    printf ("hub-key: %s\n", key);
    rc = 0;
done:
    free (cfg);
    free (cert);
    free (db);
    free (keys);
    return rc;
}

static hub_store_t *
s_open_store (args_t *a, gom_config_t **cfg_p)
{
    char err [512];
    if (!a->config) {
        s_fail ("this command needs --config DIR/hub.cfg");
        return NULL;
    }
    gom_config_t *cfg = gom_config_load (a->config, "hub", err, sizeof err);
    if (!cfg) {
        s_fail ("%s", err);
        return NULL;
    }
    char *db = gom_config_file (cfg, "database", "hub.db");
    char *keys = gom_config_file (cfg, "keys", "keys.db");
    hub_store_t *store = hub_store_open (db, keys, false, err, sizeof err);
    free (db);
    free (keys);
    if (!store)
        s_fail ("%s", err);
    if (cfg_p && store)
        *cfg_p = cfg;
    else
        gom_config_destroy (&cfg);
    return store;
}

static void
s_print_json (json_t *value)
{
    json_dumpf (value, stdout, JSON_INDENT (2));
    printf ("\n");
}

static int
s_enroll (args_t *a, bool revoke)
{
    if (!a->key || !gom_key_valid (a->key))
        return s_fail ("--key must be the agent's 40-character Z85 public key");
    if (!revoke && !a->units)
        return s_fail ("enroll needs --unit CODE[,CODE...]");
    char **units = NULL;
    size_t n = 0;
    if (!revoke) {
        units = gom_split_list (a->units, &n);
        if (n == 0) {
            gom_strv_free (&units);
            return s_fail ("--unit: no unit code given");
        }
        for (size_t i = 0; i < n; i++)
            if (!gom_code_valid (units [i])) {
                int rc =
                    s_fail ("--unit: '%s' is not a valid unit code", units [i]);
                gom_strv_free (&units);
                return rc;
            }
    }
    hub_store_t *store = s_open_store (a, NULL);
    if (!store) {
        gom_strv_free (&units);
        return 1;
    }
    char err [512];
    int rc = revoke ? hub_store_revoke (store, a->key, err, sizeof err)
                    : hub_store_enroll (store, a->key, units, err, sizeof err);
    hub_store_destroy (&store);
    if (rc != 0) {
        gom_strv_free (&units);
        return s_fail ("%s", err);
    }
    char fp [16];
    gom_key_fingerprint (a->key, fp, sizeof fp);
    if (revoke)
        printf ("revoked: %s (%s)\n", a->key, fp);
    else {
        printf ("enrolled: %s units: ", a->key);
        for (size_t i = 0; i < n; i++)
            printf ("%s%s", i ? "," : "", units [i]);
        printf (" (fingerprint %s)\n", fp);
    }
    gom_strv_free (&units);
    return 0;
}

#define STUCK_LISTED 10
#define SILENT_MS    (15 * 60 * 1000)

//  The status's answers to an IT person's first questions (docs/cli.md):
//  is the hub running, since when; which agents hold reports that have not
//  come (as they said at their last hello), since when, and why it looks
//  that way.
static void
s_status_answers (hub_store_t *store, json_t *status)
{
    sqlite3 *db = hub_store_db (store);
    int64_t pid = gom_db_meta_int (db, "run_pid");
    bool running = gom_pid_named (pid, "gom-hub");
    json_object_set_new (status, "running", json_boolean (running));
    json_object_set_new (status, "pid",
                         running ? json_integer (pid) : json_null ());
    json_object_set_new (
        status, "running_since_at",
        gom_time_json (running ? gom_db_meta_int (db, "run_started_ms") : 0));
    json_object_set_new (
        status, "stopped_at",
        gom_time_json (running ? 0 : gom_db_meta_int (db, "run_stopped_ms")));
    //  Agents whose last hello said they hold reports, oldest first.
    sqlite3_stmt *st = gom_db_prepare (
        db, "SELECT a.key, a.queue_depth, a.oldest_queued_age_s, "
            "a.last_seen_ms, (SELECT group_concat(unit, ',') FROM "
            "keys.agent_units u WHERE u.key = a.key) FROM keys.agents a "
            "WHERE a.revoked_ms IS NULL AND a.queue_depth > 0 ORDER BY "
            "a.oldest_queued_age_s DESC");
    json_t *stuck = json_array ();
    size_t n = 0;
    while (st && sqlite3_step (st) == SQLITE_ROW) {
        if (n++ >= STUCK_LISTED)
            continue;
        char fp [16];
        gom_key_fingerprint ((const char *)sqlite3_column_text (st, 0), fp,
                             sizeof fp);
        int64_t depth = sqlite3_column_int64 (st, 1);
        int64_t age = sqlite3_column_int64 (st, 2);
        int64_t seen = sqlite3_column_int64 (st, 3);
        const char *units = (const char *)sqlite3_column_text (st, 4);
        char seen_at [32] = "never", why [300];
        if (seen > 0)
            gom_iso_time (seen, seen_at, sizeof seen_at);
        if (gom_now_ms () - seen > SILENT_MS)
            snprintf (why, sizeof why,
                      "not heard from since %s: the agent is not running or "
                      "cannot reach the hub (its gom-agent status says "
                      "which)",
                      seen_at);
        else
            snprintf (why, sizeof why,
                      "connected lately, the oldest sealed %" PRId64
                      " min before its last hello: on its way, or refused "
                      "again and again (the hub's log has each NACK with "
                      "this fingerprint)",
                      age / 60);
        json_array_append_new (
            stuck, json_pack ("{s:s, s:s, s:I, s:I, s:o, s:s}", "fingerprint",
                              fp, "units", units ? units : "", "queue_depth",
                              (json_int_t)depth, "oldest_queued_age_s",
                              (json_int_t)age, "last_seen_at",
                              gom_time_json (seen), "why", why));
    }
    sqlite3_finalize (st);
    json_object_set_new (status, "agents_with_queues",
                         json_integer ((json_int_t)n));
    json_object_set_new (status, "stuck", stuck);
}

static int
s_listing (args_t *a, const char *what)
{
    hub_store_t *store = s_open_store (a, NULL);
    if (!store)
        return 1;
    json_t *value =
        strcmp (what, "reports") == 0  ? hub_store_reports_json (store)
        : strcmp (what, "status") == 0 ? hub_store_status_json (store)
                                       : hub_store_agents_json (store);
    if (strcmp (what, "status") == 0)
        s_status_answers (store, value);
    hub_store_destroy (&store);
    if (a->json)
        s_print_json (value);
    else if (strcmp (what, "reports") == 0) {
        size_t i;
        json_t *r;
        printf ("%-8s %-12s %-10s %-10s %-4s %-32s %s\n", "receipt", "unit",
                "form", "period", "rev", "report_id", "received");
        json_array_foreach (value, i, r) {
            printf ("%-8" JSON_INTEGER_FORMAT
                    " %-12s %-10s %-10s %-4" JSON_INTEGER_FORMAT " %-32s %s\n",
                    json_integer_value (json_object_get (r, "receipt")),
                    json_string_value (json_object_get (r, "unit")),
                    json_string_value (json_object_get (r, "form")),
                    json_string_value (json_object_get (r, "period")),
                    json_integer_value (json_object_get (r, "revision")),
                    json_string_value (json_object_get (r, "report_id")),
                    json_string_value (json_object_get (r, "received_at")));
        }
        printf ("%zu reports\n", json_array_size (value));
    }
    else if (strcmp (what, "status") == 0) {
        json_t *v = json_object_get (value, "running_since_at");
        if (json_is_true (json_object_get (value, "running")))
            printf ("running: yes, pid %" JSON_INTEGER_FORMAT ", since %s\n",
                    json_integer_value (json_object_get (value, "pid")),
                    json_is_string (v) ? json_string_value (v) : "?");
        else {
            v = json_object_get (value, "stopped_at");
            printf ("running: no%s%s\n",
                    json_is_string (v) ? "; stopped at "
                                       : " (killed, or never started here)",
                    json_is_string (v) ? json_string_value (v) : "");
        }
        v = json_object_get (value, "last_received_at");
        printf ("last report received: %s\n",
                json_is_string (v) ? json_string_value (v) : "none yet");
        size_t i;
        json_t *s;
        json_array_foreach (json_object_get (value, "stuck"), i, s) {
            printf ("waiting at agent %s (units %s): %" JSON_INTEGER_FORMAT
                    " report(s); %s\n",
                    json_string_value (json_object_get (s, "fingerprint")),
                    json_string_value (json_object_get (s, "units")),
                    json_integer_value (json_object_get (s, "queue_depth")),
                    json_string_value (json_object_get (s, "why")));
        }
        if (!json_array_size (json_object_get (value, "stuck")))
            printf ("waiting at agents: nothing, as they said at their last "
                    "hello\n");
        printf ("\n");
        const char *k;
        json_object_foreach (value, k, v) {
            if (json_is_array (v))
                continue;
            char *text = json_dumps (v, JSON_ENCODE_ANY);
            printf ("%-20s %s\n", k, text);
            free (text);
        }
    }
    else {
        size_t i;
        json_t *r;
        json_array_foreach (value, i, r) {
            char *units = json_dumps (json_object_get (r, "units"), 0);
            json_t *seen = json_object_get (r, "last_seen_at");
            json_t *rev = json_object_get (r, "revoked_at");
            printf ("%s  %s  units %s  last seen %s%s\n",
                    json_string_value (json_object_get (r, "fingerprint")),
                    json_string_value (json_object_get (r, "key")), units,
                    json_is_string (seen) ? json_string_value (seen) : "never",
                    json_is_string (rev) ? "  REVOKED" : "");
            free (units);
        }
    }
    json_decref (value);
    return 0;
}

//  gom-hub forms check FILE...: loads each form file as the hub will, and
//  says what it holds or, for a broken one, where and what is wrong.
static int
s_forms (args_t *a, int argc, char **argv)
{
    if (a->first_file >= argc || strcmp (argv [a->first_file], "check") != 0 ||
        a->first_file + 1 >= argc)
        return s_fail ("usage: gom-hub forms check FILE...");
    int rc = 0;
    json_t *list = json_array ();
    for (int i = a->first_file + 1; i < argc; i++) {
        char err [600];
        gom_form_t *form = gom_form_load (argv [i], err, sizeof err);
        if (!form) {
            fprintf (stderr, "gom-hub: %s\n", err);
            rc = 1;
            continue;
        }
        json_array_append_new (
            list, json_pack ("{s:s, s:s, s:i, s:s, s:s, s:i, s:i, s:i, s:i}",
                             "file", argv [i], "form", gom_form_code (form),
                             "version", (int)gom_form_version (form), "title",
                             gom_form_title (form), "period",
                             gom_form_period_type (form), "cells",
                             (int)gom_form_cell_count (form), "checks",
                             (int)gom_form_check_count (form), "indicators",
                             (int)gom_form_indicator_count (form), "texts",
                             (int)gom_form_text_count (form)));
        if (!a->json)
            printf ("ok: %s: %s v%u (%s), %zu cells, %zu checks, %zu "
                    "indicators, %zu texts\n",
                    argv [i], gom_form_code (form), gom_form_version (form),
                    gom_form_period_type (form), gom_form_cell_count (form),
                    gom_form_check_count (form),
                    gom_form_indicator_count (form),
                    gom_form_text_count (form));
        gom_form_destroy (&form);
    }
    if (a->json)
        s_print_json (list);
    json_decref (list);
    return rc;
}

//  Asks the running hub (hub_http.h, the ask channel) for what the
//  command prints: true if it answered, with the exit status in *rc;
//  false if there is no hub to ask (none running, its dashboard off, or
//  no answer within a second): then the command reads hub.db itself.
static bool
s_ask_hub (args_t *a, const char *what, int *rc)
{
    if (!a->config || strcmp (what, "export") == 0)
        return false;
    //  Empty or outlandish values: the direct path's checks say what is
    //  wrong with them (an empty frame means "none" to the hub).
    const char *given [] = { a->form, a->period, a->units, a->section };
    for (size_t i = 0; i < sizeof given / sizeof given [0]; i++)
        if (given [i] && (!*given [i] || strlen (given [i]) > 1000))
            return false;
    char err [512];
    gom_config_t *cfg = gom_config_load (a->config, "hub", err, sizeof err);
    if (!cfg)
        return false;  //  the direct path says what is wrong
    char *db = gom_config_file (cfg, "database", "hub.db");
    gom_config_destroy (&cfg);
    bool texts = strcmp (what, "texts") == 0;
    const char *format = a->json                                  ? "json"
                         : a->csv && strcmp (what, "totals") == 0 ? "csv"
                                                                  : "text";
    unsigned status = 0;
    char error [1024] = "";
    int asked = hub_ask (db, what, a->form, a->period, a->units,
                         texts ? a->section : NULL, format, 1000, stdout,
                         &status, error, sizeof error);
    free (db);
    bool answered = asked == 0 && status >= 200 && status < 500;
    if (answered)
        *rc = status == 200 ? 0 : s_fail ("%s", error);
    return answered;
}

//  gom-hub totals | arrivals | texts: the province's views of one form and
//  period over a subtree: the consolidated table with its ratios against
//  targets; who has reported, late, missing or rejected; the narrative of
//  one section from every unit.
static int
s_consolidate (args_t *a, const char *what)
{
    if (!a->form || !a->period)
        return s_fail ("%s needs --form F and --period P", what);
    if (strcmp (what, "texts") == 0 && !a->section)
        return s_fail ("texts needs --section S (a narrative section code)");
    if (strcmp (what, "export") == 0 && !a->xlsx)
        return s_fail ("export needs --xlsx FILE");
    int rc = 0;
    if (!a->direct && s_ask_hub (a, what, &rc))
        return rc;
    gom_config_t *cfg = NULL;
    hub_store_t *store = s_open_store (a, &cfg);
    if (!store)
        return 1;
    char err [600];
    hub_catalog_t *catalog = hub_catalog_open (cfg, NULL, err, sizeof err);
    json_t *out = NULL;
    gom_form_t *form = catalog ? hub_catalog_form (catalog, a->form, 0) : NULL;
    gom_units_t *tree = catalog ? hub_catalog_units (catalog) : NULL;
    sqlite3 *db = hub_store_db (store);
    if (!catalog)
        rc = s_fail ("%s", err);
    else if (!form)
        rc = s_fail ("form %s is not in the hub's form pack", a->form);
    else if (strcmp (what, "totals") == 0)
        out = hub_totals_json (db, form, tree, a->period, a->units, err,
                               sizeof err);
    else if (strcmp (what, "arrivals") == 0)
        out = hub_arrivals_json (db, form, tree, a->period, a->units, err,
                                 sizeof err);
    else if (strcmp (what, "export") == 0) {
        out = hub_totals_json (db, form, tree, a->period, a->units, err,
                               sizeof err);
        json_t *arr = out && tree
                          ? hub_arrivals_json (db, form, tree, a->period,
                                               a->units, err, sizeof err)
                          : NULL;
        if (out &&
            hub_export_xlsx (form, out, arr, a->xlsx, err, sizeof err) != 0) {
            json_decref (out);
            out = NULL;
        }
        json_decref (arr);
        bool exported = out != NULL;
        if (exported)
            printf ("exported %s %s to %s\n", a->form, a->period, a->xlsx);
        json_decref (out);
        hub_catalog_destroy (&catalog);
        hub_store_destroy (&store);
        gom_config_destroy (&cfg);
        return exported ? 0 : s_fail ("%s", err);
    }
    else
        out = hub_texts_json (db, form, tree, a->period, a->section, a->units,
                              err, sizeof err);
    if (rc == 0 && !out)
        rc = s_fail ("%s", err);
    else if (rc == 0 && a->json)
        s_print_json (out);
    else if (rc == 0 && strcmp (what, "totals") == 0) {
        if (a->csv)
            hub_export_csv (out, stdout);
        else
            hub_totals_print (out, stdout);
    }
    else if (rc == 0 && strcmp (what, "arrivals") == 0)
        hub_arrivals_print (out, stdout);
    else if (rc == 0)
        hub_texts_print (out, stdout);
    json_decref (out);
    hub_catalog_destroy (&catalog);
    hub_store_destroy (&store);
    gom_config_destroy (&cfg);
    return rc;
}

//  Reads a password: from the terminal twice without echo, or else the
//  first line of standard input. Returns a new string, or NULL.
static char *
s_read_password (void)
{
    char *first = NULL, *second = NULL;
    size_t cap = 0;
    bool tty = isatty (STDIN_FILENO);
    struct termios saved, quiet;
    if (tty) {
        tcgetattr (STDIN_FILENO, &saved);
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet);
        fprintf (stderr, "password: ");
    }
    ssize_t n = getline (&first, &cap, stdin);
    if (tty && n > 0) {
        fprintf (stderr, "\nagain: ");
        cap = 0;
        if (getline (&second, &cap, stdin) < 0) {
            free (second);
            second = NULL;
        }
    }
    if (tty) {
        tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved);
        fprintf (stderr, "\n");
    }
    if (n <= 0) {
        free (first);
        return NULL;
    }
    first [strcspn (first, "\r\n")] = 0;
    if (second) {
        second [strcspn (second, "\r\n")] = 0;
        bool same = strcmp (first, second) == 0;
        memset (second, 0, strlen (second));
        free (second);
        if (!same) {
            memset (first, 0, strlen (first));
            free (first);
            fprintf (stderr, "gom-hub: the two passwords differ\n");
            return NULL;
        }
    }
    return first;
}

static int
s_user (args_t *a, const char *action)
{
    if (!a->config)
        return s_fail ("user %s needs --config DIR/hub.cfg", action);
    char err [512];
    gom_config_t *cfg = gom_config_load (a->config, "hub", err, sizeof err);
    if (!cfg)
        return s_fail ("%s", err);
    char *keys = gom_config_file (cfg, "keys", "keys.db");
    gom_config_destroy (&cfg);
    int rc = 0;
    if (access (keys, F_OK) != 0)
        rc = s_fail ("%s: no hub here (run gom-hub init)", keys);
    else if (hub_users_init () != 0)
        rc = s_fail ("cannot initialize libsodium");
    else if (strcmp (action, "list") == 0) {
        json_t *list = hub_users_list (keys, err, sizeof err);
        if (!list)
            rc = s_fail ("%s", err);
        else if (a->json)
            s_print_json (list);
        else {
            size_t i;
            json_t *u;
            json_array_foreach (list, i, u)
                printf ("%-20s %-6s %s\n",
                        json_string_value (json_object_get (u, "name")),
                        json_string_value (json_object_get (u, "role")),
                        json_string_value (json_object_get (u, "created_at")));
        }
        json_decref (list);
    }
    else if (!a->name)
        rc = s_fail ("user %s needs --name NAME", action);
    else if (strcmp (action, "del") == 0) {
        if (hub_users_del (keys, a->name, err, sizeof err) != 0)
            rc = s_fail ("%s", err);
        else
            printf ("deleted user %s\n", a->name);
    }
    else if (strcmp (action, "add") == 0 || strcmp (action, "passwd") == 0) {
        bool add = strcmp (action, "add") == 0;
        char *password = NULL;
        if (add && !a->role)
            rc = s_fail ("user add needs --role admin or --role read");
        else if (!(password = s_read_password ()))
            rc = s_fail ("no password given (type it, or give it as the "
                         "first line of standard input)");
        else if (hub_users_set (keys, a->name, a->role, password, !add, err,
                                sizeof err) != 0)
            rc = s_fail ("%s", err);
        else
            printf ("%s user %s%s%s\n",
                    add ? "added" : "changed the password of", a->name,
                    a->role ? ", role " : "", a->role ? a->role : "");
        if (password) {
            sodium_memzero (password, strlen (password));
            free (password);
        }
    }
    else
        rc = s_fail ("user: unknown action '%s' (add, passwd, del, list)",
                     action);
    free (keys);
    return rc;
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
        printf ("gom-hub %s\n", GOM_VERSION);
        return 0;
    }
    if (strcmp (cmd, "help") == 0 || strcmp (cmd, "--help") == 0) {
        fputs (s_usage, stdout);
        return 0;
    }
    if (strcmp (cmd, "user") == 0) {
        if (argc < 3 || s_parse (argc - 2, argv + 2, &a, false) != 0) {
            fputs (s_usage, stderr);
            return 2;
        }
        return s_user (&a, argv [2]);
    }
    if (strcmp (cmd, "backup") == 0 || strcmp (cmd, "restore") == 0)
        return hub_backup_command (argc - 1, argv + 1);
    bool files = strcmp (cmd, "forms") == 0 || strcmp (cmd, "import") == 0;
    if (s_parse (argc - 1, argv + 1, &a, files) != 0) {
        fputs (s_usage, stderr);
        return 2;
    }
    if (strcmp (cmd, "init") == 0)
        return s_init (&a);
    if (strcmp (cmd, "totals") == 0 || strcmp (cmd, "arrivals") == 0 ||
        strcmp (cmd, "texts") == 0 || strcmp (cmd, "export") == 0)
        return s_consolidate (&a, cmd);
    if (strcmp (cmd, "forms") == 0)
        return s_forms (&a, argc - 1, argv + 1);
    if (strcmp (cmd, "enroll") == 0)
        return s_enroll (&a, false);
    if (strcmp (cmd, "revoke") == 0)
        return s_enroll (&a, true);
    if (strcmp (cmd, "reports") == 0 || strcmp (cmd, "status") == 0 ||
        strcmp (cmd, "agents") == 0)
        return s_listing (&a, cmd);
    if (strcmp (cmd, "import") == 0) {
        if (!a.config || a.first_file != argc - 2)
            return s_fail ("usage: gom-hub import --config DIR/hub.cfg "
                           "[--receipts OUT] FILE");
        char err [600];
        gom_config_t *cfg = gom_config_load (a.config, "hub", err, sizeof err);
        if (!cfg)
            return s_fail ("%s", err);
        int rc = hub_import (cfg, argv [argc - 1], a.receipts, stdout, err,
                             sizeof err);
        gom_config_destroy (&cfg);
        return rc == 0 ? 0 : s_fail ("%s", err);
    }
    if (strcmp (cmd, "run") == 0) {
        if (!a.config)
            return s_fail ("run needs --config DIR/hub.cfg");
        char err [512];
        gom_config_t *cfg = gom_config_load (a.config, "hub", err, sizeof err);
        if (!cfg)
            return s_fail ("%s", err);
        int rc = hub_server_run (cfg);
        gom_config_destroy (&cfg);
        return rc;
    }
    fprintf (stderr, "gom-hub: unknown command '%s'\n%s", cmd, s_usage);
    return 2;
}
