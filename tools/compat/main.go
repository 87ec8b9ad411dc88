// Command compat checks onnxtune against real PyTorch exports and writes
// the table docs/compatibility.md.
//
//	go run ./tools/compat                  # fetch the corpus, check every file, write docs/compatibility.md
//	go run ./tools/compat --json           # the same, and the results as JSON on stdout
//	go run ./tools/compat --only silero    # only files whose name contains "silero" (no file written)
//
// The files are the real-world set in ../shared/realworld (its
// manifest.tsv) and the corpus of models/corpus/manifest.tsv, which
// scripts/fetch-corpus.sh downloads into .cache/corpus (run first unless
// --fetch=false). For every file it:
//
//  1. loads it (importer.Load);
//  2. runs its inference form (remap.ToInference, graph/ops) on generated
//     inputs and compares every output with ONNX Runtime's on the original
//     file (relative to the output's largest magnitude, tolerance 1e-4);
//  3. trains two SGD steps at batch 4 (train.Trainer: cross-entropy for a
//     classifier, else MSE against zeros);
//  4. writes the trained model (remap.ToInference, export.WriteFile) and has
//     ONNX Runtime run it.
//
// A file passes when every step does; otherwise the first error is
// reported, and the verdict is "unsupported" when it names ops the engine
// lacks. ONNX Runtime is the library scripts/setup.sh installs.
//
// Exit status: 0 when the table was written, whatever the files gave (with
// --check: 1 when a file neither passes nor names an unsupported op and is
// not in tools/compat/known_failures.tsv); 1 when no file could be read or
// the table not written; 2 for bad flags.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("compat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		rootFlag  = fs.String("root", "", "repository root (default: found from the working directory)")
		realworld = fs.String("realworld", "", "folder of the real-world files with manifest.tsv (default ROOT/../shared/realworld)")
		corpus    = fs.String("corpus", "", "folder of the fetched corpus (default ROOT/.cache/corpus)")
		fetch     = fs.Bool("fetch", true, "run scripts/fetch-corpus.sh first")
		out       = fs.String("o", "docs/compatibility.md", "markdown file to write, relative to ROOT (\"\" for none; not written with --only)")
		asJSON    = fs.Bool("json", false, "print the results as JSON on stdout")
		only      = fs.String("only", "", "check only files whose name contains one of these comma-separated strings")
		timeout   = fs.Duration("timeout", 3*time.Minute, "time limit per file")
		strict    = fs.Bool("check", false, "exit 1 when a file neither passes nor names an unsupported op and is not a known failure")
	)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "compat: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	root := *rootFlag
	if root == "" {
		var err error
		if root, err = findRoot(); err != nil {
			fmt.Fprintln(stderr, "compat:", err)
			return 1
		}
	}
	if *fetch {
		cmd := exec.Command("bash", filepath.Join(root, "scripts", "fetch-corpus.sh"))
		if *corpus != "" {
			cmd.Env = append(os.Environ(), "ONNXTUNE_CORPUS_DIR="+*corpus)
		}
		cmd.Stdout, cmd.Stderr = io.Discard, stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(stderr, "compat: scripts/fetch-corpus.sh: %v (the corpus files it lacks are left out)\n", err)
		}
	}
	sets, notes := Sets(root, *realworld, *corpus)
	for _, n := range notes {
		fmt.Fprintln(stderr, "compat:", n)
	}
	var entries []Entry
	for _, s := range sets {
		for _, e := range s {
			if *only == "" || matches(e.File, *only) {
				entries = append(entries, e)
			}
		}
	}
	if len(entries) == 0 {
		fmt.Fprintln(stderr, "compat: no files to check")
		return 1
	}
	known, err := KnownFailures()
	if err != nil {
		fmt.Fprintln(stderr, "compat:", err)
		return 1
	}
	tmp, err := os.MkdirTemp("", "compat-")
	if err != nil {
		fmt.Fprintln(stderr, "compat:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	var results []Result
	for i, e := range entries {
		r := Check(e, Options{Timeout: *timeout, TempDir: tmp})
		results = append(results, r)
		line := r.Verdict
		if r.FirstError != "" {
			line += ": " + r.FirstError
		}
		fmt.Fprintf(stderr, "[%d/%d] %s (%.1fs) %s\n", i+1, len(entries), e.File, r.Seconds, line)
	}
	sum := Summarize(results, known)
	fmt.Fprintln(stderr, sum.Line())
	broken := 0
	for _, r := range results {
		if ok, msg, note := Invariant(r, known); !ok {
			broken++
			fmt.Fprintln(stderr, "compat: invariant:", msg)
		} else if note != "" && r.Verdict == "pass" {
			fmt.Fprintln(stderr, "compat:", note)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Summary Summary  `json:"summary"`
			Results []Result `json:"results"`
		}{sum, results}); err != nil {
			fmt.Fprintln(stderr, "compat:", err)
			return 1
		}
	}
	if *out != "" && *only == "" {
		path := *out
		if !filepath.IsAbs(path) {
			path = filepath.Join(root, path)
		}
		if err := os.WriteFile(path, []byte(Markdown(results, sum, known, notes)), 0o644); err != nil {
			fmt.Fprintln(stderr, "compat:", err)
			return 1
		}
		fmt.Fprintln(stderr, "compat: wrote", path)
	}
	if *strict && broken > 0 {
		return 1
	}
	return 0
}

