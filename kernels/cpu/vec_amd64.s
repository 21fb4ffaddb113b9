//go:build amd64 && !purego

#include "textflag.h"

// AVX2 twins of Expf, softmaxRow, SiLU·mul and attendValues (math.go,
// backend.go), eight independent elements per register: each element goes
// through exactly the reference's operations. Operand orders copy what gc
// emits for the reference where a NaN could meet a NaN.

// 32 all-ones dwords then 32 zeros: the 8 dwords at vecMask<>+4*(32-r+8q)
// select the lanes of register q below r.
DATA vecMask<>+0x00(SB)/8, $-1
DATA vecMask<>+0x08(SB)/8, $-1
DATA vecMask<>+0x10(SB)/8, $-1
DATA vecMask<>+0x18(SB)/8, $-1
DATA vecMask<>+0x20(SB)/8, $-1
DATA vecMask<>+0x28(SB)/8, $-1
DATA vecMask<>+0x30(SB)/8, $-1
DATA vecMask<>+0x38(SB)/8, $-1
DATA vecMask<>+0x40(SB)/8, $-1
DATA vecMask<>+0x48(SB)/8, $-1
DATA vecMask<>+0x50(SB)/8, $-1
DATA vecMask<>+0x58(SB)/8, $-1
DATA vecMask<>+0x60(SB)/8, $-1
DATA vecMask<>+0x68(SB)/8, $-1
DATA vecMask<>+0x70(SB)/8, $-1
DATA vecMask<>+0x78(SB)/8, $-1
DATA vecMask<>+0x80(SB)/8, $0
DATA vecMask<>+0x88(SB)/8, $0
DATA vecMask<>+0x90(SB)/8, $0
DATA vecMask<>+0x98(SB)/8, $0
DATA vecMask<>+0xa0(SB)/8, $0
DATA vecMask<>+0xa8(SB)/8, $0
DATA vecMask<>+0xb0(SB)/8, $0
DATA vecMask<>+0xb8(SB)/8, $0
DATA vecMask<>+0xc0(SB)/8, $0
DATA vecMask<>+0xc8(SB)/8, $0
DATA vecMask<>+0xd0(SB)/8, $0
DATA vecMask<>+0xd8(SB)/8, $0
DATA vecMask<>+0xe0(SB)/8, $0
DATA vecMask<>+0xe8(SB)/8, $0
DATA vecMask<>+0xf0(SB)/8, $0
DATA vecMask<>+0xf8(SB)/8, $0
GLOBL vecMask<>(SB), RODATA|NOPTR, $256

// Offsets of the constants in expfTab (vec_amd64.go), 32 bytes each.
#define E_LOG2E 0
#define E_HALF 32
#define E_C1 64
#define E_C2 96
#define E_P0 128
#define E_P1 160
#define E_P2 192
#define E_P3 224
#define E_P4 256
#define E_P5 288
#define E_ONE 320
#define E_MAXLOG 352
#define E_MINLOG 384
#define E_INF 416
#define E_NEGINF 448
#define E_SIGN 480

