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

// Invariant says whether a result keeps the rule of issue 12: a file passes
// every step or fails naming ops the engine lacks, unless it is a known
// failure. ok is false with a message for a result that breaks it; note
// says something worth logging (a known failure that now passes).
func Invariant(r Result, known map[string]Known) (ok bool, msg, note string) {
	k, isKnown := known[r.File]
	switch r.Verdict {
	case "pass":
		if isKnown {
			return true, "", fmt.Sprintf("%s passes now: remove it from tools/compat/known_failures.tsv (%s: %s)", r.File, k.Issue, k.Reason)
		}
		return true, "", ""
	case "unsupported":
		return true, "", ""
	}
	if isKnown {
		return true, "", fmt.Sprintf("known failure (%s: %s): %s", k.Issue, k.Reason, r.FirstError)
	}
	return false, fmt.Sprintf("%s fails without naming an unsupported op: %s", r.File, r.FirstError), ""
}
