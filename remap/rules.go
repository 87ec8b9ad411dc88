package remap

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ErrRule reports a rename rule that cannot be parsed, or rules whose
// rewrites cannot be used (two names rewritten to one, a name rewritten to
// nothing).
var ErrRule = errors.New("invalid rename rule")

// Rule rewrites pretrained parameter names: every match of Pattern is
// replaced by Replace, in regexp.ReplaceAllString's syntax ($1 or ${1} for
// a group).
type Rule struct {
	Pattern *regexp.Regexp
	Replace string
}

// ParseRule parses "REGEXP=REPLACEMENT": `^module\.=` strips DataParallel's
// prefix, `^backbone\.(.*)=$1` unwraps a wrapper module. The last "=" splits
// the two (PyTorch names never hold one). Errors wrap ErrRule.
func ParseRule(s string) (Rule, error) {
	i := strings.LastIndex(s, "=")
	if i < 0 {
		return Rule{}, fmt.Errorf("%w %q: want REGEXP=REPLACEMENT", ErrRule, s)
	}
	if i == 0 {
		return Rule{}, fmt.Errorf("%w %q: empty REGEXP before '='", ErrRule, s)
	}
	re, err := regexp.Compile(s[:i])
	if err != nil {
		return Rule{}, fmt.Errorf("%w %q: %w", ErrRule, s, err)
	}
	return Rule{Pattern: re, Replace: s[i+1:]}, nil
}

// ParseRules parses rules in order; the first bad one is the error.
func ParseRules(specs []string) ([]Rule, error) {
	rules := make([]Rule, 0, len(specs))
	for _, s := range specs {
		r, err := ParseRule(s)
		if err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// String returns the rule as ParseRule reads it.
func (r Rule) String() string {
	if r.Pattern == nil {
		return "=" + r.Replace
	}
	return r.Pattern.String() + "=" + r.Replace
}

// renamed is a pretrained name after the rules.
type renamed struct {
	name, orig string
}

// applyRules rewrites every name by the rules, in order (each rule sees the
// names the rules before it made). It returns the new names in input order,
// and one warning for each rule that matched no name. Two names rewritten to
// one, or a name rewritten to "", is an error wrapping ErrRule.
func applyRules(names []string, rules []Rule) ([]renamed, []string, error) {
	out := make([]renamed, len(names))
	for i, n := range names {
		out[i] = renamed{name: n, orig: n}
	}
	var warnings []string
	for _, r := range rules {
		if r.Pattern == nil {
			return nil, nil, fmt.Errorf("%w %q: no pattern", ErrRule, r)
		}
		hit := false
		for i := range out {
			if r.Pattern.MatchString(out[i].name) {
				hit = true
				out[i].name = r.Pattern.ReplaceAllString(out[i].name, r.Replace)
			}
		}
		if !hit {
			warnings = append(warnings, fmt.Sprintf("rename rule '%s' matches no pretrained name", r))
		}
	}
	seen := make(map[string]string, len(out))
	for _, n := range out {
		if n.name == "" {
			return nil, nil, fmt.Errorf("%w: pretrained %q renamed to an empty name", ErrRule, n.orig)
		}
		if prev, ok := seen[n.name]; ok {
			return nil, nil, fmt.Errorf("%w: pretrained %q and %q both renamed to %q", ErrRule, prev, n.orig, n.name)
		}
		seen[n.name] = n.orig
	}
	return out, warnings, nil
}
