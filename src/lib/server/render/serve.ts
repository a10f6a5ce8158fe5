// The worker side of the render pool: announces itself once its modules are loaded, then runs one
// task at a time and answers with the bytes (transferred, not copied) or the error's name.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import zlib from 'node:zlib';
import { parentPort } from 'node:worker_threads';
import { zlibSync } from 'fflate';

// Node aborts the whole process when a worker is terminated between creating a zlib handle and
// initialising it (node_zlib.cc: "close before init"; about one timeout in a hundred during a PDF
// render, on Node 24.22). pdfkit deflates every page with zlib.deflateSync: in a render worker it
// gets a pure-JavaScript deflate (same zlib format), so terminating the worker at any moment can
// never leave a half-made native handle behind.
zlib.deflateSync = ((data: Uint8Array) => Buffer.from(zlibSync(data))) as typeof zlib.deflateSync;

export type Task = (input: never) => Uint8Array | Promise<Uint8Array>;

/**
 * Rendering is background work: on a busy machine the kernel should run the event loop (pages,
 * /healthz, live sockets) before it. On Linux the nice value is per thread; other systems keep
 * the default priority.
 */
function yieldToEventLoop(): void {
	try {
		const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
		if (tid > 0) setPriority(tid, 10);
	} catch {
		// not Linux, or not allowed: the default priority
	}
}

/** `warmUp` runs before the worker says it is ready (loading fonts, compiling the hot paths). */
export async function serve(tasks: Record<string, Task>, warmUp?: () => Promise<unknown>): Promise<void> {
	const port = parentPort;
	if (!port) throw new Error('serve() runs inside a worker thread');
	yieldToEventLoop();
	await warmUp?.();
	port.on('message', async ({ task, input }: { task: string; input: unknown }) => {
		try {
			const run = Object.hasOwn(tasks, task) ? tasks[task] : undefined;
			if (!run) throw new Error(`unknown task ${task}`);
			const out = await run(input as never);
			// A small Buffer is a view on a shared pool: copy it into its own buffer before transferring.
			const bytes = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength && out.buffer instanceof ArrayBuffer ? out : new Uint8Array(out);
			port.postMessage({ ok: true, result: bytes }, [bytes.buffer as ArrayBuffer]);
		} catch (error) {
			// Only the error's name leaves the worker: a message could quote the document.
			port.postMessage({ ok: false, error: error instanceof Error ? error.name : 'Error' });
		}
	});
	port.postMessage({ ready: true });
}
