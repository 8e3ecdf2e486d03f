/* Test plugin: a well-formed channel plugin with a config table. */
#include <stdlib.h>
#include <string.h>
#include <omniroute/plugin.h>

struct echo_config {
	char *greeting;
	long long count;
	int flag;
};

static const struct omr_conf_key echo_keys[] = {
	{ "greeting", OMR_CONF_STRING, offsetof(struct echo_config, greeting), 1, NULL, 0, 0,
	  "required string" },
	{ "count", OMR_CONF_INT, offsetof(struct echo_config, count), 0, "3", 1, 10, "1..10" },
	{ "flag", OMR_CONF_BOOL, offsetof(struct echo_config, flag), 0, "false", 0, 0, "a flag" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

struct echo_state {
	const struct echo_config *cfg;
	int sent;
};

static int echo_init(const struct omr_host_api *api, omr_host *host, const void *config,
		     void **state_r, char **err_r)
{
	struct echo_state *st = calloc(1, sizeof(*st));
	if (!st)
		return OMR_ERROR;
	st->cfg = config;
	*state_r = st;
	return OMR_OK;
}

static int echo_send(void *state, const struct omr_outbound *out)
{
	((struct echo_state *)state)->sent++;
	return OMR_OK;
}

static void echo_free(void *state)
{
	free(state);
}

const struct omr_plugin_descriptor omr_plugin = {
	OMR_PLUGIN_DESCRIPTOR_INIT,
	.name = "echo",
	.version = "1",
	.description = "test plugin",
	.kind = OMR_PLUGIN_CHANNEL,
	.config_keys = echo_keys,
	.config_size = sizeof(struct echo_config),
	.init = echo_init,
	.send = echo_send,
	.free = echo_free,
};
