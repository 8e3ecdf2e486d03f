/* Routing simulation, table-driven, with a controllable clock.
 *
 * Part 1 drives the pure decisions (omr_route.c) with configurations
 * written as YAML: rules and the value matrix, aging, escalation steps,
 * candidates by skills, proficiency, capacity, language and preference.
 * Part 2 runs the offer scripts against a real redis-server (started here
 * on a private unix socket) with explicit times: strategies, capacity,
 * declines and their cooldown, the preferred agent's bounded wait, expiry.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "omr_agents_conf.h"
#include "omr_route.h"
#include "omr_routing_conf.h"
#include "omr_scripts.h"
#include "omr_util.h"
#include "omr_yaml.h"

/* ---- configuration from text ---- */

struct conf {
	struct omr_ydoc *rdoc, *adoc;
	struct omr_routing_conf *r;
	struct omr_agents_conf *a;
};

static void conf_load(struct conf *c, const char *routing, const char *agents)
{
	struct omr_conf_errs errs;
	char *err = NULL;
	omr_conf_errs_init(&errs);
	c->rdoc = omr_yaml_load_string("routing.yaml", routing, strlen(routing), &err);
	if (!c->rdoc)
		fail_msg("routing YAML: %s", err);
	c->r = omr_routing_conf_load(c->rdoc, &errs);
	if (!c->r)
		fail_msg("routing refused:\n%s", errs.text.data);
	c->adoc = omr_yaml_load_string("agents.yaml", agents, strlen(agents), &err);
	c->a = omr_agents_conf_load(c->adoc, c->r, &errs);
	if (!c->a)
		fail_msg("agents refused:\n%s", errs.text.data);
	omr_conf_errs_free(&errs);
}

static void conf_free(struct conf *c)
{
	omr_agents_conf_free(c->a);
	omr_routing_conf_free(c->r);
	omr_yaml_free(c->rdoc);
	omr_yaml_free(c->adoc);
}

static const char *ROUTING =
	"skills: [billing, tech, general, complaints]\n"
	"default_queue: general\n"
	"aging: 1m\n"
	"queues:\n"
	"  - name: general\n"
	"  - name: billing\n"
	"    skills: { billing: 3 }\n"
	"    optional_skills: { general: 4 }\n"
	"    priority: 60\n"
	"    escalation:\n"
	"      - after: 30s\n"
	"        relax: 1\n"
	"      - after: 60s\n"
	"        drop_optional: true\n"
	"      - after: 120s\n"
	"        relax: 2\n"
	"        overflow: general\n"
	"  - name: social\n"
	"    priority: 80\n"
	"rules:\n"
	"  - name: outage\n"
	"    when: 'text:lower():find(\"outage\")'\n"
	"    queue: billing\n"
	"    answer: { text: 'Known outage', then: park }\n"
	"  - name: order status\n"
	"    when: 'intent == \"order_status\"'\n"
	"    value: { customer: low, organisation: low }\n"
	"  - name: faq\n"
	"    when: 'text:lower():find(\"opening hours\")'\n"
	"    value: { customer: high, organisation: low }\n"
	"  - name: upsell\n"
	"    when: 'text:lower():find(\"upgrade\")'\n"
	"    value: { customer: low, organisation: high }\n"
	"  - name: public complaint\n"
	"    when: 'public and customer.at_risk'\n"
	"    queue: social\n"
	"    skills: { complaints: 2 }\n"
	"    value: { customer: high, organisation: high }\n"
	"    tags: [complaint]\n"
	"  - name: dutch\n"
	"    when: 'language == \"\" and text:lower():find(\"factuur\")'\n"
	"    language: nl\n"
	"    continue: true\n"
	"  - name: billing\n"
	"    when: 'text:lower():find(\"factuur\") or text:lower():find(\"invoice\")'\n"
	"    queue: billing\n"
	"    prefer_last_agent: 2m\n"
	"  - name: human please\n"
	"    when: 'text:lower():find(\"person\")'\n"
	"    tier: human\n"
	"    value: { customer: high, organisation: low }\n"
	"value:\n"
	"  eliminate: { text: 'Track it here', reason: where is my order }\n"
	"  encourage: { priority_boost: 15 }\n"
	"engagement: { low: -5 }\n";

static const char *AGENTS =
	"agents:\n"
	"  - { id: ann, token: \"$sha256$4aebd70d3e9413c91f66417e4fea3d65096e0723b1d5b84093132287a974a2bd\", skills: { billing: 5, general: 4 },"
	" team: blue, languages: [nl, en], capacity: { webchat: 2, email: 5 } }\n"
	"  - { id: ben, token: \"$sha256$62797ad26a25056b22f1ffd105c8784d31b01b27f3f09c39cf91d390eb9b8981\", skills: { billing: 3, general: 2 },"
	" languages: [en], capacity: { webchat: 3 } }\n"
	"  - { id: cas, token: \"$sha256$9fc28cedf7cfd98c49d1092f550b26daa933e4bd72c43af9d7b7d6fa4fc0144c\", skills: { billing: 2, general: 4, complaints: 4 },"
	" team: blue, capacity: { webchat: 1 } }\n"
	"  - { id: dee, token: \"$sha256$fbdcc798a8b060536a2ec1430c000415f267f81c4d3f881bbf8e0358bccd7ea2\", skills: { tech: 5 }, capacity: { email: 4 } }\n";

static json_t *facts(const char *text, const char *intent, int public, int balance)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:b,s:{}, s:{s:s,s:i,s:b}}", "text", text, "channel",
			 "webchat", "language", "", "intent", intent, "public", public, "attrs",
			 "customer", "name", "Kim", "balance", balance, "at_risk", balance < -5);
}

static void test_decide(void **state)
{
	struct conf c;
	static const struct {
		const char *text, *intent;
		int public, balance;
		const char *queue, *quadrant, *tier;
		long long priority;
		const char *language, *elim;
		long long prefer;
	} cases[] = {
		/* nothing matches: default queue, not valued, a person */
		{ "hello", "", 0, 0, "general", NULL, "human", 50, NULL, NULL, 0 },
		/* low/low: eliminate with the automatic answer */
		{ "where?", "order_status", 0, 0, "general", "eliminate", "human", 50, NULL, "Track it here", 0 },
		/* high/low: self-service: bot first, but no bot configured */
		{ "opening hours?", "", 0, 0, "general", "self_service", "human", 50, NULL, NULL, 0 },
		/* low/high: simplify */
		{ "can I upgrade", "", 0, 0, "general", "simplify", "human", 50, NULL, NULL, 0 },
		/* high/high: encourage raises the priority: 80 + 15 */
		{ "this is bad", "", 1, -10, "social", "encourage", "human", 95, NULL, NULL, 0 },
		/* public but not at risk: no complaint rule */
		{ "this is bad", "", 1, 0, "general", NULL, "human", 50, NULL, NULL, 0 },
		/* continue: the language rule, then the billing rule */
		{ "mijn factuur", "", 0, 0, "billing", NULL, "human", 60, "nl", NULL, 120000 },
		{ "my invoice", "", 0, 0, "billing", NULL, "human", 60, NULL, NULL, 120000 },
		/* a rule's own answer (the queue kept for a hand-off when parked) */
		{ "outage?", "", 0, 0, "billing", NULL, "human", 60, NULL, "Known outage", 0 },
		/* tier human by rule, whatever the quadrant */
		{ "a person please", "", 0, 0, "general", "self_service", "human", 50, NULL, NULL, 0 },
	};
	conf_load(&c, ROUTING, AGENTS);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *f = facts(cases[i].text, cases[i].intent, cases[i].public, cases[i].balance);
		struct omr_decision d;
		omr_route_decide(c.r, f, 0, &d);
		const char *quad = json_string_value(json_object_get(d.explain, "quadrant"));
		if (strcmp(d.queue, cases[i].queue) != 0 ||
		    (cases[i].quadrant ? !quad || strcmp(quad, cases[i].quadrant) : quad != NULL) ||
		    strcmp(d.tier == OMR_TIER_BOT ? "bot" : "human", cases[i].tier) != 0 ||
		    d.priority != cases[i].priority ||
		    (cases[i].language ? !d.language || strcmp(d.language, cases[i].language)
				       : d.language != NULL) ||
		    (cases[i].elim ? !d.elim_text || strcmp(d.elim_text, cases[i].elim)
				   : d.elim_text != NULL) ||
		    d.prefer_ms != cases[i].prefer) {
			char *ex = json_dumps(d.explain, 0);
			fail_msg("case %zu ('%s'): %s", i, cases[i].text, ex);
		}
		omr_decision_release(&d);
		json_decref(f);
	}
	/* with a bot configured, self-service goes to the bot tier */
	json_t *f = facts("opening hours?", "", 0, 0);
	struct omr_decision d;
	omr_route_decide(c.r, f, 1, &d);
	assert_int_equal(d.tier, OMR_TIER_BOT);
	omr_decision_release(&d);
	json_decref(f);
	/* the rule's answer: parked, its trigger is the rule's name */
	f = facts("outage?", "", 0, 0);
	omr_route_decide(c.r, f, 1, &d);
	assert_int_equal(d.elim_park, 1);
	assert_string_equal(d.elim_reason, "outage");
	omr_decision_release(&d);
	json_decref(f);
	/* the complaint rule adds its skills and tag */
	f = facts("bad", "", 1, -10);
	omr_route_decide(c.r, f, 0, &d);
	assert_int_equal(json_integer_value(json_object_get(d.skills, "complaints")), 2);
	assert_string_equal(json_string_value(json_array_get(d.tags, 0)), "complaint");
	assert_string_equal(json_string_value(json_object_get(d.explain, "strategy")), "best_proficiency");
	omr_decision_release(&d);
	json_decref(f);
	conf_free(&c);
}

