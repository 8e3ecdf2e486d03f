/*
 * omr_admin: the admin HTTP API (docs/admin-api.md). Loopback by default,
 * bearer token on everything but /healthz.
 */
#ifndef OMR_ADMIN_H
#define OMR_ADMIN_H

struct omr_core;
struct omr_admin;

struct omr_admin *omr_admin_new(struct omr_core *core, char **err_r);
void omr_admin_free(struct omr_admin *a);

#endif
