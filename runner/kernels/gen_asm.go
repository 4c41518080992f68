//go:build ignore

// gen_asm writes the Go assembly micro-kernels of package kernels and the Go file that declares
// them. It is a plain text generator (no dependencies): every kernel is unrolled over its register
// tile, so one template per kernel family yields all tile sizes.
//
//	go generate ./runner/kernels/
//
// Files written: zkernels_amd64.s and zkernels_amd64.go.
package main

import (
	"bytes"
	"fmt"
	"go/format"
	"log"
	"os"
	"strings"
)

const buildTag = "//go:build amd64 && !purego\n"

// Tile limits; they must match impl_amd64.go (SGEMM tiles) and conv_direct.go (groups of four).
const (
	avx512MR = 14 // rows of the AVX-512 SGEMM tile
	avx512NV = 2  // zmm vectors (16 floats each) per row of the AVX-512 SGEMM tile
	avx2MR   = 6
	avx2NV   = 2 // ymm vectors (8 floats each)
	convNF   = 4 // rows per call of the narrow Sgemm's dot-product kernels
	convNT   = 4 // taps per call of the filter-gradient kernel
)

type asm struct{ b bytes.Buffer }

func (a *asm) op(format string, args ...any) {
	a.b.WriteString("\t")
	fmt.Fprintf(&a.b, format, args...)
	a.b.WriteString("\n")
}

func (a *asm) label(name string) { fmt.Fprintf(&a.b, "%s:\n", name) }

func (a *asm) text(name string, argSize int) {
	fmt.Fprintf(&a.b, "\n// func %s\nTEXT ·%s(SB), NOSPLIT, $0-%d\n", name, name, argSize)
}

// sgemmArgs is the Go parameter list shared by all SGEMM micro-kernels (88 bytes of arguments).
const sgemmArgs = "(kc int, a *float32, aRowBytes, aKBytes int, b *float32, bKBytes int, c *float32, ldcBytes int, alpha, beta float32, nlast int, load int)"

// rowAddr returns the address of row i of the A micro-panel. Rows 0–6 hang off AX, rows 7–13 off
// DX (= AX + 7·aRow); R8 = aRow, R9 = 3·aRow, R10 = 5·aRow.
func rowAddr(i int) string {
	base := "AX"
	if i >= 7 {
		base = "DX"
	}
	switch i % 7 {
	case 0:
		return "(" + base + ")"
	case 1:
		return "(" + base + ")(R8*1)"
	case 2:
		return "(" + base + ")(R8*2)"
	case 3:
		return "(" + base + ")(R9*1)"
	case 4:
		return "(" + base + ")(R8*4)"
	case 5:
		return "(" + base + ")(R10*1)"
	default:
		return "(" + base + ")(R9*2)"
	}
}

func sgemmPrologue(a *asm, mr int) {
	a.op("MOVQ kc+0(FP), CX")
	a.op("MOVQ a+8(FP), AX")
	a.op("MOVQ aRowBytes+16(FP), R8")
	a.op("MOVQ aKBytes+24(FP), R11")
	a.op("MOVQ b+32(FP), BX")
	a.op("MOVQ bKBytes+40(FP), R12")
	a.op("MOVQ c+48(FP), DI")
	a.op("MOVQ ldcBytes+56(FP), SI")
	a.op("LEAQ (R8)(R8*2), R9")
	a.op("LEAQ (R8)(R8*4), R10")
	if mr > 7 {
		a.op("LEAQ (AX)(R9*2), DX")
		a.op("ADDQ R8, DX")
	}
}

// prefetchDistance is how many k steps ahead of the B row being read the kernels prefetch, as a
// power of two (32 steps: 4 KiB of a packed AVX-512 panel).
const prefetchDistance = 5

// prefetchC starts loading the C tile the epilogue will update (rowBytes per row) and points R14
// prefetchDistance steps ahead of BX.
func prefetchC(a *asm, mr, rowBytes int) {
	a.op("MOVQ R12, R14")
	a.op("SHLQ $%d, R14", prefetchDistance)
	a.op("ADDQ BX, R14")
	a.op("MOVQ DI, R13")
	for i := 0; i < mr; i++ {
		for off := 0; off < rowBytes; off += 64 {
			a.op("PREFETCHT0 %d(R13)", off)
		}
		if i < mr-1 {
			a.op("ADDQ SI, R13")
		}
	}
}

// prefetchB prefetches the B row R14 points at (rowBytes long) and advances R14 by one step.
func prefetchB(a *asm, rowBytes int) {
	for off := 0; off < rowBytes; off += 64 {
		a.op("PREFETCHT0 %d(R14)", off)
	}
	a.op("ADDQ R12, R14")
}

// kLoop emits the k loop, unrolled by four, around step.
func kLoop(a *asm, name string, mr int, step func()) {
	advance := func() {
		a.op("ADDQ R11, AX")
		if mr > 7 {
			a.op("ADDQ R11, DX")
		}
		a.op("ADDQ R12, BX")
	}
	a.op("CMPQ CX, $4")
	a.op("JLT %s_tail", name)
	a.label(name + "_k4")
	for u := 0; u < 4; u++ {
		step()
		advance()
	}
	a.op("SUBQ $4, CX")
	a.op("CMPQ CX, $4")
	a.op("JGE %s_k4", name)
	a.label(name + "_tail")
	a.op("TESTQ CX, CX")
	a.op("JZ %s_kdone", name)
	a.label(name + "_k1")
	step()
	advance()
	a.op("DECQ CX")
	a.op("JNZ %s_k1", name)
	a.label(name + "_kdone")
}

// genSgemmAVX512 writes the mr×(16·nv) AVX-512 micro-kernel. Accumulator (i, v) is Z(i·nv+v);
// Z28, Z29 hold the B row, Z30, Z31 the broadcast A element. The last vector of each C row is
// read and written under mask K1 = (1<<nlast)-1.
func genSgemmAVX512(a *asm, mr, nv int) string {
	name := fmt.Sprintf("sgemmAVX512M%dN%d", mr, nv)
	a.text(name, 88)
	sgemmPrologue(a, mr)
	acc := func(i, v int) string { return fmt.Sprintf("Z%d", i*nv+v) }
	for i := 0; i < mr; i++ {
		for v := 0; v < nv; v++ {
			a.op("VPXORD %s, %s, %s", acc(i, v), acc(i, v), acc(i, v))
		}
	}
	prefetchC(a, mr, 64*nv)
	kLoop(a, name, mr, func() {
		prefetchB(a, 64*nv)
		for v := 0; v < nv; v++ {
			a.op("VMOVUPS %d(BX), Z%d", 64*v, 28+v)
		}
		for i := 0; i < mr; i++ {
			if nv == 1 {
				a.op("VFMADD231PS.BCST %s, Z28, %s", rowAddr(i), acc(i, 0))
				continue
			}
			t := fmt.Sprintf("Z%d", 30+i%2)
			a.op("VBROADCASTSS %s, %s", rowAddr(i), t)
			for v := 0; v < nv; v++ {
				a.op("VFMADD231PS Z%d, %s, %s", 28+v, t, acc(i, v))
			}
		}
	})
	a.op("MOVQ nlast+72(FP), CX")
	a.op("MOVL $1, R13")
	a.op("SHLL CX, R13")
	a.op("DECL R13")
	a.op("KMOVW R13, K1")
	a.op("VBROADCASTSS alpha+64(FP), Z28")
	a.op("VBROADCASTSS beta+68(FP), Z29")
	for i := 0; i < mr; i++ {
		for v := 0; v < nv; v++ {
			a.op("VMULPS Z28, %s, %s", acc(i, v), acc(i, v))
		}
	}
	a.op("MOVQ load+80(FP), R13")
	a.op("TESTQ R13, R13")
	a.op("JZ %s_store", name)
	for i := 0; i < mr; i++ {
		for v := 0; v < nv; v++ {
			if v == nv-1 {
				a.op("VMOVUPS.Z %d(DI), K1, Z30", 64*v)
				a.op("VFMADD231PS Z29, Z30, %s", acc(i, v))
				a.op("VMOVUPS %s, K1, %d(DI)", acc(i, v), 64*v)
			} else {
				a.op("VFMADD231PS %d(DI), Z29, %s", 64*v, acc(i, v))
				a.op("VMOVUPS %s, %d(DI)", acc(i, v), 64*v)
			}
		}
		if i < mr-1 {
			a.op("ADDQ SI, DI")
		}
	}
	a.op("VZEROUPPER")
	a.op("RET")
	a.label(name + "_store")
	for i := 0; i < mr; i++ {
		for v := 0; v < nv; v++ {
			if v == nv-1 {
				a.op("VMOVUPS %s, K1, %d(DI)", acc(i, v), 64*v)
			} else {
				a.op("VMOVUPS %s, %d(DI)", acc(i, v), 64*v)
			}
		}
		if i < mr-1 {
			a.op("ADDQ SI, DI")
		}
	}
	a.op("VZEROUPPER")
	a.op("RET")
	return name
}

// genSgemmAVX2 writes the mr×(8·nv) AVX2+FMA micro-kernel. Accumulator (i, v) is Y(i·nv+v); Y12,
// Y13 hold the B row, Y14 the broadcast A element and Y15 the lane mask of a partial last vector.
func genSgemmAVX2(a *asm, mr, nv int) string {
	name := fmt.Sprintf("sgemmAVX2M%dN%d", mr, nv)
	a.text(name, 88)
	sgemmPrologue(a, mr)
	acc := func(i, v int) string { return fmt.Sprintf("Y%d", i*nv+v) }
	for i := 0; i < mr; i++ {
		for v := 0; v < nv; v++ {
			a.op("VXORPS %s, %s, %s", acc(i, v), acc(i, v), acc(i, v))
		}
	}
	prefetchC(a, mr, 32*nv)
	kLoop(a, name, mr, func() {
		prefetchB(a, 32*nv)
		for v := 0; v < nv; v++ {
			a.op("VMOVUPS %d(BX), Y%d", 32*v, 12+v)
		}
		bc := "Y14"
		if nv == 3 {
			bc = "Y15"
		}
		for i := 0; i < mr; i++ {
			a.op("VBROADCASTSS %s, %s", rowAddr(i), bc)
			for v := 0; v < nv; v++ {
				a.op("VFMADD231PS Y%d, %s, %s", 12+v, bc, acc(i, v))
			}
		}
	})
	a.op("VBROADCASTSS alpha+64(FP), Y12")
	a.op("VBROADCASTSS beta+68(FP), Y13")
	for i := 0; i < mr; i++ {
		for v := 0; v < nv; v++ {
			a.op("VMULPS Y12, %s, %s", acc(i, v), acc(i, v))
		}
	}
	a.op("MOVQ load+80(FP), R13")
	a.op("MOVQ nlast+72(FP), CX")
	a.op("CMPQ CX, $8")
	a.op("JEQ %s_full", name)
	// Mask of nlast ones: eight ones followed by eight zeros, read from lane 8-nlast.
	a.op("LEAQ avx2LaneMask<>+32(SB), R12")
	a.op("SHLQ $2, CX")
	a.op("SUBQ CX, R12")
	a.op("VMOVDQU (R12), Y15")
	epilogue := func(masked, load bool) {
		for i := 0; i < mr; i++ {
			for v := 0; v < nv; v++ {
				off := 32 * v
				if masked && v == nv-1 {
					if load {
						a.op("VMASKMOVPS %d(DI), Y15, Y14", off)
						a.op("VFMADD231PS Y13, Y14, %s", acc(i, v))
					}
					a.op("VMASKMOVPS %s, Y15, %d(DI)", acc(i, v), off)
					continue
				}
				if load {
					a.op("VFMADD231PS %d(DI), Y13, %s", off, acc(i, v))
				}
				a.op("VMOVUPS %s, %d(DI)", acc(i, v), off)
			}
			if i < mr-1 {
				a.op("ADDQ SI, DI")
			}
		}
		a.op("VZEROUPPER")
		a.op("RET")
	}
	a.op("TESTQ R13, R13")
	a.op("JZ %s_mstore", name)
	epilogue(true, true)
	a.label(name + "_mstore")
	epilogue(true, false)
	a.label(name + "_full")
	a.op("TESTQ R13, R13")
	a.op("JZ %s_fstore", name)
	epilogue(false, true)
	a.label(name + "_fstore")
	epilogue(false, false)
	return name
}

// convTapsOutArgs is the parameter list of the tap kernels that store into the output (72 bytes).
const convTapsOutArgs = "(y *float32, yStrideBytes int, x *float32, offs *int32, w *float32, ntaps int, nblocks int, tbl *int32, bias *float32)"

// convTapsOutNF is the most output planes per call of the tap kernels that store into the
// output; convTapsOutFits says which tiles of nf planes × nv vectors are generated (their
// accumulators, nv x vectors, a broadcast and a temporary fit the 32 zmm registers).
const convTapsOutNF = 8

func convTapsOutFits(nf, nv int) bool { return nv <= 4 && nf*nv <= 24 }

// genConvTapsOut writes the direct-convolution tap kernel for nf output planes over blocks of nv
// vectors of 16 floats that stores the valid positions of each vector straight into the output
// planes instead of a grid: entry v of tbl (two int32 per vector of the block sequence) holds the
// vector's valid-lane mask in its low 16 bits, the mask of as many low lanes in its high 16 bits,
// and the output index of its first valid lane; the valid lanes are compressed (VCOMPRESSPS) and
// stored there. Plane f's output is y + f·yStrideBytes; bias, when not nil, adds bias[f] to plane
// f before the store. Accumulator (f, v) is Z(nv·f+v), Z24–Z27 hold x, Z28 the broadcast
// weight, Z29 the compressed vector.
func genConvTapsOut(a *asm, nf, nv int) string {
	name := fmt.Sprintf("convTapsOutAVX512F%dV%d", nf, nv)
	a.text(name, 72)
	a.op("MOVQ y+0(FP), DI")
	a.op("MOVQ yStrideBytes+8(FP), SI")
	a.op("MOVQ x+16(FP), AX")
	a.op("MOVQ nblocks+48(FP), CX")
	a.op("MOVQ tbl+56(FP), R8")
	a.op("MOVQ bias+64(FP), BX")
	a.op("LEAQ (DI)(SI*1), DX")
	a.op("LEAQ (DI)(SI*2), R10")
	a.op("TESTQ CX, CX")
	a.op("JZ %s_done", name)
	acc := func(f, v int) string { return fmt.Sprintf("Z%d", nv*f+v) }
	a.label(name + "_block")
	for f := 0; f < nf; f++ {
		for v := 0; v < nv; v++ {
			a.op("VPXORD %s, %s, %s", acc(f, v), acc(f, v), acc(f, v))
		}
	}
	a.op("MOVQ offs+24(FP), R12")
	a.op("MOVQ w+32(FP), R14")
	a.op("MOVQ ntaps+40(FP), R11")
	a.op("TESTQ R11, R11")
	a.op("JZ %s_store", name)
	a.label(name + "_tap")
	a.op("MOVLQSX (R12), R13")
	for v := 0; v < nv; v++ {
		a.op("VMOVUPS %d(AX)(R13*4), Z%d", 64*v, 24+v)
	}
	for f := 0; f < nf; f++ {
		a.op("VBROADCASTSS %d(R14), Z28", 4*f)
		for v := 0; v < nv; v++ {
			a.op("VFMADD231PS Z%d, Z28, %s", 24+v, acc(f, v))
		}
	}
	a.op("ADDQ $4, R12")
	a.op("ADDQ $%d, R14", 4*nf)
	a.op("DECQ R11")
	a.op("JNZ %s_tap", name)
	convTapsOutStore(a, name, nf, nv, acc)
	return name
}

