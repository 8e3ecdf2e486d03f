/*
 * omr_move: see omr_move.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "omr_config.h"
#include "omr_move.h"
#include "omr_primary.h"
#include "omr_redis.h"
#include "omr_util.h"

#define OMR_MOVE_BATCH 200
#define OMR_MOVE_TIMEOUT_MS 10000

struct omr_move_node {
	char host[256];
	int port;
	char id[64];
	redisContext *c;
};

/* a command's reply, or NULL with the reason printed; error replies are
 * failures too */
static redisReply *omr_move_cmd(struct omr_move_node *n, FILE *err, const char *what,
				int argc, const char **argv, const size_t *lens)
{
	redisReply *r = redisCommandArgv(n->c, argc, argv, lens);
	if (!r) {
		fprintf(err, "omniroute: %s on %s:%d: %s\n", what, n->host, n->port, n->c->errstr);
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		fprintf(err, "omniroute: %s on %s:%d: %s\n", what, n->host, n->port, r->str);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

static int omr_move_simple(struct omr_move_node *n, FILE *err, const char *what, int argc,
			   const char **argv)
{
	redisReply *r = omr_move_cmd(n, err, what, argc, argv, NULL);
	freeReplyObject(r);
	return r ? 0 : -1;
}

/* user: an ACL user (redis.username), NULL: "default" */
static int omr_move_connect(struct omr_move_node *n, const char *user, const char *password,
			    FILE *err)
{
	struct timeval tv = { OMR_MOVE_TIMEOUT_MS / 1000, 0 };
	n->c = redisConnectWithTimeout(n->host, n->port, tv);
	if (!n->c || n->c->err) {
		fprintf(err, "omniroute: cannot connect to %s:%d: %s\n", n->host, n->port,
			n->c ? n->c->errstr : "out of memory");
		return -1;
	}
	redisSetTimeout(n->c, tv);
	if (password) {
		const char *argv[] = { "AUTH", user ? user : password, password };
		if (omr_move_simple(n, err, "AUTH", user ? 3 : 2, argv) < 0)
			return -1;
	}
	const char *myid[] = { "CLUSTER", "MYID" };
	redisReply *r = omr_move_cmd(n, err, "CLUSTER MYID", 2, myid, NULL);
	if (!r)
		return -1;
	snprintf(n->id, sizeof(n->id), "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
	freeReplyObject(r);
	return n->id[0] ? 0 : -1;
}

/* the owner of slot, asked of the configured cluster nodes in turn */
static int omr_move_owner(const struct omr_config *cfg, unsigned slot, struct omr_move_node *o,
			  FILE *err)
{
	for (char **seed = cfg->redis.cluster; seed && *seed; seed++) {
		struct omr_move_node s = { 0 };
		const char *why = NULL;
		if (omr_hostport_split(*seed, s.host, &s.port) < 0 ||
		    omr_move_connect(&s, cfg->redis.username, cfg->redis.password, err) < 0) {
			if (s.c)
				redisFree(s.c);
			continue;
		}
		const char *argv[] = { "CLUSTER", "SLOTS" };
		redisReply *r = omr_move_cmd(&s, err, "CLUSTER SLOTS", 2, argv, NULL);
		int ok = r && omr_primary_parse_slots(r, slot, o->host, sizeof(o->host), &o->port,
						      &why) == 0;
		if (r && !ok)
			fprintf(err, "omniroute: %s: %s\n", *seed, why);
		freeReplyObject(r);
		redisFree(s.c);
		if (ok)
			return 0;
	}
	fprintf(err, "omniroute: no cluster node in redis.cluster named the owner of slot %u\n",
		slot);
	return -1;
}

static int omr_move_setslot(struct omr_move_node *n, FILE *err, const char *slot, const char *how,
			    const char *id)
{
	const char *argv[] = { "CLUSTER", "SETSLOT", slot, how, id };
	return omr_move_simple(n, err, "CLUSTER SETSLOT", id ? 5 : 4, argv);
}

/* every key of the slot but `moving`, to dst; the number moved, or -1 */
static long long omr_move_keys(struct omr_move_node *src, struct omr_move_node *dst,
			       const char *slot, const char *moving, const char *user,
			       const char *password, FILE *err)
{
	long long moved = 0;
	char port[16], timeout[16], batch[16];
	snprintf(port, sizeof(port), "%d", dst->port);
	snprintf(timeout, sizeof(timeout), "%d", OMR_MOVE_TIMEOUT_MS);
	snprintf(batch, sizeof(batch), "%d", OMR_MOVE_BATCH + 1);
	for (;;) {
		const char *get[] = { "CLUSTER", "GETKEYSINSLOT", slot, batch };
		redisReply *keys = omr_move_cmd(src, err, "CLUSTER GETKEYSINSLOT", 4, get, NULL);
		if (!keys || keys->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(keys);
			return -1;
		}
		size_t n = 0, argc = 0;
		const char **argv = omr_calloc(keys->elements + 10, sizeof(*argv));
		size_t *lens = omr_calloc(keys->elements + 10, sizeof(*lens));
#define ARG(s, l) (argv[argc] = (s), lens[argc++] = (l))
		ARG("MIGRATE", 7);
		ARG(dst->host, strlen(dst->host));
		ARG(port, strlen(port));
		ARG("", 0);
		ARG("0", 1);
		ARG(timeout, strlen(timeout));
		ARG("REPLACE", 7);
		if (password && user) {
			ARG("AUTH2", 5);
			ARG(user, strlen(user));
			ARG(password, strlen(password));
		} else if (password) {
			ARG("AUTH", 4);
			ARG(password, strlen(password));
		}
		ARG("KEYS", 4);
		for (size_t i = 0; i < keys->elements; i++) {
			const redisReply *k = keys->element[i];
			if (k->type != REDIS_REPLY_STRING || strcmp(k->str, moving) == 0)
				continue;
			ARG(k->str, k->len);
			n++;
		}
#undef ARG
		redisReply *r = n ? omr_move_cmd(src, err, "MIGRATE", (int)argc, argv, lens) : NULL;
		free(argv);
		free(lens);
		freeReplyObject(keys);
		if (!n)
			return moved;
		if (!r)
			return -1;
		freeReplyObject(r);
		moved += (long long)n;
	}
}

/* the other primaries learn the new owner now rather than by gossip */
static void omr_move_tell_all(struct omr_move_node *src, const char *slot, const char *dst_id,
			      const char *user, const char *password, FILE *err)
{
	redisReply *r = redisCommand(src->c, "CLUSTER NODES");
	char *save = NULL;
	if (!r || r->type != REDIS_REPLY_STRING) {
		freeReplyObject(r);
		return;
	}
	for (char *line = strtok_r(r->str, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char id[64], addr[300], flags[200];
		struct omr_move_node n = { 0 };
		char *at;
		if (sscanf(line, "%63s %299s %199s", id, addr, flags) != 3 ||
		    !strstr(flags, "master") || strstr(flags, "myself") || strstr(flags, "fail") ||
		    strcmp(id, dst_id) == 0)
			continue;
		if ((at = strchr(addr, '@')))
			*at = '\0';
		if (omr_hostport_split(addr, n.host, &n.port) < 0)
			continue;
		if (omr_move_connect(&n, user, password, err) == 0)
			omr_move_setslot(&n, err, slot, "NODE", dst_id);
		if (n.c)
			redisFree(n.c);
	}
	freeReplyObject(r);
}

int omr_move_site(const struct omr_config *cfg, const char *to, FILE *out, FILE *err)
{
	struct omr_move_node src = { 0 }, dst = { 0 };
	unsigned slot_n;
	char slot[16], *moving = NULL;
	long long moved = -1;
	int64_t t0 = omr_mono_ms();
	int rc = -1;

	if (!cfg->redis.cluster) {
		fprintf(err, "omniroute: --move-site needs redis.cluster in the configuration\n");
		return -1;
	}
	if (omr_hostport_split(to, dst.host, &dst.port) < 0) {
		fprintf(err, "omniroute: --move-site: '%s' is not host:port\n", to);
		return -1;
	}
	slot_n = omr_primary_slot(cfg->redis.site, strlen(cfg->redis.site));
	snprintf(slot, sizeof(slot), "%u", slot_n);
	moving = omr_asprintf("%s:{%s}:moving", cfg->redis.prefix, cfg->redis.site);
	if (omr_move_owner(cfg, slot_n, &src, err) < 0)
		goto done;
	if (omr_move_connect(&src, cfg->redis.username, cfg->redis.password, err) < 0 ||
	    omr_move_connect(&dst, cfg->redis.username, cfg->redis.password, err) < 0)
		goto done;
	if (strcmp(src.id, dst.id) == 0) {
		fprintf(out, "omniroute: site '%s' (slot %s) is on %s:%d already\n", cfg->redis.site,
			slot, src.host, src.port);
		rc = 0;
		goto done;
	}
	/* no key left on the owner: a move that stopped after its keys went
	 * (or a site never used): only the slot is to be given */
	const char *count[] = { "CLUSTER", "COUNTKEYSINSLOT", slot };
	redisReply *cr = omr_move_cmd(&src, err, "CLUSTER COUNTKEYSINSLOT", 3, count, NULL);
	long long keys = cr && cr->type == REDIS_REPLY_INTEGER ? cr->integer : -1;
	freeReplyObject(cr);
	if (keys < 0)
		goto done;
	if (keys == 0) {
		moved = 0;
		fprintf(out, "omniroute: site '%s' (slot %s) has no key on %s:%d: giving the slot "
			"to %s:%d\n", cfg->redis.site, slot, src.host, src.port, dst.host, dst.port);
		goto give;
	}
	fprintf(out, "omniroute: moving site '%s' (slot %s) from %s:%d to %s:%d; scripts pause\n",
		cfg->redis.site, slot, src.host, src.port, dst.host, dst.port);
	const char *pause[] = { "SET", moving, to };
	if (omr_move_simple(&src, err, "SET moving", 3, pause) < 0)
		goto done;
	if (omr_move_setslot(&dst, err, slot, "IMPORTING", src.id) < 0 ||
	    omr_move_setslot(&src, err, slot, "MIGRATING", dst.id) < 0)
		goto undo;
	moved = omr_move_keys(&src, &dst, slot, moving, cfg->redis.username, cfg->redis.password, err);
	if (moved < 0)
		goto stuck;
	const char *resume[] = { "DEL", moving };
	if (omr_move_simple(&src, err, "DEL moving", 2, resume) < 0)
		goto stuck;
give:
	if (omr_move_setslot(&dst, err, slot, "NODE", dst.id) < 0 ||
	    omr_move_setslot(&src, err, slot, "NODE", dst.id) < 0)
		goto stuck;
	omr_move_tell_all(&src, slot, dst.id, cfg->redis.username, cfg->redis.password, err);
	fprintf(out, "omniroute: moved site '%s': %lld keys in %lld ms; nodes follow the MOVED "
		"answers\n", cfg->redis.site, moved, (long long)(omr_mono_ms() - t0));
	rc = 0;
	goto done;
undo:
	/* nothing moved yet: the slot stays where it was, scripts resume */
	omr_move_setslot(&dst, err, slot, "STABLE", NULL);
	omr_move_setslot(&src, err, slot, "STABLE", NULL);
	const char *undo_del[] = { "DEL", moving };
	omr_move_simple(&src, err, "DEL moving", 2, undo_del);
	fprintf(err, "omniroute: nothing was moved; the site runs on %s:%d as before\n", src.host,
		src.port);
	goto done;
stuck:
	fprintf(err, "omniroute: the move stopped half-way: site '%s' is paused (its scripts "
		"refuse to run); run the same command again to finish it\n", cfg->redis.site);
done:
	if (src.c)
		redisFree(src.c);
	if (dst.c)
		redisFree(dst.c);
	free(moving);
	return rc;
}