// EXPF8 sets Y1 = Expf(Y0) lane by lane (Y0 is kept; Y2-Y7 are scratch).
// n = floor(x·log2e + 0.5) by VROUNDPS (exact), the Cephes polynomial in
// the reference's order, then y·2^n in binary64 (exact, 2^n built in the
// exponent bits) rounded once to binary32. Lanes that the reference sends
// to a special case (NaN, above maxLog, below minLog) are blended last.
#define EXPF8 \
	VMULPS       ·expfTab+E_LOG2E(SB), Y0, Y1; \
	VADDPS       ·expfTab+E_HALF(SB), Y1, Y1; \
	VROUNDPS     $9, Y1, Y1; \
	VMULPS       ·expfTab+E_C1(SB), Y1, Y2; \
	VSUBPS       Y2, Y0, Y2; \
	VMULPS       ·expfTab+E_C2(SB), Y1, Y3; \
	VSUBPS       Y3, Y2, Y2; \
	VMULPS       ·expfTab+E_P0(SB), Y2, Y3; \
	VADDPS       ·expfTab+E_P1(SB), Y3, Y3; \
	VMULPS       Y2, Y3, Y3; \
	VADDPS       ·expfTab+E_P2(SB), Y3, Y3; \
	VMULPS       Y2, Y3, Y3; \
	VADDPS       ·expfTab+E_P3(SB), Y3, Y3; \
	VMULPS       Y2, Y3, Y3; \
	VADDPS       ·expfTab+E_P4(SB), Y3, Y3; \
	VMULPS       Y2, Y3, Y3; \
	VADDPS       ·expfTab+E_P5(SB), Y3, Y3; \
	VMULPS       Y2, Y2, Y4; \
	VMULPS       Y4, Y3, Y3; \
	VADDPS       Y2, Y3, Y3; \
	VADDPS       ·expfTab+E_ONE(SB), Y3, Y3; \
	VCVTTPS2DQ   Y1, Y5; \
	VCVTPS2PD    X3, Y6; \
	VPMOVSXDQ    X5, Y7; \
	VPADDQ       ·expfBias(SB), Y7, Y7; \
	VPSLLQ       $52, Y7, Y7; \
	VMULPD       Y7, Y6, Y6; \
	VCVTPD2PSY   Y6, X6; \
	VEXTRACTF128 $1, Y3, X3; \
	VEXTRACTI128 $1, Y5, X5; \
	VCVTPS2PD    X3, Y7; \
	VPMOVSXDQ    X5, Y5; \
	VPADDQ       ·expfBias(SB), Y5, Y5; \
	VPSLLQ       $52, Y5, Y5; \
	VMULPD       Y5, Y7, Y7; \
	VCVTPD2PSY   Y7, X7; \
	VINSERTF128  $1, X7, Y6, Y1; \
	VCMPPS       $0x1e, ·expfTab+E_MAXLOG(SB), Y0, Y2; \
	VBLENDVPS    Y2, ·expfTab+E_INF(SB), Y1, Y1; \
	VCMPPS       $0x11, ·expfTab+E_MINLOG(SB), Y0, Y2; \
	VANDNPS      Y1, Y2, Y1; \
	VCMPPS       $3, Y0, Y0, Y2; \
	VBLENDVPS    Y2, Y0, Y1, Y1

// MASKPTR(r, p) points p at the masks of lanes below r: register q's
// mask is at 32q(p). Clobbers r.
#define MASKPTR(r, p) \
	SHLQ $2, r; \
	NEGQ r; \
	LEAQ vecMask<>+128(SB), p; \
	ADDQ r, p

// func expfAVX2(dst, src *float32, n int)
TEXT ·expfAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ CX, BX
	SHRQ $3, BX
	JZ   etail

eloop:
	VMOVUPS (SI), Y0
	EXPF8
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    BX
	JNZ     eloop

etail:
	ANDQ       $7, CX
	JZ         edone
	MASKPTR(CX, R8)
	VMOVDQU    (R8), Y8
	VMASKMOVPS (SI), Y8, Y0
	EXPF8
	VMASKMOVPS Y1, Y8, (DI)

edone:
	VZEROUPPER
	RET