/* The shipped conf/routing.yaml: public posts are urgent without a rule
 * of the admin's (issue 18): a comment or an X mention goes to the public
 * queue, whatever it is about, with its service level and priority 80 +
 * the encourage boost; a private one is routed by its content. */
static void test_shipped_public(void **state)
{
	static const struct {
		const char *channel, *text;
		int public;
		const char *queue;
		long long priority;
	} cases[] = {
		{ "messenger", "Worst service ever!!", 1, "public", 100 },
		{ "x", "@shop where is my invoice?", 1, "public", 100 },
		{ "instagram", "klacht: mijn factuur klopt niet", 1, "public", 100 },
		{ "webchat", "a question about my invoice", 0, "billing", 50 },
		{ "x", "hello", 0, "general", 50 },
	};
	struct conf c;
	char *routing = omr_read_file(OMR_TEST_SRCDIR "/conf/routing.yaml", 1 << 20, NULL, NULL);
	assert_non_null(routing);
	conf_load(&c, routing, "agents:\n  - { id: ann, token: \"$sha256$4aebd70d3e9413c91f66417e4fea"
		  "3d65096e0723b1d5b84093132287a974a2bd\", skills: { general: 3 } }\n");
	const struct omr_queue_conf *pq = omr_routing_queue(c.r, "public");
	assert_non_null(pq);
	assert_int_equal(pq->sla.within, 15 * 60000);
	assert_int_equal(pq->sla.target, 90);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *f = json_pack("{s:s,s:s,s:s,s:s,s:b,s:{},s:{s:s,s:i,s:b}}", "text",
				      cases[i].text, "channel", cases[i].channel, "language", "",
				      "intent", "", "public", cases[i].public, "attrs", "customer",
				      "name", "Kim", "balance", 0, "at_risk", 0);
		struct omr_decision d;
		omr_route_decide(c.r, f, 1, &d);
		if (strcmp(d.queue, cases[i].queue) != 0 || d.priority != cases[i].priority ||
		    (cases[i].public && d.tier != OMR_TIER_HUMAN)) {
			char *ex = json_dumps(d.explain, 0);
			fail_msg("case %zu ('%s'): %s", i, cases[i].text, ex);
		}
		omr_decision_release(&d);
		json_decref(f);
	}
	/* the reasons' attributes, and the note of a private answer */
	const struct omr_reason_conf *rc = omr_routing_reason(c.r, "invoice unclear");
	assert_non_null(rc);
	assert_true(rc->avoidable);
	assert_string_equal(omr_quadrant_names[rc->treatment], "eliminate");
	rc = omr_routing_reason(c.r, "connection down");
	assert_non_null(rc);
	assert_false(rc->avoidable);
	assert_int_equal(rc->treatment, -1);
	assert_string_equal(omr_routing_note(c.r, "nl"), "We hebben je een privébericht gestuurd.");
	assert_string_equal(omr_routing_note(c.r, "de"), "We have sent you a private message.");
	assert_string_equal(omr_routing_note(NULL, NULL), "We have sent you a private message.");
	conf_free(&c);
	free(routing);
}

static void test_aging(void **state)
{
	struct conf c;
	conf_load(&c, ROUTING, AGENTS);
	long long t0 = 1800000000000LL;
	/* priority 80 arriving now vs priority 50 that has waited: 30 points
	 * are worth 30 minutes */
	long long high_now = omr_route_score(c.r, t0, 80);
	assert_true(omr_route_score(c.r, t0 - 29 * 60000LL, 50) > high_now);
	assert_true(omr_route_score(c.r, t0 - 31 * 60000LL, 50) < high_now);
	/* equal priority: first come, first served */
	assert_true(omr_route_score(c.r, t0 - 1, 50) < omr_route_score(c.r, t0, 50));
	conf_free(&c);
}

static void test_escalation(void **state)
{
	struct conf c;
	static const struct {
		long long waited;
		int step;
		long long relax;
		int drop;
		const char *overflow;
	} cases[] = {
		{ 0, -1, 0, 0, NULL },          { 29999, -1, 0, 0, NULL },
		{ 30000, 0, 1, 0, NULL },       { 59999, 0, 1, 0, NULL },
		{ 60000, 1, 1, 1, NULL },       { 119999, 1, 1, 1, NULL },
		{ 120000, 2, 2, 1, "general" }, { 9999999, 2, 2, 1, "general" },
	};
	conf_load(&c, ROUTING, AGENTS);
	const struct omr_queue_conf *q = omr_routing_queue(c.r, "billing");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct omr_escalation e;
		omr_route_escalation(q, cases[i].waited, &e);
		if (e.step != cases[i].step || e.relax != cases[i].relax ||
		    e.drop_optional != cases[i].drop ||
		    (cases[i].overflow ? !e.overflow || strcmp(e.overflow, cases[i].overflow)
				       : e.overflow != NULL))
			fail_msg("waited %lld: step %d relax %lld drop %d overflow %s", cases[i].waited,
				 e.step, e.relax, e.drop_optional, e.overflow ? e.overflow : "-");
	}
	conf_free(&c);
}

static char *cands_str(const struct omr_cands *k)
{
	struct omr_buf b;
	omr_buf_init(&b);
	for (int i = 0; i < k->n; i++)
		omr_buf_printf(&b, "%s%s/%s/%s", i ? " " : "", k->argv[i * 3], k->argv[i * 3 + 1],
			       k->argv[i * 3 + 2]);
	return omr_buf_steal(&b, NULL);
}

static void test_candidates(void **state)
{
	struct conf c;
	static const struct {
		const char *queue, *channel, *rule_skills, *language, *only;
		int with_optional;
		long long relax;
		const char *want; /* id/capacity/score */
	} cases[] = {
		/* billing 3 and (optional) general 4: only ann */
		{ "billing", "webchat", "{}", "", NULL, 1, 0, "ann/2/9" },
		/* optional dropped: ben (billing 3) too */
		{ "billing", "webchat", "{}", "", NULL, 0, 0, "ann/2/5 ben/3/3" },
		/* relaxed by 1: billing 2 is enough: cas too */
		{ "billing", "webchat", "{}", "", NULL, 0, 1, "ann/2/5 ben/3/3 cas/1/2" },
		/* Dutch: ben speaks only English; cas lists no languages (any) */
		{ "billing", "webchat", "{}", "nl", NULL, 0, 1, "ann/2/5 cas/1/2" },
		/* no capacity on the channel: dee has no webchat */
		{ "general", "webchat", "{}", "", NULL, 1, 0, "ann/2/0 ben/3/0 cas/1/0" },
		{ "general", "email", "{}", "", NULL, 1, 0, "ann/5/0 dee/4/0" },
		/* a rule's skills on top of the queue's */
		{ "general", "webchat", "{\"complaints\": 2}", "", NULL, 1, 0, "cas/1/4" },
		/* relaxing never drops a skill */
		{ "general", "webchat", "{\"complaints\": 2}", "", NULL, 1, 4, "cas/1/4" },
		/* the preferred agent only, skills or not */
		{ "billing", "webchat", "{}", "nl", "ben", 1, 0, "ben/3/5" },
		{ "billing", "webchat", "{}", "", "nobody", 1, 0, "" },
	};
	conf_load(&c, ROUTING, AGENTS);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct omr_queue_conf *q = omr_routing_queue(c.r, cases[i].queue);
		json_t *rule = json_loads(cases[i].rule_skills, 0, NULL), *need, *opt;
		struct omr_cands k;
		omr_route_needs(q, rule, cases[i].with_optional, &need, &opt);
		omr_route_candidates(c.a, cases[i].channel, need, opt, cases[i].language, cases[i].only,
				     NULL, cases[i].relax, &k);
		char *got = cands_str(&k);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, got, cases[i].want);
		free(got);
		omr_cands_free(&k);
		json_decref(rule);
		json_decref(need);
		json_decref(opt);
	}
	/* a contact person's team: only its members who fit (ben is not in it) */
	static const struct {
		const char *team, *want;
	} teams[] = { { "blue", "ann/2/0 cas/1/0" }, { "red", "" }, { NULL, "ann/2/0 ben/3/0 cas/1/0" } };
	for (size_t i = 0; i < sizeof(teams) / sizeof(teams[0]); i++) {
		const struct omr_queue_conf *q = omr_routing_queue(c.r, "general");
		json_t *need, *opt;
		struct omr_cands k;
		omr_route_needs(q, NULL, 1, &need, &opt);
		omr_route_candidates(c.a, "webchat", need, opt, "", NULL, teams[i].team, 0, &k);
		char *got = cands_str(&k);
		if (strcmp(got, teams[i].want) != 0)
			fail_msg("team %s: got '%s', want '%s'", teams[i].team ? teams[i].team : "-", got,
				 teams[i].want);
		free(got);
		omr_cands_free(&k);
		json_decref(need);
		json_decref(opt);
	}
	conf_free(&c);
}

