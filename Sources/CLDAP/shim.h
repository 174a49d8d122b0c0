#ifndef BRIDGEHEAD_CLDAP_SHIM_H
#define BRIDGEHEAD_CLDAP_SHIM_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lber.h>
#include <ldap.h>
#include <sasl/sasl.h>

/* LDAP_OPT_ON / LDAP_OPT_OFF are addresses of a global that Swift 6 refuses to touch. */
static inline void *bh_opt_on(void) { return LDAP_OPT_ON; }
static inline void *bh_opt_off(void) { return LDAP_OPT_OFF; }

/* Credentials handed to the SASL interaction callback. Every field may be NULL. */
typedef struct bh_sasl_defaults {
    const char *authcid;
    const char *passwd;
    const char *realm;
    const char *authzid;
} bh_sasl_defaults;

/* The callback ldap_sasl_interactive_bind_s calls for each prompt libsasl2 raises. */
static inline int bh_sasl_interact(LDAP *ld, unsigned flags, void *defaults, void *in) {
    (void)ld; (void)flags;
    bh_sasl_defaults *d = (bh_sasl_defaults *)defaults;
    sasl_interact_t *interact = (sasl_interact_t *)in;
    for (; interact && interact->id != SASL_CB_LIST_END; interact++) {
        const char *value = NULL;
        switch (interact->id) {
        case SASL_CB_AUTHNAME: value = d ? d->authcid : NULL; break;
        case SASL_CB_PASS: value = d ? d->passwd : NULL; break;
        case SASL_CB_GETREALM: value = d ? d->realm : NULL; break;
        case SASL_CB_USER: value = d ? d->authzid : NULL; break;
        default: break;
        }
        if (value == NULL) value = interact->defresult;
        if (value == NULL) value = "";
        interact->result = value;
        interact->len = (unsigned)strlen(value);
    }
    return LDAP_SUCCESS;
}

static inline int bh_sasl_interactive_bind(LDAP *ld, const char *mechanism,
                                           LDAPControl **sctrls, bh_sasl_defaults *defaults) {
    return ldap_sasl_interactive_bind_s(ld, NULL, mechanism, sctrls, NULL, LDAP_SASL_QUIET,
                                        bh_sasl_interact, defaults);
}

/* The handle's connection's Sockbuf, or NULL when it has no socket. */
static inline Sockbuf *bh_sockbuf(LDAP *ld) {
    Sockbuf *sb = NULL;
    return ldap_get_option(ld, LDAP_OPT_SOCKBUF, &sb) == LDAP_OPT_SUCCESS ? sb : NULL;
}

/* libldap reads each message with two read(2) calls (its tag and length, then the rest) and polls
   the socket between messages: two system calls and a poll per entry of a search. liblber's own
   read-ahead layer (libldap puts it under UDP connections) reads what the socket holds, up to
   `size` bytes, at once; libldap then takes messages from it without polling (it asks the
   layers whether data is ready first). Put under the layers in place (TLS, a SASL security
   layer), over the socket. 0 when added or already there, -1 when the handle has no socket. */
static inline int bh_add_readahead(LDAP *ld, int size) {
    Sockbuf *sb = bh_sockbuf(ld);
    if (sb == NULL) return -1;
    if (ber_sockbuf_ctrl(sb, LBER_SB_OPT_HAS_IO, &ber_sockbuf_io_readahead)) return 0;
    return ber_sockbuf_add_io(sb, &ber_sockbuf_io_readahead, LBER_SBIOD_LEVEL_PROVIDER, &size);
}

/* 1 when the handle's connection reads through the read-ahead layer. */
static inline int bh_reads_ahead(LDAP *ld) {
    Sockbuf *sb = bh_sockbuf(ld);
    return sb != NULL && ber_sockbuf_ctrl(sb, LBER_SB_OPT_HAS_IO, &ber_sockbuf_io_readahead) == 1;
}

#endif
