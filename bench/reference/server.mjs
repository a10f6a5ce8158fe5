// The reference for bench/yjs-sync.ts: the bare y-websocket server of @y/websocket-server
// (setupWSConnection: in memory, no auth, no persistence) behind a `ws` WebSocketServer, serving
// /yjs/<docName> like the app. Prints `READY <json>` once listening; exits when stdin closes (the
// benchmark died) or on SIGTERM. On stdin, `reset` starts an event-loop delay window and `stats`
// prints it as `STATS <json>`.
import http from 'node:http';
import { createInterface } from 'node:readline';
import { serverWindow } from '../server-window.mjs';
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

const window = serverWindow();
createInterface({ input: process.stdin }).on('line', (line) => {
	if (line === 'reset') window.reset();
	if (line === 'stats') console.log(`STATS ${JSON.stringify({ ...window.stats(), docs: docs.size })}`);
});
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

server.listen(port, '127.0.0.1', () => {
	console.log(`READY ${JSON.stringify({ port: server.address().port })}`);
});
