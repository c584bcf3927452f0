//go:build !unix

package commit

import "time"

func processCPU() time.Duration { return 0 }
