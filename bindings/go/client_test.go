package artemis

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func newTestClient(t testing.TB, cfg Config) *Client {
	t.Helper()
	c, err := NewClient(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// nextEvent reads one event or fails after d.
func nextEvent(t *testing.T, ch <-chan ServiceEvent, d time.Duration, what string) ServiceEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatalf("watch channel closed while waiting for %s", what)
		}
		return ev
	case <-time.After(d):
		t.Fatalf("no watch event within %v (%s)", d, what)
	}
	return ServiceEvent{}
}

func TestLibraryVersion(t *testing.T) {
	if v := LibraryVersion(); !regexp.MustCompile(`^\d+\.\d+\.\d+`).MatchString(v) {
		t.Fatalf("LibraryVersion() = %q", v)
	}
}

func TestRegisterThenLookup(t *testing.T) {
	srv := startServer(t)
	c := newTestClient(t, Config{Servers: []string{srv.url()}, HeartbeatInterval: 500 * time.Millisecond})
	reg, err := c.Register(ctxTimeout(t, time.Second), Instance{
		ServiceID: "go.reg.svc", InstanceID: "go-1", IP: "127.0.0.1", Port: 9000,
		GroupID: "blue", Metadata: map[string]string{"owner": "team-go", "weight": "5"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Wait(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatalf("Wait: %v (state %v)", err, reg.State())
	}
	if st := reg.State(); st != Registered || st.String() != "registered" {
		t.Fatalf("State() = %v", st)
	}
	svc, err := c.Lookup(ctxTimeout(t, 5*time.Second), "go.reg.svc")
	if err != nil {
		t.Fatal(err)
	}
	if svc.ID != "go.reg.svc" || svc.Stale || len(svc.Instances) != 1 {
		t.Fatalf("Lookup = %+v", svc)
	}
	in := svc.Instances[0]
	want := Instance{ServiceID: "go.reg.svc", InstanceID: "go-1", IP: "127.0.0.1", Port: 9000,
		Status: "up", ZoneID: "default", RegionID: "default", GroupID: "blue", Protocol: "http",
		URL: "http://127.0.0.1:9000/"}
	got := in
	got.Metadata, got.MachineName, got.HealthCheckURL = nil, "", ""
	if !reflect.DeepEqual(got, want) || in.Metadata["owner"] != "team-go" || in.Metadata["weight"] != "5" || len(in.Metadata) != 2 {
		t.Fatalf("instance = %+v, want %+v with metadata owner=team-go weight=5", in, want)
	}
	if len(svc.RouteRules) != 1 || !svc.RouteRules[0].Derived || svc.RouteRules[0].ID != "default-route-rule" {
		t.Fatalf("route rules = %+v, want the derived default", svc.RouteRules)
	}
	if ids := srv.lookupIDs("go.reg.svc"); join(ids) != "go-1" {
		t.Fatalf("server lookup.json instances = %v, SDK = %v", ids, instanceIDs(svc.Instances))
	}

	// A second registration of the same ids on this client is refused.
	if _, err := c.Register(context.Background(), Instance{ServiceID: "GO.reg.svc", InstanceID: "go-1",
		IP: "127.0.0.1", Port: 9001}); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate Register: %v, want ErrConflict", err)
	}

	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	if reg.State() != Unregistered {
		t.Fatalf("State() after Close = %v", reg.State())
	}
	waitFor(t, 5*time.Second, "go-1 to leave the server", func() bool {
		return len(srv.lookupIDs("go.reg.svc")) == 0
	})
	if err := reg.Close(); err != nil {
		t.Fatalf("second Registration.Close: %v", err)
	}
}

func TestWatchSeesChange(t *testing.T) {
	srv := startServer(t)
	srv.register(instanceJSON("go.watch.svc", "w-1", 8001, nil))
	c := newTestClient(t, Config{Servers: []string{srv.url()}})
	ch, err := c.Watch(context.Background(), "go.watch.svc")
	if err != nil {
		t.Fatal(err)
	}
	ev := nextEvent(t, ch, 5*time.Second, "the first view")
	if ev.Err != nil || join(instanceIDs(ev.Service.Instances)) != "w-1" {
		t.Fatalf("first event = %+v", ev)
	}
	srv.register(instanceJSON("go.watch.svc", "w-2", 8002, nil))
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("watch channel closed")
			}
			if ev.Err == nil && join(instanceIDs(ev.Service.Instances)) == "w-1,w-2" {
				// A second subscriber of the same service starts from the latest view.
				ch2, err := c.Watch(context.Background(), "go.watch.svc")
				if err != nil {
					t.Fatal(err)
				}
				if ev2 := nextEvent(t, ch2, time.Second, "the second subscriber's view"); join(instanceIDs(ev2.Service.Instances)) != "w-1,w-2" {
					t.Fatalf("second subscriber got %+v", ev2)
				}
				return
			}
		case <-deadline:
			t.Fatal("no view with w-2 within 5 s")
		}
	}
}