/* ---- part 2: the offer scripts in a real Redis, with a fake clock ---- */

static pid_t redis_pid;
static char redis_dir[] = "/tmp/omr-test-routing-XXXXXX";
static redisContext *R;

static int start_redis(void **state)
{
	char sock[256];
	const char *server = getenv("OMR_REDIS_SERVER") ? getenv("OMR_REDIS_SERVER") : "redis-server";
	if (!mkdtemp(redis_dir))
		return -1;
	snprintf(sock, sizeof(sock), "%s/redis.sock", redis_dir);
	redis_pid = fork();
	if (redis_pid == 0) {
		execlp(server, server, "--port", "0", "--unixsocket", sock, "--save", "",
		       "--appendonly", "no", "--dir", redis_dir, "--loglevel", "warning",
		       "--daemonize", "no",
		       (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		R = redisConnectUnix(sock);
		if (R && !R->err)
			return 0;
		if (R)
			redisFree(R);
		R = NULL;
		usleep(20000);
	}
	return -1;
}

static int stop_redis(void **state)
{
	char cmd[512];
	if (R)
		redisFree(R);
	kill(redis_pid, SIGTERM);
	waitpid(redis_pid, NULL, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", redis_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static redisReply *cmd(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(R, fmt, ap);
	va_end(ap);
	assert_non_null(r);
	return r;
}

static void do_cmd(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(R, fmt, ap);
	va_end(ap);
	assert_non_null(r);
	if (r->type == REDIS_REPLY_ERROR)
		fail_msg("%s: %s", fmt, r->str);
	freeReplyObject(r);
}

/* Run a generated script (src/lua) by name: nkeys KEYS, then ARGV[1] = the
 * prefix and the arguments. */
static redisReply *script(enum omr_lua_script id, int nkeys, const char *const *keys, int argc,
			  const char *const *argv)
{
	const char **full = calloc((size_t)(nkeys + argc) + 5, sizeof(*full));
	char nk[8];
	snprintf(nk, sizeof(nk), "%d", nkeys);
	full[0] = "EVAL";
	full[1] = omr_lua_sources[id];
	full[2] = nk;
	memcpy(full + 3, keys, (size_t)nkeys * sizeof(*keys));
	full[3 + nkeys] = "t:{s}:";
	memcpy(full + 4 + nkeys, argv, (size_t)argc * sizeof(*argv));
	redisReply *r = redisCommandArgv(R, nkeys + argc + 4, full, NULL);
	free(full);
	assert_non_null(r);
	if (r->type == REDIS_REPLY_ERROR)
		fail_msg("script %s: %s", omr_lua_names[id], r->str);
	return r;
}

/* Redis' clock, ms: what the scripts compare against */
static long long rnow(void)
{
	redisReply *r = cmd("TIME");
	long long ms = atoll(r->element[0]->str) * 1000 + atoll(r->element[1]->str) / 1000;
	freeReplyObject(r);
	return ms;
}

/* agents: presence, load, last assignment, last offer, declined */
static void agent_state(const char *id, const char *presence, int load, long long idle_since,
			long long last_offer)
{
	do_cmd("HSET t:{s}:agent:%s presence %s node n1 sessions 1 load:webchat %d "
	       "last_assigned_at %lld last_offer_at %lld", id, presence, load, idle_since, last_offer);
	do_cmd("HSET t:{s}:agent:%s:nodes n1 1", id);
}

/* a conversation waiting in queue q, by enqueue.lua (and so indexed) */
static void enqueue(const char *conv, const char *language, const char *skills, long long prio,
		    const char *prefer, long long prefer_ms)
{
	char pr[24], pms[24];
	snprintf(pr, sizeof(pr), "%lld", prio);
	snprintf(pms, sizeof(pms), "%lld", prefer_ms);
	do_cmd("HSET t:{s}:conv:%s id %s status new channel webchat", conv, conv);
	char ckey[64];
	snprintf(ckey, sizeof(ckey), "t:{s}:conv:%s", conv);
	const char *keys[] = { "t:{s}:events", ckey, "t:{s}:queue:q" };
	const char *argv[] = { "", "g", conv, "q", pr, "1000", skills, language, "[]", "{}",
			       prefer, pms, "", "[]", "-100", "100" };
	freeReplyObject(script(OMR_LUA_ENQUEUE, 3, keys, 16, argv));
}

static void waiting(const char *conv, const char *prefer, long long prefer_ms)
{
	enqueue(conv, "", "{}", 0, prefer, prefer_ms);
}

static const char *offer_pass(const char *conv, long long pass, const char *strategy,
			      const char *const *cands, int n, char *out, size_t outlen)
{
	char spass[24], pool[256], sn[16];
	const char *argv[64];
	size_t len = 0;
	snprintf(spass, sizeof(spass), "%lld", pass);
	snprintf(sn, sizeof(sn), "%d", n * 3);
	/* the pool's name: what it is made of, as the router's hash is */
	len += (size_t)snprintf(pool + len, sizeof(pool) - len, "%s", strategy);
	for (int i = 0; i < n * 3; i++)
		len += (size_t)snprintf(pool + len, sizeof(pool) - len, ",%s", cands[i]);
	const char *keys[] = { "t:{s}:queue:q" };
	argv[0] = "q";
	argv[1] = "20000";
	argv[2] = spass;
	argv[3] = "0"; /* the clock's offset (gen.awk: @time) */
	/* one conversation of a batch */
	argv[4] = conv;
	argv[5] = "o_1";
	argv[6] = strategy;
	argv[7] = pool;
	argv[8] = sn;
	for (int i = 0; i < n * 3; i++)
		argv[9 + i] = cands[i];
	redisReply *all = script(OMR_LUA_OFFER, 1, keys, 9 + n * 3, argv);
	assert_int_equal(all->type, REDIS_REPLY_ARRAY);
	assert_int_equal(all->elements, 2);
	assert_int_equal(all->element[1]->elements, 1);
	const redisReply *r = all->element[1]->element[0];
	const char *tag = r->element[0]->str;
	if (strcmp(tag, "ok") == 0)
		snprintf(out, outlen, "%s", r->element[1]->str);
	else if (strcmp(tag, "wait") == 0)
		snprintf(out, outlen, "wait:%s", r->element[1]->str);
	else if (strcmp(tag, "none") == 0 && r->elements >= 5)
		snprintf(out, outlen, "none:%s", r->element[4]->str);
	else
		snprintf(out, outlen, "%s", tag);
	freeReplyObject(all);
	return out;
}

/* offer.lua's pass while nothing of the pass was missed (omr_router_int.h) */
#define OMR_ROUTER_NO_MISS_TEST (1LL << 62)

static const char *offer(const char *conv, const char *strategy, const char *const *cands,
			 int n, char *out, size_t outlen)
{
	return offer_pass(conv, rnow() + 60000, strategy, cands, n, out, outlen);
}

static void end_offer(const char *how)
{
	const char *keys[] = { "t:{s}:offer:o_1", "t:{s}:offers" };
	const char *argv[] = { how, "o_1", "", "60000", "3" };
	freeReplyObject(script(OMR_LUA_OFFER_END, 2, keys, 5, argv));
}

/* The ids queue_peek returns for queue q, in order, space-separated. */
static void peek(int front, int classes, int per_class, char *out, size_t outlen)
{
	char f[8], c[8], pc[8];
	snprintf(f, sizeof(f), "%d", front);
	snprintf(c, sizeof(c), "%d", classes);
	snprintf(pc, sizeof(pc), "%d", per_class);
	const char *keys[] = { "t:{s}:queue:q" };
	const char *argv[] = { "q", f, c, pc };
	redisReply *r = script(OMR_LUA_QUEUE_PEEK, 1, keys, 4, argv);
	size_t len = 0;
	out[0] = '\0';
	assert_int_equal(r->element[1]->type, REDIS_REPLY_ARRAY);
	for (size_t i = 0; i < r->element[1]->elements; i++)
		len += (size_t)snprintf(out + len, outlen - len, "%s%s", len ? " " : "",
					r->element[1]->element[i]->element[0]->str);
	freeReplyObject(r);
}

static void test_offers(void **state)
{
	static const char *const three[] = { "ann", "2", "9", "ben", "3", "3", "cas", "1", "2" };
	char got[64];
	static const struct {
		const char *strategy;
		/* ann, ben, cas: presence, load, idle since, last offer */
		const char *p[3];
		int load[3];
		long long idle[3], lastoffer[3];
		const char *want;
	} cases[] = {
		{ "longest_idle", { "available", "available", "available" }, { 0, 0, 0 },
		  { 300, 100, 200 }, { 0, 0, 0 }, "ben" },
		{ "least_occupied", { "available", "available", "available" }, { 1, 1, 0 },
		  { 100, 100, 100 }, { 0, 0, 0 }, "cas" },
		{ "least_occupied", { "available", "available", "away" }, { 1, 1, 0 },
		  { 100, 100, 100 }, { 0, 0, 0 }, "ben" }, /* 1/3 < 1/2 */
		{ "best_proficiency", { "available", "available", "available" }, { 0, 0, 0 },
		  { 100, 100, 100 }, { 0, 0, 0 }, "ann" },
		{ "round_robin", { "available", "available", "available" }, { 0, 0, 0 },
		  { 100, 100, 100 }, { 30, 10, 20 }, "ben" },
		/* capacity: ann 2/2, cas 1/1 are full */
		{ "best_proficiency", { "available", "available", "available" }, { 2, 0, 1 },
		  { 100, 100, 100 }, { 0, 0, 0 }, "ben" },
		{ "longest_idle", { "away", "offline", "available" }, { 0, 0, 1 },
		  { 100, 100, 100 }, { 0, 0, 0 }, "none:class" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		do_cmd("FLUSHALL");
		do_cmd("SET t:{s}:node:n1:alive 1");
		static const char *const ids[] = { "ann", "ben", "cas" };
		for (int k = 0; k < 3; k++)
			agent_state(ids[k], cases[i].p[k], cases[i].load[k], cases[i].idle[k],
				    cases[i].lastoffer[k]);
		waiting("c1", "", 0);
		offer("c1", cases[i].strategy, three, 3, got, sizeof(got));
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu (%s): got %s, want %s", i, cases[i].strategy, got,
				 cases[i].want);
	}

	/* an offer reserves capacity; a second conversation cannot overfill */
	do_cmd("FLUSHALL");
	do_cmd("SET t:{s}:node:n1:alive 1");
	agent_state("cas", "available", 0, 0, 0);
	static const char *const only_cas[] = { "cas", "1", "2" };
	waiting("c1", "", 0);
	waiting("c2", "", 0);
	assert_string_equal(offer("c1", "longest_idle", only_cas, 1, got, sizeof(got)), "cas");
	assert_string_equal(offer("c2", "longest_idle", only_cas, 1, got, sizeof(got)), "none:class");
	/* the same conversation cannot be offered twice */
	assert_string_equal(offer("c1", "longest_idle", only_cas, 1, got, sizeof(got)), "gone");
	redisReply *r = cmd("HGET t:{s}:agent:cas load:webchat");
	assert_string_equal(r->str, "1");
	freeReplyObject(r);

	/* expiry at the agent's deadline: back in the queue, capacity freed,
	 * and the agent skipped for the cooldown (60 s here). Not before. */
	end_offer("expire");
	r = cmd("HGET t:{s}:conv:c1 status");
	assert_string_equal(r->str, "offered");
	freeReplyObject(r);
	do_cmd("HSET t:{s}:offer:o_1 expires_at %lld", rnow() - 1);
	end_offer("expire");
	r = cmd("HGET t:{s}:conv:c1 status");
	assert_string_equal(r->str, "queued");
	freeReplyObject(r);
	r = cmd("HGET t:{s}:agent:cas load:webchat");
	assert_string_equal(r->str, "0");
	freeReplyObject(r);
	r = cmd("HGET t:{s}:conv:c1:declined cas");
	long long until = atoll(r->str);
	freeReplyObject(r);
	assert_true(until > rnow() + 55000 && until <= rnow() + 60000);
	/* only missed (not rejected), and nobody else is ready: it goes back
	 * to the agent who missed it, cooldown or not (offer.lua) */
	assert_string_equal(offer("c1", "longest_idle", only_cas, 1, got, sizeof(got)), "cas");

	/* the preferred agent: others wait until the preference runs out */
	do_cmd("FLUSHALL");
	do_cmd("SET t:{s}:node:n1:alive 1");
	agent_state("ann", "away", 0, 0, 0);
	agent_state("ben", "available", 0, 0, 0);
	static const char *const two[] = { "ann", "2", "9", "ben", "3", "3" };
	waiting("c9", "ann", 120000);
	assert_string_equal(offer("c9", "longest_idle", two, 2, got, sizeof(got)), "wait:ann");
	do_cmd("HSET t:{s}:conv:c9 prefer_until %lld", rnow() - 1);
	assert_string_equal(offer("c9", "longest_idle", two, 2, got, sizeof(got)), "ben");

	/* an agent who became free after the pass began: start again from the
	 * top (a better waiting conversation may deserve them) */
	do_cmd("FLUSHALL");
	do_cmd("SET t:{s}:node:n1:alive 1");
	agent_state("ben", "available", 0, 0, 0);
	long long t = rnow();
	do_cmd("HSET t:{s}:agent:ben changed_at %lld", t + 5);
	waiting("c7", "", 0);
	assert_string_equal(offer_pass("c7", t, "longest_idle", two, 2, got, sizeof(got)), "restart");
	assert_string_equal(offer_pass("c7", t + 10, "longest_idle", two, 2, got, sizeof(got)), "ben");

	/* an agent whose node stopped beating gets nothing */
	do_cmd("FLUSHALL");
	agent_state("ben", "available", 0, 0, 0);
	waiting("c5", "", 0);
	assert_string_equal(offer("c5", "longest_idle", two, 2, got, sizeof(got)), "none:class");
	do_cmd("SET t:{s}:node:n1:alive 1");
	assert_string_equal(offer("c5", "longest_idle", two, 2, got, sizeof(got)), "ben");
	/* and the decision is explained on the conversation */
	r = cmd("HGET t:{s}:conv:c5 dispatch");
	json_t *ex = json_loads(r->str, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(ex, "chosen")), "ben");
	assert_int_equal(json_integer_value(json_object_get(ex, "eligible")), 2);
	assert_int_equal(json_integer_value(json_object_get(ex, "ready")), 1); /* ann: no state */
	json_decref(ex);
	freeReplyObject(r);
}

/* Several conversations in one call (a dispatch pass's batch): each gets
 * the best agent left, in the order given; after a pool runs dry the rest
 * of it are answered at once; a restart or a pool not in Redis (which
 * asks for its list) leaves the rest untried; a conversation whose data
 * is bad is answered 'error' and the others still get their offers. Returns the tags (agent for 'ok'),
 * space-separated. */
static const char *offer_batch(const char *const *convs, int nconv, long long pass,
			       const char *const *cands, int n, const char *pool, char *out,
			       size_t outlen)
{
	const char *argv[128];
	char oids[8][8], sn[16];
	int k = 0;
	char spass[24];
	snprintf(spass, sizeof(spass), "%lld", pass);
	snprintf(sn, sizeof(sn), "%d", n * 3);
	argv[k++] = "q";
	argv[k++] = "20000";
	argv[k++] = spass;
	argv[k++] = "0"; /* the clock's offset (gen.awk: @time) */
	for (int c = 0; c < nconv; c++) {
		snprintf(oids[c], sizeof(oids[c]), "o_%d", c);
		argv[k++] = convs[c];
		argv[k++] = oids[c];
		argv[k++] = "longest_idle";
		argv[k++] = pool;
		/* the list with the first conversation only, as the router does */
		argv[k++] = c == 0 ? sn : "0";
		for (int i = 0; c == 0 && i < n * 3; i++)
			argv[k++] = cands[i];
	}
	const char *keys[] = { "t:{s}:queue:q" };
	redisReply *all = script(OMR_LUA_OFFER, 1, keys, k, argv);
	size_t len = 0;
	out[0] = '\0';
	assert_int_equal(all->element[1]->elements, (size_t)nconv);
	for (int c = 0; c < nconv; c++) {
		const redisReply *r = all->element[1]->element[c];
		const char *tag = r->element[0]->str;
		len += (size_t)snprintf(out + len, outlen - len, "%s%s", len ? " " : "",
					strcmp(tag, "ok") == 0 ? r->element[1]->str : tag);
	}
	freeReplyObject(all);
	return out;
}

static void test_offer_batch(void **state)
{
	static const char *const three[] = { "ann", "1", "9", "ben", "1", "3", "cas", "1", "2" };
	static const char *const convs[] = { "b1", "b2", "b3", "b4", "b5" };
	char got[128];
	(void)state;
	do_cmd("FLUSHALL");
	do_cmd("SET t:{s}:node:n1:alive 1");
	/* idle since: cas longest, then ann, then ben */
	agent_state("ann", "available", 0, 200, 0);
	agent_state("ben", "available", 0, 300, 0);
	agent_state("cas", "available", 0, 100, 0);
	for (int i = 0; i < 5; i++)
		waiting(convs[i], "", 0);
	/* three agents of capacity 1, five conversations: three offers in one
	 * call, best agent first; the fourth finds nobody, the fifth is
	 * answered without a look */
	assert_string_equal(offer_batch(convs, 5, OMR_ROUTER_NO_MISS_TEST, three, 3, "pb", got,
					sizeof(got)), "cas ann ben none none");
	redisReply *r = cmd("ZCARD t:{s}:queue:q");
	assert_int_equal(r->integer, 2);
	freeReplyObject(r);
	r = cmd("HGET t:{s}:conv:b5 dispatch");
	assert_int_equal(r->type, REDIS_REPLY_NIL); /* not looked at */
	freeReplyObject(r);
	/* offered ones are gone from the queue: a second look says so */
	assert_string_equal(offer_batch(convs, 2, OMR_ROUTER_NO_MISS_TEST, three, 3, "pb", got,
					sizeof(got)), "gone gone");

	/* an agent changed after the pass's first miss: restart, and the
	 * rest of the batch is left untried */
	do_cmd("FLUSHALL");
	do_cmd("SET t:{s}:node:n1:alive 1");
	agent_state("ann", "available", 0, 200, 0);
	long long t = rnow();
	do_cmd("HSET t:{s}:agent:ann changed_at %lld", t + 5);
	for (int i = 0; i < 3; i++)
		waiting(convs[i], "", 0);
	assert_string_equal(offer_batch(convs, 3, t, three, 3, "pr", got, sizeof(got)),
			    "restart skipped skipped");
	r = cmd("ZCARD t:{s}:queue:q");
	assert_int_equal(r->integer, 3);
	freeReplyObject(r);

	/* a pool not in Redis and no list: the first asks for it, and the
	 * rest are left untried (none may take an agent the first could
	 * have had) */
	do_cmd("FLUSHALL");
	do_cmd("SET t:{s}:node:n1:alive 1");
	agent_state("ann", "available", 0, 200, 0);
	for (int i = 0; i < 2; i++)
		waiting(convs[i], "", 0);
	assert_string_equal(offer_batch(convs, 2, OMR_ROUTER_NO_MISS_TEST, three, 0, "px", got,
					sizeof(got)), "build skipped");
	/* with the list, the pool is built and used */
	assert_string_equal(offer_batch(convs, 2, OMR_ROUTER_NO_MISS_TEST, three, 3, "px", got,
					sizeof(got)), "ann none");

	/* bad data in one conversation (a preference until "soon"): its
	 * answer is 'error', the others of the call get their offers */
	do_cmd("FLUSHALL");
	do_cmd("SET t:{s}:node:n1:alive 1");
	agent_state("ann", "available", 0, 200, 0);
	agent_state("ben", "available", 0, 300, 0);
	for (int i = 0; i < 2; i++)
		waiting(convs[i], "", 0);
	do_cmd("HSET t:{s}:conv:b2 prefer_agent ann prefer_until soon");
	assert_string_equal(offer_batch(convs, 2, OMR_ROUTER_NO_MISS_TEST, three, 3, "pe", got,
					sizeof(got)), "ann error");
	r = cmd("HGET t:{s}:conv:b2 status");
	assert_string_equal(r->str, "queued"); /* left as it was */
	freeReplyObject(r);
}

/* queue.lib: however many conversations of one kind wait, the best of
 * every other kind are looked at too; the index follows every change. */
/* enqueue.lua and the contact person: whom a conversation waits for
 * (the owner; the deputy when the owner is not logged in or away for
 * days; nobody, the team at once, when neither can be waited for), and
 * queue_peek gives the team's turn only to the queueing that chose it. */
static void test_owner_choice(void **state)
{
	static const struct {
		const char *presence;   /* the owner's */
		int sessions;
		long long away_for;     /* ms since the owner's presence changed */
		const char *deputy;     /* "" none; else logged in and available, or not: */
		int deputy_in;
		const char *prefer, *route;
	} cases[] = {
		{ "available", 1, 0, "dee", 1, "ann", "owner" },
		{ "away", 1, 60000, "dee", 1, "ann", "owner" },            /* away a minute */
		{ "away", 1, 3 * 86400000LL, "dee", 1, "dee", "deputy" },  /* away for days */
		{ "offline", 0, 0, "dee", 1, "dee", "deputy" },            /* not logged in */
		{ "offline", 0, 0, "dee", 0, "", "team" },                 /* neither */
		{ "offline", 0, 0, "", 0, "", "team" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char conv[16], ckey[64];
		do_cmd("FLUSHALL");
		long long now = rnow();
		do_cmd("HSET t:{s}:agent:ann presence %s sessions %d presence_at %lld", cases[i].presence,
		       cases[i].sessions, now - cases[i].away_for);
		if (*cases[i].deputy)
			do_cmd("HSET t:{s}:agent:dee presence %s sessions %d presence_at %lld",
			       cases[i].deputy_in ? "available" : "offline", cases[i].deputy_in, now);
		snprintf(conv, sizeof(conv), "o%zu", i);
		snprintf(ckey, sizeof(ckey), "t:{s}:conv:%s", conv);
		do_cmd("HSET %s id %s status new channel webchat customer u1", ckey, conv);
		const char *keys[] = { "t:{s}:events", ckey, "t:{s}:queue:q" };
		const char *argv[] = { "", "g", conv, "q", "50", "1000", "{}", "", "[]", "{}", "", "0",
				       "", "[]", "-100", "100", "ann", cases[i].deputy, "blue", "60000",
				       "60000", "86400000", "", "" };
		freeReplyObject(script(OMR_LUA_ENQUEUE, 3, keys, 24, argv));
		redisReply *r = cmd("HMGET %s prefer_agent owner_route prefer_team", ckey);
		const char *got = r->element[0]->type == REDIS_REPLY_STRING ? r->element[0]->str : "";
		if (strcmp(got, cases[i].prefer) != 0 || !r->element[1]->str ||
		    strcmp(r->element[1]->str, cases[i].route) != 0 || !r->element[2]->str ||
		    strcmp(r->element[2]->str, "blue") != 0)
			fail_msg("case %zu: waits for '%s' as %s, team %s; want '%s' as %s", i, got,
				 r->element[1]->str ? r->element[1]->str : "-",
				 r->element[2]->str ? r->element[2]->str : "-", cases[i].prefer,
				 cases[i].route);
		freeReplyObject(r);
	}
	/* queue_peek: the team (item 12) while the queueing stands; not after
	 * a transfer or requeue (requeued_at later than queued_at) */
	for (int requeued = 0; requeued < 2; requeued++) {
		if (requeued)
			do_cmd("HSET t:{s}:conv:o5 requeued_at %lld", rnow() + 1);
		const char *keys[] = { "t:{s}:queue:q" };
		const char *argv[] = { "q", "10", "0", "0" };
		redisReply *r = script(OMR_LUA_QUEUE_PEEK, 1, keys, 4, argv);
		assert_int_equal(r->element[1]->elements, 1);
		assert_string_equal(r->element[1]->element[0]->element[12]->str, requeued ? "" : "blue");
		freeReplyObject(r);
	}
}

static void test_queue_classes(void **state)
{
	char got[512], want[512];
	size_t len = 0;
	(void)state;
	do_cmd("FLUSHALL");
	for (int i = 0; i < 25; i++) {
		char id[16];
		snprintf(id, sizeof(id), "nl%02d", i);
		enqueue(id, "nl", "{}", 10, "", 0); /* ahead of the English (same time) */
	}
	for (int i = 0; i < 5; i++) {
		char id[16];
		snprintf(id, sizeof(id), "en%d", i);
		enqueue(id, "en", "{\"billing\":2}", 0, "", 0);
	}
	/* the front alone: only Dutch */
	peek(20, 0, 0, got, sizeof(got));
	assert_null(strstr(got, "en"));
	/* with the classes: the first 20, then the best 3 English */
	for (int i = 0; i < 20; i++)
		len += (size_t)snprintf(want + len, sizeof(want) - len, "nl%02d ", i);
	snprintf(want + len, sizeof(want) - len, "en0 en1 en2");
	peek(20, 64, 3, got, sizeof(got));
	assert_string_equal(got, want);
	redisReply *r = cmd("ZCARD t:{s}:queue:q:classes");
	assert_int_equal(r->integer, 2);
	freeReplyObject(r);

	/* offered: out of its class; the next one moves up */
	do_cmd("SET t:{s}:node:n1:alive 1");
	agent_state("eve", "available", 0, 0, 0);
	static const char *const eve[] = { "eve", "5", "2" };
	assert_string_equal(offer("en0", "longest_idle", eve, 1, got, sizeof(got)), "eve");
	peek(0, 64, 3, got, sizeof(got));
	assert_string_equal(got, "nl00 nl01 nl02 en1 en2 en3");
	/* declined: back at its old place */
	end_offer("reject");
	peek(0, 64, 1, got, sizeof(got));
	assert_string_equal(got, "nl00 en0");

	/* stale entries (a conversation closed meanwhile) are dropped with their class */
	for (int i = 0; i < 5; i++)
		do_cmd("HSET t:{s}:conv:en%d status closed", i);
	peek(0, 64, 3, got, sizeof(got));
	peek(0, 64, 3, got, sizeof(got));
	assert_string_equal(got, "nl00 nl01 nl02");
	r = cmd("ZCARD t:{s}:queue:q:classes");
	assert_int_equal(r->integer, 1);
	freeReplyObject(r);

	/* a queue stored before the index (an upgrade): indexed once */
	do_cmd("FLUSHALL");
	do_cmd("SADD t:{s}:queues q");
	for (int i = 0; i < 30; i++) {
		do_cmd("HSET t:{s}:conv:x%02d id x%02d status queued queue q channel webchat "
		       "language %s", i, i, i < 25 ? "nl" : "en");
		do_cmd("ZADD t:{s}:queue:q %d x%02d", 1000 + i, i);
	}
	const char *keys[] = { "t:{s}:schema" };
	const char *max[] = { "7" };
	long long total = 0, n;
	do {
		r = script(OMR_LUA_QUEUE_INDEX, 1, keys, 1, max);
		n = r->integer;
		freeReplyObject(r);
		total += n;
	} while (n > 0);
	assert_int_equal(total, 30);
	peek(20, 64, 1, got, sizeof(got));
	assert_non_null(strstr(got, "x25"));
	r = script(OMR_LUA_QUEUE_INDEX, 1, keys, 1, max);
	assert_int_equal(r->integer, 0);
	freeReplyObject(r);
}

/* pools.lib: the ready agents of a pool follow every script that changes
 * an agent (log-in, presence, an offer, its end, a wrap-up, log-out), so
 * that an offer takes the best in one look. */
static int in_pool(const char *pool, const char *agent)
{
	redisReply *r = cmd("ZSCORE t:{s}:pool:%s %s", pool, agent);
	int in = r->type != REDIS_REPLY_NIL;
	freeReplyObject(r);
	return in;
}

static void session(const char *agent, int delta)
{
	char akey[64], d[8];
	snprintf(akey, sizeof(akey), "t:{s}:agent:%s", agent);
	snprintf(d, sizeof(d), "%d", delta);
	const char *keys[] = { akey, "t:{s}:agents" };
	const char *argv[] = { agent, "n1", d, "0", agent };
	freeReplyObject(script(OMR_LUA_AGENT_SESSION, 2, keys, 5, argv));
}

static void presence(const char *agent, const char *status)
{
	char akey[64];
	snprintf(akey, sizeof(akey), "t:{s}:agent:%s", agent);
	const char *keys[] = { akey };
	const char *argv[] = { agent, status, "", "0", "60000" };
	freeReplyObject(script(OMR_LUA_AGENT_PRESENCE, 1, keys, 5, argv));
}

static void test_pools(void **state)
{
	static const char *const two[] = { "ann", "1", "2", "ben", "1", "3" };
	const char *pool = "longest_idle,ann,1,2,ben,1,3"; /* offer_pass's name */
	char got[64];
	(void)state;
	do_cmd("FLUSHALL");
	do_cmd("SET t:{s}:node:n1:alive 1");
	session("ann", 1);
	session("ben", 1);
	waiting("c1", "", 0);
	/* logged in: away, so nobody is ready; the pool is built */
	assert_string_equal(offer("c1", "longest_idle", two, 2, got, sizeof(got)), "none:class");
	assert_false(in_pool(pool, "ann"));
	presence("ann", "available");
	assert_true(in_pool(pool, "ann"));
	assert_false(in_pool(pool, "ben"));
	/* the offer fills ann (capacity 1): out of the pool */
	assert_string_equal(offer("c1", "longest_idle", two, 2, got, sizeof(got)), "ann");
	assert_false(in_pool(pool, "ann"));
	/* accepted, then wrapped up: ready again, last assigned now */
	end_offer("accept");
	assert_false(in_pool(pool, "ann"));
	do_cmd("HSET t:{s}:conv:c1 thread t1");
	const char *keys[] = { "t:{s}:conv:c1", "t:{s}:agent:ann" };
	const char *argv[] = { "wrapup", "c1", "ann", "", "", "", "", "", "0", "{}", "other",
			       "resolved", "2026-12-05", "0", "-100", "100" };
	freeReplyObject(script(OMR_LUA_CONV_ACT, 2, keys, 16, argv));
	assert_true(in_pool(pool, "ann"));
	/* longest idle first: ben (never assigned) before ann (just now) */
	presence("ben", "available");
	waiting("c2", "", 0);
	assert_string_equal(offer("c2", "longest_idle", two, 2, got, sizeof(got)), "ben");
	/* the last session closes: out, whatever the presence */
	session("ann", -1);
	assert_false(in_pool(pool, "ann"));
	/* a pool that expired is built again from the list; one whose
	 * member list names an expired pool drops it */
	do_cmd("DEL t:{s}:pool:%s t:{s}:pool:%s:def", pool, pool);
	session("ann", 1);
	redisReply *r = cmd("SCARD t:{s}:agent:ann:pools");
	assert_int_equal(r->integer, 0);
	freeReplyObject(r);
	waiting("c3", "", 0);
	assert_string_equal(offer("c3", "longest_idle", two, 2, got, sizeof(got)), "ann");
	/* without the list, an unknown pool asks for it */
	static const char *const c9[] = { "c9" };
	waiting("c9", "", 0);
	assert_string_equal(offer_batch(c9, 1, OMR_ROUTER_NO_MISS_TEST, two, 0, "nosuchpool", got,
					sizeof(got)), "build");
}

/* queue_status.lua: a customer hears when their band of places (1..10
 * each, then 20, 50, ...) or estimate changes, or when the interval is up;
 * not at every move. */
static int status_due(long long interval)
{
	char iv[24];
	snprintf(iv, sizeof(iv), "%lld", interval);
	const char *keys[] = { "t:{s}:queue:q" };
	/* a second per customer ahead: the estimate stays at 1 minute, so
	 * only the bands of places decide */
	const char *argv[] = { "q", iv, "200", "1000" };
	redisReply *r = script(OMR_LUA_QUEUE_STATUS, 1, keys, 4, argv);
	int n = (int)r->element[0]->elements;
	freeReplyObject(r);
	return n;
}

static void test_status_bands(void **state)
{
	(void)state;
	do_cmd("FLUSHALL");
	for (int i = 0; i < 30; i++) {
		char id[16];
		snprintf(id, sizeof(id), "s%02d", i);
		waiting(id, "", 0);
	}
	assert_int_equal(status_due(60000), 30); /* everyone, the first time */
	assert_int_equal(status_due(60000), 0);  /* nothing changed */
	/* the first is answered: places 1..10 change (each its own band),
	 * 11 moves into 10; 12..20 stay in band 20; 21 moves from band 50
	 * to 20; 22..30 stay in band 50 */
	do_cmd("HSET t:{s}:conv:s00 status offered");
	redisReply *r = cmd("ZREM t:{s}:queue:q s00");
	freeReplyObject(r);
	do_cmd("HDEL t:{s}:queue:q:told s00");
	assert_int_equal(status_due(60000), 11);
	/* the interval is up: everyone again */
	assert_int_equal(status_due(0), 29);
	/* the agents were not sent (nobody waited last time) but somebody
	 * waits: the script asks for them rather than count nobody */
	const char *keys[] = { "t:{s}:queue:q" };
	const char *argv[] = { "q", "0", "200", "1000", "1" };
	redisReply *r2 = script(OMR_LUA_QUEUE_STATUS, 1, keys, 5, argv);
	assert_int_equal(r2->element[2]->integer, -1);
	assert_int_equal(r2->element[3]->integer, 29);
	freeReplyObject(r2);
	/* nobody waits: nothing, and no agents needed */
	do_cmd("DEL t:{s}:queue:q");
	r2 = script(OMR_LUA_QUEUE_STATUS, 1, keys, 5, argv);
	assert_int_equal(r2->element[2]->integer, 0);
	assert_int_equal(r2->element[3]->integer, 0);
	freeReplyObject(r2);
}

/* offer_end.lua: an accept counts for the queue's service level (the
 * reports' bucket); a late one withdraws from the customer's balance, in
 * the same step */
static void accept_with_sla(const char *sla)
{
	const char *keys[] = { "t:{s}:offer:o_1", "t:{s}:offers" };
	const char *argv[] = { "accept", "o_1", "ann", "60000", "3", "2026-12-05", sla, "-3",
			       "-100", "100" };
	freeReplyObject(script(OMR_LUA_OFFER_END, 2, keys, 10, argv));
}

/* conv waits `waited` ms, is offered to ann and accepted with `sla` */
static void answer(const char *conv, long long waited, const char *sla)
{
	static const char *const ann[] = { "ann", "2", "1" };
	char got[64];
	waiting(conv, "", 0);
	do_cmd("HSET t:{s}:conv:%s customer u1 queued_at %lld", conv, rnow() - waited);
	assert_string_equal(offer(conv, "longest_idle", ann, 1, got, sizeof(got)), "ann");
	accept_with_sla(sla);
}

/* what the reports counted of queue q's service level (src/lua/report.lib:
 * s|q|answered and s|q|in_sla, over the 15-minute buckets) */
static void sla_counted(long long *answered, long long *in_sla)
{
	redisReply *keys = cmd("KEYS t:{s}:stats:*:*");
	*answered = *in_sla = 0;
	for (size_t i = 0; i < keys->elements; i++) {
		redisReply *r = cmd("HMGET %s s|q|answered s|q|in_sla", keys->element[i]->str);
		*answered += r->element[0]->str ? atoll(r->element[0]->str) : 0;
		*in_sla += r->element[1]->str ? atoll(r->element[1]->str) : 0;
		freeReplyObject(r);
	}
	freeReplyObject(keys);
}

static void test_answered(void **state)
{
	redisReply *r;
	long long answered, in_sla;
	(void)state;
	do_cmd("FLUSHALL");
	do_cmd("SET t:{s}:node:n1:alive 1");
	do_cmd("HSET t:{s}:cust:u1 id u1 balance 0");
	session("ann", 1);
	presence("ann", "available");
	/* waited a minute; the queue's service level is 30 s: late */
	answer("c1", 60000, "{\"q\":30000}");
	sla_counted(&answered, &in_sla);
	assert_int_equal(answered, 1);
	assert_int_equal(in_sla, 0);
	r = cmd("HGET t:{s}:cust:u1 balance");
	assert_string_equal(r->str, "-3");
	freeReplyObject(r);
	/* in time (and a queue without a service level counts as in time) */
	answer("c2", 1000, "{\"q\":-1}");
	sla_counted(&answered, &in_sla);
	assert_int_equal(answered, 2);
	assert_int_equal(in_sla, 1);
	r = cmd("HGET t:{s}:cust:u1 balance");
	assert_string_equal(r->str, "-3");
	freeReplyObject(r);
}

/* agent_session.lua on node: delta sessions (set: node has delta); the
 * agent's sessions on every node after it */
static long long agent_session(const char *agent, const char *node, int delta, int set)
{
	char akey[64], d[8];
	snprintf(akey, sizeof(akey), "t:{s}:agent:%s", agent);
	snprintf(d, sizeof(d), "%d", delta);
	const char *keys[] = { akey, "t:{s}:agents" };
	const char *argv[] = { agent, node, d, set ? "1" : "0", agent };
	redisReply *r = script(OMR_LUA_AGENT_SESSION, 2, keys, 5, argv);
	long long n = r->element[4]->integer;
	freeReplyObject(r);
	return n;
}

/* an agent's session on node opened (+1) or closed (-1) */
static long long node_session(const char *agent, const char *node, int delta)
{
	return agent_session(agent, node, delta, 0);
}

/* the names in an array reply, sorted, joined by ',' */
static void names(const redisReply *r, char *out, size_t len)
{
	const char *v[16];
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < r->elements && n < 16; i++)
		v[n++] = r->element[i]->str;
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0 && strcmp(v[k - 1], v[k]) > 0; k--) {
			const char *t = v[k];
			v[k] = v[k - 1];
			v[k - 1] = t;
		}
	for (size_t i = 0; i < n; i++)
		snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? "," : "", v[i]);
}

