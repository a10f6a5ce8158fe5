// Sessions, password sign-in, throttles that hold under concurrency, device cookies, TOTP accepted
// once, recovery codes, first enrolment behind an e-mail code (real SMTP server in the process) and
// the administrator's reset, against a real database (PostgreSQL with DATABASE_URL, else PGlite).
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sql } from 'kysely';
import { generateHOTP, generateTOTP } from '@oslojs/otp';
import { createTestDb, type TestDb } from '../helpers/db.ts';
import { codeIn, startMailbox, type Mailbox } from '../helpers/mailbox.ts';
import type { Db } from '../../src/lib/server/db/index.ts';
import { config } from '../../src/lib/server/config.ts';
import {
	createSession,
	generateSessionToken,
	invalidateSession,
	invalidateUserSessions,
	markSessionTwoFactorVerified,
	readSessions,
	sessionIdFromToken,
	validateSessionToken
} from '../../src/lib/server/auth/session.ts';
import { attemptLogin, safeRedirect, type LoginResult } from '../../src/lib/server/auth/login.ts';
import {
	consumeTotpCode,
	currentTotpStep,
	generateTotpKey,
	matchTotpStep,
	regenerateRecoveryCodes,
	remainingRecoveryCodes,
	totpEnrolment,
	useRecoveryCode,
	verifyTotpCode
} from '../../src/lib/server/auth/two-factor.ts';
import { verifySecondFactor, type SecondFactorResult } from '../../src/lib/server/auth/second-factor.ts';
import { hashPassword, verifyPassword } from '../../src/lib/server/auth/password.ts';
import { keyHash, retryDelay, RULES, type Key } from '../../src/lib/server/auth/throttle.ts';
import { trustDevice, trustedDevice } from '../../src/lib/server/auth/device.ts';
import {
	allowEnrolment,
	checkEnrolmentCode,
	enrolTotp,
	issueEnrolmentCode,
	resetSecondFactor,
	sendEnrolmentCode,
	sessionMayEnrol
} from '../../src/lib/server/auth/enrolment.ts';
import { mailChannel } from '../../src/lib/server/mail/mailer.ts';
import { createUser, setTotpKey } from '../../src/lib/server/org/users.ts';

const DAY = 24 * 60 * 60 * 1000;
const PASSWORD = 'correct horse battery staple';

let t: TestDb;
let db: Db;
beforeAll(async () => {
	t = await createTestDb();
	db = t.db;
});
afterAll(async () => {
	await t?.close();
});

let userCounter = 0;
async function newUser(opts: { email?: string; disabled?: boolean } = {}): Promise<{ id: string; email: string }> {
	const email = opts.email ?? `user${++userCounter}.${Math.random().toString(36).slice(2, 8)}@example.org`;
	const id = await createUser(db, { email, firstName: 'Test', lastName: 'User', profession: 'medecin_generaliste', password: PASSWORD });
	if (opts.disabled) await db.updateTable('app_user').set({ disabled_at: new Date() }).where('id', '=', id).execute();
	return { id, email: email.toLowerCase() };
}

function auditRows(where: { action?: string; targetId?: string; ip?: string }) {
	let q = db.selectFrom('audit_event').select(['action', 'actor_id', 'target_type', 'target_id', 'ip', 'user_agent', 'details']);
	if (where.action) q = q.where('action', '=', where.action);
	if (where.targetId) q = q.where('target_id', '=', where.targetId);
	if (where.ip) q = q.where('ip', '=', where.ip);
	return q.orderBy('id').execute();
}

let ipCounter = 0;
/** A fresh IP per test, so that per-IP counters never cross tests. */
const freshIp = () => `198.51.100.${++ipCounter}`;