// convTapsOutStore writes the end of genConvTapsOut's block loop: the bias added when there is
// one, each accumulator's valid lanes compressed into its output plane by the block's table, and
// the step to the next block.
func convTapsOutStore(a *asm, name string, nf, nv int, acc func(f, v int) string) {
	a.label(name + "_store")
	a.op("TESTQ BX, BX")
	a.op("JZ %s_nobias", name)
	for f := 0; f < nf; f++ {
		for v := 0; v < nv; v++ {
			a.op("VADDPS.BCST %d(BX), %s, %s", 4*f, acc(f, v), acc(f, v))
		}
	}
	a.label(name + "_nobias")
	// Output plane bases: DI, DX, R10 for planes 0–2 (set once), R11 for plane 3, R12 for plane
	// 4, and R13 computed from R12 for planes 5–7 (the tap loop's registers are free here).
	if nf > 3 {
		a.op("LEAQ (SI)(SI*2), R11")
		a.op("ADDQ DI, R11")
	}
	if nf > 4 {
		a.op("LEAQ (DI)(SI*4), R12")
	}
	plane := func(f int) string {
		switch f {
		case 5:
			a.op("LEAQ (R12)(SI*1), R13")
		case 6:
			a.op("LEAQ (R12)(SI*2), R13")
		case 7:
			a.op("LEAQ (SI)(SI*2), R13")
			a.op("ADDQ R12, R13")
		}
		return []string{"DI", "DX", "R10", "R11", "R12", "R13", "R13", "R13"}[f]
	}
	for v := 0; v < nv; v++ {
		a.op("KMOVW %d(R8), K2", 8*v)
		a.op("KMOVW %d(R8), K3", 8*v+2)
		a.op("MOVLQSX %d(R8), R9", 8*v+4)
		for f := 0; f < nf; f++ {
			a.op("VCOMPRESSPS %s, K2, Z29", acc(f, v))
			a.op("VMOVUPS Z29, K3, (%s)(R9*4)", plane(f))
		}
	}
	a.op("ADDQ $%d, AX", 64*nv)
	a.op("ADDQ $%d, R8", 8*nv)
	a.op("DECQ CX")
	a.op("JNZ %s_block", name)
	a.label(name + "_done")
	a.op("VZEROUPPER")
	a.op("RET")
}

// convDotArgs is the parameter list of the filter-gradient kernels (56 bytes).
const convDotArgs = "(dy *float32, dyStrideBytes int, x *float32, offs *int32, nblocks int, out *float32, outStrideBytes int)"

// genConvDot writes the kernel that forms nf×nt dot products of dy planes with shifted copies of x
// over nblocks blocks of 16 floats and adds them to out: out[f·outStride+t] += Σ_q dy[f][q]·x[offs[t]+q].
// Accumulator (f, t) is Z(f·nt+t); Z16–Z19 hold dy, Z20–Z23 hold x; Z24 is the reduction temporary.
func genConvDot(a *asm, nf, nt int) string {
	name := fmt.Sprintf("convDotAVX512F%dT%d", nf, nt)
	a.text(name, 56)
	a.op("MOVQ dy+0(FP), DI")
	a.op("MOVQ dyStrideBytes+8(FP), SI")
	a.op("MOVQ x+16(FP), AX")
	a.op("MOVQ offs+24(FP), R12")
	a.op("MOVQ nblocks+32(FP), CX")
	a.op("LEAQ (SI)(SI*2), R13")
	tapReg := []string{"R8", "R9", "R10", "R11"}
	for t := 0; t < nt; t++ {
		a.op("MOVLQSX %d(R12), %s", 4*t, tapReg[t])
	}
	acc := func(f, t int) int { return f*nt + t }
	for f := 0; f < nf; f++ {
		for t := 0; t < nt; t++ {
			i := acc(f, t)
			a.op("VPXORD Z%d, Z%d, Z%d", i, i, i)
		}
	}
	dyAddr := []string{"(DI)", "(DI)(SI*1)", "(DI)(SI*2)", "(DI)(R13*1)"}
	a.op("TESTQ CX, CX")
	a.op("JZ %s_reduce", name)
	a.label(name + "_loop")
	for f := 0; f < nf; f++ {
		a.op("VMOVUPS %s, Z%d", dyAddr[f], 16+f)
	}
	for t := 0; t < nt; t++ {
		a.op("VMOVUPS (AX)(%s*4), Z%d", tapReg[t], 20+t)
	}
	for f := 0; f < nf; f++ {
		for t := 0; t < nt; t++ {
			a.op("VFMADD231PS Z%d, Z%d, Z%d", 20+t, 16+f, acc(f, t))
		}
	}
	a.op("ADDQ $64, DI")
	a.op("ADDQ $64, AX")
	a.op("DECQ CX")
	a.op("JNZ %s_loop", name)
	a.label(name + "_reduce")
	a.op("MOVQ out+40(FP), DI")
	a.op("MOVQ outStrideBytes+48(FP), SI")
	for f := 0; f < nf; f++ {
		for t := 0; t < nt; t++ {
			i := acc(f, t)
			a.op("VEXTRACTF64X4 $1, Z%d, Y24", i)
			a.op("VADDPS Y24, Y%d, Y%d", i, i)
			a.op("VEXTRACTF32X4 $1, Y%d, X24", i)
			a.op("VADDPS X24, X%d, X%d", i, i)
			a.op("VPERMILPS $0x4E, X%d, X24", i)
			a.op("VADDPS X24, X%d, X%d", i, i)
			a.op("VPERMILPS $0xB1, X%d, X24", i)
			a.op("VADDPS X24, X%d, X%d", i, i)
			a.op("VADDSS %d(DI), X%d, X%d", 4*t, i, i)
			a.op("VMOVSS X%d, %d(DI)", i, 4*t)
		}
		if f < nf-1 {
			a.op("ADDQ SI, DI")
		}
	}
	a.op("VZEROUPPER")
	a.op("RET")
	return name
}

// convDotVecNF and convDotVecNT bound the tiles of the vector filter-gradient kernels; a tile is
// generated when its nf·nt accumulators, min(nf, nt) operands held in registers and two streamed
// ones fit the 32 zmm registers.
const (
	convDotVecNF = 8
	convDotVecNT = 6
)

// convDotVecFits reports whether the nf×nt vector dot-product tile fits the zmm registers.
func convDotVecFits(nf, nt int) bool { return nf*nt+min(nf, nt)+2 <= 32 }

// convDotVecArgs is the parameter list of the lane-wise filter-gradient kernels (64 bytes).
const convDotVecArgs = "(dy *float32, dyStrideBytes int, x *float32, offs *int32, nblocks int, out *float32, outStrideBytes int, tail int, dw *float32, dwStrideBytes int, mode int)"

// genConvDotVec writes the kernel that forms nf×nt lane-wise dot products of dy planes with
// shifted copies of x over nblocks blocks of 16 floats and then tail < 16 more floats, giving
// each (f, t) the 16 lane sums acc[l] = Σ_q dy[f][q]·x[offs[t]+q] over q ≡ l (mod 16). Vector
// (f, t) of out is at out + f·outStrideBytes + 64t. With mode bit 0 the vector is added to acc;
// then with bit 1 the 16 lanes are summed (lanes l and l+8, then l and l+4, l+2, l+1) into
// dw[f·dwStride + t], else acc is stored to the vector. Leaving the sums in lanes saves the
// horizontal reduction on all but the last example of a batch. The tail is read under mask K1,
// so nothing past it is touched. Accumulator (f, t) is Z(f·nt+t). The smaller side of the tile
// (dy planes or x taps) is loaded into registers once per block, the other side streamed
// through two temporaries.
func genConvDotVec(a *asm, nf, nt int) string {
	name := fmt.Sprintf("convDotVecAVX512F%dT%d", nf, nt)
	a.text(name, 88)
	a.op("MOVQ dy+0(FP), DI")
	a.op("MOVQ dyStrideBytes+8(FP), SI")
	a.op("MOVQ x+16(FP), AX")
	a.op("MOVQ offs+24(FP), R12")
	a.op("MOVQ tail+56(FP), CX")
	tailMask(a, "CX", "K1")
	a.op("MOVQ nblocks+32(FP), CX")
	a.op("LEAQ (SI)(SI*2), R13")
	a.op("LEAQ (DI)(SI*4), DX")
	tapReg := []string{"R8", "R9", "R10", "R11", "R14", "BX"}
	for t := 0; t < nt; t++ {
		a.op("MOVLQSX %d(R12), %s", 4*t, tapReg[t])
	}
	acc := func(f, t int) int { return f*nt + t }
	for f := 0; f < nf; f++ {
		for t := 0; t < nt; t++ {
			i := acc(f, t)
			a.op("VPXORD Z%d, Z%d, Z%d", i, i, i)
		}
	}
	// Plane f of dy: planes 0–3 off DI, 4–7 off DX = DI + 4·dyStride.
	dyAt := func(f int) string {
		base := "DI"
		if f >= 4 {
			base = "DX"
		}
		return fmt.Sprintf([...]string{"(%s)", "(%s)(SI*1)", "(%s)(SI*2)", "(%s)(R13*1)"}[f%4], base)
	}
	xAt := func(t int) string { return fmt.Sprintf("(AX)(%s*4)", tapReg[t]) }
	held := nf * nt // first register of the operands held over a block
	tmp := held + min(nf, nt)
	block := func(load string) {
		if nf <= nt {
			for f := 0; f < nf; f++ {
				a.op("VMOVUPS%s %s, %sZ%d", load, dyAt(f), mask(load), held+f)
			}
			for t := 0; t < nt; t++ {
				z := tmp + t%2
				a.op("VMOVUPS%s %s, %sZ%d", load, xAt(t), mask(load), z)
				for f := 0; f < nf; f++ {
					a.op("VFMADD231PS Z%d, Z%d, Z%d", z, held+f, acc(f, t))
				}
			}
			return
		}
		for t := 0; t < nt; t++ {
			a.op("VMOVUPS%s %s, %sZ%d", load, xAt(t), mask(load), held+t)
		}
		for f := 0; f < nf; f++ {
			z := tmp + f%2
			a.op("VMOVUPS%s %s, %sZ%d", load, dyAt(f), mask(load), z)
			for t := 0; t < nt; t++ {
				a.op("VFMADD231PS Z%d, Z%d, Z%d", held+t, z, acc(f, t))
			}
		}
	}
	a.op("TESTQ CX, CX")
	a.op("JZ %s_tail", name)
	a.label(name + "_loop")
	block("")
	a.op("ADDQ $64, DI")
	a.op("ADDQ $64, DX")
	a.op("ADDQ $64, AX")
	a.op("DECQ CX")
	a.op("JNZ %s_loop", name)
	a.label(name + "_tail")
	a.op("MOVQ tail+56(FP), CX")
	a.op("TESTQ CX, CX")
	a.op("JZ %s_store", name)
	block(".Z")
	convDotVecStore(a, name, nf, nt)
	return name
}

// convDotVecStore writes the end of genConvDotVec's kernel: the nf×nt accumulators added to out
// (mode bit 0), then stored there or reduced into dw (mode bit 1).
func convDotVecStore(a *asm, name string, nf, nt int) {
	acc := func(f, t int) int { return f*nt + t }
	a.label(name + "_store")
	a.op("MOVQ out+40(FP), DI")
	a.op("MOVQ outStrideBytes+48(FP), SI")
	a.op("MOVQ mode+80(FP), R8")
	a.op("TESTQ $1, R8")
	a.op("JZ %s_fresh", name)
	a.op("MOVQ DI, R9")
	for f := 0; f < nf; f++ {
		for t := 0; t < nt; t++ {
			i := acc(f, t)
			a.op("VADDPS %d(R9), Z%d, Z%d", 64*t, i, i)
		}
		if f < nf-1 {
			a.op("ADDQ SI, R9")
		}
	}
	a.label(name + "_fresh")
	a.op("TESTQ $2, R8")
	a.op("JNZ %s_reduce", name)
	for f := 0; f < nf; f++ {
		for t := 0; t < nt; t++ {
			a.op("VMOVUPS Z%d, %d(DI)", acc(f, t), 64*t)
		}
		if f < nf-1 {
			a.op("ADDQ SI, DI")
		}
	}
	a.op("VZEROUPPER")
	a.op("RET")
	a.label(name + "_reduce")
	a.op("MOVQ dw+64(FP), DI")
	a.op("MOVQ dwStrideBytes+72(FP), SI")
	tmpZ := 31
	for f := 0; f < nf; f++ {
		for t := 0; t < nt; t++ {
			i := acc(f, t)
			a.op("VEXTRACTF64X4 $1, Z%d, Y%d", i, tmpZ)
			a.op("VADDPS Y%d, Y%d, Y%d", tmpZ, i, i)
			a.op("VEXTRACTF32X4 $1, Y%d, X%d", i, tmpZ)
			a.op("VADDPS X%d, X%d, X%d", tmpZ, i, i)
			a.op("VPERMILPS $0x4E, X%d, X%d", i, tmpZ)
			a.op("VADDPS X%d, X%d, X%d", tmpZ, i, i)
			a.op("VPERMILPS $0xB1, X%d, X%d", i, tmpZ)
			a.op("VADDPS X%d, X%d, X%d", tmpZ, i, i)
			a.op("VMOVSS X%d, %d(DI)", i, 4*t)
		}
		if f < nf-1 {
			a.op("ADDQ SI, DI")
		}
	}
	a.op("VZEROUPPER")
	a.op("RET")
}

// mask is the mask operand of a load with suffix load: "K1, " for the zeroing masked load ".Z".
func mask(load string) string {
	if load == "" {
		return ""
	}
	return "K1, "
}

// copyRowsArgs is the parameter list of the strided row copy (64 bytes).
const copyRowsArgs = "(dst *float32, dstStrideBytes int, src *float32, srcStrideBytes int, rows int, cols int, bias float32, add int)"

