/*
 * omr_plugin: see omr_plugin.h.
 */
#include "config.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "omr_log.h"
#include "omr_plugin.h"
#include "omr_util.h"

static const char *omr_plugin_kind_name(enum omr_plugin_kind k)
{
	switch (k) {
	case OMR_PLUGIN_CHANNEL:
		return "channel";
	case OMR_PLUGIN_BOT:
		return "bot";
	default:
		return NULL;
	}
}

static int omr_plugin_check(const struct omr_plugin_descriptor *d, const char *name,
			    const char *path, const struct omr_ynode *at, struct omr_conf_errs *errs)
{
	if (d->abi_version != OMR_PLUGIN_ABI_VERSION) {
		omr_conf_error(errs, at,
			       "plugin '%s' (%s) was built for plugin ABI version %u, this omniroute "
			       "has ABI version %u: rebuild the plugin against this omniroute",
			       name, path, d->abi_version, OMR_PLUGIN_ABI_VERSION);
		return -1;
	}
	if (d->struct_size < sizeof(*d)) {
		omr_conf_error(errs, at, "plugin '%s' (%s): descriptor too small (%u < %zu bytes)",
			       name, path, d->struct_size, sizeof(*d));
		return -1;
	}
	if (!d->name || strcmp(d->name, name) != 0) {
		omr_conf_error(errs, at, "%s is plugin '%s', not '%s'", path,
			       d->name ? d->name : "(unnamed)", name);
		return -1;
	}
	if (!omr_plugin_kind_name(d->kind)) {
		omr_conf_error(errs, at, "plugin '%s': unknown kind %d", name, (int)d->kind);
		return -1;
	}
	if (!d->init || !d->free) {
		omr_conf_error(errs, at, "plugin '%s': init and free hooks are required", name);
		return -1;
	}
	if (d->kind == OMR_PLUGIN_CHANNEL && !d->send) {
		omr_conf_error(errs, at, "channel plugin '%s' has no send hook", name);
		return -1;
	}
	if (d->config_size && !d->config_keys) {
		omr_conf_error(errs, at, "plugin '%s': config_size without config_keys", name);
		return -1;
	}
	return 0;
}

void *omr_plugin_config_parse(const struct omr_plugin *p, const struct omr_ynode *node,
			      const struct omr_ynode *at, struct omr_conf_errs *errs)
{
	static const struct omr_conf_key none[] = { { NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL, NULL, NULL } };
	const struct omr_conf_key *keys = p->desc->config_keys ? p->desc->config_keys : none;
	void *cfg = omr_calloc(1, p->desc->config_size ? p->desc->config_size : 1);
	char *err = NULL;
	if (omr_conf_apply(keys, node, cfg, NULL, errs))
		goto fail;
	if (p->desc->check && p->desc->check(cfg, &err) != OMR_OK) {
		omr_conf_error(errs, node ? node : at, "plugin '%s': %s", p->name,
			       err ? err : "invalid configuration");
		free(err);
		goto fail;
	}
	return cfg;
fail:
	omr_conf_release(keys, cfg);
	free(cfg);
	return NULL;
}

void omr_plugin_config_free(const struct omr_plugin *p, void *config)
{
	if (!config)
		return;
	if (p->desc->config_keys)
		omr_conf_release(p->desc->config_keys, config);
	free(config);
}

struct omr_plugin *omr_plugin_open(const struct omr_plugin_conf *pc, struct omr_conf_errs *errs)
{
	struct omr_plugin *p = omr_calloc(1, sizeof(*p));
	const struct omr_plugin_descriptor *d;

	p->name = omr_strdup(pc->name);
	p->path = omr_strdup(pc->path);
	p->host.plugin = p;
	/* RTLD_LOCAL: plugins cannot see each other's symbols. */
	p->dl = dlopen(pc->path, RTLD_NOW | RTLD_LOCAL);
	if (!p->dl) {
		omr_conf_error(errs, pc->at, "plugin '%s': cannot load %s: %s", pc->name, pc->path,
			       dlerror());
		goto fail;
	}
	d = dlsym(p->dl, OMR_PLUGIN_SYMBOL);
	if (!d) {
		omr_conf_error(errs, pc->at,
			       "plugin '%s': %s does not export the symbol '%s' (not an omniroute "
			       "plugin?)", pc->name, pc->path, OMR_PLUGIN_SYMBOL);
		goto fail;
	}
	if (omr_plugin_check(d, pc->name, pc->path, pc->at, errs) < 0)
		goto fail;
	p->desc = d;
	p->config = omr_plugin_config_parse(p, pc->config, pc->at, errs);
	if (!p->config)
		goto fail;
	return p;
fail:
	omr_plugin_close(p);
	return NULL;
}

