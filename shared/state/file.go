package state

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// File is a Store in a directory (`feed local --data-dir`): <dir>/<topic>/<partition %05d>/<offset %019d>.ckpt,
// each written to a temporary file, synced and renamed into place, so a crash leaves the old checkpoint or the
// new one, never half of one. It keeps the newest Keep checkpoints of each partition.
type File struct {
	dir string
	// Keep is how many checkpoints of a partition stay (older ones are removed after a Put); at least 2, so a
	// malformed newest one has an older one behind it.
	Keep int
}

// DefaultKeep is how many checkpoints per partition a File store keeps.
const DefaultKeep = 4

const ckptExt = ".ckpt"

// NewFile returns a store in dir, creating it if needed.
func NewFile(dir string) (*File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	return &File{dir: dir, Keep: DefaultKeep}, nil
}

func (f *File) partitionDir(topic string, partition int32) string {
	return filepath.Join(f.dir, topic, fmt.Sprintf("%05d", partition))
}

// Put implements Store.
func (f *File) Put(_ context.Context, topic string, partition int32, offset int64, blob []byte) error {
	if err := checkKey(topic, partition, offset); err != nil {
		return err
	}
	dir := f.partitionDir(topic, partition)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("state checkpoint: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("state checkpoint: %w", err)
	}
	_, werr := tmp.Write(blob)
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	name := filepath.Join(dir, fmt.Sprintf("%019d%s", offset, ckptExt))
	if werr == nil {
		werr = os.Rename(tmp.Name(), name)
	}
	if werr != nil {
		return errors.Join(fmt.Errorf("state checkpoint %s: %w", name, werr), removeIfExists(tmp.Name()))
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("state checkpoint %s: %w", name, err)
	}
	return f.prune(dir)
}

// prune removes all but the newest Keep checkpoints in dir.
func (f *File) prune(dir string) error {
	offs, err := listOffsets(dir)
	if err != nil {
		return err
	}
	keep := max(f.Keep, 2)
	var errs []error
	for i := 0; i < len(offs)-keep; i++ {
		errs = append(errs, removeIfExists(filepath.Join(dir, fmt.Sprintf("%019d%s", offs[i], ckptExt))))
	}
	return errors.Join(errs...)
}

// Latest implements Store.
func (f *File) Latest(_ context.Context, topic string, partition int32, atOrBelow int64) (int64, []byte, bool, error) {
	if err := checkKey(topic, partition, 0); err != nil {
		return 0, nil, false, err
	}
	dir := f.partitionDir(topic, partition)
	offs, err := listOffsets(dir)
	if err != nil {
		return 0, nil, false, err
	}
	for i := len(offs) - 1; i >= 0; i-- {
		if offs[i] > atOrBelow {
			continue
		}
		name := filepath.Join(dir, fmt.Sprintf("%019d%s", offs[i], ckptExt))
		b, err := os.ReadFile(name)
		if err != nil {
			return 0, nil, false, fmt.Errorf("state checkpoint: %w", err)
		}
		return offs[i], b, true, nil
	}
	return 0, nil, false, nil
}

// listOffsets returns the offsets of the checkpoints in dir, ascending (file names sort as numbers).
func listOffsets(dir string) ([]int64, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state checkpoints: %w", err)
	}
	var offs []int64
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ckptExt)
		if !ok || len(name) != 19 {
			continue
		}
		o, err := strconv.ParseInt(name, 10, 64)
		if err != nil {
			continue
		}
		offs = append(offs, o)
	}
	return offs, nil
}

func removeIfExists(name string) error {
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("state checkpoint: %w", err)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	serr := d.Sync()
	return errors.Join(serr, d.Close())
}
