// Latency figures shared by the realtime benchmarks: samples pooled from several threads, sorted,
// and read as percentiles.
export function percentile(sorted: Float64Array, p: number): number {
	if (sorted.length === 0) return NaN;
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** The samples of several arrays, in one sorted array. */
export function concat(arrays: Float64Array[]): Float64Array {
	const all = new Float64Array(arrays.reduce((n, a) => n + a.length, 0));
	let offset = 0;
	for (const a of arrays) {
		all.set(a, offset);
		offset += a.length;
	}
	return all.sort();
}

/** The median of a few figures (the mean of the middle two for an even count). */
export function median(values: number[]): number {
	if (values.length === 0) return NaN;
	const sorted = [...values].sort((a, b) => a - b);
	const mid = (sorted.length - 1) / 2;
	return (sorted[Math.floor(mid)] + sorted[Math.ceil(mid)]) / 2;
}