func TestWatchContextCancelClosesChannel(t *testing.T) {
	srv := startServer(t)
	c := newTestClient(t, Config{Servers: []string{srv.url()}})
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := c.Watch(ctx, "go.cancel.svc")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.After(2 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("channel not closed 2 s after the context was cancelled")
		}
	}
}

func TestPickHonoursWeights(t *testing.T) {
	const svcID = "go.pick.svc"
	srv := startServer(t)
	srv.register(instanceJSON(svcID, "blue-1", 8101, "blue"), instanceJSON(svcID, "green-1", 8102, "green"))
	srv.releasedRule(svcID, "bluegreen", map[string]int{"blue": 80, "green": 20})

	c := newTestClient(t, Config{Servers: []string{srv.url()}})
	ch, err := c.Watch(context.Background(), svcID)
	if err != nil {
		t.Fatal(err)
	}
	var svc *Service
	for svc == nil {
		ev := nextEvent(t, ch, 5*time.Second, "a view with the 80/20 rule")
		if ev.Err == nil && len(ev.Service.RouteRules) > 0 && ev.Service.RouteRules[0].ID == "bluegreen" &&
			groupOf(ev.Service.RouteRules[0], "blue").Weight == 80 && groupOf(ev.Service.RouteRules[0], "green").Weight == 20 {
			svc = ev.Service
		}
	}
	r := svc.RouteRules[0]
	if r.Derived || r.Strategy != "weighted-round-robin" || len(r.Groups) != 2 ||
		groupOf(r, "blue").Key != svcID+"/default/default/blue" ||
		join(instanceIDs(groupOf(r, "blue").Instances)) != "blue-1" ||
		join(instanceIDs(groupOf(r, "green").Instances)) != "green-1" {
		t.Fatalf("rule = %+v", r)
	}
	// Exact over whole cycles: an identical refresh (the lookup a new watch sends, a poll)
	// keeps the snapshot, so nothing restarts the cycle in the middle of the run.
	counts := map[string]int{}
	for i := 0; i < 1000; i++ {
		in, err := c.Pick(context.Background(), svcID)
		if err != nil {
			t.Fatal(err)
		}
		counts[in.InstanceID]++
	}
	if counts["blue-1"] != 800 || counts["green-1"] != 200 || len(counts) != 2 {
		t.Fatalf("1000 picks = %v, want blue-1 800, green-1 200", counts)
	}
}

// groupOf is the rule's group whose key ends with "/"+name (the zero Group if none): the
// server keeps the groups in the order they were created.
func groupOf(r RouteRule, name string) Group {
	for _, g := range r.Groups {
		if strings.HasSuffix(g.Key, "/"+name) {
			return g
		}
	}
	return Group{}
}

