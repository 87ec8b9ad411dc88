package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/onnxtune/onnxtune/graph"
)

// IDX magic numbers (big-endian): two zero bytes, the element type (0x08:
// unsigned byte) and the number of dimensions.
const (
	idxLabels = 0x00000801 // unsigned bytes, 1 dimension: N labels
	idxImages = 0x00000803 // unsigned bytes, 3 dimensions: N x rows x columns
)

// maxGzipRatio bounds how much a gzip file can expand (DEFLATE's limit is
// about 1032:1).
const maxGzipRatio = 1100

// readIDX reads the IDX file at path (raw or gzipped), which must have the
// given magic number and hold at most max bytes of data, and returns its
// dimensions and bytes.
func readIDX(path string, magic uint32, max int64) ([]int, []byte, error) {
	f, st, err := openRegular(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	dims, data, err := parseIDX(bufio.NewReaderSize(f, 64<<10), st.Size(), max)
	if err != nil {
		return nil, nil, &FileError{Path: path, Err: err}
	}
	if got := uint32(0x800 | len(dims)); got != magic {
		return nil, nil, fileErr(path, "IDX file of %d dimensions %v (magic 0x%08x), want magic 0x%08x (%s)", len(dims), dims, got, magic, idxKind(magic))
	}
	return dims, data, nil
}

func idxKind(magic uint32) string {
	switch magic {
	case idxLabels:
		return "labels"
	case idxImages:
		return "images"
	}
	return "unknown"
}

// parseIDX reads an IDX stream of unsigned bytes, gzipped or not, from a file
// of size bytes. It checks the dimensions against what the file can hold and
// against max (graph.LimitBytes) before reading the data, and that nothing
// follows the data.
func parseIDX(r *bufio.Reader, size, max int64) (dims []int, data []byte, err error) {
	var in io.Reader = r
	limit, gz := size, false
	if head, _ := r.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("bad gzip stream: %w", err)
		}
		defer zr.Close()
		in, gz = zr, true
		limit = size * maxGzipRatio
	}
	var magic [4]byte
	if _, err := io.ReadFull(in, magic[:]); err != nil {
		return nil, nil, fmt.Errorf("not an IDX file: reading its magic number: %w", eofErr(err))
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, nil, fmt.Errorf("not an IDX file: magic number 0x%x does not start with two zero bytes", magic)
	}
	if magic[2] != 0x08 {
		return nil, nil, fmt.Errorf("IDX element type 0x%02x is not supported (want 0x08, unsigned bytes)", magic[2])
	}
	nd := int(magic[3])
	if nd == 0 {
		return nil, nil, errors.New("IDX file with 0 dimensions")
	}
	raw := make([]byte, 4*nd)
	if _, err := io.ReadFull(in, raw); err != nil {
		return nil, nil, fmt.Errorf("truncated IDX header (%d dimensions): %w", nd, eofErr(err))
	}
	header := int64(4 + 4*nd)
	dims = make([]int, nd)
	n := int64(1)
	for i := range dims {
		d := int64(binary.BigEndian.Uint32(raw[4*i:]))
		dims[i] = int(d)
		if d != 0 && n > (limit-header)/d {
			return nil, nil, fmt.Errorf("IDX dimensions %v are larger than a %d-byte file can hold", dimsOf(raw), size)
		}
		n *= d
	}
	if n > limit-header {
		return nil, nil, fmt.Errorf("IDX dimensions %v need %d bytes of data, more than a %d-byte file can hold", dims, n, size)
	}
	if !gz && n != size-header {
		return nil, nil, fmt.Errorf("IDX dimensions %v need %d bytes of data, the file holds %d", dims, n, size-header)
	}
	if err := graph.CheckBytes(fmt.Sprintf("IDX data of dimensions %v", dims), n, 1, max); err != nil {
		return nil, nil, err
	}
	// Read without trusting n for the allocation: the buffer grows with
	// the data actually present.
	data, err = readN(in, n)
	if err != nil {
		return nil, nil, fmt.Errorf("reading IDX data: %w", err)
	}
	if int64(len(data)) != n {
		return nil, nil, fmt.Errorf("truncated IDX data: dimensions %v need %d bytes, the file has %d", dims, n, len(data))
	}
	// Reading to the end also verifies the gzip checksum.
	extra, err := io.Copy(io.Discard, io.LimitReader(in, 1<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("after the IDX data: %w", err)
	}
	if extra != 0 {
		return nil, nil, fmt.Errorf("unexpected bytes after the IDX data of dimensions %v", dims)
	}
	return dims, data, nil
}

// dimsOf formats raw big-endian dimensions (for errors before they are
// known to fit an int).
func dimsOf(raw []byte) []uint32 {
	d := make([]uint32, len(raw)/4)
	for i := range d {
		d[i] = binary.BigEndian.Uint32(raw[4*i:])
	}
	return d
}

func eofErr(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
