package npz

import (
	"archive/zip"
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/fsx"
)

// modified is the time stamp of every member, so that equal arrays give
// byte-identical archives.
var modified = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Write writes arrays to the .npz file at path, replacing it atomically: the
// archive is written to a temporary file in the same folder, synced, and
// renamed over path. On error path is left as it was.
func Write(path string, arrays map[string]Array) (err error) {
	if err := check(arrays); err != nil {
		return err
	}
	if st, err := os.Lstat(path); err == nil && !st.Mode().IsRegular() {
		// A folder, device, FIFO or link: the rename would replace it.
		return fmt.Errorf("npz: %s is not a regular file (%s): refusing to replace it", path, fsx.Kind(st.Mode()))
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("npz: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := Encode(bw, arrays); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("npz: writing %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("npz: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("npz: writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("npz: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("npz: %w", err)
	}
	return nil
}

// Encode writes arrays as an .npz archive to w, members in name order.
func Encode(w io.Writer, arrays map[string]Array) error {
	if err := check(arrays); err != nil {
		return err
	}
	keys := make([]string, 0, len(arrays))
	for k := range arrays {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	z := zip.NewWriter(w)
	for _, k := range keys {
		m, err := z.CreateHeader(&zip.FileHeader{Name: k + ".npy", Method: zip.Store, Modified: modified})
		if err != nil {
			return fmt.Errorf("npz: array %q: %w", k, err)
		}
		if err := writeNpy(m, arrays[k]); err != nil {
			return fmt.Errorf("npz: array %q: %w", k, err)
		}
	}
	if err := z.Close(); err != nil {
		return fmt.Errorf("npz: %w", err)
	}
	return nil
}

func check(arrays map[string]Array) error {
	for k, a := range arrays {
		if k == "" {
			return errors.New("npz: empty array name")
		}
		dt, length, err := dtypeOf(a.Data)
		if err != nil {
			return fmt.Errorf("npz: array %q: %w", k, err)
		}
		n, err := elements(a.Shape, dt.size)
		if err != nil {
			return fmt.Errorf("npz: array %q: %w", k, err)
		}
		if n != length {
			return fmt.Errorf("npz: array %q: shape %v needs %d elements, data has %d", k, a.Shape, n, length)
		}
	}
	return nil
}

// header returns the .npy preamble of a, padded as numpy pads it: the data
// starts at a multiple of 64 bytes.
func header(dt dtype, shape []int) []byte {
	var s strings.Builder
	s.WriteString("{'descr': '" + dt.descr + "', 'fortran_order': False, 'shape': (")
	for i, d := range shape {
		if i > 0 {
			s.WriteString(", ")
		}
		s.WriteString(strconv.Itoa(d))
	}
	if len(shape) == 1 {
		s.WriteString(",")
	}
	s.WriteString("), }")
	dict := s.String()

	const align = 64
	pre := 10 // magic, version, uint16 length
	if pad(pre+len(dict)+1, align)+len(dict)+1 > math.MaxUint16 {
		pre = 12 // version 2.0: uint32 length
	}
	hlen := len(dict) + pad(pre+len(dict)+1, align) + 1
	b := make([]byte, 0, pre+hlen)
	b = append(b, "\x93NUMPY"...)
	if pre == 10 {
		b = append(b, 1, 0)
		b = binary.LittleEndian.AppendUint16(b, uint16(hlen))
	} else {
		b = append(b, 2, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(hlen))
	}
	b = append(b, dict...)
	for len(b) < pre+hlen-1 {
		b = append(b, ' ')
	}
	return append(b, '\n')
}

func pad(n, align int) int { return (align - n%align) % align }

func writeNpy(w io.Writer, a Array) error {
	dt, _, err := dtypeOf(a.Data)
	if err != nil {
		return err
	}
	if _, err := w.Write(header(dt, a.Shape)); err != nil {
		return err
	}
	switch d := a.Data.(type) {
	case []float32:
		return writeData(w, d)
	case []float64:
		return writeData(w, d)
	case []graph.F16:
		return writeData(w, d)
	case []int64:
		return writeData(w, d)
	case []int32:
		return writeData(w, d)
	case []int8:
		return writeData(w, d)
	case []uint8:
		_, err := w.Write(d)
		return err
	case []bool:
		return writeData(w, d)
	}
	return fmt.Errorf("unsupported data type %T", a.Data)
}

// writeData encodes data little-endian (graph's codec) in chunks of at most
// 64 KiB.
func writeData[T graph.Elem](w io.Writer, data []T) error {
	const chunk = 64 << 10
	n := chunk / graph.DTypeOf[T]().Size()
	buf := make([]byte, 0, chunk)
	for len(data) > 0 {
		k := min(len(data), n)
		if _, err := w.Write(graph.AppendEncode(buf[:0], data[:k])); err != nil {
			return err
		}
		data = data[k:]
	}
	return nil
}
