package remap

import (
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/onnxtune/onnxtune/graph"
)

// Rule rewrites pretrained parameter names: every match of Pattern is
// replaced by Replace (regexp.ReplaceAllString syntax, $1 for groups).
type Rule struct {
	Pattern *regexp.Regexp
	Replace string
	text    string
}

// ParseRule parses "RE=REPL", e.g. `^module\.=` or `^backbone\.(.*)=$1`.
func ParseRule(s string) (Rule, error) {
	i := strings.LastIndex(s, "=")
	if i < 0 {
		return Rule{}, fmt.Errorf("rename rule %q: want REGEXP=REPLACEMENT", s)
	}
	re, err := regexp.Compile(s[:i])
	if err != nil {
		return Rule{}, fmt.Errorf("rename rule %q: %w", s, err)
	}
	return Rule{Pattern: re, Replace: s[i+1:], text: s}, nil
}

// Options control Apply.
type Options struct {
	Rules  []Rule // applied in order to every pretrained name
	Strict bool   // any missing, unexpected or mismatched name is an error
	Logger logrus.FieldLogger
}

// Mismatch is a name in both models whose shapes (or types) differ.
type Mismatch struct {
	Name string `json:"name"`
	From string `json:"from"` // pretrained shape and type
	Into string `json:"into"` // target shape and type
}

// Report says what Apply did with every name.
type Report struct {
	Matched    []string   `json:"matched"`    // taken from the pretrained model
	Missing    []string   `json:"missing"`    // only in the target, which keeps its tensor
	Unexpected []string   `json:"unexpected"` // only in the pretrained model, dropped
	Mismatched []Mismatch `json:"mismatched"` // in both, shapes differ; the target keeps its tensor
	Warnings   []string   `json:"warnings,omitempty"`
}

// StrictError reports, in strict mode, every name that did not match.
type StrictError struct{ Report *Report }

func (e *StrictError) Error() string {
	var parts []string
	add := func(what string, names []string) {
		if len(names) == 0 {
			return
		}
		shown := names
		more := ""
		if len(shown) > 5 {
			shown, more = shown[:5], fmt.Sprintf(" and %d more", len(names)-5)
		}
		parts = append(parts, fmt.Sprintf("%d %s (%s%s)", len(names), what, strings.Join(shown, ", "), more))
	}
	add("missing", e.Report.Missing)
	add("unexpected", e.Report.Unexpected)
	var mm []string
	for _, m := range e.Report.Mismatched {
		mm = append(mm, fmt.Sprintf("%s %s->%s", m.Name, m.From, m.Into))
	}
	add("mismatched", mm)
	return "remap: strict: " + strings.Join(parts, "; ")
}

// Apply loads the pretrained model's parameters into target, as PyTorch's
// recipe {k: v for k, v in pretrained.items() if k in new_state} followed by
// load_state_dict would, but by recovered PyTorch names (so anonymized exports
// match), after the rename rules, and only where shape and type agree. Tied
// tensors of both models are untied first. In strict mode nothing is changed
// when any name does not match.
func Apply(pretrained, target *graph.Model, opts Options) (*Report, error) {
	log := opts.Logger
	if log == nil {
		l := logrus.New()
		l.Out = io.Discard
		log = l
	}
	for _, m := range []*graph.Model{pretrained, target} {
		if _, err := Untie(m); err != nil {
			return nil, err
		}
	}
	rep := &Report{Matched: []string{}, Missing: []string{}, Unexpected: []string{}, Mismatched: []Mismatch{}}
	used := make([]bool, len(opts.Rules))
	from := make(map[string]*graph.Param)
	for _, p := range pretrained.Params {
		name := p.Name
		for i, r := range opts.Rules {
			if r.Pattern.MatchString(name) {
				used[i] = true
				name = r.Pattern.ReplaceAllString(name, r.Replace)
			}
		}
		from[name] = p
	}
	for i, r := range opts.Rules {
		if !used[i] {
			w := fmt.Sprintf("rename rule %q matches no pretrained name", r.text)
			rep.Warnings = append(rep.Warnings, w)
			log.Warn(w)
		}
	}
	type copyOp struct{ src, dst *graph.Param }
	var copies []copyOp
	into := make(map[string]bool)
	for _, q := range target.Params {
		into[q.Name] = true
		p, ok := from[q.Name]
		if !ok {
			rep.Missing = append(rep.Missing, q.Name)
			continue
		}
		if fmt.Sprint(p.Shape) != fmt.Sprint(q.Shape) || p.DType != q.DType {
			rep.Mismatched = append(rep.Mismatched, Mismatch{Name: q.Name, From: describe(p), Into: describe(q)})
			continue
		}
		rep.Matched = append(rep.Matched, q.Name)
		copies = append(copies, copyOp{p, q})
	}
	for name := range from {
		if !into[name] {
			rep.Unexpected = append(rep.Unexpected, name)
		}
	}
	sort.Strings(rep.Unexpected)
	if opts.Strict && (len(rep.Missing)+len(rep.Unexpected)+len(rep.Mismatched) > 0) {
		return rep, &StrictError{Report: rep}
	}
	for _, c := range copies {
		src := pretrained.Graph.Initializer(c.src.Initializer)
		dst := target.Graph.Initializer(c.dst.Initializer)
		if src == nil || dst == nil {
			return rep, fmt.Errorf("remap: %s: initializer not found", c.dst.Name)
		}
		raw := src.Raw
		if c.src.Transposed != c.dst.Transposed && len(src.Dims) == 2 {
			raw = transpose(src.Raw, int(src.Dims[0]), int(src.Dims[1]), src.DType.Bits()/8)
		}
		if len(raw) != len(dst.Raw) {
			return rep, fmt.Errorf("remap: %s: %d bytes for a %d-byte tensor", c.dst.Name, len(raw), len(dst.Raw))
		}
		dst.Raw = append([]byte(nil), raw...)
	}
	log.WithField("matched", len(rep.Matched)).WithField("missing", len(rep.Missing)).
		WithField("unexpected", len(rep.Unexpected)).WithField("mismatched", len(rep.Mismatched)).Debug("remapped")
	return rep, nil
}

func describe(p *graph.Param) string {
	parts := make([]string, len(p.Shape))
	for i, d := range p.Shape {
		parts[i] = fmt.Sprint(d)
	}
	return fmt.Sprintf("%s[%s]", p.DType, strings.Join(parts, ","))
}

// transpose swaps the two axes of an r x c matrix of elements of size bytes.
func transpose(raw []byte, r, c, size int) []byte {
	out := make([]byte, len(raw))
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			copy(out[(j*r+i)*size:(j*r+i+1)*size], raw[(i*c+j)*size:(i*c+j+1)*size])
		}
	}
	return out
}
