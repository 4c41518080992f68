package dataset

import (
	"bytes"
	"context"
	_ "embed" // for the MNIST files
	"io"
	"sync"
)

// The original MNIST distribution files (yann.lecun.com), gzip-compressed IDX.
var (
	//go:embed mnist/train-images-idx3-ubyte.gz
	mnistTrainImages []byte
	//go:embed mnist/train-labels-idx1-ubyte.gz
	mnistTrainLabels []byte
	//go:embed mnist/t10k-images-idx3-ubyte.gz
	mnistTestImages []byte
	//go:embed mnist/t10k-labels-idx1-ubyte.gz
	mnistTestLabels []byte
)

// MNIST returns the MNIST digits embedded in the binary: 60000 training and 10000 test images of
// 28×28×1, 10 classes. The files are decoded on the first call (a few hundred milliseconds) and
// the same *Data is returned to every caller after that, so callers must not modify it; use
// Set.Split or copy the slices to get data of one's own. Name is "mnist".
func MNIST() (*Data, error) { return mnistOnce() }

var mnistOnce = sync.OnceValues(func() (*Data, error) {
	d, err := decodeMNIST()
	if d != nil {
		d.shared = true
	}
	return d, err
})

// decodeMNIST decodes the embedded files, on every call.
func decodeMNIST() (*Data, error) {
	embedded := func(name string, b []byte) source {
		return source{name: "mnist/" + name + " (embedded)", open: func() (io.ReadCloser, int64, error) {
			return io.NopCloser(bytes.NewReader(b)), int64(len(b)), nil
		}}
	}
	return decode(context.Background(), "mnist", [4]source{
		trainImages: embedded("train-images-idx3-ubyte.gz", mnistTrainImages),
		trainLabels: embedded("train-labels-idx1-ubyte.gz", mnistTrainLabels),
		testImages:  embedded("t10k-images-idx3-ubyte.gz", mnistTestImages),
		testLabels:  embedded("t10k-labels-idx1-ubyte.gz", mnistTestLabels),
	})
}

// MNISTInfo returns the shape of MNIST without decoding it: 28×28×1 images, 10 classes, 60000
// training and 10000 test examples.
func MNISTInfo() Info {
	return Info{H: 28, W: 28, C: 1, Classes: 10, TrainN: 60000, TestN: 10000}
}
