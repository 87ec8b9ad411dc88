package importer

import (
	"errors"
	"fmt"

	"github.com/onnxtune/onnxtune/graph"
)

// ErrGraph reports a graph whose values do not connect: a node reading a name
// nothing defines, two definitions of one name, a cycle.
var ErrGraph = errors.New("invalid graph")

// validate checks g and its subgraphs, sorting nodes topologically when the
// file did not. outer holds the names visible from enclosing graphs.
func validate(g *graph.Graph, outer map[string]bool) error {
	defined := make(map[string]string) // name -> what defines it
	define := func(name, what string) error {
		if name == "" {
			return nil
		}
		if prev, ok := defined[name]; ok {
			return fmt.Errorf("%w: %q is defined twice (%s and %s)", ErrGraph, name, prev, what)
		}
		defined[name] = what
		return nil
	}
	for _, v := range g.Inputs {
		if err := define(v.Name, "graph input"); err != nil {
			return err
		}
	}
	for _, t := range g.Initializers {
		if _, isInput := defined[t.Name]; isInput && g.Input(t.Name) != nil {
			continue // an initializer may give a graph input its default
		}
		if err := define(t.Name, "initializer"); err != nil {
			return err
		}
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if err := define(o, "output of node "+n.String()); err != nil {
				return err
			}
		}
	}
	if err := g.SortTopological(); err != nil {
		return fmt.Errorf("%w: %w", ErrGraph, err)
	}
	// Walk in order: each input must be defined before it is read.
	visible := make(map[string]bool, len(defined)+len(outer))
	for k := range outer {
		visible[k] = true
	}
	for _, v := range g.Inputs {
		visible[v.Name] = true
	}
	for _, t := range g.Initializers {
		visible[t.Name] = true
	}
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in != "" && !visible[in] {
				return fmt.Errorf("%w: node %s: input %d %q is not a graph input, initializer or output of another node", ErrGraph, n, i, in)
			}
		}
		for i, a := range n.Attrs {
			for _, b := range n.Attrs[:i] {
				if b.Name == a.Name {
					return fmt.Errorf("%w: node %s: attribute %q appears twice", ErrGraph, n, a.Name)
				}
			}
			for _, sg := range append([]*graph.Graph{a.G}, a.Graphs...) {
				if sg == nil {
					continue
				}
				if err := validate(sg, visible); err != nil {
					return fmt.Errorf("node %s: attribute %q: %w", n, a.Name, err)
				}
			}
		}
		for _, o := range n.Outputs {
			if o != "" {
				visible[o] = true
			}
		}
	}
	for _, v := range g.Outputs {
		if !visible[v.Name] {
			return fmt.Errorf("%w: graph output %q is not computed by any node", ErrGraph, v.Name)
		}
	}
	return nil
}