func TestPickNoInstanceUp(t *testing.T) {
	srv := startServer(t)
	c := newTestClient(t, Config{Servers: []string{srv.url()}})
	_, err := c.Pick(ctxTimeout(t, 5*time.Second), "go.nobody.svc")
	var ae *Error
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &ae) || !strings.Contains(ae.Detail, "go.nobody.svc") {
		t.Fatalf("Pick of an empty service: %v, want ErrNotFound naming the service", err)
	}
}

func TestServerRestartReRegisters(t *testing.T) {
	srv := startServer(t)
	c := newTestClient(t, Config{Servers: []string{srv.url()}, HeartbeatInterval: 500 * time.Millisecond})
	reg, err := c.Register(context.Background(), Instance{ServiceID: "go.restart.svc", InstanceID: "r-1", IP: "127.0.0.1", Port: 9100})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Wait(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	srv.restart()
	t0 := time.Now()
	waitFor(t, 8*time.Second, "r-1 back in the restarted server's lookup", func() bool {
		return join(srv.lookupIDs("go.restart.svc")) == "r-1"
	})
	t.Logf("r-1 back %v after the restart", time.Since(t0).Round(10*time.Millisecond))
	if err := reg.Wait(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
}

func TestCloseWhileReadingWatch(t *testing.T) {
	srv := startServer(t)
	srv.register(instanceJSON("go.close.svc", "c-1", 8201, nil))
	c := newTestClient(t, Config{Servers: []string{srv.url()}})
	ch, err := c.Watch(context.Background(), "go.close.svc")
	if err != nil {
		t.Fatal(err)
	}
	nextEvent(t, ch, 5*time.Second, "the first view")
	closed := make(chan time.Time)
	go func() {
		for range ch {
		}
		closed <- time.Now()
	}()
	time.Sleep(100 * time.Millisecond) // the reader is blocked in the receive
	t0 := time.Now()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case at := <-closed:
		t.Logf("watch channel closed %v after Close began", at.Sub(t0).Round(time.Millisecond))
	case <-time.After(3 * time.Second):
		t.Fatal("watch channel still open 3 s after Close")
	}
}

func TestLookupFromCacheWhileServerDown(t *testing.T) {
	srv := startServer(t)
	srv.register(instanceJSON("go.cache.svc", "k-1", 8301, nil))
	dir := t.TempDir()
	cfg := Config{Servers: []string{srv.url()}, CacheDir: dir, RequestTimeout: 500 * time.Millisecond}
	c1 := newTestClient(t, cfg)
	svc, err := c1.Lookup(ctxTimeout(t, 5*time.Second), "go.cache.svc")
	if err != nil || svc.Stale || join(instanceIDs(svc.Instances)) != "k-1" {
		t.Fatalf("first Lookup = %+v, %v", svc, err)
	}
	c1.Close()
	srv.stop()

	c2 := newTestClient(t, cfg)
	svc, err = c2.Lookup(ctxTimeout(t, 3*time.Second), "go.cache.svc")
	if err != nil {
		t.Fatalf("Lookup with the server down and a disk cache: %v", err)
	}
	if !svc.Stale || join(instanceIDs(svc.Instances)) != "k-1" {
		t.Fatalf("Lookup from the disk cache = %+v, want stale k-1", svc)
	}
	if in, err := c2.Pick(context.Background(), "go.cache.svc"); err != nil || in.InstanceID != "k-1" {
		t.Fatalf("Pick from the disk cache = %+v, %v", in, err)
	}

	// Nothing cached: the SDK reports that no server answered.
	_, err = c2.Lookup(ctxTimeout(t, 3*time.Second), "go.uncached.svc")
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Lookup of an uncached service with the server down: %v, want ErrUnavailable", err)
	}
	// A watch of it says so too, and stays open.
	ch, err := c2.Watch(context.Background(), "go.uncached.svc")
	if err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, ch, 5*time.Second, "the watch's first-view error"); !errors.Is(ev.Err, ErrUnavailable) || ev.Service != nil {
		t.Fatalf("watch event with the server down = %+v, want Err matching ErrUnavailable", ev)
	}
}

