// Production entry: one http.Server hosting the SvelteKit handler, socket.io and the Yjs websocket.
export {};
import { createServer } from 'node:http';
import { existsSync } from 'node:fs';

process.env.NODE_ENV ??= 'production';
const { config } = await import('../src/lib/server/config.ts');
// Room for a message attachment (MESSAGE_ATTACHMENT_MAX_BYTES, 10 MB by default) or a scanned consent
// form (5 MB), and the multipart envelope; adapter-node refuses anything larger (413) as it reads it.
process.env.BODY_SIZE_LIMIT ??= String(Math.max(6 * 1024 * 1024, config.messageAttachmentMaxBytes + 64 * 1024));
const { prepareDatabase } = await import('../src/lib/server/boot.ts');
const { attachRealtime } = await import('../src/lib/server/realtime/attach.ts');
const { closeDb } = await import('../src/lib/server/db/index.ts');
const { startProcessJobs } = await import('../src/lib/server/jobs/index.ts');
const { log } = await import('../src/lib/server/log.ts');

const handlerPath = new URL('../build/handler.js', import.meta.url);
if (!existsSync(handlerPath)) {
	console.error('The app is not built yet: run `npm run build` (or `npm start`, which builds first).');
	process.exit(1);
}

// Without ORIGIN, adapter-node assumes https; when we serve directly, tell it the real protocol
// (and overwrite whatever a client claimed). Behind a TLS proxy, set ORIGIN instead.
if (!config.origin) process.env.PROTOCOL_HEADER = 'x-forwarded-proto';

await prepareDatabase();
const { handler } = await import(handlerPath.href);
const server = createServer((req, res) => {
	if (!config.origin) req.headers['x-forwarded-proto'] = 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http';
	handler(req, res);
});
const realtime = await attachRealtime(server);
// The durable job queue (reminders, nightly upkeep): its jobs live in the database, so a restart
// or a crash loses none, and several processes may run it (each job runs once).
const jobs = await startProcessJobs();

const host = process.env.HOST || '0.0.0.0';
server.listen(config.port, host, () => {
	log('info', 'listening', { url: `http://localhost:${config.port}`, database: config.databaseUrl ? 'postgresql' : 'embedded' });
});

let stopping = false;
async function stop(signal: string) {
	if (stopping) return;
	stopping = true;
	log('info', 'stopping', { signal });
	server.close();
	await jobs?.stop().catch(() => {});
	await realtime.close().catch(() => {});
	await closeDb();
	process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
