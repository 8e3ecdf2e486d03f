/*
 * omr_bridge: see omr_bridge.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_bridge.h"
#include "omr_util.h"

void omr_bridge_queue_init(struct omr_bridge_queue *q)
{
	pthread_mutex_init(&q->mu, NULL);
	q->head = q->tail = NULL;
	q->len = 0;
}

void omr_bridge_queue_destroy(struct omr_bridge_queue *q)
{
	struct omr_bridge_item *it = omr_bridge_take_all(q);
	while (it) {
		struct omr_bridge_item *next = it->next;
		omr_bridge_item_free(it);
		it = next;
	}
	pthread_mutex_destroy(&q->mu);
}

size_t omr_bridge_push(struct omr_bridge_queue *q, struct omr_bridge_item *it)
{
	size_t len;
	it->next = NULL;
	pthread_mutex_lock(&q->mu);
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	len = ++q->len;
	pthread_mutex_unlock(&q->mu);
	return len;
}

struct omr_bridge_item *omr_bridge_take_all(struct omr_bridge_queue *q)
{
	struct omr_bridge_item *it;
	pthread_mutex_lock(&q->mu);
	it = q->head;
	q->head = q->tail = NULL;
	q->len = 0;
	pthread_mutex_unlock(&q->mu);
	return it;
}

struct omr_bridge_item *omr_bridge_item_new(enum omr_bridge_op op, uint64_t conn)
{
	struct omr_bridge_item *it = omr_calloc(1, sizeof(*it));
	it->op = op;
	it->conn = conn;
	it->endpoint = -1;
	return it;
}

void omr_bridge_item_free(struct omr_bridge_item *it)
{
	if (!it)
		return;
	free(it->data);
	free(it->ip);
	free(it->origin);
	free(it->user_agent);
	free(it->credits);
	if (it->obj && it->obj_free)
		it->obj_free(it->obj);
	free(it);
}

/* malloc's own overhead per allocation, roughly (glibc: 16 bytes of header,
 * 16-byte granularity); without it a flood of 1-byte messages would cost
 * several times what it is charged. */
#define OMR_BRIDGE_ALLOC_OVERHEAD 32

static size_t omr_bridge_str_cost(const char *s)
{
	return s ? strlen(s) + 1 + OMR_BRIDGE_ALLOC_OVERHEAD : 0;
}

size_t omr_bridge_item_cost(const struct omr_bridge_item *it)
{
	size_t n = sizeof(*it) + OMR_BRIDGE_ALLOC_OVERHEAD;
	if (it->data) /* allocated to fit: len + 1 */
		n += it->len + 1 + OMR_BRIDGE_ALLOC_OVERHEAD;
	return n + omr_bridge_str_cost(it->ip) + omr_bridge_str_cost(it->origin) +
	       omr_bridge_str_cost(it->user_agent);
}