static redisReply *reap_sweep(const char *node, int sweep)
{
	const char *keys[] = { "t:{s}:nodes", "t:{s}:agents" };
	const char *argv[] = { node, sweep ? "1" : "0", "1000" };
	return script(OMR_LUA_REAP, 2, keys, 3, argv);
}

static redisReply *reap(const char *node)
{
	return reap_sweep(node, 0);
}

/* a node counts its sessions again (set, not add) */
static long long node_recount(const char *agent, const char *node, int count)
{
	return agent_session(agent, node, count, 1);
}

/* node_sync.lua: node holds these consoles now (agent, count, ...) */
static redisReply *node_sync(const char *node, int n, const char *const *counts)
{
	char mine[64];
	snprintf(mine, sizeof(mine), "t:{s}:node:%s:agents", node);
	const char *keys[] = { mine };
	const char **argv = calloc((size_t)n + 2, sizeof(*argv));
	argv[0] = node;
	argv[1] = "0"; /* the clock's offset (gen.awk: @time) */
	if (n)
		memcpy(argv + 2, counts, (size_t)n * sizeof(*counts));
	redisReply *r = script(OMR_LUA_NODE_SYNC, 1, keys, n + 2, argv);
	free(argv);
	return r;
}

static redisReply *node_alive(const char *node, int start)
{
	char alive[64];
	snprintf(alive, sizeof(alive), "t:{s}:node:%s:alive", node);
	const char *keys[] = { alive, "t:{s}:nodes" };
	const char *argv[] = { node, "15000", start ? "1" : "0" };
	return script(OMR_LUA_NODE_ALIVE, 2, keys, 3, argv);
}

