package artemis

// The callbacks' C trampolines are in shim.go; a file with //export may only declare C.

// #include <stddef.h>
// #include <stdint.h>
import "C"

import (
	"runtime/cgo"
	"unsafe"
)

// These run on the SDK thread. They copy what C lends them and hand it on without ever
// blocking that thread: it also sends the heartbeats.

//export goArtemisWatch
func goArtemisWatch(h C.uintptr_t, p *C.uchar, n C.size_t) {
	w := cgo.Handle(h).Value().(*watchEntry)
	svc := decodeService(C.GoStringN((*C.char)(unsafe.Pointer(p)), C.int(n)))
	w.deliver(svc)
}

// goArtemisWatchView is goArtemisWatch for a client with a Lookup table: slot and gen
// name the view in the client's lookupCache (slot -1: none); p is NULL when the view is
// unchanged in the table, and the answer 1 asks for the encoding when the cache does not
// hold that generation.
//
//export goArtemisWatchView
func goArtemisWatchView(h C.uintptr_t, slot C.long, gen C.uint64_t, p *C.uchar, n C.size_t) C.int {
	w := cgo.Handle(h).Value().(*watchEntry)
	if p == nil {
		svc, _ := w.cl.views.get(int(slot), uint64(gen))
		if svc == nil {
			return 1
		}
		w.deliver(svc)
		return 0
	}
	svc := decodeService(C.GoStringN((*C.char)(unsafe.Pointer(p)), C.int(n)))
	if slot >= 0 {
		svc, _ = w.cl.views.put(int(slot), uint64(gen), svc)
	}
	w.deliver(svc)
	return 0
}

//export goArtemisRegistration
func goArtemisRegistration(h C.uintptr_t, serviceID, instanceID *C.char, state C.int) {
	cl := cgo.Handle(h).Value().(*Client)
	cl.onState(C.GoString(serviceID), C.GoString(instanceID), RegState(state))
}

//export goArtemisLog
func goArtemisLog(h C.uintptr_t, level C.int, module, message *C.char) {
	cl := cgo.Handle(h).Value().(*Client)
	select {
	case cl.logCh <- logLine{LogLevel(level), C.GoString(module), C.GoString(message)}:
	default: // the Logger lags: drop rather than stall the SDK thread
	}
}
