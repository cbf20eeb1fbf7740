//go:build !windows

package main

import "io"

func maybeService([]string) (bool, int)      { return false, 0 }
func installService(string, io.Writer) error { return errNotWindows }
func removeService() error                   { return errNotWindows }
func startService() error                    { return errNotWindows }
func stopService() error                     { return errNotWindows }
func serviceStatus() (string, error)         { return "", errNotWindows }