/* Sessions are counted per node: a node's death (reap) or restart
 * (node_sync at start) removes only its own; agents left with none get
 * their grace period on the node that noticed; a node reaped while it
 * lived learns it when it beats again. */
static void test_node_sessions(void **state)
{
	redisReply *r;
	char got[128];
	(void)state;
	do_cmd("FLUSHALL");
	freeReplyObject(node_alive("n1", 1));
	freeReplyObject(node_alive("n2", 1));
	/* ann on both nodes, bob on n2 only, cid on n2 but in her grace
	 * period there (no session left) */
	assert_int_equal(node_session("ann", "n1", 1), 1);
	assert_int_equal(node_session("ann", "n2", 1), 2);
	assert_int_equal(node_session("ann", "n2", 1), 3);
	assert_int_equal(node_session("bob", "n2", 1), 1);
	assert_int_equal(node_session("cid", "n2", 1), 1);
	assert_int_equal(node_session("cid", "n2", -1), 0);
	for (const char *const *a = (const char *const[]){ "ann", "bob", "cid", NULL }; *a; a++)
		presence(*a, "available");

	/* nobody dead yet */
	r = reap("n1");
	assert_int_equal(r->element[0]->elements, 0);
	assert_int_equal(r->element[1]->elements, 0);
	freeReplyObject(r);

	/* n2 is killed: its heartbeat runs out */
	do_cmd("DEL t:{s}:node:n2:alive");
	do_cmd("ZADD t:{s}:nodes 1 n2");
	r = reap("n1");
	names(r->element[0], got, sizeof(got));
	assert_string_equal(got, "n2");
	names(r->element[1], got, sizeof(got));
	assert_string_equal(got, "bob,cid"); /* ann still has n1 */
	freeReplyObject(r);
	r = cmd("HMGET t:{s}:agent:ann sessions presence");
	assert_string_equal(r->element[0]->str, "1");
	assert_string_equal(r->element[1]->str, "available");
	freeReplyObject(r);
	r = cmd("HMGET t:{s}:agent:bob sessions node presence");
	assert_string_equal(r->element[0]->str, "0");
	assert_string_equal(r->element[1]->str, "n1"); /* its grace runs on n1 */
	assert_string_equal(r->element[2]->str, "available");
	freeReplyObject(r);
	/* once: the next reap finds nothing */
	r = reap("n1");
	assert_int_equal(r->element[0]->elements, 0);
	assert_int_equal(r->element[1]->elements, 0);
	freeReplyObject(r);

	/* n2 lived after all (cut off from Redis): its next beat says so */
	r = node_alive("n2", 0);
	assert_int_equal(r->element[1]->integer, 1);
	freeReplyObject(r);
	r = node_alive("n2", 0);
	assert_int_equal(r->element[1]->integer, 0);
	freeReplyObject(r);
	/* ... and counts its consoles again: ann's two, bob's one */
	assert_int_equal(node_recount("ann", "n2", 2), 3);
	assert_int_equal(node_recount("ann", "n2", 2), 3); /* set, not added */
	assert_int_equal(node_recount("bob", "n2", 1), 1);

	/* n1 restarts (node_sync with nothing held yet): ann's session there
	 * is gone, her consoles on n2 stay; cid (whose grace n1 ran) gets her
	 * grace on n1 again; bob, back on n2, is no more n1's */
	freeReplyObject(node_alive("n1", 1));
	r = node_sync("n1", 0, NULL);
	names(r->element[0], got, sizeof(got));
	assert_string_equal(got, "cid");
	freeReplyObject(r);
	r = cmd("HGET t:{s}:agent:ann sessions");
	assert_string_equal(r->str, "2");
	freeReplyObject(r);

	/* n2 reconnects to Redis and syncs: it holds one console of ann's and
	 * none of bob's (his log-out was lost): bob's grace runs on n2 */
	static const char *const held[] = { "ann", "1" };
	r = node_sync("n2", 2, held);
	names(r->element[0], got, sizeof(got));
	assert_string_equal(got, "bob");
	freeReplyObject(r);
	r = cmd("HMGET t:{s}:agent:ann sessions");
	assert_string_equal(r->element[0]->str, "1");
	freeReplyObject(r);
	r = cmd("HMGET t:{s}:agent:bob sessions node");
	assert_string_equal(r->element[0]->str, "0");
	assert_string_equal(r->element[1]->str, "n2");
	freeReplyObject(r);

	/* the sweep: an agent nobody takes offline (no session, gone longer
	 * than the grace) is handed to the sweeping node; one still within
	 * it, or with a session, is not */
	do_cmd("HSET t:{s}:agent:bob left_at 1");
	do_cmd("HSET t:{s}:agent:cid left_at %lld", rnow());
	r = reap_sweep("n1", 0);
	assert_int_equal(r->element[1]->elements, 0);
	freeReplyObject(r);
	r = reap_sweep("n1", 1);
	names(r->element[1], got, sizeof(got));
	assert_string_equal(got, "bob");
	freeReplyObject(r);

	/* a login anywhere counts again */
	assert_int_equal(node_session("cid", "n2", 1), 1);
	assert_int_equal(node_session("cid", "n2", -1), 0);
}

