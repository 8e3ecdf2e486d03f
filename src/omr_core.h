/*
 * omr_core: the daemon's composition root. It owns every module and the
 * configuration, creates the modules from one table in one order, hands
 * each what it needs (struct omr_env and the modules it talks to), and
 * runs their lifecycle: start when Redis is first reachable, stop, settle,
 * free in reverse order. No module includes this header.
 *
 * Start-up: bind listeners and load plugins at once (so that a port in use
 * or a broken plugin fails the start), then wait for Redis; when Redis is
 * first reachable, every module starts. Reload (SIGHUP, POST
 * /api/v1/reload): build a new configuration, swap it in only if it is
 * valid as a whole. Stop (SIGTERM, SIGINT): stop taking input, let
 * accepted work finish (bounded), settle every pending callback while all
 * modules live, free, stop Redis last.
 */
#ifndef OMR_CORE_H
#define OMR_CORE_H

#include <stddef.h>

#include "omr_config.h"

struct omr_core;
struct omr_plugin;

/* Takes ownership of cfg. */
struct omr_core *omr_core_new(const char *config_path, struct omr_config *cfg);
void omr_core_free(struct omr_core *core);
/* Start and run the loop until stopped; returns the process exit code. */
int omr_core_run(struct omr_core *core);
/* Re-read the configuration; on failure the old one stays and *err_r
 * holds every error (file:line: message lines). */
int omr_core_reload(struct omr_core *core, char **err_r);
void omr_core_shutdown(struct omr_core *core, int exit_code);

/* Open every enabled plugin of cfg (dlopen + config check), for start-up
 * and for -t. Returns the number of errors added. */
int omr_core_open_plugins(const struct omr_config *cfg, struct omr_plugin ***plugins_r,
			  size_t *n_r, struct omr_conf_errs *errs);

#endif
