/*
 * omr_env: what the core hands each module it creates. Everything in it is
 * borrowed and stays valid until the module is freed (the core frees its
 * modules in the reverse order of their creation).
 *
 * The configuration is read through omr_env_cfg() when it is needed: a
 * reload replaces it as a whole (the old one is freed right after every
 * module was told, see the reload hooks in omr_core_reload.c), so a module must
 * not keep pointers into it across callbacks unless its reload hook drops
 * them.
 */
#ifndef OMR_ENV_H
#define OMR_ENV_H

struct event_base;
struct omr_store;
struct omr_hub;
struct omr_config;

struct omr_env {
	struct event_base *base;
	struct omr_store *store;        /* Redis: keys, scripts, the commands connection */
	struct omr_hub *hub;            /* events between modules */
	const char *node_id;
	struct omr_config *const *cfg;  /* the core's slot of the current configuration */
};

static inline const struct omr_config *omr_env_cfg(const struct omr_env *env)
{
	return *env->cfg;
}

#endif
