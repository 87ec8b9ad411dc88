package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"

	"github.com/onnxtune/onnxtune/internal/fsx"
	"github.com/onnxtune/onnxtune/train"
)

// What train records as it goes: --metrics FILE.jsonl (one JSON object a
// line), the JSON Lines of --json on standard output, and the curves of
// --plot.

// metricsText is the --help of --metrics.
const metricsText = `--metrics FILE.jsonl writes one JSON object a line: after every optimizer
step {"type": "step", "epoch", "batch", "step", "loss", "accuracy", "lr":
{GROUP: rate, ...}} (each group's learning rate by its name: its --group
pattern, or "default"), and after every epoch {"type": "epoch", "epoch",
"step", "loss", "accuracy", "samples", "seconds"} (training means;
"accuracy" under cross-entropy only, here and in the progress lines) with,
under --val, "val_loss" and for a classifier "val_accuracy", "val_top5",
"val_macro_f1", "val_precision", "val_recall", "val_f1", "val_support",
"val_confusion" (see 'onnxtune eval --help') and, with --save-best, "best" (true when the
epoch is the best so far). Epochs and steps count from 1. A number that is
NaN or infinite (a validation loss of NaN, say) is written as null, in
these lines and in those of --json. The lines go to
a temporary file in FILE's folder as they happen (each line written
whole, so 'tail -f' on it works) and it is renamed onto FILE when the run
ends, also when it is stopped or fails; an existing FILE is replaced only
then. With --resume, the lines of an existing FILE from before the point
resumed from are kept at its start.`

// stepRecord is a --metrics line after a step.
type stepRecord struct {
	Type     string                `json:"type"`
	Epoch    int                   `json:"epoch"`
	Batch    int                   `json:"batch"`
	Step     int64                 `json:"step"`
	Loss     jsonNumber            `json:"loss"`
	Accuracy *jsonNumber           `json:"accuracy,omitempty"` // cross-entropy only
	LR       map[string]jsonNumber `json:"lr"`
}

// epochRecord is a --metrics line (and a --json line) after an epoch.
type epochRecord struct {
	Type         string       `json:"type,omitempty"`
	Epoch        int          `json:"epoch"`
	Step         int64        `json:"step"`
	Loss         jsonNumber   `json:"loss"`
	Accuracy     *jsonNumber  `json:"accuracy,omitempty"` // cross-entropy only
	Samples      int          `json:"samples"`
	Seconds      float64      `json:"seconds"`
	ValLoss      *jsonNumber  `json:"val_loss,omitempty"`
	ValAccuracy  *jsonNumber  `json:"val_accuracy,omitempty"`
	ValTop5      *jsonNumber  `json:"val_top5,omitempty"`
	ValMacroF1   *jsonNumber  `json:"val_macro_f1,omitempty"`
	ValPrecision []jsonNumber `json:"val_precision,omitempty"`
	ValRecall    []jsonNumber `json:"val_recall,omitempty"`
	ValF1        []jsonNumber `json:"val_f1,omitempty"`
	ValSupport   []int        `json:"val_support,omitempty"`
	ValConfusion [][]int      `json:"val_confusion,omitempty"`
	Best         *bool        `json:"best,omitempty"`
}

// jsonNumber is a number of the JSON lines (--metrics, --json): NaN and
// infinities, which JSON has no numbers for, are written as null.
type jsonNumber float64

// MarshalJSON writes n as encoding/json writes a float64, or null.
func (n jsonNumber) MarshalJSON() ([]byte, error) {
	if v := float64(n); math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(n))
}

// numberPtr returns a pointer to v as a jsonNumber.
func numberPtr(v float64) *jsonNumber {
	n := jsonNumber(v)
	return &n
}

// jsonNumbers converts a list (nil stays nil).
func jsonNumbers(v []float64) []jsonNumber {
	if v == nil {
		return nil
	}
	out := make([]jsonNumber, len(v))
	for i, x := range v {
		out[i] = jsonNumber(x)
	}
	return out
}

