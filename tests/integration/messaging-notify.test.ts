// Notifications of new messages without content (issue 13, point 6), the patient thread in the RGPD
// export and its erasure at anonymisation, and the retention of the other conversations (point 7).
// Real parts: a real HTTPS server in this process stands for the browser vendor's push service and
// receives what web-push sends; the test holds the subscription's private key and decrypts each push
// (RFC 8291, aes128gcm) to check what a phone would show. A real SMTP server receives the delayed
// e-mail, sent by the real job queue (pg-boss) on the test database.
process.env.LOG_LEVEL = 'silent';

import { createECDH, createHmac, createDecipheriv, randomBytes, randomUUID, type ECDH } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sql } from 'kysely';
import { config, PUSH_SERVICE_HOSTS } from '../../src/lib/server/config.ts';
import { createDb } from '../../src/lib/server/db/index.ts';
import { createTestDb, type TestDb } from '../helpers/db.ts';
import { startMailbox, type Mailbox } from '../helpers/mailbox.ts';
import { createPatient, createPractice, createUser, type Practice } from '../helpers/booking-fixture.ts';
import { loadActor, type Actor } from '../../src/lib/server/access/policy.ts';
import { addMembership } from '../../src/lib/server/org/memberships.ts';
import { patientThreadId, startDirect, teamConversationId } from '../../src/lib/server/messaging/conversations.ts';
import { correctMessage, readUpTo, sendMessage } from '../../src/lib/server/messaging/service.ts';
import { saveNotificationSettings, settleNotifications } from '../../src/lib/server/messaging/notify.ts';
import { PUSH_PAYLOAD, inQuietHours, parseSubscription, pushSubscriptionCount, quietHoursEnd, resetPushCoalescing, savePushSubscription, vapidKeys } from '../../src/lib/server/messaging/push.ts';
import { dispatchUnreadEmails, sendUnreadEmail, UNREAD_SUBJECT } from '../../src/lib/server/messaging/email.ts';
import { purgeExpiredMessages } from '../../src/lib/server/messaging/retention.ts';
import { anonymisePatient, exportPatient } from '../../src/lib/server/patients/patients.ts';
import { parisWallClock } from '../../src/lib/server/rcp/schedule.ts';
import { startJobs, type Jobs } from '../../src/lib/server/jobs/index.ts';
import type { Db } from '../../src/lib/server/db/index.ts';

const ORIGIN = 'https://microstructures.example.test';
/** What no notification may carry: the patient's name, the message's words, the sender. */
const PATIENT = { firstName: 'Josiane', lastName: 'Lefebvre' };
const SECRET_TEXT = 'Josiane Lefebvre a rechuté, alcoolisation massive ce week-end';
const FORBIDDEN = [/josiane/i, /lefebvre/i, /rechut/i, /alcool/i, /haddad/i, /durand/i, /mansouri/i, /patient/i];

let t: TestDb;
let db: Db;
let mailbox: Mailbox;
let practice: Practice;
let tmp: string;
let pushServer: https.Server;
let pushBase: string;
const saved = { smtpUrl: config.smtpUrl, origin: config.origin, ca: https.globalAgent.options.ca, pushServiceHosts: config.pushServiceHosts };
const running: Jobs[] = [];

interface ReceivedPush {
	who: string;
	headers: Record<string, string | string[] | undefined>;
	body: Buffer;
	at: number;
}
const pushes: ReceivedPush[] = [];
/** Per device path: how the fake push service answers (201 by default), and after how long. */
const answer = new Map<string, { status: number; delayMs?: number }>();

const people = {} as Record<'gp' | 'psy' | 'ts' | 'gp2', { id: string; email: string; actor: Actor }>;
const devices = new Map<string, { ecdh: ECDH; auth: Buffer }>();
let patientId: string;
let thread: string;
let team: string;

