package npz

import (
	"archive/zip"
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"codeberg.org/sbinet/npyio/npy"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/fsx"
)

// maxHeader bounds a .npy header's length. numpy itself refuses headers over
// 10000 bytes unless told otherwise.
const maxHeader = 1 << 20

// maxDeflateRatio bounds how much a deflated member can expand (DEFLATE's
// limit is about 1032:1).
const maxDeflateRatio = 1100

// Options bound what reading an archive may allocate.
type Options struct {
	// MaxBytes bounds the decompressed size of the archive's members, one
	// by one and all together; 0 means graph.DefaultMaxBytes.
	MaxBytes int64
}

// Read reads every array of the .npz file at path with the default
// Options. Keys are the member names without their ".npy" suffix, as
// numpy.load gives them.
func Read(path string) (map[string]Array, error) {
	return ReadWith(path, Options{})
}

// ReadWith is Read with options. A path that is not a regular file (a
// folder, a FIFO, a device) is refused before it is opened.
func ReadWith(path string, opts Options) (map[string]Array, error) {
	f, st, err := fsx.OpenRegular(path)
	if err != nil {
		return nil, fmt.Errorf("npz: %w", err)
	}
	defer f.Close()
	m, err := ReadReaderWith(f, st.Size(), opts)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return m, nil
}

// ReadReader reads every array of an .npz archive of the given size held by
// r, with the default Options.
func ReadReader(r io.ReaderAt, size int64) (map[string]Array, error) {
	return ReadReaderWith(r, size, Options{})
}

// ReadReaderWith is ReadReader with options. Before anything is
// decompressed, it checks that the members' data do not overlap in the
// archive (several entries of the zip directory naming the same compressed
// bytes would multiply them) and that the sizes they declare, one by one and
// together, are within Options.MaxBytes and what their compressed bytes can
// hold.
func ReadReaderWith(r io.ReaderAt, size int64, opts Options) (map[string]Array, error) {
	max := graph.LimitBytes(opts.MaxBytes)
	z, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("npz: not a valid .npz (zip) archive: %w", err)
	}
	if err := checkMembers(z.File, size, max); err != nil {
		return nil, fmt.Errorf("npz: %w", err)
	}
	out := make(map[string]Array, len(z.File))
	for _, f := range z.File {
		key, ok := strings.CutSuffix(f.Name, ".npy")
		if !ok {
			return nil, fmt.Errorf("npz: member %q is not a .npy array", f.Name)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("npz: array %q appears twice", key)
		}
		a, err := readMember(f)
		if err != nil {
			return nil, fmt.Errorf("npz: array %q: %w", key, err)
		}
		out[key] = a
	}
	return out, nil
}

// localHeaderLen is the length of a zip local file header without its name
// and extra field.
const localHeaderLen = 30

