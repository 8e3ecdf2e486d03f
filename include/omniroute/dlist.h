/* omniroute/dlist.h: an intrusive doubly linked list, for the core and
 * for plugins (public: installed with plugin.h).
 *
 *   struct job { struct omr_dlink link; ... };
 *   struct omr_dlist jobs = { NULL, NULL };
 *   omr_dlist_push_tail(&jobs, &j->link);
 *   for (struct omr_dlink *l = jobs.head, *next; l; l = next) {
 *           struct job *j = OMR_DLIST_ITEM(l, struct job, link);
 *           next = l->next;      (j may be removed and freed here)
 *           ...
 *   }
 *   omr_dlist_remove(&jobs, &j->link);
 */
#ifndef OMNIROUTE_DLIST_H
#define OMNIROUTE_DLIST_H

#include <stddef.h>

/* Each element holds a struct omr_dlink, the list its two ends ({ NULL,
 * NULL } is empty). The list owns nothing: whoever removes an element frees
 * it. A link is on one list at a time; a removed link is { NULL, NULL }, and
 * removing it again (or one never pushed, zeroed) changes nothing. */
struct omr_dlink {
	struct omr_dlink *prev, *next;
};
struct omr_dlist {
	struct omr_dlink *head, *tail;
};
/* the element of type that holds link as its member */
#define OMR_DLIST_ITEM(link, type, member) \
	((type *)(void *)((char *)(link) - offsetof(type, member)))

static inline void omr_dlist_push_tail(struct omr_dlist *l, struct omr_dlink *n)
{
	n->prev = l->tail;
	n->next = NULL;
	if (l->tail)
		l->tail->next = n;
	else
		l->head = n;
	l->tail = n;
}

static inline void omr_dlist_push_head(struct omr_dlist *l, struct omr_dlink *n)
{
	n->prev = NULL;
	n->next = l->head;
	if (l->head)
		l->head->prev = n;
	else
		l->tail = n;
	l->head = n;
}

static inline void omr_dlist_remove(struct omr_dlist *l, struct omr_dlink *n)
{
	if (!n->prev && !n->next && l->head != n)
		return; /* on no list */
	if (n->prev)
		n->prev->next = n->next;
	else
		l->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		l->tail = n->prev;
	n->prev = n->next = NULL;
}

/* whether n is on l */
static inline int omr_dlist_has(const struct omr_dlist *l, const struct omr_dlink *n)
{
	return n->prev || n->next || l->head == n;
}

#endif
