/*
 * omr_bots: the bot tier. A conversation routing gives to the bot tier is
 * answered turn by turn by the configured bot plugin (routing.yaml `bot:`):
 * each customer message becomes a turn (struct omr_bot_turn), each answer
 * (api->bot_answer) is stored and delivered, and the bot's action decides:
 * continue, hand off to a person (back into routing, with what the bot
 * learnt), or resolve (closed, the reason counted).
 *
 * Nothing is left in silence: a turn not answered within bot_timeout, a
 * bot that fails, and a conversation whose turn was lost in a restart (the
 * deadline lives in Redis, `bot:waiting`) are handed to a person.
 */
#ifndef OMR_BOTS_H
#define OMR_BOTS_H

#include <omniroute/plugin.h>

#include "omr_env.h"

struct omr_bots;
struct omr_channels;
struct omr_plugin;

struct omr_bots *omr_bots_new(const struct omr_env *env, struct omr_channels *channels);
void omr_bots_free(struct omr_bots *b);
void omr_bots_start(struct omr_bots *b);
void omr_bots_stop(struct omr_bots *b);
/* A customer message (or the first one: message NULL) for a conversation
 * the bot has: start a turn. */
void omr_bots_turn(struct omr_bots *b, const char *conversation);
/* The customer wrote in a conversation with the bot or a parked one: it
 * closes after routing.bot_idle_close without another message. */
void omr_bots_active(struct omr_bots *b, const char *conversation);
/* A parked conversation (a rule's automatic answer, then: park) whose
 * customer wrote again: to people, with the reason as its hand-off note
 * (tagged auto_answer_followup; the customer hears handoff_text). */
void omr_bots_takeover(struct omr_bots *b, const char *conversation, const char *reason);
/* api->bot_answer */
void omr_bots_answer(struct omr_bots *b, struct omr_plugin *p, const struct omr_bot_answer *a);

#endif