beforeAll(async () => {
	t = await createTestDb();
	db = t.db;
	mailbox = await startMailbox();
	config.smtpUrl = mailbox.url;
	config.origin = ORIGIN;
	// This test's push service stands in for the browsers' (push.example.test only in refusals).
	config.pushServiceHosts = ['127.0.0.1', 'push.example.test'];

	// The push service: HTTPS (subscriptions must be https), with a certificate this test trusts.
	tmp = mkdtempSync(join(tmpdir(), 'push-'));
	execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', join(tmp, 'key.pem'), '-out', join(tmp, 'cert.pem')], { stdio: 'ignore' });
	const cert = readFileSync(join(tmp, 'cert.pem'));
	https.globalAgent.options.ca = cert;
	pushServer = https.createServer({ key: readFileSync(join(tmp, 'key.pem')), cert }, (req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => {
			const who = (req.url ?? '').split('/').pop()!;
			const reply = answer.get(who) ?? { status: 201 };
			setTimeout(() => {
				pushes.push({ who, headers: req.headers, body: Buffer.concat(chunks), at: Date.now() });
				res.writeHead(reply.status).end();
			}, reply.delayMs ?? 0);
		});
	});
	await new Promise<void>((resolve) => pushServer.listen(0, '127.0.0.1', resolve));
	pushBase = `https://127.0.0.1:${(pushServer.address() as AddressInfo).port}/push`;

	practice = await createPractice(db);
	const make = async (key: keyof typeof people, profession: 'medecin_generaliste' | 'psychologue' | 'travailleur_social', last: string, first: string) => {
		const u = await createUser(db, profession, last, first);
		await addMembership(db, { userId: u.id, microstructureId: practice.microstructureId, role: 'soignant', createdBy: null });
		const row = await db.selectFrom('app_user').select('email').where('id', '=', u.id).executeTakeFirstOrThrow();
		people[key] = { id: u.id, email: row.email, actor: undefined as unknown as Actor };
	};
	await make('gp', 'medecin_generaliste', 'Haddad', 'Inès');
	await make('psy', 'psychologue', 'Durand', 'Camille');
	await make('ts', 'travailleur_social', 'Mansouri', 'Karim');
	await make('gp2', 'medecin_generaliste', 'Schmitt', 'Paul');
	for (const p of Object.values(people)) p.actor = await loadActor(db, p.id);
	patientId = (await createPatient(db, practice, PATIENT)).id;
	await db.insertInto('patient_team_member').values(['gp', 'psy', 'ts'].map((k) => ({ patient_id: patientId, user_id: people[k as 'gp'].id }))).execute();
	thread = await patientThreadId(db, patientId, practice.microstructureId);
	team = await teamConversationId(db, practice.microstructureId);
	for (const key of ['gp', 'psy', 'ts', 'gp2'] as const) await subscribe(key, key);
}, 60_000);

afterAll(async () => {
	await settleNotifications();
	for (const jobs of running) await jobs.stop().catch(() => {});
	config.smtpUrl = saved.smtpUrl;
	config.origin = saved.origin;
	https.globalAgent.options.ca = saved.ca;
	config.pushServiceHosts = saved.pushServiceHosts;
	await new Promise<void>((resolve) => pushServer?.close(() => resolve()));
	pushServer?.closeAllConnections?.();
	await mailbox?.close();
	await t?.close();
	if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** A browser's subscription: its own P-256 key pair and 16-byte auth secret, endpoint on the fake push service. */
async function subscribe(key: keyof typeof people, device: string) {
	const ecdh = createECDH('prime256v1');
	ecdh.generateKeys();
	const auth = randomBytes(16);
	devices.set(device, { ecdh, auth });
	const result = await savePushSubscription(db, people[key].id, { endpoint: `${pushBase}/${device}`, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') } });
	expect(result).toEqual({ ok: true });
}

const hmac = (key: Buffer, data: Buffer) => createHmac('sha256', key).update(data).digest();

/** RFC 8291 / RFC 8188: what the browser holding the device's keys reads. */
function decrypt(device: string, body: Buffer): string {
	const { ecdh, auth } = devices.get(device)!;
	const salt = body.subarray(0, 16);
	const idlen = body[20];
	const serverPublic = body.subarray(21, 21 + idlen);
	const ciphertext = body.subarray(21 + idlen);
	const shared = ecdh.computeSecret(serverPublic);
	const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), ecdh.getPublicKey(), serverPublic]);
	const ikm = hmac(hmac(auth, shared), Buffer.concat([keyInfo, Buffer.from([1])]));
	const prk = hmac(salt, ikm);
	const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm\0\x01')).subarray(0, 16);
	const nonce = hmac(prk, Buffer.from('Content-Encoding: nonce\0\x01')).subarray(0, 12);
	const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
	decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
	const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
	// The last record ends with the delimiter 0x02, then zero padding.
	let end = padded.length - 1;
	while (end >= 0 && padded[end] === 0) end--;
	expect(padded[end]).toBe(2);
	return padded.subarray(0, end).toString('utf8');
}

const ctx = (key: keyof typeof people) => ({ actorId: people[key].id });
async function send(from: keyof typeof people, conversationId: string, body = SECRET_TEXT) {
	const posted = await sendMessage(db, ctx(from), people[from].actor, conversationId, { clientId: randomUUID(), body });
	if (!posted.ok) throw new Error(posted.error);
	// The mention and the e-mail's due row are written just after the send (in the background).
	await settleNotifications(true);
	return posted.message;
}
/** The pushes received after a mark (`pushes.length` then): by order, a millisecond clock could not tell a late one. */
const pushesSince = (mark: number) => pushes.slice(mark);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitUntil(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000) {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await sleep(50);
	}
}

