//go:build !purego

package commit

import "golang.org/x/sys/cpu"

// haveMulAsm is true where toeplitzMulAsm exists. Its SSE2 path needs
// nothing beyond the amd64 baseline; AVX2 is used when the processor and
// operating system support it.
const haveMulAsm = true

var useAVX2 = cpu.X86.HasAVX2

func toeplitzMulAsm(tab *byte, x *byte, out *[hmN / 8]byte) {
	if useAVX2 {
		toeplitzMulAVX2(tab, x, out)
	} else {
		toeplitzMulSSE2(tab, x, out)
	}
}

// toeplitzMulSSE2 and toeplitzMulAVX2 compute out = A·x from the table
// rows at tab, exactly as mulGeneric does, with 128- and 256-bit loads.
//
//go:noescape
func toeplitzMulSSE2(tab *byte, x *byte, out *[hmN / 8]byte)

//go:noescape
func toeplitzMulAVX2(tab *byte, x *byte, out *[hmN / 8]byte)

// asmVariants lists the assembly implementations this processor can run,
// so tests can check each against the reference whichever mul picks.
func asmVariants() map[string]func(tab *byte, x *byte, out *[hmN / 8]byte) {
	v := map[string]func(tab *byte, x *byte, out *[hmN / 8]byte){"sse2": toeplitzMulSSE2}
	if cpu.X86.HasAVX2 {
		v["avx2"] = toeplitzMulAVX2
	}
	return v
}
