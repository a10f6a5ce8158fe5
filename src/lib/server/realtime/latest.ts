// Broadcasts of "the state now" (who is online, the live RCP state) are computed asynchronously.
// Two computations started close together can finish out of order, and a client then keeps the
// older picture (someone who left still shown online). `latest` runs them one after the other per
// key, and folds every request made while one is waiting into that one: the last broadcast always
// reflects the state after the last change.
import { log } from '../log.ts';

type Entry<T> = { promise: Promise<T>; started: boolean };
const tails = new Map<string, Entry<unknown>>();

export function latest<T>(key: string, run: () => Promise<T>): Promise<T> {
	const tail = tails.get(key) as Entry<T> | undefined;
	// Not started yet: it will read the state after this change too.
	if (tail && !tail.started) return tail.promise;
	const entry: Entry<T> = { promise: undefined as unknown as Promise<T>, started: false };
	const previous = tail ? tail.promise.catch(() => undefined) : Promise.resolve();
	entry.promise = previous
		.then(() => {
			entry.started = true;
			return run();
		})
		.finally(() => {
			if (tails.get(key) === entry) tails.delete(key);
		});
	entry.promise.catch((error) => log('error', 'realtime: broadcast failed', { key, error: String(error) }));
	tails.set(key, entry as Entry<unknown>);
	return entry.promise;
}