/* phrases: says.<name> per language, "*" for any, every language when
 * the conversation's is unknown; case ignored; complaint from phrases or
 * intent; loyal from engagement.high; bad phrase lists refused */
static void test_phrases(void **state)
{
	static const char *routing =
		"skills: [general]\ndefault_queue: general\nqueues:\n  - name: general\n"
		"engagement: { low: -5, high: 10 }\n"
		"phrases:\n"
		"  complaint: { en: [unacceptable], nl: [klacht] }\n"
		"  cancel: { \"*\": [opzeggen] }\n";
	static const struct {
		const char *text, *language, *intent;
		int balance;
		int complaint, cancel, loyal, at_risk;
	} cases[] = {
		{ "This is UNACCEPTABLE!", "en", "", 0, 1, 0, 0, 0 },
		{ "een klacht", "en", "", 0, 0, 0, 0, 0 },       /* Dutch words, English */
		{ "een Klacht", "", "", 0, 1, 0, 0, 0 },         /* unknown: every language */
		{ "ik wil opzeggen", "en", "", 10, 0, 1, 1, 0 }, /* "*": any language */
		{ "hello", "en", "complaint", -6, 1, 0, 0, 1 },  /* the channel's intent */
	};
	struct conf c;
	(void)state;
	conf_load(&c, routing, "agents: []\n");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *conv = json_pack("{s:s,s:s,s:{s:s,s:s},s:[{s:s,s:s}],s:{s:i}}", "id", "c_1",
					 "channel", "webchat", "attrs", "language", cases[i].language,
					 "intent", cases[i].intent, "messages", "direction", "in", "text",
					 cases[i].text, "customer_profile", "balance", cases[i].balance);
		int repeat;
		json_t *f = omr_route_facts(c.r, conv, 0, &repeat);
		json_t *says = json_object_get(f, "says"), *cust = json_object_get(f, "customer");
		assert_int_equal(json_is_true(json_object_get(f, "complaint")), cases[i].complaint);
		assert_int_equal(json_is_true(json_object_get(says, "cancel")), cases[i].cancel);
		assert_int_equal(json_is_true(json_object_get(cust, "loyal")), cases[i].loyal);
		assert_int_equal(json_is_true(json_object_get(cust, "at_risk")), cases[i].at_risk);
		json_decref(f);
		json_decref(conv);
	}
	conf_free(&c);

	static const char *bad[] = {
		"phrases: [klacht]\n",                       /* not a mapping */
		"phrases: { Complaint: { en: [x] } }\n",     /* name not a-z0-9_ */
		"phrases: { complaint: { en: x } }\n",       /* not a list */
		"phrases: { complaint: { en: [\"\"] } }\n",  /* empty phrase */
		"phrases: { complaint: { e-n: [x] } }\n",    /* language */
		"engagement: { low: 5, high: 5 }\n",         /* low must be below high */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[512];
		struct omr_conf_errs errs;
		char *err = NULL;
		snprintf(text, sizeof(text), "skills: [general]\ndefault_queue: general\n"
			 "queues:\n  - name: general\n%s", bad[i]);
		struct omr_ydoc *doc = omr_yaml_load_string("routing.yaml", text, strlen(text), &err);
		assert_non_null(doc);
		omr_conf_errs_init(&errs);
		struct omr_routing_conf *r = omr_routing_conf_load(doc, &errs);
		if (r)
			fail_msg("accepted: %s", bad[i]);
		assert_true(errs.count > 0);
		omr_conf_errs_free(&errs);
		omr_yaml_free(doc);
	}
}

int main(void)
{
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_shipped_public),
		cmocka_unit_test(test_aging),
		cmocka_unit_test(test_escalation),
		cmocka_unit_test(test_candidates),
		cmocka_unit_test(test_phrases),
	};
	const struct CMUnitTest redis[] = {
		cmocka_unit_test(test_offers),
		cmocka_unit_test(test_offer_batch),
		cmocka_unit_test(test_queue_classes),
		cmocka_unit_test(test_owner_choice),
		cmocka_unit_test(test_pools),
		cmocka_unit_test(test_status_bands),
		cmocka_unit_test(test_answered),
		cmocka_unit_test(test_node_sessions),
	};
	int rc = cmocka_run_group_tests(pure, NULL, NULL);
	return rc | cmocka_run_group_tests(redis, start_redis, stop_redis);
}
