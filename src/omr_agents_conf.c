/*
 * omr_agents_conf: loading and validating agents.yaml.
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "omr_agents_conf_int.h"
#include "omr_password.h"
#include "omr_routing_conf.h"

#define AOFF(f) offsetof(struct omr_agent_conf, f)
static const struct omr_conf_key omr_agent_keys[] = {
	{ "id", OMR_CONF_STRING, AOFF(id), 1, NULL, 0, 0, "login name" },
	{ "name", OMR_CONF_STRING, AOFF(name), 0, NULL, 0, 0, "display name" },
	{ "password", OMR_CONF_SECRET, AOFF(password), 0, NULL, 0, 0,
	  "password hash from `omniroute --hash-password`" },
	{ "token", OMR_CONF_SECRET, AOFF(token), 0, NULL, 0, 0,
	  "SHA-256 hash of the login token for single sign-on set-ups, "
	  "from `omniroute --hash-token`" },
	{ "team", OMR_CONF_STRING, AOFF(team), 0, NULL, 0, 0, "team name" },
	{ "languages", OMR_CONF_STRLIST, AOFF(languages), 0, NULL, 0, 0,
	  "languages the agent serves (ISO 639-1 codes)" },
	{ "roles", OMR_CONF_STRLIST, AOFF(role_names), 0, NULL, 0, 0,
	  "agent (takes conversations), supervisor (watches and steers queues), admin "
	  "(everything); default [agent]" },
	{ "queues", OMR_CONF_STRLIST, AOFF(queues), 0, NULL, 0, 0,
	  "a supervisor's queues: they see and act on these only (default: all)" },
	{ "enabled", OMR_CONF_BOOL, AOFF(enabled), 0, "true", 0, 0,
	  "false: kept in the file but as if removed (cannot log in, gets nothing; "
	  "a reload logs the agent out)" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};
static const char *const omr_agent_handled[] = { "skills", "capacity", "api_tokens", NULL };

static const char *const omr_role_names[] = { "agent", "supervisor", "admin", NULL };
static const char *const omr_scope_names[] = { "read", "act", "admin", NULL };

/* the bit of `name` in `names` (bit i for names[i]), or 0 */
static unsigned omr_name_bit(const char *const *names, const char *name)
{
	for (unsigned i = 0; names[i]; i++)
		if (strcmp(names[i], name) == 0)
			return 1u << i;
	return 0;
}

json_t *omr_roles_json(unsigned roles)
{
	json_t *arr = json_array();
	for (unsigned i = 0; omr_role_names[i]; i++)
		if (roles & (1u << i))
			json_array_append_new(arr, json_string(omr_role_names[i]));
	return arr;
}

unsigned omr_roles_scopes(unsigned roles)
{
	if (roles & OMR_ROLE_ADMIN)
		return OMR_SCOPE_READ | OMR_SCOPE_ACT | OMR_SCOPE_ADMIN;
	if (roles & OMR_ROLE_SUPERVISOR)
		return OMR_SCOPE_READ | OMR_SCOPE_ACT;
	return 0;
}

