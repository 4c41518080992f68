package kernels

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"testing"

	"gonum.org/v1/gonum/blas"
	gonumblas "gonum.org/v1/gonum/blas/gonum"
)

// benchShape is one benchmarked product, named m×k×n (op(A) is m×k, op(B) is k×n).
type benchShape struct {
	name           string
	transA, transB bool
	m, k, n        int
}

var benchShapes = []benchShape{
	{"2048x2048x2048_NN", false, false, 2048, 2048, 2048},
	{"128x784x512_NN_mlp_fwd", false, false, 128, 784, 512},
	{"128x512x784_NT_mlp_dX", false, true, 128, 512, 784},
	{"784x128x512_TN_mlp_dW", true, false, 784, 128, 512},
	{"512x128x784_TN", true, false, 512, 128, 784},
	{"128x784x32_NN_mlp_n32", false, false, 128, 784, 32},
	{"128x32x784_NT_mlp_n32_dX", false, true, 128, 32, 784},
	{"784x128x32_TN_mlp_n32_dW", true, false, 784, 128, 32},
	{"128x512x10_NN_mlp_out", false, false, 128, 512, 10},
	{"73728x288x64_NN_cnn1_conv2", false, false, 73728, 288, 64},
	{"64x288x576_NN_cnn1_conv2_per_image", false, false, 64, 288, 576},
	{"86528x9x2_NN_cnn2_conv1", false, false, 86528, 9, 2},
	{"128x784x2_NN_mlp_n2", false, false, 128, 784, 2},
	{"784x128x2_TN_mlp_n2_dW", true, false, 784, 128, 2},
	{"128x784x4_NT_mlp_n4", false, true, 128, 784, 4},
	{"16x16x16_NN_call_overhead", false, false, 16, 16, 16},
}

type benchOperands struct {
	a, b, c       []float32
	lda, ldb, ldc int
}

func newBenchOperands(s benchShape) benchOperands {
	r := rand.New(rand.NewPCG(1, 1))
	lda, ldb := s.k, s.n
	if s.transA {
		lda = s.m
	}
	if s.transB {
		ldb = s.k
	}
	return benchOperands{randFloats(r, s.m*s.k), randFloats(r, s.k*s.n), randFloats(r, s.m*s.n), lda, ldb, s.n}
}

// gflopsSeen records the last GFLOP/s of each sub-benchmark, so the parent can print ratios.
var gflopsSeen sync.Map

// singleThread runs loop on a locked OS thread and reports, besides the wall-clock rate, the
// rate over the thread's CPU time ("cpu-GFLOP/s"): on a shared machine it leaves out the time
// other processes held the core, so it varies far less between runs.
func singleThread(b *testing.B, flops float64, loop func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0, ok := threadCPUTime()
	loop()
	t1, _ := threadCPUTime()
	reportGflops(b, flops)
	if ok && t1 > t0 {
		b.ReportMetric(flops*float64(b.N)/(t1-t0).Seconds()/1e9, "cpu-GFLOP/s")
	}
}

func reportGflops(b *testing.B, flops float64) float64 {
	g := flops * float64(b.N) / b.Elapsed().Seconds() / 1e9
	b.ReportMetric(g, "GFLOP/s")
	gflopsSeen.Store(b.Name(), g)
	return g
}

func seen(name string) float64 {
	v, _ := gflopsSeen.Load(name)
	g, _ := v.(float64)
	return g
}

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// BenchmarkSgemm measures Sgemm (one thread, each implementation), SgemmParallel and gonum's
// Sgemm (pure Go with its own goroutines) on the training shapes, and prints the ratios of the
// wall-clock rates.
func BenchmarkSgemm(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(s.name, func(b *testing.B) {
			o := newBenchOperands(s)
			flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
			for _, im := range supportedImpls() {
				if im == genericImpl && flops > 1e9 {
					continue
				}
				b.Run(im.name, func(b *testing.B) {
					w := new(Workspace)
					singleThread(b, flops, func() {
						for b.Loop() {
							sgemm(im, w, s.transA, s.transB, s.m, s.n, s.k, 1, o.a, o.lda, o.b, o.ldb, 0, o.c, o.ldc)
						}
					})
				})
			}
			b.Run("parallel", func(b *testing.B) {
				for b.Loop() {
					SgemmParallel(s.transA, s.transB, s.m, s.n, s.k, 1, o.a, o.lda, o.b, o.ldb, 0, o.c, o.ldc)
				}
				reportGflops(b, flops)
			})
			b.Run("gonum", func(b *testing.B) {
				var impl gonumblas.Implementation
				for b.Loop() {
					impl.Sgemm(trans(s.transA), trans(s.transB), s.m, s.n, s.k, 1, o.a, o.lda, o.b, o.ldb, 0, o.c, o.ldc)
				}
				reportGflops(b, flops)
			})
			best := bestImpl().name
			one, par, g := seen(b.Name()+"/"+best), seen(b.Name()+"/parallel"), seen(b.Name()+"/gonum")
			if one > 0 && g > 0 {
				line := fmt.Sprintf("ratio %-36s %s %6.1f GFLOP/s = %5.1fx gonum (%5.1f)", s.name, best, one, one/g, g)
				if par > 0 {
					line += fmt.Sprintf("; parallel %6.1f = %5.1fx gonum", par, par/g)
				}
				fmt.Fprintln(os.Stderr, line)
			}
		})
	}
}

