// The realtime server (http.Server + attachRealtime: socket.io with the messaging handlers), started
// as a child process by messaging-crash.test.ts so that it can be killed with SIGKILL and started
// again on the same data.
//
// Environment:
//   DATA_DIR      embedded database (PGlite) directory, when DATABASE_URL is not set
//   DATABASE_URL  a PostgreSQL database dedicated to this run
//   PORT          port to listen on, 0 (default) for any free port
// On start: migrates; the first time, creates a microstructure with SENDERS professionals (default 3)
// and its team conversation; signs a session in for each; listens, and prints one line
//   READY {"pid":…,"port":…,"conversationId":"…","senders":[{"userId":"…","cookie":"session=…"},…]}
// The SvelteKit handler is not needed: every request that is not a websocket upgrade gets 404.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

process.env.LOG_LEVEL ??= 'silent';

const { getDb } = await import('../../src/lib/server/db/index.ts');
const { migrateToLatest } = await import('../../src/lib/server/db/migrate.ts');
const { createSession, generateSessionToken } = await import('../../src/lib/server/auth/session.ts');
const { teamConversationId } = await import('../../src/lib/server/messaging/conversations.ts');
const { attachRealtime } = await import('../../src/lib/server/realtime/attach.ts');

const SENDERS = Number(process.env.SENDERS || 3);
const email = (i: number) => `crash-sender-${i}@example.test`;

const db = getDb();
await migrateToLatest(db);
let ms = await db.selectFrom('microstructure').select('id').where('name', '=', 'Microstructure du crash').executeTakeFirst();
if (!ms) {
	const network = await db.insertInto('network').values({ name: 'Réseau du crash' }).returning('id').executeTakeFirstOrThrow();
	ms = await db.insertInto('microstructure').values({ network_id: network.id, name: 'Microstructure du crash', programmes: ['MSMA'] }).returning('id').executeTakeFirstOrThrow();
	for (let i = 0; i < SENDERS; i++) {
		const user = await db
			.insertInto('app_user')
			.values({ email: email(i), first_name: `Soignant ${i}`, last_name: 'Crash', profession: 'medecin_generaliste', rpps: null, adeli: null, password_hash: 'x', totp_key: null, totp_last_step: null, disabled_at: null })
			.returning('id')
			.executeTakeFirstOrThrow();
		await db.insertInto('membership').values({ user_id: user.id, microstructure_id: ms.id, network_id: null, role: 'soignant', ends_on: null, created_by: null }).execute();
	}
}
const conversationId = await teamConversationId(db, ms.id);
const senders = [];
for (let i = 0; i < SENDERS; i++) {
	const user = await db.selectFrom('app_user').select('id').where('email', '=', email(i)).executeTakeFirstOrThrow();
	const token = generateSessionToken();
	await createSession(db, token, user.id, { twoFactorVerified: true });
	senders.push({ userId: user.id, cookie: `session=${token}` });
}

const server = createServer((_req, res) => {
	res.statusCode = 404;
	res.end();
});
await attachRealtime(server);
await new Promise<void>((resolve) => server.listen(Number(process.env.PORT || 0), '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
console.log(`READY ${JSON.stringify({ pid: process.pid, port, conversationId, senders })}`);
