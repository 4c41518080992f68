//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

var (
	avx512Impl = &impl{
		name: ImplAVX512, mr: 14, nr: 32, vec: 16,
		sgemm:       sgemmAVX512Kernels,
		convDot:     convDotAVX512Kernels,
		convDotVec:  convDotVecAVX512Kernels,
		convTapsOut: convTapsOutAVX512Kernels,
		transpose:   transposeAVX512,
		copyRowsAsm: copyRowsAVX512,

		biasAct:      biasActAVX512,
		addBiasRows:  addBiasRowsAVX512,
		reluBackward: reluBackwardAVX512,
		sum:          sumAVX512,
		addColumns:   addColumnsAVX512,
		maxPool2x2:   maxPool2x2AVX512,
		rmsprop:      rmspropAVX512,
		adadelta:     adadeltaAVX512,
		adam:         adamAVX512,

		// Batch norm, in-place depthwise and ReLU kernels.
		bnSum:           bnSumAVX512,
		bnSqDev:         bnSqDevAVX512,
		bnAffine:        bnAffineAVX512,
		bnGradSums:      bnGradSumsAVX512,
		bnInputGrad:     bnInputGradAVX512,
		bnAffineReLU:    bnAffineReLUAVX512,
		bnGradSumsReLU:  bnGradSumsReLUAVX512,
		bnInputGradReLU: bnInputGradReLUAVX512,
		dwTaps:          dwTapsAVX512,
		dwDot:           dwDotAVX512Kernels,
		dwTapsK:         dwTapsKAVX512Kernels,
		reluInto:        reluIntoAVX512,
		winoInput:       winoInputAVX512,
		winoOutput:      winoOutputAVX512,
		winoGradOut:     winoGradOutAVX512,

		winoInputRows: winoInputRowsAVX512,
	}
	avx2Impl = &impl{name: ImplAVX2, mr: 6, nr: 16, vec: 8, sgemm: sgemmAVX2Kernels}
)

// asmImpls lists the assembly implementations this CPU supports, best first. The operating
// system's support for the wider register state is part of what x/sys/cpu reports.
func asmImpls() []*impl {
	var out []*impl
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		out = append(out, avx512Impl)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		out = append(out, avx2Impl)
	}
	return out
}
