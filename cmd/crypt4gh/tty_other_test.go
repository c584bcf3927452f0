//go:build !unix

package main

func detachTTY() {}