// BenchmarkMicroKernel runs each full-tile micro-kernel on L1-resident packed panels: the ceiling
// the blocked Sgemm can approach.
func BenchmarkMicroKernel(b *testing.B) {
	for _, im := range supportedImpls() {
		b.Run(im.name, func(b *testing.B) {
			const kc = 128
			r := rand.New(rand.NewPCG(1, 1))
			a := randFloats(r, im.mr*kc)
			bp := randFloats(r, im.nr*kc)
			c := make([]float32, im.mr*im.nr)
			singleThread(b, 2*float64(im.mr*im.nr*kc), func() {
				for b.Loop() {
					im.kernel(im.mr, im.nr, kc, &a[0], 4, 4*im.mr, &bp[0], 4*im.nr, &c[0], 4*im.nr, 1, 1, true)
				}
			})
		})
	}
}

// convBenchShapes are the convolutions of the CNN sweeps at batch 128: CNN2 at n=2 and n=32
// (valid 3×3 convolutions; pooling between the second and third), CNN1's second layer at n=32,
// and the shapes that bound the Winograd rule.
var convBenchShapes = []struct {
	name string
	g    ConvGeom
}{
	{"n2_28x28x1_to_26x26x2", ConvGeom{C: 1, H: 28, W: 28, F: 2, KH: 3, KW: 3, StrideH: 1, StrideW: 1}},
	{"n2_26x26x2_to_24x24x2", ConvGeom{C: 2, H: 26, W: 26, F: 2, KH: 3, KW: 3, StrideH: 1, StrideW: 1}},
	{"n2_12x12x2_to_10x10x4", ConvGeom{C: 2, H: 12, W: 12, F: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1}},
	{"n2_10x10x4_to_8x8x4", ConvGeom{C: 4, H: 10, W: 10, F: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1}},
	{"n4_26x26x4_to_24x24x4", ConvGeom{C: 4, H: 26, W: 26, F: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1}},
	{"n8_28x28x1_to_26x26x8", ConvGeom{C: 1, H: 28, W: 28, F: 8, KH: 3, KW: 3, StrideH: 1, StrideW: 1}},
	{"n8_26x26x8_to_24x24x8", ConvGeom{C: 8, H: 26, W: 26, F: 8, KH: 3, KW: 3, StrideH: 1, StrideW: 1}},
	{"n16_26x26x16_to_24x24x16", ConvGeom{C: 16, H: 26, W: 26, F: 16, KH: 3, KW: 3, StrideH: 1, StrideW: 1}},
	{"n32_28x28x1_to_26x26x32", ConvGeom{C: 1, H: 28, W: 28, F: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1}},
	{"n32_26x26x32_to_24x24x32", ConvGeom{C: 32, H: 26, W: 26, F: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1}},
	{"n32_12x12x32_to_10x10x64", ConvGeom{C: 32, H: 12, W: 12, F: 64, KH: 3, KW: 3, StrideH: 1, StrideW: 1}},
	{"n32_10x10x64_to_8x8x64", ConvGeom{C: 64, H: 10, W: 10, F: 64, KH: 3, KW: 3, StrideH: 1, StrideW: 1}},
	{"cnn1_n32_26x26x32_to_24x24x64", ConvGeom{C: 32, H: 26, W: 26, F: 64, KH: 3, KW: 3, StrideH: 1, StrideW: 1}},
	// Where NewConv2D's Winograd rule was checked: CNN1's and CNN2's n=16 layers with 16 and 32
	// channels, and same padding.
	{"cnn1_n16_26x26x16_to_24x24x32", ConvGeom{C: 16, H: 26, W: 26, F: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1}},
	{"n16_10x10x32_to_8x8x32", ConvGeom{C: 32, H: 10, W: 10, F: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1}},
	{"same_24x24x32_to_24x24x32", ConvGeom{C: 32, H: 24, W: 24, F: 32, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}},
}

