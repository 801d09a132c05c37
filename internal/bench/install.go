package bench

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// installBinaries replaces the binaries o names with copies under WorkDir/installed, written
// 32 KB at a time as an image layer's extraction writes them (io.Copy's buffer), and runs those.
//
// A binary's file-backed RSS depends on how its file sits in the page cache (Linux 6.18, ext4):
// the kernel maps a cached folio whole when a program touches it, and a file written in large
// writes (the linker's output, or a copy made 1 MB at a time) is cached in large folios. Started
// from there, shadowproxy has about 29 MB of its file resident; from a copy written in 32 KB
// writes, or from the same file read back from disk once the page cache dropped it (a deployment,
// a restart), about 21 MB. The memory and start-up figures are the deployed binary's, not the
// build directory's.
func installBinaries(o *Options) error {
	dir := filepath.Join(o.WorkDir, "installed")
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("install binaries: %w", err)
	}
	for i, path := range []*string{&o.Binary, &o.Baseline, &o.LambdaBinary, &o.BaselineLambda} {
		if *path == "" {
			continue
		}
		if _, err := os.Stat(*path); err != nil {
			continue // a binary a mode does not use may be missing; the mode that needs it says so
		}
		// The directory's and the file's names are kept: reports name a binary by both.
		to := filepath.Join(dir, strconv.Itoa(i), filepath.Base(filepath.Dir(*path)), filepath.Base(*path))
		if err := copyExecutable(*path, to); err != nil {
			return fmt.Errorf("install %s: %w", *path, err)
		}
		*path = to
	}
	return nil
}

// extractionWrite is the size of the writes an installed binary is written in: io.Copy's buffer,
// with which an image extraction written in Go (containerd) writes a layer's files.
const extractionWrite = 32 << 10

// copyExecutable writes from's bytes to a new executable file to, in plain writes.
func copyExecutable(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	// Neither side may take over the copy (copy_file_range, splice): the bytes are written.
	if _, err := io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, make([]byte, extractionWrite)); err != nil {
		_ = dst.Close()
		return err
	}
	return dst.Close()
}
