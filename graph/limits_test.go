package graph

import (
	"errors"
	"testing"
)

func TestParseBytes(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
	}{
		{"4096", 4096}, {"512K", 512 << 10}, {"64MiB", 64 << 20}, {"2G", 2 << 30}, {"2gib", 2 << 30}, {"1TB", 1 << 40},
	} {
		got, err := ParseBytes(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "-1", "0", "abc", "1X", "9999999E"} {
		if _, err := ParseBytes(bad); err == nil {
			t.Errorf("ParseBytes(%q) succeeded", bad)
		}
	}
}

func TestCheckBytes(t *testing.T) {
	if err := CheckBytes("x", 1<<20, 4, 4<<20); err != nil {
		t.Errorf("exactly at the limit: %v", err)
	}
	var le *LimitError
	if err := CheckBytes("x", 1<<20+1, 4, 4<<20); !errors.As(err, &le) || le.Bytes != 4<<20+4 {
		t.Errorf("one over: %v", err)
	}
	if err := CheckBytes("x", 1<<62, 8, 4<<20); !errors.As(err, &le) || le.Bytes != -1 {
		t.Errorf("overflow: %v", err)
	}
	if err := CheckBytes("x", -1, 4, 0); err == nil {
		t.Error("negative count accepted")
	}
	if got := FormatBytes(3 << 29); got != "1.5 GiB" {
		t.Errorf("FormatBytes = %q", got)
	}
}

// TestLimitErrorJustOver: a size just over the limit that rounds to the
// same figure reads as more than it ("more than 2 GiB, over the limit of
// 2 GiB"), not as equal to it; a size that rounds apart keeps its figure.
func TestLimitErrorJustOver(t *testing.T) {
	for _, c := range []struct {
		bytes, limit int64
		want         string
	}{
		{2<<30 + 4, 2 << 30, "x would need more than 2 GiB, over the limit of 2 GiB"},
		{2<<30 + 60<<20, 2 << 30, "x would need 2.1 GiB, over the limit of 2 GiB"},
		{3 << 29, 1 << 30, "x would need 1.5 GiB, over the limit of 1 GiB"},
		{-1, 1 << 30, "x would need more than 8 EiB, over the limit of 1 GiB"},
	} {
		err := (&LimitError{What: "x", Bytes: c.bytes, Limit: c.limit}).Error()
		if want := c.want + " (raise it with --max-bytes, or the MaxBytes option of the Go packages)"; err != want {
			t.Errorf("%d over %d: %q, want %q", c.bytes, c.limit, err, want)
		}
	}
}
