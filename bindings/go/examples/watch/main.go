// watch SERVER_URL SERVICE_ID
//
// The Go twin of examples/watch.c: prints the lookup example's JSON line at start (when a
// view exists, from a server or ARTEMIS_CACHE_DIR) and again every time the SDK's cached
// view of the service changes, until SIGTERM or SIGINT; then exits 0. Exit 1: the client
// cannot start or watch; exit 2: wrong arguments or a bad URL.
//
// Unlike the C example, which prints from the SDK thread, it reads a Watch channel: views
// that change faster than it prints are coalesced into the latest one.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/artemis-in-c/artemis/bindings/go/internal/cli"
)

func main() {
	if len(os.Args) != 3 {
		cli.Usage("SERVER_URL SERVICE_ID")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	c := cli.NewClient("watch", os.Args[1], cli.Config(os.Args[1], true))
	views, err := c.Watch(ctx, os.Args[2])
	if err != nil {
		c.Close()
		cli.Fail("watch", 1, "%s", cli.Detail(err))
	}
	for ev := range views { // closed once ctx is done
		if ev.Err != nil {
			continue // no first view yet: like the C example, print nothing until one comes
		}
		fmt.Println(cli.Line(ev.Service))
	}
	c.Close()
}
