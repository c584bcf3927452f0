package main

import (
	"crypto/sha256"
	"time"
)

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }

func sleep() { time.Sleep(50 * time.Millisecond) }
