package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/fsx"
	"github.com/onnxtune/onnxtune/train"
)

// maxConfigBytes bounds the size of a --config file.
const maxConfigBytes = 1 << 20

// readConfig reads the --config file at path: a regular file (a FIFO
// would block, /dev/zero would never end) of at most maxConfigBytes, both
// checked before it is read.
func readConfig(path string) ([]byte, error) {
	f, st, err := fsx.OpenRegular(path)
	if err != nil {
		return nil, fmt.Errorf("--config %s: %w", path, errors.Unwrap(err))
	}
	defer f.Close()
	tooBig := func(n int64) error {
		return fmt.Errorf("--config %s: a file of %s, over the limit of %s for a settings file", path, graph.FormatBytes(n), graph.FormatBytes(maxConfigBytes))
	}
	if st.Size() > maxConfigBytes {
		return nil, tooBig(st.Size())
	}
	// The file may have grown since: read one byte past the limit at most.
	b, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	if len(b) > maxConfigBytes {
		return nil, tooBig(int64(len(b)))
	}
	return b, nil
}

// hyperFlag defines the flag of the hyperparameter table's row p (named
// p.Flag(), with its default and usage), bound to its field of h. --config
// sets it through the flag, under the flag's name or p.Name.
func hyperFlag(fs *pflag.FlagSet, p train.HyperParam, h *train.Hyper) {
	p.Set(h, p.Default)
	if p.Bool {
		fs.VarPF(hyperSwitch{&hyperValue{p: p, h: h}}, p.Flag(), "", p.Usage).NoOptDefVal = "true"
		return
	}
	fs.Var(&hyperValue{p: p, h: h}, p.Flag(), p.Usage)
}

// hyperValue is a hyperparameter flag: a float, or a bool for a switch.
type hyperValue struct {
	p train.HyperParam
	h *train.Hyper
}

func (v *hyperValue) String() string {
	x := v.p.Get(*v.h)
	if v.p.Bool {
		return strconv.FormatBool(x != 0)
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

func (v *hyperValue) Set(s string) error {
	if v.p.Bool {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		x := 0.0
		if b {
			x = 1
		}
		v.p.Set(v.h, x)
		return nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return err
	}
	v.p.Set(v.h, x)
	return nil
}

func (v *hyperValue) Type() string {
	if v.p.Bool {
		return "bool"
	}
	return "float64"
}

// hyperSwitch is the flag of a switch (nesterov): it takes no value, as
// pflag's bool flags.
type hyperSwitch struct{ *hyperValue }

func (hyperSwitch) IsBoolFlag() bool { return true }
