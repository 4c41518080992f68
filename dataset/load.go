package dataset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/nnsweep/nnsweep/internal/numfmt"
)

// Data is a training set and a test set with an identity for result keys.
type Data struct {
	// Name is "mnist" or "fashion-mnist" for the built-in sets, "idx:" followed by the training
	// images path, as given, for files read by Load, and "cifar10:" followed by the folder for
	// LoadCIFAR10.
	Name string
	// Train and Test have the same H, W, C and Classes.
	Train, Test *Set
	// Checksum identifies the data the models see. For IDX files it is the lowercase hex SHA-256
	// of the concatenated SHA-256 digests of the four files, as stored (compressed or not), in the
	// order train images, train labels, test images, test labels: loading the original MNIST
	// files gives MNIST's Checksum. Normalize folds its normalisation in.
	Checksum string
	// ClassNames names the classes, label i by ClassNames[i]; nil when the data names none.
	ClassNames []string
	// shared is set on the one Data that MNIST returns to every caller.
	shared bool
}

// Info is the shape of a Data, which validation needs without the pixels.
type Info struct {
	// H, W and C are the height and width in pixels and the number of channels of every image.
	H, W, C int
	// Classes is the number of classes; labels are in [0, Classes).
	Classes int
	// TrainN and TestN are the numbers of training and test examples.
	TrainN, TestN int
	// ClassNames names the classes, as Data.ClassNames; nil when the data names none.
	ClassNames []string
}

// Info returns the shape of d.
func (d *Data) Info() Info {
	return Info{H: d.Train.H, W: d.Train.W, C: d.Train.C, Classes: d.Train.Classes, TrainN: d.Train.N, TestN: d.Test.N,
		ClassNames: d.ClassNames}
}

// Files names the four IDX files of a user data set by path. Each may be gzip-compressed.
type Files struct {
	TrainImages, TrainLabels, TestImages, TestLabels string
}

// Load reads and checks the four IDX files named by f (see the package documentation for the
// format), decoding them concurrently. A file is gunzipped when it starts with the gzip magic
// bytes 1f 8b, whatever its name. Beyond each file being well formed, Load checks that each images
// file has as many images as its labels file has labels, that training and test images have the
// same shape, that the training labels use at least 2 classes, every class from 0 to the largest
// label, and include the largest test label: Classes is the largest training label plus one. All
// problems found are returned together (joined with errors.Join), each a *FileError naming its
// file (see Problems). Files that are not regular files (a named pipe, a device) are refused
// unopened, a header claiming more data than its file can hold or than the machine's memory is
// refused before the data is read, and reading stops with ctx's error once ctx is done.
func Load(ctx context.Context, f Files) (*Data, error) {
	src, err := f.sources()
	if err != nil {
		return nil, err
	}
	return decode(ctx, "idx:"+f.TrainImages, src)
}

// Describe returns the shape of the data set named by f, reading only the images files' headers
// and the labels files, which it streams: its memory does not grow with the files. It makes the
// checks Load makes except that images files are not decompressed past their headers: an
// uncompressed images file's size is checked against its header, a compressed one's only against
// what its size can hold, so Load can still fail where Describe succeeded. Describe also refuses a
// data set whose headers claim more than the machine's memory.
func Describe(ctx context.Context, f Files) (Info, error) {
	src, err := f.sources()
	if err != nil {
		return Info{}, err
	}
	return describe(ctx, src)
}

