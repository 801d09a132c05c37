package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/replay"
	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/store"
)

// replayCommand implements `shadowproxy replay`: exit 0 when every answer matched (noise
// allowed), 1 when any diverged or failed, 2 on a usage or read error.
func replayCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newCommand("replay", "replay [--database-url URL] [--quiet] FILE|-", func(w io.Writer) {
		fmt.Fprint(w, "\nFILE holds capture records (one JSON object a line) or diff exemplars from /admin/diffs/{id};\neach is scored again and compared in the dialect it records (ninja when it records none).\nExits 0 when every answer matched, 1 when any diverged or failed, 2 on a usage or read error\nor when no record was of a route replay scores (v2-score).\n")
	})
	// The default is read after parsing: a flag default is printed by the usage, and this
	// one holds a password.
	dbURL := fs.String("database-url", "", "the database to score against (default $DATABASE_URL)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if code, ok := parseArgs(fs, args, "FILE|-", stdout, stderr); !ok {
		return code
	}
	if *dbURL == "" {
		*dbURL = os.Getenv("DATABASE_URL")
	}
	if *dbURL == "" {
		return usageError(stderr, fs.Name(), "no database: set DATABASE_URL or --database-url")
	}
	settings, err := scoring.SettingsFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "shadowproxy: %v\n", err)
		return 2
	}
	in, err := openInput(fs.Arg(0), stdin)
	if err != nil {
		fmt.Fprintf(stderr, "shadowproxy: %v\n", err)
		return 2
	}
	defer in.Close()
	ctx := context.Background()
	cfg, err := store.ParsePoolConfig(*dbURL)
	if err != nil {
		fmt.Fprintf(stderr, "shadowproxy: %v\n", err)
		return 2
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "shadowproxy: database: %v\n", err)
		return 2
	}
	defer pool.Close()
	var progress io.Writer = stderr
	if *quiet {
		progress = nil
	}
	scorer := &scoring.Scorer{DB: store.Reader{Q: pool}, Settings: settings, Cache: credential.NewCache(10_000)}
	sum, err := replay.Run(ctx, in, pool, scorer, progress)
	if err != nil {
		fmt.Fprintf(stderr, "shadowproxy: %v\n", err)
		return 2
	}
	sum.WriteTable(stdout)
	switch {
	case sum.Diverged():
		return 1
	case sum.Total == 0:
		// Nothing was checked: an exit 0 would read as "verified".
		fmt.Fprintf(stderr, "shadowproxy: nothing replayed: replay scores %s records only (%d other records skipped)\n", v2.ScoreName, sum.Skipped)
		return 2
	}
	return 0
}

func openInput(name string, stdin io.Reader) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(stdin), nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open replay input: %w", err)
	}
	return f, nil
}