int omr_agents_id_ok(const char *s)
{
	if (!s || !*s || strlen(s) > 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.' || *s == '@'))
			return 0;
	return 1;
}

void omr_agent_skills(struct omr_agent_conf *a, const struct omr_routing_conf *routing,
			     const struct omr_ynode *n, struct omr_conf_errs *errs)
{
	if (!n || omr_ynode_is_null(n))
		return;
	if (n->type != OMR_Y_MAP) {
		omr_conf_error(errs, n, "skills: expected a mapping of skill: proficiency (1-5)");
		return;
	}
	a->skills = omr_calloc(n->n, sizeof(*a->skills));
	for (size_t i = 0; i < n->n; i++) {
		const struct omr_ynode *k = n->pairs[i].key;
		struct omr_agent_skill *s = &a->skills[a->nskills];
		if (routing && !omr_routing_skill(routing, k->value)) {
			omr_conf_error(errs, k, "unknown skill '%s' (not defined in the routing file)",
				       k->value);
			continue;
		}
		if (omr_conf_node_int(n->pairs[i].value, 1, 5, &s->level, errs) < 0)
			continue;
		s->skill = omr_strdup(k->value);
		a->nskills++;
	}
}

void omr_agent_capacity_load(struct omr_agent_conf *a, const struct omr_ynode *n,
				    struct omr_conf_errs *errs)
{
	if (!n || omr_ynode_is_null(n))
		return;
	if (n->type != OMR_Y_MAP) {
		omr_conf_error(errs, n, "capacity: expected a mapping of channel: conversations");
		return;
	}
	a->capacity = omr_calloc(n->n, sizeof(*a->capacity));
	for (size_t i = 0; i < n->n; i++) {
		struct omr_agent_capacity *c = &a->capacity[a->ncapacity];
		if (omr_conf_node_int(n->pairs[i].value, 0, 100, &c->max, errs) < 0)
			continue;
		c->channel = omr_strdup(n->pairs[i].key->value);
		a->ncapacity++;
	}
}

static void omr_agent_check(const struct omr_agents_conf *all, struct omr_agent_conf *a,
			    const struct omr_ynode *item, struct omr_conf_errs *errs)
{
	char *err = NULL;
	if (!omr_agents_id_ok(a->id))
		omr_conf_error(errs, item, "agent id '%s' must be letters, digits, _ - . @", a->id);
	if (!a->password && !a->token && !all->directory)
		omr_conf_error(errs, item,
			       "agent '%s': set a password (hash) or a token (or configure "
			       "directory: to check passwords there)", a->id);
	if (a->password && omr_password_check_format(a->password, &err) < 0) {
		omr_conf_error(errs, omr_ynode_get(item, "password"), "password: %s", err);
		free(err);
	}
	if (a->token && omr_token_parse(a->token, a->token_sha256, &err) < 0) {
		omr_conf_error(errs, omr_ynode_get(item, "token"), "token: %s", err);
		free(err);
		omr_free_and_null(&a->token); /* reported: not compared with the others */
	}
}

void omr_agent_roles(struct omr_agent_conf *a, const struct omr_routing_conf *routing,
			    const struct omr_ynode *item, struct omr_conf_errs *errs)
{
	a->roles = a->role_names ? 0 : OMR_ROLE_AGENT;
	for (size_t i = 0; a->role_names && a->role_names[i]; i++) {
		unsigned bit = omr_name_bit(omr_role_names, a->role_names[i]);
		if (!bit)
			omr_conf_error(errs, omr_ynode_get(item, "roles"),
				       "roles: unknown role '%s' (expected agent, supervisor or admin)",
				       a->role_names[i]);
		a->roles |= bit;
	}
	if (a->role_names && !a->role_names[0])
		omr_conf_error(errs, omr_ynode_get(item, "roles"),
			       "roles: give at least one of agent, supervisor, admin");
	if (a->queues && !(a->roles & OMR_ROLE_SUPERVISOR))
		omr_conf_error(errs, omr_ynode_get(item, "queues"),
			       "queues: only a supervisor is limited to queues (add roles: [supervisor])");
	if (a->queues && (a->roles & OMR_ROLE_ADMIN))
		omr_conf_error(errs, omr_ynode_get(item, "queues"),
			       "queues: an admin sees every queue; drop queues: or the admin role");
	for (size_t i = 0; a->queues && routing && a->queues[i]; i++)
		if (!omr_routing_queue(routing, a->queues[i]))
			omr_conf_error(errs, omr_ynode_get(item, "queues"),
				       "queues: unknown queue '%s' (not defined in the routing file)",
				       a->queues[i]);
}

static unsigned omr_token_scopes(const struct omr_agent_conf *a, const struct omr_ynode *n,
				 struct omr_conf_errs *errs)
{
	unsigned allowed = omr_roles_scopes(a->roles), scopes = 0;
	if (!n)
		return allowed; /* as much as the role allows */
	if (n->type != OMR_Y_SEQ || n->n == 0) {
		omr_conf_error(errs, n, "scopes: expected a list of read, act, admin");
		return 0;
	}
	for (size_t i = 0; i < n->n; i++) {
		const struct omr_ynode *s = n->items[i];
		unsigned bit = s->type == OMR_Y_SCALAR ? omr_name_bit(omr_scope_names, s->value) : 0;
		if (!bit)
			omr_conf_error(errs, s, "scopes: expected read, act or admin");
		else if (!(bit & allowed))
			omr_conf_error(errs, s, "scopes: '%s' is more than the role of '%s' allows",
				       s->value, a->id);
		scopes |= bit;
	}
	return scopes;
}

/* api_tokens: [{name, hash: "$sha256$<hex>", scopes: [read, act, admin]}] */
static void omr_agent_tokens(struct omr_agent_conf *a, const struct omr_ynode *n,
			     struct omr_conf_errs *errs)
{
	if (!n || omr_ynode_is_null(n))
		return;
	if (n->type != OMR_Y_SEQ) {
		omr_conf_error(errs, n, "api_tokens: expected a list of {name, hash, scopes}");
		return;
	}
	if (!omr_roles_scopes(a->roles)) {
		omr_conf_error(errs, n, "api_tokens: '%s' is only an agent; admin API tokens are "
			       "for supervisors and admins", a->id);
		return;
	}
	a->tokens = omr_calloc(n->n, sizeof(*a->tokens));
	for (size_t i = 0; i < n->n; i++) {
		const struct omr_ynode *it = n->items[i], *name, *hash;
		struct omr_api_token *t = &a->tokens[a->ntokens];
		char *err = NULL;
		if (it->type != OMR_Y_MAP) {
			omr_conf_error(errs, it, "api_tokens: expected {name, hash, scopes}");
			continue;
		}
		for (size_t k = 0; k < it->n; k++) {
			const char *key = it->pairs[k].key->value;
			if (strcmp(key, "name") && strcmp(key, "hash") && strcmp(key, "scopes"))
				omr_conf_error(errs, it->pairs[k].key,
					       "unknown key '%s' (expected one of: name, hash, scopes)", key);
		}
		name = omr_ynode_get(it, "name");
		hash = omr_ynode_get(it, "hash");
		if (!name || name->type != OMR_Y_SCALAR || !omr_agents_id_ok(name->value)) {
			omr_conf_error(errs, name ? name : it,
				       "api_tokens: name: letters, digits, _ - . @ (it names the token in the audit)");
			continue;
		}
		if (!hash || hash->type != OMR_Y_SCALAR ||
		    omr_token_parse(hash->value, t->sha256, &err) < 0) {
			omr_conf_error(errs, hash ? hash : it, "api_tokens: hash: %s",
				       err ? err : "the token's hash from `omniroute --hash-token`");
			free(err);
			continue;
		}
		t->scopes = omr_token_scopes(a, omr_ynode_get(it, "scopes"), errs);
		size_t len = strlen(a->id) + strlen(name->value) + 2;
		t->name = omr_malloc(len);
		snprintf(t->name, len, "%s/%s", a->id, name->value);
		a->ntokens++;
	}
}

/* An admin API token held twice (by two users, or twice by one) could not
 * be told apart in the audit; one equal to a console log-in token would
 * make the two the same secret. console: the agents by their console
 * token's hash; api: the API tokens met so far, by their hash. */
static void omr_api_tokens_unique(struct omr_map *console, struct omr_map *api,
				  const struct omr_agent_conf *ag, const struct omr_ynode *item,
				  struct omr_conf_errs *errs)
{
	for (size_t t = 0; t < ag->ntokens; t++) {
		const struct omr_api_token *tok = &ag->tokens[t];
		const char *d = (const char *)tok->sha256;
		const struct omr_api_token *twin = omr_map_get(api, d, sizeof(tok->sha256));
		const struct omr_agent_conf *o = omr_map_get(console, d, sizeof(tok->sha256));
		if (twin)
			omr_conf_error(errs, omr_ynode_get(item, "api_tokens"),
				       "api_tokens: %s is the same token as %s", tok->name, twin->name);
		else
			omr_map_put(api, d, sizeof(tok->sha256), (void *)tok);
		if (o)
			omr_conf_error(errs, omr_ynode_get(item, "api_tokens"),
				       "api_tokens: %s is the console log-in token of '%s'", tok->name,
				       o->id);
	}
}

/* Two agents with one token: a login could not tell them apart. tokens:
 * the agents read so far, by their token's hash. */
static void omr_agent_token_unique(struct omr_map *tokens, const struct omr_agent_conf *ag,
				   const struct omr_ynode *item, struct omr_conf_errs *errs)
{
	if (!ag->token)
		return;
	const char *d = (const char *)ag->token_sha256;
	const struct omr_agent_conf *other = omr_map_get(tokens, d, sizeof(ag->token_sha256));
	if (other)
		omr_conf_error(errs, omr_ynode_get(item, "token"),
			       "token: agent '%s' has the same token", other->id);
	else
		omr_map_put(tokens, d, sizeof(ag->token_sha256), (void *)ag);
}

void omr_agent_free(struct omr_agent_conf *ag)
{
	for (size_t k = 0; k < ag->nskills; k++)
		free(ag->skills[k].skill);
	free(ag->skills);
	for (size_t k = 0; k < ag->ncapacity; k++)
		free(ag->capacity[k].channel);
	free(ag->capacity);
	for (size_t k = 0; k < ag->ntokens; k++)
		free(ag->tokens[k].name);
	free(ag->tokens);
	omr_conf_release(omr_agent_keys, ag);
}

/* A disabled agent was checked like any other (ids and tokens stay
 * unique); from here on it is as if removed. */
static void omr_agents_drop_disabled(struct omr_agents_conf *a)
{
	size_t n = 0, nd = 0;
	a->disabled = omr_calloc(a->nagents + 1, sizeof(*a->disabled));
	for (size_t i = 0; i < a->nagents; i++) {
		if (!a->agents[i].enabled) {
			if (a->agents[i].id)
				a->disabled[nd++] = omr_strdup(a->agents[i].id);
			omr_agent_free(&a->agents[i]);
			continue;
		}
		if (n != i)
			a->agents[n] = a->agents[i];
		n++;
	}
	a->nagents = n;
}

struct omr_agents_conf *omr_agents_conf_load(const struct omr_ydoc *doc,
					     const struct omr_routing_conf *routing,
					     struct omr_conf_errs *errs)
{
	struct omr_agents_conf *a = omr_calloc(1, sizeof(*a));
	const struct omr_ynode *root = doc->root, *list;
	struct omr_map *seen = NULL;   /* ids read so far */
	struct omr_map *tokens = NULL; /* their tokens' hashes */
	struct omr_map *api = NULL;    /* the API tokens' hashes */
	int before = errs->count;

	if (!root || root->type != OMR_Y_MAP) {
		omr_conf_error(errs, root, "%s: expected a mapping with 'agents:'", doc->file);
		goto fail;
	}
	for (size_t i = 0; i < root->n; i++)
		if (strcmp(root->pairs[i].key->value, "agents") != 0 &&
		    strcmp(root->pairs[i].key->value, "directory") != 0)
			omr_conf_error(errs, root->pairs[i].key,
				       "unknown key '%s' (expected one of: agents, directory)",
				       root->pairs[i].key->value);
	omr_agents_dir_load(a, omr_ynode_get(root, "directory"), routing, errs);
	list = omr_ynode_get(root, "agents");
	if (!list || omr_ynode_is_null(list))
		goto done;
	if (list->type != OMR_Y_SEQ) {
		omr_conf_error(errs, list, "agents: expected a list");
		goto fail;
	}
	a->agents = omr_calloc(list->n, sizeof(*a->agents));
	seen = omr_map_new();
	tokens = omr_map_new();
	for (size_t i = 0; i < list->n; i++) {
		const struct omr_ynode *item = list->items[i];
		struct omr_agent_conf *ag = &a->agents[a->nagents++];
		if (omr_conf_apply(omr_agent_keys, item, ag, omr_agent_handled, errs))
			continue;
		omr_agent_check(a, ag, item, errs);
		if (omr_map_gets(seen, ag->id))
			omr_conf_error(errs, item, "agent '%s' is listed twice", ag->id);
		else
			omr_map_puts(seen, ag->id, ag);
		omr_agent_token_unique(tokens, ag, item, errs);
		omr_agent_skills(ag, routing, omr_ynode_get(item, "skills"), errs);
		omr_agent_capacity_load(ag, omr_ynode_get(item, "capacity"), errs);
		omr_agent_roles(ag, routing, item, errs);
		omr_agent_tokens(ag, omr_ynode_get(item, "api_tokens"), errs);
	}
	/* after all are read: a token may repeat a console token of a user
	 * further down */
	api = omr_map_new();
	for (size_t i = 0; i < a->nagents; i++)
		omr_api_tokens_unique(tokens, api, &a->agents[i], list->items[i], errs);
done:
	omr_map_free(seen, NULL);
	omr_map_free(tokens, NULL);
	omr_map_free(api, NULL);
	seen = tokens = api = NULL;
	if (errs->count > before)
		goto fail;
	omr_agents_drop_disabled(a);
	a->by_id = omr_map_new();
	a->by_token = omr_map_new();
	for (size_t i = 0; i < a->nagents; i++) {
		const struct omr_agent_conf *ag = &a->agents[i];
		if (ag->id)
			omr_map_puts(a->by_id, ag->id, (void *)ag);
		if (ag->token)
			omr_map_put(a->by_token, (const char *)ag->token_sha256,
				    sizeof(ag->token_sha256), (void *)ag);
	}
	return a;
fail:
	omr_map_free(seen, NULL);
	omr_map_free(tokens, NULL);
	omr_map_free(api, NULL);
	omr_agents_conf_free(a);
	return NULL;
}

void omr_agents_conf_free(struct omr_agents_conf *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nagents; i++)
		omr_agent_free(&a->agents[i]);
	free(a->agents);
	for (size_t i = 0; a->disabled && a->disabled[i]; i++)
		free(a->disabled[i]);
	free(a->disabled);
	omr_map_free(a->by_id, NULL);
	omr_map_free(a->by_token, NULL);
	omr_agents_dir_free(a);
	free(a);
}