// genCopyRows writes copyRowsAVX512: dst row r = src row r (add 0), + bias (add 1), or
// dst row r += src row r (add 2), for r < rows, cols floats per row, the tail of each row under
// a mask.
func genCopyRows(a *asm) string {
	name := "copyRowsAVX512"
	a.text(name, 64)
	a.op("MOVQ dst+0(FP), DI")
	a.op("MOVQ dstStrideBytes+8(FP), R8")
	a.op("MOVQ src+16(FP), SI")
	a.op("MOVQ srcStrideBytes+24(FP), R9")
	a.op("MOVQ rows+32(FP), DX")
	a.op("MOVQ cols+40(FP), R10")
	a.op("MOVQ add+56(FP), R11")
	// K1 masks the cols%16 tail lanes.
	a.op("MOVQ R10, CX")
	a.op("ANDQ $15, CX")
	a.op("MOVL $1, R12")
	a.op("SHLL CX, R12")
	a.op("DECL R12")
	a.op("KMOVW R12, K1")
	a.op("SHRQ $4, R10")
	a.op("TESTQ DX, DX")
	a.op("JZ %s_done", name)
	a.op("TESTQ R11, R11")
	a.op("JZ %s_plain", name)
	a.op("CMPQ R11, $2")
	a.op("JEQ %s_acc", name)
	a.op("VBROADCASTSS bias+48(FP), Z1")
	for _, mode := range []string{"bias", "acc", "plain"} {
		suffix := "_" + mode
		a.label(name + suffix)
		a.op("MOVQ DI, R13")
		a.op("MOVQ SI, R14")
		a.op("MOVQ R10, CX")
		a.op("TESTQ CX, CX")
		a.op("JZ %s%s_tail", name, suffix)
		a.label(name + suffix + "_vec")
		a.op("VMOVUPS (R14), Z0")
		switch mode {
		case "bias":
			a.op("VADDPS Z1, Z0, Z0")
		case "acc":
			a.op("VADDPS (R13), Z0, Z0")
		}
		a.op("VMOVUPS Z0, (R13)")
		a.op("ADDQ $64, R13")
		a.op("ADDQ $64, R14")
		a.op("DECQ CX")
		a.op("JNZ %s%s_vec", name, suffix)
		a.label(name + suffix + "_tail")
		a.op("VMOVUPS.Z (R14), K1, Z0")
		switch mode {
		case "bias":
			a.op("VADDPS Z1, Z0, Z0")
		case "acc":
			a.op("VMOVUPS.Z (R13), K1, Z2")
			a.op("VADDPS Z2, Z0, Z0")
		}
		a.op("VMOVUPS Z0, K1, (R13)")
		a.op("ADDQ R8, DI")
		a.op("ADDQ R9, SI")
		a.op("DECQ DX")
		a.op("JNZ %s%s", name, suffix)
		a.op("JMP %s_done", name)
	}
	a.label(name + "_done")
	a.op("VZEROUPPER")
	a.op("RET")
	return name
}

// transposeArgs is the parameter list of the 16×16 transpose kernel (48 bytes).
const transposeArgs = "(src *float32, srcStrideBytes int, dst *float32, dstStrideBytes int, nrows int, ncols int, nstore int)"

// genTranspose writes transposeAVX512: dst[c][r] = src[r][c] for r < nrows, c < ncols (both
// 1…16), writing nstore ≥ nrows lanes of each dst row (lanes nrows…nstore-1 get zeros). Rows are
// loaded into Z0–Z15 under mask K1 = ncols ones, transposed through Z16–Z31 with the classic
// unpack / shuffle / 128-bit-lane shuffle network, and stored under mask K2 = nstore ones.
func genTranspose(a *asm) string {
	name := "transposeAVX512"
	a.text(name, 56)
	a.op("MOVQ src+0(FP), SI")
	a.op("MOVQ srcStrideBytes+8(FP), DX")
	a.op("MOVQ dst+16(FP), DI")
	a.op("MOVQ dstStrideBytes+24(FP), R8")
	a.op("MOVQ nrows+32(FP), R9")
	a.op("MOVQ ncols+40(FP), R10")
	a.op("MOVQ R10, CX")
	a.op("MOVL $1, R11")
	a.op("SHLL CX, R11")
	a.op("DECL R11")
	a.op("KMOVW R11, K1")
	a.op("MOVQ nstore+48(FP), CX")
	a.op("MOVL $1, R11")
	a.op("SHLL CX, R11")
	a.op("DECL R11")
	a.op("KMOVW R11, K2")
	for r := 1; r < 16; r++ {
		a.op("VPXORD Z%d, Z%d, Z%d", r, r, r)
	}
	a.op("VMOVUPS.Z (SI), K1, Z0")
	for r := 1; r < 16; r++ {
		a.op("CMPQ R9, $%d", r+1)
		a.op("JLT %s_loaded", name)
		a.op("ADDQ DX, SI")
		a.op("VMOVUPS.Z (SI), K1, Z%d", r)
	}
	a.label(name + "_loaded")
	z := func(i int) string { return fmt.Sprintf("Z%d", i) }
	t := func(i int) string { return fmt.Sprintf("Z%d", 16+i) }
	// Stage 1: interleave row pairs.
	for i := 0; i < 16; i += 2 {
		a.op("VUNPCKLPS %s, %s, %s", z(i+1), z(i), t(i))
		a.op("VUNPCKHPS %s, %s, %s", z(i+1), z(i), t(i+1))
	}
	// Stage 2: 4×4 blocks within 128-bit lanes.
	for g := 0; g < 16; g += 4 {
		a.op("VSHUFPS $0x44, %s, %s, %s", t(g+2), t(g), z(g))
		a.op("VSHUFPS $0xEE, %s, %s, %s", t(g+2), t(g), z(g+1))
		a.op("VSHUFPS $0x44, %s, %s, %s", t(g+3), t(g+1), z(g+2))
		a.op("VSHUFPS $0xEE, %s, %s, %s", t(g+3), t(g+1), z(g+3))
	}
	// Stage 3 and 4: 128-bit lanes.
	for h := 0; h < 16; h += 8 {
		for i := 0; i < 4; i++ {
			a.op("VSHUFF32X4 $0x88, %s, %s, %s", z(h+i+4), z(h+i), t(h+i))
			a.op("VSHUFF32X4 $0xDD, %s, %s, %s", z(h+i+4), z(h+i), t(h+i+4))
		}
	}
	for i := 0; i < 8; i++ {
		a.op("VSHUFF32X4 $0x88, %s, %s, %s", t(i+8), t(i), z(i))
		a.op("VSHUFF32X4 $0xDD, %s, %s, %s", t(i+8), t(i), z(i+8))
	}
	a.op("VMOVUPS Z0, K2, (DI)")
	for c := 1; c < 16; c++ {
		a.op("CMPQ R10, $%d", c+1)
		a.op("JLT %s_done", name)
		a.op("ADDQ R8, DI")
		a.op("VMOVUPS Z%d, K2, (DI)", c)
	}
	a.label(name + "_done")
	a.op("VZEROUPPER")
	a.op("RET")
	return name
}

// tailMask sets mask register k to (reg & 15) low ones, clobbering CX and R13.
func tailMask(a *asm, reg, k string) {
	a.op("MOVQ %s, CX", reg)
	a.op("ANDQ $15, CX")
	a.op("MOVL $1, R13")
	a.op("SHLL CX, R13")
	a.op("DECL R13")
	a.op("KMOVW R13, %s", k)
}

// biasActArgs: y[i] = y[i] + bias, then max(·, 0) when relu ≠ 0, for i < n (32 bytes).
const biasActArgs = "(y *float32, n int, bias float32, relu int)"

func genBiasAct(a *asm) string {
	name := "biasActAVX512"
	a.text(name, 32)
	a.op("MOVQ y+0(FP), DI")
	a.op("MOVQ n+8(FP), DX")
	a.op("VBROADCASTSS bias+16(FP), Z1")
	a.op("VPXORD Z2, Z2, Z2")
	tailMask(a, "DX", "K1")
	a.op("SHRQ $4, DX")
	a.op("MOVQ relu+24(FP), R8")
	for _, relu := range []bool{true, false} {
		l := name + "_add"
		if relu {
			l = name + "_relu"
			a.op("TESTQ R8, R8")
			a.op("JZ %s_add", name)
		}
		a.label(l)
		op := func(z string) {
			a.op("VADDPS Z1, %s, %s", z, z)
			if relu {
				a.op("VMAXPS %s, Z2, %s", z, z)
			}
		}
		mapVectors(a, l, "DI", "DI", op)
	}
	return name
}

// mapVectors writes the loop, labelled l, that sets the floats at dst to op of those at src (the
// same register for in place), for DX full vectors four at a time, then one at a time, then the
// tail under K1, and returns. op transforms one zmm register in place; Z4–Z7 hold the data.
func mapVectors(a *asm, l, src, dst string, op func(z string)) {
	advance := func(bytes int) {
		if src != dst {
			a.op("ADDQ $%d, %s", bytes, src)
		}
		a.op("ADDQ $%d, %s", bytes, dst)
	}
	a.op("CMPQ DX, $4")
	a.op("JLT %s_one", l)
	a.label(l + "_four")
	for v := 0; v < 4; v++ {
		a.op("VMOVUPS %d(%s), Z%d", 64*v, src, 4+v)
		op(fmt.Sprintf("Z%d", 4+v))
		a.op("VMOVUPS Z%d, %d(%s)", 4+v, 64*v, dst)
	}
	advance(256)
	a.op("SUBQ $4, DX")
	a.op("CMPQ DX, $4")
	a.op("JGE %s_four", l)
	a.label(l + "_one")
	a.op("TESTQ DX, DX")
	a.op("JZ %s_tail", l)
	a.op("VMOVUPS (%s), Z4", src)
	op("Z4")
	a.op("VMOVUPS Z4, (%s)", dst)
	advance(64)
	a.op("DECQ DX")
	a.op("JMP %s_one", l)
	a.label(l + "_tail")
	a.op("VMOVUPS.Z (%s), K1, Z4", src)
	op("Z4")
	a.op("VMOVUPS Z4, K1, (%s)", dst)
	a.op("VZEROUPPER")
	a.op("RET")
}

// addBiasRowsArgs: y[i][j] += bias[j] (then max(·, 0) when relu ≠ 0) for i < m, j < n (48 bytes).
const addBiasRowsArgs = "(y *float32, ldyBytes int, m int, n int, bias *float32, relu int)"

func genAddBiasRows(a *asm) string {
	name := "addBiasRowsAVX512"
	a.text(name, 48)
	a.op("MOVQ y+0(FP), DI")
	a.op("MOVQ ldyBytes+8(FP), R8")
	a.op("MOVQ m+16(FP), R9")
	a.op("MOVQ n+24(FP), R10")
	a.op("MOVQ bias+32(FP), SI")
	a.op("MOVQ relu+40(FP), R11")
	a.op("VPXORD Z2, Z2, Z2")
	tailMask(a, "R10", "K1")
	a.op("SHRQ $4, R10")
	a.op("TESTQ R9, R9")
	a.op("JZ %s_done", name)
	a.label(name + "_row")
	a.op("MOVQ DI, AX")
	a.op("MOVQ SI, BX")
	a.op("MOVQ R10, DX")
	a.op("TESTQ DX, DX")
	a.op("JZ %s_tail", name)
	a.label(name + "_vec")
	a.op("VMOVUPS (AX), Z4")
	a.op("VADDPS (BX), Z4, Z4")
	a.op("TESTQ R11, R11")
	a.op("JZ %s_vstore", name)
	a.op("VMAXPS Z4, Z2, Z4")
	a.label(name + "_vstore")
	a.op("VMOVUPS Z4, (AX)")
	a.op("ADDQ $64, AX")
	a.op("ADDQ $64, BX")
	a.op("DECQ DX")
	a.op("JNZ %s_vec", name)
	a.label(name + "_tail")
	a.op("VMOVUPS.Z (AX), K1, Z4")
	a.op("VMOVUPS.Z (BX), K1, Z5")
	a.op("VADDPS Z5, Z4, Z4")
	a.op("TESTQ R11, R11")
	a.op("JZ %s_tstore", name)
	a.op("VMAXPS Z4, Z2, Z4")
	a.label(name + "_tstore")
	a.op("VMOVUPS Z4, K1, (AX)")
	a.op("ADDQ R8, DI")
	a.op("DECQ R9")
	a.op("JNZ %s_row", name)
	a.label(name + "_done")
	a.op("VZEROUPPER")
	a.op("RET")
	return name
}

// reluBackwardArgs: dx[i] = dy[i] where y[i] > 0, else 0, for i < n (32 bytes).
const reluBackwardArgs = "(y *float32, dy *float32, dx *float32, n int)"

func genReLUBackward(a *asm) string {
	name := "reluBackwardAVX512"
	a.text(name, 32)
	a.op("MOVQ y+0(FP), SI")
	a.op("MOVQ dy+8(FP), BX")
	a.op("MOVQ dx+16(FP), DI")
	a.op("MOVQ n+24(FP), DX")
	a.op("VPXORD Z2, Z2, Z2")
	tailMask(a, "DX", "K1")
	a.op("SHRQ $4, DX")
	a.op("TESTQ DX, DX")
	a.op("JZ %s_tail", name)
	a.label(name + "_vec")
	a.op("VMOVUPS (SI), Z0")
	a.op("VCMPPS $0x1e, Z2, Z0, K2") // y > 0, false for NaN
	a.op("VMOVUPS.Z (BX), K2, Z3")
	a.op("VMOVUPS Z3, (DI)")
	a.op("ADDQ $64, SI")
	a.op("ADDQ $64, BX")
	a.op("ADDQ $64, DI")
	a.op("DECQ DX")
	a.op("JNZ %s_vec", name)
	a.label(name + "_tail")
	a.op("VMOVUPS.Z (SI), K1, Z0")
	a.op("VCMPPS $0x1e, Z2, Z0, K1, K2")
	a.op("VMOVUPS.Z (BX), K2, Z3")
	a.op("VMOVUPS Z3, K1, (DI)")
	a.op("VZEROUPPER")
	a.op("RET")
	return name
}

// sumArgs: returns Σ x[i] for i < n (24 bytes with the result).
const sumArgs = "(x *float32, n int) float32"

