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

#endif