unsigned long omr_agents_generation(const struct omr_agents_conf *a)
{
	return a ? omr_dir_users_gen(a->users) : 0;
}

int omr_agents_disabled(const struct omr_agents_conf *a, const char *id)
{
	for (size_t i = 0; a && id && a->disabled && a->disabled[i]; i++)
		if (strcasecmp(a->disabled[i], id) == 0)
			return 1;
	return 0;
}

const struct omr_agent_conf *omr_agents_find(const struct omr_agents_conf *a, const char *id)
{
	if (!a || !id)
		return NULL;
	const struct omr_agent_conf *ac = NULL;
	if (a->by_id)
		ac = omr_map_gets(a->by_id, id);
	else /* made by hand (tests): no index */
		for (size_t i = 0; !ac && i < a->nagents; i++)
			if (a->agents[i].id && strcmp(a->agents[i].id, id) == 0)
				ac = &a->agents[i];
	return ac ? ac : omr_dir_users_find(a->users, id);
}

size_t omr_agents_count(const struct omr_agents_conf *a)
{
	return a ? a->nagents + omr_dir_users_count(a->users) : 0;
}

const struct omr_agent_conf *omr_agents_at(const struct omr_agents_conf *a, size_t i)
{
	return i < a->nagents ? &a->agents[i] : omr_dir_users_at(a->users, i - a->nagents);
}