func genSum(a *asm) string {
	name := "sumAVX512"
	a.text(name, 20)
	a.op("MOVQ x+0(FP), SI")
	a.op("MOVQ n+8(FP), DX")
	for v := 0; v < 4; v++ {
		a.op("VPXORD Z%d, Z%d, Z%d", v, v, v)
	}
	tailMask(a, "DX", "K1")
	a.op("SHRQ $4, DX")
	a.op("CMPQ DX, $4")
	a.op("JLT %s_one", name)
	a.label(name + "_four")
	for v := 0; v < 4; v++ {
		a.op("VADDPS %d(SI), Z%d, Z%d", 64*v, v, v)
	}
	a.op("ADDQ $256, SI")
	a.op("SUBQ $4, DX")
	a.op("CMPQ DX, $4")
	a.op("JGE %s_four", name)
	a.label(name + "_one")
	a.op("TESTQ DX, DX")
	a.op("JZ %s_tail", name)
	a.op("VADDPS (SI), Z0, Z0")
	a.op("ADDQ $64, SI")
	a.op("DECQ DX")
	a.op("JMP %s_one", name)
	a.label(name + "_tail")
	a.op("VMOVUPS.Z (SI), K1, Z4")
	a.op("VADDPS Z4, Z0, Z0")
	a.op("VADDPS Z1, Z0, Z0")
	a.op("VADDPS Z3, Z2, Z2")
	a.op("VADDPS Z2, Z0, Z0")
	a.op("VEXTRACTF64X4 $1, Z0, Y1")
	a.op("VADDPS Y1, Y0, Y0")
	a.op("VEXTRACTF128 $1, Y0, X1")
	a.op("VADDPS X1, X0, X0")
	a.op("VPERMILPS $0x4E, X0, X1")
	a.op("VADDPS X1, X0, X0")
	a.op("VPERMILPS $0xB1, X0, X1")
	a.op("VADDPS X1, X0, X0")
	a.op("VZEROUPPER")
	a.op("MOVSS X0, ret+16(FP)")
	a.op("RET")
	return name
}

// addColumnsArgs: dst[j] += Σ_i x[i][j] for i < m, j < n (40 bytes).
const addColumnsArgs = "(dst *float32, x *float32, ldxBytes int, m int, n int)"

func genAddColumns(a *asm) string {
	name := "addColumnsAVX512"
	a.text(name, 40)
	a.op("MOVQ dst+0(FP), DI")
	a.op("MOVQ x+8(FP), SI")
	a.op("MOVQ ldxBytes+16(FP), R8")
	a.op("MOVQ m+24(FP), R9")
	a.op("MOVQ n+32(FP), R10")
	a.op("TESTQ R9, R9")
	a.op("JZ %s_done", name)
	// Four vectors (64 columns) at a time, then one, then the masked tail.
	a.label(name + "_four")
	a.op("CMPQ R10, $64")
	a.op("JLT %s_one", name)
	for v := 0; v < 4; v++ {
		a.op("VPXORD Z%d, Z%d, Z%d", v, v, v)
	}
	a.op("MOVQ SI, AX")
	a.op("MOVQ R9, DX")
	a.label(name + "_four_row")
	for v := 0; v < 4; v++ {
		a.op("VADDPS %d(AX), Z%d, Z%d", 64*v, v, v)
	}
	a.op("ADDQ R8, AX")
	a.op("DECQ DX")
	a.op("JNZ %s_four_row", name)
	for v := 0; v < 4; v++ {
		a.op("VADDPS %d(DI), Z%d, Z%d", 64*v, v, v)
		a.op("VMOVUPS Z%d, %d(DI)", v, 64*v)
	}
	a.op("ADDQ $256, DI")
	a.op("ADDQ $256, SI")
	a.op("SUBQ $64, R10")
	a.op("JMP %s_four", name)
	a.label(name + "_one")
	a.op("TESTQ R10, R10")
	a.op("JZ %s_done", name)
	a.op("MOVQ R10, R11")
	a.op("CMPQ R11, $16")
	a.op("JLT %s_mask", name)
	a.op("MOVQ $16, R11")
	a.label(name + "_mask")
	a.op("MOVQ R11, CX")
	a.op("MOVL $1, R13")
	a.op("SHLL CX, R13")
	a.op("DECL R13")
	a.op("KMOVW R13, K1")
	a.op("VPXORD Z0, Z0, Z0")
	a.op("VPXORD Z1, Z1, Z1")
	a.op("MOVQ SI, AX")
	a.op("MOVQ R9, DX")
	a.label(name + "_one_row")
	a.op("VMOVUPS.Z (AX), K1, Z2")
	a.op("VADDPS Z2, Z0, Z0")
	a.op("ADDQ R8, AX")
	a.op("DECQ DX")
	a.op("JNZ %s_one_row", name)
	a.op("VMOVUPS.Z (DI), K1, Z2")
	a.op("VADDPS Z2, Z0, Z0")
	a.op("VMOVUPS Z0, K1, (DI)")
	a.op("ADDQ $64, DI")
	a.op("ADDQ $64, SI")
	a.op("SUBQ R11, R10")
	a.op("JMP %s_one", name)
	a.label(name + "_done")
	a.op("VZEROUPPER")
	a.op("RET")
	return name
}

// maxPool2x2Args is the parameter list of the 2×2 max-pooling kernel (64 bytes).
const maxPool2x2Args = "(x *float32, w int, out *float32, argmax *int32, outW int, rows int, nvec int, tail int)"

// genMaxPool2x2 writes maxPool2x2AVX512: for oh < rows and ow < 16·nvec + tail, the maximum of
// the 2×2 block at input rows 2·oh, 2·oh+1 and columns 2·ow, 2·ow+1 of the plane x (w floats per
// row) goes to out[oh·outW + ow] and its index (row·w + column) to argmax[oh·outW + ow]; the first
// of equal maxima in row-major order wins. Cells compare by their order keys (see OrderKey in
// pool.go): -0 equals +0 and NaNs order by their sign bit. Sixteen outputs per step: the two
// input rows' 32 floats are split into even and odd columns with VPERMI2PS, and three rounds of
// compare-and-blend pick the winner (left vs right in each row, then top vs bottom).
func genMaxPool2x2(a *asm) string {
	name := "maxPool2x2AVX512"
	a.text(name, 64)
	maxPoolPrologue(a)
	a.op("SHLQ $2, R8")        // w in bytes
	a.op("SHLQ $2, R9")        // outW in bytes
	a.op("VMOVDQA32 Z30, Z26") // Z26: the left-cell index of the row's first 16 outputs
	a.op("TESTQ DX, DX")
	a.op("JZ %s_done", name)
	a.label(name + "_row")
	a.op("MOVQ SI, R10")
	a.op("LEAQ (SI)(R8*1), R11")
	a.op("MOVQ DI, R13")
	a.op("MOVQ BX, R14")
	a.op("VMOVDQA32 Z26, Z23")
	a.op("MOVQ nvec+48(FP), CX")
	a.op("TESTQ CX, CX")
	a.op("JZ %s_tail", name)
	a.label(name + "_vec")
	a.op("VMOVUPS (R10), Z0")
	a.op("VMOVUPS 64(R10), Z1")
	a.op("VMOVUPS (R11), Z2")
	a.op("VMOVUPS 64(R11), Z3")
	maxPoolBlocks(a, "")
	a.op("ADDQ $128, R10")
	a.op("ADDQ $128, R11")
	a.op("ADDQ $64, R13")
	a.op("ADDQ $64, R14")
	a.op("VPADDD Z27, Z23, Z23")
	a.op("DECQ CX")
	a.op("JNZ %s_vec", name)
	a.label(name + "_tail")
	a.op("TESTQ R12, R12")
	a.op("JZ %s_next", name)
	a.op("VMOVUPS.Z (R10), K2, Z0")
	a.op("VMOVUPS.Z 64(R10), K3, Z1")
	a.op("VMOVUPS.Z (R11), K2, Z2")
	a.op("VMOVUPS.Z 64(R11), K3, Z3")
	maxPoolBlocks(a, "K1, ")
	a.label(name + "_next")
	a.op("LEAQ (SI)(R8*2), SI")
	a.op("ADDQ R9, DI")
	a.op("ADDQ R9, BX")
	a.op("VPADDD Z24, Z26, Z26")
	a.op("DECQ DX")
	a.op("JNZ %s_row", name)
	a.label(name + "_done")
	a.op("VZEROUPPER")
	a.op("RET")
	return name
}

// maxPoolPrologue loads maxPool2x2AVX512's arguments, its constants and the masks of its tail.
func maxPoolPrologue(a *asm) {
	a.op("MOVQ x+0(FP), SI")
	a.op("MOVQ w+8(FP), R8")
	a.op("MOVQ out+16(FP), DI")
	a.op("MOVQ argmax+24(FP), BX")
	a.op("MOVQ outW+32(FP), R9")
	a.op("MOVQ rows+40(FP), DX")
	a.op("MOVQ tail+56(FP), R12")
	// Constants: Z30 even columns 0,2,…,30 (also each output's left-cell offset), Z29 odd
	// columns, Z31 0x7fffffff, Z28 ones, Z27 32s, Z25 w, Z24 2w.
	a.op("VMOVDQU32 maxPoolConst<>+0(SB), Z30")
	a.op("VMOVDQU32 maxPoolConst<>+64(SB), Z29")
	a.op("VMOVDQU32 maxPoolConst<>+128(SB), Z31")
	a.op("VMOVDQU32 maxPoolConst<>+192(SB), Z28")
	a.op("VMOVDQU32 maxPoolConst<>+256(SB), Z27")
	a.op("VPBROADCASTD w+8(FP), Z25")
	a.op("VPADDD Z25, Z25, Z24")
	// Masks of the tail: K1 its outputs, K2 and K3 the floats of each input row's two vectors.
	a.op("MOVQ R12, CX")
	a.op("MOVL $1, R13")
	a.op("SHLL CX, R13")
	a.op("DECL R13")
	a.op("KMOVW R13, K1")
	a.op("SHLQ $1, CX") // 2·tail floats per input row
	a.op("MOVQ $1, R13")
	a.op("SHLQ CX, R13")
	a.op("DECQ R13")
	a.op("KMOVW R13, K2")
	a.op("SHRQ $16, R13")
	a.op("KMOVW R13, K3")
}

// maxPoolBlocks pools the 16 blocks whose rows are in Z0, Z1 (top) and Z2, Z3 (bottom), storing
// the maxima and their indexes under store (a mask, or "" for all 16).
func maxPoolBlocks(a *asm, store string) {
	a.op("VMOVDQA32 Z30, Z4")
	a.op("VPERMI2PS Z1, Z0, Z4") // top row, left cells
	a.op("VMOVDQA32 Z29, Z5")
	a.op("VPERMI2PS Z1, Z0, Z5") // top row, right cells
	a.op("VMOVDQA32 Z30, Z6")
	a.op("VPERMI2PS Z3, Z2, Z6") // bottom row, left cells
	a.op("VMOVDQA32 Z29, Z7")
	a.op("VPERMI2PS Z3, Z2, Z7") // bottom row, right cells
	for i := 0; i < 4; i++ {
		v, k := 4+i, 8+i // key = (b ^ (s & 0x7fffffff)) - s with s = b >> 31 (arithmetic)
		a.op("VPSRAD $31, Z%d, Z12", v)
		a.op("VPANDD Z31, Z12, Z13")
		a.op("VPXORD Z13, Z%d, Z%d", v, k)
		a.op("VPSUBD Z12, Z%d, Z%d", k, k)
	}
	a.op("VPCMPGTD Z8, Z9, K4") // right > left, top row
	a.op("VPBLENDMD Z9, Z8, K4, Z14")
	a.op("VBLENDMPS Z5, Z4, K4, Z15")
	a.op("VMOVDQA32 Z23, Z16")
	a.op("VPADDD Z28, Z16, K4, Z16")
	a.op("VPCMPGTD Z10, Z11, K5") // right > left, bottom row
	a.op("VPBLENDMD Z11, Z10, K5, Z17")
	a.op("VBLENDMPS Z7, Z6, K5, Z18")
	a.op("VPADDD Z25, Z23, Z19")
	a.op("VPADDD Z28, Z19, K5, Z19")
	a.op("VPCMPGTD Z14, Z17, K6") // bottom > top
	a.op("VBLENDMPS Z18, Z15, K6, Z20")
	a.op("VPBLENDMD Z19, Z16, K6, Z21")
	a.op("VMOVUPS Z20, %s(R13)", store)
	a.op("VMOVDQU32 Z21, %s(R14)", store)
}

// Optimizer updates, element-wise over n floats, 16 lanes per step and the tail under a mask.
// Every operation is rounded on its own (no fused multiply-add), in the order of the Go code in
// optimizer.go, so that the results are bit-identical to it.
const (
	rmspropArgs  = "(w, grad, a *float32, n int, lr, rho, oneMinusRho, eps float32)"
	adadeltaArgs = "(w, grad, a, s *float32, n int, lr, rho, oneMinusRho, eps float32)"
	adamArgs     = "(w, grad, m, v *float32, n int, alpha, oneMinusBeta1, oneMinusBeta2, eps float32)"
)

// genUpdate writes one optimizer kernel: ptrs are the slice arguments (loaded into DI, SI, BX,
// R8; not named g, which the assembler reads as the goroutine register), scalars the float32 arguments (broadcast into Z20…), and body emits one step given how
// to load and store a slice argument's 16 lanes.
func genUpdate(a *asm, name string, ptrs, scalars []string, body func(load, store func(z string, ptr int))) string {
	regs := []string{"DI", "SI", "BX", "R8"}
	off := 0
	argSize := 8*len(ptrs) + 8 + 4*len(scalars)
	a.text(name, argSize)
	for i, p := range ptrs {
		a.op("MOVQ %s+%d(FP), %s", p, off, regs[i])
		off += 8
	}
	a.op("MOVQ n+%d(FP), DX", off)
	off += 8
	for i, sc := range scalars {
		a.op("VBROADCASTSS %s+%d(FP), Z%d", sc, off, 20+i)
		off += 4
	}
	tailMask(a, "DX", "K1")
	a.op("SHRQ $4, DX")
	a.op("TESTQ DX, DX")
	a.op("JZ %s_tail", name)
	a.label(name + "_vec")
	body(func(z string, p int) { a.op("VMOVUPS (%s), %s", regs[p], z) }, func(z string, p int) { a.op("VMOVUPS %s, (%s)", z, regs[p]) })
	for i := range ptrs {
		a.op("ADDQ $64, %s", regs[i])
	}
	a.op("DECQ DX")
	a.op("JNZ %s_vec", name)
	a.label(name + "_tail")
	body(func(z string, p int) { a.op("VMOVUPS.Z (%s), K1, %s", regs[p], z) }, func(z string, p int) { a.op("VMOVUPS %s, K1, (%s)", z, regs[p]) })
	a.op("VZEROUPPER")
	a.op("RET")
	return name
}

// genRMSprop: a = rho·a + (1−rho)·g²; w −= lr·g / (√a + eps).
func genRMSprop(a *asm) string {
	return genUpdate(a, "rmspropAVX512", []string{"w", "grad", "a"}, []string{"lr", "rho", "oneMinusRho", "eps"}, func(load, store func(string, int)) {
		load("Z0", 1)              // g
		load("Z1", 2)              // a
		a.op("VMULPS Z1, Z21, Z1") // rho·a
		a.op("VMULPS Z0, Z0, Z2")  // g²
		a.op("VMULPS Z2, Z22, Z2") // (1−rho)·g²
		a.op("VADDPS Z2, Z1, Z1")
		store("Z1", 2)
		a.op("VMULPS Z0, Z20, Z3") // lr·g
		a.op("VSQRTPS Z1, Z4")
		a.op("VADDPS Z23, Z4, Z4") // √a + eps
		a.op("VDIVPS Z4, Z3, Z3")
		load("Z5", 0)
		a.op("VSUBPS Z3, Z5, Z5")
		store("Z5", 0)
	})
}

