package dataset

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"sync"
)

// Data is a training set and a test set with an identity for result keys.
type Data struct {
	// Name is "mnist" for the embedded MNIST and "idx:" followed by the training images path,
	// as given, for files read by Load.
	Name string
	// Train and Test have the same H, W, C and Classes.
	Train, Test *Set
	// Checksum identifies the source bytes: the lowercase hex SHA-256 of the concatenated SHA-256
	// digests of the four files, as stored (compressed or not), in the order train images, train
	// labels, test images, test labels. Loading the original MNIST files gives MNIST's Checksum.
	Checksum string
}

// Info is the shape of a Data, which validation needs without the pixels.
type Info struct {
	// H, W and C are the height and width in pixels and the number of channels of every image.
	H, W, C int
	// Classes is the number of classes; labels are in [0, Classes).
	Classes int
	// TrainN and TestN are the numbers of training and test examples.
	TrainN, TestN int
}

// Info returns the shape of d.
func (d *Data) Info() Info {
	return Info{H: d.Train.H, W: d.Train.W, C: d.Train.C, Classes: d.Train.Classes, TrainN: d.Train.N, TestN: d.Test.N}
}

// Files names the four IDX files of a user data set by path. Each may be gzip-compressed.
type Files struct {
	TrainImages, TrainLabels, TestImages, TestLabels string
}

// Load reads and checks the four IDX files named by f (see the package documentation for the
// format), decoding them concurrently. A file is gunzipped when it starts with the gzip magic
// bytes 1f 8b, whatever its name. Beyond each file being well formed, Load checks that each images
// file has as many images as its labels file has labels, that training and test images have the
// same shape, and that the training labels use at least 2 classes and include the largest test
// label: Classes is the largest training label plus one. All problems found are returned together
// (joined with errors.Join), each naming its file.
func Load(f Files) (*Data, error) {
	src, err := f.sources()
	if err != nil {
		return nil, err
	}
	return decode("idx:"+f.TrainImages, src)
}