const char *omr_agents_owner_check(const struct omr_agents_conf *a, const char *owner,
				   const char *deputy)
{
	const struct omr_agent_conf *o = omr_agents_find(a, owner);
	const struct omr_agent_conf *d = deputy ? omr_agents_find(a, deputy) : NULL;
	if (!owner || !*owner)
		return "no contact person given";
	if (!o || !(o->roles & OMR_ROLE_AGENT))
		return "the contact person is not an agent of agents.yaml who takes conversations";
	if (deputy && (!d || !(d->roles & OMR_ROLE_AGENT)))
		return "the deputy is not an agent of agents.yaml who takes conversations";
	if (deputy && strcmp(owner, deputy) == 0)
		return "the deputy is the contact person";
	return NULL;
}

/* Found by the token's hash. The time of a look-up depends on the hash of
 * the token tried and on where the stored hashes fall in the map (whether
 * a bucket is taken, how long its chain is): nothing that helps to guess
 * a token, which is at least 16 random bytes (omr_token_hash), and a
 * stored hash is compared (memcmp) only after its whole 64-bit map hash
 * matched. Without the index (a configuration made by hand, in tests),
 * every agent's hash is compared in constant time.
 * A fast hash on the main thread is fine: see omr_password.h. */
const struct omr_agent_conf *omr_agents_find_token(const struct omr_agents_conf *a,
						   const char *token)
{
	const struct omr_agent_conf *found = NULL;
	unsigned char d[32];

	if (!a || omr_token_digest(token, d) < 0)
		return NULL;
	if (a->by_token) {
		found = omr_map_get(a->by_token, (const char *)d, sizeof(d));
		return found && found->token ? found : NULL;
	}
	for (size_t i = 0; i < a->nagents; i++) {
		const struct omr_agent_conf *ag = &a->agents[i];
		int match = omr_ct_equal(ag->token_sha256, sizeof(d), d, sizeof(d));
		if (match && ag->token && !found)
			found = ag;
	}
	return found;
}