// func softmaxAVX2(x *float32, n int, div float32)
//
// x[i] /= div (the attention scale; 1 is exact), then softmaxRow: the
// maximum per lane (VMAXPS keeps the running maximum for NaNs and ties, as
// the reference's v > m does; lanes combine in any order, which may change
// only the sign of a zero maximum and so no Exp(x−m)), e = Expf(x − m), the
// sum of e in the fixed order (lane i mod 32 is lane i%8 of Y8+i/8%4), then
// x = e / sum.
TEXT ·softmaxAVX2(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS div+16(FP), Y15
	VMOVUPS      ·expfTab+E_NEGINF(SB), Y14
	VMOVUPS      Y14, Y12

	MOVQ SI, AX
	MOVQ CX, BX
	SHRQ $3, BX
	JZ   s1tail

s1loop:
	VMOVUPS (AX), Y0
	VDIVPS  Y15, Y0, Y0
	VMOVUPS Y0, (AX)
	VMAXPS  Y12, Y0, Y12
	ADDQ    $32, AX
	DECQ    BX
	JNZ     s1loop

s1tail:
	MOVQ       CX, DX
	ANDQ       $7, DX
	JZ         s1max
	MASKPTR(DX, R8)
	VMOVDQU    (R8), Y13
	VMASKMOVPS (AX), Y13, Y0
	VDIVPS     Y15, Y0, Y0
	VMASKMOVPS Y0, Y13, (AX)
	VBLENDVPS  Y13, Y0, Y14, Y0
	VMAXPS     Y12, Y0, Y12

s1max:
	VPERM2F128 $1, Y12, Y12, Y0
	VMAXPS     Y0, Y12, Y12
	VPERMILPS  $0x4e, Y12, Y0
	VMAXPS     Y0, Y12, Y12
	VPERMILPS  $0xb1, Y12, Y0
	VMAXPS     Y0, Y12, Y12

	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	MOVQ   SI, AX
	MOVQ   CX, BX
	SHRQ   $5, BX
	JZ     s2tail

s2loop:
	VMOVUPS (AX), Y0
	VSUBPS  Y12, Y0, Y0
	EXPF8
	VMOVUPS Y1, (AX)
	VADDPS  Y1, Y8, Y8
	VMOVUPS 32(AX), Y0
	VSUBPS  Y12, Y0, Y0
	EXPF8
	VMOVUPS Y1, 32(AX)
	VADDPS  Y1, Y9, Y9
	VMOVUPS 64(AX), Y0
	VSUBPS  Y12, Y0, Y0
	EXPF8
	VMOVUPS Y1, 64(AX)
	VADDPS  Y1, Y10, Y10
	VMOVUPS 96(AX), Y0
	VSUBPS  Y12, Y0, Y0
	EXPF8
	VMOVUPS Y1, 96(AX)
	VADDPS  Y1, Y11, Y11
	ADDQ    $128, AX
	DECQ    BX
	JNZ     s2loop

	// The last partial block, with masks; lanes past the end add +0, which
	// leaves a partial unchanged (partials start at +0 and a sum is −0 only
	// when both addends are, so none is ever −0).
s2tail:
	MOVQ CX, DX
	ANDQ $31, DX
	JZ   s2tree
	MASKPTR(DX, R8)
	VMOVDQU    0(R8), Y13
	VMASKMOVPS 0(AX), Y13, Y0
	VSUBPS     Y12, Y0, Y0
	EXPF8
	VMASKMOVPS Y1, Y13, 0(AX)
	VANDPS     Y13, Y1, Y1
	VADDPS     Y1, Y8, Y8
	VMOVDQU    32(R8), Y13
	VMASKMOVPS 32(AX), Y13, Y0
	VSUBPS     Y12, Y0, Y0
	EXPF8
	VMASKMOVPS Y1, Y13, 32(AX)
	VANDPS     Y13, Y1, Y1
	VADDPS     Y1, Y9, Y9
	VMOVDQU    64(R8), Y13
	VMASKMOVPS 64(AX), Y13, Y0
	VSUBPS     Y12, Y0, Y0
	EXPF8
	VMASKMOVPS Y1, Y13, 64(AX)
	VANDPS     Y13, Y1, Y1
	VADDPS     Y1, Y10, Y10
	VMOVDQU    96(R8), Y13
	VMASKMOVPS 96(AX), Y13, Y0
	VSUBPS     Y12, Y0, Y0
	EXPF8
	VMASKMOVPS Y1, Y13, 96(AX)
	VANDPS     Y13, Y1, Y1
	VADDPS     Y1, Y11, Y11

	// The fixed tree, p[j] first; the sum ends in every lane of Y13.
s2tree:
	VADDPS       Y10, Y8, Y8
	VADDPS       Y11, Y9, Y9
	VADDPS       Y9, Y8, Y8
	VEXTRACTF128 $1, Y8, X9
	VADDPS       X9, X8, X8
	VMOVHLPS     X8, X8, X9
	VADDPS       X9, X8, X8
	VMOVSHDUP    X8, X9
	VADDSS       X9, X8, X8
	VBROADCASTSS X8, Y13

	MOVQ SI, AX
	MOVQ CX, BX
	SHRQ $3, BX
	JZ   s3tail

s3loop:
	VMOVUPS (AX), Y0
	VDIVPS  Y13, Y0, Y0
	VMOVUPS Y0, (AX)
	ADDQ    $32, AX
	DECQ    BX
	JNZ     s3loop

s3tail:
	ANDQ       $7, CX
	JZ         s3done
	MASKPTR(CX, R8)
	VMOVDQU    (R8), Y14
	VMASKMOVPS (AX), Y14, Y0
	VDIVPS     Y13, Y0, Y0
	VMASKMOVPS Y0, Y14, (AX)

s3done:
	VZEROUPPER
	RET

// func siluMulAVX2(out, a, b *float32, n int)
//
// out = f32(a · f32(1 / f32(1 + Expf(−a)))) · b.
TEXT ·siluMulAVX2(SB), NOSPLIT, $0-32
	MOVQ    out+0(FP), DI
	MOVQ    a+8(FP), SI
	MOVQ    b+16(FP), DX
	MOVQ    n+24(FP), CX
	VMOVUPS ·expfTab+E_ONE(SB), Y15
	VMOVUPS ·expfTab+E_SIGN(SB), Y14
	MOVQ    CX, BX
	SHRQ    $3, BX
	JZ      sltail

slloop:
	VMOVUPS (SI), Y9
	VXORPS  Y14, Y9, Y0
	EXPF8
	VADDPS  Y15, Y1, Y1
	VDIVPS  Y1, Y15, Y1
	VMULPS  Y1, Y9, Y1
	VMULPS  (DX), Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    BX
	JNZ     slloop

sltail:
	ANDQ       $7, CX
	JZ         sldone
	MASKPTR(CX, R8)
	VMOVDQU    (R8), Y13
	VMASKMOVPS (SI), Y13, Y9
	VMASKMOVPS (DX), Y13, Y10
	VXORPS     Y14, Y9, Y0
	EXPF8
	VADDPS     Y15, Y1, Y1
	VDIVPS     Y1, Y15, Y1
	VMULPS     Y1, Y9, Y1
	VMULPS     Y10, Y1, Y1
	VMASKMOVPS Y1, Y13, (DI)

sldone:
	VZEROUPPER
	RET

// func attendAVX2(dst, a *float32, n int, v *float32, ldv, hs int, acc *float32)
//
// dst[i] = Σ_t a[t]·v[t·ldv+i] for i < hs, t < n: lane t mod 32 of the
// fixed order is row t%32 of acc (32 rows of hsp = hs rounded up to 8
// floats), eight outputs i per register; then the tree over the rows.
TEXT ·attendAVX2(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ v+24(FP), DX
	MOVQ ldv+32(FP), R9
	MOVQ hs+40(FP), R10
	MOVQ acc+48(FP), R11
	SHLQ $2, R9

	// R12 = chunks of 8 in a row of acc (hsp/8); Y15 masks the last one.
	MOVQ R10, R12
	ADDQ $7, R12
	SHRQ $3, R12
	MOVQ R10, AX
	ANDQ $7, AX
	JNZ  amask
	MOVQ $8, AX

amask:
	MASKPTR(AX, R8)
	VMOVDQU (R8), Y15
	MOVQ    R12, R13
	SHLQ    $5, R13 // bytes in a row of acc

	// Clear the 32 rows.
	VXORPS Y0, Y0, Y0
	MOVQ   R11, AX
	MOVQ   R12, BX
	SHLQ   $5, BX

aclear:
	VMOVUPS Y0, (AX)
	ADDQ    $32, AX
	DECQ    BX
	JNZ     aclear

	// For each t: row = acc + (t%32)·R13; the full chunks, then the masked
	// last chunk (masked lanes of v load +0; acc's padding lanes are never
	// read back).
	XORQ  BX, BX
	TESTQ CX, CX
	JZ    atree

at:
	MOVQ         BX, AX
	ANDQ         $31, AX
	IMULQ        R13, AX
	ADDQ         R11, AX
	VBROADCASTSS (SI)(BX*4), Y14
	MOVQ         DX, R8
	MOVQ         R12, R10
	DECQ         R10
	JZ           alast

achunk:
	VMOVUPS (R8), Y0
	VMULPS  Y14, Y0, Y0
	VADDPS  (AX), Y0, Y0
	VMOVUPS Y0, (AX)
	ADDQ    $32, R8
	ADDQ    $32, AX
	DECQ    R10
	JNZ     achunk

alast:
	VMASKMOVPS (R8), Y15, Y0
	VMULPS     Y14, Y0, Y0
	VADDPS     (AX), Y0, Y0
	VMOVUPS    Y0, (AX)
	ADDQ       R9, DX
	INCQ       BX
	CMPQ       BX, CX
	JLT        at

	// The tree: row j += row j+off for off = 16, 8, 4, 2, 1.
atree:
	MOVQ $16, R10

alevel:
	MOVQ R10, AX
	IMULQ R13, AX
	ADDQ R11, AX     // row off
	MOVQ R11, R8     // row 0
	MOVQ R10, BX
	IMULQ R12, BX    // chunks in rows [0, off)

aadd:
	VMOVUPS (R8), Y0
	VADDPS  (AX), Y0, Y0
	VMOVUPS Y0, (R8)
	ADDQ    $32, R8
	ADDQ    $32, AX
	DECQ    BX
	JNZ     aadd
	SHRQ    $1, R10
	JNZ     alevel

	// dst = row 0.
	MOVQ R11, R8
	MOVQ R12, BX
	DECQ BX
	JZ   adlast

adst:
	VMOVUPS (R8), Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, R8
	ADDQ    $32, DI
	DECQ    BX
	JNZ     adst

adlast:
	VMOVUPS    (R8), Y0
	VMASKMOVPS Y0, Y15, (DI)
	VZEROUPPER
	RET
