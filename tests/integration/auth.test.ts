// Sessions, password sign-in with throttling, TOTP and recovery codes, against a real database.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sql } from 'kysely';
import { generateHOTP, generateTOTP } from '@oslojs/otp';
import { createTestDb, type TestDb } from '../helpers/db.ts';
import type { Db } from '../../src/lib/server/db/index.ts';
import {
	createSession,
	generateSessionToken,
	invalidateSession,
	invalidateUserSessions,
	markSessionTwoFactorVerified,
	sessionIdFromToken,
	validateSessionToken
} from '../../src/lib/server/auth/session.ts';
import { attemptLogin, MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_IP, safeRedirect } from '../../src/lib/server/auth/login.ts';
import {
	generateTotpKey,
	regenerateRecoveryCodes,
	remainingRecoveryCodes,
	totpEnrolment,
	useRecoveryCode,
	verifyTotpCode
} from '../../src/lib/server/auth/two-factor.ts';
import { verifySecondFactor } from '../../src/lib/server/auth/second-factor.ts';
import { hashPassword, verifyPassword } from '../../src/lib/server/auth/password.ts';
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

describe('attemptLogin', () => {
	test('unknown e-mail and wrong password give exactly the same answer, and both are audited', async () => {
		const user = await newUser();
		const ip = freshIp();
		const ctx = { actorId: null, ip, userAgent: 'vitest' };
		const unknown = await attemptLogin(db, ctx, 'nobody-here@example.org', PASSWORD);
		const wrong = await attemptLogin(db, ctx, user.email, 'wrong password');
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
		expect(await attemptLogin(db, { actorId: null, ip: freshIp() }, user.email, PASSWORD)).toEqual({ ok: false, reason: 'invalid' });
	});

	test('success: e-mail normalised, result and audit row', async () => {
		const user = await newUser({ email: 'Mixed.Case@Example.org' });
		const ip = freshIp();
		const result = await attemptLogin(db, { actorId: null, ip }, '  MIXED.case@example.ORG ', PASSWORD);
		expect(result).toEqual({ ok: true, userId: user.id, twoFactorEnabled: false });
		const rows = await auditRows({ ip });
		expect(rows).toEqual([expect.objectContaining({ action: 'auth.login', actor_id: user.id, target_id: 'mixed.case@example.org' })]);

		await setTotpKey(db, user.id, generateTotpKey());
		expect(await attemptLogin(db, { actorId: null, ip }, user.email, PASSWORD)).toEqual({ ok: true, userId: user.id, twoFactorEnabled: true });
	});

	test(`an account is throttled after ${MAX_FAILURES_PER_ACCOUNT} failures, even with the right password`, async () => {
		expect(MAX_FAILURES_PER_ACCOUNT).toBe(5);
		const user = await newUser();
		const ip = freshIp();
		for (let i = 0; i < 5; i++) {
			expect(await attemptLogin(db, { actorId: null, ip }, user.email, `wrong-${i}`)).toEqual({ ok: false, reason: 'invalid' });
		}
		expect(await attemptLogin(db, { actorId: null, ip }, user.email, PASSWORD)).toEqual({ ok: false, reason: 'throttled_account' });
		// From another address too: the counter belongs to the account.
		expect(await attemptLogin(db, { actorId: null, ip: freshIp() }, user.email.toUpperCase(), PASSWORD)).toEqual({
			ok: false,
			reason: 'throttled_account'
		});
		// Throttled attempts do not reach the password check and are not counted as failures.
		expect(await auditRows({ action: 'auth.login_failed', targetId: user.email })).toHaveLength(5);
		expect(await auditRows({ action: 'auth.login', targetId: user.email })).toHaveLength(0);
		// Other accounts are unaffected.
		const other = await newUser();
		expect((await attemptLogin(db, { actorId: null, ip }, other.email, PASSWORD)).ok).toBe(true);
	});

	test('an unknown e-mail is throttled the same way (no account enumeration)', async () => {
		const email = `ghost-${Date.now()}@example.org`;
		const ip = freshIp();
		for (let i = 0; i < 5; i++) await attemptLogin(db, { actorId: null, ip }, email, 'x');
		expect(await attemptLogin(db, { actorId: null, ip }, email, 'x')).toEqual({ ok: false, reason: 'throttled_account' });
	});

	test('a success resets the per-account counter', async () => {
		const user = await newUser();
		const ip = freshIp();
		for (let i = 0; i < 4; i++) await attemptLogin(db, { actorId: null, ip }, user.email, 'wrong');
		expect((await attemptLogin(db, { actorId: null, ip }, user.email, PASSWORD)).ok).toBe(true);
		for (let i = 0; i < 4; i++) {
			expect(await attemptLogin(db, { actorId: null, ip }, user.email, 'wrong')).toEqual({ ok: false, reason: 'invalid' });
		}
		// 8 failures in the window, but only 4 since the last success.
		expect((await attemptLogin(db, { actorId: null, ip }, user.email, PASSWORD)).ok).toBe(true);
		for (let i = 0; i < 5; i++) await attemptLogin(db, { actorId: null, ip }, user.email, 'wrong');
		expect(await attemptLogin(db, { actorId: null, ip }, user.email, PASSWORD)).toEqual({ ok: false, reason: 'throttled_account' });
	});

	test('failures older than the 15-minute window no longer count', async () => {
		const user = await newUser();
		// The audit log is append-only, but a row may be written with a past timestamp.
		for (let i = 0; i < 10; i++) {
			await sql`insert into audit_event (action, target_type, target_id, at)
				values ('auth.login_failed', 'email', ${user.email}, now() - interval '16 minutes')`.execute(db);
		}
		expect((await attemptLogin(db, { actorId: null, ip: freshIp() }, user.email, PASSWORD)).ok).toBe(true);
	});

	test(`an IP is throttled after ${MAX_FAILURES_PER_IP} failures, for every account`, async () => {
		expect(MAX_FAILURES_PER_IP).toBe(30);
		const user = await newUser();
		const ip = freshIp();
		// Distinct unknown e-mails, so that no account counter is involved.
		for (let i = 0; i < 29; i++) {
			expect(await attemptLogin(db, { actorId: null, ip }, `spray-${i}-${ip}@example.org`, 'x')).toEqual({ ok: false, reason: 'invalid' });
		}
		// 29 failures: the right password still works (and a success does not reset the IP counter).
		expect((await attemptLogin(db, { actorId: null, ip }, user.email, PASSWORD)).ok).toBe(true);
		expect(await attemptLogin(db, { actorId: null, ip }, `spray-29-${ip}@example.org`, 'x')).toEqual({ ok: false, reason: 'invalid' });
		expect(await attemptLogin(db, { actorId: null, ip }, user.email, PASSWORD)).toEqual({ ok: false, reason: 'throttled_ip' });
		expect(await attemptLogin(db, { actorId: null, ip }, `new-${ip}@example.org`, 'x')).toEqual({ ok: false, reason: 'throttled_ip' });
		expect(await auditRows({ action: 'auth.login_failed', ip })).toHaveLength(30);
		// The same account from another address is fine.
		expect((await attemptLogin(db, { actorId: null, ip: freshIp() }, user.email, PASSWORD)).ok).toBe(true);
	});

	test('safeRedirect only keeps same-site paths', () => {
		expect(safeRedirect('/ms/abc?x=1')).toBe('/ms/abc?x=1');
		for (const bad of [null, undefined, '', 'https://evil.example', '//evil.example', '/\\evil.example', 'javascript:alert(1)']) {
			expect(safeRedirect(bad)).toBe('/');
		}
	});
});

