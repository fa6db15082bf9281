package artemis

// #include <artemis/artemis.h>
import "C"

import (
	"strconv"
	"syscall"
)

// Code is a libartemis error code (artemis_err_t). Codes are append-only and keep the C
// numbers, so a Code can be compared with the C documentation.
type Code int

// The codes of artemis_err_t.
const (
	CodeOK          Code = 0  // success
	CodeNoMem       Code = 1  // an allocation failed
	CodeInvalidArg  Code = 2  // a NULL, empty, out-of-range or malformed argument
	CodeIO          Code = 3  // network or file I/O failed
	CodeTimeout     Code = 4  // no answer within the configured time
	CodeProtocol    Code = 5  // the server's answer could not be understood
	CodeHTTP        Code = 6  // the server answered an HTTP status >= 400
	CodeNotFound    Code = 7  // no such service / instance / file
	CodeConflict    Code = 8  // already registered / already started
	CodeClosed      Code = 9  // the client was stopped
	CodeState       Code = 10 // not allowed now
	CodeServer      Code = 11 // the server answered with a failure responseStatus
	CodeUnavailable Code = 12 // no server could be reached; data may be stale
)

// Kept in Go (the same text as artemis_strerror) so that formatting an error never needs
// a cgo call.
var codeText = [...]string{
	"success", "out of memory", "invalid argument", "I/O error", "timed out", "protocol error",
	"HTTP error status", "not found", "conflict", "client stopped", "not allowed in this state",
	"server reported a failure", "no server available",
}

// String returns the library's static message for the code.
func (c Code) String() string {
	if c >= 0 && int(c) < len(codeText) {
		return codeText[c]
	}
	return "unknown error " + strconv.Itoa(int(c))
}

// Error is a failed libartemis call: the code plus the detail of artemis_error_t.
type Error struct {
	Code       Code   // what failed; compare with errors.Is and the Err* sentinels
	HTTPStatus int    // the HTTP status when the server answered one, else 0
	Errno      int    // errno when a system call failed, else 0
	Detail     string // one line from the library (or the binding), may be empty
}

// Error formats the code and, when present, the detail, HTTP status and errno.
func (e *Error) Error() string {
	msg := "artemis: " + e.Code.String()
	if e.Detail != "" && e.Detail != e.Code.String() {
		msg += ": " + e.Detail
	}
	if e.HTTPStatus != 0 {
		msg += " (HTTP " + strconv.Itoa(e.HTTPStatus) + ")"
	}
	if e.Errno != 0 {
		msg += " (" + syscall.Errno(e.Errno).Error() + ")"
	}
	return msg
}

// Is reports whether target is an *Error with the same Code, so that
// errors.Is(err, artemis.ErrTimeout) matches every timeout whatever its detail.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinels for errors.Is, one per code. Never modify them.
var (
	ErrNoMem       = &Error{Code: CodeNoMem}
	ErrInvalidArg  = &Error{Code: CodeInvalidArg}
	ErrIO          = &Error{Code: CodeIO}
	ErrTimeout     = &Error{Code: CodeTimeout}
	ErrProtocol    = &Error{Code: CodeProtocol}
	ErrHTTP        = &Error{Code: CodeHTTP}
	ErrNotFound    = &Error{Code: CodeNotFound}
	ErrConflict    = &Error{Code: CodeConflict}
	ErrClosed      = &Error{Code: CodeClosed}
	ErrState       = &Error{Code: CodeState}
	ErrServer      = &Error{Code: CodeServer}
	ErrUnavailable = &Error{Code: CodeUnavailable}
)

// ConfigError says which Config field the library refused. It unwraps to the *Error
// (usually ErrInvalidArg).
type ConfigError struct {
	Field string // the Config field name, e.g. "Servers"
	Err   error
}

// Error names the field and the library's reason.
func (e *ConfigError) Error() string {
	return "artemis: config " + e.Field + ": " + e.Err.Error()
}

// Unwrap returns the underlying *Error.
func (e *ConfigError) Unwrap() error { return e.Err }

// errFrom turns a C code and its detail into an *Error. e is taken by value so that the
// callers' result structs stay on the stack.
func errFrom(code int, e C.artemis_error_t) error {
	n := 0
	for n < len(e.text) && e.text[n] != 0 {
		n++
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(e.text[i])
	}
	return &Error{Code: Code(code), HTTPStatus: int(e.http_status), Errno: int(e.sys_errno), Detail: string(b)}
}

func errClosed() error {
	return &Error{Code: CodeClosed, Detail: "client is closed"}
}

func errInvalid(detail string) error {
	return &Error{Code: CodeInvalidArg, Detail: detail}
}

func quote(s string) string { return strconv.Quote(s) }
