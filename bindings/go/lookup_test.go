package artemis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests of the shared Lookup views (lookupCache, goart_lookup).

func TestLookupSharesUnchangedView(t *testing.T) {
	srv := startServer(t)
	srv.register(instanceJSON("go.share.svc", "s-1", 8701, nil))
	c := newTestClient(t, Config{Servers: []string{srv.url()}})
	ctx := ctxTimeout(t, 5*time.Second)
	svc1, err := c.Lookup(ctx, "go.share.svc")
	if err != nil || join(instanceIDs(svc1.Instances)) != "s-1" {
		t.Fatalf("Lookup = %+v, %v", svc1, err)
	}
	for _, id := range []string{"go.share.svc", "GO.Share.SVC"} { // the cache folds case
		svc, err := c.Lookup(ctx, id)
		if err != nil || svc != svc1 {
			t.Fatalf("Lookup(%q) of the unchanged view = %p, %v; want the first one, %p", id, svc, err, svc1)
		}
	}
	// Unchanged: no copy at all.
	if n := testing.AllocsPerRun(100, func() { _, _ = c.Lookup(ctx, "go.share.svc") }); n != 0 {
		t.Fatalf("Lookup of an unchanged view: %v allocations, want 0", n)
	}
	// Go does not hold the generation's Service (as when the goroutine that got the
	// generation has not stored its copy yet): the unchanged snapshot is copied again, with
	// the same generation, and that copy is shared from then on.
	_, gen1, _ := c.lookup(ctx, "go.share.svc")
	c.views.reset()
	svc2, gen2, err := c.lookup(ctx, "go.share.svc")
	if err != nil || svc2 == svc1 || gen2 != gen1 || join(instanceIDs(svc2.Instances)) != "s-1" {
		t.Fatalf("lookup without the Go copy = %p gen %d, %v; want a new copy of generation %d", svc2, gen2, err, gen1)
	}
	if svc, gen, _ := c.lookup(ctx, "go.share.svc"); svc != svc2 || gen != gen1 {
		t.Fatalf("lookup after the new copy = %p gen %d, want %p", svc, gen, svc2)
	}
	svc1 = svc2
	// Pick does not touch the view.
	if _, err := c.Pick(ctx, "go.share.svc"); err != nil {
		t.Fatal(err)
	}
	if svc, _ := c.Lookup(ctx, "go.share.svc"); svc != svc1 {
		t.Fatal("Pick changed the view Lookup returns")
	}
}

func TestLookupNewViewAfterChange(t *testing.T) {
	srv := startServer(t)
	srv.register(instanceJSON("go.change.svc", "c-1", 8711, nil))
	c := newTestClient(t, Config{Servers: []string{srv.url()}})
	ch, err := c.Watch(context.Background(), "go.change.svc")
	if err != nil {
		t.Fatal(err)
	}
	w1 := waitView(t, ch, "c-1", func(s *Service) bool { return join(instanceIDs(s.Instances)) == "c-1" })
	ctx := ctxTimeout(t, 10*time.Second)
	svc1, err := c.Lookup(ctx, "go.change.svc")
	if err != nil || join(instanceIDs(svc1.Instances)) != "c-1" {
		t.Fatalf("Lookup = %+v, %v", svc1, err)
	}
	if svc1 != w1 {
		t.Fatalf("Lookup = %p, the watch delivered %p for the same snapshot", svc1, w1)
	}

	srv.register(instanceJSON("go.change.svc", "c-2", 8712, nil))
	w2 := waitView(t, ch, "c-1,c-2", func(s *Service) bool { return join(instanceIDs(s.Instances)) == "c-1,c-2" })
	svc2, err := c.Lookup(ctx, "go.change.svc")
	if err != nil {
		t.Fatal(err)
	}
	if svc2 == svc1 || join(instanceIDs(svc2.Instances)) != "c-1,c-2" {
		t.Fatalf("Lookup after the change = %p %v, want a new view with c-1,c-2 (old %p)", svc2, instanceIDs(svc2.Instances), svc1)
	}
	if svc2 != w2 {
		t.Fatalf("Lookup = %p, the watch delivered %p for the same snapshot", svc2, w2)
	}
	if join(instanceIDs(svc1.Instances)) != "c-1" {
		t.Fatalf("the earlier view changed: %v", instanceIDs(svc1.Instances))
	}
	if svc3, err := c.Lookup(ctx, "go.change.svc"); err != nil || svc3 != svc2 {
		t.Fatalf("Lookup of the unchanged new view = %p, %v; want %p", svc3, err, svc2)
	}
}

