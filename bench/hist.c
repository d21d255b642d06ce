/*
 * hist.c - the latency histogram: bucket of a value, value of a bucket,
 * percentiles and the mean.
 */
#include "hist.h"

static unsigned hist_index(uint64_t v)
{
	if (v < H_SUB)
		return (unsigned)v;
	unsigned msb = 63u - (unsigned)__builtin_clzll(v);
	unsigned shift = msb - H_SUB_BITS;
	return (shift + 1) * H_SUB + (unsigned)((v >> shift) - H_SUB);
}

/* The middle of bucket i. */
static uint64_t hist_value(unsigned i)
{
	if (i < H_SUB)
		return i;
	unsigned shift = i / H_SUB - 1;
	uint64_t low = (uint64_t)(H_SUB + i % H_SUB) << shift;
	return low + ((1ull << shift) >> 1);
}

void hist_add(struct hist *h, uint64_t v)
{
	h->b[hist_index(v)]++;
	h->n++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

double hist_pct_us(const struct hist *h, double p)
{
	if (h->n == 0)
		return 0;
	double t = p / 100.0 * (double)h->n;
	uint64_t target = (uint64_t)t, acc = 0;
	if ((double)target < t)
		target++;
	if (target == 0)
		target = 1;
	for (unsigned i = 0; i < H_BUCKETS; i++) {
		acc += h->b[i];
		if (acc >= target) {
			uint64_t v = hist_value(i);
			return (double)(v > h->max ? h->max : v) / 1e3;
		}
	}
	return (double)h->max / 1e3;
}

double hist_mean_us(const struct hist *h)
{
	return h->n ? (double)h->sum / (double)h->n / 1e3 : 0;
}