describe('sessions', () => {
	test('the database stores sha256(token), never the token', async () => {
		const user = await newUser();
		const token = generateSessionToken();
		expect(token).toMatch(/^[a-z2-7]{32}$/);
		const session = await createSession(db, token, user.id, { twoFactorVerified: false, ip: '203.0.113.9', userAgent: 'x'.repeat(500) });
		const expectedId = createHash('sha256').update(token).digest('hex');
		expect(session.id).toBe(expectedId);
		expect(sessionIdFromToken(token)).toBe(expectedId);

		const rows = await db.selectFrom('user_session').selectAll().where('user_id', '=', user.id).execute();
		expect(rows).toHaveLength(1);
		expect(rows[0].id).toBe(expectedId);
		expect(rows[0].ip).toBe('203.0.113.9');
		expect(rows[0].user_agent).toHaveLength(300);
		const everything = await db.selectFrom('user_session').select('id').where('id', '=', token).execute();
		expect(everything).toHaveLength(0);
		// About 30 days.
		expect(Math.abs(rows[0].expires_at.getTime() - (Date.now() + 30 * DAY))).toBeLessThan(60_000);
	});

	test('a valid token yields the session and its user', async () => {
		const user = await newUser();
		const token = generateSessionToken();
		await createSession(db, token, user.id, { twoFactorVerified: true });
		const result = await validateSessionToken(db, token);
		expect(result.session).toMatchObject({ id: sessionIdFromToken(token), userId: user.id, twoFactorVerified: true });
		expect(result.user).toMatchObject({ id: user.id, email: user.email, first_name: 'Test', platform_admin: false, twoFactorEnabled: false });
		expect(result.user).not.toHaveProperty('password_hash');
	});

	test('unknown, malformed and session-id-as-token values are rejected', async () => {
		const user = await newUser();
		const token = generateSessionToken();
		const session = await createSession(db, token, user.id, { twoFactorVerified: false });
		for (const bad of ['', 'short', token.toUpperCase(), `${token}a`, session.id, generateSessionToken(), `${token.slice(0, 31)}1`]) {
			expect(await validateSessionToken(db, bad), bad).toEqual({ session: null, user: null });
		}
		expect((await validateSessionToken(db, token)).session).not.toBeNull();
	});

	test('an expired session is rejected and deleted', async () => {
		const user = await newUser();
		const token = generateSessionToken();
		const { id } = await createSession(db, token, user.id, { twoFactorVerified: false });
		await db.updateTable('user_session').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', id).execute();
		expect(await validateSessionToken(db, token)).toEqual({ session: null, user: null });
		expect(await db.selectFrom('user_session').select('id').where('id', '=', id).execute()).toEqual([]);
	});

	test('a session with less than 15 days left is renewed to 30 days', async () => {
		const user = await newUser();
		const token = generateSessionToken();
		const { id } = await createSession(db, token, user.id, { twoFactorVerified: false });
		await db.updateTable('user_session').set({ expires_at: new Date(Date.now() + 14 * DAY) }).where('id', '=', id).execute();
		const result = await validateSessionToken(db, token);
		expect(Math.abs(result.session!.expiresAt.getTime() - (Date.now() + 30 * DAY))).toBeLessThan(60_000);
		const row = await db.selectFrom('user_session').select('expires_at').where('id', '=', id).executeTakeFirstOrThrow();
		expect(row.expires_at.getTime()).toBe(result.session!.expiresAt.getTime());
	});

	test('a session with more than 15 days left is not touched', async () => {
		const user = await newUser();
		const token = generateSessionToken();
		const { id } = await createSession(db, token, user.id, { twoFactorVerified: false });
		const sixteenDays = new Date(Date.now() + 16 * DAY);
		await db.updateTable('user_session').set({ expires_at: sixteenDays }).where('id', '=', id).execute();
		const result = await validateSessionToken(db, token);
		expect(result.session!.expiresAt.getTime()).toBe(sixteenDays.getTime());
		const row = await db.selectFrom('user_session').select('expires_at').where('id', '=', id).executeTakeFirstOrThrow();
		expect(row.expires_at.getTime()).toBe(sixteenDays.getTime());
	});

	test('a disabled user has no valid session', async () => {
		const user = await newUser();
		const token = generateSessionToken();
		await createSession(db, token, user.id, { twoFactorVerified: true });
		await db.updateTable('app_user').set({ disabled_at: new Date() }).where('id', '=', user.id).execute();
		expect(await validateSessionToken(db, token)).toEqual({ session: null, user: null });
	});

	test('readSessions reads several tokens in one go, in order, refusing expired, disabled, unknown and malformed ones without touching them', async () => {
		const [alive, expiring, disabled] = [await newUser(), await newUser(), await newUser()];
		const tokens = [generateSessionToken(), generateSessionToken(), generateSessionToken()];
		const live = await createSession(db, tokens[0], alive.id, { twoFactorVerified: true });
		const old = await createSession(db, tokens[1], expiring.id, { twoFactorVerified: true });
		await db.updateTable('user_session').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', old.id).execute();
		await createSession(db, tokens[2], disabled.id, { twoFactorVerified: true });
		await db.updateTable('app_user').set({ disabled_at: new Date() }).where('id', '=', disabled.id).execute();
		const asked = [tokens[1], tokens[0], 'not-a-token', tokens[2], generateSessionToken(), tokens[0]];
		const read = await readSessions(db, asked);
		expect(read.map((r) => r.session?.id ?? null)).toEqual([null, live.id, null, null, null, live.id]);
		expect(read[1].user).toMatchObject({ id: alive.id, email: alive.email });
		expect(read[1].actor).toEqual({ userId: alive.id, platformAdmin: false, microstructures: [], networks: [] });
		// Read only: the expired session is still there for the page check to delete.
		expect(await db.selectFrom('user_session').select('id').where('id', '=', old.id).executeTakeFirst()).toBeDefined();
		expect(await readSessions(db, [])).toEqual([]);
	});

	test('invalidateUserSessions ends every session of the user except the kept one', async () => {
		const user = await newUser();
		const other = await newUser();
		const tokens = [generateSessionToken(), generateSessionToken(), generateSessionToken()];
		const sessions = [];
		for (const token of tokens) sessions.push(await createSession(db, token, user.id, { twoFactorVerified: false }));
		const otherToken = generateSessionToken();
		await createSession(db, otherToken, other.id, { twoFactorVerified: false });

		await invalidateUserSessions(db, user.id, sessions[1].id);
		expect((await validateSessionToken(db, tokens[0])).session).toBeNull();
		expect((await validateSessionToken(db, tokens[1])).session?.id).toBe(sessions[1].id);
		expect((await validateSessionToken(db, tokens[2])).session).toBeNull();
		expect((await validateSessionToken(db, otherToken)).session).not.toBeNull();

		await invalidateUserSessions(db, user.id);
		expect((await validateSessionToken(db, tokens[1])).session).toBeNull();
		expect((await validateSessionToken(db, otherToken)).session).not.toBeNull();
	});

	test('invalidateSession and markSessionTwoFactorVerified act on one session', async () => {
		const user = await newUser();
		const a = generateSessionToken();
		const b = generateSessionToken();
		const sa = await createSession(db, a, user.id, { twoFactorVerified: false });
		await createSession(db, b, user.id, { twoFactorVerified: false });
		await markSessionTwoFactorVerified(db, sa.id);
		expect((await validateSessionToken(db, a)).session?.twoFactorVerified).toBe(true);
		expect((await validateSessionToken(db, b)).session?.twoFactorVerified).toBe(false);
		await invalidateSession(db, sa.id);
		expect((await validateSessionToken(db, a)).session).toBeNull();
		expect((await validateSessionToken(db, b)).session).not.toBeNull();
	});
});

describe('passwords', () => {
	test('argon2id hashes verify, and garbage hashes are a plain false', async () => {
		const h = await hashPassword('un mot de passe');
		expect(h).toMatch(/^\$argon2id\$/);
		expect(await verifyPassword(h, 'un mot de passe')).toBe(true);
		expect(await verifyPassword(h, 'un autre')).toBe(false);
		expect(await verifyPassword('not-a-hash', 'un mot de passe')).toBe(false);
	});
});

const ctxFor = (ip: string) => ({ actorId: null, ip, userAgent: 'vitest' });
const login = (email: string, password: string, ip: string, device?: string | null) => attemptLogin(db, ctxFor(ip), email, password, device);

/** Pretends the block on a key has run out (time travel for one counter). */
async function expireBlock(key: Key) {
	await db.updateTable('auth_throttle').set({ blocked_until: sql`now() - interval '1 second'` }).where('key', '=', keyHash(key)).execute();
}

/** What a run of attempts amounts to: its answers, counted, and the passwords actually checked. */
function tally(results: LoginResult[]) {
	const counts: Record<string, number> = {};
	for (const r of results) {
		const label = r.ok ? 'ok' : r.reason;
		counts[label] = (counts[label] ?? 0) + 1;
	}
	return counts;
}

