package dataset

import (
	"bytes"
	"testing"
)

// FuzzReadImages checks that ReadImages never panics and that whatever it accepts is consistent:
// exactly N*H*W*C pixels, each stored byte / 255.
func FuzzReadImages(f *testing.F) {
	for _, seed := range [][]byte{
		idxBytes(0x08, []uint32{2, 3, 2}, ramp(12)),
		idxBytes(0x08, []uint32{2, 2, 2, 3}, ramp(24)),
		idxBytes(0x08, []uint32{2, 2, 2, 3}, ramp(23)),
		idxBytes(0x08, []uint32{1, 1, 1}, ramp(2)),
		idxBytes(0x08, []uint32{60000, 28, 28}, ramp(100)),
		idxBytes(0x08, []uint32{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, nil),
		idxBytes(0x08, []uint32{0, 28, 28}, nil),
		idxBytes(0x08, []uint32{3}, ramp(3)),
		idxBytes(0x0d, []uint32{1, 1, 1}, ramp(4)),
		{0x1f, 0x8b, 0x08, 0x00},
		{0, 0, 8},
		nil,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		n, h, w, c, pixels, err := ReadImages(bytes.NewReader(input), "fuzz")
		if err != nil {
			if pixels != nil {
				t.Errorf("error %v with %d pixels", err, len(pixels))
			}
			return
		}
		if n < 1 || h < 1 || w < 1 || c < 1 || len(pixels) != n*h*w*c {
			t.Fatalf("accepted shape %d×%d×%d×%d with %d pixels", n, h, w, c, len(pixels))
		}
		data := input[len(input)-len(pixels):]
		for i, b := range data {
			if pixels[i] != float32(b)/255 {
				t.Fatalf("pixels[%d] = %v for byte %d", i, pixels[i], b)
			}
		}
	})
}

// FuzzReadLabels checks that ReadLabels never panics and that whatever it accepts is the stored
// bytes after an 8-byte header.
func FuzzReadLabels(f *testing.F) {
	for _, seed := range [][]byte{
		idxBytes(0x08, []uint32{4}, []byte{5, 0, 4, 1}),
		idxBytes(0x08, []uint32{4}, []byte{5, 0, 4}),
		idxBytes(0x08, []uint32{4}, []byte{5, 0, 4, 1, 9}),
		idxBytes(0x08, []uint32{0xffffffff}, nil),
		idxBytes(0x08, []uint32{0}, nil),
		idxBytes(0x08, []uint32{1, 1, 1}, ramp(1)),
		idxBytes(0x0c, []uint32{1}, ramp(4)),
		{0, 0, 8, 1, 0},
		nil,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		labels, err := ReadLabels(bytes.NewReader(input), "fuzz")
		if err != nil {
			if labels != nil {
				t.Errorf("error %v with %d labels", err, len(labels))
			}
			return
		}
		if len(labels) == 0 || len(input) != 8+len(labels) {
			t.Fatalf("accepted %d labels from %d bytes", len(labels), len(input))
		}
		for i, l := range labels {
			if l != int32(input[8+i]) {
				t.Fatalf("labels[%d] = %d for byte %d", i, l, input[8+i])
			}
		}
	})
}

// FuzzReadCIFARBatch checks that ReadCIFARBatch never panics and that whatever it accepts is a
// whole number of records with labels 0..9, each image the record's planes in HWC order.
func FuzzReadCIFARBatch(f *testing.F) {
	for _, seed := range [][]byte{cifarBatch(0, 2), cifarBatch(3, 1)[:100], {10}, {0x1f, 0x8b, 8}, nil} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		images, labels, err := ReadCIFARBatch(bytes.NewReader(input), "fuzz")
		if err != nil {
			if images != nil || labels != nil {
				t.Errorf("error %v with %d images", err, len(labels))
			}
			return
		}
		if len(labels) == 0 || len(input) != len(labels)*cifarRecord || len(images) != len(labels)*cifarPixels {
			t.Fatalf("accepted %d labels and %d pixels from %d bytes", len(labels), len(images), len(input))
		}
		for i, l := range labels {
			rec := input[i*cifarRecord : (i+1)*cifarRecord]
			if l != int32(rec[0]) || l > 9 {
				t.Fatalf("label %d = %d for byte %d", i, l, rec[0])
			}
			for p, b := range rec[1:] {
				ch, yx := p/cifarPlane, p%cifarPlane
				if got := images[i*cifarPixels+yx*3+ch]; got != float32(b)/255 {
					t.Fatalf("record %d byte %d: pixel %v, want %v", i, p, got, float32(b)/255)
				}
			}
		}
	})
}
