/*
 * omr_ldap: directory log-in (LDAP, Active Directory) with OpenLDAP's
 * libldap. The `directory:` section of agents.yaml describes the server
 * and how a user is found; omr_ldap_login() checks a password:
 *
 *   1. connect (ldap:// or ldaps://), StartTLS when asked, the CA file
 *      when given (the server's certificate is always verified);
 *   2. bind as the service account and search the user under `base` with
 *      `filter`, in which {user} is the typed name, escaped (RFC 4515);
 *      exactly one entry must match;
 *   3. read the user's groups: the `group_attribute` of the entry
 *      (memberOf) or, with `group_base`, the groups found by
 *      `group_filter` ({dn} and {user} escaped);
 *   4. bind as the user's DN with the password (a simple bind).
 *
 * An empty password is refused before anything is sent: to LDAP it is an
 * "unauthenticated bind", which many servers accept for any DN.
 * Everything is synchronous and bounded by the two timeouts: it runs on a
 * worker thread (omr_worker.h), never on the main loop. No function here
 * logs; the password is never copied, printed or put in an error.
 */
#ifndef OMR_LDAP_H
#define OMR_LDAP_H

#include <stddef.h>

#include "omr_conf.h"

struct omr_ldap_conf {
	char *url;              /* ldap://host:port or ldaps://host:port */
	int starttls;
	char *ca_file;          /* PATH; NULL: the system's CAs */
	char *bind_dn;          /* the service account; NULL: anonymous search */
	char *bind_password;    /* SECRET */
	char *base;             /* where users are searched */
	char *filter;           /* with {user} */
	char *id_attribute;     /* the login id as the directory spells it */
	char *name_attribute;   /* display name */
	char *group_attribute;  /* on the user's entry: memberOf */
	char *group_base;       /* set: search the groups instead */
	char *group_filter;     /* with {dn} and/or {user} */
	long long network_timeout_ms;
	long long timeout_ms;
};

/* The keys of `directory:` (without `groups`, which agents.yaml reads). */
extern const struct omr_conf_key omr_ldap_keys[];

/* Fill c from the `directory:` mapping and check it (URL scheme, {user}
 * in the filter, ...); every problem goes to errs with its line. `handled`:
 * keys the caller reads. 0, or the number of errors added. */
int omr_ldap_conf_load(struct omr_ldap_conf *c, const struct omr_ynode *map,
		       const char *const *handled, struct omr_conf_errs *errs);
void omr_ldap_conf_release(struct omr_ldap_conf *c);
/* A copy owned by the caller (a check on a worker thread outlives a
 * reload), freed with omr_ldap_conf_free. */
struct omr_ldap_conf *omr_ldap_conf_dup(const struct omr_ldap_conf *c);
void omr_ldap_conf_free(struct omr_ldap_conf *c);

enum omr_ldap_status {
	OMR_LDAP_OK = 0,
	OMR_LDAP_DENIED,       /* no such user, several, or a wrong password */
	OMR_LDAP_UNAVAILABLE,  /* cannot connect, TLS, timeout, service bind */
};

struct omr_ldap_result {
	enum omr_ldap_status status;
	char *dn;              /* the user's entry (OK, DENIED after the search) */
	char *id;              /* id_attribute's value, or NULL */
	char *name;            /* name_attribute's value, or NULL */
	char **groups;         /* the groups' DNs, NULL-terminated (OK) */
	char *error;           /* what went wrong, for the log; never the password */
};

/* Check `password` for `user`; fills *r (release with
 * omr_ldap_result_release). Blocking: a worker thread only. */
void omr_ldap_login(const struct omr_ldap_conf *c, const char *user, const char *password,
		    struct omr_ldap_result *r);
void omr_ldap_result_release(struct omr_ldap_result *r);

/* `pattern` with every {user} replaced by `user` and {dn} by `dn` (may be
 * NULL), both escaped as RFC 4515 asks of an assertion value: * ( ) \ and
 * NUL become \2a \28 \29 \5c \00. Malloc'ed. */
char *omr_ldap_filter(const char *pattern, const char *user, const char *dn);

#endif