describe('attemptLogin', () => {
	test('unknown e-mail and wrong password give exactly the same answer, and both are audited', async () => {
		const user = await newUser();
		const ip = freshIp();
		const unknown = await login('nobody-here@example.org', PASSWORD, ip);
		const wrong = await login(user.email, 'wrong password', ip);
		expect(unknown).toEqual({ ok: false, reason: 'invalid' });
		expect(wrong).toEqual(unknown);

		const rows = await auditRows({ action: 'auth.login_failed', ip });
		expect(rows).toEqual([
			expect.objectContaining({ actor_id: null, target_type: 'email', target_id: 'nobody-here@example.org', ip, user_agent: 'vitest' }),
			expect.objectContaining({ actor_id: user.id, target_type: 'email', target_id: user.email, ip })
		]);
		// The password is never written anywhere.
		expect(JSON.stringify(rows)).not.toContain('wrong password');
	});

	test('a disabled account answers like a wrong password, even with the right one', async () => {
		const user = await newUser({ disabled: true });
		expect(await login(user.email, PASSWORD, freshIp())).toEqual({ ok: false, reason: 'invalid' });
	});

	test('success: e-mail normalised, result and audit row', async () => {
		const user = await newUser({ email: 'Mixed.Case@Example.org' });
		const ip = freshIp();
		const result = await login('  MIXED.case@example.ORG ', PASSWORD, ip);
		expect(result).toEqual({ ok: true, userId: user.id, twoFactorEnabled: false, trustedDevice: false });
		const rows = await auditRows({ ip });
		expect(rows).toEqual([expect.objectContaining({ action: 'auth.login', actor_id: user.id, target_id: 'mixed.case@example.org' })]);

		await setTotpKey(db, user.id, generateTotpKey());
		expect(await login(user.email, PASSWORD, ip)).toMatchObject({ ok: true, twoFactorEnabled: true });
	});

	test('five wrong passwords block this account from this IP only: the owner elsewhere still signs in', async () => {
		expect(RULES.account_ip.limit).toBe(5);
		const user = await newUser();
		const attacker = freshIp();
		for (let i = 0; i < 5; i++) expect(await login(user.email, `wrong-${i}`, attacker)).toEqual({ ok: false, reason: 'invalid' });
		const refused = await login(user.email, PASSWORD, attacker);
		expect(refused).toMatchObject({ ok: false, reason: 'throttled_account_ip' });
		// The first block is one minute, and the message says so.
		const retryAt = (refused as { retryAt: Date }).retryAt;
		expect(retryAt.getTime() - Date.now()).toBeGreaterThan(50_000);
		expect(retryAt.getTime() - Date.now()).toBeLessThanOrEqual(60_000);
		expect(retryDelay(retryAt)).toBe('1 min');
		// The owner, from their own connection, is not locked out.
		expect(await login(user.email.toUpperCase(), PASSWORD, freshIp())).toMatchObject({ ok: true, userId: user.id });
		// Refused attempts never reached the password check and are not failures.
		expect(await auditRows({ action: 'auth.login_failed', targetId: user.email })).toHaveLength(5);
		// One row tells the administrators that a block started.
		expect(await auditRows({ action: 'auth.throttled', targetId: user.email })).toEqual([
			expect.objectContaining({ details: { scopes: ['account_ip'] }, ip: attacker })
		]);
	});

	test('the block doubles after each further failure, and a success starts again from zero', async () => {
		const user = await newUser();
		const ip = freshIp();
		const key: Key = { scope: 'account_ip', subject: [user.email, ip] };
		for (let i = 0; i < 5; i++) await login(user.email, 'wrong', ip);
		const delays: number[] = [];
		for (let round = 0; round < 3; round++) {
			const refused = await login(user.email, 'wrong', ip);
			expect(refused).toMatchObject({ reason: 'throttled_account_ip' });
			delays.push(Math.round(((refused as { retryAt: Date }).retryAt.getTime() - Date.now()) / 60_000));
			await expireBlock(key);
			// After the block one attempt is evaluated; a failure arms the next, doubled block.
			expect(await login(user.email, 'wrong', ip)).toEqual({ ok: false, reason: 'invalid' });
		}
		expect(delays).toEqual([1, 2, 4]);
		const refused = await login(user.email, PASSWORD, ip);
		expect(refused).toMatchObject({ reason: 'throttled_account_ip' });
		expect(retryDelay((refused as { retryAt: Date }).retryAt)).toBe('8 min');
		await expireBlock(key);
		expect((await login(user.email, PASSWORD, ip)).ok).toBe(true);
		// Reset: five fresh attempts before the next block.
		for (let i = 0; i < 5; i++) expect(await login(user.email, 'wrong', ip)).toEqual({ ok: false, reason: 'invalid' });
		expect(await login(user.email, 'wrong', ip)).toMatchObject({ reason: 'throttled_account_ip' });
	});

	test('an unknown e-mail is throttled exactly the same way (no account enumeration)', async () => {
		const user = await newUser();
		const ghost = `ghost-${Date.now()}@example.org`;
		const ip = freshIp();
		const known: string[] = [];
		const unknown: string[] = [];
		for (let i = 0; i < 7; i++) {
			const a = await login(user.email, 'x', ip);
			const b = await login(ghost, 'x', ip);
			known.push(a.ok ? 'ok' : a.reason);
			unknown.push(b.ok ? 'ok' : b.reason);
		}
		expect(unknown).toEqual(known);
		expect(known).toEqual(['invalid', 'invalid', 'invalid', 'invalid', 'invalid', 'throttled_account_ip', 'throttled_account_ip']);
	});

	test('a success resets the account+IP counter', async () => {
		const user = await newUser();
		const ip = freshIp();
		for (let i = 0; i < 4; i++) await login(user.email, 'wrong', ip);
		expect((await login(user.email, PASSWORD, ip)).ok).toBe(true);
		for (let i = 0; i < 4; i++) expect(await login(user.email, 'wrong', ip)).toEqual({ ok: false, reason: 'invalid' });
		expect((await login(user.email, PASSWORD, ip)).ok).toBe(true);
	});

	test('counted failures lapse after the window', async () => {
		const user = await newUser();
		const ip = freshIp();
		for (let i = 0; i < 4; i++) await login(user.email, 'wrong', ip);
		await db
			.updateTable('auth_throttle')
			.set({ window_start: sql`now() - interval '61 minutes'` })
			.where('key', '=', keyHash({ scope: 'account_ip', subject: [user.email, ip] }))
			.execute();
		for (let i = 0; i < 4; i++) expect(await login(user.email, 'wrong', ip)).toEqual({ ok: false, reason: 'invalid' });
	});

	test(`an IP is throttled after ${RULES.ip.limit} failures across accounts; successes do not count`, async () => {
		expect(RULES.ip.limit).toBe(30);
		const user = await newUser();
		const ip = freshIp();
		for (let i = 0; i < 29; i++) expect(await login(`spray-${i}-${ip}@example.org`, 'x', ip)).toEqual({ ok: false, reason: 'invalid' });
		// A success in between gives its attempt back.
		expect((await login(user.email, PASSWORD, ip)).ok).toBe(true);
		expect(await login(`spray-29-${ip}@example.org`, 'x', ip)).toEqual({ ok: false, reason: 'invalid' });
		expect(await login(user.email, PASSWORD, ip)).toMatchObject({ ok: false, reason: 'throttled_ip' });
		expect(await login(`new-${ip}@example.org`, 'x', ip)).toMatchObject({ ok: false, reason: 'throttled_ip' });
		expect(await auditRows({ action: 'auth.login_failed', ip })).toHaveLength(30);
		// The same account from another address is fine.
		expect((await login(user.email, PASSWORD, freshIp())).ok).toBe(true);
	});

	test('a concurrent burst of 30 is evaluated and throttled exactly like 30 sequential attempts; the right password in it does not get in', async () => {
		const attempts = (email: string) => [...Array.from({ length: 29 }, (_, i) => `wrong-${i}`), PASSWORD].map((password) => ({ email, password }));
		const sequentialUser = await newUser();
		const sequentialIp = freshIp();
		const sequential: LoginResult[] = [];
		for (const a of attempts(sequentialUser.email)) sequential.push(await login(a.email, a.password, sequentialIp));

		const burstUser = await newUser();
		const burstIp = freshIp();
		const burst = await Promise.all(attempts(burstUser.email).map((a) => login(a.email, a.password, burstIp)));

		expect(tally(sequential)).toEqual({ invalid: 5, throttled_account_ip: 25 });
		expect(tally(burst)).toEqual(tally(sequential));
		// Passwords actually checked: five in both cases (the old code checked 29 of the burst).
		expect(await auditRows({ action: 'auth.login_failed', targetId: sequentialUser.email })).toHaveLength(5);
		expect(await auditRows({ action: 'auth.login_failed', targetId: burstUser.email })).toHaveLength(5);
		// The right password, sent last, found the account blocked in both runs.
		expect(sequential[29].ok).toBe(false);
		expect(burst[29].ok).toBe(false);
		expect(await auditRows({ action: 'auth.login', targetId: burstUser.email })).toHaveLength(0);
	});

	test('a concurrent password spray from one IP is cut at the same count as a sequential one', async () => {
		const ipA = freshIp();
		const ipB = freshIp();
		const sequential: LoginResult[] = [];
		for (let i = 0; i < 40; i++) sequential.push(await login(`seq-${i}-${ipA}@example.org`, 'x', ipA));
		const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => login(`burst-${i}-${ipB}@example.org`, 'x', ipB)));
		expect(tally(sequential)).toEqual({ invalid: 30, throttled_ip: 10 });
		expect(tally(burst)).toEqual(tally(sequential));
		expect(await auditRows({ action: 'auth.login_failed', ip: ipB })).toHaveLength(30);
	});

	test('a storm from many IPs blocks the account for unknown browsers, never the owner in a browser they used before', async () => {
		const owner = await newUser();
		const ownerIp = freshIp();
		// The owner signed in before from this browser: it holds a device cookie.
		const device = await trustDevice(db, null, owner.id);
		expect(await trustedDevice(db, device, owner.id)).not.toBeNull();

		// Forty wrong passwords from eight addresses, concurrently, with the owner signing in meanwhile.
		const stormIps = Array.from({ length: 8 }, freshIp);
		const storm = Promise.all(stormIps.flatMap((ip) => Array.from({ length: 5 }, (_, i) => login(owner.email, `guess-${i}`, ip))));
		const during = await login(owner.email, PASSWORD, ownerIp, device);
		const results = await storm;
		expect(during).toMatchObject({ ok: true, userId: owner.id, trustedDevice: true });
		// Twenty guesses were evaluated from unknown browsers, then the account closed to them.
		expect(tally(results)).toEqual({ invalid: RULES.account.limit, throttled_account: 40 - RULES.account.limit });
		expect(await login(owner.email, 'another guess', freshIp())).toMatchObject({ ok: false, reason: 'throttled_account' });
		// The owner without their browser is refused too (the message suggests a known browser)…
		expect(await login(owner.email, PASSWORD, ownerIp)).toMatchObject({ ok: false, reason: 'throttled_account' });
		// …but with it, again and again, from anywhere.
		for (let i = 0; i < 3; i++) expect(await login(owner.email, PASSWORD, freshIp(), device)).toMatchObject({ ok: true, trustedDevice: true });
		// A device cookie is bound to its account: it does not open the door to another one.
		const other = await newUser();
		expect(await trustedDevice(db, device, other.id)).toBeNull();
	});

	test('a trusted browser has its own small counter', async () => {
		const user = await newUser();
		const device = await trustDevice(db, null, user.id);
		const ip = freshIp();
		for (let i = 0; i < 5; i++) expect(await login(user.email, 'wrong', ip, device)).toEqual({ ok: false, reason: 'invalid' });
		expect(await login(user.email, PASSWORD, ip, device)).toMatchObject({ ok: false, reason: 'throttled_device' });
		// The failures from that browser did not count on this IP's counter for the account.
		expect((await login(user.email, PASSWORD, ip)).ok).toBe(true);
		// A token that is malformed, unknown or of another account is just no device cookie.
		for (const bad of ['', 'x', generateSessionToken(), await trustDevice(db, null, (await newUser()).id)]) {
			expect(await trustedDevice(db, bad, user.id)).toBeNull();
		}
	});

	test('a device token is rotated at each sign-in and keeps the accounts it was trusted for', async () => {
		const a = await newUser();
		const b = await newUser();
		const first = await trustDevice(db, null, a.id);
		const second = await trustDevice(db, first, b.id);
		expect(second).not.toBe(first);
		expect(await trustedDevice(db, second, a.id)).not.toBeNull();
		expect(await trustedDevice(db, second, b.id)).not.toBeNull();
		// The previous token no longer works: a copied or planted token dies at the owner's next sign-in.
		expect(await trustedDevice(db, first, a.id)).toBeNull();
		const rows = await db.selectFrom('trusted_device').select('token_hash').where('user_id', 'in', [a.id, b.id]).execute();
		expect(rows.map((r) => r.token_hash)).toEqual([sessionIdFromToken(second), sessionIdFromToken(second)]);
	});

	test('safeRedirect only keeps same-site paths', () => {
		expect(safeRedirect('/ms/abc?x=1')).toBe('/ms/abc?x=1');
		expect(safeRedirect('/ms/abc/patients?q=Le%20Goff#liste')).toBe('/ms/abc/patients?q=Le%20Goff#liste');
		// Made a valid Location header: what a browser would send percent-encoded is encoded.
		expect(safeRedirect('/messages/é')).toBe('/messages/%C3%A9');
		for (const bad of [null, undefined, '', 'https://evil.example', '//evil.example', '/\\evil.example', 'javascript:alert(1)',
			// Browsers drop tabs and newlines: each of these is "//evil.example" to them (seen: a sign-in that ended on evil.example).
			'/\t/evil.example', '/\n/evil.example', '/\r/evil.example', '/ /evil.example', '/\u0000/evil.example', `/${'a'.repeat(2001)}`]) {
			expect(safeRedirect(bad)).toBe('/');
		}
	});
});

