/*
 * omr_sim_run: the discrete-event replay of a recording under one routing
 * configuration. A virtual clock jumps from event to event (a heap ordered
 * by time, kind and sequence, so that equal times always resolve the same
 * way): an agent's recorded presence change, a conversation entering its
 * queue (after the bot, if the configuration sends it there first), an
 * escalation step falling due, a customer running out of patience, an
 * agent finishing a conversation. The decisions are the router's own
 * (omr_route_facts, omr_route_decide, omr_route_needs, omr_route_candidates,
 * omr_route_escalation, omr_route_score); the agents' choice follows the
 * queue's strategy. Nothing here reads a clock or a hash order.
 *
 * The invariant that keeps dispatch cheap: after every event no available
 * agent with room could take any waiting conversation. So a conversation
 * that arrives (or relaxes) is matched against the free agents, and an
 * agent who gains room against the waiting conversations, in queue order.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_agents_conf.h"
#include "omr_route.h"
#include "omr_routing_conf.h"
#include "omr_sim_int.h"
#include "omr_util.h"

enum { EV_DONE, EV_PRESENCE, EV_ARRIVE, EV_STEP, EV_GIVEUP };
enum { JOB_NONE, JOB_WAITING, JOB_BUSY, JOB_OVER };

#define OMR_SIM_MAX_OVERFLOWS 4

struct omr_sim_ev {
	long long at;
	int kind;
	size_t seq, idx;
};

struct omr_sim_job {
	struct omr_decision d;
	const struct omr_queue_conf *q; /* the queue it waits in now */
	int state, ch, strategy, overflows;
	long long rank;                 /* its queue's place in the dispatch order */
	long long arrive, queued_at, score, patience, handle;
	int agent;
	unsigned char *cand;            /* per agent: may take it now */
	long long *skill;               /* per agent: skill score */
};

struct omr_sim_agent {
	int presence;
	long long last_assigned;
	long long *load, *cap;          /* per channel */
};

/* recorded distributions the replay draws from */
struct omr_sim_sample {
	const char *name;               /* queue or channel */
	size_t seq;                     /* order recorded */
	long long ms;
};
struct omr_sim_samples {
	struct omr_sim_sample *all;     /* as recorded */
	struct omr_sim_sample *byname;  /* by name, then length, then as recorded */
	struct omr_sim_sample *bytime;  /* by length, then as recorded */
	size_t n;
};

struct omr_sim {
	const struct omr_sim_data *d;
	const struct omr_routing_conf *rc;
	const struct omr_agents_conf *dir;
	struct omr_sim_job *jobs;
	struct omr_sim_agent *agents;
	size_t nagents;
	const char **chans;             /* distinct channels, sorted */
	size_t nchans;
	size_t *waiting;                /* job indices by (score, index) */
	size_t nwaiting;
	struct omr_sim_ev *heap;
	size_t nheap, capheap, seq;
	struct omr_sim_samples handle, patience, bot;
	size_t bot_seen, bot_contained;
	struct omr_sim_result *r;
	long long now;
};

