//go:build amd64 && !purego

#include "textflag.h"

// AVX2 twins of DotRef and dotQ8Generic (see reduce.go, backend.go). Lane j
// of the fixed order is lane j%8 of accumulator j/8; every product is
// rounded before it is added (VMULPS then VADDPS, never a fused op).
//
// Operand order matters for NaN payloads: when both sources are NaN, x86
// returns the first source (quieted). The orders below copy what gc emits
// for the reference: a·b with a first, then product + partial with the
// product first; v + partial with v first in Q8; p[j] + p[j+off] in the
// tree. In Plan 9 syntax the first source is the operand before the
// destination.

// 32 all-ones dwords then 32 zeros: the 8 dwords at maskTail<>+4*(32-r+8i)
// select the lanes of register i below r.
DATA maskTail<>+0x00(SB)/8, $-1
DATA maskTail<>+0x08(SB)/8, $-1
DATA maskTail<>+0x10(SB)/8, $-1
DATA maskTail<>+0x18(SB)/8, $-1
DATA maskTail<>+0x20(SB)/8, $-1
DATA maskTail<>+0x28(SB)/8, $-1
DATA maskTail<>+0x30(SB)/8, $-1
DATA maskTail<>+0x38(SB)/8, $-1
DATA maskTail<>+0x40(SB)/8, $-1
DATA maskTail<>+0x48(SB)/8, $-1
DATA maskTail<>+0x50(SB)/8, $-1
DATA maskTail<>+0x58(SB)/8, $-1
DATA maskTail<>+0x60(SB)/8, $-1
DATA maskTail<>+0x68(SB)/8, $-1
DATA maskTail<>+0x70(SB)/8, $-1
DATA maskTail<>+0x78(SB)/8, $-1
DATA maskTail<>+0x80(SB)/8, $0
DATA maskTail<>+0x88(SB)/8, $0
DATA maskTail<>+0x90(SB)/8, $0
DATA maskTail<>+0x98(SB)/8, $0
DATA maskTail<>+0xa0(SB)/8, $0
DATA maskTail<>+0xa8(SB)/8, $0
DATA maskTail<>+0xb0(SB)/8, $0
DATA maskTail<>+0xb8(SB)/8, $0
DATA maskTail<>+0xc0(SB)/8, $0
DATA maskTail<>+0xc8(SB)/8, $0
DATA maskTail<>+0xd0(SB)/8, $0
DATA maskTail<>+0xd8(SB)/8, $0
DATA maskTail<>+0xe0(SB)/8, $0
DATA maskTail<>+0xe8(SB)/8, $0
DATA maskTail<>+0xf0(SB)/8, $0
DATA maskTail<>+0xf8(SB)/8, $0
GLOBL maskTail<>(SB), RODATA|NOPTR, $256

// TREE combines the partials in Y0..Y3 (lanes 0-7, 8-15, 16-23, 24-31) by
// p[j] += p[j+off], off = 16, 8, 4, 2, 1, leaving the result in X0.
#define TREE \
	VADDPS       Y2, Y0, Y0; \
	VADDPS       Y3, Y1, Y1; \
	VADDPS       Y1, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS       X1, X0, X0; \
	VMOVHLPS     X0, X0, X1; \
	VADDPS       X1, X0, X0; \
	VMOVSHDUP    X0, X1; \
	VADDSS       X1, X0, X0

// DOTBLOCK adds the products of one block of 32 at a(SI), b(DI) into the
// accumulators acc0..acc3 (scratch Y4..Y7).
#define DOTBLOCK(off, acc0, acc1, acc2, acc3) \
	VMOVUPS off+0(SI), Y4; \
	VMOVUPS off+32(SI), Y5; \
	VMOVUPS off+64(SI), Y6; \
	VMOVUPS off+96(SI), Y7; \
	VMULPS  off+0(DI), Y4, Y4; \
	VMULPS  off+32(DI), Y5, Y5; \
	VMULPS  off+64(DI), Y6, Y6; \
	VMULPS  off+96(DI), Y7, Y7; \
	VADDPS  acc0, Y4, acc0; \
	VADDPS  acc1, Y5, acc1; \
	VADDPS  acc2, Y6, acc2; \
	VADDPS  acc3, Y7, acc3

