// TOTP two-factor authentication (RFC 6238) and single-use recovery codes.
import { timingSafeEqual } from 'node:crypto';
import { sql } from 'kysely';
import { createTOTPKeyURI, generateHOTP } from '@oslojs/otp';
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeBase32UpperCaseNoPadding, encodeHexLowerCase } from '@oslojs/encoding';
import { renderSVG } from 'uqr';
import type { Db } from '../db/index.ts';

const ISSUER = 'Microstructures';
const RECOVERY_CODE_COUNT = 8;

export function generateTotpKey(): Uint8Array {
	return crypto.getRandomValues(new Uint8Array(20));
}

export function totpEnrolment(key: Uint8Array, accountName: string) {
	const uri = createTOTPKeyURI(ISSUER, accountName, key, 30, 6);
	return { uri, qrSvg: renderSVG(uri), secret: encodeBase32UpperCaseNoPadding(key) };
}

const STEP_SECONDS = 30;

export function currentTotpStep(now = Date.now()): bigint {
	return BigInt(Math.floor(now / 1000 / STEP_SECONDS));
}

/**
 * The time step whose code this is, among the previous, current and next 30-second steps (phone
 * clocks drift), or null. Every candidate is compared, in constant time.
 */
export function matchTotpStep(key: Uint8Array, code: string, now = Date.now()): bigint | null {
	const digits = code.replace(/\s/g, '');
	if (!/^\d{6}$/.test(digits)) return null;
	const typed = Buffer.from(digits);
	const current = currentTotpStep(now);
	let found: bigint | null = null;
	for (const step of [current - 1n, current, current + 1n]) {
		if (timingSafeEqual(Buffer.from(generateHOTP(key, step, 6)), typed)) found = step;
	}
	return found;
}

export function verifyTotpCode(key: Uint8Array, code: string): boolean {
	return matchTotpStep(key, code) !== null;
}

export type TotpCheck = 'ok' | 'invalid' | 'replayed';

/**
 * Accepts a TOTP code once: only for a time step later than the last one accepted for this user,
 * recorded by the same statement, so two requests with the same code cannot both pass.
 */
export async function consumeTotpCode(db: Db, userId: string, code: string): Promise<TotpCheck> {
	const user = await db.selectFrom('app_user').select('totp_key').where('id', '=', userId).executeTakeFirst();
	if (!user?.totp_key) return 'invalid';
	const step = matchTotpStep(user.totp_key, code);
	if (step === null) return 'invalid';
	const row = await db
		.updateTable('app_user')
		.set({ totp_last_step: String(step) })
		.where('id', '=', userId)
		.where('totp_key', '=', user.totp_key)
		.where(sql<boolean>`coalesce(totp_last_step, -1) < ${String(step)}::bigint`)
		.returning('id')
		.executeTakeFirst();
	return row ? 'ok' : 'replayed';
}

function hashRecoveryCode(code: string): string {
	const normalised = code.replace(/[\s-]/g, '').toUpperCase();
	return encodeHexLowerCase(sha256(new TextEncoder().encode(normalised)));
}

/** Replaces the user's recovery codes; returns the new codes, shown once. */
export async function regenerateRecoveryCodes(db: Db, userId: string): Promise<string[]> {
	const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => {
		const raw = encodeBase32UpperCaseNoPadding(crypto.getRandomValues(new Uint8Array(5)));
		return `${raw.slice(0, 4)}-${raw.slice(4, 8)}`;
	});
	await db.transaction().execute(async (trx) => {
		await trx.deleteFrom('recovery_code').where('user_id', '=', userId).execute();
		await trx
			.insertInto('recovery_code')
			.values(codes.map((c) => ({ user_id: userId, code_hash: hashRecoveryCode(c) })))
			.execute();
	});
	return codes;
}

/** Consumes one recovery code; true when it was valid and unused. */
export async function useRecoveryCode(db: Db, userId: string, code: string): Promise<boolean> {
	const result = await db
		.updateTable('recovery_code')
		.set({ used_at: new Date() })
		.where('user_id', '=', userId)
		.where('code_hash', '=', hashRecoveryCode(code))
		.where('used_at', 'is', null)
		.executeTakeFirst();
	return Number(result.numUpdatedRows) === 1;
}

export async function remainingRecoveryCodes(db: Db, userId: string): Promise<number> {
	const row = await db
		.selectFrom('recovery_code')
		.select((eb) => eb.fn.countAll<number>().as('n'))
		.where('user_id', '=', userId)
		.where('used_at', 'is', null)
		.executeTakeFirstOrThrow();
	return Number(row.n);
}