describe('TOTP', () => {
	test('the current code from an authenticator is accepted, with spaces too', () => {
		const key = generateTotpKey();
		expect(key).toHaveLength(20);
		const code = generateTOTP(key, 30, 6);
		expect(verifyTotpCode(key, code)).toBe(true);
		expect(verifyTotpCode(key, `${code.slice(0, 3)} ${code.slice(3)}`)).toBe(true);
		expect(matchTotpStep(key, code)).toBe(currentTotpStep());
	});

	test('the previous and next steps are accepted (clock drift); codes far away, of another key, or malformed are refused', () => {
		const key = generateTotpKey();
		const now = currentTotpStep();
		const near = new Set([-1n, 0n, 1n].map((d) => generateHOTP(key, now + d, 6)));
		if (near.size === 3) {
			expect(matchTotpStep(key, generateHOTP(key, now + 1n, 6))).toBe(now + 1n);
			expect(matchTotpStep(key, generateHOTP(key, now - 1n, 6))).toBe(now - 1n);
		}
		const old = generateHOTP(key, now - 3n, 6);
		if (!near.has(old) && !near.has(generateHOTP(key, now + 2n, 6))) expect(verifyTotpCode(key, old)).toBe(false);
		const foreign = generateTOTP(generateTotpKey(), 30, 6);
		if (!near.has(foreign)) expect(verifyTotpCode(key, foreign)).toBe(false);
		const code = generateTOTP(key, 30, 6);
		for (const bad of ['', '12345', '1234567', 'abcdef', `${code}0`, `+${code.slice(1)}`]) {
			expect(verifyTotpCode(key, bad), bad).toBe(false);
		}
	});

	test('enrolment gives an otpauth URI with the secret, and a QR code', () => {
		const key = generateTotpKey();
		const e = totpEnrolment(key, 'ines.haddad@example.org');
		expect(e.uri).toMatch(/^otpauth:\/\/totp\/Microstructures:ines.haddad%40example.org\?/);
		expect(new URL(e.uri).searchParams.get('secret')).toBe(e.secret);
		expect(e.qrSvg).toContain('<svg');
	});

	test('a code is accepted once; an earlier step is refused after a later one', async () => {
		const user = await newUser();
		const key = generateTotpKey();
		await setTotpKey(db, user.id, key);
		const now = currentTotpStep();
		const codes = [-1n, 0n, 1n].map((d) => generateHOTP(key, now + d, 6));
		if (new Set(codes).size < 3) return; // two steps share a code (one chance in ~10^5)
		expect(await consumeTotpCode(db, user.id, codes[1])).toBe('ok');
		expect(await consumeTotpCode(db, user.id, codes[1])).toBe('replayed');
		// The previous step's code is still "valid" by time, but it comes before the one used.
		expect(await consumeTotpCode(db, user.id, codes[0])).toBe('replayed');
		expect(await consumeTotpCode(db, user.id, codes[2])).toBe('ok');
		expect(await consumeTotpCode(db, user.id, '000000' === codes[2] ? '111111' : '000000')).not.toBe('ok');
	});

	test('the same code sent twice at once opens one session, not two', async () => {
		const user = await newUser();
		const key = generateTotpKey();
		await setTotpKey(db, user.id, key);
		const code = generateTOTP(key, 30, 6);
		const sessions = await Promise.all(Array.from({ length: 6 }, () => createSession(db, generateSessionToken(), user.id, { twoFactorVerified: false })));
		const results = await Promise.all(sessions.map((s) => verifySecondFactor(db, { actorId: user.id, ip: freshIp() }, s.id, 'totp', code)));
		expect(results.filter((r) => r.status === 'ok')).toHaveLength(1);
		expect(results.filter((r) => r.status === 'replayed')).toHaveLength(5);
		const verified = await db.selectFrom('user_session').select('id').where('user_id', '=', user.id).where('two_factor_verified', '=', true).execute();
		expect(verified).toHaveLength(1);
	});
});