/** Quiet hours around the current Paris time (an hour either side). */
function quietNow(): { quietStart: string; quietEnd: string } {
	const shift = (minutes: number) => parisWallClock(new Date(Date.now() + minutes * 60_000)).time;
	return { quietStart: shift(-60), quietEnd: shift(60) };
}

describe('in-app notification of a mention', () => {
	const mentionsOf = (key: keyof typeof people) =>
		db.selectFrom('notification').select(['title', 'body', 'link', 'read_at', 'created_at']).where('user_id', '=', people[key].id).where('kind', '=', 'message.mention').orderBy('created_at').execute();
	const mention = (from: keyof typeof people, conversationId: string, who: (keyof typeof people)[]) =>
		sendMessage(db, ctx(from), people[from].actor, conversationId, { clientId: randomUUID(), body: SECRET_TEXT, mentions: who.map((k) => people[k].id) });

	test('says only that one was mentioned; a burst of mentions in one conversation stays one unread notification', async () => {
		await db.deleteFrom('notification').where('kind', '=', 'message.mention').execute();
		const first = await mention('gp', thread, ['psy']);
		expect(first.ok).toBe(true);
		await settleNotifications(true);
		const [one] = await mentionsOf('psy');
		expect(one).toMatchObject({ title: 'Vous avez été mentionné·e dans Microstructures', link: `/messages/${thread}`, read_at: null });
		for (const text of [one.title, one.body]) for (const word of FORBIDDEN) expect(text).not.toMatch(word);

		// 20 mentions at once, from two people: still one unread notification, brought back to the top.
		const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => mention(i % 2 ? 'gp' : 'ts', thread, ['psy'])));
		expect(burst.every((r) => r.ok)).toBe(true);
		await settleNotifications(true);
		const after = await mentionsOf('psy');
		expect(after).toHaveLength(1);
		expect(after[0].created_at.getTime()).toBeGreaterThan(one.created_at.getTime());

		// Another conversation is another notification; once read, the next mention is a new one.
		expect((await mention('gp', team, ['psy'])).ok).toBe(true);
		await settleNotifications(true);
		expect((await mentionsOf('psy')).map((n) => n.link).sort()).toEqual([`/messages/${team}`, `/messages/${thread}`].sort());
		await db.updateTable('notification').set({ read_at: new Date() }).where('user_id', '=', people.psy.id).execute();
		expect((await mention('ts', thread, ['psy'])).ok).toBe(true);
		await settleNotifications(true);
		const unread = (await mentionsOf('psy')).filter((n) => n.read_at === null);
		expect(unread.map((n) => n.link)).toEqual([`/messages/${thread}`]);
		// The sender is never notified of their own mention, nor is someone outside the thread.
		expect((await mention('gp', thread, ['gp', 'gp2'])).ok).toBe(true);
		await settleNotifications(true);
		expect(await mentionsOf('gp')).toHaveLength(0);
		expect(await mentionsOf('gp2')).toHaveLength(0);
		// Their pushes too, before the next test counts its own.
		await settleNotifications();
	});
});

