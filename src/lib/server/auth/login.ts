// Password sign-in. Every attempt is counted (auth/throttle.ts) before the password is checked, so
// that a concurrent burst is throttled exactly like the same attempts one after another:
//   - from a browser trusted for this account (device cookie): that browser's own counter only;
//   - otherwise: the account from this IP, then this IP for every account, then the account from
//     every unknown browser.
// The audit log stays the record of what happened (auth.login, auth.login_failed); the throttle
// table is only the counter.
import type { Db } from '../db/index.ts';
import { audit, type AuditContext } from '../audit/audit.ts';
import { findUserByEmail, normaliseEmail } from '../org/users.ts';
import { verifyAgainstDummy, verifyPassword } from './password.ts';
import { consume, purgeIdle, refund, reset, type Key, type Scope } from './throttle.ts';
import { trustedDevice } from './device.ts';

export type LoginRefusal = 'throttled_account_ip' | 'throttled_ip' | 'throttled_account' | 'throttled_device';

export type LoginResult =
	| { ok: true; userId: string; twoFactorEnabled: boolean; trustedDevice: boolean }
	| { ok: false; reason: 'invalid' }
	| { ok: false; reason: LoginRefusal; retryAt: Date };

const REFUSAL: Partial<Record<Scope, LoginRefusal>> = {
	account_ip: 'throttled_account_ip',
	ip: 'throttled_ip',
	account: 'throttled_account',
	device: 'throttled_device'
};

/** The keys an attempt is counted on, narrowest first. */
export function loginKeys(email: string, ip: string | null | undefined, deviceHash: string | null): Key[] {
	if (deviceHash) return [{ scope: 'device', subject: [deviceHash, email] }];
	const address = ip ?? 'unknown';
	return [
		{ scope: 'account_ip', subject: [email, address] },
		{ scope: 'ip', subject: [address] },
		{ scope: 'account', subject: [email] }
	];
}

export async function attemptLogin(
	db: Db,
	ctx: AuditContext,
	emailInput: string,
	password: string,
	deviceToken?: string | null
): Promise<LoginResult> {
	const email = normaliseEmail(emailInput);
	// Cheap lookups first; an unknown e-mail is counted on exactly the same keys as a known one.
	const user = await findUserByEmail(db, email);
	const deviceHash = await trustedDevice(db, deviceToken, user?.id);
	const keys = loginKeys(email, ctx.ip, deviceHash);
	const counted = await consume(db, keys);
	if (Math.random() < 0.01) await purgeIdle(db);
	if (!counted.allowed) {
		return { ok: false, reason: REFUSAL[counted.scope]!, retryAt: counted.retryAt };
	}
	const armed = counted.tickets.filter((t) => t.armed);
	// Unknown e-mail and wrong password cost the same time and get the same answer.
	const valid = user && !user.disabled_at ? await verifyPassword(user.password_hash, password) : await verifyAgainstDummy(password);
	if (!user || !valid) {
		await audit(db, { ...ctx, actorId: user?.id ?? null }, { action: 'auth.login_failed', targetType: 'email', targetId: email });
		await auditBlocks(db, { ...ctx, actorId: user?.id ?? null }, email, armed.map((t) => t.key.scope));
		return { ok: false, reason: 'invalid' };
	}
	// The password is right: this browser's and this IP's account counter start again; shared
	// counters (the IP, the account from unknown browsers) only take this attempt back.
	const own = counted.tickets.filter((t) => t.key.scope === 'account_ip' || t.key.scope === 'device');
	await reset(db, own.map((t) => t.key));
	await Promise.all(counted.tickets.filter((t) => !own.includes(t)).map((t) => refund(db, t)));
	await audit(db, { ...ctx, actorId: user.id }, { action: 'auth.login', targetType: 'email', targetId: email });
	return { ok: true, userId: user.id, twoFactorEnabled: user.totp_key !== null, trustedDevice: deviceHash !== null };
}

/** One audit row when a counter starts a block (not one per refused attempt of a storm). */
async function auditBlocks(db: Db, ctx: AuditContext, email: string, scopes: Scope[]): Promise<void> {
	if (scopes.length === 0) return;
	await audit(db, ctx, { action: 'auth.throttled', targetType: 'email', targetId: email, details: { scopes } });
}

/**
 * Only same-site paths are accepted as a post-login destination. Browsers drop tabs and newlines
 * from a URL and read a backslash as a slash, so "/<tab>/evil.example" would be "//evil.example":
 * any whitespace, control character or backslash is refused. What is kept is the path as the URL
 * parser reads it (percent-encoded), so that it is always a valid Location header.
 */
export function safeRedirect(target: string | null | undefined): string {
	if (!target || target.length > 2000 || !target.startsWith('/') || /[\s\u0000-\u001f\u007f-\u009f\\]/.test(target)) return '/';
	const base = 'http://same-site.invalid';
	let url: URL;
	try {
		url = new URL(target, base);
	} catch {
		return '/';
	}
	return url.origin === base ? url.pathname + url.search + url.hash : '/';
}