describe('recovery codes', () => {
	test('eight single-use codes, normalised input, regenerating revokes the old ones', async () => {
		const user = await newUser();
		const other = await newUser();
		const codes = await regenerateRecoveryCodes(db, user.id);
		expect(codes).toHaveLength(8);
		expect(new Set(codes).size).toBe(8);
		for (const c of codes) expect(c).toMatch(/^[A-Z2-7]{4}-[A-Z2-7]{4}$/);
		expect(await remainingRecoveryCodes(db, user.id)).toBe(8);
		// Only hashes are stored.
		const stored = await db.selectFrom('recovery_code').select('code_hash').where('user_id', '=', user.id).execute();
		for (const c of codes) expect(JSON.stringify(stored)).not.toContain(c);

		expect(await useRecoveryCode(db, other.id, codes[0])).toBe(false);
		expect(await useRecoveryCode(db, user.id, codes[0])).toBe(true);
		expect(await useRecoveryCode(db, user.id, codes[0])).toBe(false);
		expect(await useRecoveryCode(db, user.id, ` ${codes[1].toLowerCase().replace('-', '')} `)).toBe(true);
		expect(await useRecoveryCode(db, user.id, codes[1])).toBe(false);
		expect(await useRecoveryCode(db, user.id, 'AAAA-AAAA')).toBe(false);
		expect(await remainingRecoveryCodes(db, user.id)).toBe(6);

		const fresh = await regenerateRecoveryCodes(db, user.id);
		expect(await useRecoveryCode(db, user.id, codes[2])).toBe(false);
		expect(await remainingRecoveryCodes(db, user.id)).toBe(8);
		expect(await useRecoveryCode(db, user.id, fresh[0])).toBe(true);
	});

	test('one recovery code used by ten requests at once works once', async () => {
		const user = await newUser();
		const [code] = await regenerateRecoveryCodes(db, user.id);
		const results = await Promise.all(Array.from({ length: 10 }, () => useRecoveryCode(db, user.id, code)));
		expect(results.filter(Boolean)).toHaveLength(1);
		expect(await remainingRecoveryCodes(db, user.id)).toBe(7);
	});
});

