package graph

// FieldSet records optional protobuf fields, by field number (1 to 63), that a
// file wrote with their zero value (an empty string, a 0). Export writes a
// field when its value is not zero or its number is in the set, so that a model
// comes back with the fields it had. Code that edits the IR can ignore it.
type FieldSet uint64

// Has reports whether field number n is in the set.
func (f FieldSet) Has(n int) bool { return n > 0 && n < 64 && f&(1<<uint(n)) != 0 }

// With returns the set with field number n added.
func (f FieldSet) With(n int) FieldSet {
	if n <= 0 || n >= 64 {
		return f
	}
	return f | 1<<uint(n)
}
