// /healthz latency as a client sees it, for tests/e2e/render.spec.ts and bench/render.ts.
import { Worker } from 'node:worker_threads';

/**
 * Polls /healthz every `everyMs` (one request at a time) until stopped; reports the slowest answer. The
 * poller runs in its own thread, so that the caller's own work (reading PDFs) does not delay what it measures.
 */
export function watchHealth(base: string, everyMs = 20) {
	const poller = new Worker(
		`const { parentPort, workerData } = require('node:worker_threads');
		let running = true;
		const latencies = [];
		let failures = 0;
		parentPort.on('message', () => { running = false; });
		(async () => {
			while (running) {
				const started = performance.now();
				try {
					const response = await fetch(workerData.base + '/healthz');
					await response.arrayBuffer();
					if (response.status !== 200) failures++;
				} catch {
					failures++;
				}
				latencies.push(performance.now() - started);
				await new Promise((r) => setTimeout(r, Math.max(0, workerData.everyMs - (performance.now() - started))));
			}
			parentPort.postMessage({ latencies, failures });
		})();`,
		{ eval: true, workerData: { base, everyMs } }
	);
	return () =>
		new Promise<{ max: number; median: number; count: number; failures: number }>((resolveWatch) => {
			poller.once('message', ({ latencies, failures }: { latencies: number[]; failures: number }) => {
				void poller.terminate();
				const sorted = [...latencies].sort((a, b) => a - b);
				resolveWatch({ max: sorted[sorted.length - 1], median: sorted[sorted.length >> 1], count: sorted.length, failures });
			});
			poller.postMessage('stop');
		});
}
