/*
 * hist.h - a log-linear latency histogram: 128 sub-buckets per power of
 * two (under 1 % error), values recorded in nanoseconds, read in µs.
 */
#ifndef CHATD_BENCH_HIST_H
#define CHATD_BENCH_HIST_H

#include <stdint.h>

#define H_SUB_BITS 7
#define H_SUB (1u << H_SUB_BITS)
#define H_BUCKETS ((64 - H_SUB_BITS + 1) * H_SUB)

struct hist {
	uint64_t n, max, sum;
	uint64_t b[H_BUCKETS];
};

void hist_add(struct hist *h, uint64_t v);
/* Value at percentile p (0..100) in µs; 0 when empty. */
double hist_pct_us(const struct hist *h, double p);
double hist_mean_us(const struct hist *h);

#endif
