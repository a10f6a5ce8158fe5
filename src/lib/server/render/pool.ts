// Heavy rendering (PDFs, FHIR bundles) runs in worker threads, so the event loop that serves pages,
// /healthz and the live sockets never waits for it. Every task is bounded: its input size is checked
// before dispatch, its time (a task past the timeout has its worker terminated and replaced), its
// memory (the worker's V8 heap), and how many may wait (a full queue answers "busy" at once).
//
// The worker entry is a TypeScript file run through tsx, found from the project root rather than
// next to this module: in production this module is bundled by Vite into build/server/chunks, where
// no worker file lives. Workers import plain relative .ts modules only (no $lib, $env, $app).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type Transferable } from 'node:worker_threads';
import type { TaskInput, TaskName } from './tasks.ts';
import { log } from '../log.ts';

export type RenderErrorKind = 'busy' | 'timeout' | 'too_large' | 'failed';

export class RenderError extends Error {
	readonly kind: RenderErrorKind;
	constructor(kind: RenderErrorKind, message: string) {
		super(message);
		this.name = 'RenderError';
		this.kind = kind;
	}
}

export interface PoolOptions {
	/** The worker file; default: src/lib/server/render/worker.ts under the project root. */
	entry?: string;
	/** Worker threads; default: one less than the machine's cores, at least 1. */
	size?: number;
	/** Tasks that may wait for a worker; one more is refused as busy. */
	queueMax?: number;
	/** Longest run of one task, from the moment its worker starts it. */
	timeoutMs?: number;
	/** Largest input, counted as the characters of its strings plus the bytes of its binary parts. */
	maxInputBytes?: number;
	/** V8 old-generation heap of each worker, in MB. */
	maxHeapMb?: number;
	/** Longest a new worker may take to load its modules. */
	startTimeoutMs?: number;
}

export const RENDER_DEFAULTS = {
	queueMax: 8,
	timeoutMs: 15_000,
	maxInputBytes: 4 * 1024 * 1024,
	maxHeapMb: 256,
	startTimeoutMs: 30_000
};

const ENTRY = 'src/lib/server/render/worker.ts';

/** The directory holding the project's sources, found upwards from this module (source or bundle). */
export function projectRoot(from: string = fileURLToPath(import.meta.url)): string {
	for (let dir = dirname(from); ; dir = dirname(dir)) {
		if (existsSync(join(dir, ENTRY))) return dir;
		if (dirname(dir) === dir) break;
	}
	if (existsSync(join(process.cwd(), ENTRY))) return process.cwd();
	throw new Error(`Render worker not found: no ${ENTRY} above ${from} or in ${process.cwd()}`);
}

/** Size of a structured-clonable value: characters of its strings, bytes of its typed arrays. */
export function inputSize(value: unknown, limit = Infinity): number {
	let total = 0;
	const stack: unknown[] = [value];
	while (stack.length && total <= limit) {
		const v = stack.pop();
		if (typeof v === 'string') total += v.length;
		else if (ArrayBuffer.isView(v)) total += v.byteLength;
		else if (Array.isArray(v)) {
			total += v.length;
			for (const x of v) stack.push(x);
		} else if (v && typeof v === 'object' && !(v instanceof Date)) {
			for (const [k, x] of Object.entries(v)) {
				total += k.length;
				stack.push(x);
			}
		} else total += 8;
	}
	return total;
}

interface Job {
	task: string;
	input: unknown;
	transfer: Transferable[];
	resolve: (bytes: Uint8Array<ArrayBuffer>) => void;
	reject: (error: RenderError) => void;
}

interface Slot {
	worker: Worker;
	ready: boolean;
	dead: boolean;
	job: Job | null;
	timer: NodeJS.Timeout | null;
}

type Reply = { ready: true } | { ok: true; result: Uint8Array<ArrayBuffer> } | { ok: false; error: string };

export class RenderPool {
	readonly size: number;
	readonly queueMax: number;
	readonly timeoutMs: number;
	readonly maxInputBytes: number;
	readonly maxHeapMb: number;
	readonly startTimeoutMs: number;
	private readonly entry: string;
	private readonly execArgv: string[];
	private slots: Slot[] = [];
	private queue: Job[] = [];
	private closed = false;
	/** Workers terminated or lost and replaced since the pool started. */
	replaced = 0;

	constructor(options: PoolOptions = {}) {
		const root = projectRoot();
		this.entry = options.entry ?? join(root, ENTRY);
		// tsx's loader by absolute URL: a bare `--import tsx` would resolve from the working directory.
		this.execArgv = ['--import', pathToFileURL(createRequire(join(root, 'package.json')).resolve('tsx')).href];
		this.size = Math.max(1, Math.floor(options.size ?? availableParallelism() - 1));
		this.queueMax = Math.max(0, Math.floor(options.queueMax ?? RENDER_DEFAULTS.queueMax));
		this.timeoutMs = options.timeoutMs ?? RENDER_DEFAULTS.timeoutMs;
		this.maxInputBytes = options.maxInputBytes ?? RENDER_DEFAULTS.maxInputBytes;
		this.maxHeapMb = options.maxHeapMb ?? RENDER_DEFAULTS.maxHeapMb;
		this.startTimeoutMs = options.startTimeoutMs ?? RENDER_DEFAULTS.startTimeoutMs;
	}