int omr_plugin_init(struct omr_plugin *p, const struct omr_host_api *api, struct omr_host_env *env,
		    char **err_r)
{
	char *err = NULL;
	p->host.env = env;
	p->host.in_init = 1;
	int rc = p->desc->init(api, &p->host, p->config, &p->state, &err);
	p->host.in_init = 0;
	if (rc != OMR_OK) {
		omr_err(err_r, "plugin '%s': init failed: %s", p->name, err ? err : "no reason given");
		free(err);
		return -1;
	}
	free(err);
	p->initialised = 1;
	return 0;
}

int omr_plugin_start(struct omr_plugin *p, char **err_r)
{
	char *err = NULL;
	if (!p->desc->start) {
		p->started = 1;
		return 0;
	}
	if (p->desc->start(p->state, &err) != OMR_OK) {
		omr_err(err_r, "plugin '%s': start failed: %s", p->name, err ? err : "no reason given");
		free(err);
		return -1;
	}
	free(err);
	p->started = 1;
	return 0;
}

void omr_plugin_stop(struct omr_plugin *p)
{
	if (p && p->started && p->desc->stop)
		p->desc->stop(p->state);
	if (p)
		p->started = 0;
}

void omr_plugin_unload(struct omr_plugin *p)
{
	if (!p || p->closed)
		return;
	omr_plugin_stop(p);
	/* from now on the host drops callbacks meant for the plugin */
	p->closed = 1;
	if (p->initialised)
		p->desc->free(p->state);
	p->initialised = 0;
	p->state = NULL;
	if (p->desc)
		omr_plugin_config_free(p, p->config);
	p->config = NULL;
	json_decref(p->templates);
	p->templates = NULL;
	/* The plugin's code goes last: nothing of it may run after this. */
	if (p->dl)
		dlclose(p->dl);
	p->dl = NULL;
	p->desc = NULL;
}

void omr_plugin_close(struct omr_plugin *p)
{
	if (!p)
		return;
	omr_plugin_unload(p);
	free(p->name);
	free(p->path);
	free(p);
}

/* ---- message templates ---- */

const json_t *omr_plugin_templates(const struct omr_plugin *p)
{
	return p && !p->closed ? p->templates : NULL;
}

int omr_plugin_template_render(const struct omr_plugin *p, const char *name,
			       const json_t *variables, json_t **data_r, char **text_r,
			       char **err_r)
{
	size_t i;
	json_t *t;
	*data_r = NULL;
	*text_r = NULL;
	if (!p || p->closed || !name)
		return omr_err(err_r, "this channel has no templates");
	if (p->desc->template_render && p->initialised) {
		char *err = NULL;
		if (p->desc->template_render(p->state, name, variables, data_r, text_r, &err) ==
		    OMR_OK && *data_r && *text_r)
			return OMR_OK;
		json_decref(*data_r);
		free(*text_r);
		*data_r = NULL;
		*text_r = NULL;
		omr_err(err_r, "%s", err ? err : "the template could not be made");
		free(err);
		return OMR_ERROR;
	}
	/* a plugin without variables: the template as configured */
	json_array_foreach(p->templates, i, t)
		if (strcmp(json_string_value(json_object_get(t, "name")), name) == 0) {
			if (json_object_size(variables))
				return omr_err(err_r, "template '%s' takes no variables", name);
			*data_r = json_pack("{s:{s:O,s:O}}", "template", "name", json_object_get(t, "name"),
					    "language", json_object_get(t, "language"));
			*text_r = omr_strdup(json_string_value(json_object_get(t, "text")));
			return OMR_OK;
		}
	return omr_err(err_r, "this channel has no template '%s'", name);
}
