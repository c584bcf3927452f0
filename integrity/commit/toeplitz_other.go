//go:build !amd64 || purego

package commit

const haveMulAsm = false

func toeplitzMulAsm(tab *byte, x *byte, out *[hmN / 8]byte) {
	panic("commit: internal error: toeplitzMulAsm without assembly")
}

func asmVariants() map[string]func(tab *byte, x *byte, out *[hmN / 8]byte) { return nil }
