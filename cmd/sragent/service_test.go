//go:build !windows

package main

import (
	"strings"
	"testing"
)

// Off Windows the service commands say what to use instead.
func TestServiceCommandsOffWindows(t *testing.T) {
	for _, sub := range []string{"uninstall", "start", "stop", "status"} {
		res := runSragent(t, nil, "service", sub)
		if res.code != exitFailed || !strings.Contains(res.stderr, "systemd") {
			t.Errorf("service %s: exit %d %s", sub, res.code, res.stderr)
		}
	}
	if res := runSragent(t, nil, "service", "install"); res.code != exitFailed || !strings.Contains(res.stderr, "needs --config") {
		t.Errorf("service install without config: %d %s", res.code, res.stderr)
	}
}
