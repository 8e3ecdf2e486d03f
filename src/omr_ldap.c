/*
 * omr_ldap: directory log-in with libldap (omr_ldap.h).
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

#define LDAP_DEPRECATED 0
#include <ldap.h>
#include <openssl/crypto.h>

#include "omr_ldap.h"
#include "omr_util.h"

#define LOFF(f) offsetof(struct omr_ldap_conf, f)
const struct omr_conf_key omr_ldap_keys[] = {
	{ "url", OMR_CONF_STRING, LOFF(url), 1, NULL, 0, 0,
	  "the directory server: ldap://host[:port] or ldaps://host[:port]" },
	{ "starttls", OMR_CONF_BOOL, LOFF(starttls), 0, "false", 0, 0,
	  "upgrade an ldap:// connection with StartTLS (refused if the server cannot)" },
	{ "ca_file", OMR_CONF_PATH, LOFF(ca_file), 0, NULL, 0, 0,
	  "PEM file of the CA that signed the server's certificate (default: the system's)" },
	{ "bind_dn", OMR_CONF_STRING, LOFF(bind_dn), 0, NULL, 0, 0,
	  "the service account that searches users (default: an anonymous search)" },
	{ "bind_password", OMR_CONF_SECRET, LOFF(bind_password), 0, NULL, 0, 0,
	  "its password ({env: NAME} or {file: PATH})" },
	{ "base", OMR_CONF_STRING, LOFF(base), 1, NULL, 0, 0, "where users are searched (subtree)" },
	{ "filter", OMR_CONF_STRING, LOFF(filter), 0, "(uid={user})", 0, 0,
	  "finds one user; {user} is the typed name, escaped; AD: (sAMAccountName={user})" },
	{ "id_attribute", OMR_CONF_STRING, LOFF(id_attribute), 0, "uid", 0, 0,
	  "the attribute whose value is the agent id (AD: sAMAccountName)" },
	{ "name_attribute", OMR_CONF_STRING, LOFF(name_attribute), 0, "cn", 0, 0,
	  "the attribute shown as the agent's name" },
	{ "group_attribute", OMR_CONF_STRING, LOFF(group_attribute), 0, "memberOf", 0, 0,
	  "the attribute of the user's entry that lists their groups' DNs" },
	{ "group_base", OMR_CONF_STRING, LOFF(group_base), 0, NULL, 0, 0,
	  "set: groups are searched here with group_filter instead of read from "
	  "group_attribute" },
	{ "group_filter", OMR_CONF_STRING, LOFF(group_filter), 0, "(member={dn})", 0, 0,
	  "finds the user's groups under group_base; {dn} is the user's DN, {user} the name" },
	{ "network_timeout", OMR_CONF_MS, LOFF(network_timeout_ms), 0, "5s", 100, 120000,
	  "connecting to the server at most" },
	{ "timeout", OMR_CONF_MS, LOFF(timeout_ms), 0, "10s", 100, 120000,
	  "each operation (StartTLS, bind, search) at most" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

/* ---- configuration ---- */

/* A filter must be one parenthesised expression: libldap parses it. */
static int omr_ldap_filter_ok(const char *f)
{
	int depth = 0;
	if (!f || f[0] != '(')
		return 0;
	for (const char *p = f; *p; p++) {
		if (*p == '(')
			depth++;
		else if (*p == ')' && --depth < 0)
			return 0;
	}
	return depth == 0;
}

/* ldap://localhost, ldap://127.x.y.z, ldap://[::1]: a directory on this host */
static int omr_ldap_url_local(const char *url)
{
	const char *h = url + 7;
	size_t n = strcspn(h, ":/");
	if (*h == '[')
		return strncmp(h, "[::1]", 5) == 0;
	return (n == 9 && strncasecmp(h, "localhost", 9) == 0) || strncmp(h, "127.", 4) == 0;
}

