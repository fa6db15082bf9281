/*
 * Intrusive doubly linked lists, written once: any struct with `next` and `prev` pointers,
 * headed by a plain pointer to its first element (in the manner of BSD's <sys/queue.h>).
 * Macros, so one definition serves every element type. O(1) push and unlink. The _AT forms
 * name the link fields, for a struct on more than one list.
 * Thread-safety: none (the caller's).
 */
#ifndef ARTEMIS_SDK_LIST_H
#define ARTEMIS_SDK_LIST_H

#include <stddef.h>

/* Put node first in the list headed by the lvalue head. */
#define ARTEMISI_DLIST_PUSH_AT(head, node, next, prev)                                             \
    do {                                                                                           \
        (node)->prev = NULL;                                                                       \
        (node)->next = (head);                                                                     \
        if (head)                                                                                  \
            (head)->prev = (node);                                                                 \
        (head) = (node);                                                                           \
    } while (0)

/* Take node out of the list headed by the lvalue head; its links are cleared. */
#define ARTEMISI_DLIST_UNLINK_AT(head, node, next, prev)                                           \
    do {                                                                                           \
        if ((node)->prev)                                                                          \
            (node)->prev->next = (node)->next;                                                     \
        else                                                                                       \
            (head) = (node)->next;                                                                 \
        if ((node)->next)                                                                          \
            (node)->next->prev = (node)->prev;                                                     \
        (node)->next = (node)->prev = NULL;                                                        \
    } while (0)

#define ARTEMISI_DLIST_PUSH(head, node)   ARTEMISI_DLIST_PUSH_AT(head, node, next, prev)
#define ARTEMISI_DLIST_UNLINK(head, node) ARTEMISI_DLIST_UNLINK_AT(head, node, next, prev)

#endif
