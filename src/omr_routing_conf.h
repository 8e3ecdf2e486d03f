/*
 * omr_routing_conf: routing.yaml — skills, queues and the default queue.
 * Immutable once loaded; swapped as a whole on reload.
 */
#ifndef OMR_ROUTING_CONF_H
#define OMR_ROUTING_CONF_H

#include "omr_calendar.h"
#include "omr_conf.h"

struct omr_skill_req {
	char *skill;
	long long min;      /* minimum proficiency 1..5 */
};

enum omr_action_kind { OMR_ACTION_NONE, OMR_ACTION_MESSAGE, OMR_ACTION_OVERFLOW, OMR_ACTION_CALLBACK };

/* out_of_hours, on_max_wait */
struct omr_action {
	char *action;        /* as written; kind is the parsed form */
	enum omr_action_kind kind;
	char *text;
	char *queue;         /* overflow target (default: the queue's overflow);
	                        callback: the queue it is offered in (default: this one) */
	/* callback (docs/routing.md#callbacks) */
	json_t *texts;       /* {language: text}: text in the customer's language */
	long long slots;     /* times offered to pick from (chat channels) */
	long long slot_length; /* ms of a slot; a callback not taken by its end is missed */
	int pick;            /* 0: the first slot is given, no choice */
	long long priority_boost; /* added to the priority when it is offered */
};

struct omr_escalation_step {
	long long after;     /* ms of waiting */
	long long relax;     /* lower every minimum proficiency by this */
	int drop_optional;
	char *overflow;      /* move to this queue */
};

struct omr_queue_conf {
	char *name;
	char *description;
	char *signature;     /* e-mail signature the console offers; NULL: none */
	struct omr_skill_req *skills;
	size_t nskills;
	struct omr_skill_req *optional;
	size_t noptional;
	long long priority;  /* 0..100, higher first */
	int strategy;        /* enum omr_strategy */
	struct {
		long long target;   /* percent; 0: no SLA */
		long long within;   /* ms */
	} sla;
	char *calendar;
	const struct omr_calendar *cal;  /* resolved, or NULL: always open */
	struct omr_action out_of_hours;
	struct omr_action on_max_wait;
	long long max_wait;  /* ms; 0: none */
	char *overflow;
	struct omr_escalation_step *steps;
	size_t nsteps;
	long long status_interval; /* ms; 0: no position updates */
	const struct omr_ynode *at;
};

enum omr_strategy {
	OMR_STRATEGY_LONGEST_IDLE,
	OMR_STRATEGY_LEAST_OCCUPIED,
	OMR_STRATEGY_BEST_PROFICIENCY,
	OMR_STRATEGY_ROUND_ROBIN,
};
extern const char *const omr_strategy_names[];

struct omr_skill_conf {
	char *name;
	char *description;
};

/* A rule: when its condition holds, its actions apply; the first match
 * wins unless it says `continue`. */
enum omr_value { OMR_VALUE_UNSET = -1, OMR_VALUE_LOW = 0, OMR_VALUE_HIGH = 1 };
enum omr_tier { OMR_TIER_UNSET = -1, OMR_TIER_HUMAN = 0, OMR_TIER_BOT = 1 };

struct omr_rule {
	char *name;
	char *when;            /* Lua expression; NULL: always */
	int cond;              /* index in the rules engine, -1: always */
	char *queue;
	char *language;
	struct omr_skill_req *skills;
	size_t nskills;
	long long priority;    /* -1: unset */
	char **tags;
	int cont;
	struct {
		char *customer, *organisation;  /* as written */
	} value_text;
	int value_customer;    /* enum omr_value */
	int value_org;
	char *tier_text;
	int tier;              /* enum omr_tier */
	long long prefer_last_agent; /* ms; 0: no */
	char *owner;           /* make this agent the customer's contact person (if none) */
	char *deputy;          /* with owner */
	struct {
		char *text;    /* an automatic answer; NULL: none */
		char *reason;  /* the trigger counted (default: the rule's name) */
		int park;      /* 0: close after answering; 1: park (a person if the customer writes again) */
	} answer;
	const struct omr_ynode *at;
};

