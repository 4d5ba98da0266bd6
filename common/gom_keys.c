/*  gom_keys: see gom_keys.h. */
#include "gom_keys.h"
#include "gom_util.h"

#include <errno.h>
#include <sys/stat.h>

int
gom_keys_create (const char *cert_path, char *public_z85, char *err,
                 size_t errlen)
{
    zcert_t *cert = zcert_new ();
    if (!cert) {
        snprintf (err, errlen, "cannot make a keypair");
        return -1;
    }
    char secret_path [4096];
    snprintf (secret_path, sizeof secret_path, "%s_secret", cert_path);
    char text [512];
    snprintf (text, sizeof text,
              "#   gom secret key: never copy this file off this machine.\n"
              "curve\n"
              "    public-key = \"%s\"\n"
              "    secret-key = \"%s\"\n",
              zcert_public_txt (cert), zcert_secret_txt (cert));
    const char *failed = secret_path;
    int rc = gom_write_file (secret_path, text, strlen (text), 0600, true);
    if (rc == 0) {
        failed = cert_path;
        snprintf (text, sizeof text,
                  "#   gom public key: may be shown to anyone.\n"
                  "curve\n"
                  "    public-key = \"%s\"\n",
                  zcert_public_txt (cert));
        rc = gom_write_file (cert_path, text, strlen (text), 0644, true);
        if (rc != 0)
            unlink (secret_path);
    }
    if (rc != 0)
        snprintf (err, errlen, "%s: %s", failed, strerror (errno));
    else
        snprintf (public_z85, GOM_KEY_Z85 + 1, "%s", zcert_public_txt (cert));
    memset (text, 0, sizeof text);
    zcert_destroy (&cert);
    return rc;
}

zcert_t *
gom_keys_load (const char *cert_path, char *err, size_t errlen)
{
    char secret_path [4096];
    snprintf (secret_path, sizeof secret_path, "%s_secret", cert_path);
    struct stat st;
    if (stat (secret_path, &st) != 0) {
        snprintf (err, errlen, "%s: %s", secret_path, strerror (errno));
        return NULL;
    }
    if (st.st_mode & 077) {
        snprintf (err, errlen,
                  "%s: secret key file is readable by others (mode %04o); "
                  "run: chmod 600 %s",
                  secret_path, (unsigned)(st.st_mode & 07777), secret_path);
        return NULL;
    }
    zcert_t *cert = zcert_load (cert_path);
    if (!cert || !zcert_secret_txt (cert) ||
        strcmp (zcert_secret_txt (cert),
                "0000000000000000000000000000000000000000") == 0) {
        snprintf (err, errlen, "%s: not a gom keypair", secret_path);
        zcert_destroy (&cert);
        return NULL;
    }
    return cert;
}
