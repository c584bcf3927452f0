//go:build unix

package main

import "syscall"

// detachTTY starts a new session, which has no controlling terminal. It
// fails harmlessly (and keeps the terminal) when the process already leads
// a session, as testscript's ttyin makes it.
func detachTTY() { syscall.Setsid() }
