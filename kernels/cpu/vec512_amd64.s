//go:build amd64 && !purego

#include "textflag.h"

// AVX-512 twins of the kernels of vec_amd64.s, sixteen elements per
// register; masked lanes are neither loaded nor stored nor added.

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

// EXPF16 sets Z1 = Expf(Z0) lane by lane (Z0 is kept; Z2-Z4 and K5-K7 are
// scratch). As EXPF8, except that y·2^n is VSCALEFPS: one rounding of the
// exact product, which is what the reference's binary64 product (exact)
// rounded to binary32 gives, subnormal results included.
#define EXPF16 \
	VMULPS.BCST   ·expfTab+E_LOG2E(SB), Z0, Z1; \
	VADDPS.BCST   ·expfTab+E_HALF(SB), Z1, Z1; \
	VRNDSCALEPS   $9, Z1, Z1; \
	VMULPS.BCST   ·expfTab+E_C1(SB), Z1, Z2; \
	VSUBPS        Z2, Z0, Z2; \
	VMULPS.BCST   ·expfTab+E_C2(SB), Z1, Z3; \
	VSUBPS        Z3, Z2, Z2; \
	VMULPS.BCST   ·expfTab+E_P0(SB), Z2, Z3; \
	VADDPS.BCST   ·expfTab+E_P1(SB), Z3, Z3; \
	VMULPS        Z2, Z3, Z3; \
	VADDPS.BCST   ·expfTab+E_P2(SB), Z3, Z3; \
	VMULPS        Z2, Z3, Z3; \
	VADDPS.BCST   ·expfTab+E_P3(SB), Z3, Z3; \
	VMULPS        Z2, Z3, Z3; \
	VADDPS.BCST   ·expfTab+E_P4(SB), Z3, Z3; \
	VMULPS        Z2, Z3, Z3; \
	VADDPS.BCST   ·expfTab+E_P5(SB), Z3, Z3; \
	VMULPS        Z2, Z2, Z4; \
	VMULPS        Z4, Z3, Z3; \
	VADDPS        Z2, Z3, Z3; \
	VADDPS.BCST   ·expfTab+E_ONE(SB), Z3, Z3; \
	VSCALEFPS     Z1, Z3, Z1; \
	VCMPPS.BCST   $0x1e, ·expfTab+E_MAXLOG(SB), Z0, K5; \
	VCMPPS.BCST   $0x11, ·expfTab+E_MINLOG(SB), Z0, K6; \
	VCMPPS        $3, Z0, Z0, K7; \
	VBROADCASTSS  ·expfTab+E_INF(SB), K5, Z1; \
	VPXORD        Z1, Z1, K6, Z1; \
	VMOVAPS       Z0, K7, Z1

// mask16<>+2r holds the 16-bit mask of the lanes below r (0..16).
DATA mask16<>+0x00(SB)/2, $0x0000
DATA mask16<>+0x02(SB)/2, $0x0001
DATA mask16<>+0x04(SB)/2, $0x0003
DATA mask16<>+0x06(SB)/2, $0x0007
DATA mask16<>+0x08(SB)/2, $0x000f
DATA mask16<>+0x0a(SB)/2, $0x001f
DATA mask16<>+0x0c(SB)/2, $0x003f
DATA mask16<>+0x0e(SB)/2, $0x007f
DATA mask16<>+0x10(SB)/2, $0x00ff
DATA mask16<>+0x12(SB)/2, $0x01ff
DATA mask16<>+0x14(SB)/2, $0x03ff
DATA mask16<>+0x16(SB)/2, $0x07ff
DATA mask16<>+0x18(SB)/2, $0x0fff
DATA mask16<>+0x1a(SB)/2, $0x1fff
DATA mask16<>+0x1c(SB)/2, $0x3fff
DATA mask16<>+0x1e(SB)/2, $0x7fff
DATA mask16<>+0x20(SB)/2, $0xffff
GLOBL mask16<>(SB), RODATA|NOPTR, $34

