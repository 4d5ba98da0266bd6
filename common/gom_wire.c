/*  gom_wire: see gom_wire.h. */
#include "gom_wire.h"

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  What is decoded lives in an arena: blocks handed out in order and freed
//  together with the message, one malloc for most messages where the
//  unpacking would make one per cell and string (a tenth of the hub's time
//  at full rate, docs/performance.md). Under AddressSanitizer each piece is
//  its own malloc, so that an overrun is still caught.
#if defined(__SANITIZE_ADDRESS__)
#define WIRE_ARENA 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WIRE_ARENA 0
#endif
#endif
#ifndef WIRE_ARENA
#define WIRE_ARENA 1
#endif

//  What protobuf-c's structures need: pointers, 64-bit integers, doubles.
typedef union {
    void *p;
    int64_t i;
    double d;
} align_t;

typedef struct _block_t {
    struct _block_t *next;
    size_t size, used;
    align_t data [];
} block_t;

struct _gom_wire_msg_t {
    ProtobufCAllocator alloc;  //  budgeted allocator used to unpack
    size_t used;               //  bytes handed out so far
    size_t budget;             //  most bytes we hand out
    block_t *blocks;           //  the arena, newest first
    Gom__Envelope *env;        //  decoded envelope, or NULL
    //  gom_wire_decode_keeping: the envelope read with its report as bytes
    //  (env is then made here around the report those bytes unpack to).
    Gom__ReportEnvelopeBytes *raw;
    bool kept;  //  raw's report is what env's was unpacked from, and kept
    gom_wire_status_t status;  //  what went wrong, if anything
    uint32_t version;          //  the sender's protocol version
    char error [128];          //  one line for logs and NACKs
};

//  A block of at least size bytes, first in the arena.
static block_t *
s_block_new (gom_wire_msg_t *self, size_t size)
{
    block_t *block = malloc (sizeof *block + size);
    if (!block)
        return NULL;
    block->size = size;
    block->used = 0;
    block->next = self->blocks;
    self->blocks = block;
    return block;
}

static void *
s_alloc (void *data, size_t size)
{
    gom_wire_msg_t *self = data;
    size_t align = WIRE_ARENA ? sizeof (align_t) : 1;
    size_t room = self->budget - self->used;
    if (size > room)
        return NULL;
    size = (size + align - 1) / align * align;  //  counted as it is given
    if (size > room)
        return NULL;
    self->used += size;
    if (!WIRE_ARENA)
        return malloc (size);
    block_t *block = self->blocks;
    if (!block || block->size - block->used < size)
        //  Each new block at least as large as all before it.
        block = s_block_new (self, size > self->used ? size : self->used);
    if (!block)
        return NULL;
    void *ptr = (char *)block->data + block->used;
    block->used += size;
    return ptr;
}

static void
s_free (void *data, void *ptr)
{
    (void)data;
    if (!WIRE_ARENA)
        free (ptr);
    //  else freed with the arena
}

//  A message with no arena yet (s_reset makes it).
static gom_wire_msg_t *
s_new (size_t budget)
{
    gom_wire_msg_t *self = calloc (1, sizeof *self);
    assert (self);
    self->alloc.alloc = s_alloc;
    self->alloc.free = s_free;
    self->alloc.allocator_data = self;
    self->budget = budget;
    return self;
}

//  Frees what was decoded, and starts the arena again: a first block sized
//  for a frame of len bytes, or none if len is 0 (the message is done
//  with). Decoded and kept (gom_wire_decode_keeping), the seed form's
//  report of 67 cells, 1,141 bytes, takes 8,318 bytes of the arena:
//  protobuf-c's scratch while it reads included, and the report's bytes.
static void
s_reset (gom_wire_msg_t *self, size_t len)
{
    if (!WIRE_ARENA) {
        if (self->env)
            gom__envelope__free_unpacked (self->env, &self->alloc);
        if (self->raw)
            gom__report_envelope_bytes__free_unpacked (self->raw, &self->alloc);
    }
    self->env = NULL;
    self->raw = NULL;
    self->kept = false;
    while (self->blocks) {
        block_t *next = self->blocks->next;
        free (self->blocks);
        self->blocks = next;
    }
    self->used = 0;
    size_t first = len < 8192 ? 8 * len + 1024 : 66560;
    if (WIRE_ARENA && len)
        s_block_new (self, first < self->budget ? first : self->budget);
}

//  The status of what was decoded from a frame of len bytes.
static void
s_judge (gom_wire_msg_t *self, size_t len)
{
    if (!self->env) {
        self->status = GOM_WIRE_MALFORMED;
        snprintf (self->error, sizeof self->error,
                  self->used >= self->budget / 2
                      ? "frame of %zu bytes is not a gom envelope (or too "
                        "large once decoded)"
                      : "frame of %zu bytes is not a gom envelope",
                  len);
        return;
    }
    self->version = self->env->version;
    if (self->env->version != GOM_PROTOCOL_VERSION) {
        self->status = GOM_WIRE_VERSION;
        snprintf (self->error, sizeof self->error,
                  "protocol version %u is not spoken here (this side speaks "
                  "%u)",
                  self->env->version, GOM_PROTOCOL_VERSION);
    }
    else if (self->env->body_case == GOM__ENVELOPE__BODY__NOT_SET) {
        self->status = GOM_WIRE_EMPTY;
        snprintf (self->error, sizeof self->error,
                  "envelope has no body (or a body type unknown here)");
    }
}

