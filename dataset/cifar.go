package dataset

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nnsweep/nnsweep/internal/numfmt"
)

// CIFAR-10's binary format: a batch file is a sequence of records, each a label byte (0..9)
// followed by a 32×32 colour image as 1024 red, then 1024 green, then 1024 blue bytes, each
// plane row-major.
const (
	cifarSide    = 32
	cifarPlane   = cifarSide * cifarSide
	cifarPixels  = 3 * cifarPlane
	cifarRecord  = 1 + cifarPixels
	cifarClasses = 10
	// maxMetaBytes bounds batches.meta.txt, a list of ten class names.
	maxMetaBytes = 64 << 10
)

// The files of CIFAR-10's binary version, as the folder cifar-10-batches-bin of
// cifar-10-binary.tar.gz holds them.
var (
	cifarTrainFiles = []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"}
	cifarTestFile   = "test_batch.bin"
	cifarMetaFile   = "batches.meta.txt"
)

// CIFAR10ClassNames names CIFAR-10's classes, label i by element i, as its batches.meta.txt does.
// They are used when a folder has no batches.meta.txt.
var CIFAR10ClassNames = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

// cifarFix says what a CIFAR-10 folder must hold.
const cifarFix = "dir: must be the folder cifar-10-batches-bin of CIFAR-10's binary version (cifar-10-binary.tar.gz), with data_batch_1.bin … data_batch_5.bin and test_batch.bin"

// ReadCIFARBatch reads a CIFAR-10 batch in the binary format from r: records of a label byte in
// 0..9 and 3072 pixel bytes (the red, green and blue planes of a 32×32 image, each row-major). It
// returns the images as intensities in [0,1] (byte / 255), example-major, each in HWC order
// (row, column, channel) as Set holds them, and the labels. r must hold at least one record and
// a whole number of them. Memory grows with the records actually present. name is used in error
// messages, which start with it.
func ReadCIFARBatch(r io.Reader, name string) (images []float32, labels []int32, err error) {
	images, labels, err = readCIFARRecords(r, name, nil, nil)
	if err != nil {
		return nil, nil, err
	}
	return images, labels, nil
}

// readCIFARRecords appends the records of the batch r to images and labels.
func readCIFARRecords(r io.Reader, name string, images []float32, labels []int32) ([]float32, []int32, error) {
	rec := make([]byte, cifarRecord)
	for n := 0; ; n++ {
		k, err := io.ReadFull(r, rec)
		switch {
		case k == 0 && errors.Is(err, io.EOF):
			if n == 0 {
				return nil, nil, fmt.Errorf("%s: empty file; expected a CIFAR-10 batch of %s-byte records", name, numfmt.GroupDigits(cifarRecord))
			}
			return images, labels, nil
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, nil, fmt.Errorf("%s: truncated: %s and %s of another; a CIFAR-10 batch is a sequence of %s-byte records (a label byte and %s pixel bytes)",
				name, numfmt.Plural(n, "whole record", "whole records"), byteCount(int64(k)), numfmt.GroupDigits(cifarRecord), numfmt.GroupDigits(cifarPixels))
		case err != nil:
			return nil, nil, fmt.Errorf("%s: reading record %d: %w", name, n, err)
		}
		if rec[0] >= cifarClasses {
			hint := " (CIFAR-100's binary format, with two label bytes per record, is not supported)"
			if n == 0 && rec[0] == 0x1f && rec[1] == 0x8b {
				hint = " (this is gzip data: extract cifar-10-binary.tar.gz first, with tar xzf)"
			}
			return nil, nil, fmt.Errorf("%s: record %d (0-based) has label %d; CIFAR-10's labels are 0..9%s", name, n, rec[0], hint)
		}
		labels = append(labels, int32(rec[0]))
		start := len(images)
		images = slices.Grow(images, cifarPixels)[:start+cifarPixels]
		img := images[start:]
		for ch := range 3 {
			plane := rec[1+ch*cifarPlane : 1+(ch+1)*cifarPlane]
			for i, b := range plane {
				img[i*3+ch] = pixelScale[b]
			}
		}
	}
}

// cifarFolder is what DescribeCIFAR10 finds in a folder: the batch files' paths and record
// counts, and the class names.
type cifarFolder struct {
	train, test   []string // paths
	trainN, testN int
	names         []string
}

// DescribeCIFAR10 returns the shape of the CIFAR-10 folder dir (see LoadCIFAR10) from the sizes of
// its batch files and its batches.meta.txt, without reading the batches: 32×32×3 images, 10
// classes, one example per 3073 bytes. A missing, empty or truncated batch file is an error, as
// are data that would not fit the machine's memory.
func DescribeCIFAR10(dir string) (Info, error) {
	f, err := describeCIFAR10(dir)
	if err != nil {
		return Info{}, err
	}
	return f.info(), nil
}

