package artemis

// #include <artemis/artemis.h>
import "C"

import (
	"context"
	"strings"
	"sync"
)

// RegState is the state of one registration (artemis_reg_state_t).
type RegState int

// The states of artemis_reg_state_t.
const (
	Pending      RegState = 0 // not yet confirmed by a server
	Registered   RegState = 1 // a server holds a live lease
	Failing      RegState = 2 // the last attempt failed; the SDK retries with backoff
	Unregistered RegState = 3 // deregistered: Registration.Close or Client.Close
)

// String returns "pending", "registered", "failing" or "unregistered".
func (s RegState) String() string {
	switch s {
	case Pending:
		return "pending"
	case Registered:
		return "registered"
	case Failing:
		return "failing"
	case Unregistered:
		return "unregistered"
	}
	return "unknown"
}

// Registration is one instance the client keeps registered: the SDK heartbeats it,
// re-registers it after a server restart and fails over between servers until Close.
type Registration struct {
	cl                    *Client
	serviceID, instanceID string
	key                   string

	mu      sync.Mutex
	state   RegState
	closed  bool
	changed chan struct{} // closed and replaced on every state change
}

// The SDK compares ids ignoring case (artemis_client_registration_state).
func regKey(serviceID, instanceID string) string {
	return strings.ToLower(serviceID) + "\x00" + strings.ToLower(instanceID)
}

// Register registers inst and keeps it alive. It returns at once, in state Pending; use
// Wait to block until a server holds the lease. ServiceID, InstanceID, IP and Port
// (1..65535) are required; empty optional fields keep the SDK defaults (status "up",
// protocol "http", url http://ip:port/, the client's region and zone). Registering ids
// that already have an open Registration on this client fails with ErrConflict.
func (cl *Client) Register(ctx context.Context, inst Instance) (*Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if inst.ServiceID == "" || inst.InstanceID == "" || inst.IP == "" {
		return nil, errInvalid("ServiceID, InstanceID and IP are required")
	}
	if inst.Port <= 0 || inst.Port > 65535 {
		return nil, errInvalid("Port must be 1..65535")
	}
	if !cl.enter() {
		return nil, errClosed()
	}
	defer cl.leave()
	x, err := cInstance(&inst)
	if err != nil {
		return nil, err
	}
	defer C.artemis_instance_free(x)
	r := &Registration{
		cl: cl, serviceID: inst.ServiceID, instanceID: inst.InstanceID,
		key: regKey(inst.ServiceID, inst.InstanceID), changed: make(chan struct{}),
	}
	// In the map before the SDK sees it, so that its first callback finds it.
	cl.regMu.Lock()
	if _, dup := cl.regs[r.key]; dup {
		cl.regMu.Unlock()
		return nil, &Error{Code: CodeConflict, Detail: "already registered by this client: " + inst.ServiceID + "/" + inst.InstanceID}
	}
	cl.regs[r.key] = r
	cl.regMu.Unlock()
	var e C.artemis_error_t
	if rc := C.artemis_client_register(cl.c, x, &e); rc != C.ARTEMIS_OK {
		cl.regMu.Lock()
		delete(cl.regs, r.key)
		cl.regMu.Unlock()
		return nil, errFrom(int(rc), e)
	}
	return r, nil
}

// ServiceID returns the registered service id.
func (r *Registration) ServiceID() string { return r.serviceID }

// InstanceID returns the registered instance id.
func (r *Registration) InstanceID() string { return r.instanceID }

// State returns the last state the SDK reported.
func (r *Registration) State() RegState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

// Wait blocks until a server holds the lease (state Registered) or ctx is done. It returns
// an error matching ErrClosed once the registration or its client is closed. A later
// failure does not wake it: Wait returns as soon as the state is Registered.
func (r *Registration) Wait(ctx context.Context) error {
	for {
		r.mu.Lock()
		st, closed, ch := r.state, r.closed, r.changed
		r.mu.Unlock()
		if st == Registered {
			return nil
		}
		if closed {
			return &Error{Code: CodeClosed, Detail: "registration is closed"}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close stops heartbeating the instance and unregisters it from the server (sent in the
// background, bounded by the request timeout). It is idempotent; after Client.Close it
// does nothing, since the client deregistered everything.
func (r *Registration) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.mu.Unlock()
	cl := r.cl
	cl.regMu.Lock()
	if cl.regs[r.key] == r {
		delete(cl.regs, r.key)
	}
	cl.regMu.Unlock()
	r.finish()
	if !cl.enter() {
		return nil
	}
	defer cl.leave()
	if err := cDeregister(cl.c, r.serviceID, r.instanceID); err != nil && !isClosed(err) {
		return err
	}
	return nil
}

// finish marks the registration closed and Unregistered and wakes its waiters.
func (r *Registration) finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.closed = true
	r.setLocked(Unregistered)
}

func (r *Registration) setLocked(st RegState) {
	if r.state == st {
		return
	}
	r.state = st
	close(r.changed)
	r.changed = make(chan struct{})
}

// onState runs on the SDK thread (through goArtemisRegistration).
func (cl *Client) onState(serviceID, instanceID string, st RegState) {
	cl.regMu.Lock()
	r := cl.regs[regKey(serviceID, instanceID)]
	cl.regMu.Unlock()
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// Unregistered only ever follows a Close (which set it already): a late one from a
	// deregistration of the same ids must not touch a newer Registration.
	if r.closed || st == Unregistered {
		return
	}
	r.setLocked(st)
}

func isClosed(err error) bool {
	e, ok := err.(*Error)
	return ok && e.Code == CodeClosed
}