describe('verifySecondFactor', () => {
	async function enrolled() {
		const user = await newUser();
		const key = generateTotpKey();
		await setTotpKey(db, user.id, key);
		const token = generateSessionToken();
		const session = await createSession(db, token, user.id, { twoFactorVerified: false });
		return { user, key, token, session, ctx: { actorId: user.id, ip: freshIp(), userAgent: 'vitest' } };
	}
	const wrongFor = (key: Uint8Array) => {
		const near = new Set([-1n, 0n, 1n].map((d) => generateHOTP(key, currentTotpStep() + d, 6)));
		return ['000000', '111111', '222222'].find((c) => !near.has(c))!;
	};

	test('a TOTP code verifies the session; a wrong one is audited', async () => {
		const { user, key, token, session, ctx } = await enrolled();
		expect(await verifySecondFactor(db, ctx, session.id, 'totp', wrongFor(key))).toEqual({ status: 'invalid' });
		expect((await validateSessionToken(db, token)).session?.twoFactorVerified).toBe(false);
		expect(await verifySecondFactor(db, ctx, session.id, 'totp', generateTOTP(key, 30, 6))).toEqual({ status: 'ok' });
		expect((await validateSessionToken(db, token)).session?.twoFactorVerified).toBe(true);
		const rows = await auditRows({ targetId: user.id });
		expect(rows.map((r) => r.action)).toEqual(['auth.2fa_failed', 'auth.2fa_verified']);
		expect(rows[0].details).toEqual({ kind: 'totp' });
	});

	test('a replayed TOTP code is refused and audited as such', async () => {
		const { user, key, session, ctx } = await enrolled();
		const code = generateTOTP(key, 30, 6);
		expect(await verifySecondFactor(db, ctx, session.id, 'totp', code)).toEqual({ status: 'ok' });
		const second = await createSession(db, generateSessionToken(), user.id, { twoFactorVerified: false });
		expect(await verifySecondFactor(db, ctx, second.id, 'totp', code)).toEqual({ status: 'replayed' });
		expect((await auditRows({ action: 'auth.2fa_failed', targetId: user.id }))[0].details).toEqual({ kind: 'totp', replayed: true });
	});

	test('a recovery code works once', async () => {
		const { user, token, session, ctx } = await enrolled();
		const [code] = await regenerateRecoveryCodes(db, user.id);
		expect(await verifySecondFactor(db, ctx, session.id, 'recovery', code)).toEqual({ status: 'ok' });
		expect((await validateSessionToken(db, token)).session?.twoFactorVerified).toBe(true);
		const second = await createSession(db, generateSessionToken(), user.id, { twoFactorVerified: false });
		expect(await verifySecondFactor(db, ctx, second.id, 'recovery', code)).toEqual({ status: 'invalid' });
		const actions = (await auditRows({ targetId: user.id })).map((r) => r.action);
		expect(actions).toEqual(['auth.recovery_code_used', 'auth.2fa_verified', 'auth.2fa_failed']);
	});

	test('a user without TOTP cannot pass, not even with a recovery code', async () => {
		const user = await newUser();
		const [code] = await regenerateRecoveryCodes(db, user.id);
		const session = await createSession(db, generateSessionToken(), user.id, { twoFactorVerified: false });
		const ctx = { actorId: user.id, ip: freshIp() };
		expect(await verifySecondFactor(db, ctx, session.id, 'totp', '123456')).toEqual({ status: 'invalid' });
		expect(await verifySecondFactor(db, ctx, session.id, 'recovery', code)).toEqual({ status: 'invalid' });
		expect(await remainingRecoveryCodes(db, user.id)).toBe(8);
	});

	test('60 concurrent codes on one challenge are evaluated and throttled exactly like 60 sequential ones', async () => {
		const run = async (concurrent: boolean) => {
			const { user, key, session, ctx } = await enrolled();
			// 59 wrong codes and, last, the right one.
			const codes = [...Array.from({ length: 59 }, () => wrongFor(key)), generateTOTP(key, 30, 6)];
			let results: SecondFactorResult[];
			if (concurrent) {
				results = await Promise.all(codes.map((c) => verifySecondFactor(db, ctx, session.id, 'totp', c)));
			} else {
				results = [];
				for (const c of codes) results.push(await verifySecondFactor(db, ctx, session.id, 'totp', c));
			}
			const evaluated = await auditRows({ action: 'auth.2fa_failed', targetId: user.id });
			return { statuses: results.map((r) => r.status), evaluated: evaluated.length, verified: (await db.selectFrom('user_session').select('two_factor_verified').where('id', '=', session.id).executeTakeFirstOrThrow()).two_factor_verified };
		};
		const sequential = await run(false);
		const burst = await run(true);
		const count = (s: string[]) => ({ invalid: s.filter((x) => x === 'invalid').length, throttled: s.filter((x) => x === 'throttled').length });
		expect(count(sequential.statuses)).toEqual({ invalid: RULES.totp_session.limit, throttled: 60 - RULES.totp_session.limit });
		expect(count(burst.statuses)).toEqual(count(sequential.statuses));
		expect(burst.evaluated).toBe(sequential.evaluated);
		expect(burst.evaluated).toBe(5);
		// The right code, inside the throttled burst, did not verify the session.
		expect(burst.statuses[59]).toBe('throttled');
		expect(burst.verified).toBe(false);
		expect(sequential.verified).toBe(false);
	});

	test('per user across sessions from unknown browsers, but not for the owner in a trusted browser', async () => {
		const { user, key, ctx } = await enrolled();
		const wrong = wrongFor(key);
		// Two sessions × five wrong codes reach the per-user limit of ten.
		for (let s = 0; s < 2; s++) {
			const session = await createSession(db, generateSessionToken(), user.id, { twoFactorVerified: false });
			for (let i = 0; i < 5; i++) expect((await verifySecondFactor(db, ctx, session.id, 'totp', wrong)).status).toBe('invalid');
			expect((await verifySecondFactor(db, ctx, session.id, 'totp', wrong)).status).toBe('throttled');
		}
		const third = await createSession(db, generateSessionToken(), user.id, { twoFactorVerified: false });
		expect((await verifySecondFactor(db, ctx, third.id, 'totp', generateTOTP(key, 30, 6))).status).toBe('throttled');
		expect((await verifySecondFactor(db, ctx, third.id, 'recovery', 'AAAA-BBBB')).status).toBe('throttled');
		// The owner's browser, trusted since an earlier sign-in, has its own counter.
		const device = await trustDevice(db, null, user.id);
		const owners = await createSession(db, generateSessionToken(), user.id, { twoFactorVerified: false });
		expect(await verifySecondFactor(db, ctx, owners.id, 'totp', generateTOTP(key, 30, 6), device)).toEqual({ status: 'ok' });
	});

	test('a success resets the challenge and user counters', async () => {
		const { user, key, session, ctx } = await enrolled();
		for (let i = 0; i < 4; i++) expect((await verifySecondFactor(db, ctx, session.id, 'totp', wrongFor(key))).status).toBe('invalid');
		const [code] = await regenerateRecoveryCodes(db, user.id);
		expect((await verifySecondFactor(db, ctx, session.id, 'recovery', code)).status).toBe('ok');
		await db.updateTable('user_session').set({ two_factor_verified: false }).where('id', '=', session.id).execute();
		for (let i = 0; i < 5; i++) expect((await verifySecondFactor(db, ctx, session.id, 'totp', wrongFor(key))).status).toBe('invalid');
		expect((await verifySecondFactor(db, ctx, session.id, 'totp', wrongFor(key))).status).toBe('throttled');
	});
});

