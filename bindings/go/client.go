package artemis

// #include <artemis/artemis.h>
import "C"

import (
	"context"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"time"
)

// Client is a started libartemis client in threaded mode. All its methods are safe for
// concurrent use. Call Close when done: there is no finalizer.
type Client struct {
	// mu is read-held around every C call on c and write-held only by Close to free it, so
	// no call can run on a freed client. closed is set first so new calls fail fast.
	mu     sync.RWMutex
	c      *C.artemis_client_t
	closed atomic.Bool
	once   sync.Once
	done   chan struct{} // closed once the SDK thread is gone
	self   cgo.Handle    // userdata of the registration and log callbacks

	// tab is the C table of the snapshots Lookup last copied (a goart_table_t, 0 if it
	// could not be allocated), freed by Close after c; views holds their Go copies.
	tab   uintptr
	views lookupCache

	regMu sync.Mutex
	regs  map[string]*Registration // by regKey

	watchMu sync.Mutex
	watches map[string]*watchEntry // by lower-case service id

	logger  func(level LogLevel, module, message string)
	logCh   chan logLine
	logDone chan struct{}
}

type logLine struct {
	level           LogLevel
	module, message string
}

// logQueue bounds the lines waiting for a slow Logger; beyond it lines are dropped.
const logQueue = 256

// NewClient creates a client from cfg and starts its SDK thread. ctx is only checked
// before starting: creating a client does no network I/O (a disk cache is loaded).
func NewClient(ctx context.Context, cfg Config) (*Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cc, err := newCConfig(&cfg)
	if err != nil {
		return nil, err
	}
	defer C.artemis_config_free(cc)
	cl := &Client{
		done:    make(chan struct{}),
		regs:    make(map[string]*Registration),
		watches: make(map[string]*watchEntry),
		logger:  cfg.Logger,
	}
	if cl.logger != nil {
		cl.logCh = make(chan logLine, logQueue)
		cl.logDone = make(chan struct{})
	}
	// Every field the callbacks read is set before the handle exists: Handle.Value
	// synchronises with NewHandle, which orders them for the SDK thread.
	cl.self = cgo.NewHandle(cl)
	if cl.logger != nil {
		if rc := cSetLogCallback(cc, cl.self); rc != C.ARTEMIS_OK {
			cl.self.Delete()
			return nil, &Error{Code: Code(rc), Detail: "cannot set the log callback"}
		}
	}
	var e C.artemis_error_t
	c := C.artemis_client_new(cc, &e)
	if c == nil {
		cl.self.Delete()
		return nil, errFrom(int(e.code), e)
	}
	if rc := cSetRegistrationCallback(c, cl.self); rc != C.ARTEMIS_OK {
		C.artemis_client_free(c)
		cl.self.Delete()
		return nil, &Error{Code: Code(rc), Detail: "cannot set the registration callback"}
	}
	if cl.logger != nil {
		go cl.logLoop()
	}
	if rc := C.artemis_client_start(c, &e); rc != C.ARTEMIS_OK {
		C.artemis_client_free(c)
		cl.self.Delete()
		if cl.logCh != nil {
			close(cl.logCh)
			<-cl.logDone
		}
		return nil, errFrom(int(rc), e)
	}
	cl.tab = cTableNew()
	cl.c = c
	return cl, nil
}

func (cl *Client) logLoop() {
	defer close(cl.logDone)
	for l := range cl.logCh {
		cl.logger(l.level, l.module, l.message)
	}
}

// Close stops the client: it deregisters every instance (bounded by the request
// timeout), stops the SDK thread, closes every Watch channel and frees the C client. It is
// idempotent and safe from any goroutine; concurrent callers return once it is done. After
// Close every method returns an error matching ErrClosed.
func (cl *Client) Close() error {
	cl.once.Do(cl.close)
	return nil
}

func (cl *Client) close() {
	cl.closed.Store(true)
	// Stop before taking mu: it joins the SDK thread, whose callbacks take regMu and
	// watchMu but never mu, and calls in flight get ErrClosed or their timeout meanwhile.
	C.artemis_client_stop(cl.c, 0)
	cl.mu.Lock()
	C.artemis_client_free(cl.c)
	cl.c = nil
	cTableFree(cl.tab)
	cl.tab = 0
	cl.views.reset()
	cl.mu.Unlock()
	close(cl.done)

	cl.watchMu.Lock()
	for _, w := range cl.watches {
		for s := range w.subs {
			close(s.ch)
		}
		w.subs = nil
		w.h.Delete()
	}
	cl.watches = nil
	cl.watchMu.Unlock()

	cl.regMu.Lock()
	for _, r := range cl.regs {
		r.finish()
	}
	cl.regs = nil
	cl.regMu.Unlock()

	cl.self.Delete()
	if cl.logCh != nil {
		close(cl.logCh)
		<-cl.logDone
	}
}

// enter read-locks the client for one C call; false (and nothing locked) once closed.
func (cl *Client) enter() bool {
	cl.mu.RLock()
	if cl.closed.Load() {
		cl.mu.RUnlock()
		return false
	}
	return true
}

func (cl *Client) leave() { cl.mu.RUnlock() }

// timeoutMS is how long a blocking SDK call may wait: until ctx's deadline, else 0 (the
// configured request timeout).
func timeoutMS(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	dl, ok := ctx.Deadline()
	if !ok {
		return 0, nil
	}
	ms := time.Until(dl).Milliseconds()
	if ms <= 0 {
		return 0, context.DeadlineExceeded
	}
	return ms, nil
}

// Lookup returns the service's view: the cached one when it is fresh, else the answer of
// a lookup that waits until ctx's deadline (the request timeout without one). When no
// server answers but a cached or disk view exists, that view is returned with Stale set.
// The service is watched and kept fresh from then on. A ctx cancelled without a deadline
// does not interrupt a lookup in flight.
//
// The *Service is shared and read-only: while the SDK's snapshot of the service is
// unchanged (an identical refresh keeps it), every Lookup of it on this client returns the
// same *Service, without copying anything, and Watch delivers that same one; a change
// makes a new one, and the old one stays as it was. Do not modify it, its slices or its
// maps; copy what you want to change. Its Age is the age when it was made. A goroutine
// never gets a view older than one it already got. A client remembers the views of up to
// 4096 service ids (ids differing only in ASCII case are one); views of further ids are
// copied on every Lookup.
func (cl *Client) Lookup(ctx context.Context, serviceID string) (*Service, error) {
	svc, _, err := cl.lookup(ctx, serviceID)
	return svc, err
}

// lookup is Lookup with the generation of the view (lookupCache; 0: not cached).
func (cl *Client) lookup(ctx context.Context, serviceID string) (*Service, uint64, error) {
	ms, err := timeoutMS(ctx)
	if err != nil {
		return nil, 0, err
	}
	if !cl.enter() {
		return nil, 0, errClosed()
	}
	defer cl.leave()
	return cLookup(cl.c, cl.tab, &cl.views, serviceID, ms)
}

// Pick returns one "up" instance chosen by the SDK's weighted round-robin over the route
// rule groups (docs/sdk.md). It uses the cached view, without I/O, and looks the service
// up (as Lookup does) only when it is not cached yet. The error matches ErrNotFound when
// no instance is up. Service ids are limited to 1024 bytes.
func (cl *Client) Pick(ctx context.Context, serviceID string) (Instance, error) {
	ms, err := timeoutMS(ctx)
	if err != nil {
		return Instance{}, err
	}
	if !cl.enter() {
		return Instance{}, errClosed()
	}
	defer cl.leave()
	return cPick(cl.c, serviceID, ms)
}
