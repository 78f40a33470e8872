/* SPDX-License-Identifier: MIT */

#include <errno.h>

#include "conn.h"

static void timer_list_arm(TimerList *t) {
        if (!t->first) {
                sd_event_source_set_enabled(t->source, SD_EVENT_OFF);
                return;
        }
        sd_event_source_set_time(t->source, t->first->deadline);
        sd_event_source_set_enabled(t->source, SD_EVENT_ONESHOT);
}

static void timer_unlink(Conn *c) {
        TimerList *t;

        if (c->timer_kind == TIMER_NONE)
                return;
        t = &c->server->timers[c->timer_kind];
        if (c->timer_prev)
                c->timer_prev->timer_next = c->timer_next;
        else
                t->first = c->timer_next;
        if (c->timer_next)
                c->timer_next->timer_prev = c->timer_prev;
        else
                t->last = c->timer_prev;
        c->timer_prev = c->timer_next = NULL;
        c->timer_kind = TIMER_NONE;
        /* The list's timer is re-armed lazily when it fires: a deadline that
         * comes too early finds nothing expired and re-arms. */
}

/* Puts c at the end of the list for kind with a fresh deadline (TIMER_NONE:
 * no deadline). Called on every state change and on progress. */
void timer_set(Conn *c, TimerKind kind) {
        TimerList *t;
        bool was_empty;
        uint64_t now;

        timer_unlink(c);
        if (kind == TIMER_NONE)
                return;
        t = &c->server->timers[kind];
        sd_event_now(c->server->event, CLOCK_MONOTONIC, &now);
        c->deadline = now + t->timeout_usec;
        c->timer_kind = kind;
        c->timer_prev = t->last;
        if (t->last)
                t->last->timer_next = c;
        else
                t->first = c;
        t->last = c;
        was_empty = c->timer_prev == NULL;
        if (was_empty)
                timer_list_arm(t);
}

static int timer_fired(sd_event_source *source, uint64_t usec, void *userdata) {
        TimerList *t = userdata;
        Server *s;
        TimerKind kind;

        if (!t->first)
                return 0;
        s = t->first->server;
        kind = t - s->timers;
        while (t->first && t->first->deadline <= usec) {
                Conn *c = t->first;

                timer_unlink(c);
                conn_timeout(c, kind);
        }
        timer_list_arm(t);
        return 0;
}

int timers_init(Server *s, const uint64_t timeouts_usec[_TIMER_MAX]) {
        int r;

        for (int k = 0; k < _TIMER_MAX; k++) {
                TimerList *t = &s->timers[k];

                t->timeout_usec = timeouts_usec[k];
                /* Accuracy of a tenth of the timeout lets the kernel batch
                 * wake-ups; these are limits, not appointments. */
                r = sd_event_add_time(s->event, &t->source, CLOCK_MONOTONIC, UINT64_MAX,
                                      t->timeout_usec / 10, timer_fired, t);
                if (r < 0)
                        return r;
                sd_event_source_set_enabled(t->source, SD_EVENT_OFF);
        }
        return 0;
}

void timers_done(Server *s) {
        for (int k = 0; k < _TIMER_MAX; k++)
                s->timers[k].source = sd_event_source_disable_unref(s->timers[k].source);
}
