// Package cli holds what the three example programs share with the C examples they mirror
// (examples/*.c): the environment they read and the JSON line they print.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	artemis "github.com/artemis-in-c/artemis/bindings/go"
)

// Usage prints the usage line on stderr and exits 2, as the C examples do.
func Usage(args string) {
	fmt.Fprintf(os.Stderr, "usage: %s %s\n", os.Args[0], args)
	os.Exit(2)
}

// Fail prints "prog: message" on stderr and exits with status.
func Fail(prog string, status int, format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, prog+": "+format+"\n", a...)
	os.Exit(status)
}

// Config is the client configuration of the C examples: the server URL list, TLS files,
// token and (for lookup and watch) the cache directory from the environment.
func Config(serverURL string, withCache bool) artemis.Config {
	cfg := artemis.Config{
		Servers:  strings.Split(serverURL, ","),
		CAFile:   os.Getenv("ARTEMIS_CA_FILE"),
		CertFile: os.Getenv("ARTEMIS_CERT_FILE"),
		KeyFile:  os.Getenv("ARTEMIS_KEY_FILE"),
		Token:    os.Getenv("ARTEMIS_TOKEN"),
	}
	if withCache {
		cfg.CacheDir = os.Getenv("ARTEMIS_CACHE_DIR")
	}
	return cfg
}

// NewClient creates the client and maps a refused configuration to the C examples'
// messages and exit status 2; any other failure exits 1 with the library's text.
func NewClient(prog, serverURL string, cfg artemis.Config) *artemis.Client {
	c, err := artemis.NewClient(context.Background(), cfg)
	if err == nil {
		return c
	}
	var ce *artemis.ConfigError
	if errors.As(err, &ce) {
		switch ce.Field {
		case "Servers":
			Fail(prog, 2, "bad server URL '%s'", serverURL)
		case "Token":
			Fail(prog, 2, "ARTEMIS_TOKEN: not a valid token")
		case "CAFile", "CertFile", "KeyFile":
			Fail(prog, 2, "bad ARTEMIS_CA_FILE, ARTEMIS_CERT_FILE or ARTEMIS_KEY_FILE")
		}
	}
	Fail(prog, 1, "%s", Detail(err))
	return nil
}

// Detail is the library's one line for err (artemis_error_t.text), else err's text.
func Detail(err error) string {
	var ae *artemis.Error
	if errors.As(err, &ae) && ae.Detail != "" {
		return ae.Detail
	}
	return err.Error()
}

// Atoi reads a leading decimal integer like C's atoi/atoll (0 when there is none).
func Atoi(s string) int64 {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	end := 0
	if end < len(s) && (s[end] == '+' || s[end] == '-') {
		end++
	}
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.ParseInt(s[:end], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// HeartbeatFromEnv is ARTEMIS_HEARTBEAT_MS when the SDK would accept it; the C example
// ignores a value the SDK refuses, so this does too.
func HeartbeatFromEnv() time.Duration {
	v, ok := os.LookupEnv("ARTEMIS_HEARTBEAT_MS")
	if !ok {
		return 0
	}
	ms := Atoi(v)
	if ms < 500 || ms > 300000 {
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}

// Line is artemis_service_to_json's line for svc, byte for byte:
// {"serviceId":"...","instances":[{"instanceId":"...","ip":"...","port":N,"status":"..."}]}
func Line(svc *artemis.Service) string {
	var b strings.Builder
	b.WriteString(`{"serviceId":`)
	quote(&b, svc.ID)
	b.WriteString(`,"instances":[`)
	for i, in := range svc.Instances {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"instanceId":`)
		quote(&b, in.InstanceID)
		b.WriteString(`,"ip":`)
		quote(&b, in.IP)
		b.WriteString(`,"port":`)
		b.WriteString(strconv.Itoa(in.Port))
		b.WriteString(`,"status":`)
		quote(&b, in.Status)
		b.WriteByte('}')
	}
	b.WriteString("]}")
	return b.String()
}

// quote escapes like the SDK's JSON writer (not encoding/json, which escapes <, >, &,
// U+2028 and U+2029 and spells \b and \f as \u0008 and \u000c in Go 1.19).
func quote(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x80 {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n <= 1 {
				b.WriteString("\uFFFD")
				i++
				continue
			}
			b.WriteString(s[i : i+n])
			i += n
			continue
		}
		i++
		switch {
		case c >= 0x20 && c != '"' && c != '\\':
			b.WriteByte(c)
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		default:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	b.WriteByte('"')
}