func TestBadArguments(t *testing.T) {
	c := newTestClient(t, Config{Servers: []string{"http://127.0.0.1:1"}, RequestTimeout: 200 * time.Millisecond})
	ctx := context.Background()
	long := strings.Repeat("x", 1025)
	checks := []struct {
		what string
		err  error
	}{
		{"Register port 0", second(c.Register(ctx, Instance{ServiceID: "s", InstanceID: "i", IP: "127.0.0.1"}))},
		{"Register port 70000", second(c.Register(ctx, Instance{ServiceID: "s", InstanceID: "i", IP: "127.0.0.1", Port: 70000}))},
		{"Register empty service id", second(c.Register(ctx, Instance{InstanceID: "i", IP: "127.0.0.1", Port: 80}))},
		{"Register NUL in metadata", second(c.Register(ctx, Instance{ServiceID: "s", InstanceID: "i", IP: "127.0.0.1", Port: 80,
			Metadata: map[string]string{"k\x00": "v"}}))},
		{"Lookup empty id", second(c.Lookup(ctx, ""))},
		{"Lookup id over 1024 bytes", second(c.Lookup(ctx, long))},
		{"Lookup id with NUL", second(c.Lookup(ctx, "a\x00b"))},
		{"Pick empty id", second(c.Pick(ctx, ""))},
		{"Pick id over 1024 bytes", second(c.Pick(ctx, long))},
		{"Watch empty id", second(c.Watch(ctx, ""))},
		{"Watch id over 1024 bytes", second(c.Watch(ctx, long))},
	}
	for _, ck := range checks {
		if !errors.Is(ck.err, ErrInvalidArg) {
			t.Errorf("%s: %v, want ErrInvalidArg", ck.what, ck.err)
		}
	}
	for _, bad := range []struct {
		field string
		cfg   Config
	}{
		{"Servers", Config{Servers: []string{"ftp://nowhere"}}},
		{"Servers", Config{Servers: []string{""}}},
		{"HeartbeatInterval", Config{HeartbeatInterval: time.Millisecond}},
		{"RequestTimeout", Config{RequestTimeout: time.Hour}},
		{"PollInterval", Config{PollInterval: time.Millisecond}},
		{"Token", Config{Token: "has space"}},
		{"KeyFile", Config{KeyFile: "/nonexistent/key.pem"}},
	} {
		_, err := NewClient(ctx, bad.cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != bad.field || !errors.Is(err, ErrInvalidArg) {
			t.Errorf("NewClient(%+v): %v, want a ConfigError for %s matching ErrInvalidArg", bad.cfg, err, bad.field)
		}
	}
	if _, err := NewClient(ctx, Config{Token: "has space"}); err == nil || strings.Contains(err.Error(), "has space") {
		t.Errorf("a refused token must not be echoed: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

func TestCloseTwiceAndAfterClose(t *testing.T) {
	srv := startServer(t)
	c, err := NewClient(context.Background(), Config{Servers: []string{srv.url()}})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := c.Register(context.Background(), Instance{ServiceID: "go.after.svc", InstanceID: "a-1", IP: "127.0.0.1", Port: 9200})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Wait(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ { // concurrent Closes all return once it is done
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Close(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// Close deregistered the instance.
	if ids := srv.lookupIDs("go.after.svc"); len(ids) != 0 {
		t.Fatalf("server still has %v after Close", ids)
	}
	ctx := context.Background()
	for what, err := range map[string]error{
		"Lookup":   second(c.Lookup(ctx, "go.after.svc")),
		"Pick":     second(c.Pick(ctx, "go.after.svc")),
		"Watch":    second(c.Watch(ctx, "go.after.svc")),
		"Register": second(c.Register(ctx, Instance{ServiceID: "s", InstanceID: "i", IP: "127.0.0.1", Port: 80})),
		"Wait":     reg.Wait(ctx),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", what, err)
		}
	}
	if reg.State() != Unregistered {
		t.Errorf("State() after Close = %v", reg.State())
	}
	if err := reg.Close(); err != nil {
		t.Errorf("Registration.Close after Client.Close: %v", err)
	}
}

func TestErrorFormatting(t *testing.T) {
	e := &Error{Code: CodeHTTP, HTTPStatus: 503, Detail: "lookup failed"}
	if got := e.Error(); got != "artemis: HTTP error status: lookup failed (HTTP 503)" {
		t.Fatalf("Error() = %q", got)
	}
	if !errors.Is(e, ErrHTTP) || errors.Is(e, ErrTimeout) {
		t.Fatal("Is must compare codes only")
	}
	if CodeUnavailable.String() != "no server available" || Code(99).String() != "unknown error 99" {
		t.Fatal("Code.String")
	}
}

// waitView reads ch until a view satisfies ok.
func waitView(t *testing.T, ch <-chan ServiceEvent, what string, ok func(*Service) bool) *Service {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ev := nextEvent(t, ch, time.Until(deadline), what)
		if ev.Err == nil && ok(ev.Service) {
			return ev.Service
		}
	}
}

func TestLogicInstancesAndGroupTags(t *testing.T) {
	const svcID = "go.logic.svc"
	srv := startServer(t)
	srv.register(instanceJSON(svcID, "blue-1", 8401, "blue"))
	srv.mgmt("group/insert-service-instances.json", map[string]interface{}{"serviceInstances": []interface{}{
		map[string]interface{}{"serviceId": svcID, "instanceId": "vip-1", "ip": "10.0.1.1", "port": 80,
			"url": "http://10.0.1.1/", "regionId": "default", "zoneId": "default",
			"metadata": map[string]string{"kind": "vip"}},
	}})
	srv.releasedRule(svcID, "bluegreen", map[string]int{"blue": 100})
	blue := srv.groupIDs(svcID)["blue"]
	srv.mgmt("group/insert-group-instances.json", map[string]interface{}{
		"groupInstances": []interface{}{map[string]interface{}{"groupId": blue, "instanceId": "vip-1"}}})
	srv.mgmt("group/insert-group-tags.json", map[string]interface{}{
		"groupTagsList": []interface{}{map[string]interface{}{"groupId": blue, "tags": map[string]string{"owner": "team-a"}}}})

	c := newTestClient(t, Config{Servers: []string{srv.url()}})
	ch, err := c.Watch(context.Background(), svcID)
	if err != nil {
		t.Fatal(err)
	}
	svc := waitView(t, ch, "rule bluegreen with vip-1 and tags", func(s *Service) bool {
		return len(s.RouteRules) > 0 && len(s.RouteRules[0].Groups) == 1 &&
			len(s.RouteRules[0].Groups[0].Instances) == 2 && s.RouteRules[0].Groups[0].Metadata["owner"] == "team-a"
	})
	if len(svc.LogicInstances) != 1 || svc.LogicInstances[0].InstanceID != "vip-1" ||
		svc.LogicInstances[0].Metadata["kind"] != "vip" || svc.LogicInstances[0].Status != "up" {
		t.Fatalf("LogicInstances = %+v", svc.LogicInstances)
	}
	g := svc.RouteRules[0].Groups[0]
	if g.Key != svcID+"/default/default/blue" || g.Weight != 100 || g.Instances[0].InstanceID != "blue-1" ||
		g.Instances[1].InstanceID != "vip-1" || g.Instances[1].IP != "10.0.1.1" || g.Instances[1].Metadata["kind"] != "vip" {
		t.Fatalf("group = %+v", g)
	}
	// The group's copy of vip-1 does not share its map with LogicInstances.
	g.Instances[1].Metadata["kind"] = "changed"
	if svc.LogicInstances[0].Metadata["kind"] != "vip" {
		t.Fatal("a group member's Metadata aliases the LogicInstances entry")
	}
	if last := svc.RouteRules[len(svc.RouteRules)-1]; !last.Derived || len(last.Groups) != 1 ||
		join(instanceIDs(last.Groups[0].Instances)) != "blue-1" {
		t.Fatalf("derived default rule = %+v", last)
	}
}

func TestPickLargeInstance(t *testing.T) {
	// More metadata than Pick's inline buffer holds takes the second path.
	srv := startServer(t)
	inst := instanceJSON("go.big.svc", "big-1", 8501, nil)
	meta := map[string]string{}
	for i := 0; i < 20; i++ {
		meta[fmt.Sprintf("key-%02d", i)] = strings.Repeat("v", 100)
	}
	inst["metadata"] = meta
	srv.register(inst)
	c := newTestClient(t, Config{Servers: []string{srv.url()}})
	in, err := c.Pick(ctxTimeout(t, 5*time.Second), "go.big.svc")
	if err != nil {
		t.Fatal(err)
	}
	if in.InstanceID != "big-1" || in.Port != 8501 || !reflect.DeepEqual(in.Metadata, meta) {
		t.Fatalf("Pick = %+v", in)
	}
}

func TestLoggerAndFailingRegistration(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	url := fmt.Sprintf("http://127.0.0.1:%d", freePort(t)) // nobody listens there
	c := newTestClient(t, Config{Servers: []string{url}, RequestTimeout: 200 * time.Millisecond,
		Logger: func(level LogLevel, module, message string) {
			mu.Lock()
			lines = append(lines, level.String()+" "+module+" "+message)
			mu.Unlock()
		}})
	reg, err := c.Register(context.Background(), Instance{ServiceID: "go.fail.svc", InstanceID: "f-1", IP: "127.0.0.1", Port: 9300})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "state Failing", func() bool { return reg.State() == Failing })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := reg.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait without a server: %v, want context.DeadlineExceeded", err)
	}
	waitFor(t, 5*time.Second, "a warn line from the registry module", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, l := range lines {
			if strings.HasPrefix(l, "warn registry ") && strings.Contains(l, url) {
				return true
			}
		}
		return false
	})
	// Close waits for the Logger goroutine; nothing is logged after it returns.
	c.Close()
	mu.Lock()
	n := len(lines)
	mu.Unlock()
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(lines) != n {
		t.Fatalf("Logger called after Close: %v", lines[n:])
	}
}

func TestConcurrentUseDuringClose(t *testing.T) {
	srv := startServer(t)
	srv.register(instanceJSON("go.busy.svc", "b-1", 8601, nil))
	c := newTestClient(t, Config{Servers: []string{srv.url()}})
	if _, err := c.Lookup(ctxTimeout(t, 5*time.Second), "go.busy.svc"); err != nil {
		t.Fatal(err)
	}
	ok := func(err error) bool { return err == nil || errors.Is(err, ErrClosed) }
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var err error
				switch (g + i) % 4 {
				case 0:
					_, err = c.Pick(context.Background(), "go.busy.svc")
				case 1:
					_, err = c.Lookup(context.Background(), "go.busy.svc")
				case 2:
					var ch <-chan ServiceEvent
					ctx, cancel := context.WithCancel(context.Background())
					ch, err = c.Watch(ctx, "go.busy.svc")
					if err == nil {
						<-ch
					}
					cancel()
				case 3:
					var r *Registration
					r, err = c.Register(context.Background(), Instance{ServiceID: "go.busy.svc",
						InstanceID: fmt.Sprintf("r-%d-%d", g, i), IP: "127.0.0.1", Port: 9400})
					if err == nil {
						err = r.Close()
					}
				}
				if !ok(err) {
					t.Errorf("goroutine %d call %d: %v", g, i, err)
					return
				}
			}
		}(g)
	}
	time.Sleep(300 * time.Millisecond)
	t0 := time.Now()
	c.Close()
	t.Logf("Close took %v", time.Since(t0))
	close(stop)
	wg.Wait()
}
