package main

import (
	_ "embed"
	"fmt"
	"strings"
)

// knownTSV lists files expected to fail for a reason other than an
// unsupported op, each tied to the issue that will make it pass: file,
// issue, reason. The invariant test accepts their failures; a file not
// listed must pass every step or fail naming an unsupported op.
//
//go:embed known_failures.tsv
var knownTSV string

// Known is a listed failure.
type Known struct {
	Issue  string `json:"issue"`
	Reason string `json:"reason"`
}

// KnownFailures reads known_failures.tsv: by file name.
func KnownFailures() (map[string]Known, error) {
	m := make(map[string]Known)
	for i, l := range strings.Split(knownTSV, "\n") {
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Split(l, "\t")
		if len(f) != 3 {
			return nil, fmt.Errorf("known_failures.tsv:%d: want 3 tab-separated fields (file, issue, reason), have %d", i+1, len(f))
		}
		if _, dup := m[f[0]]; dup {
			return nil, fmt.Errorf("known_failures.tsv:%d: %s listed twice", i+1, f[0])
		}
		m[f[0]] = Known{Issue: f[1], Reason: f[2]}
	}
	return m, nil
}
