package dataset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// FashionMNISTPackage is the Debian package that installs Fashion-MNIST.
const FashionMNISTPackage = "dataset-fashion-mnist"

// fashionMNISTDir is where FashionMNISTPackage puts the four files. Tests replace it.
var fashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// fashionMNISTFiles are the files of Fashion-MNIST in checksum order, each with the SHA-256 of
// its decompressed content: the content is pinned rather than the gzip files, which a repackaging
// may compress differently.
var fashionMNISTFiles = [4]struct{ name, content string }{
	{"train-images-idx3-ubyte.gz", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"},
	{"train-labels-idx1-ubyte.gz", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"},
	{"t10k-images-idx3-ubyte.gz", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"},
	{"t10k-labels-idx1-ubyte.gz", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"},
}

// FashionMNISTClassNames names Fashion-MNIST's ten classes, label i by element i, as Zalando's
// README does.
var FashionMNISTClassNames = []string{
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

// FashionMNISTInfo returns the shape of Fashion-MNIST without reading it: 28×28×1 images, 10
// named classes, 60000 training and 10000 test examples.
func FashionMNISTInfo() Info {
	return Info{H: 28, W: 28, C: 1, Classes: 10, TrainN: 60000, TestN: 10000, ClassNames: FashionMNISTClassNames}
}

// DescribeFashionMNIST returns FashionMNISTInfo when the files of Debian's package are installed,
// and otherwise an error with the command that installs them. Their content is checked by
// FashionMNIST, not here.
func DescribeFashionMNIST() (Info, error) {
	if _, err := fashionMNISTSources(); err != nil {
		return Info{}, err
	}
	return FashionMNISTInfo(), nil
}

// FashionMNIST reads Zalando's Fashion-MNIST from the files of Debian's package
// dataset-fashion-mnist (/usr/share/datasets/fashion-mnist): 60000 training and 10000 test images
// of clothing, 28×28×1, in 10 classes named by FashionMNISTClassNames. The SHA-256 of each file's
// decompressed content is checked. Name is "fashion-mnist" and Checksum is derived from the
// pinned content digests, so it does not change when the package is rebuilt. Each call decodes
// the files anew (about half a second) and returns Data of the caller's own.
func FashionMNIST(ctx context.Context) (*Data, error) {
	src, err := fashionMNISTSources()
	if err != nil {
		return nil, err
	}
	d, err := decode(ctx, "fashion-mnist", src)
	if err != nil {
		return nil, err
	}
	all := sha256.New()
	for _, f := range fashionMNISTFiles {
		sum, _ := hex.DecodeString(f.content)
		all.Write(sum)
	}
	d.Checksum = hex.EncodeToString(all.Sum(nil))
	d.ClassNames = FashionMNISTClassNames
	return d, nil
}

// fashionMNISTSources returns the package's files, or an error naming the first one missing and
// the command that installs them.
func fashionMNISTSources() ([4]source, error) {
	var src [4]source
	for i, f := range fashionMNISTFiles {
		path := filepath.Join(fashionMNISTDir, f.name)
		if _, err := os.Stat(path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return src, fmt.Errorf("fashion-mnist: %s is missing: install Debian's package with `apt-get install %s` (as root), or give the four IDX files as dataset: {train: {images: PATH, labels: PATH}, test: {images: PATH, labels: PATH}}",
					path, FashionMNISTPackage)
			}
			return src, fmt.Errorf("fashion-mnist: %w", err)
		}
		src[i] = fileSource(path, Whole)
		src[i].content = f.content
	}
	return src, nil
}
