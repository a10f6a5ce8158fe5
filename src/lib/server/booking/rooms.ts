// Rooms of a microstructure's sites (shared by its professionals; a permanence or one occurrence
// holds one) and the site's phone number, printed in reminders for patients who need to cancel.
// Rooms are archived, never deleted: past occurrences and appointments keep pointing at them.
import { sql } from 'kysely';
import { inTransaction, type Db } from '../db/index.ts';
import type { MicrostructureRef } from '../access/policy.ts';
import { audit } from '../audit/audit.ts';
import { isUuid } from '../org/microstructures.ts';
import type { Ctx, Result } from './permanences.ts';

export const ROOM_NAME_MAX = 60;

export interface SiteWithRooms {
	id: string;
	name: string;
	address: string;
	city: string;
	phone: string;
	rooms: { id: string; name: string; archived: boolean }[];
}

export async function listSites(db: Db, msId: string, opts: { withArchived?: boolean } = {}): Promise<SiteWithRooms[]> {
	const sites = await db.selectFrom('site').select(['id', 'name', 'address', 'city', 'phone']).where('microstructure_id', '=', msId).orderBy('name').execute();
	if (sites.length === 0) return [];
	let q = db
		.selectFrom('room')
		.select(['id', 'site_id', 'name', 'archived_at'])
		.where(
			'site_id',
			'in',
			sites.map((s) => s.id)
		);
	if (!opts.withArchived) q = q.where('archived_at', 'is', null);
	const rooms = await q.orderBy('name').execute();
	return sites.map((s) => ({ ...s, rooms: rooms.filter((r) => r.site_id === s.id).map((r) => ({ id: r.id, name: r.name, archived: r.archived_at !== null })) }));
}

/** The live rooms of a microstructure, "Site — Salle" when it has several sites. */
export async function roomChoices(db: Db, msId: string): Promise<{ id: string; label: string }[]> {
	const sites = await listSites(db, msId);
	return sites.flatMap((s) => s.rooms.map((r) => ({ id: r.id, label: sites.length > 1 ? `${s.name} — ${r.name}` : r.name })));
}

function cleanName(name: string): string | null {
	const n = name.trim().replace(/\s+/g, ' ');
	return n.length >= 1 && n.length <= ROOM_NAME_MAX ? n : null;
}

function isUniqueViolation(e: unknown): boolean {
	return typeof e === 'object' && e !== null && (e as { code?: string }).code === '23505';
}

async function siteOf(db: Db, ms: MicrostructureRef, siteId: string) {
	if (!isUuid(siteId)) return undefined;
	return db.selectFrom('site').select(['id', 'name', 'phone']).where('id', '=', siteId).where('microstructure_id', '=', ms.id).executeTakeFirst();
}

async function roomOf(db: Db, ms: MicrostructureRef, roomId: string, lock = false) {
	if (!isUuid(roomId)) return undefined;
	let q = db
		.selectFrom('room as r')
		.innerJoin('site as s', 's.id', 'r.site_id')
		.select(['r.id', 'r.name', 'r.site_id', 'r.archived_at'])
		.where('r.id', '=', roomId)
		.where('s.microstructure_id', '=', ms.id);
	if (lock) q = q.forUpdate('r');
	return q.executeTakeFirst();
}

export async function createRoom(db: Db, ctx: Ctx, ms: MicrostructureRef, siteId: string, name: string): Promise<Result<{ id: string }>> {
	const clean = cleanName(name);
	if (!clean) return { ok: false, error: `Le nom d’une salle compte de 1 à ${ROOM_NAME_MAX} caractères.` };
	const site = await siteOf(db, ms, siteId);
	if (!site) return { ok: false, error: 'Site introuvable dans cette microstructure.' };
	try {
		return await inTransaction(db, async (trx) => {
			const r = await trx.insertInto('room').values({ site_id: site.id, name: clean, archived_at: null }).returning('id').executeTakeFirstOrThrow();
			await audit(trx, ctx, { action: 'room.created', targetType: 'room', targetId: r.id, microstructureId: ms.id, networkId: ms.networkId, details: { name: clean, siteId: site.id } });
			return { ok: true as const, id: r.id };
		});
	} catch (e) {
		if (isUniqueViolation(e)) return { ok: false, error: `Une salle «\u00a0${clean}\u00a0» existe déjà sur ce site.` };
		throw e;
	}
}

