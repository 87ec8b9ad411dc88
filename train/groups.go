package train

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/onnxtune/onnxtune/graph"
)

// GroupSpec is one --group: parameters whose PyTorch name matches Pattern
// (a glob: "fc3.*", "layer4.*") get the settings in Set, over the defaults.
// Set's keys are names of the hyperparameter table (HyperParams; a switch
// such as nesterov is 0 or 1).
type GroupSpec struct {
	Pattern string
	Set     map[string]float64
}

// apply returns defaults with the settings of s over them (keys not in the
// table are left out; Validate refuses them).
func (s GroupSpec) apply(defaults Hyper) Hyper {
	h := defaults
	for _, p := range hyperParams {
		if v, ok := s.Set[p.Name]; ok {
			p.Set(&h, v)
		}
	}
	return h
}

// ParseGroup parses "GLOB:key=value,key=value", e.g. "fc3.*:lr=0.01".
// Errors are *SettingError.
func ParseGroup(s string) (GroupSpec, error) {
	pat, rest, ok := strings.Cut(s, ":")
	if !ok || pat == "" {
		return GroupSpec{}, settingErr("group %q: want GLOB:key=value,... (e.g. 'fc3.*:lr=0.01')", s)
	}
	if _, err := path.Match(pat, ""); err != nil {
		return GroupSpec{}, settingErr("group %q: bad pattern: %v", s, err)
	}
	g := GroupSpec{Pattern: pat, Set: make(map[string]float64)}
	for _, kv := range strings.Split(rest, ",") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		hp, known := LookupHyper(k)
		if !ok || !known {
			return GroupSpec{}, settingErr("group %q: %q is not key=value with a key among %s", s, kv, hyperNames())
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			if b, berr := strconv.ParseBool(strings.TrimSpace(v)); berr == nil && hp.Bool {
				f = 0
				if b {
					f = 1
				}
			} else {
				return GroupSpec{}, settingErr("group %q: %s=%q is not a number", s, k, v)
			}
		}
		if hp.Bool && f != 0 && f != 1 {
			return GroupSpec{}, settingErr("group %q: %s=%s is a switch: 0 or 1 (false or true)", s, k, strings.TrimSpace(v))
		}
		if _, twice := g.Set[k]; twice {
			return GroupSpec{}, settingErr("group %q: %s is given twice", s, k)
		}
		g.Set[k] = f
	}
	return g, nil
}

// Group is an assigned parameter group.
type Group struct {
	Name   string   // the pattern, or "default"
	Hyper  Hyper    // settings at the start (before schedules)
	Params []string // PyTorch names
	Count  int64    // number of elements
	// Overlaps lists the group's parameters that a later --group pattern
	// matches too, as "name (also PATTERN)": the first match wins, which
	// a user who meant the later group wants to see.
	Overlaps []string
}

// Assignment says which group each trainable parameter is in, and which are
// frozen.
type Assignment struct {
	Groups []*Group
	Frozen []string
	group  map[string]*Group
}

// GroupOf returns the group of parameter name, or nil when it is frozen or
// not trainable.
func (a *Assignment) GroupOf(name string) *Group { return a.group[name] }

// index checks an Assignment as torch.optim checks its param groups (a
// parameter in one group at most, and once) and that no group is nil and
// no parameter both frozen and trained, and makes GroupOf answer from
// Groups: an Assignment built by hand has no index of its own.
func (a *Assignment) index() error {
	frozen := make(map[string]bool, len(a.Frozen))
	for _, name := range a.Frozen {
		frozen[name] = true
	}
	group := make(map[string]*Group)
	for i, g := range a.Groups {
		if g == nil {
			return fmt.Errorf("train: group %d is nil", i)
		}
		for _, name := range g.Params {
			if frozen[name] {
				return fmt.Errorf("train: parameter %q is frozen and in group %q", name, g.Name)
			}
			if prev := group[name]; prev != nil {
				return fmt.Errorf("train: parameter %q is in groups %q and %q: some parameters appear in more than one parameter group", name, prev.Name, g.Name)
			}
			group[name] = g
		}
	}
	a.group = group
	return nil
}

