// register SERVER_URL SERVICE_ID INSTANCE_ID PORT
//
// The Go twin of examples/register.c: registers one instance (ip 127.0.0.1 unless
// ARTEMIS_IP is set), keeps it alive with the SDK's auto-heartbeat, prints "registered"
// once a server holds the lease, runs until SIGTERM or SIGINT, then deregisters and exits
// 0. Exit 1: the client could not be created or started; exit 2: wrong arguments, a bad
// server URL, bad TLS files or token, or bad instance arguments.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	artemis "github.com/artemis-in-c/artemis/bindings/go"
	"github.com/artemis-in-c/artemis/bindings/go/internal/cli"
)

func main() {
	if len(os.Args) != 5 {
		cli.Usage("SERVER_URL SERVICE_ID INSTANCE_ID PORT")
	}
	ip := os.Getenv("ARTEMIS_IP")
	if ip == "" {
		ip = "127.0.0.1"
	}
	// Signals are caught from here on, so a SIGTERM during start-up still deregisters.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	cfg := cli.Config(os.Args[1], false)
	cfg.HeartbeatInterval = cli.HeartbeatFromEnv()
	c := cli.NewClient("register", os.Args[1], cfg)
	reg, err := c.Register(ctx, artemis.Instance{
		ServiceID: os.Args[2], InstanceID: os.Args[3], IP: ip, Port: int(cli.Atoi(os.Args[4])),
	})
	if err != nil {
		c.Close()
		if errors.Is(err, artemis.ErrInvalidArg) {
			cli.Fail("register", 2, "bad instance arguments")
		}
		cli.Fail("register", 1, "%s", cli.Detail(err))
	}
	if reg.Wait(ctx) == nil {
		fmt.Println("registered")
	}
	<-ctx.Done()
	c.Close() // deregisters, bounded by the request timeout
}
