package main

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// summary holds the statistics the benchmark prints, over one run of round trips.
type summary struct {
	N                          int
	Median, P90, P99, Max, Min time.Duration
	Mean                       time.Duration
}

// summarize computes nearest-rank percentiles (the smallest sample with at least p% of the
// samples at or below it) and the mean. samples must not be empty; it is not modified.
func summarize(samples []time.Duration) summary {
	s := slices.Clone(samples)
	slices.Sort(s)
	var total time.Duration
	for _, d := range s {
		total += d
	}
	return summary{
		N:      len(s),
		Median: rank(s, 50),
		P90:    rank(s, 90),
		P99:    rank(s, 99),
		Max:    s[len(s)-1],
		Min:    s[0],
		Mean:   total / time.Duration(len(s)),
	}
}

// rank returns the nearest-rank p-th percentile of sorted s.
func rank(s []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(i, 0)]
}

func us(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Microsecond)) }

func (s summary) String() string {
	return fmt.Sprintf("median %s  p90 %s  p99 %s  max %s  mean %s  (min %s) µs",
		us(s.Median), us(s.P90), us(s.P99), us(s.Max), us(s.Mean), us(s.Min))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

// Millis renders the summary of slow operations: median, p90, min, max and mean in ms.
func (s summary) Millis() string {
	return fmt.Sprintf("median %s  p90 %s  min %s  max %s  mean %s ms (n %d)",
		ms(s.Median), ms(s.P90), ms(s.Min), ms(s.Max), ms(s.Mean), s.N)
}