// describe is Describe for the four files of src.
func describe(ctx context.Context, src [4]source) (Info, error) {
	var (
		shapes [2]imageShape
		stats  [2]labelStats
		errs   [4]error
		wg     sync.WaitGroup
	)
	for i := range src {
		wg.Go(func() {
			if i%2 == 0 {
				shapes[i/2], errs[i] = describeImages(ctx, src[i])
				return
			}
			_, errs[i] = readSource(ctx, src[i], func(r io.Reader, lim limits) (err error) {
				stats[i/2], err = scanLabels(r, src[i].name, lim)
				return err
			})
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	if err := errors.Join(errs[:]...); err != nil {
		return Info{}, err
	}
	classes, err := crossCheck(src, shapes, stats)
	if err != nil {
		return Info{}, err
	}
	var need int64
	for i := range 2 {
		need += decodedBytes(int64(shapes[i].pixels)) + decodedBytes(int64(stats[i].n))
	}
	if err := checkMemory(src[trainImages].name, fmt.Sprintf("with %s the data set has %s images of %s and %s labels",
		src[testImages].name, numfmt.GroupDigits(shapes[0].n+shapes[1].n), shapeString(shapes[0].h, shapes[0].w, shapes[0].c),
		numfmt.GroupDigits(stats[0].n+stats[1].n)), need); err != nil {
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

// roleOf is the role of the file at index i of a data set's four files.
func roleOf(i int) Role { return TrainImages + Role(i) }

// source is one file of a data set: a name for messages and a way to open it.
type source struct {
	name string
	role Role
	// open returns the file and its stored size in bytes (-1 when unknown).
	open func() (io.ReadCloser, int64, error)
	// content, when set, is the lowercase hex SHA-256 that the file's decompressed content must have.
	content string
}

// fileSource is the file at path, opened only if it is a regular file.
func fileSource(path string, role Role) source {
	return source{name: path, role: role, open: func() (io.ReadCloser, int64, error) {
		f, size, err := openRegular(path)
		if err != nil {
			return nil, 0, err
		}
		return f, size, nil
	}}
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
			errs = append(errs, inRole(roleOf(i), fmt.Errorf("dataset: Files.%s is empty; all four IDX files must be named", p.field)))
			continue
		}
		src[i] = fileSource(p.path, roleOf(i))
	}
	return src, errors.Join(errs...)
}

// decode reads the four files of src concurrently and assembles a Data called name.
func decode(ctx context.Context, name string, src [4]source) (*Data, error) {
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
			sums[i], errs[i] = readSource(ctx, src[i], func(r io.Reader, lim limits) error {
				if i%2 == 1 {
					var err error
					labels[i/2], err = readLabels(r, src[i].name, lim)
					return err
				}
				n, h, w, c, pixels, err := readImages(r, src[i].name, lim)
				sets[i/2] = Set{Images: pixels, N: n, H: h, W: w, C: c}
				shapes[i/2] = imageShape{n: n, h: h, w: w, c: c}
				return err
			})
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	classes, err := crossCheck(src, shapes, [2]labelStats{statsOf(labels[0]), statsOf(labels[1])})
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

// readSource opens src, hands read its contents (gunzipped if compressed) with the limits its
// size sets, and returns the SHA-256 of the file's stored bytes. Errors are tagged with src's
// role, except ctx's own once it is done.
func readSource(ctx context.Context, src source, read func(io.Reader, limits) error) (sum [sha256.Size]byte, err error) {
	defer func() {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		err = inRole(src.role, err)
	}()
	f, size, err := src.open()
	if err != nil {
		return sum, err
	}
	defer f.Close()
	h := sha256.New()
	tee := io.TeeReader(ctxReader{ctx, f}, h)
	r, compressed, err := idxReader(tee, src.name)
	if err != nil {
		return sum, err
	}
	content := sha256.New()
	if src.content != "" {
		r = io.TeeReader(r, content)
	}
	if err := read(r, limits{stored: size, compressed: compressed}); err != nil {
		return sum, err
	}
	if got := hex.EncodeToString(content.Sum(nil)); src.content != "" && got != src.content {
		return sum, fmt.Errorf("%s: the decompressed content has SHA-256 %s, expected %s; the file is damaged or not the one expected", src.name, got, src.content)
	}
	// Hash whatever the decoder left unread (normally nothing).
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return sum, fmt.Errorf("%s: %w", src.name, err)
	}
	h.Sum(sum[:0])
	return sum, nil
}

// describeImages reads the header of the images file src. An uncompressed file's size is
// checked against the header, a compressed one's against what it can hold.
func describeImages(ctx context.Context, src source) (shape imageShape, err error) {
	_, err = readSource(ctx, src, func(r io.Reader, lim limits) error {
		if shape, err = readImagesHeader(r, src.name); err != nil {
			return err
		}
		if err := lim.checkClaim(src.name, shape.String(), int64(shape.pixels), decodedBytes(int64(shape.pixels)), shape.headerBytes); err != nil {
			return err
		}
		if data := lim.stored - int64(shape.headerBytes); !lim.compressed && lim.stored >= 0 && data > int64(shape.pixels) {
			return fmt.Errorf("%s: %s after the %s the header declares; the header does not describe this file",
				src.name, byteCount(data-int64(shape.pixels)), shape)
		}
		return errStop
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return shape, err
}

// errStop ends a readSource early without an error.
var errStop = errors.New("dataset: stop reading")

// crossCheck checks the files of a data set against each other and returns its number of
// classes: each images file has as many images as its labels file has labels, training and test
// images have one shape, the training labels use at least 2 classes, leave none of them without
// an example, and include every test label.
func crossCheck(src [4]source, shapes [2]imageShape, stats [2]labelStats) (int, error) {
	var errs []error
	for set, img := range [2]int{trainImages, testImages} {
		if shapes[set].n != stats[set].n {
			errs = append(errs, inRole(roleOf(img+1), fmt.Errorf("%s has %d images but %s has %d labels; each image needs exactly one label",
				src[img].name, shapes[set].n, src[img+1].name, stats[set].n)))
		}
	}
	train, test := shapes[0], shapes[1]
	if train.h != test.h || train.w != test.w || train.c != test.c {
		errs = append(errs, inRole(TestImages, fmt.Errorf("%s has images of %s but %s has images of %s; training and test images must have the same shape",
			src[trainImages].name, shapeString(train.h, train.w, train.c), src[testImages].name, shapeString(test.h, test.w, test.c))))
	}
	classes := stats[0].max() + 1
	switch lo, hi := stats[0].gap(); {
	case classes < 2:
		errs = append(errs, inRole(TrainLabels, fmt.Errorf("%s: every label is 0; classification needs at least 2 classes", src[trainLabels].name)))
	case lo >= 0:
		first, count := stats[0].above(hi)
		errs = append(errs, inRole(TrainLabels, fmt.Errorf("%s: no label is %s, yet %s above (label %d at index %d); labels must number the classes 0..K-1, each with examples: correct the labels above %d or renumber the classes",
			src[trainLabels].name, rangeString(lo, hi), numfmt.Plural(count, "label is", "labels are"), stats[0].labelAt(first), first, lo-1)))
	default:
		if first, count := stats[1].above(classes - 1); count > 0 {
			more := ""
			if count > 1 {
				more = fmt.Sprintf(" (and %d more)", count-1)
			}
			errs = append(errs, inRole(TestLabels, fmt.Errorf("%s: label %d at index %d%s is outside the training classes 0..%d of %s; a model learns only the classes it is trained on",
				src[testLabels].name, stats[1].labelAt(first), first, more, classes-1, src[trainLabels].name)))
		}
	}
	return classes, errors.Join(errs...)
}
