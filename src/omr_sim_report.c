/*
 * omr_sim_report: the three outcomes of a simulation (recorded, current,
 * proposed) summed per queue and channel, and the conversations whose
 * routing changes; printed as one JSON object (keys sorted) or as a table.
 * Everything is ordered (names, then the conversations' order) so that the
 * same input prints the same bytes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "omr_route.h"
#include "omr_routing_conf.h"
#include "omr_sim_int.h"
#include "omr_util.h"

#define OMR_SIM_SAMPLE 50  /* changed conversations listed */

static const char *const omr_sim_assumptions[] = {
	"agents are available exactly when the recorded history says so; one going away or "
	"offline finishes what they hold and takes nothing new",
	"an offer is accepted at once: the time agents took to accept is in the recorded wait, "
	"not in the simulated one; declines and missed offers are not replayed",
	"handling times are the recorded ones when the conversation is answered in the queue "
	"it was answered in; otherwise drawn (seeded by the conversation id) from what that "
	"queue recorded, else routing's handle_time_default",
	"patience: a customer who left waits as long as they did; one who was answered waits "
	"for a drawn recorded patience of the channel longer than their wait, or for ever "
	"when none is longer",
	"the bot keeps what it kept and hands over when it did; a conversation it did not "
	"see is contained at its recorded rate, after a drawn recorded bot time",
	"facts are taken when the conversation was created: its first message, its "
	"attributes, the balance and repeat flag routing recorded, the customer's "
	"current name and e-mail",
	"not modelled: transfers, a queue's max_wait action and out-of-hours action, "
	"position messages, preferred (last) agents, later messages, reloads",
	NULL,
};

static const char *const omr_sim_weakest =
	"abandons when waits grow beyond anything recorded (patience is only known for those "
	"who left), and traffic that the bot or an automatic answer took in the recording but "
	"people would get now (their handling time is borrowed from the queue)";

struct omr_sim_agg {
	long long offered, answered, within, abandoned, unanswered, bot, contained, handoffs,
		automatic, wait_sum;
	long long *waits;
	size_t nwaits;
};

static double omr_sim_s(long long ms)
{
	/* tenths of a second, rounded half up, without libm */
	long long tenths = ms >= 0 ? (ms + 50) / 100 : -((-ms + 50) / 100);
	return (double)tenths / 10.0;
}

static int omr_sim_llcmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

static json_t *omr_sim_agg_json(struct omr_sim_agg *g)
{
	long long p90 = 0;
	if (g->nwaits) {
		qsort(g->waits, g->nwaits, sizeof(*g->waits), omr_sim_llcmp);
		p90 = g->waits[(g->nwaits * 9 + 9) / 10 - 1];
	}
	return json_pack("{s:I,s:I,s:I,s:f,s:f,s:I,s:I,s:I,s:I,s:I,s:I}", "offered",
			 (json_int_t)g->offered, "answered", (json_int_t)g->answered, "within_sla",
			 (json_int_t)g->within, "wait_avg_s",
			 g->answered ? omr_sim_s(g->wait_sum / g->answered) : 0.0, "wait_p90_s",
			 omr_sim_s(p90), "abandoned", (json_int_t)g->abandoned, "unanswered",
			 (json_int_t)g->unanswered, "bot", (json_int_t)g->bot, "bot_contained",
			 (json_int_t)g->contained, "bot_handoffs", (json_int_t)g->handoffs,
			 "automatic", (json_int_t)g->automatic);
}

static void omr_sim_agg_add(struct omr_sim_agg *g, const struct omr_sim_outcome *o,
			    const struct omr_queue_conf *q)
{
	g->offered += o->offered;
	g->bot += o->tier == 1;
	g->contained += o->contained;
	g->handoffs += o->handoff;
	g->automatic += o->tier == 2;
	g->abandoned += o->abandoned;
	g->unanswered += o->offered && !o->answered && !o->abandoned;
	if (!o->answered)
		return;
	g->answered++;
	/* a queue without a service level: every answer counts (report.lib) */
	g->within += !q || !q->sla.target || o->wait <= q->sla.within;
	g->wait_sum += o->wait;
	g->waits = omr_realloc(g->waits, (g->nwaits + 1) * sizeof(*g->waits));
	g->waits[g->nwaits++] = o->wait;
}

/* names of the groups: queue (and "queue|channel"), sorted, unique */
struct omr_sim_groups {
	char **names;
	struct omr_sim_agg *aggs;
	size_t n;
};

