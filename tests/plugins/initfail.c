/* Test plugin: init fails with a reason. */
#include <stdlib.h>
#include <string.h>
#include <omniroute/plugin.h>

static int fail_init(const struct omr_host_api *api, omr_host *host, const void *config,
		     void **state_r, char **err_r)
{
	*err_r = strdup("the test plugin always fails");
	return OMR_ERROR;
}

static void fail_free(void *state)
{
}

const struct omr_plugin_descriptor omr_plugin = {
	OMR_PLUGIN_DESCRIPTOR_INIT,
	.name = "initfail",
	.kind = OMR_PLUGIN_BOT,
	.init = fail_init,
	.free = fail_free,
};
