package main

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/onnxtune/onnxtune/internal/testmodels"
)

// cmdExternalize writes a copy of the model SRC to DST whose initializers
// keep their values in external data in DST's folder, as a hostile exporter
// could: externalize SRC DST LOC [LOC...]. Initializer i goes to location
// LOC[i mod n] (recorded as given, so "./w.bin" and "w.bin" are two
// spellings of one file) at offset i MiB plus OFFSET when the environment
// variable EXT_OFFSET is set.
func cmdExternalize(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 {
		ts.Fatalf("usage: externalize SRC DST LOC [LOC...]")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	var base int64
	if s := ts.Getenv("EXT_OFFSET"); s != "" {
		base, err = strconv.ParseInt(s, 10, 64)
		ts.Check(err)
	}
	dst := ts.MkAbs(args[1])
	locs := args[2:]
	i := -1
	out, err := testmodels.ExternalizeBytes(b, filepath.Dir(dst), func(string) (testmodels.Ext, bool) {
		i++
		return testmodels.Ext{Location: locs[i%len(locs)], Offset: base + int64(i)<<20}, true
	})
	ts.Check(err)
	ts.Check(os.WriteFile(dst, out, 0o644))
}

// cmdMkfifo makes a named pipe: mkfifo PATH.
func cmdMkfifo(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: mkfifo PATH")
	}
	ts.Check(syscall.Mkfifo(ts.MkAbs(args[0]), 0o644))
}

// cmdIsFIFO checks that PATH is (or with !, is not) a named pipe: isfifo
// PATH.
func cmdIsFIFO(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: isfifo PATH")
	}
	st, err := os.Lstat(ts.MkAbs(args[0]))
	ts.Check(err)
	if is := st.Mode()&os.ModeNamedPipe != 0; is == neg {
		ts.Fatalf("%s is %v", args[0], st.Mode())
	}
}

// cmdMkdev makes a character device like /dev/null at PATH: mkdev PATH.
// Without the right to make devices it makes PATH a link to /dev/null, which
// a command must refuse as well.
func cmdMkdev(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: mkdev PATH")
	}
	p := ts.MkAbs(args[0])
	if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		if !errors.Is(err, syscall.EPERM) {
			ts.Fatalf("mknod %s: %v", args[0], err)
		}
		ts.Check(os.Symlink("/dev/null", p))
	}
}

// cmdIsDev checks that PATH is (after links) a device: isdev PATH.
func cmdIsDev(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: isdev PATH")
	}
	st, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	if st.Mode()&os.ModeDevice == 0 {
		ts.Fatalf("%s is %v, not a device", args[0], st.Mode())
	}
}