export async function renameRoom(db: Db, ctx: Ctx, ms: MicrostructureRef, roomId: string, name: string): Promise<Result> {
	const clean = cleanName(name);
	if (!clean) return { ok: false, error: `Le nom d’une salle compte de 1 à ${ROOM_NAME_MAX} caractères.` };
	try {
		return await inTransaction(db, async (trx) => {
			const room = await roomOf(trx, ms, roomId, true);
			if (!room || room.archived_at) return { ok: false as const, error: 'Salle introuvable.' };
			await trx.updateTable('room').set({ name: clean }).where('id', '=', room.id).execute();
			await audit(trx, ctx, { action: 'room.renamed', targetType: 'room', targetId: room.id, microstructureId: ms.id, networkId: ms.networkId, details: { from: room.name, to: clean } });
			return { ok: true as const };
		});
	} catch (e) {
		if (isUniqueViolation(e)) return { ok: false, error: `Une salle «\u00a0${clean}\u00a0» existe déjà sur ce site.` };
		throw e;
	}
}

/**
 * Archives a room nobody holds any more. Refused while a running series or a future live occurrence
 * uses it (the room row is locked, and occurrences are checked in the same transaction).
 */
export async function archiveRoom(db: Db, ctx: Ctx, ms: MicrostructureRef, roomId: string, now = new Date()): Promise<Result> {
	return inTransaction(db, async (trx) => {
		const room = await roomOf(trx, ms, roomId, true);
		if (!room || room.archived_at) return { ok: false as const, error: 'Salle introuvable.' };
		const used = await trx
			.selectFrom('permanence_occurrence')
			.select((e) => e.fn.countAll<string>().as('n'))
			.where('room_id', '=', room.id)
			.where('cancelled_at', 'is', null)
			.where('ends_at', '>', now)
			.executeTakeFirstOrThrow();
		const series = await trx
			.selectFrom('permanence')
			.select((e) => e.fn.countAll<string>().as('n'))
			.where('room_id', '=', room.id)
			// A series that would still generate occurrences in this room (past its generated rows).
			.where(sql<boolean>`(ends_on is null or ends_on > coalesce((select max(o.on_date) from permanence_occurrence o where o.permanence_id = permanence.id), current_date))`)
			.executeTakeFirstOrThrow();
		if (Number(used.n) > 0 || Number(series.n) > 0) {
			return { ok: false as const, error: `La salle «\u00a0${room.name}\u00a0» est encore prévue pour ${Number(used.n)}\u00a0permanence(s) à venir\u00a0: changez-en la salle d’abord.` };
		}
		await trx.updateTable('room').set({ archived_at: now }).where('id', '=', room.id).execute();
		await audit(trx, ctx, { action: 'room.archived', targetType: 'room', targetId: room.id, microstructureId: ms.id, networkId: ms.networkId, details: { name: room.name } });
		return { ok: true as const };
	});
}

/** A French phone number as people write it: digits, spaces, dots, dashes, a leading +. */
export function cleanPhone(phone: string): string | null {
	const p = phone.trim().replace(/\s+/g, ' ');
	if (p === '') return '';
	if (!/^\+?[0-9][0-9 .-]{8,20}$/.test(p)) return null;
	const digits = p.replace(/\D/g, '');
	return digits.length >= 9 && digits.length <= 15 ? p : null;
}

export async function setSitePhone(db: Db, ctx: Ctx, ms: MicrostructureRef, siteId: string, phone: string): Promise<Result> {
	const clean = cleanPhone(phone);
	if (clean === null) return { ok: false, error: 'Numéro de téléphone invalide (par exemple 03 88 12 34 56).' };
	const site = await siteOf(db, ms, siteId);
	if (!site) return { ok: false, error: 'Site introuvable dans cette microstructure.' };
	await inTransaction(db, async (trx) => {
		await trx.updateTable('site').set({ phone: clean }).where('id', '=', site.id).execute();
		await audit(trx, ctx, { action: 'site.phone_changed', targetType: 'site', targetId: site.id, microstructureId: ms.id, networkId: ms.networkId, details: { from: site.phone, to: clean } });
	});
	return { ok: true };
}
