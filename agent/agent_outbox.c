/*  agent_outbox: see agent_outbox.h. */
#include "agent_outbox.h"
#include "agent_xlsx.h"
#include "gom_csv.h"
#include "gom_db.h"
#include "gom_form.h"
#include "gom_report.h"
#include "gom_util.h"

#include <czmq.h>
#include <strings.h>
#include <sys/statvfs.h>

struct _agent_outbox_t {
    sqlite3 *db;  //  outbox.db
};

static const char *s_schema =
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS outbox ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  report_id BLOB NOT NULL UNIQUE,"
    "  unit TEXT NOT NULL, form TEXT NOT NULL, period TEXT NOT NULL,"
    "  revision INTEGER NOT NULL,"
    "  content BLOB NOT NULL,"  //  canonical cells+texts, to compare
    "  payload BLOB NOT NULL,"  //  the packed Report as sent
    "  sealed_ms INTEGER NOT NULL,"
    "  source TEXT,"
    "  state TEXT NOT NULL DEFAULT 'queued'"
    "    CHECK (state IN ('queued', 'sent', 'acked', 'rejected')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  last_sent_ms INTEGER,"
    "  receipt INTEGER, hub_ms INTEGER, acked_ms INTEGER, hub_db_id TEXT,"
    "  code TEXT, reason TEXT, use_revision INTEGER,"
    "  UNIQUE (unit, form, period, revision));"
    "CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state, seq);";

agent_outbox_t *
agent_outbox_open (const char *path, bool create, char *err, size_t errlen)
{
    if (!create && access (path, F_OK) != 0) {
        snprintf (err, errlen, "%s: no outbox here (run gom-agent init)", path);
        return NULL;
    }
    agent_outbox_t *self = calloc (1, sizeof *self);
    assert (self);
    self->db = gom_db_open (path, create, err, errlen);
    //  Only a new file needs the schema; an existing one is opened without
    //  taking the write lock, so `status` never waits behind the sender.
    sqlite3_stmt *st = NULL;
    bool ready = false;
    if (self->db && sqlite3_prepare_v2 (self->db,
                                        "SELECT count(*) FROM sqlite_master "
                                        "WHERE name IN ('meta', 'outbox')",
                                        -1, &st, NULL) == SQLITE_OK)
        ready =
            sqlite3_step (st) == SQLITE_ROW && sqlite3_column_int (st, 0) == 2;
    sqlite3_finalize (st);
    if (!self->db || (!ready && gom_db_exec (self->db, s_schema) != 0)) {
        if (self->db)
            snprintf (err, errlen, "%s: %s", path, sqlite3_errmsg (self->db));
        agent_outbox_destroy (&self);
        return NULL;
    }
    return self;
}

void
agent_outbox_destroy (agent_outbox_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gom_db_close (&(*self_p)->db);
    free (*self_p);
    *self_p = NULL;
}

sqlite3 *
agent_outbox_db (agent_outbox_t *self)
{
    return self->db;
}

//  Why a write to the outbox failed, for a person: a full disk is named as
//  such, with the file, since that is the one they can do something about.
static void
s_write_failed (agent_outbox_t *self, const char *what, char *line,
                size_t linelen)
{
    const char *path = sqlite3_db_filename (self->db, "main");
    if ((sqlite3_extended_errcode (self->db) & 0xff) == SQLITE_FULL)
        snprintf (line, linelen,
                  "not queued: no space left on the disk of the outbox %s "
                  "(%s: %s); free some space, then submit it again",
                  path, what, sqlite3_errmsg (self->db));
    else
        snprintf (line, linelen, "not queued: outbox %s: %s: %s", path, what,
                  sqlite3_errmsg (self->db));
}

//  0 if the outbox's disk keeps AGENT_OUTBOX_RESERVE free after a report
//  of about bytes; else -1 with line filled. A disk that cannot be asked
//  counts as roomy: sqlite will say if it is not.
static int
s_room_for (agent_outbox_t *self, size_t bytes, char *line, size_t linelen)
{
    const char *path = sqlite3_db_filename (self->db, "main");
    struct statvfs fs;
    if (!path || !*path || statvfs (path, &fs) != 0)
        return 0;
    uint64_t avail = (uint64_t)fs.f_bavail * fs.f_frsize;
    //  The row is written to the WAL, then into the file: count it twice.
    if (avail >= AGENT_OUTBOX_RESERVE + 2 * (uint64_t)bytes)
        return 0;
    snprintf (line, linelen,
              "not queued: no space left on the disk of the outbox %s "
              "(%" PRIu64 " KiB free; the agent keeps %d MiB free there so "
              "that it can go on recording the hub's answers); free some "
              "space, then submit it again",
              path, avail / 1024, AGENT_OUTBOX_RESERVE / (1024 * 1024));
    return -1;
}