// TestLookupConcurrentWithChanges: goroutines looking up a service whose instances come and
// go never get an error, never get a generation older than one they already got, and one
// generation is always the same *Service.
func TestLookupConcurrentWithChanges(t *testing.T) {
	const id = "go.churn.svc"
	srv := startServer(t)
	srv.register(instanceJSON(id, "m-0", 8800, nil))
	c := newTestClient(t, Config{Servers: []string{srv.url()}})
	if _, err := c.Lookup(ctxTimeout(t, 5*time.Second), id); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	byGen := map[uint64]*Service{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// A watch shares the table with the goroutines; its last view ends as Lookup's.
	wch, err := c.Watch(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var watched *Service
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case ev := <-wch:
				if ev.Err != nil {
					t.Errorf("watch: %v", ev.Err)
					return
				}
				mu.Lock()
				watched = ev.Service
				mu.Unlock()
			case <-stop:
				return
			}
		}
	}()
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			sid := id
			if g%2 == 1 {
				sid = strings.ToUpper(id) // the same slot
			}
			var last uint64
			var lastSvc *Service
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				svc, gen, err := c.lookup(ctx, sid)
				cancel()
				switch {
				case err != nil:
					t.Errorf("goroutine %d lookup %d: %v", g, n, err)
					return
				case gen == 0:
					t.Errorf("goroutine %d lookup %d: no generation", g, n)
					return
				case gen < last:
					t.Errorf("goroutine %d lookup %d: generation %d after %d", g, n, gen, last)
					return
				case gen == last && svc != lastSvc:
					t.Errorf("goroutine %d lookup %d: generation %d is another *Service", g, n, gen)
					return
				case !strings.EqualFold(svc.ID, id) || len(svc.Instances) == 0:
					t.Errorf("goroutine %d lookup %d: view %+v", g, n, svc)
					return
				}
				if gen != last {
					mu.Lock()
					if prev, ok := byGen[gen]; ok && prev != svc {
						mu.Unlock()
						t.Errorf("generation %d is two *Service values", gen)
						return
					}
					byGen[gen] = svc
					mu.Unlock()
				}
				last, lastSvc = gen, svc
			}
		}(g)
	}

	// Instances come and go: m-0 stays, m-k arrives and m-(k-2) leaves.
	t0 := time.Now()
	k := 1
	for ; time.Since(t0) < 2*time.Second; k++ {
		srv.register(instanceJSON(id, fmt.Sprintf("m-%d", k), 8800+k, nil))
		if k > 2 {
			srv.postOK("/api/registry/unregister.json", map[string]interface{}{
				"instances": []interface{}{instanceJSON(id, fmt.Sprintf("m-%d", k-2), 8800+k-2, nil)}})
		}
		time.Sleep(20 * time.Millisecond)
	}
	want := fmt.Sprintf("m-0,m-%d,m-%d", k-2, k-1)
	if k-1 < 3 {
		t.Fatalf("only %d changes in 2 s", k-1)
	}
	var final *Service
	waitFor(t, 5*time.Second, "the last view ("+want+")", func() bool {
		svc, err := c.Lookup(context.Background(), id)
		final = svc
		return err == nil && join(instanceIDs(svc.Instances)) == join(sortedCopy(strings.Split(want, ",")))
	})
	waitFor(t, 5*time.Second, "the watch to deliver the last view", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return watched == final
	})
	close(stop)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(byGen) < 3 {
		t.Fatalf("the goroutines saw %d generations over %d changes", len(byGen), k-1)
	}
	t.Logf("%d changes, %d generations seen", k-1, len(byGen))
}

func TestCloseFreesLookupTable(t *testing.T) {
	srv := startServer(t)
	srv.register(instanceJSON("go.free.svc", "f-1", 8901, nil))
	before := cTablesLive()
	c := newTestClient(t, Config{Servers: []string{srv.url()}})
	if n := cTablesLive(); n != before+1 {
		t.Fatalf("%d tables live after NewClient, want %d", n, before+1)
	}
	svc, err := c.Lookup(ctxTimeout(t, 5*time.Second), "go.free.svc")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if n := cTablesLive(); n != before {
		t.Fatalf("%d tables live after Close, want %d", n, before)
	}
	if _, err := c.Lookup(context.Background(), "go.free.svc"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Lookup after Close: %v", err)
	}
	// The Service is Go memory: still readable.
	if join(instanceIDs(svc.Instances)) != "f-1" || svc.RouteRules[0].Groups[0].Instances[0].InstanceID != "f-1" {
		t.Fatalf("view after Close = %+v", svc)
	}
}

// TestLookupTableBound: the table takes 4096 ids; beyond, new ids get no slot (their views
// are copied every time) while the ids it has keep theirs.
func TestLookupTableBound(t *testing.T) {
	tab := cTableNew()
	if tab == 0 {
		t.Fatal("cTableNew: out of memory")
	}
	defer cTableFree(tab)
	for i := 0; i < 4096; i++ {
		if s := cTableSlot(tab, fmt.Sprintf("svc-%d", i)); s != i {
			t.Fatalf("slot of id %d = %d", i, s)
		}
	}
	if s := cTableSlot(tab, "one.more"); s != -1 {
		t.Fatalf("slot of the 4097th id = %d, want -1", s)
	}
	for _, i := range []int{0, 7, 8, 1000, 4095} {
		if s := cTableSlot(tab, fmt.Sprintf("svc-%d", i)); s != i {
			t.Fatalf("slot of id %d after filling = %d", i, s)
		}
	}
}
