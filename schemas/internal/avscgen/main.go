// Command avscgen writes the Avro key and value schema of every catalogued
// table to <out>/<Table>-key.avsc and <out>/<Table>-value.avsc. It is run by
// `go generate ./schemas`; a test in package schemas fails when the checked-in
// files differ from what the catalogue generates.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sragent/sragent/schemas"
)

func main() {
	out := flag.String("out", "avsc", "output directory")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "avscgen:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", out, err)
	}
	for _, t := range schemas.Tables() {
		files, err := schemas.Files(t)
		if err != nil {
			return err
		}
		for name, body := range files {
			if err := os.WriteFile(filepath.Join(out, name), body, 0o644); err != nil {
				return fmt.Errorf("write %s: %w", name, err)
			}
		}
	}
	return nil
}
