/*
 * omr_plugin: loading plugins (dlopen), checking their descriptor against
 * our ABI, validating their configuration against their own key table,
 * and driving their lifecycle (init, start, stop, free).
 *
 * A struct omr_plugin owns the dlopen handle, the plugin's config struct
 * and the plugin's state; omr_plugin_close() releases all three in the
 * right order (the code of the plugin is unmapped last).
 */
#ifndef OMR_PLUGIN_H
#define OMR_PLUGIN_H

#include <omniroute/plugin.h>

#include "omr_conf.h"
#include "omr_config.h"

struct omr_host_env;
struct omr_plugin;

/* What the host API functions receive as omr_host *. */
struct omr_host {
	struct omr_plugin *plugin;
	struct omr_host_env *env;  /* borrowed from the core */
	int in_init;   /* ws_register/http_route/static_mount allowed */
};

struct omr_plugin {
	char *name;
	char *path;
	void *dl;
	const struct omr_plugin_descriptor *desc;
	void *config;          /* desc->config_size bytes, keys per desc->config_keys */
	void *state;
	int initialised;
	int started;
	int closed;            /* unloaded: callbacks for it are dropped */
	struct omr_host host;
	/* what the channel allows (api->channel_policy) */
	long long reply_window_ms;   /* 0: replies always allowed */
	json_t *templates;           /* owned: [{name, language, text, variables?}] or NULL */
	size_t text_max;             /* characters; 0: limits.text_max */
	size_t public_text_max;      /* characters of a public answer; 0: text_max */
	long long reopen_ms;         /* reopen a recently closed conversation of the thread */
};

/* dlopen, check the descriptor, validate the config section. Errors go to
 * errs (file:line when the problem is in the config). */
struct omr_plugin *omr_plugin_open(const struct omr_plugin_conf *pc, struct omr_conf_errs *errs);
/* Validate a config section (node, may be NULL; at: position for errors
 * about the whole section) against an open plugin's keys and its check
 * hook into a fresh
 * struct (for reload checks); returns it or NULL. Free with
 * omr_plugin_config_free(). */
void *omr_plugin_config_parse(const struct omr_plugin *p, const struct omr_ynode *node,
			      const struct omr_ynode *at, struct omr_conf_errs *errs);
void omr_plugin_config_free(const struct omr_plugin *p, void *config);
int omr_plugin_init(struct omr_plugin *p, const struct omr_host_api *api,
		    struct omr_host_env *env, char **err_r);
int omr_plugin_start(struct omr_plugin *p, char **err_r);
void omr_plugin_stop(struct omr_plugin *p);
/* Stop, free the plugin's state and config, unmap its code; the struct
 * stays (closed) so that callbacks still on their way can see that. */
void omr_plugin_unload(struct omr_plugin *p);
/* Unload and free the struct. */
void omr_plugin_close(struct omr_plugin *p);

/* A channel's message templates (docs/plugins.md#message-templates): the
 * list agents and the outbound API choose from, each with the variables
 * it needs ([{name, language, text, variables: [{name, part, type}]}];
 * borrowed, NULL: none). */
const json_t *omr_plugin_templates(const struct omr_plugin *p);
/* Render template `name` with variables (an object of strings, may be
 * NULL): the plugin's template_render when it has one (every variable
 * checked), else the configured text with name and language. OMR_OK:
 * *data_r is the outbound message's data ({"template": ...}, owned) and
 * *text_r its text (owned); OMR_ERROR with *err_r (owned) saying why
 * ("no template 'x'", "template 'x' needs variable '1' (body text)"). */
int omr_plugin_template_render(const struct omr_plugin *p, const char *name,
			       const json_t *variables, json_t **data_r, char **text_r,
			       char **err_r);

#endif
