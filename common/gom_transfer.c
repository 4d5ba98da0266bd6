/*  gom_transfer: see gom_transfer.h. */
#include "gom_transfer.h"
#include "gom_util.h"
#include "gom_wire.h"

#include <czmq.h>
#include <sodium.h>

static const char s_magic [] = "GOMTRANSFER1\n";
#define MAGIC_LEN  (sizeof s_magic - 1)
#define KEY_LEN    32
#define HEADER_LEN (MAGIC_LEN + 2 * KEY_LEN + crypto_box_NONCEBYTES)

void
gom_transfer_add (Gom__Transfer *t, uint8_t *data, size_t len)
{
    t->envelopes =
        realloc (t->envelopes, (t->n_envelopes + 1) * sizeof *t->envelopes);
    assert (t->envelopes);
    t->envelopes [t->n_envelopes].data = data;
    t->envelopes [t->n_envelopes++].len = len;
}

void
gom_transfer_clear (Gom__Transfer *t)
{
    for (size_t i = 0; i < t->n_envelopes; i++)
        free (t->envelopes [i].data);
    free (t->envelopes);
    t->envelopes = NULL;
    t->n_envelopes = 0;
}

int
gom_transfer_write (const char *path, Gom__Transfer *t,
                    const uint8_t *sender_public, const uint8_t *sender_secret,
                    const uint8_t *receiver_public, char *err, size_t errlen)
{
    if (sodium_init () < 0) {
        snprintf (err, errlen, "libsodium does not initialize");
        return -1;
    }
    t->version = GOM_PROTOCOL_VERSION;
    size_t plain_len = gom__transfer__get_packed_size (t);
    uint8_t *plain = malloc (plain_len + 1);
    size_t len = HEADER_LEN + crypto_box_MACBYTES + plain_len;
    uint8_t *file = malloc (len);
    assert (plain && file);
    gom__transfer__pack (t, plain);
    memcpy (file, s_magic, MAGIC_LEN);
    memcpy (file + MAGIC_LEN, sender_public, KEY_LEN);
    memcpy (file + MAGIC_LEN + KEY_LEN, receiver_public, KEY_LEN);
    uint8_t *nonce = file + MAGIC_LEN + 2 * KEY_LEN;
    randombytes_buf (nonce, crypto_box_NONCEBYTES);
    int rc = crypto_box_easy (file + HEADER_LEN, plain, plain_len, nonce,
                              receiver_public, sender_secret);
    sodium_memzero (plain, plain_len);
    free (plain);
    if (rc != 0)
        snprintf (err, errlen, "cannot seal the file");
    else if ((rc = gom_write_file (path, file, len, 0600, false)) != 0)
        snprintf (err, errlen, "%s: %s", path, strerror (errno));
    free (file);
    return rc;
}

Gom__Transfer *
gom_transfer_read (const char *path, const uint8_t *receiver_public,
                   const uint8_t *receiver_secret,
                   gom_transfer_accept_fn *accept, void *arg,
                   uint8_t *sender_public, char *err, size_t errlen)
{
    if (sodium_init () < 0) {
        snprintf (err, errlen, "libsodium does not initialize");
        return NULL;
    }
    char *text;
    size_t len;
    if (gom_read_file (path, GOM_TRANSFER_MAX, &text, &len) != 0) {
        if (errno == EFBIG)
            snprintf (err, errlen, "%s: over %d MiB: not a gom transfer file",
                      path, GOM_TRANSFER_MAX / 1048576);
        else
            snprintf (err, errlen, "%s: %s", path, strerror (errno));
        return NULL;
    }
    uint8_t *data = (uint8_t *)text;
    Gom__Transfer *t = NULL;
    if (len < HEADER_LEN + crypto_box_MACBYTES ||
        memcmp (data, s_magic, MAGIC_LEN) != 0)
        snprintf (err, errlen,
                  "%s: not a gom transfer file (it does not begin with "
                  "GOMTRANSFER1)",
                  path);
    else if (memcmp (data + MAGIC_LEN + KEY_LEN, receiver_public, KEY_LEN) !=
             0) {
        char z85 [41];
        zmq_z85_encode (z85, data + MAGIC_LEN + KEY_LEN, KEY_LEN);
        snprintf (err, errlen,
                  "%s: made for another key (%s), not this one: wrong hub "
                  "or wrong agent",
                  path, z85);
    }
    else {
        size_t box_len = len - HEADER_LEN;
        uint8_t *plain = malloc (box_len);
        assert (plain);
        const uint8_t *nonce = data + MAGIC_LEN + 2 * KEY_LEN;
        if (crypto_box_open_easy (plain, data + HEADER_LEN, box_len, nonce,
                                  data + MAGIC_LEN, receiver_secret) != 0)
            snprintf (err, errlen,
                      "%s: damaged, or not made with the key it names "
                      "(the seal does not open)",
                      path);
        else if (accept && !accept (arg, data + MAGIC_LEN, err, errlen))
            ;
        else {
            size_t plain_len = box_len - crypto_box_MACBYTES;
            t = gom__transfer__unpack (NULL, plain_len, plain);
            if (!t)
                snprintf (err, errlen,
                          "%s: sealed, but not a transfer "
                          "inside",
                          path);
            else
                memcpy (sender_public, data + MAGIC_LEN, KEY_LEN);
        }
        free (plain);
    }
    free (data);
    return t;
}