static struct omr_sim_agg *omr_sim_group(struct omr_sim_groups *gs, const char *name)
{
	for (size_t i = 0; i < gs->n; i++) /* few groups: queues x channels */
		if (strcmp(gs->names[i], name) == 0)
			return &gs->aggs[i];
	gs->names = omr_realloc(gs->names, (gs->n + 1) * sizeof(*gs->names));
	gs->aggs = omr_realloc(gs->aggs, (gs->n + 1) * sizeof(*gs->aggs));
	gs->names[gs->n] = omr_strdup(name);
	memset(&gs->aggs[gs->n], 0, sizeof(gs->aggs[gs->n]));
	return &gs->aggs[gs->n++];
}

static void omr_sim_count(json_t *o, const char *key)
{
	json_object_set_new(o, key, json_integer(json_integer_value(json_object_get(o, key)) + 1));
}

/* one outcome as JSON: queues (with channels), quadrants, tiers, rules */
static json_t *omr_sim_result_json(const struct omr_sim_data *d,
				   const struct omr_routing_conf *rc,
				   const struct omr_sim_result *r)
{
	static const char *const tiers[] = { "human", "bot", "automatic" };
	struct omr_sim_groups gs = { 0 };
	json_t *queues = json_object(), *quads = json_object(), *tiern = json_object();

	for (size_t i = 0; i < r->n; i++) {
		const struct omr_sim_outcome *o = &r->out[i];
		const char *qn = o->queue ? o->queue : "(none)";
		const struct omr_queue_conf *q = o->queue ? omr_routing_queue(rc, o->queue) : NULL;
		char *both = omr_asprintf("%s|%s", qn, d->convs[i].channel);
		omr_sim_agg_add(omr_sim_group(&gs, qn), o, q);
		omr_sim_agg_add(omr_sim_group(&gs, both), o, q);
		free(both);
		omr_sim_count(quads, o->quadrant >= 0 ? omr_quadrant_names[o->quadrant]
						      : "not valued");
		omr_sim_count(tiern, tiers[o->tier]);
	}
	for (size_t i = 0; i < gs.n; i++) {
		char *bar = strchr(gs.names[i], '|');
		if (bar)
			continue;
		json_t *qj = omr_sim_agg_json(&gs.aggs[i]), *chans = json_object();
		size_t len = strlen(gs.names[i]);
		for (size_t k = 0; k < gs.n; k++)
			if (strncmp(gs.names[k], gs.names[i], len) == 0 && gs.names[k][len] == '|')
				json_object_set_new(chans, gs.names[k] + len + 1,
						    omr_sim_agg_json(&gs.aggs[k]));
		json_object_set_new(qj, "channels", chans);
		json_object_set_new(queues, gs.names[i], qj);
	}
	for (size_t i = 0; i < gs.n; i++) {
		free(gs.names[i]);
		free(gs.aggs[i].waits);
	}
	free(gs.names);
	free(gs.aggs);
	return json_pack("{s:o,s:o,s:o,s:O}", "queues", queues, "quadrants", quads, "tiers", tiern,
			 "rules", r->rules);
}

/* would the two routings treat it differently? */
static int omr_sim_differs(const json_t *a, const json_t *b)
{
	static const char *const keys[] = { "queue", "tier", "priority", "skills", "treatment",
					    "quadrant", NULL };
	for (int k = 0; keys[k]; k++)
		if (!json_equal(json_object_get(a, keys[k]), json_object_get(b, keys[k])) &&
		    (json_object_get(a, keys[k]) || json_object_get(b, keys[k])))
			return 1;
	return 0;
}

static json_t *omr_sim_side(const struct omr_sim_outcome *o)
{
	json_t *v = json_deep_copy(o->explain ? o->explain : json_object());
	const char *what = o->tier == 2 ? "answered automatically"
			   : o->contained ? "kept by the bot"
			   : o->answered ? "answered"
			   : o->abandoned ? "abandoned"
			   : o->offered ? "still waiting at the end" : "not queued";
	json_object_set_new(v, "simulated",
			    json_pack("{s:s,s:f}", "outcome", what, "wait_s",
				      o->answered || o->abandoned ? omr_sim_s(o->wait) : 0.0));
	return v;
}

static json_t *omr_sim_changed(const struct omr_sim_data *d, const struct omr_sim_result *c,
			       const struct omr_sim_result *p, size_t *count_r)
{
	json_t *list = json_array();
	*count_r = 0;
	for (size_t i = 0; i < d->nconvs; i++) {
		if (!omr_sim_differs(c->out[i].explain, p->out[i].explain))
			continue;
		if ((*count_r)++ >= OMR_SIM_SAMPLE)
			continue;
		json_array_append_new(list, json_pack("{s:s,s:s,s:I,s:o,s:o}", "id",
						      d->convs[i].id, "channel", d->convs[i].channel,
						      "created_at", (json_int_t)d->convs[i].created_at,
						      "current", omr_sim_side(&c->out[i]), "proposed",
						      omr_sim_side(&p->out[i])));
	}
	return list;
}