static void omr_ldap_conf_check(const struct omr_ldap_conf *c, const struct omr_ynode *map,
				struct omr_conf_errs *errs)
{
	int ldaps = c->url && strncasecmp(c->url, "ldaps://", 8) == 0;
	if (c->url && !ldaps && strncasecmp(c->url, "ldap://", 7) != 0)
		omr_conf_error(errs, omr_ynode_get(map, "url"),
			       "url: expected ldap://host[:port] or ldaps://host[:port]");
	else if (c->url && (strchr(c->url, ' ') || strchr(c->url, ',')))
		omr_conf_error(errs, omr_ynode_get(map, "url"), "url: one server");
	if (ldaps && c->starttls)
		omr_conf_error(errs, omr_ynode_get(map, "starttls"),
			       "starttls: ldaps:// is TLS already; use ldap:// with starttls");
	else if (c->url && !ldaps && !c->starttls && strncasecmp(c->url, "ldap://", 7) == 0 &&
		 !omr_ldap_url_local(c->url))
		omr_conf_error(errs, omr_ynode_get(map, "url"),
			       "url: ldap:// without starttls sends the passwords in clear: use "
			       "ldaps:// or starttls: true (plain ldap:// only to this host)");
	if (c->filter && (!omr_ldap_filter_ok(c->filter) || !strstr(c->filter, "{user}")))
		omr_conf_error(errs, omr_ynode_get(map, "filter"),
			       "filter: one parenthesised LDAP filter with {user}, e.g. (uid={user})");
	if (c->group_base && c->group_filter && (!omr_ldap_filter_ok(c->group_filter) ||
			      (!strstr(c->group_filter, "{dn}") && !strstr(c->group_filter, "{user}"))))
		omr_conf_error(errs, omr_ynode_get(map, "group_filter"),
			       "group_filter: one parenthesised LDAP filter with {dn} or {user}, "
			       "e.g. (member={dn})");
	if (c->bind_dn && !c->bind_password)
		omr_conf_error(errs, omr_ynode_get(map, "bind_dn"),
			       "bind_dn: give its bind_password too ({env: NAME} or {file: PATH})");
	if (!c->bind_dn && c->bind_password)
		omr_conf_error(errs, omr_ynode_get(map, "bind_password"),
			       "bind_password: whose? give bind_dn too");
	if (c->ca_file && access(c->ca_file, R_OK) != 0)
		omr_conf_error(errs, omr_ynode_get(map, "ca_file"), "ca_file: cannot read %s",
			       c->ca_file);
}

int omr_ldap_conf_load(struct omr_ldap_conf *c, const struct omr_ynode *map,
		       const char *const *handled, struct omr_conf_errs *errs)
{
	int before = errs->count;
	omr_conf_apply(omr_ldap_keys, map, c, handled, errs);
	omr_ldap_conf_check(c, map, errs); /* also after errors: all at once */
	return errs->count - before;
}

void omr_ldap_conf_release(struct omr_ldap_conf *c)
{
	if (c->bind_password)
		OPENSSL_cleanse(c->bind_password, strlen(c->bind_password));
	omr_conf_release(omr_ldap_keys, c);
}

struct omr_ldap_conf *omr_ldap_conf_dup(const struct omr_ldap_conf *c)
{
	struct omr_ldap_conf *d = omr_calloc(1, sizeof(*d));
	*d = *c;
	for (const struct omr_conf_key *k = omr_ldap_keys; k->name; k++) {
		char **f = (char **)((char *)d + k->offset);
		if (k->type == OMR_CONF_STRING || k->type == OMR_CONF_SECRET ||
		    k->type == OMR_CONF_PATH)
			*f = *f ? omr_strdup(*f) : NULL;
	}
	return d;
}

void omr_ldap_conf_free(struct omr_ldap_conf *c)
{
	if (!c)
		return;
	omr_ldap_conf_release(c);
	free(c);
}

/* ---- filters ---- */

static void omr_ldap_escape(struct omr_buf *b, const char *v)
{
	for (; *v; v++) {
		unsigned char ch = (unsigned char)*v;
		if (ch == '*' || ch == '(' || ch == ')' || ch == '\\')
			omr_buf_printf(b, "\\%02x", ch);
		else
			omr_buf_append(b, v, 1);
	}
}

char *omr_ldap_filter(const char *pattern, const char *user, const char *dn)
{
	struct omr_buf b;
	omr_buf_init(&b);
	for (const char *p = pattern; *p;) {
		if (strncmp(p, "{user}", 6) == 0) {
			omr_ldap_escape(&b, user ? user : "");
			p += 6;
		} else if (strncmp(p, "{dn}", 4) == 0) {
			omr_ldap_escape(&b, dn ? dn : "");
			p += 4;
		} else {
			omr_buf_append(&b, p++, 1);
		}
	}
	return omr_buf_steal(&b, NULL);
}

/* ---- the conversation with the server ---- */

struct omr_ldap_call {
	const struct omr_ldap_conf *c;
	LDAP *ld;
	struct omr_ldap_result *r;
};

