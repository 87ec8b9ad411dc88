package ops

// registerControl adds If and Loop.
func registerControl(r *Registry) {
	_ = r
}