/* what makes this replay less trustworthy than the assumptions say */
static json_t *omr_sim_warnings(const struct omr_sim_data *d)
{
	json_t *w = json_array();
	size_t old = 0;
	for (size_t i = 0; i < d->nconvs; i++)
		old += d->convs[i].repeat < 0;
	if (d->nconvs && !d->nchanges)
		json_array_append_new(w, json_string("no agent presence history recorded up to the "
						     "window's end (agents:history): every agent "
						     "is taken as never available"));
	if (d->unknown_agents)
		json_array_append_new(w, json_sprintf("%zu presence changes of agents no longer in "
						      "the agents file are left out",
						      d->unknown_agents));
	if (old)
		json_array_append_new(w, json_sprintf("%zu conversations were recorded by a version "
						      "without answered_at and the repeat flag: "
						      "their first answer and repeat contact are "
						      "approximated", old));
	return w;
}

static json_t *omr_sim_json(const struct omr_sim_data *d, const struct omr_routing_conf *cur,
			    const struct omr_routing_conf *prop, const struct omr_sim_result *rec,
			    const struct omr_sim_result *c, const struct omr_sim_result *p)
{
	json_t *assume = json_array();
	size_t nchanged;
	for (int k = 0; omr_sim_assumptions[k]; k++)
		json_array_append_new(assume, json_string(omr_sim_assumptions[k]));
	json_t *changed = omr_sim_changed(d, c, p, &nchanged);
	return json_pack("{s:{s:I,s:I},s:I,s:I,s:I,s:o,s:s,s:o,s:o,s:o,s:o,s:o,s:I,s:i}", "window",
			 "from", (json_int_t)d->from, "to", (json_int_t)d->to, "conversations",
			 (json_int_t)d->nconvs, "presence_changes", (json_int_t)d->nchanges,
			 "presence_changes_unknown_agents", (json_int_t)d->unknown_agents,
			 "assumptions", assume, "weakest", omr_sim_weakest, "warnings",
			 omr_sim_warnings(d), "recorded",
			 omr_sim_result_json(d, cur, rec), "current",
			 omr_sim_result_json(d, cur, c), "proposed",
			 omr_sim_result_json(d, prop, p), "changed", changed, "changed_count",
			 (json_int_t)nchanged, "changed_listed_max", OMR_SIM_SAMPLE);
}

/* ---- the table ---- */

static void omr_sim_row(FILE *out, const char *label, const json_t *g[3], const char *key,
			int real)
{
	fprintf(out, "    %-18s", label);
	for (int k = 0; k < 3; k++) {
		const json_t *v = json_object_get(g[k], key);
		if (!v)
			fprintf(out, " %12s", "-");
		else if (real)
			fprintf(out, " %12.1f", json_real_value(v));
		else
			fprintf(out, " %12lld", (long long)json_integer_value(v));
	}
	fputc('\n', out);
}

static void omr_sim_block(FILE *out, const char *title, const json_t *g[3])
{
	static const struct {
		const char *label, *key;
		int real;
	} rows[] = {
		{ "offered", "offered", 0 },       { "answered", "answered", 0 },
		{ "within SLA", "within_sla", 0 }, { "wait avg (s)", "wait_avg_s", 1 },
		{ "wait p90 (s)", "wait_p90_s", 1 }, { "abandoned", "abandoned", 0 },
		{ "unanswered", "unanswered", 0 }, { "bot first", "bot", 0 },
		{ "bot kept", "bot_contained", 0 }, { "bot hand-offs", "bot_handoffs", 0 },
		{ "automatic", "automatic", 0 },
	};
	fprintf(out, "  %s\n", title);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		omr_sim_row(out, rows[i].label, g, rows[i].key, rows[i].real);
}

static int omr_sim_namecmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* the union of the keys of three objects, sorted */
static json_t *omr_sim_keys(const json_t *o[3])
{
	json_t *all = json_object(), *list = json_array();
	const char *k;
	json_t *v;
	for (int i = 0; i < 3; i++)
		json_object_foreach((json_t *)o[i], k, v)
			json_object_set_new(all, k, json_true());
	void *it = NULL;
	const char **names = omr_calloc(json_object_size(all) + 1, sizeof(*names));
	size_t n = 0;
	for (it = json_object_iter(all); it; it = json_object_iter_next(all, it))
		names[n++] = json_object_iter_key(it);
	qsort(names, n, sizeof(*names), omr_sim_namecmp);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, json_string(names[i]));
	free(names);
	json_decref(all);
	return list;
}

