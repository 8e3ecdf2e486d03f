/*
 * faqbot: the built-in self-service bot. An admin writes intents (example
 * phrases per language and the answer) and when to hand over to a person
 * (the customer asks for one, the bot fails to understand N times, a
 * complaint, a high-value customer); see docs/bots.md.
 *
 * It answers every turn at once (no I/O), on the main thread.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omniroute/plugin.h>

struct fb_config {
	char **languages;
	char *fallback_language;
	json_t *intents;
	json_t *handoff;
	json_t *messages;
};

static const struct omr_conf_key fb_keys[] = {
	{ "languages", OMR_CONF_STRLIST, offsetof(struct fb_config, languages), 0, "[en]", 0, 0,
	  "languages the bot speaks" },
	{ "fallback_language", OMR_CONF_STRING, offsetof(struct fb_config, fallback_language), 0,
	  "en", 0, 0, "language when none can be told" },
	{ "intents", OMR_CONF_JSON, offsetof(struct fb_config, intents), 1, NULL, 0, 0,
	  "[{name, examples: {lang: [phrases]}, answer: {lang: text}, buttons?: {lang: [..]}, resolve?}]" },
	{ "handoff", OMR_CONF_JSON, offsetof(struct fb_config, handoff), 0, "{}", 0, 0,
	  "{keywords: [..], complaint: [..], max_misunderstood: 2, customer_tiers: [..]}" },
	{ "messages", OMR_CONF_JSON, offsetof(struct fb_config, messages), 0, "{}", 0, 0,
	  "{didnt_understand: {lang: text}, handoff: {lang: text}, complaint: {lang: text}}" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

struct fb_state {
	const struct omr_host_api *api;
	omr_host *host;
	const struct fb_config *cfg;
	long long max_misunderstood;
};

/* ---- text ---- */

static char *fb_lower(const char *s)
{
	char *out = omr_plugin_strdup(s ? s : "");
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return out;
}

static int fb_wordch(unsigned char c)
{
	return isalnum(c) || c >= 0x80;
}

/* needle in hay as a whole word (or phrase); both lower case */
static int fb_has_word(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	if (!n)
		return 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) {
		int before = p == hay || !fb_wordch((unsigned char)p[-1]);
		int after = !fb_wordch((unsigned char)p[n]);
		if (before && after)
			return 1;
	}
	return 0;
}

static int fb_any_word(const char *lower, const json_t *list)
{
	size_t i;
	json_t *w;
	json_array_foreach(list, i, w) {
		char *lw = fb_lower(json_string_value(w));
		int hit = fb_has_word(lower, lw);
		free(lw);
		if (hit)
			return 1;
	}
	return 0;
}

/* ---- configuration ---- */

static int fb_check_texts(const json_t *obj, const char *what, const char *intent, int list,
			  char **err_r)
{
	const char *lang;
	json_t *v;
	if (!json_is_object(obj))
		return omr_plugin_error(err_r, "intent '%s': %s must map languages to %s", intent, what,
			      list ? "lists of phrases" : "texts");
	json_object_foreach((json_t *)obj, lang, v) {
		if (list) {
			size_t i;
			json_t *e;
			if (!json_is_array(v) || json_array_size(v) == 0)
				return omr_plugin_error(err_r, "intent '%s': %s.%s must be a list", intent, what, lang);
			json_array_foreach(v, i, e)
				if (!json_is_string(e) || !json_string_length(e))
					return omr_plugin_error(err_r, "intent '%s': %s.%s: phrases are text", intent,
						      what, lang);
		} else if (!json_is_string(v) || !json_string_length(v)) {
			return omr_plugin_error(err_r, "intent '%s': %s.%s must be a text", intent, what, lang);
		}
	}
	return OMR_OK;
}

static int fb_check(const void *config, char **err_r)
{
	const struct fb_config *cfg = config;
	size_t i;
	json_t *it;
	if (!json_is_array(cfg->intents) || json_array_size(cfg->intents) == 0)
		return omr_plugin_error(err_r, "intents: a list of at least one intent");
	json_array_foreach(cfg->intents, i, it) {
		const char *name = json_string_value(json_object_get(it, "name"));
		if (!json_is_object(it) || !name || !*name)
			return omr_plugin_error(err_r, "intent %zu: needs a name", i + 1);
		if (fb_check_texts(json_object_get(it, "examples"), "examples", name, 1, err_r) ||
		    fb_check_texts(json_object_get(it, "answer"), "answer", name, 0, err_r))
			return OMR_ERROR;
	}
	if (!json_is_object(cfg->handoff))
		return omr_plugin_error(err_r, "handoff: a mapping");
	static const char *const lists[] = { "keywords", "complaint", "customer_tiers", NULL };
	for (int k = 0; lists[k]; k++) {
		json_t *l = json_object_get(cfg->handoff, lists[k]);
		if (l && !json_is_array(l))
			return omr_plugin_error(err_r, "handoff.%s: a list of words", lists[k]);
	}
	json_t *m = json_object_get(cfg->handoff, "max_misunderstood");
	if (m && (!json_is_integer(m) || json_integer_value(m) < 1 || json_integer_value(m) > 20))
		return omr_plugin_error(err_r, "handoff.max_misunderstood: a number from 1 to 20");
	if (!json_is_object(cfg->messages))
		return omr_plugin_error(err_r, "messages: a mapping");
	return OMR_OK;
}

/* ---- answering ---- */

static const char *fb_text(const json_t *by_lang, const char *lang, const char *fallback)
{
	const char *t = json_string_value(json_object_get(by_lang, lang));
	if (!t)
		t = json_string_value(json_object_get(by_lang, fallback));
	if (!t) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)by_lang, k, v)
			return json_string_value(v);
	}
	return t;
}