func (f cifarFolder) info() Info {
	return Info{H: cifarSide, W: cifarSide, C: 3, Classes: cifarClasses, TrainN: f.trainN, TestN: f.testN, ClassNames: f.names}
}

func describeCIFAR10(dir string) (cifarFolder, error) {
	var f cifarFolder
	var errs []error
	size := func(name string) (string, int) {
		path := filepath.Join(dir, name)
		file, bytes, err := openRegular(path)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				err = fmt.Errorf("%s: missing; %s", path, cifarFix)
			}
			errs = append(errs, err)
			return path, 0
		}
		file.Close()
		switch {
		case bytes == 0:
			errs = append(errs, fmt.Errorf("%s: empty file; expected a CIFAR-10 batch of %s-byte records", path, numfmt.GroupDigits(cifarRecord)))
		case bytes%cifarRecord != 0:
			errs = append(errs, fmt.Errorf("%s: truncated: %s is %s and %s of another; a CIFAR-10 batch is a sequence of %s-byte records (a label byte and %s pixel bytes)",
				path, byteCount(bytes), numfmt.Plural(int(bytes/cifarRecord), "whole record", "whole records"), byteCount(bytes%cifarRecord),
				numfmt.GroupDigits(cifarRecord), numfmt.GroupDigits(cifarPixels)))
		}
		return path, int(bytes / cifarRecord)
	}
	for _, name := range cifarTrainFiles {
		path, n := size(name)
		f.train, f.trainN = append(f.train, path), f.trainN+n
	}
	path, n := size(cifarTestFile)
	f.test, f.testN = []string{path}, n
	names, err := readCIFARMeta(filepath.Join(dir, cifarMetaFile))
	if err != nil {
		errs = append(errs, err)
	}
	f.names = names
	if err := errors.Join(errs...); err != nil {
		return cifarFolder{}, err
	}
	examples := int64(f.trainN + f.testN)
	if err := checkMemory(dir, fmt.Sprintf("the folder holds %s images of 32×32×3", numfmt.GroupDigits(examples)), 4*examples*(cifarPixels+1)); err != nil {
		return cifarFolder{}, err
	}
	return f, nil
}

// readCIFARMeta reads the class names of batches.meta.txt, one a line (blank lines ignored), or
// CIFAR10ClassNames when the file does not exist.
func readCIFARMeta(path string) ([]string, error) {
	file, size, err := openRegular(path)
	if errors.Is(err, fs.ErrNotExist) {
		return CIFAR10ClassNames, nil
	}
	if err != nil {
		return nil, err
	}
	defer file.Close()
	if size > maxMetaBytes {
		return nil, fmt.Errorf("%s: %s; a list of %d class names is far shorter (at most %s)", path, byteCount(size), cifarClasses, byteCount(maxMetaBytes))
	}
	var names []string
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		if name := strings.TrimSpace(sc.Text()); name != "" {
			names = append(names, name)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(names) != cifarClasses {
		return nil, fmt.Errorf("%s: names %d classes; CIFAR-10's batches.meta.txt names %d, one a line", path, len(names), cifarClasses)
	}
	return names, nil
}

// LoadCIFAR10 reads the binary version of CIFAR-10 from the folder dir (cifar-10-batches-bin):
// data_batch_1.bin … data_batch_5.bin as the training set, test_batch.bin as the test set, and
// the class names from batches.meta.txt. The real folder gives 50000 training and 10000 test
// images of 32×32×3 in 10 classes; any whole number of records per file is accepted. Name is
// "cifar10:" followed by dir, and Checksum is the lowercase hex SHA-256 of the concatenated
// SHA-256 digests of the six batch files in that order. Reading stops with ctx's error once ctx
// is done.
func LoadCIFAR10(ctx context.Context, dir string) (*Data, error) {
	f, err := describeCIFAR10(dir)
	if err != nil {
		return nil, err
	}
	all := sha256.New()
	read := func(paths []string, n int) (*Set, error) {
		images, labels := make([]float32, 0, n*cifarPixels), make([]int32, 0, n)
		for _, path := range paths {
			file, _, err := openRegular(path)
			if err != nil {
				return nil, err
			}
			h := sha256.New()
			r := bufio.NewReaderSize(ctxReader{ctx, io.TeeReader(file, h)}, chunkSize)
			images, labels, err = readCIFARRecords(r, path, images, labels)
			file.Close()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if err != nil {
				return nil, err
			}
			all.Write(h.Sum(nil))
		}
		return &Set{Images: images, Labels: labels, N: len(labels), H: cifarSide, W: cifarSide, C: 3, Classes: cifarClasses}, nil
	}
	train, err := read(f.train, f.trainN)
	if err != nil {
		return nil, err
	}
	test, err := read(f.test, f.testN)
	if err != nil {
		return nil, err
	}
	return &Data{Name: "cifar10:" + dir, Train: train, Test: test, Checksum: hex.EncodeToString(all.Sum(nil)), ClassNames: f.names}, nil
}
