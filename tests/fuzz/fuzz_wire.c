/*  fuzz_wire: the hub's decode-and-check path for one incoming message, as
    hub_server.c (s_receive, s_limit_report) and hub_store.c (s_report)
    run it, without the sockets and the database: one frame is decoded
    with the hub's byte budget (gom_wire_decode_keeping), a report is held
    to the hub's default limits, to its 16-byte report_id and to
    gom_report_check, the bytes the hub would store as its content must
    read as the same content (or, none kept, its canonical content is
    packed), and then it is validated as the hub
    does before storing (hub_catalog_validate: the unit tree, the form and
    version, gom_form_check_report) against the seed form pack and the
    sample unit tree. A report is also checked against a fixed form of the
    pack, and a hello is answered with the forms the agent lacks
    (hub_catalog_offer).

    A frame must be accepted or refused with a reason; crashes, leaks and
    undefined behaviour are ASan's and UBSan's. */
#include "fuzz_util.h"
#include "gom_wire.h"
#include "hub_catalog.h"

static hub_catalog_t *s_catalog;

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_forms_load ();
    const char *units = getenv ("GOM_FUZZ_UNITS");
    if (!units)
        units = GOM_FUZZ_SOURCE_DIR "/deploy/units-ha-tinh-sample.csv";
    char err [1024];
    s_catalog = hub_catalog_load (fuzz_forms_dir (), units, err, sizeof err);
    FUZZ_REQUIRE (s_catalog, "%s", err);
    FUZZ_REQUIRE (hub_catalog_form_count (s_catalog) > 0, "no form pack");
    return 0;
}

static void
s_send (void *arg, const char *code, uint32_t version, const char *text,
        size_t len)
{
    (void)version;
    (void)text;
    (void)len;
    FUZZ_REQUIRE (code && *code, "offered a form without a code");
    (*(size_t *)arg)++;
}

//  The hub's defaults (hub.cfg.sample): max_cells_per_report,
//  max_text_bytes_per_report.
#define HUB_MAX_CELLS      5000
#define HUB_MAX_TEXT_BYTES 262144

static void
s_report (const Gom__Report *r, const uint8_t *bytes, size_t bytes_len)
{
    size_t text_bytes = 0;
    for (size_t i = 0; i < r->n_texts; i++)
        if (r->texts [i]->text)
            text_bytes += strlen (r->texts [i]->text);
    if (r->n_cells > HUB_MAX_CELLS || text_bytes > HUB_MAX_TEXT_BYTES)
        return;  //  NACK too-large
    if (r->report_id.len != GOM_ID_BYTES)
        return;  //  NACK invalid
    char err [200] = "";
    if (gom_report_check (r, err, sizeof err) != 0) {
        FUZZ_REFUSED_WITH_REASON (err);
        return;
    }
    size_t len = 0;
    uint8_t *content = gom_report_content (r, &len);
    FUZZ_REQUIRE (content, "no content");
    FUZZ_REQUIRE (!bytes || gom_report_same_content (bytes, bytes_len, r),
                  "the report's kept bytes do not read as its content");
    free (content);
    hub_result_t res;
    memset (&res, 0, sizeof res);
    if (!hub_catalog_validate (s_catalog, r, &res)) {
        FUZZ_REQUIRE (res.code [0] && res.reason [0],
                      "validation refused without a code and reason");
        FUZZ_REQUIRE (res.permanent, "validation refusal not permanent");
    }
    fuzz_check_problems (fuzz_form_fixed (), r);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    //  hub_server.c: an empty frame is refused before decoding.
    if (size == 0)
        return 0;
    gom_wire_msg_t *w = gom_wire_decode_keeping (data, size, 8 * size + 65536);
    FUZZ_REQUIRE (w, "gom_wire_decode_keeping returned NULL");
    Gom__Envelope *env = gom_wire_env (w);
    if (gom_wire_status (w) != GOM_WIRE_OK) {
        FUZZ_REQUIRE (env == NULL, "an envelope with a failed status");
        FUZZ_REFUSED_WITH_REASON (gom_wire_error (w));
    }
    else {
        FUZZ_REQUIRE (env, "status OK without an envelope");
        if (env->body_case == GOM__ENVELOPE__BODY_REPORT) {
            size_t blen = 0;
            const uint8_t *bytes = gom_wire_report_bytes (w, &blen);
            s_report (env->report, bytes, blen);
        }
        else if (env->body_case == GOM__ENVELOPE__BODY_HELLO) {
            size_t sent = 0;
            hub_catalog_offer (s_catalog, env->hello, s_send, &sent);
        }
    }
    gom_wire_msg_destroy (&w);
    return 0;
}