describe('first enrolment of a second factor', () => {
	let mailbox: Mailbox;
	let savedSmtp: string | undefined;
	beforeAll(async () => {
		mailbox = await startMailbox();
		savedSmtp = config.smtpUrl;
		config.smtpUrl = mailbox.url;
	});
	afterAll(async () => {
		config.smtpUrl = savedSmtp;
		await mailbox?.close();
	});

	async function signedInWithPassword() {
		const user = await newUser();
		const result = await login(user.email, PASSWORD, freshIp());
		expect(result.ok).toBe(true);
		const session = await createSession(db, generateSessionToken(), user.id, { twoFactorVerified: false });
		return { user, session: { id: session.id, userId: user.id }, ctx: { actorId: user.id, ip: freshIp() } };
	}

	async function sendAndRead(ctx: { actorId: string; ip: string }, session: { id: string; userId: string }, email: string) {
		const since = Date.now();
		expect(await sendEnrolmentCode(db, ctx, session)).toEqual({ status: 'sent', channel: 'smtp' });
		return mailbox.waitFor(email, since);
	}

	test('the password alone does not allow enrolment: the e-mail code does, once', async () => {
		const { user, session, ctx } = await signedInWithPassword();
		expect(await sessionMayEnrol(db, session.id)).toBe(false);
		const mail = await sendAndRead(ctx, session, user.email);
		expect(mail.subject).toBe('Votre code de vérification Microstructures');
		expect(mail.text).toContain('Bonjour Test');
		const code = codeIn(mail);
		// Only its hash is stored.
		const stored = await db.selectFrom('enrolment_code').selectAll().where('user_id', '=', user.id).execute();
		expect(JSON.stringify(stored)).not.toContain(code);

		expect(await checkEnrolmentCode(db, ctx, session, code === '000000' ? '111111' : '000000')).toEqual({ status: 'invalid' });
		expect(await sessionMayEnrol(db, session.id)).toBe(false);
		expect(await checkEnrolmentCode(db, ctx, session, ` ${code} `)).toEqual({ status: 'ok' });
		expect(await sessionMayEnrol(db, session.id)).toBe(true);
		// Used up: not again, not in another session.
		const other = await createSession(db, generateSessionToken(), user.id, { twoFactorVerified: false });
		expect(await checkEnrolmentCode(db, ctx, { id: other.id, userId: user.id }, code)).toEqual({ status: 'invalid' });
		expect(await sessionMayEnrol(db, other.id)).toBe(false);
		const actions = (await auditRows({ targetId: user.id })).map((r) => r.action);
		expect(actions).toEqual(['auth.enrolment_code_sent', 'auth.enrolment_code_failed', 'auth.enrolment_code_used', 'auth.enrolment_code_failed']);
		expect((await auditRows({ action: 'auth.enrolment_code_used', targetId: user.id }))[0].details).toEqual({ from: 'email' });
	});

	test('a code expires after ten minutes, and a new code replaces the previous one', async () => {
		const { user, session, ctx } = await signedInWithPassword();
		const first = codeIn(await sendAndRead(ctx, session, user.email));
		await db.updateTable('enrolment_code').set({ expires_at: sql`now() - interval '1 second'` }).where('user_id', '=', user.id).execute();
		expect(await checkEnrolmentCode(db, ctx, session, first)).toEqual({ status: 'invalid' });
		const second = codeIn(await sendAndRead(ctx, session, user.email));
		const third = codeIn(await sendAndRead(ctx, session, user.email));
		if (second !== third) expect(await checkEnrolmentCode(db, ctx, session, second)).toEqual({ status: 'invalid' });
		expect(await checkEnrolmentCode(db, ctx, session, third)).toEqual({ status: 'ok' });
		const row = await db.selectFrom('enrolment_code').select(['created_at', 'expires_at']).where('user_id', '=', user.id).orderBy('created_at', 'desc').executeTakeFirstOrThrow();
		expect(row.expires_at.getTime() - row.created_at.getTime()).toBeGreaterThan(9.9 * 60_000);
		expect(row.expires_at.getTime() - row.created_at.getTime()).toBeLessThanOrEqual(10 * 60_000 + 1000);
	});

	test('one code sent twice at once proves the e-mail once', async () => {
		const { user, session, ctx } = await signedInWithPassword();
		const code = codeIn(await sendAndRead(ctx, session, user.email));
		const results = await Promise.all(Array.from({ length: 8 }, () => checkEnrolmentCode(db, ctx, session, code)));
		expect(results.filter((r) => r.status === 'ok')).toHaveLength(1);
	});

	test('typing codes is throttled, concurrently as sequentially, and the right code in a throttled burst fails', async () => {
		const { user, session, ctx } = await signedInWithPassword();
		const code = codeIn(await sendAndRead(ctx, session, user.email));
		const wrong = code === '000000' ? '111111' : '000000';
		const results = await Promise.all([...Array.from({ length: 19 }, () => wrong), code].map((c) => checkEnrolmentCode(db, ctx, session, c)));
		expect(results.filter((r) => r.status === 'invalid')).toHaveLength(RULES.enrol_check_session.limit);
		expect(results.filter((r) => r.status === 'throttled')).toHaveLength(20 - RULES.enrol_check_session.limit);
		expect(results[19].status).toBe('throttled');
		expect(await sessionMayEnrol(db, session.id)).toBe(false);
		expect(await auditRows({ action: 'auth.enrolment_code_failed', targetId: user.id })).toHaveLength(5);
	});

	test('sending is throttled: three codes per session, then a French delay', async () => {
		const { user, session, ctx } = await signedInWithPassword();
		for (let i = 0; i < 3; i++) await sendAndRead(ctx, session, user.email);
		const refused = await sendEnrolmentCode(db, ctx, session);
		expect(refused).toMatchObject({ status: 'throttled' });
		expect(retryDelay((refused as { retryAt: Date }).retryAt)).toBe('15 min');
		expect(mailbox.received.filter((m) => m.to.includes(user.email))).toHaveLength(3);
	});

	test('without SMTP: the demo database prints to the console mailbox, a real database cannot send', async () => {
		const { user, session, ctx } = await signedInWithPassword();
		const savedDb = config.databaseUrl;
		config.smtpUrl = undefined;
		const printed: string[] = [];
		const write = process.stdout.write.bind(process.stdout);
		try {
			config.databaseUrl = undefined;
			expect(mailChannel()).toBe('demo-console');
			process.stdout.write = ((chunk: string) => (printed.push(String(chunk)), true)) as typeof process.stdout.write;
			const sent = await sendEnrolmentCode(db, ctx, session);
			process.stdout.write = write;
			expect(sent).toEqual({ status: 'sent', channel: 'demo-console' });
			const out = printed.join('');
			expect(out).toContain('BOÎTE MAIL DE DÉMONSTRATION');
			expect(out).toContain(`À : ${user.email}`);
			expect(await checkEnrolmentCode(db, ctx, session, codeIn({ text: out }))).toEqual({ status: 'ok' });

			config.databaseUrl = 'postgres://example.invalid/db';
			expect(mailChannel()).toBe('none');
			expect(await sendEnrolmentCode(db, ctx, session)).toEqual({ status: 'no_mail' });
		} finally {
			process.stdout.write = write;
			config.databaseUrl = savedDb;
			config.smtpUrl = mailbox.url;
		}
	});

	test('a mail server that refuses leaves no usable code and a clear status', async () => {
		const { session, ctx } = await signedInWithPassword();
		config.smtpUrl = 'smtp://127.0.0.1:1';
		try {
			expect(await sendEnrolmentCode(db, ctx, session)).toEqual({ status: 'mail_failed' });
		} finally {
			config.smtpUrl = mailbox.url;
		}
		const live = await db.selectFrom('enrolment_code').select('id').where('session_id', '=', session.id).where('expires_at', '>', sql<Date>`now()`).execute();
		expect(live).toEqual([]);
	});

	test("an administrator's code works in any session of that person, once, for a day", async () => {
		const { user, session, ctx } = await signedInWithPassword();
		const admin = await newUser();
		const code = await issueEnrolmentCode(db, { actorId: admin.id, ip: freshIp() }, user.id);
		expect(code).toMatch(/^\d{6}$/);
		const row = await db.selectFrom('enrolment_code').selectAll().where('user_id', '=', user.id).executeTakeFirstOrThrow();
		expect(row).toMatchObject({ session_id: null, created_by: admin.id });
		expect(row.expires_at.getTime() - Date.now()).toBeGreaterThan(23.9 * 3600_000);
		expect(await checkEnrolmentCode(db, ctx, session, code)).toEqual({ status: 'ok' });
		const other = await createSession(db, generateSessionToken(), user.id, { twoFactorVerified: false });
		expect(await checkEnrolmentCode(db, ctx, { id: other.id, userId: user.id }, code)).toEqual({ status: 'invalid' });
		// Another person cannot use it.
		const stranger = await signedInWithPassword();
		expect(await checkEnrolmentCode(db, stranger.ctx, stranger.session, code)).toEqual({ status: 'invalid' });
		expect(await auditRows({ action: 'auth.enrolment_code_issued', targetId: user.id })).toEqual([expect.objectContaining({ actor_id: admin.id })]);
		expect((await auditRows({ action: 'auth.enrolment_code_used', targetId: user.id }))[0].details).toEqual({ from: 'administrator' });
	});

	test('two sessions racing to enrol a first key: one wins, the other cannot overwrite it', async () => {
		const user = await newUser();
		const keys = [generateTotpKey(), generateTotpKey()];
		const results = await Promise.all(keys.map((k) => enrolTotp(db, user.id, k, currentTotpStep(), false)));
		expect(results.filter(Boolean)).toHaveLength(1);
		const stored = await db.selectFrom('app_user').select(['totp_key', 'totp_last_step']).where('id', '=', user.id).executeTakeFirstOrThrow();
		expect(Buffer.from(stored.totp_key!).equals(Buffer.from(keys[results.indexOf(true)]))).toBe(true);
		// The enrolment code's step is spent: the same code cannot then open a session.
		expect(stored.totp_last_step).toBe(String(currentTotpStep()));
		// Replacing (from a session verified with the current key) is allowed.
		expect(await enrolTotp(db, user.id, generateTotpKey(), currentTotpStep(), true)).toBe(true);
	});

	test('an invitation proves the e-mail: allowEnrolment marks the session', async () => {
		const { session } = await signedInWithPassword();
		await allowEnrolment(db, session.id);
		expect(await sessionMayEnrol(db, session.id)).toBe(true);
	});
});