func matches(name, only string) bool {
	for _, s := range strings.Split(only, ",") {
		if s = strings.TrimSpace(s); s != "" && strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// findRoot returns the nearest enclosing folder of the working directory
// whose go.mod is this module's.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/onnxtune/onnxtune\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no enclosing folder has the go.mod of github.com/onnxtune/onnxtune; give --root")
		}
		dir = parent
	}
}

// Sets lists the files of the real-world set and of the corpus, each in
// manifest order. A set whose folder or files are missing is left out (the
// corpus keeps the files that are there), with a note saying why.
func Sets(root, realworld, corpus string) (sets [][]Entry, notes []string) {
	if realworld == "" {
		realworld = filepath.Join(root, "..", "shared", "realworld")
	}
	if corpus == "" {
		corpus = filepath.Join(root, ".cache", "corpus")
	}
	rows, err := readTSV(filepath.Join(realworld, "manifest.tsv"))
	if err != nil {
		notes = append(notes, fmt.Sprintf("real-world set left out: %v", err))
	} else {
		var s []Entry
		for _, r := range rows {
			e := Entry{File: r["file"], Path: filepath.Join(realworld, r["file"]), Set: "realworld", Source: r["repo"]}
			if _, err := os.Stat(e.Path); err != nil {
				notes = append(notes, fmt.Sprintf("real-world file left out: %v", err))
				continue
			}
			s = append(s, e)
		}
		sets = append(sets, s)
	}
	rows, err = readTSV(filepath.Join(root, "models", "corpus", "manifest.tsv"))
	if err != nil {
		notes = append(notes, fmt.Sprintf("corpus left out: %v", err))
		return sets, notes
	}
	var s []Entry
	missing := 0
	for _, r := range rows {
		if !strings.HasSuffix(r["file"], ".onnx") {
			continue // PyTorch's test data for a model, read beside it
		}
		e := Entry{File: r["file"], Path: filepath.Join(corpus, r["file"]), Set: "corpus",
			Source: r["registry"] + " " + r["package"] + " " + r["version"]}
		if _, err := os.Stat(e.Path); err != nil {
			missing++
			continue
		}
		s = append(s, e)
	}
	if missing > 0 {
		notes = append(notes, fmt.Sprintf("%d of %d corpus files are not in %s (run scripts/fetch-corpus.sh)", missing, len(rows), corpus))
	}
	if len(s) > 0 {
		sets = append(sets, s)
	}
	return sets, notes
}

// readTSV reads a tab-separated file whose first line names the columns.
func readTSV(path string) ([]map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) < 1 {
		return nil, fmt.Errorf("%s: empty", path)
	}
	cols := strings.Split(lines[0], "\t")
	var rows []map[string]string
	for i, l := range lines[1:] {
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Split(l, "\t")
		if len(f) != len(cols) {
			return nil, fmt.Errorf("%s:%d: %d fields, the header has %d", path, i+2, len(f), len(cols))
		}
		r := make(map[string]string, len(cols))
		for j, c := range cols {
			r[c] = f[j]
		}
		rows = append(rows, r)
	}
	return rows, nil
}
