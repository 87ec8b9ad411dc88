package train

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
)

// TestBestAndEarlyStopHF: Config.Best and Config.Patience pick the best
// epoch and stop where the Hugging Face Trainer does (its
// EarlyStoppingCallback and best-metric rule, run by models/make_best.py
// on the same scripted metrics: models/best/hf.json).
func TestBestAndEarlyStopHF(t *testing.T) {
	b, err := os.ReadFile("../models/best/hf.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []struct {
			Name      string     `json:"name"`
			Metric    Metric     `json:"metric"`
			Patience  int        `json:"patience"`
			Values    []*float64 `json:"values"`
			Flags     string     `json:"flags"`
			BestEpoch int        `json:"best_epoch"`
			Epochs    int        `json:"epochs"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &ref); err != nil || len(ref.Cases) == 0 {
		t.Fatalf("hf.json: %v (%d cases)", err, len(ref.Cases))
	}
	src := newMLPSource(44, 8)
	for _, c := range ref.Cases {
		t.Run(c.Name, func(t *testing.T) {
			epoch := 0
			val := func(*graph.Model) (*Metrics, error) {
				v := math.NaN()
				if p := c.Values[epoch]; p != nil {
					v = *p
				}
				m := &Metrics{N: 1}
				switch c.Metric {
				case ValLoss:
					m.Loss = v
				case ValAccuracy:
					m.Accuracy = v
				case ValMacroF1:
					m.MacroF1 = v
				default:
					t.Fatalf("metric %q not scripted", c.Metric)
				}
				return m, nil
			}
			flags := ""
			cfg := Config{Epochs: len(c.Values), Optimizer: SGD, Defaults: Hyper{LR: 0.05}, Loss: CrossEntropy,
				Best: c.Metric, Patience: c.Patience,
				OnStep: func(s StepInfo) { epoch = s.Epoch },
				OnEpoch: func(e EpochInfo) {
					if e.Best {
						flags += "B"
					} else {
						flags += "."
					}
				}}
			res, err := Run(context.Background(), mlpDropout(t), src, val, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if flags != c.Flags || res.BestEpoch != c.BestEpoch || len(res.Epochs) != c.Epochs {
				t.Errorf("%s: best epoch %d after %d epochs (%s); the Trainer: %d after %d (%s)",
					c.Name, res.BestEpoch, len(res.Epochs), flags, c.BestEpoch, c.Epochs, c.Flags)
			}
		})
	}
}
