package train

import (
	"strings"

	"github.com/onnxtune/onnxtune/train/data"
)

// withDataSettings adds cfg.DataSettings, when set, to a run's settings
// under "data" (absent otherwise, so that checkpoints of runs without it
// keep resuming).
func withDataSettings(s map[string]string, cfg Config) map[string]string {
	if cfg.DataSettings != "" {
		s["data"] = cfg.DataSettings
	}
	return s
}

// effectiveDataSettings returns a "data" setting as this version records
// it: earlier ones wrote a crop's default ratio range as "ratio=0,0" (the
// value not given) where it is now DefaultRatio, the value in effect.
func effectiveDataSettings(v string) string {
	if strings.HasPrefix(v, "scale=") && !strings.HasPrefix(v, "scale=0,0 ") {
		return strings.Replace(v, " ratio=0,0 ", " ratio="+data.DefaultRatioText()+" ", 1)
	}
	return v
}
