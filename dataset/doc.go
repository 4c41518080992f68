// Package dataset provides the labelled image sets nnsweep trains and evaluates on: the MNIST
// digits, embedded in the binary; Zalando's Fashion-MNIST, read from Debian's package
// dataset-fashion-mnist; user data in IDX files, the format MNIST is distributed in; and folders
// of CIFAR-10's binary version (colour images). [Normalize] normalises a set per channel.
//
// # Layout
//
// A [Set] holds its images as one []float32: pixel intensities in [0,1] (stored byte / 255),
// example-major, each image in HWC order (row, column, channel), so example i occupies
// Images[i*H*W*C : (i+1)*H*W*C]. Labels are int32 class indices in [0, Classes), one per example.
//
// # Steps
//
// [Describe] (and [DescribeFashionMNIST], [DescribeCIFAR10]) reads only what validation needs
// (image headers, label files, file sizes) and returns an [Info]; [Load], [MNIST], [FashionMNIST]
// and [LoadCIFAR10] decode everything into a [Data], a train/test pair with a Checksum that
// identifies the source bytes in result keys. [Set.Split] carves a seeded,
// reproducible validation set off a training set.
//
// # IDX files
//
// An IDX file starts with two zero bytes, a type code byte, and a byte giving the number of
// dimensions; then each dimension as a big-endian uint32; then the elements, row-major (last
// dimension fastest). Only type code 0x08 (unsigned byte) is supported. An images file has 3
// dimensions (N, H, W; one channel) or 4 (N, H, W, C); a labels file has 1 (N). Files may be
// gzip-compressed; compression is detected from the content (bytes 1f 8b), not from the file name.
//
// # CIFAR-10
//
// A batch file of CIFAR-10's binary version is a sequence of 3073-byte records: a label byte (0..9),
// then a 32×32 image as its red, green and blue planes of 1024 bytes each, row-major. Readers
// turn the planes into HWC.
//
// # Safety
//
// Readers never panic on malformed input and never allocate much more than the input actually
// contains. A header is checked against what its file can hold before the data is read: an
// uncompressed file's size, a gzip file's size times 1032 (the most deflate expands), and the
// machine's memory (physical, or the control group's limit), so a gzip bomb is refused from its
// header. Describe streams the labels files. Only regular files are opened (a named pipe would
// block), and reading stops once the caller's context is done. Errors name the file and say what
// was expected and what was found; each is a *FileError carrying the Role of the file at fault.
package dataset
