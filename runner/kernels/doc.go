// Package kernels implements the float32 compute kernels of CPU training: a BLIS-style SGEMM
// with assembly micro-kernels, 2-D convolutions over NCHW batches (im2col lowering, a direct
// convolution for few channels and Winograd F(2×2, 3×3) for 3×3 layers with many), depthwise
// convolutions (depthwise.go), and bias / ReLU epilogues
// with their gradients. It imports no
// other package of nnsweep and no gorgonia: gorgonia ops call it with plain slices.
//
// # Layouts and units
//
// Matrices are dense row-major float32 slices. A leading dimension (lda, ldb, ldc, ldy) is the
// distance between the starts of consecutive rows, counted in floats; every size, stride and
// offset in this package counts floats (elements), never bytes. Batches of images are NCHW:
// example, channel, row, column, the column varying fastest. Convolution weights are F×C×KH×KW
// (filter, input channel, kernel row, kernel column), biases have one entry per output channel
// or column. Dense layers keep one example per row: y (batch×out) = x (batch×in) · w (in×out).
//
// # Implementations
//
// Three sets of kernels exist, chosen once at start with golang.org/x/sys/cpu:
//
//   - "avx512" (AVX-512F and VL): 14×32 SGEMM register tile (28 zmm accumulators), masked edge
//     tiles, a 16×16 transpose for packing, the direct-convolution kernels, the Winograd
//     transforms and the element-wise bias / ReLU passes.
//   - "avx2" (AVX2 and FMA): 6×16 SGEMM tile; packing, convolutions and epilogues in pure Go.
//   - "generic": pure Go everywhere (4×8 tile). It is the fallback on any CPU and the reference
//     every assembly kernel is tested against.
//
// The environment variable NNSWEEP_KERNELS (EnvImpl) caps the choice: "generic", "avx2",
// "avx512" or "auto" (the default, the best the CPU has). UseImpl switches at run time and Impl
// reports the set in use. The build tag purego leaves the assembly out. The assembly is generated
// by gen_asm.go (a text generator without dependencies); after changing it run go generate.
//
// # SGEMM
//
// Sgemm computes C = alpha·op(A)·op(B) + beta·C with BLAS semantics on one goroutine: beta = 0
// never reads C (NaNs there are overwritten), alpha = 0 or k = 0 never reads A or B. The loop
// nest is BLIS's: op(B) is packed in blocks of up to 320×512 floats (L2), k is cut into equal
// blocks of at most 320, one A micro-panel of 14×kc floats stays in L1 while the micro-kernel
// sweeps it across the B block, prefetching the B panel 32 steps ahead. Operands are read in
// place when packing would not pay: A unless many column tiles reuse a micro-panel whose rows
// would alias in L1 (lda a multiple of 256 floats, say), B when it is not transposed and either
// at most 64 floats wide or used by at most four row tiles. Products with op(B)
// at most four columns wide (MLP layers of width 1…4) take dedicated paths: dot products along k
// when A is not transposed, the transposed product Cᵀ = op(B)ᵀ·A when it is.
//
// SgemmParallel cuts C into chunks of whole tiles (rows when op(A) is taller than op(B) is wide,
// else columns) when the product has at least ParallelMinFlops operations, and is bitwise equal to
// Sgemm: the caller and the helpers that join in time take the chunks from one counter, so when
// the other cores are busy the caller runs them all instead of waiting. Pass runs an op's pass (a convolution, pooling, an element-wise pass, the
// optimizer's update) in chunks on the caller and a helper, split only when measured faster.
//
// # Buffers, concurrency and alignment
//
// The package-level Sgemm and SgemmParallel take their packing buffers from a sync.Pool and do
// not allocate after warm-up; they are safe for concurrent use on disjoint C. A Workspace is a
// caller-owned set of the same buffers (Workspace.Sgemm); it, DirectConv, Im2colConv and
// WinogradConv own scratch memory and must not be used by two goroutines at once (make one per
// goroutine; they do not allocate after construction or their first call). Callers' slices need no alignment:
// the kernels use unaligned loads, and the internal buffers are 64-byte aligned. Slices shorter
// than their dimensions say cause a panic ("kernels: …"), never an out-of-bounds access.
//
// # Convolutions
//
// Im2col lowers one example to the (C·KH·KW)×(OutH·OutW) matrix whose row (c·KH+kh)·KW+kw holds
// the input pixel each output position sees through tap (c, kh, kw). With weights F×(C·KH·KW),
// the example's output is y = w·col (Sgemm NN, m=F, k=C·KH·KW, n=OutH·OutW), already NCHW; the
// gradients are dw += dy·colᵀ (NT) and dx = Col2im(wᵀ·dy) (TN then Col2im): no transpose is ever
// materialised. Im2colConv runs these per example. Where a tap's rows lie wholly inside the input
// (valid padding, stride 1 along the width) Im2col and Col2im move them with one call of the
// strided row kernel per tap instead of a copy per output row.
//
// DirectConv splits each padded input by stride phase into planes (a valid stride-1 input is
// read in place), so that every tap is a contiguous shifted copy of a plane, and accumulates up
// to eight output planes at a time in zmm registers, vectorised over the flattened output plane
// (48 or 64 positions per step, the KW-1 columns past each row's end computed and dropped). The
// kernel stores each vector's valid lanes straight into the output by a per-vector table of
// masks and offsets (VCOMPRESSPS), adding the bias, so no grid is copied out. The input gradient
// is the same computation on the dilated output gradient with the kernel flipped; the filter
// gradient is dot products of output-gradient planes with shifted input planes in tiles of up to
// 8×6, whose 16 lane sums per weight accumulate over the batch and are reduced on its last
// example. With 32 or more filters the filter gradient runs on width-compact planes (KW copies of
// each input plane, OutW wide) so that the output gradient is read in place. All passes support
// any stride and asymmetric padding.
//
// Direct convolution wins with few channels; im2col + Sgemm wins the filter gradient of small
// outputs with many channels, where the direct dot products are short and many.
//
// WinogradConv computes 3×3 stride-1 convolutions with Winograd's F(2×2, 3×3) algorithm: 16
// multiplies per 2×2 output tile and channel pair instead of 36. Per chunk of tile rows (sized
// so that the transformed tiles stay in L2) the input tiles are transformed 16 at a time in zmm
// registers, the 16 positions of the transformed tile are 16 products over channels through
// Sgemm, and the output transform adds the bias. The input gradient is the same algorithm on
// the padded output gradient with the filters rotated and transposed; the filter gradient
// transforms the output-gradient tiles and sums their products with the input tiles over the
// batch. Its rounding differs from the other two (the transforms add and subtract up to nine
// values around each product), within the tolerance its tests state.
//
// NewConv2D encodes the crossovers pass by pass: Winograd on 3×3 stride-1 layers (padding at
// most 2) with at least 16 input and 16 output channels and C·F ≥ 512; else im2col for the filter
// gradient when C·F ≥ 1024 and the output plane has at most 100 positions; else direct. Without
// the AVX-512 kernels it returns Im2colConv. go test -bench 'BenchmarkConv$' ./runner/kernels/
// measures all three on the machine at hand.
//
// # Batch norm and ReLU
//
// BatchNormSum, BatchNormSquaredDeviations, BatchNormAffine, BatchNormGradSums and
// BatchNormInputGrad (batchnorm.go) are a batch norm's passes over one channel of an NCHW batch,
// its planes strided through the batch; the float64 sums keep sixteen lanes in a fixed order on
// every implementation, so the AVX-512 kernels give the generic ones' bits. Their ReLU variants
// fuse a following ReLU, and ReLUInto (relu.go) is a ReLU from one slice into another in one
// pass. At stride 1 the depthwise passes run in place on the batch's planes
// (depthwise_inplace.go).
//
//go:generate go run gen_asm.go
package kernels
