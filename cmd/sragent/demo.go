package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) demoCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Run sragent end to end on generated batches with an in-process broker and registry",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(a.stdout, "sragent demo: not yet available; publishing to Kafka arrives with the publish work.")
			fmt.Fprintln(a.stdout, "Meanwhile: go run ./cmd/srgen --out /tmp/sr && go run ./cmd/sragent validate --config <file with input.dir: /tmp/sr>")
			return nil
		},
	}
}
