/* Fuzz harness: the faqbot's reading of a customer's message. The plugin
 * is compiled in with the demo's kind of intents; input bytes are the
 * message (the first byte picks the language and the misunderstanding
 * count). Every turn must be answered at once, exactly once, with a known
 * action and well-formed messages. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/faqbot/faqbot.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int answers;

static void f_log(omr_host *h, enum omr_log_level level, const char *fmt, ...)
{
}

static void f_bot_answer(omr_host *h, const struct omr_bot_answer *a)
{
	size_t i;
	json_t *m;
	if (!a->turn || !a->action || (strcmp(a->action, "continue") && strcmp(a->action, "handoff") &&
				       strcmp(a->action, "resolve")))
		abort();
	if (strcmp(a->action, "handoff") == 0 && !a->reason)
		abort(); /* the agent is always told why */
	json_array_foreach(a->messages, i, m)
		if (!json_is_string(json_object_get(m, "text")))
			abort();
	answers++;
}

static const struct omr_host_api f_api = {
	.abi_version = OMR_PLUGIN_ABI_VERSION,
	.struct_size = sizeof(struct omr_host_api),
	.log = f_log,
	.bot_answer = f_bot_answer,
};

static const char intents[] =
	"[{\"name\":\"opening hours\",\"examples\":{\"en\":[\"opening hours\",\"when are you open\"],"
	"\"nl\":[\"openingstijden\"]},\"answer\":{\"en\":\"9 to 5\",\"nl\":\"9 tot 5\"},"
	"\"buttons\":{\"en\":[\"thanks\"]}},"
	"{\"name\":\"bye\",\"examples\":{\"en\":[\"bye\"]},\"answer\":{\"en\":\"Bye!\"},\"resolve\":true}]";
static const char handoff[] =
	"{\"keywords\":[\"agent\",\"human\"],\"complaint\":[\"complaint\"],\"max_misunderstood\":2,"
	"\"customer_tiers\":[\"gold\"]}";
static const char messages[] =
	"{\"didnt_understand\":{\"en\":\"Sorry?\"},\"handoff\":{\"en\":\"A person comes.\"}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *langs[] = { "en", "nl", NULL };
	static const char *const pick[] = { "en", "nl", "", "de" };
	struct fb_config cfg = { .languages = (char **)langs, .fallback_language = "en" };
	struct fb_state *st = NULL;
	char *err = NULL;
	if (size < 1)
		return 0;
	cfg.intents = json_loads(intents, 0, NULL);
	cfg.handoff = json_loads(handoff, 0, NULL);
	cfg.messages = json_loads(messages, 0, NULL);
	if (fb_init(&f_api, NULL, &cfg, (void **)&st, &err) != OMR_OK)
		abort();
	char *text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	json_t *ctx = json_pack("{s:{s:s},s:i}", "attrs", "tier", data[0] & 4 ? "Gold" : "basic",
				"misunderstood", (int)(data[0] >> 4));
	struct omr_bot_turn turn = { .turn = "t_1", .conversation = "c_1", .channel = "webchat",
				     .language = pick[data[0] & 3], .text = text, .context = ctx };
	answers = 0;
	if (fb_turn(st, &turn) != OMR_OK || answers != 1)
		abort();
	fb_free(st);
	json_decref(ctx);
	free(text);
	json_decref(cfg.intents);
	json_decref(cfg.handoff);
	json_decref(cfg.messages);
	return 0;
}
