/*
 * omr_core_primary: the core's side of following the Redis primary through
 * Sentinel or a Redis Cluster (omr_primary finds it): where every
 * connection goes when it is named, holding the writes while a sentinel
 * fails it over, and the sentinels' word for the durability check.
 */
#include "config.h"

#include "omr_core_int.h"
#include "omr_log.h"
#include "omr_primary.h"
#include "omr_redis.h"
#include "omr_store.h"
#include "omr_util.h"

/* the connections that talk to the primary (any may be NULL) */
#define OMR_CORE_PRIMARY_CONNS 4
static void omr_core_primary_conns(struct omr_core *c,
				   struct omr_redis *conns[OMR_CORE_PRIMARY_CONNS])
{
	conns[0] = c->redis;
	conns[1] = c->redis_block;
	conns[2] = c->redis_bus;
	conns[3] = c->redis_ingest;
}

/* The sentinels or the cluster named the primary (at start, or a new one
 * after a failover or a move of the site's slot, or the same one again
 * after a failover was called off): every connection goes there; the
 * script library is loaded again before each connection's first call
 * (omr_redis.h), the consumer group is found in the replicated stream (or
 * created again). */
static void omr_core_primary(void *arg, const char *host, int port)
{
	struct omr_core *c = arg;
	struct omr_redis_target t = { .host = (char *)host, .port = port,
				      .username = c->cfg->redis.username,
				      .password = c->cfg->redis.password };
	struct omr_redis *conns[OMR_CORE_PRIMARY_CONNS];
	omr_core_primary_conns(c, conns);
	if (c->store)
		omr_store_durable_new_primary(c->store);
	for (size_t i = 0; i < OMR_CORE_PRIMARY_CONNS; i++) {
		if (!conns[i])
			continue;
		omr_redis_retarget(conns[i], &t);
		omr_redis_start(conns[i]);
	}
}

/* A sentinel began a failover of the primary: nothing more is written to
 * it (what it took after its replica was promoted would be lost), commands
 * fail as while Redis is away (senders are told to retry) until
 * omr_core_primary names the new one. */
static void omr_core_failover(void *arg)
{
	struct omr_core *c = arg;
	struct omr_redis *conns[OMR_CORE_PRIMARY_CONNS];
	omr_core_primary_conns(c, conns);
	for (size_t i = 0; i < OMR_CORE_PRIMARY_CONNS; i++)
		if (conns[i])
			omr_redis_hold(conns[i], "Redis is failing over (nothing is written until "
				       "the sentinels name the new primary)");
}

int omr_core_primary_new(struct omr_core *c, char **err_r)
{
	const struct omr_config *cfg = c->cfg;
	struct omr_primary_opts so = {
		.kind = cfg->redis.cluster ? OMR_PRIMARY_CLUSTER : OMR_PRIMARY_SENTINEL,
		.addrs = cfg->redis.cluster ? cfg->redis.cluster : cfg->redis.sentinels,
		.master = cfg->redis.master,
		.site = cfg->redis.site,
		.username = cfg->redis.cluster ? cfg->redis.username : NULL,
		.password = cfg->redis.cluster ? cfg->redis.password : cfg->redis.sentinel_password,
		.connect_timeout = cfg->redis.connect_timeout,
		.command_timeout = cfg->redis.command_timeout,
		.dns = c->dns,
		.on_master = omr_core_primary,
		.on_failover = cfg->redis.cluster ? NULL : omr_core_failover,
		.arg = c,
	};
	c->primary = omr_primary_new(c->base, &so, err_r);
	if (!c->primary)
		return -1;
	omr_primary_start(c->primary);
	return 0;
}

void omr_core_confirm_primary(void *arg, omr_store_confirm_done done, void *ctx)
{
	struct omr_core *c = arg;
	omr_primary_confirm(c->primary, done, ctx);
}
