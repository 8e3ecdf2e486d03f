/*
 * omr_bridge: the one place where the main thread and the edge thread
 * meet. Two FIFO queues of items under a mutex; the producer pushes and
 * wakes the consumer (main -> edge: lws_cancel_service(); edge -> main:
 * event_active()). An item is owned by whoever holds it: the producer
 * until it is pushed, then the consumer, which frees it.
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
};

struct omr_bridge_queue {
	pthread_mutex_t mu;
	struct omr_bridge_item *head, *tail;
	size_t len;
};

void omr_bridge_queue_init(struct omr_bridge_queue *q);
/* Frees items still queued. */
void omr_bridge_queue_destroy(struct omr_bridge_queue *q);
/* Returns the queue length after the push. */
size_t omr_bridge_push(struct omr_bridge_queue *q, struct omr_bridge_item *it);
/* Take everything queued, in order (NULL if empty). */
struct omr_bridge_item *omr_bridge_take_all(struct omr_bridge_queue *q);
struct omr_bridge_item *omr_bridge_item_new(enum omr_bridge_op op, uint64_t conn);
void omr_bridge_item_free(struct omr_bridge_item *it);

#endif