//  Decodes data as an Envelope, from a fresh arena.
static gom_wire_msg_t *
s_decode (gom_wire_msg_t *self, const uint8_t *data, size_t len)
{
    s_reset (self, len);
    self->env = gom__envelope__unpack (&self->alloc, len, data);
    s_judge (self, len);
    return self;
}

gom_wire_msg_t *
gom_wire_decode (const uint8_t *data, size_t len, size_t budget)
{
    return s_decode (s_new (budget), data, len);
}

gom_wire_msg_t *
gom_wire_decode_keeping (const uint8_t *data, size_t len, size_t budget)
{
    gom_wire_msg_t *self = s_new (budget);
    s_reset (self, len);
    //  Read as an envelope with its report left as bytes: taken only if
    //  that is all there is (a version, a report, no other field, which
    //  would be another body or one unknown here), and the bytes unpack.
    self->raw = gom__report_envelope_bytes__unpack (&self->alloc, len, data);
    Gom__ReportEnvelopeBytes *raw = self->raw;
    if (raw && raw->report.len > 0 && raw->base.n_unknown_fields == 0) {
        Gom__Report *report = gom__report__unpack (
            &self->alloc, raw->report.len, raw->report.data);
        Gom__Envelope *env = report ? s_alloc (self, sizeof *env) : NULL;
        if (env) {
            gom__envelope__init (env);
            env->version = raw->version;
            env->body_case = GOM__ENVELOPE__BODY_REPORT;
            env->report = report;
            self->env = env;
            //  Fields unknown here (in the report, a cell or a text) are
            //  not kept: what is stored is what was checked (the canonical
            //  content is made instead).
            self->kept = report->base.n_unknown_fields == 0;
            for (size_t i = 0; self->kept && i < report->n_cells; i++)
                self->kept = report->cells [i]->base.n_unknown_fields == 0;
            for (size_t i = 0; self->kept && i < report->n_texts; i++)
                self->kept = report->texts [i]->base.n_unknown_fields == 0;
            s_judge (self, len);
            return self;
        }
        if (report && !WIRE_ARENA)
            gom__report__free_unpacked (report, &self->alloc);
    }
    //  Anything else is decoded as gom_wire_decode does.
    return s_decode (self, data, len);
}

const uint8_t *
gom_wire_report_bytes (gom_wire_msg_t *self, size_t *len)
{
    if (!self->kept) {
        *len = 0;
        return NULL;
    }
    *len = self->raw->report.len;
    return self->raw->report.data;
}

gom_wire_status_t
gom_wire_status (gom_wire_msg_t *self)
{
    return self->status;
}

const char *
gom_wire_error (gom_wire_msg_t *self)
{
    return self->error;
}

Gom__Envelope *
gom_wire_env (gom_wire_msg_t *self)
{
    return self->status == GOM_WIRE_OK ? self->env : NULL;
}

uint32_t
gom_wire_version (gom_wire_msg_t *self)
{
    return self->version;
}

void
gom_wire_msg_destroy (gom_wire_msg_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gom_wire_msg_t *self = *self_p;
    s_reset (self, 0);
    free (self);
    *self_p = NULL;
}

uint8_t *
gom_wire_encode (Gom__Envelope *env, size_t *len)
{
    return gom_wire_encode_into (env, NULL, 0, len);
}

uint8_t *
gom_wire_encode_into (Gom__Envelope *env, uint8_t *buf, size_t cap, size_t *len)
{
    env->version = GOM_PROTOCOL_VERSION;
    size_t size = gom__envelope__get_packed_size (env);
    if (!buf || size > cap)
        buf = malloc (size ? size : 1);
    if (!buf)
        return NULL;
    *len = gom__envelope__pack (env, buf);
    return buf;
}

uint8_t *
gom_wire_wrap_report (const uint8_t *report, size_t len, size_t *out_len)
{
    //  Envelope.version = 1 (field 1, varint), then Envelope.report (field
    //  12, length-delimited): tag 12 << 3 | 2 = 0x62, varint length, bytes.
    uint8_t *buf = malloc (len + 16);
    if (!buf)
        return NULL;
    size_t n = 0;
    buf [n++] = 0x08;
    buf [n++] = GOM_PROTOCOL_VERSION;
    buf [n++] = 0x62;
    size_t v = len;
    do {
        uint8_t byte = v & 0x7F;
        v >>= 7;
        buf [n++] = v ? (byte | 0x80) : byte;
    } while (v);
    memcpy (buf + n, report, len);
    *out_len = n + len;
    return buf;
}
