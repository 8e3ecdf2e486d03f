/* Test plugin: built for another ABI version; must be refused. */
#include <omniroute/plugin.h>

static int bad_init(const struct omr_host_api *api, omr_host *host, const void *config,
		    void **state_r, char **err_r)
{
	return OMR_OK;
}

static void bad_free(void *state)
{
}

const struct omr_plugin_descriptor omr_plugin = {
	.abi_version = 42, /* never ours */
	.struct_size = sizeof(struct omr_plugin_descriptor),
	.name = "badabi",
	.kind = OMR_PLUGIN_BOT,
	.init = bad_init,
	.free = bad_free,
};
