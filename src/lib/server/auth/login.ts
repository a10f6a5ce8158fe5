// Password sign-in with throttling per account and per IP. Failures are counted from the audit
// log itself, so there is one record of what happened and nothing else to keep in sync.
import type { Db } from '../db/index.ts';
import { audit, countRecentFailures, type AuditContext } from '../audit/audit.ts';
import { findUserByEmail, normaliseEmail } from '../org/users.ts';
import { verifyAgainstDummy, verifyPassword } from './password.ts';

export const THROTTLE_WINDOW_MS = 15 * 60 * 1000;
export const MAX_FAILURES_PER_ACCOUNT = 5;
export const MAX_FAILURES_PER_IP = 30;

export type LoginResult =
	| { ok: true; userId: string; twoFactorEnabled: boolean }
	| { ok: false; reason: 'invalid' | 'throttled_account' | 'throttled_ip' };

export async function attemptLogin(db: Db, ctx: AuditContext, emailInput: string, password: string): Promise<LoginResult> {
	const email = normaliseEmail(emailInput);
	const since = new Date(Date.now() - THROTTLE_WINDOW_MS);
	if (ctx.ip && (await countRecentFailures(db, { failure: 'auth.login_failed', ip: ctx.ip, since })) >= MAX_FAILURES_PER_IP) {
		return { ok: false, reason: 'throttled_ip' };
	}
	const accountFailures = await countRecentFailures(db, { failure: 'auth.login_failed', success: 'auth.login', targetId: email, since });
	if (accountFailures >= MAX_FAILURES_PER_ACCOUNT) return { ok: false, reason: 'throttled_account' };

	const user = await findUserByEmail(db, email);
	// Unknown e-mail and wrong password cost the same time and get the same answer.
	const valid = user && !user.disabled_at ? await verifyPassword(user.password_hash, password) : await verifyAgainstDummy(password);
	if (!user || !valid) {
		await audit(db, { ...ctx, actorId: user?.id ?? null }, { action: 'auth.login_failed', targetType: 'email', targetId: email });
		return { ok: false, reason: 'invalid' };
	}
	await audit(db, { ...ctx, actorId: user.id }, { action: 'auth.login', targetType: 'email', targetId: email });
	return { ok: true, userId: user.id, twoFactorEnabled: user.totp_key !== null };
}

/** Only same-site paths are accepted as a post-login destination. */
export function safeRedirect(target: string | null | undefined): string {
	if (!target || !target.startsWith('/') || target.startsWith('//') || target.startsWith('/\\')) return '/';
	return target;
}
