package train

// withDataSettings adds cfg.DataSettings, when set, to a run's settings
// under "data" (absent otherwise, so that checkpoints of runs without it
// keep resuming).
func withDataSettings(s map[string]string, cfg Config) map[string]string {
	if cfg.DataSettings != "" {
		s["data"] = cfg.DataSettings
	}
	return s
}