struct omr_value_conf {
	struct {
		char *customer, *organisation;
	} def_text;
	int def_customer, def_org;   /* enum omr_value */
	struct {
		char *text;
		char *reason;
	} eliminate;
	struct {
		long long priority_boost;
		int strategy;
	} encourage;
};

struct omr_engagement_conf {
	json_t *deposits;     /* {outcome: points} */
	json_t *withdrawals;  /* {outcome|complaint|sla_breach|repeat_contact: points} */
	long long repeat_days;
	long long low, high, min, max;
	long long recovery_window; /* ms a resolved complaint must stay quiet */
	char *rating_json;   /* what a rating moves, for ingest.lua's `engage` */
};

struct omr_offers_conf {
	long long timeout;          /* ms an offer stays open */
	long long max_missed;       /* missed offers in a row before away */
	long long reject_cooldown;  /* ms a rejecting agent is skipped */
};

struct omr_sessions_conf {
	long long grace;            /* ms after the last disconnect before offline */
	long long ttl;              /* ms a console session token lasts; 0: none */
};

struct omr_csat_conf {
	int enabled;                /* ask at close */
	char *question;             /* told to the customer */
	char *thanks;               /* told after an answer */
	long long window;           /* ms an answer is taken */
};

struct omr_supervision_conf {
	int announce_monitoring;    /* the agent sees when a supervisor monitors */
	long long pull_wait;        /* ms a pulled conversation waits for its agent */
};

/* One contact person (docs/routing.md#contact-person) */
struct omr_owner_conf {
	long long prefer_owner;     /* ms the owner (or deputy) is waited for; 0: off */
	long long prefer_team;      /* ms their team is waited for after that */
	long long away_after;       /* ms away after which the deputy is tried */
};

struct omr_rules;

/* signals: what a business signal about a customer leads to
 * (docs/proactive.md; omr_routing_signals.c) */
enum omr_signal_kind { OMR_SIGNAL_NONE, OMR_SIGNAL_REACH_OUT, OMR_SIGNAL_TASK };
struct omr_signal_rule {
	char *name;
	char *type;            /* a type, a prefix "device.*", or "*" */
	char *when;            /* Lua condition; NULL: always */
	int cond;              /* index in the rules engine, -1: always */
	char *action;          /* as written */
	int kind;              /* enum omr_signal_kind */
	char *channel;         /* "preferred" or a channel */
	char *text;
	struct {
		char *name, *language;
	} tmpl;
	char *subject;
	char *queue;           /* NULL: default_queue for a task, none for reach_out */
	char *agent;
	long long throttle;    /* ms; -1: the signals' */
	const struct omr_ynode *at;
};
struct omr_signals_conf {
	long long throttle;    /* ms; 0: none */
	struct omr_signal_rule *rules;
	size_t nrules;
};

/* What customers say, shipped: a complaint, and asking for a person
 * (phrases: in routing.yaml replaces it whole). */
#define OMR_PHRASES_DEFAULT                                                                  \
	"{complaint: {en: [complaint, complain, unacceptable, disappointed, \"not happy\", "  \
	"terrible, ridiculous, \"fed up\"], nl: [klacht, klagen, onacceptabel, "               \
	"teleurgesteld, ontevreden, belachelijk, schandalig, \"niet blij\"]}, "                \
	"person: {en: [\"a person\", \"a human\", \"real person\", \"an agent\", "       \
	"\"someone\", \"talk to\", \"speak to\"], nl: [medewerker, \"een mens\", "       \
	"\"iemand\", \"spreken met\", \"praten met\"]}}"
/* Opt-out keywords, shipped: the customer's whole message, any case
 * (opt_out: in routing.yaml replaces it whole). */
#define OMR_OPTOUT_DEFAULT                                                                   \
	"{keywords: {\"*\": {stop: [STOP, STOPALL, UNSUBSCRIBE, AFMELDEN], "                     \
	"start: [START, UNSTOP]}}}"
/* A contact reason with what the report needs of it (omr_routing_reasons.c). */
struct omr_reason_conf {
	char *name;
	int avoidable;              /* the customer need not have got in touch */
	int treatment;              /* configured: index in omr_quadrant_names; -1: none */
};

