// batched (src/lib/server/batch.ts): what is asked in one turn of the event loop goes together, and
// what arrives while a batch runs goes together in the next one.
import { describe, expect, test } from 'vitest';
import { batched, batchedPerDb } from '../../src/lib/server/batch.ts';
import type { Db } from '../../src/lib/server/db/index.ts';

describe('batched', () => {
	test('items asked in one turn share a call; items arriving while it runs share the next, each answered in order', async () => {
		const calls: number[][] = [];
		let release!: () => void;
		const queue = batched(async (items: number[]) => {
			calls.push(items);
			if (calls.length === 1) await new Promise<void>((resolve) => (release = resolve));
			return items.map((i) => i * 10);
		});
		const first = [1, 2].map((i) => queue.run(i));
		expect(calls).toEqual([]);
		await new Promise((resolve) => setImmediate(resolve));
		expect(calls).toEqual([[1, 2]]);
		const rest = [3, 4, 5].map((i) => queue.run(i));
		await new Promise((resolve) => setImmediate(resolve));
		expect(calls).toEqual([[1, 2]]);
		release();
		expect(await Promise.all(first)).toEqual([10, 20]);
		expect(await Promise.all(rest)).toEqual([30, 40, 50]);
		expect(calls).toEqual([[1, 2], [3, 4, 5]]);
	});

	test('drain waits for a batch not started yet; a call that throws at once rejects its items', async () => {
		const done: number[] = [];
		const queue = batched(async (items: number[]) => {
			done.push(...items);
			return items;
		});
		void queue.run(1);
		await queue.drain();
		expect(done).toEqual([1]);
		const throwing = batched<number, number>(() => {
			throw new Error('at once');
		});
		await expect(throwing.run(1)).rejects.toThrow('at once');
	});

	test('a failing call rejects its own items only; the queue goes on; at most `max` per call', async () => {
		const calls: string[][] = [];
		let release!: () => void;
		const queue = batched(async (items: string[]) => {
			calls.push(items);
			if (calls.length === 1) await new Promise<void>((resolve) => (release = resolve));
			if (items.includes('bad')) throw new Error('refused');
			return items.map((i) => i.toUpperCase());
		}, 2);
		const a = queue.run('a');
		await new Promise((resolve) => setImmediate(resolve));
		const b = queue.run('bad');
		const c = queue.run('c');
		const d = queue.run('d');
		await new Promise((resolve) => setImmediate(resolve));
		release();
		await expect(b).rejects.toThrow('refused');
		await expect(c).rejects.toThrow('refused');
		expect(await a).toBe('A');
		expect(await d).toBe('D');
		expect(calls).toEqual([['a'], ['bad', 'c'], ['d']]);
		await queue.drain();
	});

	test('batchedPerDb: one queue per database handle, each call given its own handle', async () => {
		const calls: [string, number[]][] = [];
		const one = { name: 'one' } as unknown as Db;
		const two = { name: 'two' } as unknown as Db;
		const run = batchedPerDb(async (db, items: number[]) => {
			calls.push([(db as unknown as { name: string }).name, items]);
			await new Promise((resolve) => setImmediate(resolve));
			return items.map((i) => i * 2);
		});
		const results = await Promise.all([run(one, 1), run(two, 2), run(one, 3), run(two, 4), run(one, 5)]);
		expect(results).toEqual([2, 4, 6, 8, 10]);
		// Each handle's items asked in one turn went together, in their own call.
		expect(calls).toEqual([
			['one', [1, 3, 5]],
			['two', [2, 4]]
		]);
	});
});