// Describe returns the shape of the data set named by f, reading only the images files' headers
// and the (small) labels files. It makes the checks Load makes except that images files are not
// decompressed past their headers: an uncompressed images file's size is checked against its
// header, a compressed one's is not, so Load can still fail where Describe succeeded.
func Describe(f Files) (Info, error) {
	src, err := f.sources()
	if err != nil {
		return Info{}, err
	}
	var (
		shapes [2]imageShape
		labels [2][]int32
		errs   [4]error
		wg     sync.WaitGroup
	)
	for i := range src {
		wg.Go(func() {
			if i%2 == 0 {
				shapes[i/2], errs[i] = describeImages(src[i])
				return
			}
			_, errs[i] = readSource(src[i], func(r io.Reader) (err error) {
				labels[i/2], err = ReadLabels(r, src[i].name)
				return err
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return Info{}, err
	}
	classes, err := crossCheck(src, shapes, labels)
	if err != nil {
		return Info{}, err
	}
	return Info{H: shapes[0].h, W: shapes[0].w, C: shapes[0].c, Classes: classes, TrainN: shapes[0].n, TestN: shapes[1].n}, nil
}

// The four files of a data set, in checksum order.
const (
	trainImages = iota
	trainLabels
	testImages
	testLabels
)

// source is one file of a data set: a name for messages and a way to open it.
type source struct {
	name string
	open func() (io.ReadCloser, error)
}

// sources returns f's files in checksum order, or an error naming each missing path.
func (f Files) sources() ([4]source, error) {
	paths := [4]struct{ field, path string }{
		{"TrainImages", f.TrainImages},
		{"TrainLabels", f.TrainLabels},
		{"TestImages", f.TestImages},
		{"TestLabels", f.TestLabels},
	}
	var src [4]source
	var errs []error
	for i, p := range paths {
		if p.path == "" {
			errs = append(errs, fmt.Errorf("dataset: Files.%s is empty; all four IDX files must be named", p.field))
			continue
		}
		src[i] = source{name: p.path, open: func() (io.ReadCloser, error) { return os.Open(p.path) }}
	}
	return src, errors.Join(errs...)
}

// decode reads the four files of src concurrently and assembles a Data called name.
func decode(name string, src [4]source) (*Data, error) {
	var (
		sets   [2]Set
		shapes [2]imageShape
		labels [2][]int32
		sums   [4][sha256.Size]byte
		errs   [4]error
		wg     sync.WaitGroup
	)
	for i := range src {
		wg.Go(func() {
			sums[i], errs[i] = readSource(src[i], func(r io.Reader) error {
				if i%2 == 1 {
					var err error
					labels[i/2], err = ReadLabels(r, src[i].name)
					return err
				}
				n, h, w, c, pixels, err := ReadImages(r, src[i].name)
				sets[i/2] = Set{Images: pixels, N: n, H: h, W: w, C: c}
				shapes[i/2] = imageShape{n: n, h: h, w: w, c: c}
				return err
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	classes, err := crossCheck(src, shapes, labels)
	if err != nil {
		return nil, err
	}
	all := sha256.New()
	for _, s := range sums {
		all.Write(s[:])
	}
	d := &Data{Name: name, Train: &sets[0], Test: &sets[1], Checksum: hex.EncodeToString(all.Sum(nil))}
	for i, s := range []*Set{d.Train, d.Test} {
		s.Labels = labels[i]
		s.Classes = classes
	}
	return d, nil
}

// readSource opens src, hands read its contents (gunzipped if compressed), and returns the
// SHA-256 of the file's stored bytes.
func readSource(src source, read func(io.Reader) error) (sum [sha256.Size]byte, err error) {
	f, err := src.open()
	if err != nil {
		return sum, err
	}
	defer f.Close()
	h := sha256.New()
	tee := io.TeeReader(f, h)
	r, _, err := idxReader(tee, src.name)
	if err != nil {
		return sum, err
	}
	if err := read(r); err != nil {
		return sum, err
	}
	// Hash whatever the decoder left unread (normally nothing).
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return sum, fmt.Errorf("%s: %w", src.name, err)
	}
	h.Sum(sum[:0])
	return sum, nil
}

// idxReader returns a reader of r's IDX bytes, gunzipping them if r starts with the gzip magic
// bytes 1f 8b, and whether it did.
func idxReader(r io.Reader, name string) (io.Reader, bool, error) {
	br := bufio.NewReaderSize(r, chunkSize)
	// A short or unreadable file is left for the IDX reader to report.
	if magic, _ := br.Peek(2); len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
		return br, false, nil
	}
	zr, err := gzip.NewReader(br)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, true, fmt.Errorf("%s: truncated: gzip data ends inside its header", name)
	}
	if err != nil {
		return nil, true, fmt.Errorf("%s: %w", name, err)
	}
	return zr, true, nil
}

// describeImages reads the header of the images file src. An uncompressed file's size is
// checked against the header.
func describeImages(src source) (imageShape, error) {
	f, err := src.open()
	if err != nil {
		return imageShape{}, err
	}
	defer f.Close()
	r, compressed, err := idxReader(f, src.name)
	if err != nil {
		return imageShape{}, err
	}
	shape, err := readImagesHeader(r, src.name)
	if err != nil {
		return imageShape{}, err
	}
	st, ok := f.(interface{ Stat() (fs.FileInfo, error) })
	if compressed || !ok {
		return shape, nil
	}
	info, err := st.Stat()
	if err != nil {
		return imageShape{}, fmt.Errorf("%s: %w", src.name, err)
	}
	switch data := info.Size() - int64(shape.headerBytes); {
	case data < int64(shape.pixels):
		return imageShape{}, fmt.Errorf("%s: truncated: header says %s (%s bytes), file has %s after the %d-byte header",
			src.name, shape, groupDigits(shape.pixels), groupDigits(data), shape.headerBytes)
	case data > int64(shape.pixels):
		return imageShape{}, fmt.Errorf("%s: %s after the %s the header declares; the header does not describe this file",
			src.name, byteCount(data-int64(shape.pixels)), shape)
	}
	return shape, nil
}

// crossCheck checks the files of a data set against each other and returns its number of
// classes: each images file has as many images as its labels file has labels, training and test
// images have one shape, the training labels use at least 2 classes and include every test label.
func crossCheck(src [4]source, shapes [2]imageShape, labels [2][]int32) (int, error) {
	var errs []error
	for set, img := range [2]int{trainImages, testImages} {
		if shapes[set].n != len(labels[set]) {
			errs = append(errs, fmt.Errorf("%s has %d images but %s has %d labels; each image needs exactly one label",
				src[img].name, shapes[set].n, src[img+1].name, len(labels[set])))
		}
	}
	train, test := shapes[0], shapes[1]
	if train.h != test.h || train.w != test.w || train.c != test.c {
		errs = append(errs, fmt.Errorf("%s has images of %s but %s has images of %s; training and test images must have the same shape",
			src[trainImages].name, shapeString(train.h, train.w, train.c), src[testImages].name, shapeString(test.h, test.w, test.c)))
	}
	classes := int(slices.Max(labels[0])) + 1
	if classes < 2 {
		errs = append(errs, fmt.Errorf("%s: every label is 0; classification needs at least 2 classes", src[trainLabels].name))
	} else {
		first, count := -1, 0
		for i, l := range labels[1] {
			if int(l) >= classes {
				if first < 0 {
					first = i
				}
				count++
			}
		}
		if count > 0 {
			more := ""
			if count > 1 {
				more = fmt.Sprintf(" (and %d more)", count-1)
			}
			errs = append(errs, fmt.Errorf("%s: label %d at index %d%s is outside the training classes 0..%d of %s; a model learns only the classes it is trained on",
				src[testLabels].name, labels[1][first], first, more, classes-1, src[trainLabels].name))
		}
	}
	return classes, errors.Join(errs...)
}