/* The intent whose example matches best (the longest phrase found);
 * *lang_r: the language of that example. */
static const json_t *fb_match(const struct fb_config *cfg, const char *lower, const char **lang_r)
{
	const json_t *best = NULL;
	size_t best_len = 0, i;
	json_t *it;
	json_array_foreach(cfg->intents, i, it) {
		const char *lang;
		json_t *list;
		json_object_foreach(json_object_get(it, "examples"), lang, list) {
			size_t k;
			json_t *ex;
			json_array_foreach(list, k, ex) {
				char *le = fb_lower(json_string_value(ex));
				size_t n = strlen(le);
				if (n > best_len && fb_has_word(lower, le)) {
					best = it;
					best_len = n;
					*lang_r = lang;
				}
				free(le);
			}
		}
	}
	return best;
}

static const char *fb_language(const struct fb_state *st, const struct omr_bot_turn *t)
{
	for (size_t i = 0; st->cfg->languages && st->cfg->languages[i]; i++)
		if (t->language && strcmp(t->language, st->cfg->languages[i]) == 0)
			return st->cfg->languages[i];
	return st->cfg->fallback_language;
}

static void fb_say(json_t *msgs, const char *text, const json_t *buttons)
{
	if (!text)
		return;
	json_t *m = json_pack("{s:s}", "text", text);
	if (json_is_array(buttons))
		json_object_set(m, "buttons", (json_t *)buttons);
	json_array_append_new(msgs, m);
}

static int fb_turn(void *state, const struct omr_bot_turn *t)
{
	struct fb_state *st = state;
	const struct fb_config *cfg = st->cfg;
	char *lower = fb_lower(t->text);
	const char *lang = fb_language(st, t), *mlang = NULL;
	json_t *msgs = json_array();
	struct omr_bot_answer a = { .turn = t->turn, .messages = msgs, .action = "continue" };
	const char *tier = json_string_value(json_object_get(json_object_get(t->context, "attrs"), "tier"));
	json_int_t mis = json_integer_value(json_object_get(t->context, "misunderstood"));
	const json_t *intent = fb_match(cfg, lower, &mlang);
	char *ltier = tier ? fb_lower(tier) : NULL;
	int tier_hit = ltier && fb_any_word(ltier, json_object_get(cfg->handoff, "customer_tiers"));
	free(ltier);

	if (intent && mlang)
		lang = mlang;
	if (fb_any_word(lower, json_object_get(cfg->handoff, "keywords"))) {
		fb_say(msgs, fb_text(json_object_get(cfg->messages, "handoff"), lang,
				     cfg->fallback_language), NULL);
		a.action = "handoff";
		a.reason = "the customer asked for a person";
	} else if (fb_any_word(lower, json_object_get(cfg->handoff, "complaint"))) {
		fb_say(msgs, fb_text(json_object_get(cfg->messages, "complaint"), lang,
				     cfg->fallback_language), NULL);
		a.action = "handoff";
		a.reason = "complaint";
		a.intent = "complaint";
	} else if (tier_hit) {
		fb_say(msgs, fb_text(json_object_get(cfg->messages, "handoff"), lang,
				     cfg->fallback_language), NULL);
		a.action = "handoff";
		a.reason = "a high-value customer";
	} else if (intent) {
		fb_say(msgs, fb_text(json_object_get(intent, "answer"), lang, cfg->fallback_language),
		       json_object_get(json_object_get(intent, "buttons"), lang));
		a.intent = json_string_value(json_object_get(intent, "name"));
		if (json_is_true(json_object_get(intent, "resolve"))) {
			a.action = "resolve";
			a.reason = a.intent;
		}
	} else {
		a.misunderstood = 1;
		if (mis + 1 >= st->max_misunderstood) {
			fb_say(msgs, fb_text(json_object_get(cfg->messages, "handoff"), lang,
					     cfg->fallback_language), NULL);
			a.action = "handoff";
			a.reason = "the bot did not understand";
		} else {
			fb_say(msgs, fb_text(json_object_get(cfg->messages, "didnt_understand"), lang,
					     cfg->fallback_language), NULL);
		}
	}
	json_t *slots = json_pack("{s:s}", "language", lang);
	a.slots = slots;
	st->api->bot_answer(st->host, &a);
	json_decref(slots);
	json_decref(msgs);
	free(lower);
	return OMR_OK;
}

static int fb_init(const struct omr_host_api *api, omr_host *host, const void *config,
		   void **state_r, char **err_r)
{
	const struct fb_config *cfg = config;
	struct fb_state *st;
	if (fb_check(config, err_r) != OMR_OK)
		return OMR_ERROR;
	st = omr_plugin_calloc(1, sizeof(*st));
	st->api = api;
	st->host = host;
	st->cfg = cfg;
	json_t *m = json_object_get(cfg->handoff, "max_misunderstood");
	st->max_misunderstood = m ? json_integer_value(m) : 2;
	*state_r = st;
	return OMR_OK;
}

static void fb_free(void *state)
{
	free(state);
}

const struct omr_plugin_descriptor omr_plugin = {
	OMR_PLUGIN_DESCRIPTOR_INIT,
	.name = "faqbot",
	.version = "1.0",
	.description = "self-service answers from intents an admin writes; hands over to people",
	.kind = OMR_PLUGIN_BOT,
	.config_keys = fb_keys,
	.config_size = sizeof(struct fb_config),
	.check = fb_check,
	.init = fb_init,
	.free = fb_free,
	.bot_turn = fb_turn,
};
