// Plugs socket.io and the Yjs websocket into an http.Server: the production server
// (server/index.ts) and the Vite dev server (vite.config.ts) call the same function.
import type { Server as HttpServer } from 'node:http';
import type { Server as IoServer } from 'socket.io';
import { config } from '../config.ts';
import { getDb } from '../db/index.ts';
import { docAccess, loadActor } from '../access/policy.ts';
import { getMicrostructureRef } from '../org/microstructures.ts';
import { authenticateRequest, originAllowed } from './authenticate.ts';
import { createSocketServer, reauthorizeSockets } from './socket.ts';
import { YjsServer } from './yjs-server.ts';
import { log } from '../log.ts';

export interface Realtime {
	io: IoServer;
	yjs: YjsServer;
	close(): Promise<void>;
}

const KEY = Symbol.for('microstructures.realtime');
const g = globalThis as unknown as Record<symbol, Realtime | undefined>;

const resolveMs = (id: string) => getMicrostructureRef(getDb(), id);

export async function attachRealtime(server: HttpServer): Promise<Realtime> {
	const io = createSocketServer(config.maxMessageBytes);
	if (config.redisUrl) {
		const { createClient } = await import('redis');
		const { createAdapter } = await import('@socket.io/redis-adapter');
		const pub = createClient({ url: config.redisUrl });
		const sub = pub.duplicate();
		await Promise.all([pub.connect(), sub.connect()]);
		io.adapter(createAdapter(pub, sub));
	}
	io.attach(server);

	const yjs = new YjsServer({
		db: getDb,
		maxMessageBytes: config.maxMessageBytes,
		async authorize(req, docName) {
			const auth = await authenticateRequest(req);
			if (!auth) return { refused: 401 };
			const access = await docAccess(auth.actor, docName, resolveMs);
			// An unknown document and a document of someone else look the same.
			if (access === 'none') return { refused: 404 };
			return { userId: auth.user.id, access };
		},
		async reauthorize(userId, docName) {
			return docAccess(await loadActor(getDb(), userId), docName, resolveMs);
		}
	});

	server.on('upgrade', (req, socket, head) => {
		if (req.headers['sec-websocket-protocol'] === 'vite-hmr') return;
		const path = (req.url ?? '').split('?')[0];
		if (!path.startsWith('/yjs/')) return;
		if (!originAllowed(req)) {
			log('warn', 'yjs: upgrade from a foreign origin refused', { origin: req.headers.origin });
			socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
			return;
		}
		let docName: string;
		try {
			docName = decodeURIComponent(path.slice('/yjs/'.length));
		} catch {
			socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
			return;
		}
		void yjs.handleUpgrade(req, socket, head, docName);
	});

	const realtime: Realtime = {
		io,
		yjs,
		async close() {
			await new Promise<void>((resolve) => io.close(() => resolve()));
			await yjs.close();
			g[KEY] = undefined;
		}
	};
	g[KEY] = realtime;
	return realtime;
}

/** Closes every live connection of a user (sign-out everywhere, password change). */
export async function disconnectUser(userId: string): Promise<void> {
	const realtime = g[KEY];
	if (!realtime) return;
	realtime.io.in(`user:${userId}`).disconnectSockets(true);
	await realtime.yjs.disconnectUser(userId);
}

/** Tells the pages following a patient that the record changed (no patient data is sent). */
export function notifyPatientChanged(patientId: string, by: string): void {
	g[KEY]?.io.to(`patient:${patientId}`).emit('patient:changed', { patientId, by });
}

/** Applies a membership change to a user's live connections at once. */
export async function reauthorizeUser(userId: string): Promise<void> {
	const realtime = g[KEY];
	if (!realtime) return;
	await Promise.all([reauthorizeSockets(realtime.io, userId), realtime.yjs.reauthorizeUser(userId)]);
}
