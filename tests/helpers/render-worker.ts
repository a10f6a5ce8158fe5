// A render worker with misbehaving tasks, to test the pool's bounds (tests/integration/render.test.ts).
import zlib from 'node:zlib';
import { serve } from '../../src/lib/server/render/serve.ts';

serve({
	echo: (input: { text: string }) => Buffer.from(input.text),
	/** Busy for `ms` milliseconds, then answers. */
	spin: (input: { ms: number }) => {
		const end = Date.now() + input.ms;
		while (Date.now() < end);
		return Buffer.from('spun');
	},
	forever: () => {
		for (;;);
	},
	/** Compresses for ever, as pdfkit does page after page (native zlib here could abort the process when terminated). */
	deflateForever: () => {
		const page = Buffer.alloc(100, 'a');
		for (;;) zlib.deflateSync(page);
	},
	/** What zlib.deflateSync makes of the input, in this worker. */
	deflate: (input: { bytes: Uint8Array }) => zlib.deflateSync(input.bytes),
	throws: () => {
		throw new TypeError('a message that could quote the patient');
	},
	/** Grows the heap until the worker's resource limit ends it. */
	hog: () => {
		const kept: number[][] = [];
		for (;;) kept.push(new Array(1_000_000).fill(kept.length));
	},
	/** The byte length of what it was given (transferred buffers arrive whole). */
	length: (input: { bytes: Uint8Array }) => Buffer.from(String(input.bytes.byteLength))
});
