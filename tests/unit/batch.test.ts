// batched (src/lib/server/batch.ts): what arrives while a batch runs goes together in the next one.
import { describe, expect, test } from 'vitest';
import { batched, batchedPerDb } from '../../src/lib/server/batch.ts';
import type { Db } from '../../src/lib/server/db/index.ts';

describe('batched', () => {
	test('idle, an item runs at once; items arriving meanwhile share the next call, each answered in order', async () => {
		const calls: number[][] = [];
		let release!: () => void;
		const queue = batched(async (items: number[]) => {
			calls.push(items);
			if (calls.length === 1) await new Promise<void>((resolve) => (release = resolve));
			return items.map((i) => i * 10);
		});
		const first = queue.run(1);
		const rest = [2, 3, 4].map((i) => queue.run(i));
		await new Promise((resolve) => setImmediate(resolve));
		expect(calls).toEqual([[1]]);
		release();
		expect(await first).toBe(10);
		expect(await Promise.all(rest)).toEqual([20, 30, 40]);
		expect(calls).toEqual([[1], [2, 3, 4]]);
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
		// Each handle's first item went alone (its queue was idle), the others together after it.
		expect(calls).toEqual([
			['one', [1]],
			['two', [2]],
			['one', [3, 5]],
			['two', [4]]
		]);
	});
});
