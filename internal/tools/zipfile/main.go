// Command zipfile writes a zip archive of the named files (make lambda uses it, so building
// the Lambda package needs no zip tool).
package main

import (
	"archive/zip"
	"fmt"
	"io"
	"os"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: zipfile ARCHIVE FILE...")
		os.Exit(2)
	}
	if err := write(os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "zipfile:", err)
		os.Exit(1)
	}
}

func write(archive string, files []string) error {
	out, err := os.Create(archive)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(out)
	for _, name := range files {
		st, err := os.Stat(name)
		if err != nil {
			return err
		}
		hdr, err := zip.FileInfoHeader(st)
		if err != nil {
			return err
		}
		hdr.Method = zip.Deflate
		w, err := zw.CreateHeader(hdr) // keeps the executable bit Lambda needs on bootstrap
		if err != nil {
			return err
		}
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		_, err = io.Copy(w, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return out.Close()
}
