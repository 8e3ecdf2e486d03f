/* Shared fake host for the provider webhook harnesses (fuzz_whatsapp,
 * fuzz_meta, fuzz_x). Include it after the plugin's .c file.
 *
 * The plugin's parse function gets the fuzz input as a webhook body and
 * maps it through api->webhook_message() and api->webhook_status(); the
 * fakes here check every item against what the core relies on (see
 * struct omr_inbound and omr_host_api in include/omniroute/plugin.h) and
 * abort() on the first broken promise. fp_parse() checks the return
 * contract: OMR_OK leaves *err_r alone, OMR_ERROR sets it to a malloc'ed
 * message (freed here, so LeakSanitizer catches a plugin that forgets its
 * own allocations, not ours). */
#ifndef OMR_FUZZ_PROVIDER_H
#define OMR_FUZZ_PROVIDER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <omniroute/plugin.h>

/* What the last parse handed over. */
static size_t fp_messages, fp_statuses;

/* The batch is opaque to the plugin: any non-NULL pointer, compared
 * against what comes back in the callbacks. */
static char fp_batch_token;
#define FP_BATCH ((omr_webhook_batch *)&fp_batch_token)

static void fp_log(omr_host *h, enum omr_log_level level, const char *fmt, ...)
{
	if (!fmt || level < OMR_LOG_ERROR || level > OMR_LOG_DEBUG)
		abort();
}

/* A JSON value the core stores: must encode (it dumps it as it is
 * submitted), which also walks every node of it under ASan. */
static void fp_check_dump(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!s)
		abort();
	free(s);
}

/* An optional string: NULL or a readable C string (the length goes to a
 * volatile, so that strlen runs, under ASan). */
static volatile size_t fp_sink;
static void fp_check_str(const char *s)
{
	if (s)
		fp_sink += strlen(s);
}

static void fp_check_inbound(const struct omr_inbound *ev)
{
	size_t i;
	json_t *a;

	if (!ev || !ev->channel_msg_id || !ev->address || !ev->text)
		abort();
	/* empty or non-ASCII keys, over-long or non-UTF-8 text: the core
	 * checks those itself and refuses the message (ingest) */
	fp_check_str(ev->channel_msg_id);
	fp_check_str(ev->address);
	fp_check_str(ev->thread);
	fp_check_str(ev->name);
	fp_check_str(ev->email);
	fp_check_str(ev->text);
	if (ev->email_verified != 0 && ev->email_verified != 1)
		abort();
	if (ev->is_public != 0 && ev->is_public != 1)
		abort();
	if (ev->kind && strcmp(ev->kind, "message") != 0 && strcmp(ev->kind, "auto") != 0)
		abort();
	if (ev->attachments) {
		/* an array of {type, ...} objects */
		if (!json_is_array(ev->attachments))
			abort();
		json_array_foreach(ev->attachments, i, a)
			if (!json_is_object(a) || !json_is_string(json_object_get(a, "type")))
				abort();
		fp_check_dump(ev->attachments);
	}
	if (ev->attrs) {
		if (!json_is_object(ev->attrs))
			abort();
		fp_check_dump(ev->attrs);
	}
	if (ev->meta) {
		if (!json_is_object(ev->meta))
			abort();
		fp_check_dump(ev->meta);
	}
}

static void fp_webhook_message(omr_webhook_batch *b, const struct omr_inbound *ev)
{
	if (b != FP_BATCH)
		abort();
	fp_check_inbound(ev);
	fp_messages++;
}

static void fp_webhook_status(omr_webhook_batch *b, const char *channel_msg_id, const char *status,
			      const char *error)
{
	static const char *const known[] = { "sent", "delivered", "read", "failed", NULL };
	int ok = 0;
	if (b != FP_BATCH || !channel_msg_id || !status)
		abort();
	fp_check_str(channel_msg_id); /* the core checks it is a key */
	for (size_t i = 0; known[i]; i++)
		ok |= strcmp(status, known[i]) == 0;
	if (!ok)
		abort(); /* only the four statuses the host API names */
	fp_check_str(error);
	fp_statuses++;
}

static void fp_webhook_read_until(omr_webhook_batch *b, const char *address, const char *thread,
				  long long watermark_ms)
{
	if (b != FP_BATCH || !address)
		abort();
	fp_check_str(address);
	fp_check_str(thread);
	(void)watermark_ms; /* any number: the core takes it as a time */
	fp_statuses++;
}

static const struct omr_host_api fp_api = {
	.abi_version = OMR_PLUGIN_ABI_VERSION,
	.struct_size = sizeof(struct omr_host_api),
	.log = fp_log,
	.webhook_message = fp_webhook_message,
	.webhook_status = fp_webhook_status,
	.webhook_read_until = fp_webhook_read_until,
};

typedef int (*fp_parse_fn)(void *arg, const char *body, size_t len, omr_webhook_batch *b,
			   char **err_r);

/* One webhook body through parse, as the core hands it over: a copy with
 * a NUL after it (the length does not count the NUL). Returns the rc. */
static int fp_parse(fp_parse_fn parse, void *arg, const uint8_t *data, size_t size)
{
	static char untouched;
	char *body = malloc(size + 1);
	char *err = &untouched;
	int rc;

	if (!body)
		abort();
	if (size)
		memcpy(body, data, size);
	body[size] = '\0';
	fp_messages = fp_statuses = 0;
	rc = parse(arg, body, size, FP_BATCH, &err);
	if (rc == OMR_OK) {
		if (err != &untouched)
			abort(); /* OMR_OK leaves *err_r alone */
	} else if (rc == OMR_ERROR) {
		if (!err || err == &untouched)
			abort(); /* OMR_ERROR comes with a malloc'ed reason */
		fp_check_str(err);
		free(err);
	} else {
		abort(); /* parse answers OMR_OK or OMR_ERROR */
	}
	free(body);
	return rc;
}

#endif
