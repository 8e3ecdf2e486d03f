/*
 * omr_bridge: the one place where the main thread and the edge thread
 * meet. Two FIFO queues of items under a mutex; the producer pushes and
 * wakes the consumer (main -> edge: lws_cancel_service(); edge -> main:
 * event_active()) when its push made the queue non-empty: the consumer
 * always takes everything, so a wake-up already on its way covers the
 * items pushed after it. An item is owned by whoever holds it: the
 * producer until it is pushed, then the consumer, which frees it.
 *
 * Back-pressure: every edge -> main item carries its cost (payload plus
 * overhead), charged to its connection's share and to the total when it is
 * pushed. The main thread gives the cost back with a CREDIT item once it
 * is done with the item; the edge stops reading a connection while its
 * share or the total is full (see omr_edge.c).
 */
#ifndef OMR_BRIDGE_H
#define OMR_BRIDGE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

enum omr_bridge_op {
	/* edge -> main */
	OMR_BRIDGE_OPEN,
	OMR_BRIDGE_MESSAGE,
	OMR_BRIDGE_CLOSED,
	/* main -> edge */
	OMR_BRIDGE_SEND,
	OMR_BRIDGE_CLOSE,
	OMR_BRIDGE_TRUST,  /* the connection logged in or said hello */
	OMR_BRIDGE_CREDIT, /* the main thread is done with these items */
	OMR_BRIDGE_TLS,    /* new connections get this TLS context (obj, a SSL_CTX) */
};

/* Bytes of edge -> main items of one connection that the main thread has
 * consumed. */
struct omr_bridge_credit {
	uint64_t conn;
	size_t bytes;
};

struct omr_bridge_item {
	struct omr_bridge_item *next;
	enum omr_bridge_op op;
	uint64_t conn;
	int endpoint;     /* index of the websocket endpoint */
	int code;         /* close code */
	char *data;       /* message payload (NUL-terminated) or close reason */
	size_t len;
	char *ip, *origin, *user_agent; /* OPEN only */
	size_t cost;      /* edge -> main: bytes charged to the connection */
	struct omr_bridge_credit *credits; /* CREDIT only (owned) */
	size_t ncredits;
	void *obj;                  /* owned: freed with obj_free (TLS only) */
	void (*obj_free)(void *obj);
};

struct omr_bridge_queue {
	pthread_mutex_t mu;
	struct omr_bridge_item *head, *tail;
	size_t len;
};

void omr_bridge_queue_init(struct omr_bridge_queue *q);
/* Frees items still queued. */
void omr_bridge_queue_destroy(struct omr_bridge_queue *q);
/* Returns the queue length after the push: 1 when the consumer must be
 * woken. */
size_t omr_bridge_push(struct omr_bridge_queue *q, struct omr_bridge_item *it);
/* Take everything queued, in order (NULL if empty). */
struct omr_bridge_item *omr_bridge_take_all(struct omr_bridge_queue *q);
struct omr_bridge_item *omr_bridge_item_new(enum omr_bridge_op op, uint64_t conn);
void omr_bridge_item_free(struct omr_bridge_item *it);
/* What an item costs while it waits: its payload and strings, plus the
 * allocations around them. */
size_t omr_bridge_item_cost(const struct omr_bridge_item *it);

#endif
