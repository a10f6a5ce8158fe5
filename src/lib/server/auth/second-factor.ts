// The second step of sign-in: a TOTP code (accepted once) or a recovery code (single use).
// Attempts are counted before the code is looked at: per session (this TOTP challenge), then per
// user from browsers that never completed a sign-in to the account, or per trusted browser.
import type { Db } from '../db/index.ts';
import { audit, type AuditContext } from '../audit/audit.ts';
import { markSessionTwoFactorVerified } from './session.ts';
import { consumeTotpCode, useRecoveryCode } from './two-factor.ts';
import { consume, reset, type Key } from './throttle.ts';
import { trustedDevice } from './device.ts';

export type SecondFactorResult = { status: 'ok' } | { status: 'invalid' } | { status: 'replayed' } | { status: 'throttled'; retryAt: Date };

export function secondFactorKeys(sessionId: string, userId: string, deviceHash: string | null): Key[] {
	return [
		{ scope: 'totp_session', subject: [sessionId] },
		deviceHash ? { scope: 'totp_device', subject: [deviceHash, userId] } : { scope: 'totp_user', subject: [userId] }
	];
}

export async function verifySecondFactor(
	db: Db,
	ctx: AuditContext & { actorId: string },
	sessionId: string,
	kind: 'totp' | 'recovery',
	code: string,
	deviceToken?: string | null
): Promise<SecondFactorResult> {
	const userId = ctx.actorId;
	const keys = secondFactorKeys(sessionId, userId, await trustedDevice(db, deviceToken, userId));
	const counted = await consume(db, keys);
	if (!counted.allowed) return { status: 'throttled', retryAt: counted.retryAt };
	const check = kind === 'totp' ? await consumeTotpCode(db, userId, code) : (await useRecoveryCodeIfEnrolled(db, userId, code)) ? 'ok' : 'invalid';
	if (check !== 'ok') {
		await audit(db, ctx, { action: 'auth.2fa_failed', targetType: 'user', targetId: userId, details: check === 'replayed' ? { kind, replayed: true } : { kind } });
		return { status: check };
	}
	await reset(db, keys);
	await markSessionTwoFactorVerified(db, sessionId);
	if (kind === 'recovery') await audit(db, ctx, { action: 'auth.recovery_code_used', targetType: 'user', targetId: userId });
	await audit(db, ctx, { action: 'auth.2fa_verified', targetType: 'user', targetId: userId });
	return { status: 'ok' };
}

/** Recovery codes stand in for an enrolled authenticator only. */
async function useRecoveryCodeIfEnrolled(db: Db, userId: string, code: string): Promise<boolean> {
	const user = await db.selectFrom('app_user').select('totp_key').where('id', '=', userId).executeTakeFirst();
	return user?.totp_key ? useRecoveryCode(db, userId, code) : false;
}