describe("an administrator resets a lost second factor", () => {
	test('key, last step, recovery codes, pending codes and sessions are cleared, and it is audited', async () => {
		const user = await newUser();
		const admin = await newUser();
		const key = generateTotpKey();
		await enrolTotp(db, user.id, key, currentTotpStep(), false);
		await regenerateRecoveryCodes(db, user.id);
		const tokens = [generateSessionToken(), generateSessionToken()];
		for (const token of tokens) await createSession(db, token, user.id, { twoFactorVerified: true });
		await issueEnrolmentCode(db, { actorId: admin.id }, user.id);

		await resetSecondFactor(db, { actorId: admin.id, ip: freshIp() }, user.id);
		const row = await db.selectFrom('app_user').select(['totp_key', 'totp_last_step']).where('id', '=', user.id).executeTakeFirstOrThrow();
		expect(row).toEqual({ totp_key: null, totp_last_step: null });
		expect(await remainingRecoveryCodes(db, user.id)).toBe(0);
		for (const token of tokens) expect((await validateSessionToken(db, token)).session).toBeNull();
		const pending = await db.selectFrom('enrolment_code').select('id').where('user_id', '=', user.id).where('expires_at', '>', sql<Date>`now()`).execute();
		expect(pending).toEqual([]);
		expect(await auditRows({ action: 'auth.2fa_reset', targetId: user.id })).toEqual([expect.objectContaining({ actor_id: admin.id, target_type: 'user' })]);
		// Signing in again: the password works, the next enrolment needs the e-mail again.
		const result = await login(user.email, PASSWORD, freshIp());
		expect(result).toMatchObject({ ok: true, twoFactorEnabled: false });
		const session = await createSession(db, generateSessionToken(), user.id, { twoFactorVerified: false });
		expect(await sessionMayEnrol(db, session.id)).toBe(false);
	});
});