static bool
s_unit_allowed (char **units, const char *unit)
{
    for (char **u = units; u && *u; u++)
        if (strcmp (*u, unit) == 0)
            return true;
    return false;
}

//  Excel turns a unit code such as 00412 on a template's #gom line into
//  the number 412. A unit of digits only that is not one of this agent's
//  units is the one of them that is the same number with leading zeros, if
//  exactly one is; else NULL.
static const char *
s_unit_padded (char **units, const char *unit)
{
    if (!*unit || strspn (unit, "0123456789") != strlen (unit) ||
        s_unit_allowed (units, unit))
        return NULL;
    const char *found = NULL;
    size_t n = 0;
    const char *bare = unit + strspn (unit, "0");
    for (char **u = units; u && *u; u++) {
        const char *digits = *u + strspn (*u, "0");
        if (strspn (*u, "0123456789") == strlen (*u) &&
            strcmp (digits, bare) == 0) {
            found = *u;
            n++;
        }
    }
    return n == 1 ? found : NULL;
}

Gom__Report *
agent_read_report (const char *path, agent_file_t *kind_p,
                   gom_xlsx_places_t **places_p, bool *later_p, char *warn,
                   size_t warnlen, char *err, size_t errlen)
{
    size_t plen = strlen (path);
    bool csv = plen > 4 && strcasecmp (path + plen - 4, ".csv") == 0;
    bool xlsx = plen > 5 && strcasecmp (path + plen - 5, ".xlsx") == 0;
    if (kind_p)
        *kind_p = csv    ? AGENT_FILE_CSV
                  : xlsx ? AGENT_FILE_XLSX
                         : AGENT_FILE_JSON;
    *places_p = NULL;
    if (later_p)
        *later_p = false;
    if (warn && warnlen)
        warn [0] = 0;
    return csv    ? gom_csv_read_noted (path, warn, warnlen, err, errlen)
           : xlsx ? agent_xlsx_read (path, places_p, later_p, err, errlen)
                  : gom_report_from_json (path, err, errlen);
}

char *
agent_check_report (gom_form_t *form, const Gom__Report *report,
                    gom_xlsx_places_t *places, size_t *count)
{
    char *problems = gom_form_check_report (form, report, count);
    if (problems && places) {
        char *located = gom_xlsx_locate (places, problems);
        free (problems);
        problems = located;
    }
    return problems;
}

