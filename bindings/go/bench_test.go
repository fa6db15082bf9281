package artemis

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// cachedService starts a server with a 100-instance service (i-0..i-99, ports 10000+i,
// registered in one register.json call) and a client whose cache holds its view.
func cachedService(b *testing.B) (*Client, string) {
	b.Helper()
	const id = "go.bench.svc"
	srv := startServer(b)
	insts := make([]map[string]interface{}, 100)
	for i := range insts {
		insts[i] = instanceJSON(id, fmt.Sprintf("i-%d", i), 10000+i, nil)
	}
	srv.register(insts...)
	c := newTestClient(b, Config{Servers: []string{srv.url()}})
	svc, err := c.Lookup(ctxTimeout(b, 5*time.Second), id)
	if err != nil || len(svc.Instances) != 100 {
		b.Fatalf("Lookup: %d instances, %v", len(svc.Instances), err)
	}
	return c, id
}

// benchCached times op on the cached service, from one goroutine or (parallel) from
// GOMAXPROCS goroutines sharing the client.
func benchCached(b *testing.B, parallel bool, op func(c *Client, ctx context.Context, id string) error) {
	c, id := cachedService(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	if !parallel {
		for i := 0; i < b.N; i++ {
			if err := op(c, ctx, id); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(c, ctx, id); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func pickOp(c *Client, ctx context.Context, id string) error {
	_, err := c.Pick(ctx, id)
	return err
}

func lookupOp(c *Client, ctx context.Context, id string) error {
	_, err := c.Lookup(ctx, id)
	return err
}

// BenchmarkPickCached is Pick of the cached 100-instance service: one cgo call.
func BenchmarkPickCached(b *testing.B) { benchCached(b, false, pickOp) }

// BenchmarkPickCachedParallel shows what concurrent Picks on one client cost (the read
// lock and the SDK's atomic pick counter are shared).
func BenchmarkPickCachedParallel(b *testing.B) { benchCached(b, true, pickOp) }

// BenchmarkLookupCached is Lookup of the unchanged 100-instance snapshot: the *Service
// copied by the first Lookup is returned again, nothing is copied.
func BenchmarkLookupCached(b *testing.B) { benchCached(b, false, lookupOp) }

// BenchmarkLookupCachedParallel is the same from GOMAXPROCS goroutines (they share the
// table's lock and the SDK's cache lock).
func BenchmarkLookupCachedParallel(b *testing.B) { benchCached(b, true, lookupOp) }

// BenchmarkLookupCopy is what a Lookup costs when the snapshot changed: encoding the
// 100-instance snapshot in C and decoding it into new Go values.
func BenchmarkLookupCopy(b *testing.B) {
	c, id := cachedService(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.mu.RLock()
		_, _, err := cLookup(c.c, 0, nil, id, 0) // no table: always copied
		c.mu.RUnlock()
		if err != nil {
			b.Fatal(err)
		}
		_ = ctx
	}
}
