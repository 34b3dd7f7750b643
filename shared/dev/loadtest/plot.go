package loadtest

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Point is one run of a sweep over symbol counts.
type Point struct {
	Symbols int
	Result  Result
}

// PlotBurstLatency draws burst latency (p50, p99, max) against the symbol count as a PNG; title says what was
// measured (settings, machine).
func PlotBurstLatency(w io.Writer, title string, points []Point) error {
	if len(points) == 0 {
		return errors.New("plot: no points")
	}
	points = slices.Clone(points)
	slices.SortFunc(points, func(a, b Point) int { return a.Symbols - b.Symbols })
	series := func(pick func(Result) float64) plotter.XYs {
		xys := make(plotter.XYs, len(points))
		for i, p := range points {
			xys[i] = plotter.XY{X: float64(p.Symbols), Y: pick(p.Result)}
		}
		return xys
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "symbols (one bar each per minute, written within the burst)"
	p.Y.Label.Text = "latency raw -> enhanced (ms), over every burst"
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	if err := plotutil.AddLinePoints(p,
		"max", series(func(r Result) float64 { return float64(r.Max.Microseconds()) / 1000 }),
		"p99", series(func(r Result) float64 { return float64(r.P99.Microseconds()) / 1000 }),
		"p50", series(func(r Result) float64 { return float64(r.P50.Microseconds()) / 1000 }),
	); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	p.Legend.Top = true
	p.Legend.Left = true
	wt, err := p.WriterTo(8*vg.Inch, 4.5*vg.Inch, "png")
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if _, err := wt.WriteTo(w); err != nil {
		return fmt.Errorf("plot: write png: %w", err)
	}
	return nil
}