outbox_take_t
agent_outbox_take_file (agent_outbox_t *self, const char *path, char **units,
                        int64_t max_bytes, const char *forms_dir, bool revise,
                        char *line, size_t linelen, char *warn, size_t warnlen)
{
    char err [2048];
    agent_file_t kind;
    gom_xlsx_places_t *places;
    bool later;
    Gom__Report *r = agent_read_report (path, &kind, &places, &later, warn,
                                        warnlen, err, sizeof err);
    bool csv = kind == AGENT_FILE_CSV, xlsx = kind == AGENT_FILE_XLSX;
    if (!r) {
        snprintf (line, linelen, "%s", err);
        return later ? OUTBOX_LATER : OUTBOX_REFUSED;
    }
    outbox_take_t result = OUTBOX_REFUSED;
    uint8_t *content = NULL, *payload = NULL;
    size_t content_len = 0, payload_len = 0;
    const char *padded = s_unit_padded (units, r->unit);
    if (padded) {
        size_t used = warn ? strlen (warn) : 0;
        if (warn && used < warnlen)
            snprintf (warn + used, warnlen - used,
                      "%sunit %s read as %s, this agent's unit (a "
                      "spreadsheet drops leading zeros)\n"
                      "mã đơn vị %s được hiểu là %s, đơn vị của máy này "
                      "(bảng tính đã bỏ các số 0 ở đầu)",
                      used ? "\n" : "", r->unit, padded, r->unit, padded);
        free (r->unit);
        r->unit = strdup (padded);
    }
    if (!s_unit_allowed (units, r->unit)) {
        char list [256] = "";
        for (char **u = units; u && *u; u++)
            snprintf (list + strlen (list), sizeof list - strlen (list), "%s%s",
                      u == units ? "" : ",", *u);
        snprintf (line, linelen,
                  "unit %s is not one of this agent's units (%s)", r->unit,
                  list);
        goto done;
    }
    //  The form's own checks, offline, when the hub has sent us the form.
    char checked [200];
    char ferr [300];
    gom_form_t *form = forms_dir
                           ? gom_form_find (forms_dir, r->form, r->form_version,
                                            ferr, sizeof ferr)
                           : NULL;
    bool codes_cached = false;
    if (!form) {
        //  The hub sends every form of its pack when the agent connects: a
        //  form none of them is (a mistyped code) is refused here, before
        //  anything is queued. With no form received yet, the hub checks.
        char **codes = gom_form_cached_codes (forms_dir);
        bool has = false;
        char list [300] = "";
        for (char **c = codes; *c; c++) {
            has = has || strcmp (*c, r->form) == 0;
            if (strlen (list) + strlen (*c) + 3 < sizeof list)
                snprintf (list + strlen (list), sizeof list - strlen (list),
                          "%s%s", c == codes ? "" : ", ", *c);
        }
        bool refuse = codes [0] && !has;
        codes_cached = codes [0] != NULL;
        gom_strv_free (&codes);
        if (refuse) {
            snprintf (line, linelen,
                      "form %s is not one of the forms the hub has sent "
                      "this agent (%s): check the form code%s",
                      r->form, list,
                      csv    ? " on the #gom line (line 1)"
                      : xlsx ? " (the workbook was made from a template of "
                               "another hub?)"
                             : "");
            goto done;
        }
        //  A workbook's layout is its form version's: one this agent does
        //  not have cannot be checked cell for cell here.
        if (xlsx && codes_cached) {
            snprintf (line, linelen,
                      "biểu %s phiên bản %u không có ở máy này / the workbook "
                      "was made for form %s version %u, which the hub has not "
                      "sent this agent (%s): make a new one with gom-agent "
                      "template --xlsx",
                      r->form, r->form_version, r->form, r->form_version, ferr);
            goto done;
        }
    }
    if (form) {
        size_t count = 0;
        char *problems = agent_check_report (form, r, places, &count);
        if (problems) {
            size_t n = strlen (problems);
            if (n && problems [n - 1] == '\n')
                problems [n - 1] = 0;
            snprintf (line, linelen, "%zu problem%s against form %s v%u:\n%s",
                      count, count == 1 ? "" : "s", gom_form_code (form),
                      gom_form_version (form), problems);
            free (problems);
            gom_form_destroy (&form);
            goto done;
        }
        r->form_version = gom_form_version (form);
        snprintf (checked, sizeof checked, "(checked against form %s v%u)",
                  gom_form_code (form), gom_form_version (form));
        gom_form_destroy (&form);
    }
    else if (r->form_version && forms_dir)
        snprintf (checked, sizeof checked,
                  "(not checked: form %s v%u not received from the hub yet)",
                  r->form, r->form_version);
    else
        snprintf (checked, sizeof checked,
                  "(not checked: form %s not received from the hub yet)",
                  r->form);
    uint8_t id [GOM_ID_BYTES];
    r->sealed_at_ms = gom_now_ms ();
    if (gom_report_id_new (id, r->sealed_at_ms) != 0) {
        snprintf (line, linelen, "no random source: %s", strerror (errno));
        goto done;
    }
    r->report_id.data = malloc (GOM_ID_BYTES);
    memcpy (r->report_id.data, id, GOM_ID_BYTES);
    r->report_id.len = GOM_ID_BYTES;
    content = gom_report_content (r, &content_len);
    payload_len = gom__report__get_packed_size (r);
    if ((int64_t)payload_len > max_bytes) {
        snprintf (line, linelen,
                  "report is %zu bytes packed; the most this agent sends is "
                  "%" PRId64 " (max_report_bytes)",
                  payload_len, max_bytes);
        goto done;
    }
    payload = malloc (payload_len);
    gom__report__pack (r, payload);

    if (s_room_for (self, content_len + payload_len, line, linelen) != 0)
        goto done;
    //  One transaction per report; COMMIT returns only when it is on disk
    //  (WAL, synchronous=FULL), and only then do we say "queued".
    if (gom_db_exec (self->db, "BEGIN IMMEDIATE") != 0) {
        s_write_failed (self, "busy or not writable", line, linelen);
        goto done;
    }
    if (revise) {
        //  A correction: the next revision after the latest one here,
        //  unless the content is the latest one's (then nothing is new).
        sqlite3_stmt *lt = gom_db_prepare (
            self->db, "SELECT revision, content, report_id, state FROM outbox "
                      "WHERE unit=? AND form=? AND period=? "
                      "ORDER BY revision DESC LIMIT 1");
        int lrc = SQLITE_ERROR;
        if (lt) {
            sqlite3_bind_text (lt, 1, r->unit, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text (lt, 2, r->form, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text (lt, 3, r->period, -1, SQLITE_TRANSIENT);
            lrc = sqlite3_step (lt);
        }
        if (lrc == SQLITE_ROW) {
            uint32_t latest = (uint32_t)sqlite3_column_int64 (lt, 0);
            bool same =
                (size_t)sqlite3_column_bytes (lt, 1) == content_len &&
                memcmp (sqlite3_column_blob (lt, 1), content, content_len) == 0;
            if (same) {
                char hex [2 * GOM_ID_BYTES + 1] = "";
                if (sqlite3_column_bytes (lt, 2) == GOM_ID_BYTES)
                    gom_hex (sqlite3_column_blob (lt, 2), GOM_ID_BYTES, hex);
                snprintf (line, linelen,
                          "%s %s %s r%u %s (%s; the same content as the "
                          "latest revision: nothing new to send)",
                          r->unit, r->form, r->period, latest, hex,
                          sqlite3_column_text (lt, 3));
                sqlite3_finalize (lt);
                gom_db_exec (self->db, "ROLLBACK");
                result = OUTBOX_SAME;
                goto done;
            }
            r->revision = latest + 1;
            free (payload);
            payload_len = gom__report__get_packed_size (r);
            payload = malloc (payload_len);
            gom__report__pack (r, payload);
        }
        sqlite3_finalize (lt);
    }
    sqlite3_stmt *st = gom_db_prepare (
        self->db, "SELECT content, report_id, state FROM outbox "
                  "WHERE unit=? AND form=? AND period=? AND revision=?");
    int rc = SQLITE_ERROR;
    if (st) {
        sqlite3_bind_text (st, 1, r->unit, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (st, 2, r->form, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (st, 3, r->period, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int (st, 4, (int)r->revision);
        rc = sqlite3_step (st);
    }
    if (rc == SQLITE_ROW) {
        char hex [2 * GOM_ID_BYTES + 1] = "";
        if (sqlite3_column_bytes (st, 1) == GOM_ID_BYTES)
            gom_hex (sqlite3_column_blob (st, 1), GOM_ID_BYTES, hex);
        bool same =
            (size_t)sqlite3_column_bytes (st, 0) == content_len &&
            memcmp (sqlite3_column_blob (st, 0), content, content_len) == 0;
        if (same) {
            snprintf (line, linelen, "%s %s %s r%u %s (%s)", r->unit, r->form,
                      r->period, r->revision, hex, sqlite3_column_text (st, 2));
            result = OUTBOX_SAME;
        }
        else {
            sqlite3_stmt *mx = gom_db_prepare (
                self->db, "SELECT max(revision) FROM outbox "
                          "WHERE unit=? AND form=? AND period=?");
            int64_t max = r->revision;
            if (mx) {
                sqlite3_bind_text (mx, 1, r->unit, -1, SQLITE_TRANSIENT);
                sqlite3_bind_text (mx, 2, r->form, -1, SQLITE_TRANSIENT);
                sqlite3_bind_text (mx, 3, r->period, -1, SQLITE_TRANSIENT);
                if (sqlite3_step (mx) == SQLITE_ROW)
                    max = sqlite3_column_int64 (mx, 0);
                sqlite3_finalize (mx);
            }
            snprintf (line, linelen,
                      "%s %s %s revision %u is already in the outbox with "
                      "other content; to send a correction, submit it with "
                      "--revise (it becomes revision %" PRId64 ")",
                      r->unit, r->form, r->period, r->revision, max + 1);
        }
        sqlite3_finalize (st);
        gom_db_exec (self->db, "ROLLBACK");
        goto done;
    }
    sqlite3_finalize (st);
    if (rc != SQLITE_DONE) {
        snprintf (line, linelen, "outbox: %s", sqlite3_errmsg (self->db));
        gom_db_exec (self->db, "ROLLBACK");
        goto done;
    }
    st = gom_db_prepare (
        self->db,
        "INSERT INTO outbox (report_id, unit, form, period, revision, "
        "content, payload, sealed_ms, source) "
        "VALUES (?,?,?,?,?,?,?,?,?)");
    rc = SQLITE_ERROR;
    if (st) {
        sqlite3_bind_blob (st, 1, id, GOM_ID_BYTES, SQLITE_TRANSIENT);
        sqlite3_bind_text (st, 2, r->unit, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (st, 3, r->form, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text (st, 4, r->period, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int (st, 5, (int)r->revision);
        sqlite3_bind_blob (st, 6, content, (int)content_len, SQLITE_TRANSIENT);
        sqlite3_bind_blob (st, 7, payload, (int)payload_len, SQLITE_TRANSIENT);
        sqlite3_bind_int64 (st, 8, r->sealed_at_ms);
        sqlite3_bind_text (st, 9, path, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step (st);
        sqlite3_finalize (st);
    }
    if (rc != SQLITE_DONE) {
        s_write_failed (self, "cannot write", line, linelen);
        gom_db_exec (self->db, "ROLLBACK");
        goto done;
    }
    if (sqlite3_exec (self->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        s_write_failed (self, "cannot commit", line, linelen);
        if (!sqlite3_get_autocommit (self->db))
            gom_db_exec (self->db, "ROLLBACK");
        goto done;
    }
    char hex [2 * GOM_ID_BYTES + 1];
    gom_hex (id, GOM_ID_BYTES, hex);
    snprintf (line, linelen, "%s %s %s r%u %s %s", r->unit, r->form, r->period,
              r->revision, hex, checked);
    result = OUTBOX_QUEUED;
done:
    free (content);
    free (payload);
    gom_report_free (&r);
    gom_xlsx_places_destroy (&places);
    return result;
}

static json_t *
s_col_json (sqlite3_stmt *st, int col)
{
    switch (sqlite3_column_type (st, col)) {
        case SQLITE_NULL: return json_null ();
        case SQLITE_INTEGER:
            return json_integer (sqlite3_column_int64 (st, col));
        default:
            return json_string ((const char *)sqlite3_column_text (st, col));
    }
}

//  key_at: the time as ISO 8601, or null.
static void
s_set_time (json_t *obj, const char *key, int64_t ms)
{
    json_object_set_new (obj, key, gom_time_json (ms));
}

//  The answers to an IT person's first questions (docs/cli.md, status):
//  is it running, since when; is it connected, since when; what waits
//  longest, and why.
static void
s_status_answers (sqlite3 *db, json_t *obj)
{
    int64_t pid = gom_db_meta_int (db, "run_pid");
    bool running = gom_pid_named (pid, "gom-agent");
    json_object_set_new (obj, "running", json_boolean (running));
    json_object_set_new (obj, "pid",
                         running ? json_integer (pid) : json_null ());
    s_set_time (obj, "running_since_at",
                running ? gom_db_meta_int (db, "run_started_ms") : 0);
    s_set_time (obj, "stopped_at",
                running ? 0 : gom_db_meta_int (db, "run_stopped_ms"));
    int64_t since = running ? gom_db_meta_int (db, "connected_since_ms") : 0;
    json_object_set_new (obj, "connected", json_boolean (since > 0));
    s_set_time (obj, "connected_since_at", since);
    s_set_time (
        obj, "disconnected_since_at",
        running && !since ? gom_db_meta_int (db, "disconnected_since_ms") : 0);
    //  Hung up with nothing to send (quiet_after_ms): since when, and when
    //  it says hello again if no report wakes it first.
    int64_t quiet = running ? gom_db_meta_int (db, "quiet_since_ms") : 0;
    s_set_time (obj, "quiet_since_at", quiet);
    s_set_time (obj, "check_in_at",
                quiet ? gom_db_meta_int (db, "check_in_at_ms") : 0);
    sqlite3_stmt *st = gom_db_prepare (
        db, "SELECT unit, form, period, revision, state, attempts, sealed_ms "
            "FROM outbox WHERE state IN ('queued', 'sent') ORDER BY seq "
            "LIMIT 1");
    json_t *stuck = json_null ();
    if (st && sqlite3_step (st) == SQLITE_ROW) {
        const char *state = (const char *)sqlite3_column_text (st, 4);
        char *error = gom_db_meta_get (db, "last_error");
        const char *why;
        if (!running)
            why = gom_db_meta_int (db, "run_started_ms") > 0
                      ? "the agent is not running (stopped, killed or "
                        "crashed): start it (systemctl start gom-agent)"
                      : "the agent has never run here: start it "
                        "(systemctl start gom-agent)";
        else if (error && *error)
            why = error;
        else if (!since)
            why = "not connected to the hub yet";
        else if (strcmp (state, "sent") == 0)
            why = "sent; waiting for the hub's acknowledgement";
        else
            why = "queued behind the reports in flight";
        stuck = json_pack (
            "{s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:s}", "unit",
            (const char *)sqlite3_column_text (st, 0), "form",
            (const char *)sqlite3_column_text (st, 1), "period",
            (const char *)sqlite3_column_text (st, 2), "revision",
            (json_int_t)sqlite3_column_int64 (st, 3), "state", state,
            "attempts", (json_int_t)sqlite3_column_int64 (st, 5), "age_s",
            (json_int_t)((gom_now_ms () - sqlite3_column_int64 (st, 6)) / 1000),
            "why", why);
        free (error);
    }
    sqlite3_finalize (st);
    json_object_set_new (obj, "stuck", stuck);
}

json_t *
agent_outbox_status_json (agent_outbox_t *self)
{
    json_t *obj = json_pack ("{s:i, s:i, s:i, s:i, s:i}", "queued", 0, "sent",
                             0, "acked", 0, "rejected", 0, "total", 0);
    gom_db_exec (self->db, "BEGIN");
    sqlite3_stmt *st = gom_db_prepare (
        self->db, "SELECT state, count(*) FROM outbox GROUP BY state");
    int64_t total = 0;
    while (st && sqlite3_step (st) == SQLITE_ROW) {
        json_object_set_new (obj, (const char *)sqlite3_column_text (st, 0),
                             json_integer (sqlite3_column_int64 (st, 1)));
        total += sqlite3_column_int64 (st, 1);
    }
    sqlite3_finalize (st);
    json_object_set_new (obj, "total", json_integer (total));
    st = gom_db_prepare (self->db, "SELECT min(sealed_ms) FROM outbox WHERE "
                                   "state IN ('queued', 'sent')");
    json_t *age = json_null ();
    if (st && sqlite3_step (st) == SQLITE_ROW &&
        sqlite3_column_type (st, 0) != SQLITE_NULL)
        age = json_integer ((gom_now_ms () - sqlite3_column_int64 (st, 0)) /
                            1000);
    sqlite3_finalize (st);
    json_object_set_new (obj, "oldest_queued_age_s", age);
    char *contact = gom_db_meta_get (self->db, "last_contact_ms");
    if (contact) {
        char buf [32];
        gom_iso_time (atoll (contact), buf, sizeof buf);
        json_object_set_new (obj, "last_contact_ms",
                             json_integer (atoll (contact)));
        json_object_set_new (obj, "last_contact_at", json_string (buf));
    }
    else {
        json_object_set_new (obj, "last_contact_ms", json_null ());
        json_object_set_new (obj, "last_contact_at", json_null ());
    }
    free (contact);
    char *last_error = gom_db_meta_get (self->db, "last_error");
    json_object_set_new (obj, "last_error",
                         last_error && *last_error ? json_string (last_error)
                                                   : json_null ());
    free (last_error);
    char *hub_db_id = gom_db_meta_get (self->db, "hub_db_id");
    json_object_set_new (obj, "hub_db_id",
                         hub_db_id ? json_string (hub_db_id) : json_null ());
    free (hub_db_id);
    s_status_answers (self->db, obj);
    gom_db_exec (self->db, "COMMIT");
    return obj;
}

json_t *
agent_outbox_list_json (agent_outbox_t *self)
{
    json_t *list = json_array ();
    sqlite3_stmt *st = gom_db_prepare (
        self->db, "SELECT report_id, unit, form, period, revision, state, "
                  "receipt, code, reason, use_revision, sealed_ms, acked_ms, "
                  "attempts, source FROM outbox ORDER BY seq");
    const char *names [] = { NULL,           "unit",      "form",
                             "period",       "revision",  "state",
                             "receipt",      "code",      "reason",
                             "use_revision", "sealed_ms", "acked_ms",
                             "attempts",     "source" };
    while (st && sqlite3_step (st) == SQLITE_ROW) {
        json_t *obj = json_object ();
        char hex [2 * GOM_ID_BYTES + 1] = "";
        if (sqlite3_column_bytes (st, 0) == GOM_ID_BYTES)
            gom_hex (sqlite3_column_blob (st, 0), GOM_ID_BYTES, hex);
        json_object_set_new (obj, "report_id", json_string (hex));
        for (int col = 1; col < 14; col++)
            json_object_set_new (obj, names [col], s_col_json (st, col));
        json_array_append_new (list, obj);
    }
    sqlite3_finalize (st);
    return list;
}
