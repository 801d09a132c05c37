package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// newCommand returns the flag set of the subcommand `shadowproxy <name>`. Its usage, printed
// by --help, is the synopsis, the flags, then whatever more prints.
func newCommand(name, synopsis string, more func(io.Writer)) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: shadowproxy %s\n", synopsis)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprint(w, "\nflags:\n")
			fs.PrintDefaults()
		}
		if more != nil {
			more(w)
		}
	}
	return fs
}

// parseArgs parses a subcommand's arguments: flags, then one operand when operand names it
// (as "FILE|-"), none when it is empty. ok is false when the command must stop with code: 0
// after -h or --help (the usage printed on stdout), 2 after a usage error (one line on stderr).
func parseArgs(fs *flag.FlagSet, args []string, operand string, stdout, stderr io.Writer) (code int, ok bool) {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fs.Usage()
		return 0, false
	case err != nil:
		return usageError(stderr, fs.Name(), err.Error()), false
	case operand == "" && fs.NArg() > 0:
		return usageError(stderr, fs.Name(), fmt.Sprintf("unexpected arguments %q", fs.Args())), false
	case operand != "" && fs.NArg() != 1:
		return usageError(stderr, fs.Name(), "expects one "+operand), false
	}
	return 0, true
}

// usageError prints one line naming the problem and where the usage is, and returns exit code 2.
func usageError(stderr io.Writer, command, problem string) int {
	fmt.Fprintf(stderr, "shadowproxy %s: %s (see shadowproxy %s --help)\n", command, problem, command)
	return 2
}
