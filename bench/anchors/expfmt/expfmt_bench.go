// expfmt_bench: the Go anchor for bench/parser_bench. Times prometheus/common expfmt.TextParser
// (TextToMetricFamilies, the text parser Go clients and many exporters' tests use) on page files written by
// bench_make_pages, and prints one JSON line per page:
//   {"page":"dcgm_8gpu","bytes":67701,"samples":208,"iterations":900,"ns_per_op":...,"bytes_per_s":...,"samples_per_s":...}
// Usage: expfmt_bench [-seconds 1.5] FILE.prom...
// Build offline (Debian golang-1.19-go + golang-github-prometheus-common-dev), GOPATH mode: see bench/run.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
)

type result struct {
	Page        string  `json:"page"`
	Bytes       int     `json:"bytes"`
	Samples     int     `json:"samples"`
	Iterations  int     `json:"iterations"`
	NsPerOp     float64 `json:"ns_per_op"`
	BytesPerS   float64 `json:"bytes_per_s"`
	SamplesPerS float64 `json:"samples_per_s"`
}

// parseOnce parses the whole page with a fresh TextParser (what a caller does per scrape) and returns the
// number of samples.
func parseOnce(page []byte) (int, error) {
	var p expfmt.TextParser
	families, err := p.TextToMetricFamilies(bytes.NewReader(page))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range families {
		n += len(f.GetMetric())
	}
	return n, nil
}

func main() {
	seconds := flag.Float64("seconds", 1.5, "target timing per page")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: expfmt_bench [-seconds S] FILE.prom...")
		os.Exit(2)
	}
	enc := json.NewEncoder(os.Stdout)
	for _, path := range flag.Args() {
		page, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "expfmt_bench:", err)
			os.Exit(1)
		}
		// Warm-up and calibration run.
		start := time.Now()
		samples, err := parseOnce(page)
		if err != nil {
			fmt.Fprintf(os.Stderr, "expfmt_bench: %s: %v\n", path, err)
			os.Exit(1)
		}
		one := time.Since(start).Seconds()
		iters := int(*seconds / one)
		if iters < 3 {
			iters = 3
		}
		start = time.Now()
		for i := 0; i < iters; i++ {
			if _, err := parseOnce(page); err != nil {
				fmt.Fprintf(os.Stderr, "expfmt_bench: %s: %v\n", path, err)
				os.Exit(1)
			}
		}
		elapsed := time.Since(start).Seconds()
		name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		_ = enc.Encode(result{
			Page:        name,
			Bytes:       len(page),
			Samples:     samples,
			Iterations:  iters,
			NsPerOp:     elapsed / float64(iters) * 1e9,
			BytesPerS:   float64(len(page)) * float64(iters) / elapsed,
			SamplesPerS: float64(samples) * float64(iters) / elapsed,
		})
	}
}