// genAdadelta: a = rho·a + (1−rho)·g²; d = √(s+eps)·g / √(a+eps); s = rho·s + (1−rho)·d²;
// w −= lr·d.
func genAdadelta(a *asm) string {
	return genUpdate(a, "adadeltaAVX512", []string{"w", "grad", "a", "s"}, []string{"lr", "rho", "oneMinusRho", "eps"}, func(load, store func(string, int)) {
		load("Z0", 1) // g
		load("Z1", 2) // a
		a.op("VMULPS Z1, Z21, Z1")
		a.op("VMULPS Z0, Z0, Z2")
		a.op("VMULPS Z2, Z22, Z2")
		a.op("VADDPS Z2, Z1, Z1")
		store("Z1", 2)
		load("Z3", 3)              // s
		a.op("VADDPS Z23, Z3, Z4") // s + eps
		a.op("VSQRTPS Z4, Z4")
		a.op("VMULPS Z0, Z4, Z4")  // √(s+eps)·g
		a.op("VADDPS Z23, Z1, Z5") // a + eps
		a.op("VSQRTPS Z5, Z5")
		a.op("VDIVPS Z5, Z4, Z4")  // d
		a.op("VMULPS Z3, Z21, Z3") // rho·s
		a.op("VMULPS Z4, Z4, Z6")  // d²
		a.op("VMULPS Z6, Z22, Z6")
		a.op("VADDPS Z6, Z3, Z3")
		store("Z3", 3)
		a.op("VMULPS Z4, Z20, Z4") // lr·d
		load("Z7", 0)
		a.op("VSUBPS Z4, Z7, Z7")
		store("Z7", 0)
	})
}

// genAdam: m += (g − m)·(1−beta1); v += (g² − v)·(1−beta2); w −= m·alpha / (√v + eps).
func genAdam(a *asm) string {
	return genUpdate(a, "adamAVX512", []string{"w", "grad", "m", "v"}, []string{"alpha", "oneMinusBeta1", "oneMinusBeta2", "eps"}, func(load, store func(string, int)) {
		load("Z0", 1)              // g
		load("Z1", 2)              // m
		a.op("VSUBPS Z1, Z0, Z2")  // g − m
		a.op("VMULPS Z21, Z2, Z2") // ·(1−beta1)
		a.op("VADDPS Z2, Z1, Z1")
		store("Z1", 2)
		load("Z3", 3)              // v
		a.op("VMULPS Z0, Z0, Z4")  // g²
		a.op("VSUBPS Z3, Z4, Z4")  // g² − v
		a.op("VMULPS Z22, Z4, Z4") // ·(1−beta2)
		a.op("VADDPS Z4, Z3, Z3")
		store("Z3", 3)
		a.op("VMULPS Z20, Z1, Z5") // m·alpha
		a.op("VSQRTPS Z3, Z6")
		a.op("VADDPS Z23, Z6, Z6")
		a.op("VDIVPS Z6, Z5, Z5")
		load("Z7", 0)
		a.op("VSUBPS Z5, Z7, Z7")
		store("Z7", 0)
	})
}