// BenchmarkConv measures DirectConv, Im2colConv and, for 3×3 stride-1 layers, WinogradConv
// (same implementation, one thread) for each pass at batch 128, all rated by the direct
// convolution's FLOPs, and prints direct's speed-up over im2col and Winograd's over the faster
// of the two: above 1 the first named wins.
func BenchmarkConv(b *testing.B) {
	const n = 128
	for _, s := range convBenchShapes {
		b.Run(s.name, func(b *testing.B) {
			g := s.g
			r := rand.New(rand.NewPCG(2, 2))
			x, w, bias := randFloats(r, n*g.InSize()), randFloats(r, g.FilterSize()), randFloats(r, g.F)
			y, dy, dx, dw := make([]float32, n*g.OutSize()), randFloats(r, n*g.OutSize()), make([]float32, n*g.InSize()), make([]float32, g.FilterSize())
			flops := g.Flops(n)
			passes := []struct {
				name string
				run  func(Conv2D)
			}{
				{"forward", func(cv Conv2D) { cv.Forward(n, x, w, bias, y) }},
				{"backward_data", func(cv Conv2D) { cv.BackwardData(n, dy, w, dx) }},
				{"backward_filter", func(cv Conv2D) { cv.BackwardFilter(n, x, dy, dw) }},
			}
			for _, p := range passes {
				b.Run(p.name, func(b *testing.B) {
					engines := []Conv2D{NewDirectConv(g), NewIm2colConv(g)}
					if WinogradSupports(g) {
						engines = append(engines, NewWinogradConv(g))
					}
					for _, cv := range engines {
						name := "im2col"
						switch cv.(type) {
						case *DirectConv:
							name = "direct"
						case *WinogradConv:
							name = "winograd"
						}
						b.Run(name, func(b *testing.B) {
							singleThread(b, flops, func() {
								for b.Loop() {
									p.run(cv)
								}
							})
						})
					}
					d, i, wg := seen(b.Name()+"/direct"), seen(b.Name()+"/im2col"), seen(b.Name()+"/winograd")
					if i > 0 {
						fmt.Fprintf(os.Stderr, "ratio %-34s %-16s direct %6.1f GFLOP/s  im2col %6.1f  winograd %6.1f  direct/im2col %.2fx  winograd/best %.2fx\n", s.name, p.name, d, i, wg, d/i, wg/max(d, i))
					}
				})
			}
		})
	}
}

// BenchmarkEpilogue measures the bias / ReLU passes on a CNN2 n=32 first-layer output
// (128×32×26×26 floats), reporting GB/s of floats read and written.
func BenchmarkEpilogue(b *testing.B) {
	const n, c, hw = 128, 32, 26 * 26
	r := rand.New(rand.NewPCG(4, 4))
	y, dy, dx, bias := randFloats(r, n*c*hw), randFloats(r, n*c*hw), make([]float32, n*c*hw), randFloats(r, c)
	db := make([]float32, c)
	for _, tc := range []struct {
		name  string
		bytes int
		run   func()
	}{
		{"AddBiasReLUNCHW", 8, func() { AddBiasReLUNCHW(n, c, hw, y, bias) }},
		{"ReLUBackward", 12, func() { ReLUBackward(y, dy, dx) }},
		{"BiasGradNCHW", 4, func() { BiasGradNCHW(n, c, hw, dy, db) }},
		{"AddBiasReLU_rows", 8, func() { AddBiasReLU(n*hw, c, y, c, bias) }},
		{"BiasGrad_rows", 4, func() { BiasGrad(n*hw, c, dy, c, db) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(tc.bytes * n * c * hw))
			for b.Loop() {
				tc.run()
			}
		})
	}
}

// BenchmarkMaxPool2x2 measures the 2×2 max-pooling kernel on CNN1 n=32's pooling layer (128×64
// planes of 24×24) with each implementation, reporting GB/s of input read (the outputs and
// indices written add half as much again), and prints the speedup over the pure-Go kernel.
func BenchmarkMaxPool2x2(b *testing.B) {
	const planes, h, w = 128 * 64, 24, 24
	r := rand.New(rand.NewPCG(5, 5))
	x := randFloats(r, planes*h*w)
	out, argmax := make([]float32, planes*h*w/4), make([]int32, planes*h*w/4)
	rate := map[string]float64{}
	for _, im := range supportedImpls() {
		b.Run(im.name, func(b *testing.B) {
			b.SetBytes(int64(4 * planes * h * w))
			for b.Loop() {
				for p := range planes {
					im.maxPool(x[p*h*w:], w, out[p*h*w/4:], argmax[p*h*w/4:], w/2, h/2, w/2)
				}
			}
			rate[im.name] = float64(b.N) / b.Elapsed().Seconds()
		})
	}
	if g := rate[ImplGeneric]; g > 0 {
		for name, v := range rate {
			if name != ImplGeneric {
				fmt.Fprintf(os.Stderr, "ratio MaxPool2x2 %s/generic %.1fx\n", name, v/g)
			}
		}
	}
}
