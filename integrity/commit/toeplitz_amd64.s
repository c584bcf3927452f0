//go:build !purego

#include "textflag.h"

// func toeplitzMulSSE2(tab *byte, x *byte, out *[32]byte)
//
// For c in 0..192: acc ^= tab[x[c]*224 + 192 - c : +32]. Two accumulator
// pairs (X0/X1 for even c, X2/X3 for odd c) keep the XOR chains short.
TEXT ·toeplitzMulSSE2(SB), NOSPLIT, $0-24
	MOVQ tab+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ out+16(FP), DX
	ADDQ $192, SI
	PXOR X0, X0
	PXOR X1, X1
	PXOR X2, X2
	PXOR X3, X3
	XORQ CX, CX

loop:
	MOVBQZX (DI)(CX*1), AX
	MOVBQZX 1(DI)(CX*1), BX
	IMULQ   $224, AX
	IMULQ   $224, BX
	SUBQ    CX, AX
	SUBQ    CX, BX
	MOVOU   (SI)(AX*1), X4
	MOVOU   16(SI)(AX*1), X5
	MOVOU   -1(SI)(BX*1), X6
	MOVOU   15(SI)(BX*1), X7
	PXOR    X4, X0
	PXOR    X5, X1
	PXOR    X6, X2
	PXOR    X7, X3
	ADDQ    $2, CX
	CMPQ    CX, $192
	JL      loop

	// c = 192, the last byte.
	MOVBQZX (DI)(CX*1), AX
	IMULQ   $224, AX
	SUBQ    CX, AX
	MOVOU   (SI)(AX*1), X4
	MOVOU   16(SI)(AX*1), X5
	PXOR    X4, X0
	PXOR    X5, X1

	PXOR  X2, X0
	PXOR  X3, X1
	MOVOU X0, (DX)
	MOVOU X1, 16(DX)
	RET

// func toeplitzMulAVX2(tab *byte, x *byte, out *[32]byte)
//
// As toeplitzMulSSE2 with one 256-bit load-and-XOR per byte of x.
TEXT ·toeplitzMulAVX2(SB), NOSPLIT, $0-24
	MOVQ tab+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ out+16(FP), DX
	ADDQ $192, SI
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	XORQ  CX, CX

loop:
	MOVBQZX (DI)(CX*1), AX
	MOVBQZX 1(DI)(CX*1), BX
	IMULQ   $224, AX
	IMULQ   $224, BX
	SUBQ    CX, AX
	SUBQ    CX, BX
	VPXOR   (SI)(AX*1), Y0, Y0
	VPXOR   -1(SI)(BX*1), Y1, Y1
	ADDQ    $2, CX
	CMPQ    CX, $192
	JL      loop

	MOVBQZX (DI)(CX*1), AX
	IMULQ   $224, AX
	SUBQ    CX, AX
	VPXOR   (SI)(AX*1), Y0, Y0
	VPXOR   Y1, Y0, Y0
	VMOVDQU Y0, (DX)
	VZEROUPPER
	RET