// checkMembers checks the sizes the zip directory declares for its members
// in an archive of size bytes: each member's compressed bytes lie inside
// the archive, after their own local header and apart from every other
// member's, and can inflate to the size declared; the declared sizes
// together are at most max.
func checkMembers(files []*zip.File, size, max int64) error {
	type span struct {
		name       string
		start, end int64
	}
	spans := make([]span, 0, len(files))
	var total int64
	for _, f := range files {
		key := strings.TrimSuffix(f.Name, ".npy")
		csize, usize := f.CompressedSize64, f.UncompressedSize64
		if csize > uint64(size) {
			return fmt.Errorf("array %q: member claims %d compressed bytes in a %d-byte archive", key, csize, size)
		}
		switch f.Method {
		case zip.Store:
			if usize != csize {
				return fmt.Errorf("array %q: stored member claims %d bytes but holds %d", key, usize, csize)
			}
		case zip.Deflate:
			if usize > csize*maxDeflateRatio+1024 {
				return fmt.Errorf("array %q: deflated member claims %d bytes from %d compressed bytes", key, usize, csize)
			}
		default:
			return fmt.Errorf("array %q: unsupported zip compression method %d", key, f.Method)
		}
		// usize <= size*maxDeflateRatio+1024: no overflow below.
		if err := graph.CheckBytes(fmt.Sprintf("array %q", key), int64(usize), 1, max); err != nil {
			return err
		}
		total += int64(usize)
		if err := graph.CheckBytes("the arrays together", total, 1, max); err != nil {
			return err
		}
		off, err := f.DataOffset()
		if err != nil {
			return fmt.Errorf("array %q: %w", key, err)
		}
		if off < localHeaderLen || off > size-int64(csize) {
			return fmt.Errorf("array %q: member data at offset %d of %d bytes do not fit in a %d-byte archive", key, off, csize, size)
		}
		spans = append(spans, span{key, off, off + int64(csize)})
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	for i := 1; i < len(spans); i++ {
		// Each member's data follows its own local header.
		if a, b := spans[i-1], spans[i]; b.start-localHeaderLen < a.end {
			return fmt.Errorf("arrays %q and %q overlap in the archive (bytes %d-%d and %d-%d): members must not share data", a.name, b.name, a.start, a.end, b.start, b.end)
		}
	}
	return nil
}

// readMember reads a member checked by checkMembers.
func readMember(f *zip.File) (Array, error) {
	rc, err := f.Open()
	if err != nil {
		return Array{}, err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 64<<10)
	return readNpy(br, f.UncompressedSize64)
}

// readNpy reads one .npy stream of at most limit bytes.
func readNpy(br *bufio.Reader, limit uint64) (a Array, err error) {
	// npyio trusts the header: check what it will allocate first.
	pre, err := br.Peek(12)
	if err != nil && len(pre) < 10 {
		return Array{}, fmt.Errorf("not a .npy array: %d-byte member", len(pre))
	}
	if !bytes.Equal(pre[:6], npy.Magic[:]) {
		return Array{}, errors.New("not a .npy array: bad magic bytes")
	}
	var hlen uint64
	switch pre[6] {
	case 1:
		hlen = 10 + uint64(binary.LittleEndian.Uint16(pre[8:10]))
	case 2, 3:
		if len(pre) < 12 {
			return Array{}, errors.New("truncated .npy header")
		}
		hlen = 12 + uint64(binary.LittleEndian.Uint32(pre[8:12]))
	default:
		return Array{}, fmt.Errorf("unsupported .npy format version %d.%d", pre[6], pre[7])
	}
	if pre[6] == 3 {
		return Array{}, errors.New("unsupported .npy format version 3 (utf-8 field names)")
	}
	if hlen > maxHeader || hlen > limit {
		return Array{}, fmt.Errorf(".npy header of %d bytes is too long", hlen)
	}

	// npyio can panic on malformed headers: turn that into an error.
	defer func() {
		if p := recover(); p != nil {
			a, err = Array{}, fmt.Errorf("malformed .npy data: %s", oneLine(fmt.Sprint(p)))
		}
	}()
	rd, err := npy.NewReader(br)
	if err != nil {
		return Array{}, fmt.Errorf("bad .npy header: %s", oneLine(err.Error()))
	}
	h := rd.Header.Descr
	if h.Fortran {
		return Array{}, errors.New("arrays in Fortran order are not supported; save a C-ordered array (numpy.ascontiguousarray)")
	}
	dt, err := parseDescr(h.Type)
	if err != nil {
		return Array{}, err
	}
	shape := append([]int{}, h.Shape...)
	n, err := elements(shape, dt.size)
	if err != nil {
		return Array{}, err
	}
	// limit is at most the member's declared size, which checkMembers
	// bounded by the limit and by its compressed size.
	if uint64(n)*uint64(dt.size) > limit-hlen {
		return Array{}, fmt.Errorf("shape %v of %s needs %d bytes, the member has %d", shape, dt.descr, uint64(n)*uint64(dt.size), limit-hlen)
	}

	data, err := dt.read(rd, br, n, dt.descr[0] == '>')
	if err != nil {
		return Array{}, fmt.Errorf("reading %v %s data: %w", shape, dt.descr, err)
	}
	// Reading on to the end also makes archive/zip verify the checksum.
	if extra, err := io.Copy(io.Discard, br); err != nil {
		return Array{}, err
	} else if extra != 0 {
		return Array{}, fmt.Errorf("%d bytes after the data of a %v %s array", extra, shape, dt.descr)
	}
	return Array{Shape: shape, Data: data}, nil
}

// readAs reads n elements of type T.
func readAs[T any](rd *npy.Reader, _ io.Reader, n int, _ bool) (any, error) {
	return readData[T](rd, n)
}

// readF16 reads n float16 values (their bits) from raw, in chunks of at
// most 64 KiB: npyio reads the header only.
func readF16(_ *npy.Reader, raw io.Reader, n int, big bool) (any, error) {
	data := make([]graph.F16, n)
	buf := make([]byte, 64<<10)
	order := binary.ByteOrder(binary.LittleEndian)
	if big {
		order = binary.BigEndian
	}
	for done := 0; done < n; {
		k := min(n-done, len(buf)/2)
		if _, err := io.ReadFull(raw, buf[:2*k]); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		for i := range k {
			data[done+i] = graph.F16(order.Uint16(buf[2*i:]))
		}
		done += k
	}
	return data, nil
}

func readData[T any](rd *npy.Reader, n int) ([]T, error) {
	data := make([]T, n)
	if n == 0 {
		return data, nil
	}
	if err := rd.Read(&data); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return data, nil
}

// parseDescr maps a header's descr (e.g. "'<f4'") to a supported dtype,
// keeping its byte order in descr[0] ('<' or '>'; '|' for one byte).
func parseDescr(s string) (dtype, error) {
	d := strings.Trim(strings.TrimSpace(s), `'"`)
	i := -1
	if len(d) == 3 {
		i = slices.IndexFunc(dtypes, func(dt dtype) bool { return dt.descr[1:] == d[1:] })
	}
	if i < 0 {
		return dtype{}, fmt.Errorf("unsupported element type %s (supported: float32, float64, float16, int64, int32, int8, uint8, bool)", oneLine(s))
	}
	order, kind, dt := d[0], d[1:], dtypes[i]
	switch order {
	case '<', '=', '|':
		// '=' is native order: little-endian on the machines this runs on.
	case '>':
		dt.descr = ">" + kind
		return dt, nil
	default:
		return dtype{}, fmt.Errorf("unsupported byte order in element type %s", oneLine(s))
	}
	return dt, nil
}

// oneLine escapes the control characters of text read from a file (a
// header's descr, a decoder's message) so that an error stays on one line.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}
