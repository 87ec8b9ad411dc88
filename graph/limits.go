package graph

import (
	"fmt"
	"strconv"
	"strings"
)

// DefaultMaxBytes is the default bound on one allocation whose size comes
// from a file: a tensor (initializer, constant, or one the engine makes from
// a shape it read, such as ConstantOfShape's output), an array of an .npz
// file, a decompressed stream, a decoded image. It also bounds the total of
// a compiled program: the bytes of every value the engine computes (each
// op's output, at compile time for folded constants, and in training the
// gradient of each computed float value, counted as its size again) must
// add up to no more than the limit, so that many tensors each under it
// cannot exhaust memory together. Packages that read files take a MaxBytes
// option; zero (or less) means this default. The CLI sets it with --max-bytes.
const DefaultMaxBytes int64 = 2 << 30

// LimitBytes returns max, or DefaultMaxBytes when max is not positive.
func LimitBytes(max int64) int64 {
	if max <= 0 {
		return DefaultMaxBytes
	}
	return max
}

// LimitError reports a size read from a file that exceeds a limit. What says
// what was being sized ("ConstantOfShape output", "npz array \"x\"").
type LimitError struct {
	What  string
	Bytes int64 // the size asked for; -1 if it overflows int64
	Limit int64
	// At, for a total over many values, says where the total crossed the
	// limit (`node "/Add" (Add)`); empty for one allocation.
	At string
}

func (e *LimitError) Error() string {
	asked := FormatBytes(e.Bytes)
	switch {
	case e.Bytes < 0:
		asked = "more than 8 EiB"
	case e.Bytes > e.Limit && asked == FormatBytes(e.Limit):
		// Just over the limit, both round to one figure: "2 GiB, over
		// the limit of 2 GiB" would read as within it.
		asked = "more than " + asked
	}
	if e.At != "" {
		asked += " in all at " + e.At
	}
	return fmt.Sprintf("%s would need %s, over the limit of %s (raise it with --max-bytes, or the MaxBytes option of the Go packages)", e.What, asked, FormatBytes(e.Limit))
}

// CheckBytes returns a *LimitError when elems elements of elemSize bytes
// exceed max bytes (or overflow). A negative elems also fails.
func CheckBytes(what string, elems, elemSize, max int64) error {
	max = LimitBytes(max)
	if elems < 0 || elemSize < 0 {
		return &LimitError{What: what, Bytes: -1, Limit: max}
	}
	if elemSize != 0 && elems > max/elemSize {
		b := int64(-1)
		if elems <= (1<<63-1)/elemSize {
			b = elems * elemSize
		}
		return &LimitError{What: what, Bytes: b, Limit: max}
	}
	return nil
}

// FormatBytes renders n bytes with a binary unit: 512 B, 1.5 KiB, 2 GiB.
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	s := strconv.FormatFloat(float64(n)/float64(div), 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	return s + " " + string("KMGTPE"[exp]) + "iB"
}

// ParseBytes reads a size such as 4096, 512K, 64MiB, 2G or 2GiB (binary
// units; a trailing B is optional).
func ParseBytes(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := int64(1)
	if n := len(t); n > 0 {
		if i := strings.IndexByte("KMGTPE", t[n-1]); i >= 0 {
			t = t[:n-1]
			for ; i >= 0; i-- {
				mult *= 1024
			}
		}
	}
	v, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	if err != nil || v <= 0 || v > (1<<63-1)/mult {
		return 0, fmt.Errorf("invalid size %q: want a positive number of bytes such as 512M or 4GiB", s)
	}
	return v * mult, nil
}
