// Package artemis is the Go binding of libartemis, the C SDK of Artemis in C: register
// the instances a program serves (with automatic heartbeats, re-registration after a
// server restart and failover) and discover the services it calls (a local cache that
// survives server outages, an optional disk snapshot, a WebSocket watch of changes and
// weighted picks over route-rule groups).
//
// It wraps the public C API only (pkg-config name "artemis") and copies everything it
// gets from C into plain Go values: a *Service or an Instance never refers to C memory
// and stays valid after the client is closed. A snapshot is copied once per client: Lookup
// returns the same *Service while the SDK's snapshot of the service is unchanged, and Watch
// delivers that same one, so a *Service is shared and must be treated as read-only.
//
// # Threads
//
// A Client runs the SDK in threaded mode: one background SDK thread with its own event
// loop. All Client and Registration methods are safe for concurrent use from any number of
// goroutines. The SDK's callbacks (registration state, watched views, log lines) run on
// the SDK thread; the binding copies their data there and hands it to goroutines through
// channels that never block that thread, so user code never runs on it.
//
// # Rules
//
//   - Close every Client: there is no finalizer. Close deregisters every instance (bounded
//     by the request timeout) and stops the SDK thread.
//   - Do not fork (syscall.ForkExec aside) after NewClient: the child would not have the
//     SDK thread. Start clients after daemonising.
//   - Blocking calls (Lookup, and Pick of a service not cached yet) wait at most until the
//     context's deadline, or the configured request timeout when it has none; a context
//     cancelled without a deadline does not interrupt them.
//
// # Errors
//
// Failed calls return an *Error carrying the library's code; test it with errors.Is and
// the sentinels (errors.Is(err, artemis.ErrUnavailable)). Config fields the library
// refuses come back as a *ConfigError naming the field.
package artemis
