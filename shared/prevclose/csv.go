package prevclose

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/finfeed/finfeed/shared/bar"
)

// ReadCSV reads closes in the file form `symbol,date,close` with a header line. Every bad row is reported, with
// its line number, in one joined error.
func ReadCSV(r io.Reader) ([]Close, error) {
	var closes []Close
	err := ScanCSV(r, func(c Close) error {
		closes = append(closes, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return closes, nil
}

// ScanCSV reads the file form row by row, handing each valid close to fn, so a file of any size is read in
// constant memory. Every bad row is reported, with its line number, in one joined error at the end; an error
// from fn stops the scan and is returned as it is.
func ScanCSV(r io.Reader, fn func(Close) error) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return errors.New("prev-close csv: empty, want header symbol,date,close")
	}
	if err != nil {
		return fmt.Errorf("prev-close csv: %w", err)
	}
	if len(header) != 3 || !strings.EqualFold(strings.TrimPrefix(header[0], "\ufeff"), "symbol") ||
		!strings.EqualFold(header[1], "date") || !strings.EqualFold(header[2], "close") {
		return fmt.Errorf("prev-close csv: header is %q, want symbol,date,close", strings.Join(header, ","))
	}
	var errs []error
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				errs = append(errs, fmt.Errorf("line %d: %w", pe.Line, pe.Err))
				continue
			}
			return fmt.Errorf("prev-close csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != 3 {
			errs = append(errs, fmt.Errorf("line %d: want 3 fields symbol,date,close, got %d", line, len(rec)))
			continue
		}
		d, err := bar.ParseDate(strings.TrimSpace(rec[1]))
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", line, err))
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[2]), 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: close %q is not a number", line, rec[2]))
			continue
		}
		c := Close{Symbol: strings.Clone(strings.TrimSpace(rec[0])), Date: d, Close: v}
		if err := c.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", line, err))
			continue
		}
		if len(errs) == 0 {
			if err := fn(c); err != nil {
				return err
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("prev-close csv: %w", errors.Join(errs...))
	}
	return nil
}

// LoadCSVFile reads a CSV file of closes into a Memory store.
func LoadCSVFile(path string) (*Memory, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open prev-close file: %w", err)
	}
	defer f.Close()
	closes, err := ReadCSV(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return NewMemory(closes...)
}

// WriteCSV writes closes in the file form.
func WriteCSV(w io.Writer, closes []Close) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"symbol", "date", "close"}); err != nil {
		return err
	}
	for _, c := range closes {
		if err := cw.Write([]string{c.Symbol, c.Date.String(), strconv.FormatFloat(c.Close, 'f', -1, 64)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
