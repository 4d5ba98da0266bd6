/*  fuzz_config: the config loader (gom_config_load: czmq's ZPL reader and
    the one section), on the input as a file, read as a hub's and as an
    agent's: every key each program reads, as a string, a whole number in
    its range and a path, and the agent's whole option reading
    (agent_options_load) unless the file names a units_file (that would
    read whatever file the input names). */
#include "fuzz_util.h"
#include "agent_sender.h"
#include "gom_config.h"

#include <czmq.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    //  zconfig reports syntax errors on the log; keep the output readable.
    static FILE *null;
    null = fopen ("/dev/null", "w");
    if (null)
        zsys_set_logstream (null);
    return 0;
}

static const char *s_keys [] = {
    "endpoint",
    "database",
    "keys",
    "cert",
    "max_message_bytes",
    "max_cells_per_report",
    "max_text_bytes_per_report",
    "max_reports_per_minute",
    "max_connections",
    "batch_max",
    "heartbeat_ivl_ms",
    "heartbeat_timeout_ms",
    "handshake_ivl_ms",
    "tcp_maxrt_ms",
    "backlog",
    "io_threads",
    "forms",
    "units",
    "http_address",
    "http_port",
    "http_cookie_secure",
    "http_session_hours",
    "http_max_connections",
    "metrics_public",
    "hub",
    "hub_key",
    "units_file",
    "outbox",
    "spool",
    "window",
    "resend_min_ms",
    "resend_max_ms",
    "retention_days",
    "max_report_bytes",
    "a/b",
    "",
};

static void
s_read (const char *path, const char *section)
{
    char err [2048] = "";
    gom_config_t *cfg = gom_config_load (path, section, err, sizeof err);
    if (!cfg) {
        FUZZ_REFUSED_WITH_REASON (err);
        return;
    }
    FUZZ_REQUIRE (gom_config_path (cfg) && gom_config_dir (cfg), "no path");
    for (size_t i = 0; i < sizeof s_keys / sizeof s_keys [0]; i++) {
        gom_config_str (cfg, s_keys [i], NULL);
        int64_t v = 0;
        err [0] = 0;
        if (gom_config_int (cfg, s_keys [i], 7, 0, 65535, &v, err,
                            sizeof err) != 0)
            FUZZ_REFUSED_WITH_REASON (err);
        else
            FUZZ_REQUIRE (v >= 0 && v <= 65535, "%s out of range", s_keys [i]);
        gom_config_int (cfg, s_keys [i], 0, INT64_MIN, INT64_MAX, &v, err,
                        sizeof err);
        free (gom_config_file (cfg, s_keys [i], "dflt"));
    }
    if (strcmp (section, "agent") == 0 &&
        !gom_config_str (cfg, "units_file", NULL)) {
        agent_options_t opt;
        err [0] = 0;
        if (agent_options_load (cfg, &opt, err, sizeof err) == 0)
            agent_options_free (&opt);
        else
            FUZZ_REFUSED_WITH_REASON (err);
    }
    gom_config_destroy (&cfg);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    const char *path = fuzz_write ("gom.cfg", data, size);
    s_read (path, "hub");
    s_read (path, "agent");
    return 0;
}