const struct omr_agent_conf *omr_agents_find_api_token(const struct omr_agents_conf *a,
						       const char *token,
						       const struct omr_api_token **tok_r)
{
	const struct omr_agent_conf *found = NULL;
	unsigned char d[32];

	*tok_r = NULL;
	if (!a || omr_token_digest(token, d) < 0)
		return NULL;
	for (size_t i = 0; i < a->nagents; i++)
		for (size_t t = 0; t < a->agents[i].ntokens; t++) {
			const struct omr_api_token *tk = &a->agents[i].tokens[t];
			if (omr_ct_equal(tk->sha256, sizeof(d), d, sizeof(d)) && !found) {
				found = &a->agents[i];
				*tok_r = tk;
			}
		}
	return found;
}

long long omr_agent_skill_level(const struct omr_agent_conf *a, const char *skill)
{
	for (size_t i = 0; i < a->nskills; i++)
		if (strcmp(a->skills[i].skill, skill) == 0)
			return a->skills[i].level;
	return 0;
}

long long omr_agent_capacity(const struct omr_agent_conf *a, const char *channel)
{
	for (size_t i = 0; i < a->ncapacity; i++)
		if (strcmp(a->capacity[i].channel, channel) == 0)
			return a->capacity[i].max;
	return 0;
}