// TAILMASK(r, k) sets k to the lanes below r (0..16); clobbers AX.
#define TAILMASK(r, k) \
	LEAQ  mask16<>(SB), AX; \
	KMOVW (AX)(r*2), k

// func expfAVX512(dst, src *float32, n int)
TEXT ·expfAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ CX, BX
	SHRQ $4, BX
	JZ   xtail

xloop:
	VMOVUPS (SI), Z0
	EXPF16
	VMOVUPS Z1, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	DECQ    BX
	JNZ     xloop

xtail:
	ANDQ      $15, CX
	JZ        xdone
	TAILMASK(CX, K1)
	VMOVUPS.Z (SI), K1, Z0
	EXPF16
	VMOVUPS   Z1, K1, (DI)

xdone:
	VZEROUPPER
	RET

// func softmaxAVX512(x *float32, n int, div float32)
//
// As softmaxAVX2; lane i mod 32 of the sum is lane i%16 of Z8+i/16%2.
TEXT ·softmaxAVX512(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS div+16(FP), Z15
	VBROADCASTSS ·expfTab+E_NEGINF(SB), Z12

	MOVQ SI, DI
	MOVQ CX, BX
	SHRQ $4, BX
	JZ   m1tail

m1loop:
	VMOVUPS (DI), Z0
	VDIVPS  Z15, Z0, Z0
	VMOVUPS Z0, (DI)
	VMAXPS  Z12, Z0, Z12
	ADDQ    $64, DI
	DECQ    BX
	JNZ     m1loop

m1tail:
	MOVQ      CX, DX
	ANDQ      $15, DX
	JZ        m1max
	TAILMASK(DX, K1)
	VMOVUPS.Z (DI), K1, Z0
	VDIVPS    Z15, Z0, Z0
	VMOVUPS   Z0, K1, (DI)
	VMAXPS    Z12, Z0, K1, Z12

m1max:
	VSHUFF32X4 $0x4e, Z12, Z12, Z0
	VMAXPS     Z0, Z12, Z12
	VSHUFF32X4 $0xb1, Z12, Z12, Z0
	VMAXPS     Z0, Z12, Z12
	VPERMILPS  $0x4e, Z12, Z0
	VMAXPS     Z0, Z12, Z12
	VPERMILPS  $0xb1, Z12, Z0
	VMAXPS     Z0, Z12, Z12

	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	MOVQ   SI, DI
	MOVQ   CX, BX
	SHRQ   $5, BX
	JZ     m2tail

m2loop:
	VMOVUPS (DI), Z0
	VSUBPS  Z12, Z0, Z0
	EXPF16
	VMOVUPS Z1, (DI)
	VADDPS  Z1, Z8, Z8
	VMOVUPS 64(DI), Z0
	VSUBPS  Z12, Z0, Z0
	EXPF16
	VMOVUPS Z1, 64(DI)
	VADDPS  Z1, Z9, Z9
	ADDQ    $128, DI
	DECQ    BX
	JNZ     m2loop

m2tail:
	MOVQ      CX, DX
	ANDQ      $31, DX
	JZ        m2tree
	MOVQ      DX, R8
	SUBQ      $16, R8
	JGE       m2two
	TAILMASK(DX, K1)
	KXORW     K2, K2, K2
	JMP       m2go

m2two:
	MOVQ      $16, DX
	TAILMASK(DX, K1)
	TAILMASK(R8, K2)

m2go:
	VMOVUPS.Z (DI), K1, Z0
	VSUBPS    Z12, Z0, Z0
	EXPF16
	VMOVUPS   Z1, K1, (DI)
	VADDPS    Z1, Z8, K1, Z8
	VMOVUPS.Z 64(DI), K2, Z0
	VSUBPS    Z12, Z0, Z0
	EXPF16
	VMOVUPS   Z1, K2, 64(DI)
	VADDPS    Z1, Z9, K2, Z9

	// The fixed tree, p[j] first; the sum ends in every lane of Z13.
m2tree:
	VADDPS        Z9, Z8, Z8
	VEXTRACTF64X4 $1, Z8, Y9
	VADDPS        Y9, Y8, Y8
	VEXTRACTF128  $1, Y8, X9
	VADDPS        X9, X8, X8
	VMOVHLPS      X8, X8, X9
	VADDPS        X9, X8, X8
	VMOVSHDUP     X8, X9
	VADDSS        X9, X8, X8
	VBROADCASTSS  X8, Z13

	MOVQ SI, DI
	MOVQ CX, BX
	SHRQ $4, BX
	JZ   m3tail

m3loop:
	VMOVUPS (DI), Z0
	VDIVPS  Z13, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, DI
	DECQ    BX
	JNZ     m3loop

m3tail:
	ANDQ      $15, CX
	JZ        m3done
	TAILMASK(CX, K1)
	VMOVUPS.Z (DI), K1, Z0
	VDIVPS    Z13, Z0, Z0
	VMOVUPS   Z0, K1, (DI)

m3done:
	VZEROUPPER
	RET

// func siluMulAVX512(out, a, b *float32, n int)
TEXT ·siluMulAVX512(SB), NOSPLIT, $0-32
	MOVQ         out+0(FP), DI
	MOVQ         a+8(FP), SI
	MOVQ         b+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSS ·expfTab+E_ONE(SB), Z15
	VBROADCASTSS ·expfTab+E_SIGN(SB), Z14
	MOVQ         CX, BX
	SHRQ         $4, BX
	JZ           ltail

lloop:
	VMOVUPS (SI), Z9
	VPXORD  Z14, Z9, Z0
	EXPF16
	VADDPS  Z15, Z1, Z1
	VDIVPS  Z1, Z15, Z1
	VMULPS  Z1, Z9, Z1
	VMULPS  (DX), Z1, Z1
	VMOVUPS Z1, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, DI
	DECQ    BX
	JNZ     lloop

ltail:
	ANDQ      $15, CX
	JZ        ldone
	TAILMASK(CX, K1)
	VMOVUPS.Z (SI), K1, Z9
	VMOVUPS.Z (DX), K1, Z10
	VPXORD    Z14, Z9, Z0
	EXPF16
	VADDPS    Z15, Z1, Z1
	VDIVPS    Z1, Z15, Z1
	VMULPS    Z1, Z9, Z1
	VMULPS    Z10, Z1, Z1
	VMOVUPS   Z1, K1, (DI)

ldone:
	VZEROUPPER
	RET

// Lane indexes for VPERMPS: the 8 dwords of (0) then the 8 of (1).
DATA pairIdx<>+0x00(SB)/4, $0
DATA pairIdx<>+0x04(SB)/4, $0
DATA pairIdx<>+0x08(SB)/4, $0
DATA pairIdx<>+0x0c(SB)/4, $0
DATA pairIdx<>+0x10(SB)/4, $0
DATA pairIdx<>+0x14(SB)/4, $0
DATA pairIdx<>+0x18(SB)/4, $0
DATA pairIdx<>+0x1c(SB)/4, $0
DATA pairIdx<>+0x20(SB)/4, $1
DATA pairIdx<>+0x24(SB)/4, $1
DATA pairIdx<>+0x28(SB)/4, $1
DATA pairIdx<>+0x2c(SB)/4, $1
DATA pairIdx<>+0x30(SB)/4, $1
DATA pairIdx<>+0x34(SB)/4, $1
DATA pairIdx<>+0x38(SB)/4, $1
DATA pairIdx<>+0x3c(SB)/4, $1
GLOBL pairIdx<>(SB), RODATA|NOPTR, $64

DATA two<>+0x00(SB)/4, $2
GLOBL two<>(SB), RODATA|NOPTR, $4

// func attend8AVX512(dst, a *float32, n int, v *float32, ldv int, acc *float32)
//
// attendValues for 8 outputs: dst[i] = Σ_t a[t]·v[t·ldv+i], i < 8, t < n.
// Lanes 2m and 2m+1 of the fixed order live in Z(m) (m < 16); keys come in
// pairs, the weight of each spread over its row's 8 lanes by VPERMPS. The
// last n%16 keys go through acc (32 rows of 8 floats), then the tree.
TEXT ·attend8AVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ v+24(FP), R8
	MOVQ ldv+32(FP), R9
	MOVQ acc+40(FP), R11
	SHLQ $2, R9
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VMOVDQU32    pairIdx<>(SB), Z17
	VPBROADCASTD two<>(SB), Z25
	VPADDD Z25, Z17, Z18
	VPADDD Z25, Z18, Z19
	VPADDD Z25, Z19, Z20
	VPADDD Z25, Z20, Z21
	VPADDD Z25, Z21, Z22
	VPADDD Z25, Z22, Z23
	VPADDD Z25, Z23, Z24
	MOVQ CX, BX
	SHRQ $5, BX
	JZ   a8half

	// 32 keys: lanes 0..15 then 16..31.
a8loop:
	VMOVUPS (SI), Z16
	VMOVUPS      (R8), Y25
	VINSERTF64X4 $1, (R8)(R9*1), Z25, Z25
	VPERMPS      Z16, Z17, Z26
	VMULPS       Z26, Z25, Z25
	VADDPS       Z0, Z25, Z0
	LEAQ         (R8)(R9*2), R8
	VMOVUPS      (R8), Y25
	VINSERTF64X4 $1, (R8)(R9*1), Z25, Z25
	VPERMPS      Z16, Z18, Z26
	VMULPS       Z26, Z25, Z25
	VADDPS       Z1, Z25, Z1
	LEAQ         (R8)(R9*2), R8
	VMOVUPS      (R8), Y25
	VINSERTF64X4 $1, (R8)(R9*1), Z25, Z25
	VPERMPS      Z16, Z19, Z26
	VMULPS       Z26, Z25, Z25
	VADDPS       Z2, Z25, Z2
	LEAQ         (R8)(R9*2), R8
	VMOVUPS      (R8), Y25
	VINSERTF64X4 $1, (R8)(R9*1), Z25, Z25
	VPERMPS      Z16, Z20, Z26
	VMULPS       Z26, Z25, Z25
	VADDPS       Z3, Z25, Z3
	LEAQ         (R8)(R9*2), R8
	VMOVUPS      (R8), Y25
	VINSERTF64X4 $1, (R8)(R9*1), Z25, Z25
	VPERMPS      Z16, Z21, Z26
	VMULPS       Z26, Z25, Z25
	VADDPS       Z4, Z25, Z4
	LEAQ         (R8)(R9*2), R8
	VMOVUPS      (R8), Y25
	VINSERTF64X4 $1, (R8)(R9*1), Z25, Z25
	VPERMPS      Z16, Z22, Z26
	VMULPS       Z26, Z25, Z25
	VADDPS       Z5, Z25, Z5
	LEAQ         (R8)(R9*2), R8
	VMOVUPS      (R8), Y25
	VINSERTF64X4 $1, (R8)(R9*1), Z25, Z25
	VPERMPS      Z16, Z23, Z26
	VMULPS       Z26, Z25, Z25
	VADDPS       Z6, Z25, Z6
	LEAQ         (R8)(R9*2), R8
	VMOVUPS      (R8), Y25
	VINSERTF64X4 $1, (R8)(R9*1), Z25, Z25
	VPERMPS      Z16, Z24, Z26
	VMULPS       Z26, Z25, Z25
	VADDPS       Z7, Z25, Z7
	LEAQ         (R8)(R9*2), R8
	VMOVUPS 64(SI), Z16
	VMOVUPS      (R8), Y25
	VINSERTF64X4 $1, (R8)(R9*1), Z25, Z25
	VPERMPS      Z16, Z17, Z26
	VMULPS       Z26, Z25, Z25
	VADDPS       Z8, Z25, Z8
	LEAQ         (R8)(R9*2), R8
	VMOVUPS      (R8), Y25
	VINSERTF64X4 $1, (R8)(R9*1), Z25, Z25
	VPERMPS      Z16, Z18, Z26
	VMULPS       Z26, Z25, Z25
	VADDPS       Z9, Z25, Z9
	LEAQ         (R8)(R9*2), R8
	VMOVUPS      (R8), Y25
	VINSERTF64X4 $1, (R8)(R9*1), Z25, Z25
	VPERMPS      Z16, Z19, Z26
	VMULPS       Z26, Z25, Z25
	VADDPS       Z10, Z25, Z10
	LEAQ         (R8)(R9*2), R8
	VMOVUPS      (R8), Y25
	VINSERTF64X4 $1, (R8)(R9*1), Z25, Z25
	VPERMPS      Z16, Z20, Z26
	VMULPS       Z26, Z25, Z25
	VADDPS       Z11, Z25, Z11
	LEAQ         (R8)(R9*2), R8
	VMOVUPS      (R8), Y25
	VINSERTF64X4 $1, (R8)(R9*1), Z25, Z25
	VPERMPS      Z16, Z21, Z26
	VMULPS       Z26, Z25, Z25
	VADDPS       Z12, Z25, Z12
	LEAQ         (R8)(R9*2), R8
	VMOVUPS      (R8), Y25
	VINSERTF64X4 $1, (R8)(R9*1), Z25, Z25
	VPERMPS      Z16, Z22, Z26
	VMULPS       Z26, Z25, Z25
	VADDPS       Z13, Z25, Z13
	LEAQ         (R8)(R9*2), R8
	VMOVUPS      (R8), Y25
	VINSERTF64X4 $1, (R8)(R9*1), Z25, Z25
	VPERMPS      Z16, Z23, Z26
	VMULPS       Z26, Z25, Z25
	VADDPS       Z14, Z25, Z14
	LEAQ         (R8)(R9*2), R8
	VMOVUPS      (R8), Y25
	VINSERTF64X4 $1, (R8)(R9*1), Z25, Z25
	VPERMPS      Z16, Z24, Z26
	VMULPS       Z26, Z25, Z25
	VADDPS       Z15, Z25, Z15
	LEAQ         (R8)(R9*2), R8
	ADDQ $128, SI
	DECQ BX
	JNZ  a8loop

a8half:
	TESTQ $16, CX
	JZ    a8spill
	VMOVUPS (SI), Z16
	VMOVUPS      (R8), Y25
	VINSERTF64X4 $1, (R8)(R9*1), Z25, Z25
	VPERMPS      Z16, Z17, Z26
	VMULPS       Z26, Z25, Z25
	VADDPS       Z0, Z25, Z0
	LEAQ         (R8)(R9*2), R8
	VMOVUPS      (R8), Y25
	VINSERTF64X4 $1, (R8)(R9*1), Z25, Z25
	VPERMPS      Z16, Z18, Z26
	VMULPS       Z26, Z25, Z25
	VADDPS       Z1, Z25, Z1
	LEAQ         (R8)(R9*2), R8
	VMOVUPS      (R8), Y25
	VINSERTF64X4 $1, (R8)(R9*1), Z25, Z25
	VPERMPS      Z16, Z19, Z26
	VMULPS       Z26, Z25, Z25
	VADDPS       Z2, Z25, Z2
	LEAQ         (R8)(R9*2), R8
	VMOVUPS      (R8), Y25
	VINSERTF64X4 $1, (R8)(R9*1), Z25, Z25
	VPERMPS      Z16, Z20, Z26
	VMULPS       Z26, Z25, Z25
	VADDPS       Z3, Z25, Z3
	LEAQ         (R8)(R9*2), R8
	VMOVUPS      (R8), Y25
	VINSERTF64X4 $1, (R8)(R9*1), Z25, Z25
	VPERMPS      Z16, Z21, Z26
	VMULPS       Z26, Z25, Z25
	VADDPS       Z4, Z25, Z4
	LEAQ         (R8)(R9*2), R8
	VMOVUPS      (R8), Y25
	VINSERTF64X4 $1, (R8)(R9*1), Z25, Z25
	VPERMPS      Z16, Z22, Z26
	VMULPS       Z26, Z25, Z25
	VADDPS       Z5, Z25, Z5
	LEAQ         (R8)(R9*2), R8
	VMOVUPS      (R8), Y25
	VINSERTF64X4 $1, (R8)(R9*1), Z25, Z25
	VPERMPS      Z16, Z23, Z26
	VMULPS       Z26, Z25, Z25
	VADDPS       Z6, Z25, Z6
	LEAQ         (R8)(R9*2), R8
	VMOVUPS      (R8), Y25
	VINSERTF64X4 $1, (R8)(R9*1), Z25, Z25
	VPERMPS      Z16, Z24, Z26
	VMULPS       Z26, Z25, Z25
	VADDPS       Z7, Z25, Z7
	LEAQ         (R8)(R9*2), R8
	ADDQ $64, SI

	// Rows 2m, 2m+1 of acc from Z(m); then the last keys one by one.
a8spill:
	VMOVUPS Z0, 0(R11)
	VMOVUPS Z1, 64(R11)
	VMOVUPS Z2, 128(R11)
	VMOVUPS Z3, 192(R11)
	VMOVUPS Z4, 256(R11)
	VMOVUPS Z5, 320(R11)
	VMOVUPS Z6, 384(R11)
	VMOVUPS Z7, 448(R11)
	VMOVUPS Z8, 512(R11)
	VMOVUPS Z9, 576(R11)
	VMOVUPS Z10, 640(R11)
	VMOVUPS Z11, 704(R11)
	VMOVUPS Z12, 768(R11)
	VMOVUPS Z13, 832(R11)
	VMOVUPS Z14, 896(R11)
	VMOVUPS Z15, 960(R11)
	MOVQ CX, BX
	ANDQ $15, BX
	JZ   a8tree
	MOVQ CX, DX
	ANDQ $16, DX      // lane of the first of them: t mod 32
	SHLQ $5, DX

a8one:
	VBROADCASTSS (SI), Y25
	VMOVUPS      (R8), Y26
	VMULPS       Y25, Y26, Y26
	VADDPS       (R11)(DX*1), Y26, Y26
	VMOVUPS      Y26, (R11)(DX*1)
	ADDQ         $4, SI
	ADDQ         R9, R8
	ADDQ         $32, DX
	DECQ         BX
	JNZ          a8one

	// The tree, p[j] first: Z(m) holds rows 2m, 2m+1.
a8tree:
	VMOVUPS 0(R11), Z0
	VMOVUPS 64(R11), Z1
	VMOVUPS 128(R11), Z2
	VMOVUPS 192(R11), Z3
	VMOVUPS 256(R11), Z4
	VMOVUPS 320(R11), Z5
	VMOVUPS 384(R11), Z6
	VMOVUPS 448(R11), Z7
	VMOVUPS 512(R11), Z8
	VMOVUPS 576(R11), Z9
	VMOVUPS 640(R11), Z10
	VMOVUPS 704(R11), Z11
	VMOVUPS 768(R11), Z12
	VMOVUPS 832(R11), Z13
	VMOVUPS 896(R11), Z14
	VMOVUPS 960(R11), Z15
	VADDPS Z8, Z0, Z0
	VADDPS Z9, Z1, Z1
	VADDPS Z10, Z2, Z2
	VADDPS Z11, Z3, Z3
	VADDPS Z12, Z4, Z4
	VADDPS Z13, Z5, Z5
	VADDPS Z14, Z6, Z6
	VADDPS Z15, Z7, Z7
	VADDPS Z4, Z0, Z0
	VADDPS Z5, Z1, Z1
	VADDPS Z6, Z2, Z2
	VADDPS Z7, Z3, Z3
	VADDPS Z2, Z0, Z0
	VADDPS Z3, Z1, Z1
	VADDPS        Z1, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS        Y1, Y0, Y0
	VMOVUPS       Y0, (DI)
	VZEROUPPER
	RET

DATA q8Const<>+0x00(SB)/4, $0x7fffffff // |x| mask
DATA q8Const<>+0x04(SB)/4, $0x42fe0000 // 127
DATA q8Const<>+0x08(SB)/4, $0xc2fe0000 // -127
DATA q8Const<>+0x0c(SB)/4, $0x3f000000 // 0.5
DATA q8Const<>+0x10(SB)/4, $0xbf000000 // -0.5
DATA q8Const<>+0x14(SB)/4, $0x3f800000 // 1
DATA q8Const<>+0x18(SB)/4, $0xbf800000 // -1
DATA q8Const<>+0x1c(SB)/4, $0x7fc00000 // NaN
GLOBL q8Const<>(SB), RODATA|NOPTR, $32

// Q8ROUND(y, t) sets y to RoundQ8(y) as a float (an integer in [-127,
// 127]): t = trunc(y), plus ±1 where y − t (exact) reaches ±0.5 (half away
// from zero), clamped; NaN (and Inf − Inf) becomes 0. Clobbers t, Z20,
// K4, K5.
#define Q8ROUND(y, t) \
	VRNDSCALEPS      $0x0b, y, t; \
	VSUBPS           t, y, Z20; \
	VCMPPS.BCST      $0x1d, q8Const<>+0x0c(SB), Z20, K4; \
	VCMPPS.BCST      $0x12, q8Const<>+0x10(SB), Z20, K5; \
	VADDPS.BCST      q8Const<>+0x14(SB), t, K4, t; \
	VADDPS.BCST      q8Const<>+0x18(SB), t, K5, t; \
	VMINPS.BCST      q8Const<>+0x04(SB), t, t; \
	VMAXPS.BCST      q8Const<>+0x08(SB), t, t; \
	VCMPPS           $3, y, y, K4; \
	VPXORD           t, t, K4, t; \
	VMOVAPS          t, y

// func quantizeQ8AVX512(x *float32, k int, q *int8, d *float32)
//
// quantizeActs: per block of 32, amax = max|x| (NaN if any x is), d =
// f32(amax/127), id = d ≠ 0 ? f32(1/d) : 0, q = RoundQ8(f32(x·id)); the
// last block is padded with q = 0.
TEXT ·quantizeQ8AVX512(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), SI
	MOVQ         k+8(FP), CX
	MOVQ         q+16(FP), DI
	MOVQ         d+24(FP), DX
	VPBROADCASTD q8Const<>+0x00(SB), Z16
	VPXORD       Z17, Z17, Z17

qblock:
	TESTQ CX, CX
	JLE   qdone
	CMPQ  CX, $32
	JGE   qfull
	MOVQ  CX, R8
	CMPQ  R8, $16
	JLE   qsplit
	MOVQ  $16, R8

qsplit:
	LEAQ  mask16<>(SB), AX
	KMOVW (AX)(R8*2), K1
	MOVQ  CX, R8
	SUBQ  $16, R8
	JGE   qhigh
	XORQ  R8, R8

qhigh:
	KMOVW (AX)(R8*2), K2
	JMP   qload

qfull:
	KXNORW K1, K1, K1
	KXNORW K2, K2, K2

qload:
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z 64(SI), K2, Z1

	// amax over the 32 lanes; NaN lanes are set aside and decide at the
	// end (VMAXPS does not propagate NaNs the way max does).
	VPANDD     Z16, Z0, Z2
	VPANDD     Z16, Z1, Z3
	VCMPPS     $3, Z0, Z1, K3
	KORTESTW   K3, K3
	VMAXPS     Z3, Z2, Z2
	VSHUFF32X4 $0x4e, Z2, Z2, Z3
	VMAXPS     Z3, Z2, Z2
	VSHUFF32X4 $0xb1, Z2, Z2, Z3
	VMAXPS     Z3, Z2, Z2
	VPERMILPS  $0x4e, Z2, Z3
	VMAXPS     Z3, Z2, Z2
	VPERMILPS  $0xb1, Z2, Z3
	VMAXPS     Z3, Z2, Z2
	JZ         qnonan
	VPBROADCASTD q8Const<>+0x1c(SB), Z2

qnonan:
	VDIVPS.BCST  q8Const<>+0x04(SB), Z2, Z2 // d = amax/127 in every lane
	VMOVSS       X2, (DX)
	VPXORD       Z3, Z3, Z3
	VCMPPS       $4, Z17, Z2, K3           // d ≠ 0 (true for NaN)
	VBROADCASTSS q8Const<>+0x14(SB), Z4
	VDIVPS       Z2, Z4, K3, Z3            // id
	VMULPS       Z3, Z0, Z0
	VMULPS       Z3, Z1, Z1
	Q8ROUND(Z0, Z4)
	Q8ROUND(Z1, Z5)
	VCVTTPS2DQ   Z0, Z0
	VCVTTPS2DQ   Z1, Z1
	VPMOVDB      Z0, (DI)
	VPMOVDB      Z1, 16(DI)
	ADDQ         $128, SI
	ADDQ         $32, DI
	ADDQ         $4, DX
	SUBQ         $32, CX
	JMP          qblock

qdone:
	VZEROUPPER
	RET

// func argmaxAVX512(x *float32, n int) int
//
// The first index of the largest x (NaN counts as −∞), or 0 when the
// largest is −∞: the greedy choice of SampleRow. Pass 1: the maximum
// (VMAXPS keeps m for NaN, as s > best does); pass 2: its first index.
TEXT ·argmaxAVX512(SB), NOSPLIT, $0-24
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS ·expfTab+E_NEGINF(SB), Z1
	VMOVAPS      Z1, Z5
	MOVQ         SI, DI
	MOVQ         CX, BX
	SHRQ         $4, BX
	JZ           g1tail

g1loop:
	VMOVUPS (DI), Z0
	VMAXPS  Z1, Z0, Z1
	ADDQ    $64, DI
	DECQ    BX
	JNZ     g1loop

g1tail:
	MOVQ      CX, DX
	ANDQ      $15, DX
	JZ        g1max
	TAILMASK(DX, K1)
	VMOVUPS.Z (DI), K1, Z0
	VMAXPS    Z1, Z0, K1, Z1

g1max:
	VSHUFF32X4 $0x4e, Z1, Z1, Z0
	VMAXPS     Z0, Z1, Z1
	VSHUFF32X4 $0xb1, Z1, Z1, Z0
	VMAXPS     Z0, Z1, Z1
	VPERMILPS  $0x4e, Z1, Z0
	VMAXPS     Z0, Z1, Z1
	VPERMILPS  $0xb1, Z1, Z0
	VMAXPS     Z0, Z1, Z1
	VCMPPS     $0, Z5, Z1, K2 // m = −∞: index 0
	KORTESTW   K2, K2
	JNZ        gzero

	XORQ R8, R8
	MOVQ CX, BX
	SHRQ $4, BX
	JZ   g2tail

g2loop:
	VCMPPS   $0, (SI)(R8*4), Z1, K1
	KORTESTW K1, K1
	JNZ      gfound
	ADDQ     $16, R8
	DECQ     BX
	JNZ      g2loop

g2tail:
	MOVQ      CX, DX
	ANDQ      $15, DX
	JZ        gzero
	TAILMASK(DX, K2)
	VMOVUPS.Z (SI)(R8*4), K2, Z0
	VCMPPS    $0, Z0, Z1, K2, K1
	KORTESTW  K1, K1
	JZ        gzero

gfound:
	KMOVW K1, DX
	BSFL  DX, DX
	ADDQ  DX, R8
	MOVQ  R8, ret+16(FP)
	VZEROUPPER
	RET

gzero:
	MOVQ $0, ret+16(FP)
	VZEROUPPER
	RET