describe('Web Push', () => {
	test('each other reader gets one push; decrypted, it says only "Nouveau message dans Microstructures"', async () => {
		resetPushCoalescing();
		const since = pushes.length;
		const message = await send('gp', thread);
		await settleNotifications();
		const got = pushesSince(since);
		// The care team minus the sender; the GP outside the care team does not read the thread.
		expect(got.map((p) => p.who).sort()).toEqual(['psy', 'ts']);
		const keys = await vapidKeys(db);
		for (const p of got) {
			expect(p.headers['content-encoding']).toBe('aes128gcm');
			expect(String(p.headers.authorization)).toContain(`k=${keys.publicKey}`);
			expect(Number(p.headers.ttl)).toBeGreaterThan(0);
			const plain = decrypt(p.who, p.body);
			expect(JSON.parse(plain)).toEqual({ title: 'Microstructures', body: 'Nouveau message dans Microstructures', url: '/messages' });
			expect(JSON.parse(plain)).toEqual(PUSH_PAYLOAD);
			for (const word of FORBIDDEN) expect(plain).not.toMatch(word);
			expect(plain).not.toContain(thread);
			expect(plain).not.toContain(message.id);
			// And nothing readable on the wire either.
			expect(p.body.toString('latin1')).not.toMatch(/josiane|lefebvre/i);
		}
	});

	test('a burst in one conversation gives one push per person; another conversation pushes again', async () => {
		resetPushCoalescing();
		const since = pushes.length;
		await Promise.all([send('gp', thread, 'Un'), send('gp', thread, 'Deux'), send('gp', thread, 'Trois')]);
		await settleNotifications();
		expect(pushesSince(since).map((p) => p.who).sort()).toEqual(['psy', 'ts']);
		const second = pushes.length;
		await send('gp', thread, 'Quatre');
		await settleNotifications();
		expect(pushesSince(second)).toEqual([]);
		// The team conversation: everyone in the microstructure but the sender.
		await send('gp', team, 'Réunion jeudi');
		await settleNotifications();
		expect(pushesSince(second).map((p) => p.who).sort()).toEqual(['gp2', 'psy', 'ts']);
	});

	test('quiet hours: no push to the person resting, the others still get theirs', async () => {
		resetPushCoalescing();
		const quiet = quietNow();
		expect(inQuietHours(quiet.quietStart, quiet.quietEnd)).toBe(true);
		expect(await saveNotificationSettings(db, people.ts.id, { ...quiet, emailDelay: '60' })).toEqual({ ok: true });
		try {
			const since = pushes.length;
			await send('gp', thread, 'Cinq');
			await settleNotifications();
			expect(pushesSince(since).map((p) => p.who)).toEqual(['psy']);
		} finally {
			await saveNotificationSettings(db, people.ts.id, { quietStart: '', quietEnd: '', emailDelay: '60' });
		}
	});

	test('quiet hours spanning midnight, Paris wall clock', () => {
		// 23:30 Paris on 3 December = 22:30 UTC; 07:30 Paris = 06:30 UTC.
		expect(inQuietHours('22:00', '07:00', new Date('2026-12-03T22:30:00Z'))).toBe(true);
		expect(inQuietHours('22:00', '07:00', new Date('2026-12-04T06:30:00Z'))).toBe(false);
		expect(inQuietHours('12:00', '14:00', new Date('2026-12-04T12:30:00Z'))).toBe(true);
		expect(inQuietHours(null, null)).toBe(false);
		expect(quietHoursEnd('07:00', new Date('2026-12-03T22:30:00Z')).toISOString()).toBe('2026-12-04T06:00:00.000Z');
		expect(quietHoursEnd('07:00', new Date('2026-12-04T03:00:00Z')).toISOString()).toBe('2026-12-04T06:00:00.000Z');
	});

	test('a slow push service does not hold the send; a gone subscription (410) is deleted', async () => {
		resetPushCoalescing();
		answer.set('psy', { status: 201, delayMs: 3000 });
		answer.set('ts', { status: 410 });
		try {
			const started = Date.now();
			await send('gp', thread, 'Six');
			expect(Date.now() - started).toBeLessThan(2500);
			await settleNotifications();
			expect(await pushSubscriptionCount(db, people.ts.id)).toBe(0);
			expect(await pushSubscriptionCount(db, people.psy.id)).toBe(1);
		} finally {
			answer.clear();
			await subscribe('ts', 'ts');
		}
	});

	test('a push service that cannot be reached changes nothing for the message', async () => {
		resetPushCoalescing();
		const u = await createUser(db, 'psychologue', 'Nowhere');
		await db.insertInto('push_subscription').values({ user_id: u.id, endpoint: 'https://127.0.0.1:1/push/nowhere', p256dh: createECDH('prime256v1').generateKeys().toString('base64url'), auth: randomBytes(16).toString('base64url') }).execute();
		const pushed = await (await import('../../src/lib/server/messaging/push.ts')).pushNewMessage(db, thread, [u.id]);
		expect(pushed).toBe(0);
		const posted = await send('gp', thread, 'Sept');
		expect(posted.seq).toBeGreaterThan(0);
	});

	test('subscriptions are checked: https endpoint, ≤ 1000 characters, key sizes; nothing stored otherwise', async () => {
		const ecdh = createECDH('prime256v1');
		ecdh.generateKeys();
		const keys = { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') };
		const before = await db.selectFrom('push_subscription').select('id').execute();
		const bad: unknown[] = [
			null,
			'x',
			{ endpoint: 'http://push.example.test/x', keys },
			{ endpoint: 'javascript:alert(1)', keys },
			{ endpoint: `https://push.example.test/${'a'.repeat(1000)}`, keys },
			{ endpoint: 'https://push.example.test/x', keys: { ...keys, p256dh: keys.p256dh.slice(0, 40) } },
			{ endpoint: 'https://push.example.test/x', keys: { ...keys, auth: randomBytes(32).toString('base64url') } },
			{ endpoint: 'https://push.example.test/x', keys: { ...keys, auth: '!!!' } },
			{ endpoint: 'https://push.example.test/x' },
			// Only the push services: not an address of the inside network, whatever its spelling.
			{ endpoint: 'https://10.0.0.1/internal/admin', keys },
			{ endpoint: 'https://localhost:9443/admin', keys },
			{ endpoint: 'https://[::1]/x', keys },
			{ endpoint: 'https://0x0a000001/x', keys },
			{ endpoint: 'https://push.example.test.evil.example/x', keys },
			{ endpoint: 'https://evilpush.example.test/x', keys },
			// Text PostgreSQL refuses (NUL: it was a server error) or would store altered (a lone surrogate).
			{ endpoint: 'https://push.example.test/x\u0000y', keys },
			{ endpoint: 'https://push.example.test/x\ud800', keys }
		];
		for (const input of bad) expect(await savePushSubscription(db, people.gp.id, input)).toEqual({ ok: false, error: 'Abonnement aux notifications invalide.' });
		expect(await db.selectFrom('push_subscription').select('id').execute()).toHaveLength(before.length);
		// The same device re-subscribed by someone else moves to them (one row per endpoint).
		const endpoint = 'https://push.example.test/shared-device';
		await Promise.all([savePushSubscription(db, people.gp.id, { endpoint, keys }), savePushSubscription(db, people.gp2.id, { endpoint, keys })]);
		expect(await db.selectFrom('push_subscription').select('user_id').where('endpoint', '=', endpoint).execute()).toHaveLength(1);
		await db.deleteFrom('push_subscription').where('endpoint', '=', endpoint).execute();

		// By default, the browsers' push services and nothing else.
		const ours = config.pushServiceHosts;
		config.pushServiceHosts = PUSH_SERVICE_HOSTS;
		try {
			for (const ok of ['https://fcm.googleapis.com/fcm/send/abc:def', 'https://updates.push.services.mozilla.com/wpush/v2/x', 'https://web.push.apple.com/QO3a', 'https://wns2-par02p.notify.windows.com/w/?token=x'])
				expect(parseSubscription({ endpoint: ok, keys }), ok).not.toBeNull();
			for (const no of [pushBase, 'https://127.0.0.1/x', 'https://fcm.googleapis.com.evil.example/x', 'https://metadata.google.internal/x'])
				expect(parseSubscription({ endpoint: no, keys }), no).toBeNull();
		} finally {
			config.pushServiceHosts = ours;
		}
	});

	test('a subscription stored before its host was refused is never posted to', async () => {
		const port = (pushServer.address() as AddressInfo).port;
		await db.insertInto('push_subscription').values({ user_id: people.ts.id, endpoint: `https://localhost:${port}/push/stored-before`, p256dh: createECDH('prime256v1').generateKeys().toString('base64url'), auth: randomBytes(16).toString('base64url') }).execute();
		try {
			resetPushCoalescing();
			const since = pushes.length;
			await send('gp', thread);
			await settleNotifications();
			// The allowed devices got theirs; the refused one (the same server, its certificate names
			// localhost too) got nothing.
			expect(pushesSince(since).map((p) => p.who).sort()).toEqual(['psy', 'ts']);
		} finally {
			await db.deleteFrom('push_subscription').where('endpoint', 'like', '%stored-before').execute();
		}
	});

	test('VAPID keys are generated once for the database, whichever process asks first', async () => {
		const first = await vapidKeys(db);
		// Two other "processes" (their own Kysely over the same pool, empty caches) racing.
		const [a, b] = await Promise.all([vapidKeys(createDb(t.pool)), vapidKeys(createDb(t.pool))]);
		expect(a.publicKey).toBe(first.publicKey);
		expect(b.privateKey).toBe(first.privateKey);
		expect(Buffer.from(first.publicKey, 'base64url')).toHaveLength(65);
		expect(await db.selectFrom('app_setting').select('key').where('key', '=', 'vapid_keys').execute()).toHaveLength(1);
	});
});

describe('the e-mail for messages still unread', () => {
	async function due(key: keyof typeof people) {
		return db.selectFrom('message_email_due').select('due_at').where('user_id', '=', people[key].id).executeTakeFirst();
	}
	async function readAll(key: keyof typeof people, conversationId: string) {
		const c = await db.selectFrom('conversation').select('last_seq').where('id', '=', conversationId).executeTakeFirstOrThrow();
		await readUpTo(db, people[key].actor, conversationId, Number(c.last_seq));
	}
	const mailsTo = (key: keyof typeof people) => mailbox.received.filter((m) => m.to.includes(people[key].email.toLowerCase()));

	test('written at each reader’s delay, the earliest kept; sent once by the queue after the delay, not to whoever has read', async () => {
		await db.deleteFrom('message_email_due').execute();
		expect(await saveNotificationSettings(db, people.psy.id, { quietStart: '', quietEnd: '', emailDelay: '15' })).toEqual({ ok: true });
		const before = Date.now();
		await send('gp', thread, SECRET_TEXT);
		const psyDue = (await due('psy'))!.due_at.getTime();
		expect(psyDue - before).toBeGreaterThan(14 * 60_000);
		expect(psyDue - before).toBeLessThan(16 * 60_000);
		expect((await due('ts'))!.due_at.getTime() - before).toBeGreaterThan(59 * 60_000);
		expect(await due('gp')).toBeUndefined();
		expect(await due('gp2')).toBeUndefined();
		// A second message: still one e-mail, at the first instant.
		await send('ts', thread, 'Vu, je le rappelle.');
		expect((await due('psy'))!.due_at.getTime()).toBe(psyDue);

		const jobs = await startJobs({ db, pool: t.pool, pollingIntervalSeconds: 0.5, upkeep: false });
		running.push(jobs);
		// Not yet due: the queue sends nothing.
		await jobs.unreadEmailsNow();
		await sleep(1500);
		expect(mailsTo('psy')).toEqual([]);
		expect(await due('psy')).toBeDefined();

		// The delay passes (moved back in time); meanwhile the GP read everything.
		await readAll('gp', thread);
		await db.updateTable('message_email_due').set({ due_at: new Date(Date.now() - 1000) }).where('user_id', 'in', [people.psy.id, people.gp.id]).execute();
		await db.insertInto('message_email_due').values({ user_id: people.gp.id, due_at: new Date(Date.now() - 1000) }).onConflict((oc) => oc.column('user_id').doNothing()).execute();
		await jobs.unreadEmailsNow();
		await waitUntil(async () => mailsTo('psy').length > 0 && !(await due('psy')) && !(await due('gp')), 'the unread e-mail');
		await sleep(500);
		expect(mailsTo('psy')).toHaveLength(1);
		expect(mailsTo('gp')).toEqual([]);
		// Karim's delay has not passed.
		expect(mailsTo('ts')).toEqual([]);
		expect(await due('ts')).toBeDefined();

		const mail = mailsTo('psy')[0];
		expect(mail.subject).toBe(UNREAD_SUBJECT);
		expect(mail.text).toContain(`${ORIGIN}/messages`);
		for (const word of FORBIDDEN) {
			expect(mail.subject).not.toMatch(word);
			expect(mail.text).not.toMatch(word);
		}
		// No count, no conversation.
		expect(mail.text).not.toMatch(/\d+ (message|conversation)/);
		expect(mail.text).not.toContain(thread);
		// No other link than /messages.
		expect(mail.text.match(/https?:\/\/\S+/g)).toEqual([`${ORIGIN}/messages`]);
	});

	test('exactly once under concurrent dispatches', async () => {
		await db.deleteFrom('message_email_due').execute();
		const already = mailsTo('psy').length;
		await send('gp', thread, 'Encore un message');
		await db.updateTable('message_email_due').set({ due_at: new Date(Date.now() - 1000) }).where('user_id', '=', people.psy.id).execute();
		const outcomes = await Promise.all([...Array(6)].map(() => sendUnreadEmail(db, people.psy.id)));
		expect(outcomes.filter((o) => o === 'envoye')).toHaveLength(1);
		expect(outcomes.filter((o) => o !== 'envoye').every((o) => o === 'deja_traite')).toBe(true);
		await sleep(300);
		expect(mailsTo('psy')).toHaveLength(already + 1);
		expect(await dispatchUnreadEmails(db)).not.toContain('envoye');
	});

	test('quiet hours move the e-mail to their end; read in the meantime, none is sent', async () => {
		await db.deleteFrom('message_email_due').execute();
		const already = mailsTo('ts').length;
		const quiet = quietNow();
		await saveNotificationSettings(db, people.ts.id, { ...quiet, emailDelay: '15' });
		await send('gp', thread, 'Pendant les heures calmes');
		await db.updateTable('message_email_due').set({ due_at: new Date(Date.now() - 1000) }).where('user_id', '=', people.ts.id).execute();
		expect(await sendUnreadEmail(db, people.ts.id)).toBe('reporte');
		const moved = (await due('ts'))!.due_at;
		expect(moved.toISOString()).toBe(quietHoursEnd(quiet.quietEnd).toISOString());
		expect(moved.getTime()).toBeGreaterThan(Date.now());
		expect(mailsTo('ts')).toHaveLength(already);
		// Quiet hours over, but everything was read on the phone meanwhile: nothing to say.
		await saveNotificationSettings(db, people.ts.id, { quietStart: '', quietEnd: '', emailDelay: '60' });
		await readAll('ts', thread);
		await readAll('ts', team);
		await db.updateTable('message_email_due').set({ due_at: new Date(Date.now() - 1000) }).where('user_id', '=', people.ts.id).execute();
		expect(await sendUnreadEmail(db, people.ts.id)).toBe('lu');
		expect(await due('ts')).toBeUndefined();
		await sleep(300);
		expect(mailsTo('ts')).toHaveLength(already);
	});

	test('settings are checked: both ends of the quiet hours or neither, a delay offered', async () => {
		const before = await db.selectFrom('app_user').select(['quiet_start', 'quiet_end', 'message_email_delay_minutes']).where('id', '=', people.gp2.id).executeTakeFirstOrThrow();
		for (const input of [
			{ quietStart: '22:00', quietEnd: '', emailDelay: '60' },
			{ quietStart: '25:00', quietEnd: '07:00', emailDelay: '60' },
			{ quietStart: '22:00', quietEnd: '22:00', emailDelay: '60' },
			{ quietStart: '22:00', quietEnd: '07:00', emailDelay: '7' },
			{ quietStart: '22:00', quietEnd: '07:00', emailDelay: 'abc' },
			{ quietStart: ['x'], quietEnd: {}, emailDelay: null }
		]) {
			const r = await saveNotificationSettings(db, people.gp2.id, input);
			expect(r.ok).toBe(false);
		}
		expect(await db.selectFrom('app_user').select(['quiet_start', 'quiet_end', 'message_email_delay_minutes']).where('id', '=', people.gp2.id).executeTakeFirstOrThrow()).toEqual(before);
		expect(await saveNotificationSettings(db, people.gp2.id, { quietStart: '22:00', quietEnd: '07:00', emailDelay: '120' })).toEqual({ ok: true });
		const after = await db.selectFrom('app_user').select(['quiet_start', 'quiet_end', 'message_email_delay_minutes']).where('id', '=', people.gp2.id).executeTakeFirstOrThrow();
		expect([after.quiet_start?.slice(0, 5), after.quiet_end?.slice(0, 5), after.message_email_delay_minutes]).toEqual(['22:00', '07:00', 120]);
	});
});

describe('RGPD and retention', () => {
	test('the RGPD export holds the thread in order: sender, date, text, corrections, attachment names', async () => {
		const p = await createPatient(db, practice, { firstName: 'Marcel', lastName: 'Export' });
		await db.insertInto('patient_team_member').values([{ patient_id: p.id, user_id: people.gp.id }, { patient_id: p.id, user_id: people.psy.id }]).execute();
		const conv = await patientThreadId(db, p.id, practice.microstructureId);
		const first = await send('gp', conv, 'Premier message');
		const second = await send('psy', conv, 'Deuxième message');
		const withFile = await sendMessage(db, ctx('gp'), people.gp.actor, conv, { clientId: randomUUID(), body: 'Le courrier' }, { attach: async (trx, messageId) => {
			await trx.insertInto('message_attachment').values({ message_id: messageId, conversation_id: conv, kind: 'file', filename: 'courrier-cmp.pdf', content_type: 'application/pdf', size: 5, content: Buffer.from('%PDF-') }).execute();
		} });
		expect(withFile.ok).toBe(true);
		expect((await correctMessage(db, ctx('gp'), people.gp.actor, conv, first.id, 'Premier message, corrigé')).ok).toBe(true);
		expect((await correctMessage(db, ctx('psy'), people.psy.actor, conv, second.id, null)).ok).toBe(true);
		const row = await db.selectFrom('patient').selectAll().where('id', '=', p.id).executeTakeFirstOrThrow();
		const exported = await exportPatient(db, row);
		expect(exported.messages.map((m) => [m.sender, m.text, m.edited_at !== null, m.deleted_at !== null, m.attachments])).toEqual([
			['Inès Haddad', 'Premier message, corrigé', true, false, []],
			['Camille Durand', '', false, true, []],
			['Inès Haddad', 'Le courrier', false, false, ['courrier-cmp.pdf']]
		]);
		expect(exported.messages.every((m) => m.sent_at instanceof Date)).toBe(true);
		// Serialisable as the download does.
		expect(JSON.parse(JSON.stringify(exported)).messages).toHaveLength(3);
	});

	test('anonymisation erases the thread (messages, attachments, read positions); the audit says so', async () => {
		const p = await createPatient(db, practice, { firstName: 'Gaston', lastName: 'Oubli' });
		await db.insertInto('patient_team_member').values([{ patient_id: p.id, user_id: people.gp.id }, { patient_id: p.id, user_id: people.psy.id }]).execute();
		const conv = await patientThreadId(db, p.id, practice.microstructureId);
		await send('gp', conv, 'Gaston Oubli sort du dispositif');
		await sendMessage(db, ctx('psy'), people.psy.actor, conv, { clientId: randomUUID(), body: 'Dernier compte rendu' }, { attach: async (trx, messageId) => {
			await trx.insertInto('message_attachment').values({ message_id: messageId, conversation_id: conv, kind: 'file', filename: 'cr.pdf', content_type: 'application/pdf', size: 5, content: Buffer.from('%PDF-') }).execute();
		} });
		await db.updateTable('patient').set({ state: 'sorti', exited_on: '2026-11-01', exit_reason: 'amelioration' } as never).where('id', '=', p.id).execute();
		const row = await db.selectFrom('patient').selectAll().where('id', '=', p.id).executeTakeFirstOrThrow();
		const result = await anonymisePatient(db, { actorId: people.gp.id }, { id: practice.microstructureId, networkId: practice.networkId }, row);
		expect(result).toEqual({ ok: true });
		expect(await db.selectFrom('conversation').select('id').where('id', '=', conv).execute()).toEqual([]);
		expect(await db.selectFrom('message').select('id').where('conversation_id', '=', conv).execute()).toEqual([]);
		expect(await db.selectFrom('message_attachment').select('id').where('conversation_id', '=', conv).execute()).toEqual([]);
		expect(await db.selectFrom('conversation_read').select('user_id').where('conversation_id', '=', conv).execute()).toEqual([]);
		const audit = await db.selectFrom('audit_event').select(['details']).where('action', '=', 'patient.anonymised').where('target_id', '=', p.id).executeTakeFirstOrThrow();
		expect(audit.details).toMatchObject({ messagesErased: 2 });
		// The export of the anonymised record has no thread left.
		const after = await db.selectFrom('patient').selectAll().where('id', '=', p.id).executeTakeFirstOrThrow();
		expect((await exportPatient(db, after)).messages).toEqual([]);
	});

	test('retention purges old messages of team, direct and group conversations, never a patient thread; 0 keeps everything', async () => {
		const direct = await startDirect(db, people.gp.actor, people.psy.id);
		if (!direct.ok) throw new Error(direct.error);
		const old = [await send('gp', team, 'Ancien message d’équipe'), await send('gp', direct.id, 'Ancien message direct'), await send('gp', thread, 'Ancien message du fil patient')];
		const recent = await send('gp', team, 'Message récent');
		const longAgo = new Date(Date.now() - 400 * 24 * 3600_000);
		await db.updateTable('message').set({ created_at: longAgo }).where('id', 'in', old.map((m) => m.id)).execute();
		expect(await purgeExpiredMessages(db, 0)).toBe(0);
		expect(await db.selectFrom('message').select('id').where('id', 'in', old.map((m) => m.id)).execute()).toHaveLength(3);
		const purged = await purgeExpiredMessages(db, 365, new Date(), 1);
		expect(purged).toBe(2);
		const left = (await db.selectFrom('message').select('id').where('id', 'in', [...old, recent].map((m) => m.id)).execute()).map((r) => r.id).sort();
		expect(left).toEqual([old[2].id, recent.id].sort());
		expect(await db.selectFrom('message').select(sql<string>`count(*)`.as('n')).where('created_at', '<', new Date(Date.now() - 365 * 24 * 3600_000)).where('conversation_id', '<>', thread).executeTakeFirstOrThrow()).toEqual({ n: '0' });
	});
});
