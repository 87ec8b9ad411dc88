// Package testsafe is a test helper for the checks that bad input gets an
// error: a call that panics fails the test, naming the panic, instead of
// ending the test binary.
package testsafe

import "testing"

// Call runs f and returns its error; a panic in f fails t.
func Call(t testing.TB, f func() error) (err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("panic: %v", r)
		}
	}()
	return f()
}
