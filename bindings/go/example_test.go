package artemis_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	artemis "github.com/artemis-in-c/artemis/bindings/go"
)

// Register this process, then call another service through Pick. (Compiled, not run: it
// needs a server.)
func Example() {
	ctx := context.Background()
	c, err := artemis.NewClient(ctx, artemis.Config{Servers: []string{"http://127.0.0.1:8080"}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	reg, err := c.Register(ctx, artemis.Instance{
		ServiceID: "orders.service", InstanceID: "orders-1", IP: "10.0.0.5", Port: 9000,
	})
	if err != nil {
		log.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := reg.Wait(wctx); err != nil {
		log.Printf("not registered yet (%v); the SDK keeps trying", err)
	}

	in, err := c.Pick(ctx, "payments.service")
	switch {
	case errors.Is(err, artemis.ErrNotFound):
		log.Print("no payments instance is up")
	case err != nil:
		log.Print(err)
	default:
		fmt.Printf("calling http://%s:%d/\n", in.IP, in.Port)
	}
}

// Follow a service's instances until the context ends.
func ExampleClient_Watch() {
	c, err := artemis.NewClient(context.Background(), artemis.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	views, err := c.Watch(ctx, "payments.service")
	if err != nil {
		log.Fatal(err)
	}
	for ev := range views { // latest-wins: a slow reader skips to the newest view
		if ev.Err != nil {
			log.Printf("no view yet: %v", ev.Err)
			continue
		}
		fmt.Println(len(ev.Service.Instances), "instances; stale:", ev.Service.Stale)
	}
}
