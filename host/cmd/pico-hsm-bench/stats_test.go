package main

import (
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var d []time.Duration
		for _, x := range v {
			d = append(d, time.Duration(x)*time.Microsecond)
		}
		return d
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100..1, unsorted on purpose
	}
	tests := []struct {
		name                      string
		in                        []time.Duration
		median, p90, p99, max, mn time.Duration
	}{
		{"one sample", ms(7), 7, 7, 7, 7, 7},
		{"two samples", ms(10, 20), 10, 20, 20, 20, 15},
		{"1..100", ms(hundred...), 50, 90, 99, 100, 50},
		{"outlier", ms(1, 1, 1, 1, 1, 1, 1, 1, 1, 991), 1, 1, 991, 991, 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := summarize(tc.in)
			want := summary{N: len(tc.in), Median: tc.median * time.Microsecond, P90: tc.p90 * time.Microsecond,
				P99: tc.p99 * time.Microsecond, Max: tc.max * time.Microsecond, Mean: tc.mn * time.Microsecond}
			if tc.name == "1..100" {
				want.Mean = 50500 * time.Nanosecond
			}
			s.Min = 0
			if s != want {
				t.Fatalf("summarize = %+v, want %+v", s, want)
			}
		})
	}
}
