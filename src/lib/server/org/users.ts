import type { Db } from '../db/index.ts';
import type { Profession } from '../db/schema.ts';
import { hashPassword } from '../auth/password.ts';

export function normaliseEmail(email: string): string {
	return email.trim().toLowerCase();
}

export function findUserByEmail(db: Db, email: string) {
	return db
		.selectFrom('app_user')
		.selectAll()
		.where((eb) => eb(eb.fn('lower', ['email']), '=', normaliseEmail(email)))
		.executeTakeFirst();
}

export function getUser(db: Db, id: string) {
	return db.selectFrom('app_user').selectAll().where('id', '=', id).executeTakeFirst();
}

export interface NewUser {
	email: string;
	firstName: string;
	lastName: string;
	profession: Profession;
	password: string;
	rpps?: string | null;
	platformAdmin?: boolean;
}

export async function createUser(db: Db, u: NewUser): Promise<string> {
	const row = await db
		.insertInto('app_user')
		.values({
			email: normaliseEmail(u.email),
			first_name: u.firstName.trim(),
			last_name: u.lastName.trim(),
			profession: u.profession,
			rpps: u.rpps ?? null,
			adeli: null,
			password_hash: await hashPassword(u.password),
			totp_key: null,
			disabled_at: null,
			platform_admin: u.platformAdmin ?? false
		})
		.returning('id')
		.executeTakeFirstOrThrow();
	return row.id;
}

export async function setPassword(db: Db, userId: string, password: string): Promise<void> {
	await db
		.updateTable('app_user')
		.set({ password_hash: await hashPassword(password) })
		.where('id', '=', userId)
		.execute();
}

export async function setTotpKey(db: Db, userId: string, key: Uint8Array | null): Promise<void> {
	await db.updateTable('app_user').set({ totp_key: key }).where('id', '=', userId).execute();
}

export async function updateProfile(
	db: Db,
	userId: string,
	p: { firstName: string; lastName: string; rpps: string | null; adeli: string | null; locale: 'fr' | 'en' }
): Promise<void> {
	await db
		.updateTable('app_user')
		.set({ first_name: p.firstName, last_name: p.lastName, rpps: p.rpps, adeli: p.adeli, locale: p.locale })
		.where('id', '=', userId)
		.execute();
}