	/**
	 * Runs a task in a worker; rejects with a RenderError when refused, too slow or failed. Buffers
	 * in `transfer` move to the worker instead of being copied (cloning a 4 MB Uint8Array takes tens
	 * of milliseconds of the event loop; a flat string of that size, a few).
	 */
	run(task: string, input: unknown, transfer: Transferable[] = []): Promise<Uint8Array<ArrayBuffer>> {
		if (this.closed) return Promise.reject(new RenderError('failed', 'render pool closed'));
		if (inputSize(input, this.maxInputBytes) > this.maxInputBytes) return Promise.reject(new RenderError('too_large', `${task}: input too large`));
		const free = this.slots.some((s) => !s.job) || this.slots.length < this.size;
		if (!free && this.queue.length >= this.queueMax) return Promise.reject(new RenderError('busy', `${task}: queue full`));
		return new Promise((resolve, reject) => {
			this.queue.push({ task, input, transfer, resolve, reject });
			this.pump();
		});
	}

	stats() {
		return { size: this.size, workers: this.slots.length, busy: this.slots.filter((s) => s.job).length, queued: this.queue.length, replaced: this.replaced };
	}

	async close(): Promise<void> {
		this.closed = true;
		for (const job of this.queue.splice(0)) job.reject(new RenderError('failed', 'render pool closed'));
		const slots = this.slots.splice(0);
		for (const slot of slots) {
			slot.dead = true;
			if (slot.timer) clearTimeout(slot.timer);
			slot.job?.reject(new RenderError('failed', 'render pool closed'));
		}
		await Promise.all(slots.map((s) => s.worker.terminate()));
	}

	private pump() {
		while (this.queue.length) {
			let slot = this.slots.find((s) => !s.job);
			if (!slot) {
				if (this.slots.length >= this.size) return;
				slot = this.spawn();
			}
			this.assign(slot, this.queue.shift()!);
		}
	}

	private spawn(): Slot {
		const worker = new Worker(this.entry, {
			execArgv: this.execArgv,
			resourceLimits: { maxOldGenerationSizeMb: this.maxHeapMb, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 }
		});
		const slot: Slot = { worker, ready: false, dead: false, job: null, timer: null };
		this.slots.push(slot);
		worker.unref();
		// A worker that cannot even load its modules must not hold its task for ever.
		slot.timer = setTimeout(() => this.lose(slot, 'failed', 'worker did not start'), this.startTimeoutMs);
		slot.timer.unref();
		worker.on('message', (reply: Reply) => this.onReply(slot, reply));
		worker.on('error', (error) => this.lose(slot, 'failed', `worker error: ${error.name} ${(error as NodeJS.ErrnoException).code ?? ''}`.trim()));
		worker.on('messageerror', () => this.lose(slot, 'failed', 'unreadable reply'));
		worker.on('exit', (code) => this.lose(slot, 'failed', `worker exited with code ${code}`));
		return slot;
	}

	private assign(slot: Slot, job: Job) {
		slot.job = job;
		slot.worker.ref();
		if (slot.ready) this.start(slot);
	}

	private start(slot: Slot) {
		const job = slot.job!;
		if (slot.timer) clearTimeout(slot.timer);
		slot.timer = setTimeout(() => this.lose(slot, 'timeout', `${job.task}: over ${this.timeoutMs} ms`), this.timeoutMs);
		slot.worker.postMessage({ task: job.task, input: job.input }, job.transfer);
	}

	private onReply(slot: Slot, reply: Reply) {
		if (slot.dead) return;
		if ('ready' in reply) {
			slot.ready = true;
			if (slot.timer) clearTimeout(slot.timer);
			slot.timer = null;
			if (slot.job) this.start(slot);
			return;
		}
		const job = slot.job;
		if (slot.timer) clearTimeout(slot.timer);
		slot.timer = null;
		slot.job = null;
		slot.worker.unref();
		if (job) {
			if (reply.ok) job.resolve(reply.result);
			else {
				log('warn', 'render failed', { task: job.task, error: reply.error });
				job.reject(new RenderError('failed', `${job.task}: ${reply.error}`));
			}
		}
		this.pump();
	}

	/** Ends a worker (timed out, crashed, out of memory) and its task, and starts a fresh one. */
	private lose(slot: Slot, kind: RenderErrorKind, reason: string) {
		if (slot.dead) return;
		slot.dead = true;
		if (slot.timer) clearTimeout(slot.timer);
		this.slots = this.slots.filter((s) => s !== slot);
		void slot.worker.terminate();
		if (this.closed) return;
		log('warn', 'render worker ended', { reason, task: slot.job?.task ?? null });
		slot.job?.reject(new RenderError(kind, reason));
		// Replace a worker that was working; one that never started would only fail again in a loop.
		if (slot.ready) {
			this.replaced++;
			if (this.slots.length < this.size) this.spawn();
		}
		this.pump();
	}
}

function envNumber(name: string): number | undefined {
	const n = Number(process.env[name]);
	return process.env[name] && Number.isFinite(n) ? n : undefined;
}

// One pool per process: dev and production may load this module twice.
const KEY = Symbol.for('microstructures.renderPool');
type Holder = { [KEY]?: RenderPool };

export function renderPool(): RenderPool {
	const holder = globalThis as Holder;
	holder[KEY] ??= new RenderPool({ size: envNumber('RENDER_WORKERS'), queueMax: envNumber('RENDER_QUEUE'), timeoutMs: envNumber('RENDER_TIMEOUT_MS') });
	return holder[KEY];
}

/** Runs one of the named tasks of tasks.ts in the process's pool. */
export function render<K extends TaskName>(task: K, input: TaskInput<K>, transfer: Transferable[] = []): Promise<Uint8Array<ArrayBuffer>> {
	return renderPool().run(task, input, transfer);
}
