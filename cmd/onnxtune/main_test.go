package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"onnxtune": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI scripts in testdata/script. $MODELS is the
// folder of sample models.
func TestScripts(t *testing.T) {
	models, err := filepath.Abs(filepath.Join("..", "..", "models"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "script"),
		Setup: func(env *testscript.Env) error {
			env.Setenv("MODELS", models)
			// mnist:train and mnist:test read the GoMNIST module from the
			// module cache, which the scripts' fake HOME hides.
			out, err := exec.Command("go", "env", "GOMODCACHE").Output()
			if err != nil {
				return err
			}
			env.Setenv("GOMODCACHE", strings.TrimSpace(string(out)))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":     cmdExits,
			"truncate":  cmdTruncate,
			"randbytes": cmdRandBytes,
			"jsonkeys":  cmdJSONKeys,
			"tofull":    cmdToFull,
			// output_test.go
			"externalize": cmdExternalize,
			"mkfifo":      cmdMkfifo,
			"isfifo":      cmdIsFIFO,
			"mkdev":       cmdMkdev,
			"isdev":       cmdIsDev,
		},
	})
}

// cmdExits runs a program and checks its exit code: exits CODE PROG [ARGS...].
// Its stdout and stderr are kept for the stdout and stderr commands.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// cmdTruncate writes the first N bytes of SRC to DST: truncate SRC N DST.
func cmdTruncate(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: truncate SRC N DST")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	if n > len(b) {
		ts.Fatalf("%s has only %d bytes", args[0], len(b))
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[2]), b[:n], 0o644))
}

// cmdRandBytes writes N pseudo-random bytes (fixed seed) to DST: randbytes
// SEED N DST.
func cmdRandBytes(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: randbytes SEED N DST")
	}
	seed, err := strconv.ParseUint(args[0], 10, 64)
	ts.Check(err)
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	r := rand.New(rand.NewPCG(seed, 0))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[2]), b, 0o644))
}

// cmdJSONKeys checks that the last stdout is one JSON object with exactly
// the keys given: jsonkeys KEY...
func cmdJSONKeys(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("usage: jsonkeys KEY...")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(ts.ReadFile("stdout")), &obj); err != nil {
		ts.Fatalf("stdout is not a JSON object: %v", err)
	}
	var got []string
	for k := range obj {
		got = append(got, k)
	}
	sort.Strings(got)
	want := slices.Clone(args)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		ts.Fatalf("JSON keys %q, want %q", got, want)
	}
}

// cmdToFull runs a program with its standard output on /dev/full (every
// write fails: no space left) and checks its exit code; its standard error
// goes to the file stderr.full: tofull CODE PROG [ARGS...].
func cmdToFull(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: tofull CODE PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		ts.Fatalf("no /dev/full: %v", err)
	}
	defer full.Close()
	// The script's PATH holds the commands of TestMain.
	prog, err := lookPathIn(args[1], ts.Getenv("PATH"))
	ts.Check(err)
	var stderr strings.Builder
	cmd := exec.Command(prog, args[2:]...)
	cmd.Dir = ts.Getenv("WORK")
	cmd.Env = append(os.Environ(), "PATH="+ts.Getenv("PATH"), "HOME="+ts.Getenv("HOME"))
	cmd.Stdout, cmd.Stderr = full, &stderr
	got := 0
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	ts.Check(os.WriteFile(ts.MkAbs("stderr.full"), []byte(stderr.String()), 0o644))
	if got != want {
		ts.Fatalf("%s exited with %d, want %d; stderr: %s", args[1], got, want, stderr.String())
	}
}

// lookPathIn finds an executable named name in the folders of path.
func lookPathIn(name, path string) (string, error) {
	for _, d := range filepath.SplitList(path) {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in %s", name, path)
}