func main() {
	var s asm
	s.b.WriteString("// Code generated by gen_asm.go; DO NOT EDIT.\n\n" + buildTag + "\n#include \"textflag.h\"\n")
	writeConstants(&s)

	var g strings.Builder
	g.WriteString("// Code generated by gen_asm.go; DO NOT EDIT.\n\n" + buildTag + "\npackage kernels\n\n")
	decl := func(name, args string) {
		fmt.Fprintf(&g, "//go:noescape\nfunc %s%s\n\n", name, args)
	}
	k := genKernels(&s, decl)
	writeTables(&g, k)

	src, err := format.Source([]byte(g.String()))
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("zkernels_amd64.go", src, 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("zkernels_amd64.s", s.b.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}

// writeConstants writes the read-only data the kernels load: avx2LaneMask and maxPoolConst.
func writeConstants(s *asm) {
	s.b.WriteString("\n// avx2LaneMask is eight all-ones lanes followed by eight zero lanes.\n")
	for i := 0; i < 16; i++ {
		v := "0xffffffff"
		if i >= 8 {
			v = "0x00000000"
		}
		fmt.Fprintf(&s.b, "DATA avx2LaneMask<>+%d(SB)/4, $%s\n", 4*i, v)
	}
	s.b.WriteString("GLOBL avx2LaneMask<>(SB), RODATA|NOPTR, $64\n")
	s.b.WriteString("\n// maxPoolConst: even column offsets 0…30, odd ones 1…31, and sixteen each of 0x7fffffff, 1, 32.\n")
	for i := 0; i < 80; i++ {
		var v int
		switch i / 16 {
		case 0:
			v = 2 * i
		case 1:
			v = 2*(i-16) + 1
		case 2:
			v = 0x7fffffff
		case 3:
			v = 1
		default:
			v = 32
		}
		fmt.Fprintf(&s.b, "DATA maxPoolConst<>+%d(SB)/4, $0x%08x\n", 4*i, v)
	}
	s.b.WriteString("GLOBL maxPoolConst<>(SB), RODATA|NOPTR, $320\n")
}

// kernelNames are the names of the generated kernels that the Go tables list.
type kernelNames struct {
	avx512, avx2, dot [][]string
	dotVec            [][]string
	fwdOut            [][]string
	dwDot             []string
	dwTapsK           [2][][]string
}

// genKernels writes every kernel to s and declares each with decl.
func genKernels(s *asm, decl func(name, args string)) kernelNames {
	avx512 := kernelGrid(decl, sgemmArgs, avx512MR, avx512NV, nil, func(mr, nv int) string { return genSgemmAVX512(s, mr, nv) })
	avx2 := kernelGrid(decl, sgemmArgs, avx2MR, avx2NV, func(mr, nv int) bool { return mr*nv <= 12 },
		func(mr, nv int) string { return genSgemmAVX2(s, mr, nv) })
	dot := kernelGrid(decl, convDotArgs, convNF, convNT, nil, func(nf, nt int) string { return genConvDot(s, nf, nt) })
	decl(genTranspose(s), transposeArgs)
	decl(genCopyRows(s), copyRowsArgs)
	decl(genBiasAct(s), biasActArgs)
	decl(genAddBiasRows(s), addBiasRowsArgs)
	decl(genReLUBackward(s), reluBackwardArgs)
	decl(genSum(s), sumArgs)
	decl(genAddColumns(s), addColumnsArgs)
	decl(genMaxPool2x2(s), maxPool2x2Args)
	decl(genRMSprop(s), rmspropArgs)
	decl(genAdadelta(s), adadeltaArgs)
	decl(genAdam(s), adamArgs)
	dotVec := kernelGrid(decl, convDotVecArgs, convDotVecNF, convDotVecNT, convDotVecFits,
		func(nf, nt int) string { return genConvDotVec(s, nf, nt) })
	fwdOut := kernelGrid(decl, convTapsOutArgs, convTapsOutNF, 4, convTapsOutFits,
		func(nf, nv int) string { return genConvTapsOut(s, nf, nv) })
	decl(genBNSum(s), bnSumArgs)
	decl(genBNSqDev(s), bnSqDevArgs)
	decl(genBNAffine(s, false), bnAffineArgs)
	decl(genBNGradSums(s, false), bnGradSumsArgs)
	decl(genBNInputGrad(s, false), bnInputGradArgs)
	decl(genBNAffine(s, true), bnAffineArgs)
	decl(genBNGradSums(s, true), bnGradSumsReLUArgs)
	decl(genBNInputGrad(s, true), bnInputGradReLUArgs)
	dwDot := genDWKernels(s, decl)
	decl(genReLUInto(s), reluIntoArgs)
	dwTapsK := genDWTapsKernels(s, decl)
	genWinoConst(s)
	decl(genWinoInput(s), winoInputArgs)
	decl(genWinoOutput(s), winoOutputArgs)
	decl(genWinoGrad(s), winoGradArgs)
	decl(genWinoInputRows(s), winoInputRowsArgs)
	return kernelNames{avx512: avx512, avx2: avx2, dot: dot, dotVec: dotVec, fwdOut: fwdOut, dwDot: dwDot, dwTapsK: dwTapsK}
}

// kernelGrid generates and declares (with the parameter list args) the kernel gen(i, j) for
// i ≤ rows and j ≤ cols, in that order, where fits(i, j) (every one when fits is nil), and returns
// the table of their names, "nil" where none fits.
func kernelGrid(decl func(name, args string), args string, rows, cols int, fits func(i, j int) bool, gen func(i, j int) string) [][]string {
	var out [][]string
	for i := 1; i <= rows; i++ {
		var row []string
		for j := 1; j <= cols; j++ {
			if fits != nil && !fits(i, j) {
				row = append(row, "nil")
				continue
			}
			n := gen(i, j)
			decl(n, args)
			row = append(row, n)
		}
		out = append(out, row)
	}
	return out
}

// writeTables writes the Go tables of the kernels, by size.
func writeTables(g *strings.Builder, k kernelNames) {
	table := func(name, typ string, rows [][]string) {
		fmt.Fprintf(g, "var %s = [][]%s{\n", name, typ)
		for _, r := range rows {
			fmt.Fprintf(g, "\t{%s},\n", strings.Join(r, ", "))
		}
		g.WriteString("}\n\n")
	}
	g.WriteString("// sgemmAVX512Kernels[mr-1][nv-1] is the mr×(16·nv) AVX-512 micro-kernel.\n")
	table("sgemmAVX512Kernels", "sgemmKernelFunc", k.avx512)
	g.WriteString("// sgemmAVX2Kernels[mr-1][nv-1] is the mr×(8·nv) AVX2+FMA micro-kernel.\n")
	table("sgemmAVX2Kernels", "sgemmKernelFunc", k.avx2)
	g.WriteString("// convDotAVX512Kernels[nf-1][nt-1] forms nf×nt filter-gradient dot products.\n")
	table("convDotAVX512Kernels", "convDotFunc", k.dot)
	g.WriteString("// convDotVecAVX512Kernels[nf-1][nt-1] forms nf×nt lane-wise filter-gradient dot products (nil: the tile does not fit the registers).\n")
	table("convDotVecAVX512Kernels", "convDotVecFunc", k.dotVec)
	g.WriteString("// convTapsOutAVX512Kernels[nf-1][nv-1] accumulates taps for nf output planes over blocks of nv vectors and stores their valid positions.\n")
	table("convTapsOutAVX512Kernels", "convTapsOutFunc", k.fwdOut)
	fmt.Fprintf(g, "// dwDotAVX512Kernels[nt-1] forms nt in-place depthwise filter-gradient dot products.\nvar dwDotAVX512Kernels = []dwDotFunc{%s}\n", strings.Join(k.dwDot, ", "))
	g.WriteString("\n// dwTapsKAVX512Kernels[flip][kh-1][kw-1] is the specialised kh×kw depthwise tap kernel.\n")
	g.WriteString("var dwTapsKAVX512Kernels = [2][][]dwTapsKFunc{\n")
	for _, rows := range k.dwTapsK {
		g.WriteString("\t{\n")
		for _, r := range rows {
			fmt.Fprintf(g, "\t\t{%s},\n", strings.Join(r, ", "))
		}
		g.WriteString("\t},\n")
	}
	g.WriteString("}\n")
}

// The batch-norm kernels (batchnorm.go) walk rows planes of a channel, strideBytes apart, each
// of 16·nvec floats and a masked tail (mask: its low bits, one per float). The float64 sums keep
// sixteen lanes per plane position modulo 16 (two zmm of doubles), added in order over the rows,
// and reduce them in the fixed tree of bnReduce; the generic kernels do the same.

// bnArgs is the shared head of the batch-norm kernels' parameter lists.
const bnArgs = "strideBytes, rows, nvec, mask int"

const (
	bnSumArgs       = "(x *float32, " + bnArgs + ") float64"
	bnSqDevArgs     = "(x *float32, " + bnArgs + ", mean float64) float64"
	bnAffineArgs    = "(y, x *float32, " + bnArgs + ", mean, scale, shift float32)"
	bnGradSumsArgs  = "(x, dy *float32, " + bnArgs + ", mean, invStd float32) (sumDy, sumDyXhat float64)"
	bnInputGradArgs = "(dx, x, dy *float32, " + bnArgs + ", mean, invStd, k, meanDy, meanDyXhat float32)"
	// The ReLU variants take the ReLU's output y after dy.
	bnGradSumsReLUArgs  = "(x, dy, y *float32, " + bnArgs + ", mean, invStd float32) (sumDy, sumDyXhat float64)"
	bnInputGradReLUArgs = "(dx, x, dy, y *float32, " + bnArgs + ", mean, invStd, k, meanDy, meanDyXhat float32)"
)

// bnPrologue loads the shared arguments at offset off (after np pointers): R8 stride, R9 rows,
// R10 nvec, K1 the tail mask, K2 and K3 its low and high eight bits.
func bnPrologue(a *asm, off int) {
	a.op("MOVQ strideBytes+%d(FP), R8", off)
	a.op("MOVQ rows+%d(FP), R9", off+8)
	a.op("MOVQ nvec+%d(FP), R10", off+16)
	a.op("MOVQ mask+%d(FP), R11", off+24)
	a.op("KMOVW R11, K1")
	a.op("KMOVW R11, K2")
	a.op("SHRQ $8, R11")
	a.op("KMOVW R11, K3")
}

// bnRows emits the loop over rows and vectors: ptrs are the registers of the row starts
// (advanced by R8 per row), copied into work (advanced by 64 per vector); body(tail) emits one
// vector's work, tail true for the masked last one.
func bnRows(a *asm, name string, ptrs, work []string, body func(tail bool)) {
	a.op("TESTQ R9, R9")
	a.op("JZ %s_done", name)
	a.label(name + "_row")
	for i, p := range ptrs {
		a.op("MOVQ %s, %s", p, work[i])
	}
	a.op("MOVQ R10, DX")
	a.op("TESTQ DX, DX")
	a.op("JZ %s_tail", name)
	a.label(name + "_vec")
	body(false)
	for _, w := range work {
		a.op("ADDQ $64, %s", w)
	}
	a.op("DECQ DX")
	a.op("JNZ %s_vec", name)
	a.label(name + "_tail")
	a.op("KORTESTW K1, K1")
	a.op("JZ %s_next", name)
	body(true)
	a.label(name + "_next")
	for _, p := range ptrs {
		a.op("ADDQ R8, %s", p)
	}
	a.op("DECQ R9")
	a.op("JNZ %s_row", name)
	a.label(name + "_done")
}

// bnAccumulate adds the sixteen floats of zmm src, as doubles, to the lane accumulators lo and hi
// (merge-masked by K2 and K3 on the tail), using tmp and tmp2.
func bnAccumulate(a *asm, src, lo, hi, tmp, tmp2 string, tail bool) {
	y := "Y" + src[1:]
	a.op("VCVTPS2PD %s, %s", y, tmp)
	a.op("VEXTRACTF64X4 $1, %s, Y%s", src, tmp2[1:])
	a.op("VCVTPS2PD Y%s, %s", tmp2[1:], tmp2)
	if tail {
		a.op("VADDPD %s, %s, K2, %s", tmp, lo, lo)
		a.op("VADDPD %s, %s, K3, %s", tmp2, hi, hi)
		return
	}
	a.op("VADDPD %s, %s, %s", tmp, lo, lo)
	a.op("VADDPD %s, %s, %s", tmp2, hi, hi)
}

// bnReduce sums the sixteen double lanes of lo (lanes 0–7) and hi (8–15) into the low double of
// lo's X register: pairs i and i+8, then i and i+4, i and i+2, and the last two.
func bnReduce(a *asm, lo, hi, tmp string) {
	n := lo[1:]
	t := tmp[1:]
	a.op("VADDPD %s, %s, %s", hi, lo, lo)
	a.op("VEXTRACTF64X4 $1, %s, Y%s", lo, t)
	a.op("VADDPD Y%s, Y%s, Y%s", t, n, n)
	a.op("VEXTRACTF128 $1, Y%s, X%s", n, t)
	a.op("VADDPD X%s, X%s, X%s", t, n, n)
	a.op("VPERMILPD $1, X%s, X%s", n, t)
	a.op("VADDSD X%s, X%s, X%s", t, n, n)
}

// bnLoad loads one vector at (reg) into z, masked by K1 on the tail.
func bnLoad(a *asm, reg, z string, tail bool) {
	if tail {
		a.op("VMOVUPS.Z (%s), K1, %s", reg, z)
		return
	}
	a.op("VMOVUPS (%s), %s", reg, z)
}

func bnStore(a *asm, z, reg string, tail bool) {
	if tail {
		a.op("VMOVUPS %s, K1, (%s)", z, reg)
		return
	}
	a.op("VMOVUPS %s, (%s)", z, reg)
}

// genBNSum writes bnSumAVX512: Σ x in float64.
func genBNSum(a *asm) string {
	name := "bnSumAVX512"
	a.text(name, 48)
	a.op("MOVQ x+0(FP), SI")
	bnPrologue(a, 8)
	a.op("VPXORQ Z0, Z0, Z0")
	a.op("VPXORQ Z1, Z1, Z1")
	bnRows(a, name, []string{"SI"}, []string{"AX"}, func(tail bool) {
		bnLoad(a, "AX", "Z4", tail)
		bnAccumulate(a, "Z4", "Z0", "Z1", "Z2", "Z3", tail)
	})
	bnReduce(a, "Z0", "Z1", "Z2")
	a.op("VZEROUPPER")
	a.op("MOVSD X0, ret+40(FP)")
	a.op("RET")
	return name
}

// genBNSqDev writes bnSqDevAVX512: Σ (x − mean)² in float64.
func genBNSqDev(a *asm) string {
	name := "bnSqDevAVX512"
	a.text(name, 56)
	a.op("MOVQ x+0(FP), SI")
	bnPrologue(a, 8)
	a.op("VBROADCASTSD mean+40(FP), Z7")
	a.op("VPXORQ Z0, Z0, Z0")
	a.op("VPXORQ Z1, Z1, Z1")
	bnRows(a, name, []string{"SI"}, []string{"AX"}, func(tail bool) {
		bnLoad(a, "AX", "Z4", tail)
		a.op("VCVTPS2PD Y4, Z2")
		a.op("VEXTRACTF64X4 $1, Z4, Y3")
		a.op("VCVTPS2PD Y3, Z3")
		for _, z := range []string{"Z2", "Z3"} {
			a.op("VSUBPD Z7, %s, %s", z, z)
			a.op("VMULPD %s, %s, %s", z, z, z)
		}
		if tail {
			a.op("VADDPD Z2, Z0, K2, Z0")
			a.op("VADDPD Z3, Z1, K3, Z1")
			return
		}
		a.op("VADDPD Z2, Z0, Z0")
		a.op("VADDPD Z3, Z1, Z1")
	})
	bnReduce(a, "Z0", "Z1", "Z2")
	a.op("VZEROUPPER")
	a.op("MOVSD X0, ret+48(FP)")
	a.op("RET")
	return name
}

// genBNAffine writes bnAffineAVX512: y = (x − mean)·scale + shift; with relu,
// bnAffineReLUAVX512, then max(y + 0, 0) as biasActAVX512 (NaN staying NaN).
func genBNAffine(a *asm, relu bool) string {
	name := "bnAffineAVX512"
	if relu {
		name = "bnAffineReLUAVX512"
	}
	a.text(name, 60)
	a.op("MOVQ y+0(FP), DI")
	a.op("MOVQ x+8(FP), SI")
	bnPrologue(a, 16)
	a.op("VBROADCASTSS mean+48(FP), Z4")
	a.op("VBROADCASTSS scale+52(FP), Z5")
	a.op("VBROADCASTSS shift+56(FP), Z6")
	a.op("VPXORD Z7, Z7, Z7")
	bnRows(a, name, []string{"DI", "SI"}, []string{"BX", "AX"}, func(tail bool) {
		bnLoad(a, "AX", "Z0", tail)
		a.op("VSUBPS Z4, Z0, Z0")
		a.op("VMULPS Z5, Z0, Z0")
		a.op("VADDPS Z6, Z0, Z0")
		if relu {
			a.op("VADDPS Z7, Z0, Z0")
			a.op("VMAXPS Z0, Z7, Z0")
		}
		bnStore(a, "Z0", "BX", tail)
	})
	a.op("VZEROUPPER")
	a.op("RET")
	return name
}

// bnReLUMask loads the vector of dy at (dyReg) into z, zeroed where the ReLU output at (yReg)
// is not positive (NaN included) and, on the tail, past the mask K1; it uses K4 and Z15.
func bnReLUMask(a *asm, yReg, dyReg, z string, tail bool) {
	bnLoad(a, yReg, "Z15", tail)
	a.op("VPXORD Z14, Z14, Z14")
	if tail {
		a.op("VCMPPS $0x1e, Z14, Z15, K1, K4")
	} else {
		a.op("VCMPPS $0x1e, Z14, Z15, K4")
	}
	a.op("VMOVUPS.Z (%s), K4, %s", dyReg, z)
}

// genBNGradSums writes bnGradSumsAVX512: Σ dy and Σ dy·((x − mean)·invStd) in float64; with relu,
// bnGradSumsReLUAVX512, whose dy is zero where the ReLU output y is not positive.
func genBNGradSums(a *asm, relu bool) string {
	name, off := "bnGradSumsAVX512", 16
	if relu {
		name, off = "bnGradSumsReLUAVX512", 24
	}
	a.text(name, 56+off)
	a.op("MOVQ x+0(FP), SI")
	a.op("MOVQ dy+8(FP), DI")
	ptrs, work := []string{"SI", "DI"}, []string{"AX", "BX"}
	if relu {
		a.op("MOVQ y+16(FP), R12")
		ptrs, work = append(ptrs, "R12"), append(work, "R13")
	}
	bnPrologue(a, off)
	a.op("VBROADCASTSS mean+%d(FP), Z8", off+32)
	a.op("VBROADCASTSS invStd+%d(FP), Z9", off+36)
	for z := 0; z < 4; z++ {
		a.op("VPXORQ Z%d, Z%d, Z%d", z, z, z)
	}
	bnRows(a, name, ptrs, work, func(tail bool) {
		if relu {
			bnReLUMask(a, "R13", "BX", "Z4", tail)
		} else {
			bnLoad(a, "BX", "Z4", tail)
		}
		bnLoad(a, "AX", "Z5", tail)
		a.op("VSUBPS Z8, Z5, Z5")
		a.op("VMULPS Z9, Z5, Z5")
		a.op("VMULPS Z5, Z4, Z5")
		bnAccumulate(a, "Z4", "Z0", "Z1", "Z6", "Z7", tail)
		bnAccumulate(a, "Z5", "Z2", "Z3", "Z6", "Z7", tail)
	})
	bnReduce(a, "Z0", "Z1", "Z6")
	bnReduce(a, "Z2", "Z3", "Z6")
	a.op("VZEROUPPER")
	a.op("MOVSD X0, sumDy+%d(FP)", off+40)
	a.op("MOVSD X2, sumDyXhat+%d(FP)", off+48)
	a.op("RET")
	return name
}

// genBNInputGrad writes bnInputGradAVX512: dx = k·((dy − meanDy) − (x − mean)·invStd·meanDyXhat);
// with relu, bnInputGradReLUAVX512, whose dy is zero where the ReLU output y is not positive.
func genBNInputGrad(a *asm, relu bool) string {
	name, off := "bnInputGradAVX512", 24
	if relu {
		name, off = "bnInputGradReLUAVX512", 32
	}
	a.text(name, 52+off)
	a.op("MOVQ dx+0(FP), DI")
	a.op("MOVQ x+8(FP), SI")
	a.op("MOVQ dy+16(FP), R12")
	ptrs, work := []string{"DI", "SI", "R12"}, []string{"BX", "AX", "R13"}
	if relu {
		a.op("MOVQ y+24(FP), R14")
		ptrs, work = append(ptrs, "R14"), append(work, "CX")
	}
	bnPrologue(a, off)
	a.op("VBROADCASTSS mean+%d(FP), Z8", off+32)
	a.op("VBROADCASTSS invStd+%d(FP), Z9", off+36)
	a.op("VBROADCASTSS k+%d(FP), Z10", off+40)
	a.op("VBROADCASTSS meanDy+%d(FP), Z11", off+44)
	a.op("VBROADCASTSS meanDyXhat+%d(FP), Z12", off+48)
	bnRows(a, name, ptrs, work, func(tail bool) {
		bnLoad(a, "AX", "Z0", tail)
		a.op("VSUBPS Z8, Z0, Z0")
		a.op("VMULPS Z9, Z0, Z0")
		a.op("VMULPS Z12, Z0, Z0")
		if relu {
			bnReLUMask(a, "CX", "R13", "Z1", tail)
		} else {
			bnLoad(a, "R13", "Z1", tail)
		}
		a.op("VSUBPS Z11, Z1, Z1")
		a.op("VSUBPS Z0, Z1, Z1")
		a.op("VMULPS Z10, Z1, Z1")
		bnStore(a, "Z1", "BX", tail)
	})
	a.op("VZEROUPPER")
	a.op("RET")
	return name
}

// dwDotNT is the most taps one call of the depthwise filter-gradient kernel sums (one zmm
// accumulator each); it must match depthwise_inplace.go.
const dwDotNT = 16

// dwTapsArgs is the parameter list of the in-place depthwise tap kernel (96 bytes).
const dwTapsArgs = "(y *float32, yRowBytes int, x *float32, xRowBytes int, offs *int32, w *float32, ntaps, rows, nvec, mask int, bias float32, addBias int)"

// genDWTaps writes dwTapsAVX512: for r < rows and the 16·nvec columns j and a masked tail (mask:
// one bit per column), y[r·yRow + j] = Σ_t w[t]·x[r·xRow + offs[t] + j] (fused multiply-adds in
// the order of t from 0, as convTapsAVX512), plus bias when addBias ≠ 0. Z0 accumulates, Z1 holds
// x, Z30 the bias.
func genDWTaps(a *asm) string {
	name := "dwTapsAVX512"
	a.text(name, 96)
	a.op("MOVQ y+0(FP), DI")
	a.op("MOVQ yRowBytes+8(FP), R8")
	a.op("MOVQ x+16(FP), SI")
	a.op("MOVQ xRowBytes+24(FP), R9")
	a.op("MOVQ offs+32(FP), R10")
	a.op("MOVQ w+40(FP), R11")
	a.op("MOVQ ntaps+48(FP), R12")
	a.op("MOVQ rows+56(FP), R13")
	a.op("MOVQ nvec+64(FP), R14")
	a.op("MOVQ mask+72(FP), AX")
	a.op("KMOVW AX, K1")
	a.op("VBROADCASTSS bias+80(FP), Z30")
	a.op("TESTQ R13, R13")
	a.op("JZ %s_done", name)
	a.op("TESTQ R12, R12")
	a.op("JZ %s_done", name)
	vector := func(l string, tail bool) {
		a.op("VPXORD Z0, Z0, Z0")
		a.op("XORQ CX, CX")
		a.label(l)
		a.op("MOVLQSX (R10)(CX*4), BX")
		a.op("LEAQ (SI)(BX*4), BX")
		if tail {
			a.op("VMOVUPS.Z (BX)(AX*1), K1, Z1")
		} else {
			a.op("VMOVUPS (BX)(AX*1), Z1")
		}
		a.op("VFMADD231PS.BCST (R11)(CX*4), Z1, Z0")
		a.op("INCQ CX")
		a.op("CMPQ CX, R12")
		a.op("JLT %s", l)
		a.op("CMPQ addBias+88(FP), $0")
		a.op("JEQ %s_store", l)
		a.op("VADDPS Z30, Z0, Z0")
		a.label(l + "_store")
		if tail {
			a.op("VMOVUPS Z0, K1, (DI)(AX*1)")
		} else {
			a.op("VMOVUPS Z0, (DI)(AX*1)")
		}
	}
	dwTapsRows(a, name, "_vtap", "_ttap", vector)
	return name
}

// dwDotArgs is the parameter list of the in-place depthwise filter-gradient kernels (72 bytes).
const dwDotArgs = "(dy *float32, dyRowBytes int, x *float32, xRowBytes int, offs *int32, rows, nvec, mask int, out *float32)"

// genDWDot writes the kernel of nt taps that adds to out[t] the dot product
// Σ_{r, j} dy[r·dyRow + j]·x[r·xRow + offs[t] + j] over r < rows, the 16·nvec columns j and a
// masked tail, summed in sixteen lanes (Z0…Z(nt−1)) and then across them. Z31 holds dy, Z30 x.
func genDWDot(a *asm, nt int) string {
	name := fmt.Sprintf("dwDotAVX512T%d", nt)
	a.text(name, 72)
	a.op("MOVQ dy+0(FP), DI")
	a.op("MOVQ dyRowBytes+8(FP), R8")
	a.op("MOVQ x+16(FP), SI")
	a.op("MOVQ xRowBytes+24(FP), R9")
	a.op("MOVQ offs+32(FP), R10")
	a.op("MOVQ rows+40(FP), R13")
	a.op("MOVQ nvec+48(FP), R14")
	a.op("MOVQ mask+56(FP), AX")
	a.op("KMOVW AX, K1")
	a.op("MOVQ out+64(FP), R11")
	for t := 0; t < nt; t++ {
		a.op("VPXORD Z%d, Z%d, Z%d", t, t, t)
	}
	a.op("TESTQ R13, R13")
	a.op("JZ %s_reduce", name)
	vector := func(tail bool) {
		if tail {
			a.op("VMOVUPS.Z (DI)(AX*1), K1, Z31")
		} else {
			a.op("VMOVUPS (DI)(AX*1), Z31")
		}
		a.op("LEAQ (SI)(AX*1), CX")
		for t := 0; t < nt; t++ {
			a.op("MOVLQSX %d(R10), BX", 4*t)
			if tail {
				a.op("VMOVUPS.Z (CX)(BX*4), K1, Z30")
			} else {
				a.op("VMOVUPS (CX)(BX*4), Z30")
			}
			a.op("VFMADD231PS Z31, Z30, Z%d", t)
		}
	}
	a.label(name + "_row")
	a.op("XORQ AX, AX")
	a.op("MOVQ R14, DX")
	a.op("TESTQ DX, DX")
	a.op("JZ %s_tail", name)
	a.label(name + "_vec")
	vector(false)
	a.op("ADDQ $64, AX")
	a.op("DECQ DX")
	a.op("JNZ %s_vec", name)
	a.label(name + "_tail")
	a.op("KORTESTW K1, K1")
	a.op("JZ %s_next", name)
	vector(true)
	a.label(name + "_next")
	a.op("ADDQ R8, DI")
	a.op("ADDQ R9, SI")
	a.op("DECQ R13")
	a.op("JNZ %s_row", name)
	a.label(name + "_reduce")
	for t := 0; t < nt; t++ {
		a.op("VEXTRACTF64X4 $1, Z%d, Y30", t)
		a.op("VADDPS Y30, Y%d, Y%d", t, t)
		a.op("VEXTRACTF32X4 $1, Y%d, X30", t)
		a.op("VADDPS X30, X%d, X%d", t, t)
		a.op("VPERMILPS $0x4E, X%d, X30", t)
		a.op("VADDPS X30, X%d, X%d", t, t)
		a.op("VPERMILPS $0xB1, X%d, X30", t)
		a.op("VADDPS X30, X%d, X%d", t, t)
		a.op("VADDSS %d(R11), X%d, X%d", 4*t, t, t)
		a.op("VMOVSS X%d, %d(R11)", t, 4*t)
	}
	a.op("VZEROUPPER")
	a.op("RET")
	return name
}

// genDWKernels writes the in-place depthwise kernels and returns the names of the
// filter-gradient ones, by tap count.
func genDWKernels(s *asm, decl func(name, args string)) []string {
	decl(genDWTaps(s), dwTapsArgs)
	var dot []string
	for nt := 1; nt <= dwDotNT; nt++ {
		n := genDWDot(s, nt)
		decl(n, dwDotArgs)
		dot = append(dot, n)
	}
	return dot
}

// reluIntoArgs: y[i] = max(x[i] + 0, 0) for i < n, NaN staying NaN (24 bytes).
const reluIntoArgs = "(y, x *float32, n int)"

// genReLUInto writes reluIntoAVX512, biasActAVX512's ReLU with bias 0 from x into y.
func genReLUInto(a *asm) string {
	name := "reluIntoAVX512"
	a.text(name, 24)
	a.op("MOVQ y+0(FP), DI")
	a.op("MOVQ x+8(FP), SI")
	a.op("MOVQ n+16(FP), DX")
	a.op("VPXORD Z2, Z2, Z2")
	tailMask(a, "DX", "K1")
	a.op("SHRQ $4, DX")
	op := func(z string) {
		a.op("VADDPS Z2, %s, %s", z, z)
		a.op("VMAXPS %s, Z2, %s", z, z)
	}
	mapVectors(a, name, "SI", "DI", op)
	return name
}

// dwTapsKMax is the largest kernel side of the specialised depthwise tap kernels (KH·KW weights
// in registers); it must match depthwise_inplace.go.
const dwTapsKMax = 5

// dwTapsKArgs is the parameter list of the specialised depthwise tap kernels (80 bytes).
const dwTapsKArgs = "(y *float32, yRowBytes int, x *float32, xRowBytes int, w *float32, rows, nvec, mask int, bias float32, addBias int)"

// genDWTapsK writes the kh×kw depthwise tap kernel with the weights in Z2…: for r < rows and the
// 16·nvec columns j and a masked tail, y[r·yRow + j] = Σ_{a<kh, b<kw} w[a·kw+b]·x(a, b), fused
// multiply-adds in the order of (a, b) from zero, then the bias when addBias ≠ 0, where x(a, b)
// is x[r·xRow + a·xRow + b + j], or with flip x[r·xRow − a·xRow − b + j] (the input gradient's
// flipped taps: x then points at the last row and column the taps reach). It computes what
// dwTapsAVX512 does with those offsets, to the bit.
func genDWTapsK(a *asm, kh, kw int, flip bool) string {
	name := fmt.Sprintf("dwTapsAVX512K%dx%d", kh, kw)
	if flip {
		name += "Flip"
	}
	a.text(name, 80)
	a.op("MOVQ y+0(FP), DI")
	a.op("MOVQ yRowBytes+8(FP), R8")
	a.op("MOVQ x+16(FP), SI")
	a.op("MOVQ xRowBytes+24(FP), R9")
	a.op("MOVQ w+32(FP), R11")
	a.op("MOVQ rows+40(FP), R13")
	a.op("MOVQ nvec+48(FP), R14")
	a.op("MOVQ mask+56(FP), AX")
	a.op("KMOVW AX, K1")
	a.op("VBROADCASTSS bias+64(FP), Z30")
	a.op("MOVQ addBias+72(FP), R12")
	for t := 0; t < kh*kw; t++ {
		a.op("VBROADCASTSS %d(R11), Z%d", 4*t, 2+t)
	}
	a.op("TESTQ R13, R13")
	a.op("JZ %s_done", name)
	vector := func(l string, tail bool) {
		a.op("LEAQ (SI)(AX*1), BX")
		for r := 0; r < kh; r++ {
			if r > 0 {
				if flip {
					a.op("SUBQ R9, BX")
				} else {
					a.op("ADDQ R9, BX")
				}
			}
			for c := 0; c < kw; c++ {
				disp := 4 * c
				if flip {
					disp = -disp
				}
				if tail {
					a.op("VMOVUPS.Z %d(BX), K1, Z1", disp)
				} else {
					a.op("VMOVUPS %d(BX), Z1", disp)
				}
				t := r*kw + c
				if t == 0 {
					// fma(w, x, +0) is w·x + 0: the product rounded, then −0 turned to +0.
					a.op("VPXORD Z0, Z0, Z0")
				}
				a.op("VFMADD231PS Z%d, Z1, Z0", 2+t)
			}
		}
		a.op("TESTQ R12, R12")
		a.op("JZ %s_store", l)
		a.op("VADDPS Z30, Z0, Z0")
		a.label(l + "_store")
		if tail {
			a.op("VMOVUPS Z0, K1, (DI)(AX*1)")
		} else {
			a.op("VMOVUPS Z0, (DI)(AX*1)")
		}
	}
	dwTapsRows(a, name, "_v", "_t", vector)
	return name
}

// dwTapsRows writes the depthwise tap kernels' loop over the rows: the full vectors of each row,
// then its masked tail, each written by vector under the label name+vec or name+tail.
func dwTapsRows(a *asm, name, vec, tail string, vector func(l string, tail bool)) {
	a.label(name + "_row")
	a.op("XORQ AX, AX")
	a.op("MOVQ R14, DX")
	a.op("TESTQ DX, DX")
	a.op("JZ %s_tail", name)
	a.label(name + "_vec")
	vector(name+vec, false)
	a.op("ADDQ $64, AX")
	a.op("DECQ DX")
	a.op("JNZ %s_vec", name)
	a.label(name + "_tail")
	a.op("KORTESTW K1, K1")
	a.op("JZ %s_next", name)
	vector(name+tail, true)
	a.label(name + "_next")
	a.op("ADDQ R8, DI")
	a.op("ADDQ R9, SI")
	a.op("DECQ R13")
	a.op("JNZ %s_row", name)
	a.label(name + "_done")
	a.op("VZEROUPPER")
	a.op("RET")
}

// genDWTapsKernels writes the specialised tap kernels, forward and flipped, and returns their
// names by [flip][kh-1][kw-1].
func genDWTapsKernels(s *asm, decl func(name, args string)) [2][][]string {
	var out [2][][]string
	for f, flip := range []bool{false, true} {
		for kh := 1; kh <= dwTapsKMax; kh++ {
			var row []string
			for kw := 1; kw <= dwTapsKMax; kw++ {
				n := genDWTapsK(s, kh, kw, flip)
				decl(n, dwTapsKArgs)
				row = append(row, n)
			}
			out[f] = append(out[f], row)
		}
	}
	return out
}

// Winograd F(2×2, 3×3) transforms (see winograd.go), 16 tiles of one tile row per step, every
// addition rounded on its own in the order of the pure-Go transforms so that both give the same
// bits. The 16 transformed positions ξ of a step are stored ξ·xiStride bytes apart: xiAddr names
// position ξ's address off base (ξ < 8) and hi (ξ ≥ 8, = base + 8·xiStride), with R8 = xiStride,
// R9 = 3·, R10 = 5· and R11 = 7·xiStride.
func xiAddr(xi int, base, hi string) string {
	b := base
	if xi >= 8 {
		b = hi
	}
	return "(" + b + ")" + [...]string{"", "(R8*1)", "(R8*2)", "(R9*1)", "(R8*4)", "(R10*1)", "(R9*2)", "(R11*1)"}[xi%8]
}

// xiStrides loads R8…R11 with the multiples of the ξ stride read from arg.
func xiStrides(a *asm, arg string) {
	a.op("MOVQ %s, R8", arg)
	a.op("LEAQ (R8)(R8*2), R9")
	a.op("LEAQ (R8)(R8*4), R10")
	a.op("LEAQ (R9)(R8*4), R11")
}

// genWinoConst writes winoConst: even lanes 0…30, odd lanes 1…31, the interleaving indexes of
// the low and high halves of two vectors, and sixteen sign bits.
func genWinoConst(a *asm) {
	a.b.WriteString("\n// winoConst: even lanes, odd lanes, interleave low and high halves, sign bits.\n")
	for i := 0; i < 80; i++ {
		var v uint32
		switch l := i % 16; i / 16 {
		case 0:
			v = uint32(2 * l)
		case 1:
			v = uint32(2*l + 1)
		case 2:
			v = uint32(l/2 + 16*(l%2))
		case 3:
			v = uint32(8 + l/2 + 16*(l%2))
		default:
			v = 0x80000000
		}
		fmt.Fprintf(&a.b, "DATA winoConst<>+%d(SB)/4, $0x%08x\n", 4*i, v)
	}
	a.b.WriteString("GLOBL winoConst<>(SB), RODATA|NOPTR, $320\n")
}

// winoInputArgs is the parameter list of the input transform (96 bytes).
const winoInputArgs = "(x *float32, xcsBytes, ldxBytes, rowOff, rowMask, colOff, nch int, v *float32, vcsBytes, vxsBytes int, masks *uint16, nchunks int)"

// genWinoInput writes winoInputAVX512: for each of nch channels (planes xcsBytes apart, rows
// ldxBytes apart) and each chunk of 16 tiles, V = Bᵀ d B of the tiles whose input rows start at
// row rowOff (bit r of rowMask set: row rowOff+r lies inside the plane, else it reads as zeros)
// and whose columns start at colOff + 32·chunk. Per chunk, masks holds the lanes inside the
// plane of the four row loads (columns +0, +16, +2, +18: the even and odd columns of the
// tiles' first two and last two columns) and the lanes stored. Position ξ of channel c goes to
// v + c·vcsBytes + ξ·vxsBytes. Row r's columns land in Z(4r)…Z(4r+3).
func genWinoInput(a *asm) string {
	name := "winoInputAVX512"
	a.text(name, 96)
	a.op("MOVQ x+0(FP), AX")
	a.op("MOVQ ldxBytes+16(FP), SI")
	a.op("MOVQ rowOff+24(FP), R13")
	a.op("IMULQ SI, R13")
	a.op("ADDQ R13, AX")
	a.op("MOVQ colOff+40(FP), R13")
	a.op("SHLQ $2, R13")
	a.op("ADDQ R13, AX")
	a.op("LEAQ (SI)(SI*2), R13")
	a.op("MOVQ v+56(FP), DI")
	xiStrides(a, "vxsBytes+72(FP)")
	a.op("VMOVDQU32 winoConst<>+0(SB), Z30")
	a.op("VMOVDQU32 winoConst<>+64(SB), Z31")
	a.op("CMPQ nch+48(FP), $0")
	a.op("JLE %s_done", name)
	a.label(name + "_ch")
	a.op("MOVQ AX, BX")
	a.op("MOVQ DI, DX")
	a.op("MOVQ masks+80(FP), R12")
	a.op("MOVQ nchunks+88(FP), CX")
	a.op("TESTQ CX, CX")
	a.op("JZ %s_next", name)
	a.label(name + "_chunk")
	for k := 1; k <= 5; k++ {
		a.op("KMOVW %d(R12), K%d", 2*(k-1), k)
	}
	for r := 0; r < 4; r++ {
		winoLoadRow(a, name, r, fmt.Sprintf("TESTQ $%d, rowMask+32(FP)", 1<<r))
	}
	winoColumnsStore(a)
	a.op("ADDQ $128, BX")
	a.op("ADDQ $64, DX")
	a.op("ADDQ $10, R12")
	a.op("DECQ CX")
	a.op("JNZ %s_chunk", name)
	a.label(name + "_next")
	a.op("ADDQ xcsBytes+8(FP), AX")
	a.op("ADDQ vcsBytes+64(FP), DI")
	a.op("DECQ nch+48(FP)")
	a.op("JNZ %s_ch", name)
	a.label(name + "_done")
	a.op("VZEROUPPER")
	a.op("RET")
	return name
}

// winoLoadRow writes the load of input row r of a tile row into Z4r…Z4r+3 (4 floats of 16 tiles
// each, deinterleaved from two vectors by the permutations in Z30 and Z31 under masks K1–K4),
// zero when test (an instruction setting the zero flag for a padding row) says so, followed by
// d·B (winoRowB).
func winoLoadRow(a *asm, name string, r int, test string) {
	rowAddr := []string{"(BX)", "(BX)(SI*1)", "(BX)(SI*2)", "(BX)(R13*1)"}
	e := func(j int) string { return fmt.Sprintf("Z%d", 4*r+j) }
	a.op("%s", test)
	a.op("JZ %s_zero%d", name, r)
	a.op("VMOVUPS.Z %s, K1, %s", rowAddr[r], e(0))
	a.op("VMOVUPS.Z 64%s, K2, Z16", rowAddr[r])
	a.op("VMOVUPS.Z 8%s, K3, %s", rowAddr[r], e(2))
	a.op("VMOVUPS.Z 72%s, K4, Z17", rowAddr[r])
	for _, h := range []struct {
		lo, hi int
		tab    string
	}{{0, 1, "Z16"}, {2, 3, "Z17"}} {
		a.op("VMOVDQA32 Z30, Z18")
		a.op("VPERMI2PS %s, %s, Z18", h.tab, e(h.lo))
		a.op("VMOVDQA32 Z31, %s", e(h.hi))
		a.op("VPERMI2PS %s, %s, %s", h.tab, e(h.lo), e(h.hi))
		a.op("VMOVAPS Z18, %s", e(h.lo))
	}
	a.op("JMP %s_row%d", name, r)
	a.label(fmt.Sprintf("%s_zero%d", name, r))
	for j := 0; j < 4; j++ {
		a.op("VPXORD %s, %s, %s", e(j), e(j), e(j))
	}
	a.label(fmt.Sprintf("%s_row%d", name, r))
	// d·B: (d0−d2, d1+d2, d2−d1, d1−d3).
	winoRowB(a, e)
}

// winoRowB writes d·B for the four rows e(0…3) of one tile row, in place: (d0−d2, d1+d2, d2−d1,
// d1−d3); Z20 and Z21 are temporaries.
func winoRowB(a *asm, e func(int) string) {
	a.op("VSUBPS %s, %s, Z20", e(2), e(0))
	a.op("VADDPS %s, %s, Z21", e(2), e(1))
	a.op("VSUBPS %s, %s, %s", e(1), e(2), e(2))
	a.op("VSUBPS %s, %s, %s", e(3), e(1), e(3))
	a.op("VMOVAPS Z20, %s", e(0))
	a.op("VMOVAPS Z21, %s", e(1))
}

// winoColumnsStore writes Bᵀ·(d·B) down the columns of the 4×4 tile held in Z0–Z15 (row i in
// Z4i…Z4i+3) and stores its 16 positions under K5 from DX (R14 = DX + 8·R8 for the upper half).
func winoColumnsStore(a *asm) {
	a.op("LEAQ (DX)(R8*8), R14")
	for j := 0; j < 4; j++ {
		r := func(i int) string { return fmt.Sprintf("Z%d", 4*i+j) }
		a.op("VSUBPS %s, %s, Z20", r(2), r(0))
		a.op("VADDPS %s, %s, Z21", r(2), r(1))
		a.op("VSUBPS %s, %s, Z22", r(1), r(2))
		a.op("VSUBPS %s, %s, Z23", r(3), r(1))
		for i := 0; i < 4; i++ {
			a.op("VMOVUPS Z%d, K5, %s", 20+i, xiAddr(4*i+j, "DX", "R14"))
		}
	}
}

// winoOutputArgs is the parameter list of the output transform (88 bytes).
const winoOutputArgs = "(m *float32, mcsBytes, mxsBytes, nf int, y *float32, ycsBytes, ldyBytes, rows int, bias *float32, masks *uint16, nchunks int)"

// genWinoOutput writes winoOutputAVX512: for each of nf planes f and each chunk of 16 tiles,
// Y = Aᵀ M A + bias[f], M[ξ] being read at m + f·mcsBytes + ξ·mxsBytes, and the two output rows
// (one when rows is 1) written at y + f·ycsBytes, ldyBytes apart, their even and odd columns
// interleaved. Per chunk, masks holds the tile lanes read and the lanes of the two vectors of
// 16 columns written. M[ξ] lands in Zξ, Aᵀ·M in Z16…Z23.
func genWinoOutput(a *asm) string {
	name := "winoOutputAVX512"
	a.text(name, 88)
	a.op("MOVQ m+0(FP), AX")
	a.op("MOVQ y+32(FP), DI")
	a.op("MOVQ ldyBytes+48(FP), SI")
	a.op("MOVQ bias+64(FP), R13")
	xiStrides(a, "mxsBytes+16(FP)")
	a.op("VMOVDQU32 winoConst<>+128(SB), Z30")
	a.op("VMOVDQU32 winoConst<>+192(SB), Z31")
	a.op("CMPQ nf+24(FP), $0")
	a.op("JLE %s_done", name)
	a.label(name + "_f")
	a.op("VBROADCASTSS (R13), Z29")
	a.op("MOVQ AX, BX")
	a.op("MOVQ DI, DX")
	a.op("MOVQ masks+72(FP), R12")
	a.op("MOVQ nchunks+80(FP), CX")
	a.op("TESTQ CX, CX")
	a.op("JZ %s_next", name)
	a.label(name + "_chunk")
	for k := 1; k <= 3; k++ {
		a.op("KMOVW %d(R12), K%d", 2*(k-1), k)
	}
	a.op("LEAQ (BX)(R8*8), R14")
	for xi := 0; xi < 16; xi++ {
		a.op("VMOVUPS.Z %s, K1, Z%d", xiAddr(xi, "BX", "R14"), xi)
	}
	for j := 0; j < 4; j++ {
		a.op("VADDPS Z%d, Z%d, Z%d", 4+j, j, 16+j)
		a.op("VADDPS Z%d, Z%d, Z%d", 8+j, 16+j, 16+j)
		a.op("VSUBPS Z%d, Z%d, Z%d", 8+j, 4+j, 20+j)
		a.op("VSUBPS Z%d, Z%d, Z%d", 12+j, 20+j, 20+j)
	}
	outRow := func(s int, addr string) {
		a.op("VADDPS Z%d, Z%d, Z24", s+1, s)
		a.op("VADDPS Z%d, Z24, Z24", s+2)
		a.op("VSUBPS Z%d, Z%d, Z25", s+2, s+1)
		a.op("VSUBPS Z%d, Z25, Z25", s+3)
		a.op("VADDPS Z29, Z24, Z24")
		a.op("VADDPS Z29, Z25, Z25")
		a.op("VMOVDQA32 Z30, Z26")
		a.op("VPERMI2PS Z25, Z24, Z26")
		a.op("VMOVDQA32 Z31, Z27")
		a.op("VPERMI2PS Z25, Z24, Z27")
		a.op("VMOVUPS Z26, K2, %s", addr)
		a.op("VMOVUPS Z27, K3, 64%s", addr)
	}
	outRow(16, "(DX)")
	a.op("CMPQ rows+56(FP), $2")
	a.op("JLT %s_one", name)
	outRow(20, "(DX)(SI*1)")
	a.label(name + "_one")
	a.op("ADDQ $64, BX")
	a.op("ADDQ $128, DX")
	a.op("ADDQ $6, R12")
	a.op("DECQ CX")
	a.op("JNZ %s_chunk", name)
	a.label(name + "_next")
	a.op("ADDQ mcsBytes+8(FP), AX")
	a.op("ADDQ ycsBytes+40(FP), DI")
	a.op("ADDQ $4, R13")
	a.op("DECQ nf+24(FP)")
	a.op("JNZ %s_f", name)
	a.label(name + "_done")
	a.op("VZEROUPPER")
	a.op("RET")
	return name
}

// winoGradArgs is the parameter list of the output-gradient transform (80 bytes).
const winoGradArgs = "(dy *float32, dycsBytes, ldyBytes, rows, nf int, out *float32, ocsBytes, oxsBytes int, masks *uint16, nchunks int)"

// genWinoGrad writes winoGradOutAVX512: for each of nf planes f and each chunk of 16 tiles,
// A g Aᵀ of the 2×2 output-gradient tiles read from the two rows (one when rows is 1; the
// other reads as zeros) at dy + f·dycsBytes, ldyBytes apart, split into even and odd columns;
// position ξ goes to out + f·ocsBytes + ξ·oxsBytes. Per chunk, masks holds the tile lanes
// stored and the lanes of the two vectors of 16 columns read. Z0, Z1 hold the first row's
// even and odd columns, Z2, Z3 the second's.
func genWinoGrad(a *asm) string {
	name := "winoGradOutAVX512"
	a.text(name, 80)
	a.op("MOVQ dy+0(FP), AX")
	a.op("MOVQ ldyBytes+16(FP), SI")
	a.op("MOVQ out+40(FP), DI")
	xiStrides(a, "oxsBytes+56(FP)")
	a.op("VMOVDQU32 winoConst<>+0(SB), Z30")
	a.op("VMOVDQU32 winoConst<>+64(SB), Z31")
	a.op("VMOVDQU32 winoConst<>+256(SB), Z29")
	a.op("CMPQ nf+32(FP), $0")
	a.op("JLE %s_done", name)
	a.label(name + "_f")
	a.op("MOVQ AX, BX")
	a.op("MOVQ DI, DX")
	a.op("MOVQ masks+64(FP), R12")
	a.op("MOVQ nchunks+72(FP), CX")
	a.op("TESTQ CX, CX")
	a.op("JZ %s_next", name)
	a.label(name + "_chunk")
	a.op("KMOVW 0(R12), K3")
	a.op("KMOVW 2(R12), K1")
	a.op("KMOVW 4(R12), K2")
	row := func(addr string, even, odd int) {
		a.op("VMOVUPS.Z %s, K1, Z16", addr)
		a.op("VMOVUPS.Z 64%s, K2, Z17", addr)
		a.op("VMOVDQA32 Z30, Z%d", even)
		a.op("VPERMI2PS Z17, Z16, Z%d", even)
		a.op("VMOVDQA32 Z31, Z%d", odd)
		a.op("VPERMI2PS Z17, Z16, Z%d", odd)
	}
	row("(BX)", 0, 1)
	a.op("CMPQ rows+24(FP), $2")
	a.op("JGE %s_two", name)
	a.op("VPXORD Z2, Z2, Z2")
	a.op("VPXORD Z3, Z3, Z3")
	a.op("JMP %s_rows", name)
	a.label(name + "_two")
	row("(BX)(SI*1)", 2, 3)
	a.label(name + "_rows")
	// A g: rows (g0, g0+g1, g0−g1, −g1), as (even, odd) pairs.
	a.op("VADDPS Z2, Z0, Z4")
	a.op("VADDPS Z3, Z1, Z5")
	a.op("VSUBPS Z2, Z0, Z8")
	a.op("VSUBPS Z3, Z1, Z9")
	a.op("VXORPS Z29, Z2, Z6")
	a.op("VXORPS Z29, Z3, Z7")
	a.op("LEAQ (DX)(R8*8), R14")
	for i, pr := range [][2]int{{0, 1}, {4, 5}, {8, 9}, {6, 7}} {
		p, q := pr[0], pr[1]
		a.op("VADDPS Z%d, Z%d, Z10", q, p)
		a.op("VSUBPS Z%d, Z%d, Z11", q, p)
		a.op("VXORPS Z29, Z%d, Z12", q)
		a.op("VMOVUPS Z%d, K3, %s", p, xiAddr(4*i, "DX", "R14"))
		a.op("VMOVUPS Z10, K3, %s", xiAddr(4*i+1, "DX", "R14"))
		a.op("VMOVUPS Z11, K3, %s", xiAddr(4*i+2, "DX", "R14"))
		a.op("VMOVUPS Z12, K3, %s", xiAddr(4*i+3, "DX", "R14"))
	}
	a.op("ADDQ $128, BX")
	a.op("ADDQ $64, DX")
	a.op("ADDQ $6, R12")
	a.op("DECQ CX")
	a.op("JNZ %s_chunk", name)
	a.label(name + "_next")
	a.op("ADDQ dycsBytes+8(FP), AX")
	a.op("ADDQ ocsBytes+48(FP), DI")
	a.op("DECQ nf+32(FP)")
	a.op("JNZ %s_f", name)
	a.label(name + "_done")
	a.op("VZEROUPPER")
	a.op("RET")
	return name
}

// winoInputRowsArgs is the parameter list of the multi-row input transform (104 bytes).
const winoInputRowsArgs = "(x *float32, xcsBytes, ldxBytes, rowOff, colOff, nch int, v *float32, vcsBytes, vxsBytes int, masks *uint16, rowMasks *uint8, nty, vRowBytes int)"

// genWinoInputRows writes winoInputRowsAVX512, winoInputAVX512 over nty consecutive tile rows of
// one chunk of at most 16 tiles (the only one of its rows): tile row k reads input rows
// rowOff + 2k + r, of which those with bit r of rowMasks[k] set lie inside the plane, and stores
// its tiles vRowBytes·k further on. The two input rows it shares with tile row k+1 are loaded
// and transformed once: their d·B stays in Z8…Z15 and moves to Z0…Z7.
func genWinoInputRows(a *asm) string {
	name := "winoInputRowsAVX512"
	a.text(name, 104)
	a.op("MOVQ x+0(FP), AX")
	a.op("MOVQ ldxBytes+16(FP), SI")
	a.op("MOVQ rowOff+24(FP), R13")
	a.op("IMULQ SI, R13")
	a.op("ADDQ R13, AX")
	a.op("MOVQ colOff+32(FP), R13")
	a.op("SHLQ $2, R13")
	a.op("ADDQ R13, AX")
	a.op("LEAQ (SI)(SI*2), R13")
	a.op("MOVQ v+48(FP), DI")
	xiStrides(a, "vxsBytes+64(FP)")
	a.op("VMOVDQU32 winoConst<>+0(SB), Z30")
	a.op("VMOVDQU32 winoConst<>+64(SB), Z31")
	a.op("MOVQ masks+72(FP), R12")
	for k := 1; k <= 5; k++ {
		a.op("KMOVW %d(R12), K%d", 2*(k-1), k)
	}
	a.op("CMPQ nch+40(FP), $0")
	a.op("JLE %s_done", name)
	a.op("CMPQ nty+88(FP), $0")
	a.op("JLE %s_done", name)
	loadRow := func(r int) { winoLoadRow(a, name, r, fmt.Sprintf("TESTB $%d, (R12)", 1<<r)) }
	a.label(name + "_ch")
	a.op("MOVQ AX, BX")
	a.op("MOVQ DI, DX")
	a.op("MOVQ rowMasks+80(FP), R12")
	a.op("MOVQ nty+88(FP), CX")
	loadRow(0)
	loadRow(1)
	a.label(name + "_tilerow")
	loadRow(2)
	loadRow(3)
	winoColumnsStore(a)
	for z := 0; z < 8; z++ {
		a.op("VMOVAPS Z%d, Z%d", 8+z, z)
	}
	a.op("LEAQ (BX)(SI*2), BX")
	a.op("ADDQ vRowBytes+96(FP), DX")
	a.op("INCQ R12")
	a.op("DECQ CX")
	a.op("JNZ %s_tilerow", name)
	a.op("ADDQ xcsBytes+8(FP), AX")
	a.op("ADDQ vcsBytes+56(FP), DI")
	a.op("DECQ nch+40(FP)")
	a.op("JNZ %s_ch", name)
	a.label(name + "_done")
	a.op("VZEROUPPER")
	a.op("RET")
	return name
}