size_t omr_sim_draw(const char *id, const char *salt, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (const char *p = id; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	for (const char *p = salt; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return n ? (size_t)(h % n) : 0;
}

/* ---- the event heap ---- */

static int omr_sim_ev_less(const struct omr_sim_ev *a, const struct omr_sim_ev *b)
{
	if (a->at != b->at)
		return a->at < b->at;
	if (a->kind != b->kind)
		return a->kind < b->kind;
	return a->seq < b->seq;
}

static void omr_sim_push(struct omr_sim *s, long long at, int kind, size_t idx)
{
	if (s->nheap == s->capheap)
		s->heap = omr_realloc(s->heap, (s->capheap = s->capheap * 2 + 64) * sizeof(*s->heap));
	size_t i = s->nheap++;
	struct omr_sim_ev e = { at, kind, s->seq++, idx };
	while (i > 0 && omr_sim_ev_less(&e, &s->heap[(i - 1) / 2])) {
		s->heap[i] = s->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->heap[i] = e;
}

static struct omr_sim_ev omr_sim_pop(struct omr_sim *s)
{
	struct omr_sim_ev top = s->heap[0], last = s->heap[--s->nheap];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= s->nheap)
			break;
		if (c + 1 < s->nheap && omr_sim_ev_less(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!omr_sim_ev_less(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->nheap)
		s->heap[i] = last;
	return top;
}

/* ---- recorded distributions ---- */

static void omr_sim_sample(struct omr_sim_samples *sm, const char *name, long long ms)
{
	sm->all = omr_realloc(sm->all, (sm->n + 1) * sizeof(*sm->all));
	sm->all[sm->n] = (struct omr_sim_sample){ name, sm->n, ms };
	sm->n++;
}

static int omr_sim_sample_cmp(const void *a, const void *b)
{
	const struct omr_sim_sample *x = a, *y = b;
	int c = x->name && y->name ? strcmp(x->name, y->name) : 0;
	if (c)
		return c;
	if (x->ms != y->ms)
		return x->ms < y->ms ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* byname: by name, then length; bytime: by length alone */
static void omr_sim_samples_index(struct omr_sim_samples *sm)
{
	sm->byname = omr_calloc(sm->n + 1, sizeof(*sm->byname));
	sm->bytime = omr_calloc(sm->n + 1, sizeof(*sm->bytime));
	for (size_t i = 0; i < sm->n; i++) {
		sm->byname[i] = sm->all[i];
		sm->bytime[i] = sm->all[i];
		sm->bytime[i].name = NULL;
	}
	if (sm->n) {
		qsort(sm->byname, sm->n, sizeof(*sm->byname), omr_sim_sample_cmp);
		qsort(sm->bytime, sm->n, sizeof(*sm->bytime), omr_sim_sample_cmp);
	}
}

/* a draw among the samples of name (NULL: any) longer than above; -1:
 * none. Those longer are the end of the name's run: O(log n). */
static long long omr_sim_pick(const struct omr_sim_samples *sm, const char *name,
			      long long above, const char *id, const char *salt)
{
	const struct omr_sim_sample *v = name ? sm->byname : sm->bytime;
	size_t lo = 0, hi = sm->n, first, end;
	if (name) {
		while (lo < hi) { /* the first of name */
			size_t mid = (lo + hi) / 2;
			if (strcmp(v[mid].name, name) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (end = lo, hi = sm->n; end < hi;) { /* past the last of name */
			size_t mid = (end + hi) / 2;
			if (strcmp(v[mid].name, name) <= 0)
				end = mid + 1;
			else
				hi = mid;
		}
	} else {
		end = sm->n;
	}
	for (first = lo, hi = end; first < hi;) { /* the first longer than above */
		size_t mid = (first + hi) / 2;
		if (v[mid].ms <= above)
			first = mid + 1;
		else
			hi = mid;
	}
	if (first == end)
		return -1;
	return v[first + omr_sim_draw(id, salt, end - first)].ms;
}

static void omr_sim_samples_free(struct omr_sim_samples *sm)
{
	free(sm->all);
	free(sm->byname);
	free(sm->bytime);
}

static void omr_sim_learn(struct omr_sim *s)
{
	for (size_t i = 0; i < s->d->nconvs; i++) {
		const struct omr_sim_conv *c = &s->d->convs[i];
		if (c->answered_at && c->ended_at > c->answered_at)
			omr_sim_sample(&s->handle, c->queue, c->ended_at - c->answered_at);
		if (c->left && c->queued_at && c->closed_at >= c->queued_at)
			omr_sim_sample(&s->patience, c->channel, c->closed_at - c->queued_at);
		if (c->bot_at) {
			long long end = c->queued_at ? c->queued_at : c->closed_at;
			s->bot_seen++;
			s->bot_contained += !c->queued_at;
			if (end >= c->bot_at)
				omr_sim_sample(&s->bot, "", end - c->bot_at);
		}
	}
	omr_sim_samples_index(&s->handle);
	omr_sim_samples_index(&s->patience);
	omr_sim_samples_index(&s->bot);
}

/* ---- agents and channels ---- */

static int omr_sim_chan(const struct omr_sim *s, const char *name)
{
	size_t lo = 0, hi = s->nchans;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(s->chans[mid], name);
		if (c == 0)
			return (int)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int omr_sim_strcmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void omr_sim_setup_agents(struct omr_sim *s)
{
	s->chans = omr_calloc(s->d->nconvs + 1, sizeof(*s->chans));
	for (size_t i = 0; i < s->d->nconvs; i++)
		s->chans[s->nchans++] = s->d->convs[i].channel;
	if (s->nchans)
		qsort(s->chans, s->nchans, sizeof(*s->chans), omr_sim_strcmp);
	size_t u = 0;
	for (size_t i = 0; i < s->nchans; i++)
		if (u == 0 || strcmp(s->chans[u - 1], s->chans[i]))
			s->chans[u++] = s->chans[i];
	s->nchans = u;
	s->nagents = s->dir ? s->dir->nagents : 0;
	s->agents = omr_calloc(s->nagents + 1, sizeof(*s->agents));
	for (size_t a = 0; a < s->nagents; a++) {
		s->agents[a].load = omr_calloc(s->nchans + 1, sizeof(long long));
		s->agents[a].cap = omr_calloc(s->nchans + 1, sizeof(long long));
		for (size_t c = 0; c < s->nchans; c++)
			s->agents[a].cap[c] = omr_agent_capacity(&s->dir->agents[a], s->chans[c]);
	}
}

/* ---- waiting conversations ---- */

/* the dispatcher's order: queues by priority, highest first, file order
 * breaking ties (omr_router_dispatch.c); in each, the queue's order */
static long long omr_sim_rank(const struct omr_routing_conf *rc, const struct omr_queue_conf *q)
{
	return (100 - q->priority) * 100000 + (q - rc->queues);
}

static int omr_sim_before(const struct omr_sim *s, size_t a, size_t b)
{
	if (s->jobs[a].rank != s->jobs[b].rank)
		return s->jobs[a].rank < s->jobs[b].rank;
	if (s->jobs[a].score != s->jobs[b].score)
		return s->jobs[a].score < s->jobs[b].score;
	return a < b;
}

static void omr_sim_wait_add(struct omr_sim *s, size_t j)
{
	size_t lo = 0, hi = s->nwaiting;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (omr_sim_before(s, s->waiting[mid], j))
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(s->waiting + lo + 1, s->waiting + lo, (s->nwaiting - lo) * sizeof(*s->waiting));
	s->waiting[lo] = j;
	s->nwaiting++;
}

static void omr_sim_wait_del(struct omr_sim *s, size_t j)
{
	for (size_t i = 0; i < s->nwaiting; i++)
		if (s->waiting[i] == j) {
			memmove(s->waiting + i, s->waiting + i + 1,
				(s->nwaiting - i - 1) * sizeof(*s->waiting));
			s->nwaiting--;
			return;
		}
}

/* who may take job j now, after waiting `waited` ms in its queue */
static void omr_sim_candidates(struct omr_sim *s, struct omr_sim_job *j, long long relax,
			       int drop_optional)
{
	const struct omr_sim_conv *c = &s->d->convs[j - s->jobs];
	json_t *skills, *optional;
	struct omr_cands cands;

	omr_route_needs(j->q, j->d.skills, !drop_optional, &skills, &optional);
	omr_route_candidates(s->dir, c->channel, skills, optional, j->d.language, NULL, NULL, relax,
			     &cands);
	memset(j->cand, 0, s->nagents + 1);
	/* the candidates come in the agents' order, each named by its own id
	 * pointer: one walk finds their indices */
	for (size_t k = 0, a = 0; k < (size_t)cands.n; k++) {
		long long score = 0;
		while (a < s->nagents && s->dir->agents[a].id != cands.argv[k * 3])
			a++;
		if (a == s->nagents)
			break;
		omr_parse_ll(cands.argv[k * 3 + 2], &score);
		j->cand[a] = 1;
		j->skill[a] = score;
	}
	omr_cands_free(&cands);
	json_decref(skills);
	json_decref(optional);
}

static int omr_sim_room(const struct omr_sim *s, size_t a, int ch)
{
	const struct omr_sim_agent *ag = &s->agents[a];
	return ag->presence == OMR_SIM_AVAILABLE && ch >= 0 && ag->load[ch] < ag->cap[ch];
}

/* is agent a a better choice than b for job j, by the strategy? */
static int omr_sim_better(const struct omr_sim *s, const struct omr_sim_job *j, size_t a,
			  size_t b)
{
	const struct omr_sim_agent *x = &s->agents[a], *y = &s->agents[b];
	switch (j->strategy) {
	case OMR_STRATEGY_LEAST_OCCUPIED: {
		long long l = x->load[j->ch] * y->cap[j->ch], r = y->load[j->ch] * x->cap[j->ch];
		if (l != r)
			return l < r;
		break;
	}
	case OMR_STRATEGY_BEST_PROFICIENCY:
		if (j->skill[a] != j->skill[b])
			return j->skill[a] > j->skill[b];
		break;
	default: /* longest idle; round robin: the one offered longest ago */
		break;
	}
	if (x->last_assigned != y->last_assigned)
		return x->last_assigned < y->last_assigned;
	return a < b;
}

static void omr_sim_assign(struct omr_sim *s, size_t jx, size_t a)
{
	struct omr_sim_job *j = &s->jobs[jx];
	struct omr_sim_outcome *o = &s->r->out[jx];
	const struct omr_sim_conv *c = &s->d->convs[jx];

	omr_sim_wait_del(s, jx);
	j->state = JOB_BUSY;
	j->agent = (int)a;
	s->agents[a].load[j->ch]++;
	s->agents[a].last_assigned = s->now;
	o->answered = 1;
	o->wait = s->now - j->queued_at;
	/* the recorded handling when it was answered in the same queue,
	 * else one drawn from what that queue recorded */
	if (c->answered_at && strcmp(c->queue, j->q->name) == 0)
		j->handle = (c->ended_at ? c->ended_at : s->d->to) - c->answered_at;
	else
		j->handle = omr_sim_pick(&s->handle, j->q->name, 0, c->id, "handle");
	if (j->handle < 0)
		j->handle = omr_sim_pick(&s->handle, NULL, 0, c->id, "handle");
	if (j->handle < 0)
		j->handle = s->rc->handle_time_default;
	omr_sim_push(s, s->now + (j->handle > 0 ? j->handle : 1), EV_DONE, jx);
}

/* a conversation that arrived or relaxed: the best free agent, if any */
static void omr_sim_match_job(struct omr_sim *s, size_t jx)
{
	struct omr_sim_job *j = &s->jobs[jx];
	size_t best = SIZE_MAX;
	for (size_t a = 0; a < s->nagents; a++)
		if (j->cand[a] && omr_sim_room(s, a, j->ch) &&
		    (best == SIZE_MAX || omr_sim_better(s, j, a, best)))
			best = a;
	if (best != SIZE_MAX)
		omr_sim_assign(s, jx, best);
}

/* an agent with room: the waiting conversations it may take, in order */
static void omr_sim_match_agent(struct omr_sim *s, size_t a)
{
	for (size_t i = 0; i < s->nwaiting;) {
		size_t jx = s->waiting[i];
		if (s->jobs[jx].cand[a] && omr_sim_room(s, a, s->jobs[jx].ch))
			omr_sim_assign(s, jx, a); /* removes it: i is the next one */
		else
			i++;
	}
}

/* ---- conversations ---- */

/* the escalation in force: candidates, overflow, the next step's event */
static void omr_sim_escalate(struct omr_sim *s, size_t jx)
{
	struct omr_sim_job *j = &s->jobs[jx];
	struct omr_escalation e;

	omr_route_escalation(j->q, s->now - j->queued_at, &e);
	if (e.overflow && strcmp(e.overflow, j->q->name) &&
	    j->overflows < OMR_SIM_MAX_OVERFLOWS && omr_routing_queue(s->rc, e.overflow)) {
		j->q = omr_routing_queue(s->rc, e.overflow);
		j->rank = omr_sim_rank(s->rc, j->q);
		j->overflows++;
		omr_route_escalation(j->q, s->now - j->queued_at, &e);
		if (e.overflow)
			e.overflow = NULL;
	}
	omr_sim_candidates(s, j, e.relax, e.drop_optional);
	size_t next = (size_t)(e.step + 1);
	if (next < j->q->nsteps)
		omr_sim_push(s, j->queued_at + j->q->steps[next].after, EV_STEP, jx);
}

/* what the bot tier does with it: contained (1) or hands over after *ms */
static int omr_sim_bot(struct omr_sim *s, const struct omr_sim_conv *c, long long *ms_r)
{
	if (c->bot_at) { /* it was with the bot: as recorded */
		long long end = c->queued_at ? c->queued_at : c->closed_at;
		*ms_r = end > c->bot_at ? end - c->bot_at : 0;
		return !c->queued_at;
	}
	*ms_r = omr_sim_pick(&s->bot, NULL, -1, c->id, "bot_ms");
	if (*ms_r < 0)
		*ms_r = 0;
	return s->bot_seen &&
	       omr_sim_draw(c->id, "bot", s->bot_seen) < s->bot_contained;
}

/* how long the customer waits for an answer at most (-1: for ever) */
static long long omr_sim_patience(struct omr_sim *s, const struct omr_sim_conv *c)
{
	if (c->left && c->queued_at)
		return c->closed_at - c->queued_at;
	if (c->left) /* left the bot (or before routing) */
		return c->closed_at > c->created_at ? c->closed_at - c->created_at : 0;
	long long known = c->answered_at && c->queued_at ? c->answered_at - c->queued_at : 0;
	return omr_sim_pick(&s->patience, c->channel, known, c->id, "patience");
}

static void omr_sim_plan(struct omr_sim *s, size_t jx)
{
	const struct omr_sim_conv *c = &s->d->convs[jx];
	struct omr_sim_job *j = &s->jobs[jx];
	struct omr_sim_outcome *o = &s->r->out[jx];
	int repeat = 0;
	size_t k;
	json_t *rule;

	json_t *facts = omr_route_facts(s->rc, c->conv, c->created_at, &repeat);
	omr_route_decide(s->rc, facts, s->rc->bot != NULL, &j->d);
	json_decref(facts);
	json_array_foreach(j->d.matched, k, rule) {
		const char *name = json_string_value(rule);
		json_int_t n = json_integer_value(json_object_get(s->r->rules, name));
		json_object_set_new(s->r->rules, name, json_integer(n + 1));
	}
	o->explain = json_incref(j->d.explain);
	o->queue = j->d.queue;
	o->quadrant = j->d.quadrant;
	j->q = omr_routing_queue(s->rc, j->d.queue);
	j->ch = omr_sim_chan(s, c->channel);
	j->agent = -1;
	if (!j->q) { /* not a configured queue: nobody takes it */
		j->state = JOB_OVER;
		return;
	}
	if (j->d.elim_text) {
		o->tier = 2;
		j->state = JOB_OVER;
		return;
	}
	j->arrive = c->queued_at && !c->bot_at ? c->queued_at : c->created_at;
	if (j->d.tier == OMR_TIER_BOT) {
		long long ms;
		o->tier = 1;
		if (omr_sim_bot(s, c, &ms)) {
			o->contained = 1;
			j->state = JOB_OVER;
			return;
		}
		o->handoff = 1;
		j->arrive = c->created_at + ms;
	}
	j->strategy = j->d.strategy >= 0 ? j->d.strategy : j->q->strategy;
	j->patience = omr_sim_patience(s, c);
	j->cand = omr_calloc(s->nagents + 1, 1);
	j->skill = omr_calloc(s->nagents + 1, sizeof(long long));
	omr_sim_push(s, j->arrive, EV_ARRIVE, jx);
}

static void omr_sim_event(struct omr_sim *s, const struct omr_sim_ev *e)
{
	struct omr_sim_job *j = e->kind == EV_PRESENCE ? NULL : &s->jobs[e->idx];

	switch (e->kind) {
	case EV_PRESENCE: {
		const struct omr_sim_change *ch = &s->d->changes[e->idx];
		s->agents[ch->agent].presence = ch->presence;
		if (ch->presence == OMR_SIM_AVAILABLE)
			omr_sim_match_agent(s, (size_t)ch->agent);
		break;
	}
	case EV_ARRIVE:
		j->state = JOB_WAITING;
		j->queued_at = s->now;
		j->score = omr_route_score(s->rc, s->now, j->d.priority);
		j->rank = omr_sim_rank(s->rc, j->q);
		s->r->out[e->idx].offered = 1;
		if (j->patience >= 0)
			omr_sim_push(s, s->now + j->patience, EV_GIVEUP, e->idx);
		omr_sim_escalate(s, e->idx);
		omr_sim_wait_add(s, e->idx);
		omr_sim_match_job(s, e->idx);
		break;
	case EV_STEP:
		if (j->state != JOB_WAITING)
			break;
		omr_sim_wait_del(s, e->idx); /* an overflow changes its place */
		omr_sim_escalate(s, e->idx);
		omr_sim_wait_add(s, e->idx);
		omr_sim_match_job(s, e->idx);
		break;
	case EV_GIVEUP:
		if (j->state != JOB_WAITING)
			break;
		omr_sim_wait_del(s, e->idx);
		j->state = JOB_OVER;
		s->r->out[e->idx].abandoned = 1;
		s->r->out[e->idx].wait = s->now - j->queued_at;
		break;
	case EV_DONE:
		j->state = JOB_OVER;
		s->agents[j->agent].load[j->ch]--;
		omr_sim_match_agent(s, (size_t)j->agent);
		break;
	}
}

int omr_sim_run(const struct omr_sim_data *d, const struct omr_routing_conf *rc,
		const struct omr_agents_conf *dir, struct omr_sim_result *r, char **err_r)
{
	struct omr_sim s = { .d = d, .rc = rc, .dir = dir, .r = r };

	(void)err_r;
	memset(r, 0, sizeof(*r));
	r->n = d->nconvs;
	r->out = omr_calloc(d->nconvs + 1, sizeof(*r->out));
	r->rules = json_object();
	s.jobs = omr_calloc(d->nconvs + 1, sizeof(*s.jobs));
	s.waiting = omr_calloc(d->nconvs + 1, sizeof(*s.waiting));
	omr_sim_setup_agents(&s);
	omr_sim_learn(&s);
	for (size_t i = 0; i < d->nchanges; i++)
		omr_sim_push(&s, d->changes[i].at, EV_PRESENCE, i);
	for (size_t i = 0; i < d->nconvs; i++)
		omr_sim_plan(&s, i);
	while (s.nheap) {
		struct omr_sim_ev e = omr_sim_pop(&s);
		s.now = e.at;
		r->events++;
		omr_sim_event(&s, &e);
	}
	for (size_t i = 0; i < d->nconvs; i++) {
		omr_decision_release(&s.jobs[i].d);
		free(s.jobs[i].cand);
		free(s.jobs[i].skill);
	}
	for (size_t a = 0; a < s.nagents; a++) {
		free(s.agents[a].load);
		free(s.agents[a].cap);
	}
	free(s.agents);
	free(s.chans);
	free(s.jobs);
	free(s.waiting);
	free(s.heap);
	omr_sim_samples_free(&s.handle);
	omr_sim_samples_free(&s.patience);
	omr_sim_samples_free(&s.bot);
	return 0;
}

static int omr_sim_quadrant(const char *name)
{
	for (int q = 0; name && q < 4; q++)
		if (strcmp(omr_quadrant_names[q], name) == 0)
			return q;
	return -1;
}

void omr_sim_recorded(const struct omr_sim_data *d, const struct omr_routing_conf *rc,
		      struct omr_sim_result *r)
{
	(void)rc;
	memset(r, 0, sizeof(*r));
	r->n = d->nconvs;
	r->out = omr_calloc(d->nconvs + 1, sizeof(*r->out));
	r->rules = json_object();
	for (size_t i = 0; i < d->nconvs; i++) {
		const struct omr_sim_conv *c = &d->convs[i];
		struct omr_sim_outcome *o = &r->out[i];
		size_t k;
		json_t *rule;
		o->queue = *c->queue ? c->queue : NULL;
		o->tier = c->automatic ? 2 : c->bot_at ? 1 : 0;
		o->contained = c->bot_at && !c->queued_at;
		o->handoff = c->bot_at && c->queued_at;
		o->offered = c->queued_at > 0;
		o->answered = c->answered_at > 0;
		o->abandoned = c->left && c->queued_at;
		o->wait = !c->queued_at ? 0
			  : o->answered ? c->answered_at - c->queued_at
			  : o->abandoned ? c->closed_at - c->queued_at : 0;
		o->quadrant = omr_sim_quadrant(
			json_string_value(json_object_get(c->routing, "quadrant")));
		o->explain = json_incref(c->routing);
		json_array_foreach(json_object_get(c->routing, "rules"), k, rule) {
			const char *name = json_string_value(rule);
			json_int_t n = json_integer_value(json_object_get(r->rules, name));
			if (name)
				json_object_set_new(r->rules, name, json_integer(n + 1));
		}
	}
}

void omr_sim_result_release(struct omr_sim_result *r)
{
	for (size_t i = 0; i < r->n; i++)
		json_decref(r->out[i].explain);
	free(r->out);
	json_decref(r->rules);
	memset(r, 0, sizeof(*r));
}
