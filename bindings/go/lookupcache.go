package artemis

import "sync/atomic"

// lookupCache holds, per slot of the client's C table (goart_lookup in shim.go), the
// *Service decoded for the slot's latest generation, so that a Lookup of an unchanged
// snapshot returns it without copying anything. The Services are shared: read-only.
//
// Lock-free: a Lookup of an unchanged view does two atomic loads. Slots are grouped in
// chunks allocated on first use; an entry is replaced, never modified.
type lookupCache struct {
	chunks [tableMax / viewChunkLen]atomic.Pointer[viewChunk]
}

const viewChunkLen = 64

type viewChunk [viewChunkLen]atomic.Pointer[cachedView]

type cachedView struct {
	gen uint64
	svc *Service
}

func (lc *lookupCache) entry(slot int, create bool) *atomic.Pointer[cachedView] {
	if lc == nil || slot < 0 || slot >= tableMax {
		return nil
	}
	p := &lc.chunks[slot/viewChunkLen]
	c := p.Load()
	if c == nil {
		if !create {
			return nil
		}
		p.CompareAndSwap(nil, new(viewChunk))
		c = p.Load()
	}
	return &c[slot%viewChunkLen]
}

// get returns the slot's Service and its generation when that is gen or newer, else nil.
func (lc *lookupCache) get(slot int, gen uint64) (*Service, uint64) {
	if e := lc.entry(slot, false); e != nil {
		if v := e.Load(); v != nil && v.gen >= gen {
			return v.svc, v.gen
		}
	}
	return nil, 0
}

// put records svc as the slot's Service of generation gen unless the slot already holds
// that generation or a newer one, and returns the Service the slot then holds and its
// generation.
func (lc *lookupCache) put(slot int, gen uint64, svc *Service) (*Service, uint64) {
	e := lc.entry(slot, true)
	if e == nil {
		return svc, gen
	}
	nv := &cachedView{gen, svc}
	for {
		old := e.Load()
		if old != nil && old.gen >= gen {
			return old.svc, old.gen
		}
		if e.CompareAndSwap(old, nv) {
			return svc, gen
		}
	}
}

// reset drops every Service (Close): the table they belong to is gone.
func (lc *lookupCache) reset() {
	for i := range lc.chunks {
		lc.chunks[i].Store(nil)
	}
}
