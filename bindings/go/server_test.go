package artemis

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testServer is one artemis-server process on a free loopback port with its own data
// directory, stopped by its own PID when the test ends.
type testServer struct {
	tb      testing.TB
	bin     string
	port    int
	dataDir string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// serverBin fails (never skips) the test without a runnable server: a green run must mean
// the binding was tested against a real server.
func serverBin(tb testing.TB) string {
	tb.Helper()
	bin := os.Getenv("ARTEMIS_SERVER_BIN")
	if bin == "" {
		tb.Fatal("ARTEMIS_SERVER_BIN is not set: point it at build/bin/artemis-server (make check-bindings does)")
	}
	st, err := os.Stat(bin)
	if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		tb.Fatalf("ARTEMIS_SERVER_BIN=%s is not an executable file (%v)", bin, err)
	}
	return bin
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startServer(tb testing.TB) *testServer {
	tb.Helper()
	dir := tb.TempDir()
	s := &testServer{tb: tb, bin: serverBin(tb), dataDir: filepath.Join(dir, "data"),
		logPath: filepath.Join(dir, "server.log")}
	if err := os.Mkdir(s.dataDir, 0o755); err != nil {
		tb.Fatal(err)
	}
	var err error
	for attempt := 0; attempt < 3; attempt++ { // the port can be taken between probe and bind
		s.port = freePort(tb)
		if err = s.start(); err == nil {
			tb.Cleanup(s.stop)
			return s
		}
	}
	tb.Fatalf("artemis-server did not start: %v\n%s", err, s.logTail())
	return nil
}

func (s *testServer) start() error {
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	s.cmd = exec.Command(s.bin, fmt.Sprintf("--listen=127.0.0.1:%d", s.port),
		"--data-dir="+s.dataDir, "--log-level=warn",
		"--lease-ttl-ms=600000") // instances registered over HTTP are never heartbeated
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		_ = cmd.Wait()
		close(exited)
	}(s.cmd, s.exited)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("exited during start")
		default:
		}
		resp, err := http.Get(s.url() + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.stop()
	return fmt.Errorf("not ready after 10 s")
}

