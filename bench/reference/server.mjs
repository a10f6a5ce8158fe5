// The reference for bench/yjs-sync.ts: the bare y-websocket server of @y/websocket-server
// (setupWSConnection: in memory, no auth, no persistence) behind a `ws` WebSocketServer, serving
// /yjs/<docName> like the app. Prints `READY <json>` once listening; exits when stdin closes (the
// benchmark died) or on SIGTERM. On stdin, `reset` starts an event-loop delay window and `stats`
// prints it as `STATS <json>`.
import http from 'node:http';
import { createInterface } from 'node:readline';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { WebSocketServer } from 'ws';
import { setupWSConnection, docs } from '@y/websocket-server/utils';

const port = Number(process.env.PORT || 0);
const wss = new WebSocketServer({ noServer: true });
const server = http.createServer((_req, res) => {
	res.statusCode = 404;
	res.end();
});
server.on('upgrade', (req, socket, head) => {
	const path = (req.url ?? '').split('?')[0];
	if (!path.startsWith('/yjs/')) {
		socket.destroy();
		return;
	}
	const docName = decodeURIComponent(path.slice('/yjs/'.length));
	wss.handleUpgrade(req, socket, head, (ws) => setupWSConnection(ws, req, { docName }));
});

// The histogram records whole timer intervals: the delay is what exceeds the resolution.
const RESOLUTION_MS = 5;
const loop = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
loop.enable();
const excess = (ns) => Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 100) / 100);
// Garbage collection pauses of the main thread, per measurement window.
let gc = { ms: 0, max: 0 };
new PerformanceObserver((list) => {
	for (const e of list.getEntries()) gc = { ms: gc.ms + e.duration, max: Math.max(gc.max, e.duration) };
}).observe({ entryTypes: ['gc'] });
createInterface({ input: process.stdin }).on('line', (line) => {
	if (line === 'reset') {
		loop.reset();
		gc = { ms: 0, max: 0 };
	}
	if (line === 'stats') {
		const stats = {
			loopP50: excess(loop.percentile(50)),
			loopP99: excess(loop.percentile(99)),
			loopMax: excess(loop.max),
			gcMs: Math.round(gc.ms),
			gcMax: Math.round(gc.max * 10) / 10,
			docs: docs.size
		};
		console.log(`STATS ${JSON.stringify(stats)}`);
	}
});
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

server.listen(port, '127.0.0.1', () => {
	console.log(`READY ${JSON.stringify({ port: server.address().port })}`);
});
