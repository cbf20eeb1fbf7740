package kafkatest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

// envChild makes a test binary a kfake broker process (see ServeChild).
const envChild = "KAFKATEST_KFAKE_CHILD"

// ServeChild turns the test binary into a broker when Process started it:
// it runs a kfake cluster of one broker that discards what it is sent
// (BlackholeProduce), prints its address, and exits when its standard
// input closes (the parent ended). Call it first in TestMain; in any other
// process it returns at once.
func ServeChild() {
	if os.Getenv(envChild) == "" {
		return
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.BlackholeProduce())
	if err != nil {
		fmt.Fprintln(os.Stderr, "kfake:", err)
		os.Exit(1)
	}
	fmt.Println(strings.Join(c.ListenAddrs(), ","))
	bufio.NewReader(os.Stdin).ReadString('\n') // until the parent goes
	c.Close()
	os.Exit(0)
}

// Process returns a kfake broker running in a process of its own (the
// test binary again, whose TestMain calls ServeChild), discarding what it
// is sent, and the registry the tier selects; it is stopped when the test
// ends. Benchmarks use it so that the process they measure (CPU time,
// resident set) is the client's alone, as it is next to a real broker.
func Process(t testing.TB) *Env {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the kfake process: %v", err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	addrs, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("read the kfake process's address: %v", err)
	}
	e := &Env{Brokers: strings.Split(strings.TrimSpace(addrs), ","), Prefix: DefaultPrefix, process: true}
	e.registry(t)
	return e
}
