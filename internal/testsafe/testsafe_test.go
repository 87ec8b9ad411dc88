package testsafe

import (
	"errors"
	"fmt"
	"testing"
)

// recorder is a testing.TB whose Fatalf records the message (and lets the
// call return), so that a panic's report can be checked.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) { r.msg = fmt.Sprintf(format, args...) }

// TestCall: Call returns f's error, and a panic in f is reported through
// Fatalf, naming the panic's value, instead of escaping.
func TestCall(t *testing.T) {
	want := errors.New("bad input")
	r := &recorder{TB: t}
	if err := Call(r, func() error { return want }); err != want || r.msg != "" {
		t.Errorf("Call: %v, message %q; want %v and none", err, r.msg, want)
	}
	r = &recorder{TB: t}
	if err := Call(r, func() error { panic("index out of range") }); err != nil || r.msg != "panic: index out of range" {
		t.Errorf("Call of a panic: %v, message %q; want nil and %q", err, r.msg, "panic: index out of range")
	}
}
