//go:build !windows

package main

func maybeService([]string) (bool, int) { return false, 0 }
func installService(string) error       { return errNotWindows }
func removeService() error              { return errNotWindows }
func startService() error               { return errNotWindows }
func stopService() error                { return errNotWindows }
func serviceStatus() (string, error)    { return "", errNotWindows }
