/*
 * omr_router_pools: which pool (src/lua/pools.lib) a waiting conversation
 * is offered from (omr_router_int.h). The agents who fit a kind of
 * conversation come from the configuration (omr_route_candidates, a look
 * at every agent); the pool is named by a hash of that list, so every node
 * with the same configuration names the same pool. The list is computed
 * once per kind of conversation and configuration, and sent to Redis only
 * to build the pool; after that an offer carries just the pool's name.
 */
#include "config.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_agents_conf.h"
#include "omr_config.h"
#include "omr_route.h"
#include "omr_router_int.h"
#include "omr_routing_conf.h"
#include "omr_util.h"

/* kinds of conversation remembered; past it the memory starts afresh */
#define OMR_POOLS_MAX 4096

static void omr_pool_id(const char *channel, const char *strategy, const struct omr_cands *c,
			char id[OMR_POOL_ID_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha1(), NULL);
	EVP_DigestUpdate(ctx, channel, strlen(channel) + 1);
	EVP_DigestUpdate(ctx, strategy, strlen(strategy) + 1);
	for (int i = 0; i < c->n * 3; i++)
		EVP_DigestUpdate(ctx, c->argv[i], strlen(c->argv[i]) + 1);
	EVP_DigestFinal_ex(ctx, md, NULL);
	EVP_MD_CTX_free(ctx);
	omr_hex(md, OMR_POOL_ID_LEN / 2, id); /* SHA-1: 20 bytes, 40 hex digits */
}

static void omr_pools_reset(struct omr_router *r)
{
	omr_map_free(r->pools, free);
	r->pools = omr_map_new();
	r->pools_cfg = omr_env_cfg(&r->env);
	r->pools_gen = omr_agents_generation(r->pools_cfg->agents);
}

struct omr_pool *omr_router_pool(struct omr_router *r, const struct omr_pool_kind *k,
				 unsigned long batch, struct omr_cands *cands)
{
	const struct omr_config *cfg = omr_env_cfg(&r->env);
	char *key = omr_asprintf("%s\n%s\n%s\n%s\n%s\n%s\n%lld\n%d\n%s", k->queue->name, k->channel,
				 k->skills, k->language, k->prefer ? k->prefer : "", k->strategy,
				 k->esc->relax, k->esc->drop_optional, k->team ? k->team : "");
	struct omr_pool *p;

	memset(cands, 0, sizeof(*cands));
	if (!r->pools)
		omr_pools_reset(r);
	p = omr_map_gets(r->pools, key);
	if (!p || (!p->built && p->listed != batch)) {
		json_t *skills = json_loads(k->skills, 0, NULL);
		json_t *needs, *optional = NULL;
		omr_route_needs(k->queue, skills, !k->esc->drop_optional, &needs, &optional);
		omr_route_candidates(cfg->agents, k->channel, needs, optional, k->language, k->prefer,
				     k->team, k->esc->relax, cands);
		json_decref(needs);
		json_decref(skills);
		json_decref(optional);
		if (!p) {
			p = omr_calloc(1, sizeof(*p));
			p->n = cands->n;
			omr_pool_id(k->channel, k->strategy, cands, p->id);
			omr_map_puts(r->pools, key, p);
		}
		p->listed = batch;
	}
	free(key);
	return p;
}

void omr_router_pools_check(struct omr_router *r)
{
	if (!r->pools || r->pools_cfg != omr_env_cfg(&r->env) ||
	    r->pools_gen != omr_agents_generation(omr_env_cfg(&r->env)->agents) ||
	    omr_map_count(r->pools) >= OMR_POOLS_MAX)
		omr_pools_reset(r);
}

void omr_router_pools_free(struct omr_router *r)
{
	omr_map_free(r->pools, free);
	r->pools = NULL;
}
