package artemis

// #include <artemis/artemis.h>
import "C"

// LibraryVersion returns the version of the libartemis the program runs against
// (artemis_version, e.g. "0.1.0"), which may differ from the headers it was built with.
func LibraryVersion() string {
	return C.GoString(C.artemis_version())
}
