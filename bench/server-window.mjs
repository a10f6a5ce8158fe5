// What both servers of bench/yjs-sync.ts report about their own main thread over a measurement
// window (plain JavaScript, so that the reference, run by bare Node, can import it too).
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

// The histogram records whole timer intervals: the delay is what exceeds the resolution.
const RESOLUTION_MS = 5;

/** Event-loop delay and garbage collection pauses, from now or from the last reset(). */
export function serverWindow() {
	const loop = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
	loop.enable();
	/** @param {number} ns */
	const excess = (ns) => Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 100) / 100);
	let gc = { ms: 0, max: 0 };
	new PerformanceObserver((list) => {
		for (const e of list.getEntries()) gc = { ms: gc.ms + e.duration, max: Math.max(gc.max, e.duration) };
	}).observe({ entryTypes: ['gc'] });
	return {
		reset() {
			loop.reset();
			gc = { ms: 0, max: 0 };
		},
		stats() {
			return {
				loopP50: excess(loop.percentile(50)),
				loopP99: excess(loop.percentile(99)),
				loopMax: excess(loop.max),
				gcMs: Math.round(gc.ms),
				gcMax: Math.round(gc.max * 10) / 10
			};
		}
	};
}
