package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(runMain(os.Args[1:]))
}

// runMain runs the command line with SIGINT and SIGTERM cancelling the
// context: commands finish or abort their open transaction and return.
func runMain(args []string) int {
	if handled, code := maybeService(args); handled {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args, os.Stdout, os.Stderr, os.Environ())
}
