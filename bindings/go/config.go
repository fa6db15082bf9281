package artemis

// #include <stdlib.h>
// #include <artemis/artemis.h>
import "C"

import (
	"strings"
	"time"
	"unsafe"
)

// LogLevel is the level of one SDK log line (artemis_log_level_t).
type LogLevel int

// The levels of artemis_log_level_t.
const (
	LogDebug LogLevel = 0
	LogInfo  LogLevel = 1
	LogWarn  LogLevel = 2
	LogError LogLevel = 3
)

// String returns "debug", "info", "warn" or "error".
func (l LogLevel) String() string {
	switch l {
	case LogDebug:
		return "debug"
	case LogInfo:
		return "info"
	case LogWarn:
		return "warn"
	case LogError:
		return "error"
	}
	return "none"
}

// Config configures a Client. Zero values mean the SDK default (docs/sdk.md): servers
// http://127.0.0.1:8080, region and zone "default", heartbeat 5 s, request timeout 2 s,
// poll interval 60 s, no disk cache, no token, the system's CA store, no client
// certificate. The library validates every non-zero field; NewClient returns a
// *ConfigError naming the field it refused.
type Config struct {
	Servers           []string      // base URLs http(s)://host:port[/path]; failover in order
	Region, Zone      string        // this client's region and zone
	HeartbeatInterval time.Duration // 500 ms .. 300 s
	RequestTimeout    time.Duration // one HTTP call, 50 ms .. 60 s; also bounds Close
	PollInterval      time.Duration // fallback polling of watched services, 1 s .. 24 h
	CacheDir          string        // directory for disk snapshots of the discovery cache
	Token             string        // access token sent as "Authorization: Bearer"
	CAFile            string        // PEM bundle that verifies https:// servers
	CertFile          string        // client certificate (PEM chain) for --tls.verify-client
	KeyFile           string        // its key when not in CertFile; needs CertFile

	// Logger receives the SDK's log lines at level warn and above. It is called from one
	// goroutine of the client, in order; lines are dropped while it lags far behind, so the
	// SDK thread never waits for it. It must not call Close (Close waits for it). Nil: no
	// log (ARTEMIS_DEBUG=1 in the environment then makes the SDK print debug lines on
	// stderr itself).
	Logger func(level LogLevel, module, message string)
}

// newCConfig builds the C config; the caller frees it with artemis_config_free.
func newCConfig(cfg *Config) (*C.artemis_config_t, error) {
	cc := C.artemis_config_new()
	if cc == nil {
		return nil, &Error{Code: CodeNoMem, Detail: "cannot allocate the config"}
	}
	err := applyConfig(cc, cfg)
	if err != nil {
		C.artemis_config_free(cc)
		return nil, err
	}
	return cc, nil
}

func applyConfig(cc *C.artemis_config_t, cfg *Config) error {
	str := func(field, v string, set func(*C.char) C.artemis_err_t) error {
		if v == "" {
			return nil
		}
		p := C.CString(v)
		defer C.free(unsafe.Pointer(p))
		return configErr(field, v, set(p))
	}
	ms := func(field string, d time.Duration, set func(C.int64_t) C.artemis_err_t) error {
		if d == 0 {
			return nil
		}
		return configErr(field, d.String(), set(C.int64_t(d.Milliseconds())))
	}
	if len(cfg.Servers) > 0 {
		joined := strings.Join(cfg.Servers, ",")
		if joined == "" {
			return configErr("Servers", joined, C.ARTEMIS_ERR_INVALID_ARG)
		}
		if err := str("Servers", joined, func(p *C.char) C.artemis_err_t { return C.artemis_config_set_servers(cc, p) }); err != nil {
			return err
		}
	}
	steps := []func() error{
		func() error {
			return str("Region", cfg.Region, func(p *C.char) C.artemis_err_t { return C.artemis_config_set_region(cc, p) })
		},
		func() error {
			return str("Zone", cfg.Zone, func(p *C.char) C.artemis_err_t { return C.artemis_config_set_zone(cc, p) })
		},
		func() error {
			return ms("HeartbeatInterval", cfg.HeartbeatInterval, func(v C.int64_t) C.artemis_err_t {
				return C.artemis_config_set_heartbeat_interval_ms(cc, v)
			})
		},
		func() error {
			return ms("RequestTimeout", cfg.RequestTimeout, func(v C.int64_t) C.artemis_err_t {
				return C.artemis_config_set_request_timeout_ms(cc, v)
			})
		},
		func() error {
			return ms("PollInterval", cfg.PollInterval, func(v C.int64_t) C.artemis_err_t {
				return C.artemis_config_set_poll_interval_ms(cc, v)
			})
		},
		func() error {
			return str("CacheDir", cfg.CacheDir, func(p *C.char) C.artemis_err_t { return C.artemis_config_set_cache_dir(cc, p) })
		},
		func() error {
			return str("Token", cfg.Token, func(p *C.char) C.artemis_err_t { return C.artemis_config_set_token(cc, p) })
		},
		func() error {
			return str("CAFile", cfg.CAFile, func(p *C.char) C.artemis_err_t { return C.artemis_config_set_tls_ca_file(cc, p) })
		},
		func() error {
			if cfg.KeyFile != "" && cfg.CertFile == "" {
				return &ConfigError{Field: "KeyFile", Err: errInvalid("KeyFile needs CertFile")}
			}
			return str("CertFile", cfg.CertFile, func(cert *C.char) C.artemis_err_t {
				var key *C.char
				if cfg.KeyFile != "" {
					key = C.CString(cfg.KeyFile)
					defer C.free(unsafe.Pointer(key))
				}
				return C.artemis_config_set_tls_client_cert(cc, cert, key)
			})
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func configErr(field, value string, rc C.artemis_err_t) error {
	if rc == C.ARTEMIS_OK {
		return nil
	}
	detail := "invalid value"
	if field != "Token" { // never echo a secret
		detail += " " + quote(value)
	}
	return &ConfigError{Field: field, Err: &Error{Code: Code(rc), Detail: detail}}
}
