package diff

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"
)

// MinuteChart draws the last hour of shadow comparisons, minute by minute, as an SVG with
// axes: grey bars are the comparisons of each minute, red bars the divergent ones, on one
// count scale (labelled on the left); the time axis is labelled every ten minutes (UTC). Each
// bar's tooltip gives the minute, the counts and the rate.
func MinuteChart(id string, minutes []Minute, now time.Time) template.HTML {
	const w, h, left, right, top, bottom = 640, 200, 48, 12, 14, 34
	plotW, plotH := float64(w-left-right), float64(h-top-bottom)
	end := now.UTC().Truncate(time.Minute)
	start := end.Add(-59 * time.Minute)
	compared := map[time.Time]int64{}
	divergent := map[time.Time]int64{}
	peak := int64(1)
	for _, m := range minutes {
		at := m.At.UTC()
		for o, n := range m.Outcomes {
			if o.Compared() {
				compared[at] += n
			}
		}
		divergent[at] = m.Outcomes[OutcomeDivergent]
		peak = max(peak, compared[at])
	}
	scale := niceCeil(peak)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="%s" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="shadow comparisons and divergences per minute, last hour">`, id, w, h, w, h)
	// y axis: 0, half and full scale, with grid lines
	for _, frac := range []float64{0, 0.5, 1} {
		y := float64(top) + plotH*(1-frac)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`, left, y, w-right, y)
		fmt.Fprintf(&b, `<text class="ytick" x="%d" y="%.1f" font-size="11" text-anchor="end" fill="#555">%s</text>`, left-6, y+4, formatCount(float64(scale)*frac))
	}
	fmt.Fprintf(&b, `<text x="12" y="%.1f" font-size="11" fill="#555" transform="rotate(-90 12 %.1f)" text-anchor="middle">runs per minute</text>`, float64(top)+plotH/2, float64(top)+plotH/2)
	bw := plotW / 60
	for i := range 60 {
		at := start.Add(time.Duration(i) * time.Minute)
		x := float64(left) + float64(i)*bw
		if c := compared[at]; c > 0 {
			ch := plotH * float64(c) / float64(scale)
			d := divergent[at]
			fmt.Fprintf(&b, `<rect class="compared" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#9db4c8"><title>%s UTC: %d compared, %d divergent (%.2f%%)</title></rect>`,
				x, float64(top)+plotH-ch, bw-1, ch, at.Format("15:04"), c, d, 100*float64(d)/float64(c))
			if d > 0 {
				dh := math.Max(2, plotH*float64(d)/float64(scale))
				fmt.Fprintf(&b, `<rect class="divergent" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#b00020"/>`, x, float64(top)+plotH-dh, bw-1, dh)
			}
		}
		if at.Minute()%10 == 0 {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#888"/>`, x, float64(top)+plotH, x, float64(top)+plotH+4)
			fmt.Fprintf(&b, `<text class="xtick" x="%.1f" y="%.1f" font-size="11" text-anchor="middle" fill="#555">%s</text>`, x, float64(top)+plotH+16, at.Format("15:04"))
		}
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#888"/>`, left, float64(top)+plotH, w-right, float64(top)+plotH)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%.1f" stroke="#888"/>`, left, top, left, float64(top)+plotH)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end" fill="#555">time (UTC), last 60 minutes; <tspan fill="#6d8aa5">■ compared</tspan> <tspan fill="#b00020">■ divergent</tspan></text>`, w-right, h-4)
	if len(compared) == 0 {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="13" text-anchor="middle" fill="#777">no shadow comparison in the last hour</text>`, float64(left)+plotW/2, float64(top)+plotH/2)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// niceCeil rounds n up to 1, 2 or 5 times a power of ten, for a readable scale.
func niceCeil(n int64) int64 {
	p := int64(1)
	for {
		for _, m := range []int64{1, 2, 5} {
			if m*p >= n {
				return m * p
			}
		}
		p *= 10
	}
}

func formatCount(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}