// Assign puts every trainable parameter (role weight or bias) of params into
// the first group whose pattern matches its name, or the default group; a
// parameter matching a freeze pattern gets no gradient and no update. A
// pattern that matches no parameter is an error, as in a typo, and so is
// leaving no parameter to train (PyTorch's "optimizer got an empty
// parameter list"), and so are a bad pattern and a key that is not a name of
// the hyperparameter table. Errors about the specs or patterns are
// *SettingError. The values are checked by NewTrainer, which knows the
// optimizer.
func Assign(params []*graph.Param, specs []GroupSpec, defaults Hyper, freeze []string) (*Assignment, error) {
	a := &Assignment{group: make(map[string]*Group)}
	groups := make([]*Group, len(specs))
	used := make([]bool, len(specs))
	for i, s := range specs {
		if _, err := path.Match(s.Pattern, ""); err != nil || s.Pattern == "" {
			return nil, settingErr("group %q: bad pattern", s.Pattern)
		}
		for _, k := range slices.Sorted(maps.Keys(s.Set)) {
			if _, ok := LookupHyper(k); !ok {
				return nil, &SettingError{Group: s.Pattern, Reason: fmt.Sprintf("unknown setting %q: want one of %s", k, hyperNames())}
			}
		}
		groups[i] = &Group{Name: s.Pattern, Hyper: s.apply(defaults)}
	}
	def := &Group{Name: "default", Hyper: defaults}
	freezeUsed := make([]bool, len(freeze))
	at := make(map[string]int, len(params))
	for i, p := range params {
		if p == nil {
			return nil, fmt.Errorf("train: parameter %d of %d is nil", i, len(params))
		}
		if j, ok := at[p.Name]; ok {
			return nil, fmt.Errorf("train: parameter %q is listed twice (%d and %d of %d)", p.Name, j, i, len(params))
		}
		at[p.Name] = i
		if !p.Role.Trainable() || !p.DType.IsFloat() {
			continue
		}
		frozen := false
		for i, f := range freeze {
			if ok, _ := path.Match(f, p.Name); ok {
				frozen, freezeUsed[i] = true, true
			}
		}
		if frozen {
			a.Frozen = append(a.Frozen, p.Name)
			continue
		}
		g := def
		var also []string
		for i, s := range specs {
			if ok, _ := path.Match(s.Pattern, p.Name); ok {
				if g != def {
					also = append(also, s.Pattern)
					continue
				}
				g, used[i] = groups[i], true
			}
		}
		if len(also) > 0 {
			g.Overlaps = append(g.Overlaps, fmt.Sprintf("%s (also %s)", p.Name, strings.Join(also, ", ")))
		}
		g.Params = append(g.Params, p.Name)
		n := int64(1)
		for _, d := range p.Shape {
			n *= d
		}
		g.Count += n
		a.group[p.Name] = g
	}
	for i, f := range freeze {
		if _, err := path.Match(f, ""); err != nil {
			return nil, settingErr("--freeze %q: bad pattern: %v", f, err)
		}
		if !freezeUsed[i] {
			return nil, settingErr("--freeze %q matches no trainable parameter", f)
		}
	}
	for i, s := range specs {
		if !used[i] {
			return nil, settingErr("--group %q matches no trainable parameter (or an earlier group took them all)", s.Pattern)
		}
	}
	if len(a.group) == 0 {
		// torch.optim's constructors refuse it so: a mistake of the
		// settings when --freeze took them all, of the model otherwise.
		if len(a.Frozen) > 0 {
			return nil, settingErr("optimizer got an empty parameter list (--freeze leaves no parameter to train)")
		}
		return nil, errors.New("optimizer got an empty parameter list (the model has no trainable parameter)")
	}
	a.Groups = append(a.Groups, def)
	a.Groups = append(a.Groups, groups...)
	return a, nil
}
