/*
 * omr_move: `omniroute -c FILE --move-site HOST:PORT` moves the site's
 * slot of a Redis Cluster (redis.cluster, redis.site) to the primary at
 * HOST:PORT while every node keeps running.
 *
 * All keys of a site share one slot, and scripts read keys they find from
 * data, so the slot cannot move key by key under live scripts as Redis'
 * own resharding does: a script could read a key already gone and write
 * half its change. Instead:
 *   1. the site's `moving` key is set on the owner: from then on every
 *      script refuses to run (MOVING; callers retry), atomically;
 *   2. the slot is marked IMPORTING on the target, MIGRATING on the owner,
 *      and every key but `moving` is MIGRATEd, 200 at a time;
 *   3. `moving` is deleted (scripts sent to the old owner now find no key
 *      there and are redirected, never run) and the slot is given to the
 *      target on both, then on every other primary;
 * the daemons follow the MOVED answers within a second. If it stops
 * half-way, the site stays paused and running it again finishes the move.
 * Synchronous (hiredis' blocking API): a command-line tool, not the loop.
 */
#ifndef OMR_MOVE_H
#define OMR_MOVE_H

#include <stdio.h>

struct omr_config;

/* 0 when the site is on `to` (moved, or already there); -1 with the
 * reason on err. Progress goes to out. */
int omr_move_site(const struct omr_config *cfg, const char *to, FILE *out, FILE *err);

#endif