static void omr_sim_when(long long ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* counts (quadrants, tiers, rules) side by side */
static void omr_sim_counts(FILE *out, const char *title, const json_t *r[3], const char *key)
{
	const json_t *o[3] = { json_object_get(r[0], key), json_object_get(r[1], key),
			       json_object_get(r[2], key) };
	json_t *names = omr_sim_keys(o), *v;
	size_t i;
	fprintf(out, "\n%s\n", title);
	json_array_foreach(names, i, v) {
		const char *n = json_string_value(v);
		fprintf(out, "    %-30s", n);
		for (int k = 0; k < 3; k++)
			fprintf(out, " %8lld", (long long)json_integer_value(json_object_get(o[k], n)));
		fputc('\n', out);
	}
	json_decref(names);
}

static void omr_sim_table(FILE *out, const json_t *j)
{
	const json_t *r[3] = { json_object_get(j, "recorded"), json_object_get(j, "current"),
			       json_object_get(j, "proposed") };
	const json_t *qs[3] = { json_object_get(r[0], "queues"), json_object_get(r[1], "queues"),
				json_object_get(r[2], "queues") };
	json_t *queues = omr_sim_keys(qs), *v, *ch;
	char from[32], to[32];
	size_t i, k;

	omr_sim_when(json_integer_value(json_object_get(json_object_get(j, "window"), "from")),
		     from, sizeof(from));
	omr_sim_when(json_integer_value(json_object_get(json_object_get(j, "window"), "to")), to,
		     sizeof(to));
	fprintf(out, "Simulation of %lld conversations from %s to %s (%lld presence changes)\n\n",
		(long long)json_integer_value(json_object_get(j, "conversations")), from, to,
		(long long)json_integer_value(json_object_get(j, "presence_changes")));
	fprintf(out, "    %-18s %12s %12s %12s\n", "", "recorded", "current", "proposed");
	json_array_foreach(queues, i, v) {
		const char *q = json_string_value(v);
		const json_t *g[3] = { json_object_get(qs[0], q), json_object_get(qs[1], q),
				       json_object_get(qs[2], q) };
		char *title = omr_asprintf("queue %s", q);
		omr_sim_block(out, title, g);
		free(title);
		const json_t *cs[3] = { json_object_get(g[0], "channels"),
					json_object_get(g[1], "channels"),
					json_object_get(g[2], "channels") };
		json_t *chans = omr_sim_keys(cs);
		json_array_foreach(chans, k, ch) {
			const char *c = json_string_value(ch);
			const json_t *gc[3] = { json_object_get(cs[0], c), json_object_get(cs[1], c),
						json_object_get(cs[2], c) };
			title = omr_asprintf("queue %s, channel %s", q, c);
			omr_sim_block(out, title, gc);
			free(title);
		}
		json_decref(chans);
	}
	json_decref(queues);
	omr_sim_counts(out, "Quadrants", r, "quadrants");
	omr_sim_counts(out, "Tiers", r, "tiers");
	omr_sim_counts(out, "Rules fired", r, "rules");
	fprintf(out, "\nRouted differently: %lld conversations (at most %d listed)\n",
		(long long)json_integer_value(json_object_get(j, "changed_count")), OMR_SIM_SAMPLE);
	json_array_foreach(json_object_get(j, "changed"), i, v) {
		const json_t *c = json_object_get(v, "current"), *p = json_object_get(v, "proposed");
		char *rc = json_dumps(json_object_get(c, "rules"), JSON_COMPACT);
		char *rp = json_dumps(json_object_get(p, "rules"), JSON_COMPACT);
		fprintf(out, "  %s (%s): %s/%s %s -> %s/%s %s\n", json_string_value(json_object_get(v, "id")),
			json_string_value(json_object_get(v, "channel")),
			json_string_value(json_object_get(c, "queue")),
			json_string_value(json_object_get(c, "tier")), rc ? rc : "[]",
			json_string_value(json_object_get(p, "queue")),
			json_string_value(json_object_get(p, "tier")), rp ? rp : "[]");
		free(rc);
		free(rp);
	}
	json_array_foreach(json_object_get(j, "warnings"), i, v)
		fprintf(out, "\nWarning: %s\n", json_string_value(v));
	fprintf(out, "\nAssumptions:\n");
	json_array_foreach(json_object_get(j, "assumptions"), i, v)
		fprintf(out, "  - %s\n", json_string_value(v));
	fprintf(out, "Weakest where: %s\n", json_string_value(json_object_get(j, "weakest")));
}

int omr_sim_report(const struct omr_sim_data *d, const struct omr_routing_conf *cur,
		   const struct omr_routing_conf *prop, const struct omr_sim_result *rec,
		   const struct omr_sim_result *c, const struct omr_sim_result *p, int json,
		   FILE *out)
{
	json_t *j = omr_sim_json(d, cur, prop, rec, c, p);
	if (!j)
		return -1;
	if (json) {
		char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(12));
		if (text)
			fprintf(out, "%s\n", text);
		free(text);
	} else {
		omr_sim_table(out, j);
	}
	json_decref(j);
	return 0;
}
