// lookup SERVER_URL SERVICE_ID
//
// The Go twin of examples/lookup.c: prints the service's instances as one JSON line
//
//	{"serviceId":"...","instances":[{"instanceId":"...","ip":"...","port":N,"status":"..."}]}
//
// and exits 0; exits 1 with a message on stderr (nothing on stdout) when no server can be
// reached, unless a disk snapshot in ARTEMIS_CACHE_DIR still has the service: then that
// view is printed and stderr says how old it is. Exit 2: wrong arguments or a bad URL.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/artemis-in-c/artemis/bindings/go/internal/cli"
)

func main() {
	if len(os.Args) != 3 {
		cli.Usage("SERVER_URL SERVICE_ID")
	}
	c := cli.NewClient("lookup", os.Args[1], cli.Config(os.Args[1], true))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	svc, err := c.Lookup(ctx, os.Args[2])
	cancel()
	status := 0
	if err != nil {
		fmt.Fprintf(os.Stderr, "lookup: cannot reach %s: %s\n", os.Args[1], cli.Detail(err))
		status = 1
	} else {
		if svc.Stale {
			fmt.Fprintf(os.Stderr, "lookup: server unreachable; cached view %d ms old\n", svc.Age.Milliseconds())
		}
		fmt.Println(cli.Line(svc))
	}
	c.Close()
	os.Exit(status)
}
