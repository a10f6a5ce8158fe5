// The second step of sign-in: a TOTP code or a recovery code, throttled per user.
import type { Db } from '../db/index.ts';
import { audit, countRecentFailures, type AuditContext } from '../audit/audit.ts';
import { getUser } from '../org/users.ts';
import { markSessionTwoFactorVerified } from './session.ts';
import { useRecoveryCode, verifyTotpCode } from './two-factor.ts';
import { THROTTLE_WINDOW_MS, MAX_FAILURES_PER_ACCOUNT } from './login.ts';

export type SecondFactorResult = 'ok' | 'invalid' | 'throttled';

export async function verifySecondFactor(
	db: Db,
	ctx: AuditContext & { actorId: string },
	sessionId: string,
	kind: 'totp' | 'recovery',
	code: string
): Promise<SecondFactorResult> {
	const userId = ctx.actorId;
	const since = new Date(Date.now() - THROTTLE_WINDOW_MS);
	const failures = await countRecentFailures(db, { failure: 'auth.2fa_failed', success: 'auth.2fa_verified', targetId: userId, since });
	if (failures >= MAX_FAILURES_PER_ACCOUNT) return 'throttled';
	const user = await getUser(db, userId);
	let valid = false;
	if (user?.totp_key) {
		valid = kind === 'totp' ? verifyTotpCode(user.totp_key, code) : await useRecoveryCode(db, userId, code);
	}
	if (!valid) {
		await audit(db, ctx, { action: 'auth.2fa_failed', targetType: 'user', targetId: userId, details: { kind } });
		return 'invalid';
	}
	await markSessionTwoFactorVerified(db, sessionId);
	if (kind === 'recovery') await audit(db, ctx, { action: 'auth.recovery_code_used', targetType: 'user', targetId: userId });
	await audit(db, ctx, { action: 'auth.2fa_verified', targetType: 'user', targetId: userId });
	return 'ok';
}
