package artemis

import "sync"

// lookupCache holds, per slot of the client's C table (goart_lookup in shim.go), the
// *Service decoded for the slot's latest generation, so that a Lookup of an unchanged
// snapshot returns it without copying anything. The Services are shared: read-only.
type lookupCache struct {
	mu    sync.Mutex
	views []cachedView // by slot
}

type cachedView struct {
	gen uint64
	svc *Service
}

// get returns the slot's Service and its generation when that is gen or newer, else nil.
func (lc *lookupCache) get(slot int, gen uint64) (*Service, uint64) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if slot < len(lc.views) && lc.views[slot].gen >= gen {
		v := lc.views[slot]
		return v.svc, v.gen
	}
	return nil, 0
}

// put records svc as the slot's Service of generation gen unless the slot already holds
// that generation or a newer one, and returns the Service the slot then holds and its
// generation.
func (lc *lookupCache) put(slot int, gen uint64, svc *Service) (*Service, uint64) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if slot >= len(lc.views) {
		lc.views = append(lc.views, make([]cachedView, slot+1-len(lc.views))...)
	}
	if v := lc.views[slot]; v.gen >= gen && v.svc != nil {
		return v.svc, v.gen
	}
	lc.views[slot] = cachedView{gen, svc}
	return svc, gen
}

// reset drops every Service (Close): the table they belong to is gone.
func (lc *lookupCache) reset() {
	lc.mu.Lock()
	lc.views = nil
	lc.mu.Unlock()
}
