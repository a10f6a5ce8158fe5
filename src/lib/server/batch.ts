import type { Db } from './db/index.ts';

/**
 * Work asked for in the same turn of the event loop, or while a batch runs, goes together in one
 * call: idle, a batch starts once the current turn's I/O is handled (setImmediate), with whatever
 * else that turn asked; busy, the next call carries everything that arrived meanwhile. A storm
 * (hundreds of live connections opening after a restart, each with a session to read and a read to
 * audit, parsed by the dozen in each turn) then costs a few statements and one pool connection at a
 * time, not one of each per item; a lone item waits for the end of its turn, not for a timer.
 *
 * `run` answers for each item, in order; if it throws, every item of that batch gets the error.
 */
export function batched<I, O>(run: (items: I[]) => Promise<O[]>, max = 500) {
	const waiting: { item: I; resolve: (out: O) => void; reject: (error: unknown) => void }[] = [];
	let running: Promise<void> | null = null;

	function next(): void {
		if (running || waiting.length === 0) return;
		// Set at once, so that drain() waits for a batch that has not started yet.
		running = new Promise<void>((resolve) => setImmediate(resolve))
			.then(() => {
				const batch = waiting.splice(0, max);
				return new Promise<O[]>((resolve) => resolve(run(batch.map((w) => w.item)))).then(
					(out) => batch.forEach((w, i) => w.resolve(out[i])),
					(error: unknown) => batch.forEach((w) => w.reject(error))
				);
			})
			.finally(() => {
				running = null;
				next();
			});
	}

	return {
		run(item: I): Promise<O> {
			return new Promise<O>((resolve, reject) => {
				waiting.push({ item, resolve, reject });
				next();
			});
		},
		/** Resolves once everything asked for so far is done (or has failed). */
		async drain(): Promise<void> {
			while (running) await running;
		}
	};
}

/**
 * `batched` with one queue per database handle (tests give each file its own database): `run` gets
 * the handle and the items that arrived together for it.
 */
export function batchedPerDb<I, O>(run: (db: Db, items: I[]) => Promise<O[]>, max?: number) {
	const queues = new WeakMap<Db, ReturnType<typeof batched<I, O>>>();
	return (db: Db, item: I): Promise<O> => {
		let queue = queues.get(db);
		if (!queue) queues.set(db, (queue = batched((items: I[]) => run(db, items), max)));
		return queue.run(item);
	};
}