// DOTMASKED adds the products of the r = CX (1..31) elements at a(SI),
// b(DI) into lanes 0..r-1 of Y0..Y3. Masked-out lanes load +0 and add
// +0·+0 = +0, which leaves a partial unchanged: partials start at +0 and a
// sum is -0 only when both addends are, so no partial is ever -0. Masked
// loads do not fault past the end of the slices.
#define DOTMASKED \
	MOVQ       CX, AX; \
	SHLQ       $2, AX; \
	LEAQ       maskTail<>+128(SB), DX; \
	SUBQ       AX, DX; \
	VMOVDQU    0(DX), Y8; \
	VMOVDQU    32(DX), Y9; \
	VMOVDQU    64(DX), Y10; \
	VMOVDQU    96(DX), Y11; \
	VMASKMOVPS 0(SI), Y8, Y4; \
	VMASKMOVPS 32(SI), Y9, Y5; \
	VMASKMOVPS 64(SI), Y10, Y6; \
	VMASKMOVPS 96(SI), Y11, Y7; \
	VMASKMOVPS 0(DI), Y8, Y12; \
	VMASKMOVPS 32(DI), Y9, Y13; \
	VMASKMOVPS 64(DI), Y10, Y14; \
	VMASKMOVPS 96(DI), Y11, Y15; \
	VMULPS     Y12, Y4, Y4; \
	VMULPS     Y13, Y5, Y5; \
	VMULPS     Y14, Y6, Y6; \
	VMULPS     Y15, Y7, Y7; \
	VADDPS     Y0, Y4, Y0; \
	VADDPS     Y1, Y5, Y1; \
	VADDPS     Y2, Y6, Y2; \
	VADDPS     Y3, Y7, Y3

// func dotAVX2(a, b *float32, n int) float32
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ   a+0(FP), SI
	MOVQ   b+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ   CX, BX
	SHRQ   $5, BX
	JZ     tail

	// Two blocks per iteration; each lane still adds in increasing k.
	SHRQ $1, BX
	JZ   odd

pair:
	DOTBLOCK(0, Y0, Y1, Y2, Y3)
	DOTBLOCK(128, Y0, Y1, Y2, Y3)
	ADDQ $256, SI
	ADDQ $256, DI
	DECQ BX
	JNZ  pair

odd:
	TESTQ $32, CX
	JZ    tail
	DOTBLOCK(0, Y0, Y1, Y2, Y3)
	ADDQ  $128, SI
	ADDQ  $128, DI

tail:
	ANDQ $31, CX
	JZ   reduce
	DOTMASKED

reduce:
	TREE
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// QBLOCK leaves in acc the 8 int32 partial sums of the products of the 32
// int8 pairs of one Q8 block: x at xo(DI), weights at wo+2(SI). Sign
// extension to int16 and VPMADDWD keep every sum exact for all int8 inputs.
#define QBLOCK(xo, wo, acc) \
	VPMOVSXBW xo+0(DI), acc; \
	VPMOVSXBW xo+16(DI), Y8; \
	VPMOVSXBW wo+2(SI), Y9; \
	VPMOVSXBW wo+18(SI), Y10; \
	VPMADDWD  Y9, acc, acc; \
	VPMADDWD  Y10, Y8, Y8; \
	VPADDD    Y8, acc, acc

// func dotQ8AVX2(w *byte, xq *int8, xd *float32, nb int) float32
//
// Per block (34 bytes of w: binary16 scale, 32 int8): s = Σ x·w exactly,
// v = float32(s)·(dw·dx), v added into lane (block % 32) of partials kept
// in memory; then the tree. VCVTPH2PS widens dw exactly, except that it
// quiets a signaling NaN where kernels.F16ToF32 keeps it; dw is only ever
// the first source of dw·dx, which quiets it the same way.
TEXT ·dotQ8AVX2(SB), NOSPLIT, $160-36
	MOVQ    w+0(FP), SI
	MOVQ    xq+8(FP), DI
	MOVQ    xd+16(FP), DX
	MOVQ    nb+24(FP), CX
	LEAQ    31(SP), R12   // 32-byte aligned partials: a YMM store split
	ANDQ    $-32, R12     // across pages is very slow
	VXORPS  Y0, Y0, Y0
	VMOVUPS Y0, 0(R12)
	VMOVUPS Y0, 32(R12)
	VMOVUPS Y0, 64(R12)
	VMOVUPS Y0, 96(R12)
	XORQ    R8, R8        // byte offset in the partials of lane (block % 32)
	MOVQ    CX, BX
	SHRQ    $3, BX
	JZ      single

	// Eight blocks at a time: their values fill the 8 lanes at R8.