// stop sends SIGTERM to this server's PID, then SIGKILL if it has not exited in 5 s.
func (s *testServer) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// restart starts the server again on the same port with the same data directory.
func (s *testServer) restart() {
	s.tb.Helper()
	s.stop()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := s.start()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.tb.Fatalf("artemis-server did not restart on port %d: %v\n%s", s.port, err, s.logTail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (s *testServer) url() string { return fmt.Sprintf("http://127.0.0.1:%d", s.port) }

func (s *testServer) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// post sends a JSON body to path and decodes the JSON answer; HTTP errors fail the test.
func (s *testServer) post(path string, body interface{}) map[string]interface{} {
	s.tb.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		s.tb.Fatal(err)
	}
	resp, err := http.Post(s.url()+path, "application/json", bytes.NewReader(raw))
	if err != nil {
		s.tb.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		s.tb.Fatalf("POST %s -> HTTP %d %s", path, resp.StatusCode, text)
	}
	var out map[string]interface{}
	if err := json.Unmarshal(text, &out); err != nil {
		s.tb.Fatalf("POST %s: %v in %s", path, err, text)
	}
	return out
}

// postOK is post, asserting responseStatus success.
func (s *testServer) postOK(path string, body interface{}) map[string]interface{} {
	s.tb.Helper()
	out := s.post(path, body)
	rs, _ := out["responseStatus"].(map[string]interface{})
	if rs["status"] != "success" {
		raw, _ := json.Marshal(body)
		s.tb.Fatalf("POST %s %s: responseStatus %v", path, raw, out["responseStatus"])
	}
	return out
}

// instanceJSON is a complete Instance as a Java client sends it (tests/integration/lib/
// util.py instance()), in the server's default region and zone.
func instanceJSON(serviceID, instanceID string, port int, groupID interface{}) map[string]interface{} {
	return map[string]interface{}{
		"groupId": groupID, "healthCheckUrl": nil, "instanceId": instanceID, "ip": "127.0.0.1",
		"machineName": nil, "metadata": nil, "port": port, "protocol": "http",
		"regionId": "default", "serviceId": serviceID, "status": "up",
		"url": fmt.Sprintf("http://127.0.0.1:%d/%s", port, instanceID), "zoneId": "default",
	}
}

func (s *testServer) register(insts ...map[string]interface{}) {
	s.tb.Helper()
	s.postOK("/api/registry/register.json", map[string]interface{}{"instances": insts})
}

// lookupIDs asks the server itself (not the SDK) for the service's instance ids, sorted.
func (s *testServer) lookupIDs(serviceID string) []string {
	s.tb.Helper()
	out := s.postOK("/api/discovery/lookup.json", map[string]interface{}{
		"discoveryConfigs": []interface{}{map[string]interface{}{"serviceId": serviceID}},
		"regionId":         "default", "zoneId": "default",
	})
	svcs, _ := out["services"].([]interface{})
	if len(svcs) != 1 {
		s.tb.Fatalf("lookup.json services: %v", out["services"])
	}
	insts, _ := svcs[0].(map[string]interface{})["instances"].([]interface{})
	ids := []string{}
	for _, x := range insts {
		ids = append(ids, x.(map[string]interface{})["instanceId"].(string))
	}
	return sortedCopy(ids)
}

func sortedCopy(ids []string) []string {
	out := append([]string(nil), ids...)
	sort.Strings(out)
	return out
}

func instanceIDs(insts []Instance) []string {
	ids := make([]string, 0, len(insts))
	for _, in := range insts {
		ids = append(ids, in.InstanceID)
	}
	return sortedCopy(ids)
}

func join(ids []string) string { return strings.Join(ids, ",") }

// waitFor polls cond every 50 ms until it holds or timeout passes.
func waitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mgmt posts to a management path with the operation context every write needs
// (docs/management.md) and asserts success.
func (s *testServer) mgmt(path string, body map[string]interface{}) map[string]interface{} {
	s.tb.Helper()
	for k, v := range map[string]interface{}{"operation": "go-test", "operatorId": "go-test", "token": "t"} {
		body[k] = v
	}
	return s.postOK("/api/management/"+path, body)
}

// groupIDs maps the service's group names to their ids.
func (s *testServer) groupIDs(serviceID string) map[string]interface{} {
	s.tb.Helper()
	out := s.postOK("/api/management/group/get-groups.json", map[string]interface{}{"serviceId": serviceID})
	ids := map[string]interface{}{}
	for _, g := range out["groups"].([]interface{}) {
		m := g.(map[string]interface{})
		ids[m["name"].(string)] = m["groupId"]
	}
	return ids
}

// releasedRule creates route rule name over groups (name -> weight) in the default region
// and zone, and releases the weights so that clients see them.
func (s *testServer) releasedRule(serviceID, name string, weights map[string]int) {
	s.tb.Helper()
	var groups []interface{}
	for g, w := range weights { // in map order: the tests find groups by key, not position
		groups = append(groups, map[string]interface{}{"serviceId": serviceID, "regionId": "default",
			"zoneId": "default", "name": g, "appId": "go", "status": "active", "weight": w})
	}
	s.mgmt("group/create-route-rule.json", map[string]interface{}{
		"routeRule": map[string]interface{}{"serviceId": serviceID, "name": name, "status": "active",
			"strategy": "weighted-round-robin", "description": "go"},
		"groups": groups,
	})
	rules := s.postOK("/api/management/group/get-route-rules.json", map[string]interface{}{"serviceId": serviceID})
	var ruleID interface{}
	for _, r := range rules["routeRules"].([]interface{}) {
		if m := r.(map[string]interface{}); m["name"] == name {
			ruleID = m["routeRuleId"]
		}
	}
	var release []interface{}
	for _, id := range s.groupIDs(serviceID) {
		release = append(release, map[string]interface{}{"routeRuleId": ruleID, "groupId": id})
	}
	s.mgmt("group/release-route-rule-groups.json", map[string]interface{}{"routeRuleGroups": release})
}
