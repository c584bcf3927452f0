package commit_test

import (
	"fmt"

	"github.com/crypt4gh-go/crypt4gh/integrity/commit"
)

func Example() {
	s := commit.Default()
	rnd := commit.NewRandomSource() // one per goroutine

	msg := []byte("chr1\t10177\tA\tAC")
	c := make([]byte, s.CommitmentSize()) // published, e.g. as a Merkle leaf
	o := make([]byte, s.OpeningSize())    // kept secret until disclosed
	if err := s.Commit(c, o, msg, rnd); err != nil {
		panic(err)
	}

	fmt.Println(s.Name(), s.Hiding())
	fmt.Println(s.Verify(c, o, msg))
	fmt.Println(s.Verify(c, o, []byte("chr1\t10177\tA\tAT")))
	// Output:
	// hm-sha256-l1540 statistical
	// true
	// false
}