struct omr_routing_conf {
	struct omr_calendar *calendars;
	size_t ncalendars;
	struct omr_value_conf value;
	struct omr_engagement_conf engagement;
	json_t *phrases;            /* {name: {language: [lowercase phrases]}} */
	char *bot;                  /* the bot plugin of the bot tier, or NULL */
	char *bot_name;             /* what customers see as the bot's name, or NULL */
	long long bot_timeout;      /* ms a bot has to answer a turn */
	long long bot_idle_close;   /* ms without a customer message before a bot/parked one closes */
	char *handoff_text;         /* told to the customer when a bot hands off */
	long long aging;            /* ms of waiting worth one priority point */
	long long handle_time_default; /* ms, for waiting-time estimates */
	struct omr_skill_conf *skills;
	size_t nskills;
	struct omr_queue_conf *queues;
	size_t nqueues;
	char *default_queue;
	char **reasons;       /* contact reasons (the WHY) offered at wrap-up (names) */
	struct omr_reason_conf *reason_info; /* the same, in order, with their attributes */
	size_t nreasons;
	json_t *public_reply_note; /* {language: text}: the public note of a private reply */
	char **outcomes;      /* wrap-up outcomes */
	struct omr_rule *rules;
	size_t nrules;
	struct omr_rules *engine;   /* compiled conditions */
	struct omr_offers_conf offers;
	struct omr_sessions_conf sessions;
	struct omr_supervision_conf supervision;
	struct omr_csat_conf csat;
	struct omr_owner_conf owner;
	struct omr_signals_conf signals;
	json_t *opt_out;            /* {keywords: {channel | "*": {stop: [WORDS], start: [WORDS]}}} */
};

struct omr_routing_conf *omr_routing_conf_load(const struct omr_ydoc *doc,
					       struct omr_conf_errs *errs);
void omr_routing_conf_free(struct omr_routing_conf *r);

const struct omr_skill_conf *omr_routing_skill(const struct omr_routing_conf *r, const char *name);
const struct omr_queue_conf *omr_routing_queue(const struct omr_routing_conf *r, const char *name);
const struct omr_calendar *omr_routing_calendar(const struct omr_routing_conf *r, const char *name);
/* Engagement points for an event name (an outcome, "complaint", ...):
 * positive for deposits, negative for withdrawals, 0 if not configured. */
long long omr_engagement_points(const struct omr_routing_conf *r, const char *event);
extern const char *const omr_quadrant_names[];

/* omr_routing_phrases.c: `phrases:` checked (errors with file and line)
 * and lowercased in r->phrases. */
void omr_routing_phrases_load(struct omr_routing_conf *r, const struct omr_ynode *at,
			      struct omr_conf_errs *errs);

/* omr_routing_reasons.c: `reasons:` (strings or {name, avoidable,
 * treatment}) into r->reasons and r->reason_info; freed with the rest. */
void omr_routing_reasons_load(struct omr_routing_conf *r, const struct omr_ynode *list,
			      struct omr_conf_errs *errs);
void omr_routing_reasons_free(struct omr_routing_conf *r);
const struct omr_reason_conf *omr_routing_reason(const struct omr_routing_conf *r,
						 const char *name);
/* public_reply_note: a mapping of language to a short text */
int omr_routing_note_check(const json_t *notes, const struct omr_ynode *at,
			   struct omr_conf_errs *errs);
/* The public note of a private reply in language (else English, else a
 * built-in text); borrowed from r. */
const char *omr_routing_note(const struct omr_routing_conf *r, const char *language);

/* omr_routing_signals.c: `signals:` and `opt_out:` */
void omr_routing_signals_load(struct omr_routing_conf *r, const struct omr_ynode *at,
			      struct omr_conf_errs *errs);
void omr_routing_optout_load(struct omr_routing_conf *r, const struct omr_ynode *at,
			     struct omr_conf_errs *errs);
void omr_routing_signals_free(struct omr_routing_conf *r);
int omr_signal_type_matches(const char *pattern, const char *type);
/* "stop", "start" or NULL: the whole message is an opt-out keyword */
const char *omr_routing_optout_word(const struct omr_routing_conf *r, const char *channel,
				    const char *text);

#endif