describe('TOTP', () => {
	const counterNow = () => BigInt(Math.floor(Date.now() / 30_000));

	test('the current code from an authenticator is accepted, with spaces too', () => {
		const key = generateTotpKey();
		expect(key).toHaveLength(20);
		const code = generateTOTP(key, 30, 6);
		expect(verifyTotpCode(key, code)).toBe(true);
		expect(verifyTotpCode(key, `${code.slice(0, 3)} ${code.slice(3)}`)).toBe(true);
	});

	test('the next step is accepted (clock drift); codes far away, of another key, or malformed are refused', () => {
		const key = generateTotpKey();
		expect(verifyTotpCode(key, generateHOTP(key, counterNow() + 1n, 6))).toBe(true);
		const near = new Set([-1n, 0n, 1n, 2n].map((d) => generateHOTP(key, counterNow() + d, 6)));
		const old = generateHOTP(key, counterNow() - 3n, 6);
		if (!near.has(old)) expect(verifyTotpCode(key, old)).toBe(false);
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

	test('a TOTP code verifies the session; a wrong one is audited', async () => {
		const { user, key, token, session, ctx } = await enrolled();
		const wrong = generateTOTP(key, 30, 6) === '000000' ? '111111' : '000000';
		expect(await verifySecondFactor(db, ctx, session.id, 'totp', wrong)).toBe('invalid');
		expect((await validateSessionToken(db, token)).session?.twoFactorVerified).toBe(false);
		expect(await verifySecondFactor(db, ctx, session.id, 'totp', generateTOTP(key, 30, 6))).toBe('ok');
		expect((await validateSessionToken(db, token)).session?.twoFactorVerified).toBe(true);
		const rows = await auditRows({ targetId: user.id });
		expect(rows.map((r) => r.action)).toEqual(['auth.2fa_failed', 'auth.2fa_verified']);
		expect(rows[0].details).toEqual({ kind: 'totp' });
	});

	test('a recovery code works once', async () => {
		const { user, token, session, ctx } = await enrolled();
		const [code] = await regenerateRecoveryCodes(db, user.id);
		expect(await verifySecondFactor(db, ctx, session.id, 'recovery', code)).toBe('ok');
		expect((await validateSessionToken(db, token)).session?.twoFactorVerified).toBe(true);
		const second = await createSession(db, generateSessionToken(), user.id, { twoFactorVerified: false });
		expect(await verifySecondFactor(db, ctx, second.id, 'recovery', code)).toBe('invalid');
		const actions = (await auditRows({ targetId: user.id })).map((r) => r.action);
		expect(actions).toEqual(['auth.recovery_code_used', 'auth.2fa_verified', 'auth.2fa_failed']);
	});

	test('a user without TOTP cannot pass, not even with a recovery code', async () => {
		const user = await newUser();
		const [code] = await regenerateRecoveryCodes(db, user.id);
		const session = await createSession(db, generateSessionToken(), user.id, { twoFactorVerified: false });
		const ctx = { actorId: user.id, ip: freshIp() };
		expect(await verifySecondFactor(db, ctx, session.id, 'totp', '123456')).toBe('invalid');
		expect(await verifySecondFactor(db, ctx, session.id, 'recovery', code)).toBe('invalid');
		expect(await remainingRecoveryCodes(db, user.id)).toBe(8);
	});

	test('five failures throttle the second step, even for a right code; a success resets the count', async () => {
		const { key, token, session, ctx } = await enrolled();
		const good = () => generateTOTP(key, 30, 6);
		const bad = () => (good() === '000000' ? '111111' : '000000');
		for (let i = 0; i < 4; i++) expect(await verifySecondFactor(db, ctx, session.id, 'totp', bad())).toBe('invalid');
		expect(await verifySecondFactor(db, ctx, session.id, 'totp', good())).toBe('ok');
		for (let i = 0; i < 5; i++) expect(await verifySecondFactor(db, ctx, session.id, 'totp', bad())).toBe('invalid');
		await db.updateTable('user_session').set({ two_factor_verified: false }).where('id', '=', session.id).execute();
		expect(await verifySecondFactor(db, ctx, session.id, 'totp', good())).toBe('throttled');
		expect(await verifySecondFactor(db, ctx, session.id, 'recovery', 'AAAA-BBBB')).toBe('throttled');
		expect((await validateSessionToken(db, token)).session?.twoFactorVerified).toBe(false);
		// A throttled attempt is not recorded as a new failure.
		expect(await auditRows({ action: 'auth.2fa_failed', targetId: ctx.actorId })).toHaveLength(9);
	});
});