static int omr_ldap_fail(struct omr_ldap_call *k, enum omr_ldap_status st, const char *what,
			 int rc)
{
	k->r->status = st;
	free(k->r->error);
	k->r->error = omr_asprintf("%s: %s", what, ldap_err2string(rc));
	return -1;
}

/* An error that says the server is not there (or not answering). */
static int omr_ldap_down(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT || rc == LDAP_CONNECT_ERROR ||
	       rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY || rc == LDAP_TIMELIMIT_EXCEEDED;
}

static void omr_ldap_tv(long long ms, struct timeval *tv)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

static int omr_ldap_connect(struct omr_ldap_call *k)
{
	const struct omr_ldap_conf *c = k->c;
	int v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0, rc;
	struct timeval net, op;

	rc = ldap_initialize(&k->ld, c->url);
	if (rc != LDAP_SUCCESS)
		return omr_ldap_fail(k, OMR_LDAP_UNAVAILABLE, "url", rc);
	omr_ldap_tv(c->network_timeout_ms, &net);
	omr_ldap_tv(c->timeout_ms, &op);
	ldap_set_option(k->ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	ldap_set_option(k->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	ldap_set_option(k->ld, LDAP_OPT_NETWORK_TIMEOUT, &net);
	ldap_set_option(k->ld, LDAP_OPT_TIMEOUT, &op);
	ldap_set_option(k->ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
	if (c->ca_file)
		ldap_set_option(k->ld, LDAP_OPT_X_TLS_CACERTFILE, c->ca_file);
	/* the handle's own TLS context, with the options above */
	rc = ldap_set_option(k->ld, LDAP_OPT_X_TLS_NEWCTX, &zero);
	if (rc != LDAP_SUCCESS)
		return omr_ldap_fail(k, OMR_LDAP_UNAVAILABLE, "TLS set-up", rc);
	if (c->starttls) {
		rc = ldap_start_tls_s(k->ld, NULL, NULL);
		if (rc != LDAP_SUCCESS)
			return omr_ldap_fail(k, OMR_LDAP_UNAVAILABLE, "StartTLS", rc);
	}
	return 0;
}

/* A simple bind; dn NULL: anonymous. */
static int omr_ldap_bind(struct omr_ldap_call *k, const char *dn, const char *password)
{
	struct berval cred = { .bv_len = password ? strlen(password) : 0,
			       .bv_val = (char *)password };
	return ldap_sasl_bind_s(k->ld, dn ? dn : "", LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
}

static char *omr_ldap_value(LDAP *ld, LDAPMessage *e, const char *attr)
{
	struct berval **v = attr ? ldap_get_values_len(ld, e, attr) : NULL;
	char *out = NULL;
	if (v && v[0] && v[0]->bv_len < 4096 && !memchr(v[0]->bv_val, 0, v[0]->bv_len)) {
		out = omr_malloc(v[0]->bv_len + 1);
		memcpy(out, v[0]->bv_val, v[0]->bv_len);
		out[v[0]->bv_len] = '\0';
	}
	ldap_value_free_len(v);
	return out;
}

/* Append a copy of len bytes of v to the NULL-terminated *list_r. */
static void omr_ldap_push(char ***list_r, const char *v, size_t len)
{
	size_t have = 0;
	while (*list_r && (*list_r)[have])
		have++;
	*list_r = omr_realloc(*list_r, (have + 2) * sizeof(**list_r));
	(*list_r)[have] = omr_malloc(len + 1);
	memcpy((*list_r)[have], v, len);
	(*list_r)[have][len] = '\0';
	(*list_r)[have + 1] = NULL;
}

static void omr_ldap_values(LDAP *ld, LDAPMessage *e, const char *attr, char ***list_r)
{
	struct berval **v = ldap_get_values_len(ld, e, attr);
	for (size_t i = 0; v && v[i] && i < 1000; i++)
		omr_ldap_push(list_r, v[i]->bv_val, v[i]->bv_len);
	ldap_value_free_len(v);
}

static int omr_ldap_search(struct omr_ldap_call *k, const char *base, const char *filter,
			   char **attrs, int limit, LDAPMessage **res_r)
{
	struct timeval op;
	int rc;
	omr_ldap_tv(k->c->timeout_ms, &op);
	rc = ldap_search_ext_s(k->ld, base, LDAP_SCOPE_SUBTREE, filter, attrs, 0, NULL, NULL, &op,
			       limit, res_r);
	if (rc == LDAP_SIZELIMIT_EXCEEDED && limit == 2)
		return omr_ldap_fail(k, OMR_LDAP_DENIED, "user search: several entries match", rc);
	if (rc != LDAP_SUCCESS)
		return omr_ldap_fail(k, omr_ldap_down(rc) ? OMR_LDAP_UNAVAILABLE : OMR_LDAP_DENIED,
				     "search", rc);
	return 0;
}

/* The user's entry: exactly one. */
static int omr_ldap_find_user(struct omr_ldap_call *k, const char *user)
{
	const struct omr_ldap_conf *c = k->c;
	char *attrs[] = { c->id_attribute, c->name_attribute, c->group_attribute, NULL };
	char *filter = omr_ldap_filter(c->filter, user, NULL);
	LDAPMessage *res = NULL, *e;
	int rc = omr_ldap_search(k, c->base, filter, attrs, 2, &res);
	free(filter);
	if (rc < 0)
		goto out;
	if (ldap_count_entries(k->ld, res) != 1) {
		rc = omr_ldap_fail(k, OMR_LDAP_DENIED, "user search",
				   ldap_count_entries(k->ld, res) ? LDAP_SIZELIMIT_EXCEEDED
								  : LDAP_NO_SUCH_OBJECT);
		goto out;
	}
	e = ldap_first_entry(k->ld, res);
	char *dn = ldap_get_dn(k->ld, e);
	k->r->dn = omr_strdup(dn ? dn : "");
	ldap_memfree(dn);
	k->r->id = omr_ldap_value(k->ld, e, c->id_attribute);
	k->r->name = omr_ldap_value(k->ld, e, c->name_attribute);
	if (!c->group_base)
		omr_ldap_values(k->ld, e, c->group_attribute, &k->r->groups);
out:
	ldap_msgfree(res);
	return rc;
}

static int omr_ldap_find_groups(struct omr_ldap_call *k, const char *user)
{
	char *attrs[] = { "1.1", NULL }; /* the DNs only */
	char *filter = omr_ldap_filter(k->c->group_filter, user, k->r->dn);
	LDAPMessage *res = NULL;
	int rc = omr_ldap_search(k, k->c->group_base, filter, attrs, 1000, &res);
	free(filter);
	for (LDAPMessage *e = rc == 0 ? ldap_first_entry(k->ld, res) : NULL; e;
	     e = ldap_next_entry(k->ld, e)) {
		char *dn = ldap_get_dn(k->ld, e);
		if (dn)
			omr_ldap_push(&k->r->groups, dn, strlen(dn));
		ldap_memfree(dn);
	}
	ldap_msgfree(res);
	return rc;
}

void omr_ldap_login(const struct omr_ldap_conf *c, const char *user, const char *password,
		    struct omr_ldap_result *r)
{
	struct omr_ldap_call k = { .c = c, .r = r };
	int rc;

	memset(r, 0, sizeof(*r));
	if (!password || !*password || !user || !*user) {
		omr_ldap_fail(&k, OMR_LDAP_DENIED, "empty user or password (not sent)",
			      LDAP_INVALID_CREDENTIALS);
		return;
	}
	if (omr_ldap_connect(&k) < 0)
		goto out;
	rc = omr_ldap_bind(&k, c->bind_dn, c->bind_password);
	if (rc != LDAP_SUCCESS) {
		/* the service account is refused: the set-up is broken, not the user */
		omr_ldap_fail(&k, OMR_LDAP_UNAVAILABLE, "service account bind", rc);
		goto out;
	}
	if (omr_ldap_find_user(&k, user) < 0)
		goto out;
	if (c->group_base && omr_ldap_find_groups(&k, user) < 0)
		goto out;
	if (!r->dn || !*r->dn) { /* a bind with no DN would be anonymous */
		omr_ldap_fail(&k, OMR_LDAP_DENIED, "user entry without a DN", LDAP_NO_SUCH_OBJECT);
		goto out;
	}
	rc = omr_ldap_bind(&k, r->dn, password);
	if (rc != LDAP_SUCCESS) {
		omr_ldap_fail(&k, omr_ldap_down(rc) ? OMR_LDAP_UNAVAILABLE : OMR_LDAP_DENIED,
			      "user bind", rc);
		goto out;
	}
	if (!r->groups)
		r->groups = omr_calloc(1, sizeof(*r->groups));
	r->status = OMR_LDAP_OK;
out:
	if (k.ld)
		ldap_unbind_ext_s(k.ld, NULL, NULL);
}

void omr_ldap_result_release(struct omr_ldap_result *r)
{
	free(r->dn);
	free(r->id);
	free(r->name);
	omr_strv_free(r->groups);
	free(r->error);
	memset(r, 0, sizeof(*r));
}
