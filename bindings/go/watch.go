package artemis

import (
	"context"
	"runtime/cgo"
	"strings"
)

// ServiceEvent is one delivery on a Watch channel: a new view of the service, or Err when
// the watch could not get a first view (no server reachable and nothing cached; the watch
// goes on and a view follows once a server answers).
type ServiceEvent struct {
	Service *Service
	Err     error
}

// watchEntry is the one C watch of a service id on a client (the SDK has no unwatch) and
// the Go subscribers it fans out to. Guarded by Client.watchMu.
type watchEntry struct {
	cl   *Client
	h    cgo.Handle
	last *Service // the latest view, for subscribers that come later
	subs map[*subscriber]struct{}
}

type subscriber struct {
	ch chan ServiceEvent
}

// Watch returns a channel that receives the service's current view (when one exists) and
// every later change. The channel is closed when ctx is done or the client is closed.
//
// The channel has a buffer of one and latest-wins semantics: a new view replaces one the
// receiver has not read yet, so a slow receiver skips intermediate views but always ends
// up with the latest, and the SDK thread never waits for it. The *Service values are
// shared by all subscribers of the service, and are the ones Lookup returns for the same
// snapshot: treat them as read-only.
//
// The client keeps watching the service (and keeping its cached view fresh) after the
// channel closes.
func (cl *Client) Watch(ctx context.Context, serviceID string) (<-chan ServiceEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if serviceID == "" || len(serviceID) > maxIDLen {
		return nil, errInvalid("service id must be 1..1024 bytes")
	}
	if !cl.enter() {
		return nil, errClosed()
	}
	defer cl.leave()
	key := strings.ToLower(serviceID)
	sub := &subscriber{ch: make(chan ServiceEvent, 1)}
	cl.watchMu.Lock()
	w := cl.watches[key]
	if w == nil {
		w = &watchEntry{cl: cl, subs: make(map[*subscriber]struct{})}
		w.h = cgo.NewHandle(w)
		// Holding watchMu across the call is safe: artemis_client_watch only queues a
		// command; the first callback waits for watchMu on the SDK thread.
		if err := cWatch(cl.c, cl.tab, serviceID, w.h); err != nil {
			cl.watchMu.Unlock()
			w.h.Delete()
			return nil, err
		}
		cl.watches[key] = w
	}
	w.subs[sub] = struct{}{}
	first := w.last == nil
	if !first {
		sub.ch <- ServiceEvent{Service: w.last}
	}
	cl.watchMu.Unlock()

	if first {
		go cl.firstView(w, sub, serviceID)
	}
	if ctx.Done() != nil {
		go func() {
			select {
			case <-ctx.Done():
				cl.unsubscribe(w, sub)
			case <-cl.done:
			}
		}()
	}
	return sub.ch, nil
}

// firstView tells a subscriber why no view came when the lookup the watch started fails.
func (cl *Client) firstView(w *watchEntry, sub *subscriber, serviceID string) {
	_, err := cl.Lookup(context.Background(), serviceID)
	if err == nil || isClosed(err) {
		return // the view arrives (or arrived) through the callback
	}
	cl.watchMu.Lock()
	defer cl.watchMu.Unlock()
	if _, ok := w.subs[sub]; ok && w.last == nil {
		offer(sub.ch, ServiceEvent{Err: err})
	}
}

func (cl *Client) unsubscribe(w *watchEntry, sub *subscriber) {
	cl.watchMu.Lock()
	defer cl.watchMu.Unlock()
	if _, ok := w.subs[sub]; ok {
		delete(w.subs, sub)
		close(sub.ch)
	}
}

// deliver runs on the SDK thread.
func (w *watchEntry) deliver(svc *Service) {
	w.cl.watchMu.Lock()
	defer w.cl.watchMu.Unlock()
	w.last = svc
	for sub := range w.subs {
		offer(sub.ch, ServiceEvent{Service: svc})
	}
}

// offer puts ev in ch without blocking, replacing an unread event. Callers hold watchMu,
// so there is one sender per channel at a time and the second send cannot fail.
func offer(ch chan ServiceEvent, ev ServiceEvent) {
	select {
	case ch <- ev:
		return
	default:
	}
	select {
	case <-ch:
	default:
	}
	select {
	case ch <- ev:
	default:
	}
}