// newEpochRecord describes an epoch that ended at step (its accuracy where
// classes: the loss is cross-entropy); best says whether
// a metric is watched.
func newEpochRecord(e train.EpochInfo, step int64, classes, watched bool) epochRecord {
	r := epochRecord{Epoch: e.Epoch + 1, Step: step, Loss: jsonNumber(e.Loss), Samples: e.Samples, Seconds: e.Elapsed.Seconds()}
	if classes {
		r.Accuracy = numberPtr(e.Accuracy)
	}
	if v := e.Val; v != nil {
		r.ValLoss = numberPtr(v.Loss)
	}
	if v := e.Val; v != nil && v.Classes > 0 {
		r.ValAccuracy, r.ValTop5, r.ValMacroF1 = numberPtr(v.Accuracy), numberPtr(v.Top5), numberPtr(v.MacroF1)
		r.ValPrecision, r.ValRecall, r.ValF1 = jsonNumbers(v.Precision), jsonNumbers(v.Recall), jsonNumbers(v.F1)
		r.ValSupport, r.ValConfusion = v.Support, v.Confusion
	}
	if watched {
		b := e.Best
		r.Best = &b
	}
	return r
}

// groupNames are the names of the groups in --metrics: each group's name,
// made unique with "#2", "#3", ... when two share one.
func groupNames(as *train.Assignment) []string {
	seen := make(map[string]int)
	var names []string
	for _, g := range as.Groups {
		seen[g.Name]++
		name := g.Name
		if n := seen[g.Name]; n > 1 {
			name = fmt.Sprintf("%s#%d", g.Name, n)
		}
		names = append(names, name)
	}
	return names
}

// metricsLog writes --metrics FILE: lines to a temporary file, renamed
// onto FILE by close.
type metricsLog struct {
	path    string
	f       *os.File
	old     [][]byte // lines of the FILE resumed from, not yet carried over
	started bool
	err     error
	// carried, when set, sees every line carried over (--plot rebuilds
	// the curves from before the resume from them).
	carried func(line []byte)
}

// openMetricsLog starts FILE's temporary file; with resume it reads the
// lines of an existing FILE (at most limit bytes) to carry over.
func openMetricsLog(path string, resume bool, limit int64) (*metricsLog, error) {
	l := &metricsLog{path: path}
	if resume {
		f, st, err := fsx.OpenRegular(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("--metrics: %w", err)
		default:
			defer f.Close()
			if st.Size() > limit {
				return nil, fmt.Errorf("--metrics %s: %d bytes, more than --max-bytes", path, st.Size())
			}
			sc := bufio.NewScanner(f)
			sc.Buffer(nil, int(min(limit, 1<<30)))
			for sc.Scan() {
				if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
					l.old = append(l.old, bytes.Clone(line))
				}
			}
			if err := sc.Err(); err != nil {
				return nil, fmt.Errorf("--metrics %s: %w", path, err)
			}
		}
	}
	f, err := fsx.CreateTemp(path)
	if err != nil {
		return nil, fmt.Errorf("--metrics %s: %w", path, unwrapPath(err))
	}
	l.f = f
	return l, nil
}

// carry writes the old lines from before step (a step line) or epoch (an
// epoch line), once, before the first new line.
func (l *metricsLog) carry(step int64, epoch int) {
	if l.started {
		return
	}
	l.started = true
	for _, line := range l.old {
		var r struct {
			Type  string `json:"type"`
			Epoch int    `json:"epoch"`
			Step  int64  `json:"step"`
		}
		if json.Unmarshal(line, &r) != nil {
			continue
		}
		if r.Type == "step" && r.Step < step || r.Type == "epoch" && r.Epoch < epoch {
			l.line(line)
			if l.carried != nil {
				l.carried(line)
			}
		}
	}
	l.old = nil
}

func (l *metricsLog) line(b []byte) {
	if l.err == nil {
		_, l.err = l.f.Write(append(b, '\n'))
	}
}

func (l *metricsLog) record(step int64, epoch int, v any) {
	if l == nil {
		return
	}
	l.carry(step, epoch)
	b, err := json.Marshal(v)
	if err != nil && l.err == nil {
		l.err = err
	}
	l.line(b)
}

// close renames the file onto FILE (carrying every old line over when
// the run recorded nothing).
func (l *metricsLog) close() error {
	if l == nil || l.f == nil {
		return nil
	}
	if !l.started {
		for _, line := range l.old {
			l.line(line)
		}
	}
	f := l.f
	l.f = nil
	if l.err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("--metrics %s: %w", l.path, l.err)
	}
	if err := fsx.Commit(f, l.path); err != nil {
		return fmt.Errorf("--metrics %s: %w", l.path, unwrapPath(err))
	}
	return nil
}

// writeJSONLine writes v as one compact JSON line (the lines of train
// --json).
func writeJSONLine(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}