group:
	QBLOCK(0, 0, Y0)
	QBLOCK(32, 34, Y1)
	QBLOCK(64, 68, Y2)
	QBLOCK(96, 102, Y3)
	QBLOCK(128, 136, Y4)
	QBLOCK(160, 170, Y5)
	QBLOCK(192, 204, Y6)
	QBLOCK(224, 238, Y7)
	VPHADDD    Y1, Y0, Y0
	VPHADDD    Y3, Y2, Y2
	VPHADDD    Y5, Y4, Y4
	VPHADDD    Y7, Y6, Y6
	VPHADDD    Y2, Y0, Y0      // per 128-bit half: blocks 0..3
	VPHADDD    Y6, Y4, Y4      // per 128-bit half: blocks 4..7
	VPERM2I128 $0x20, Y4, Y0, Y1
	VPERM2I128 $0x31, Y4, Y0, Y2
	VPADDD     Y2, Y1, Y1      // s_b for the 8 blocks

	// The 8 binary16 weight scales, widened exactly.
	MOVWLZX   0(SI), AX
	VMOVD     AX, X9
	VPINSRW   $1, 34(SI), X9, X9
	VPINSRW   $2, 68(SI), X9, X9
	VPINSRW   $3, 102(SI), X9, X9
	VPINSRW   $4, 136(SI), X9, X9
	VPINSRW   $5, 170(SI), X9, X9
	VPINSRW   $6, 204(SI), X9, X9
	VPINSRW   $7, 238(SI), X9, X9
	VCVTPH2PS X9, Y9

	VMULPS    0(DX), Y9, Y9    // dw·dx
	VCVTDQ2PS Y1, Y1
	VMULPS    Y9, Y1, Y1       // float32(s)·(dw·dx)
	VADDPS    0(R12)(R8*1), Y1, Y1
	VMOVUPS   Y1, 0(R12)(R8*1)
	ADDQ      $32, R8
	ANDQ      $127, R8
	ADDQ      $272, SI
	ADDQ      $256, DI
	ADDQ      $32, DX
	DECQ      BX
	JNZ       group

single:
	ANDQ $7, CX
	JZ   qreduce

one:
	QBLOCK(0, 0, Y0)
	VEXTRACTI128 $1, Y0, X1
	VPADDD       X1, X0, X0
	VPSHUFD      $0x4e, X0, X1
	VPADDD       X1, X0, X0
	VPSHUFD      $0xb1, X0, X1
	VPADDD       X1, X0, X0
	VCVTDQ2PS    X0, X0
	MOVWLZX      0(SI), AX
	VMOVD        AX, X2
	VCVTPH2PS    X2, X2
	VMULSS       0(DX), X2, X2
	VMULSS       X2, X0, X0
	VADDSS       0(R12)(R8*1), X0, X0
	VMOVSS       X0, 0(R12)(R8*1)
	ADDQ         $4, R8
	ANDQ         $127, R8
	ADDQ         $34, SI
	ADDQ         $32, DI
	ADDQ         $4, DX
	DECQ         CX
	JNZ          one

qreduce:
	VMOVUPS 0(R12), Y0
	VMOVUPS 32(R12), Y1
	VMOVUPS 64(R12), Y2
	VMOVUPS 96(R12), Y3
	TREE
	VMOVSS  X0, ret+32(FP)
	VZEROUPPER
	RET

// func cpuid1ECX() uint32
TEXT ·cpuid1ECX(SB), NOSPLIT, $0-4
	MOVL  $1, AX
	XORL  CX, CX
	CPUID
	MOVL  CX, ret+0(FP)
	RET
