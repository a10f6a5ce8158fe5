import { sql } from 'kysely';
import type { Db } from '../db/index.ts';
import type { MembershipRole } from '../db/schema.ts';

export async function addMembership(
	db: Db,
	m: { userId: string; microstructureId?: string; networkId?: string; role: MembershipRole; createdBy: string | null; startsOn?: string }
): Promise<string> {
	const row = await db
		.insertInto('membership')
		.values({
			user_id: m.userId,
			microstructure_id: m.microstructureId ?? null,
			network_id: m.networkId ?? null,
			role: m.role,
			starts_on: m.startsOn,
			ends_on: null,
			created_by: m.createdBy,
			ended_by: null
		})
		.returning('id')
		.executeTakeFirstOrThrow();
	return row.id;
}

export function getMembership(db: Db, id: string) {
	return db.selectFrom('membership').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Ends a membership today. Returns false when it was already ended. */
export async function endMembership(db: Db, id: string, endedBy: string): Promise<boolean> {
	const result = await db
		.updateTable('membership')
		.set({ ends_on: sql`greatest(current_date, starts_on)`, ended_by: endedBy })
		.where('id', '=', id)
		// Already ended: an end date that is not later than the one we would set.
		.where((eb) => eb.or([eb('ends_on', 'is', null), eb('ends_on', '>', sql<string>`greatest(current_date, starts_on)`)]))
		.executeTakeFirst();
	return Number(result.numUpdatedRows) === 1;
}

/** Current and past members of a microstructure, current first. */
export function listMicrostructureMembers(db: Db, microstructureId: string) {
	return db
		.selectFrom('membership as m')
		.innerJoin('app_user as u', 'u.id', 'm.user_id')
		.select([
			'm.id',
			'm.role',
			'm.starts_on',
			'm.ends_on',
			'u.id as user_id',
			'u.first_name',
			'u.last_name',
			'u.email',
			'u.profession'
		])
		.select(sql<boolean>`m.starts_on <= current_date and (m.ends_on is null or m.ends_on > current_date)`.as('active'))
		.where('m.microstructure_id', '=', microstructureId)
		.orderBy(sql`m.ends_on is null`, 'desc')
		.orderBy('u.last_name')
		.execute();
}

/** Coordinators and administrators of a network. */
export function listNetworkMembers(db: Db, networkId: string) {
	return db
		.selectFrom('membership as m')
		.innerJoin('app_user as u', 'u.id', 'm.user_id')
		.select(['m.id', 'm.role', 'm.starts_on', 'm.ends_on', 'u.id as user_id', 'u.first_name', 'u.last_name', 'u.email', 'u.profession'])
		.select(sql<boolean>`m.starts_on <= current_date and (m.ends_on is null or m.ends_on > current_date)`.as('active'))
		.where('m.network_id', '=', networkId)
		.orderBy('u.last_name')
		.execute();
}

/** All active memberships of a user, with the place's name, for the profile page. */
export function listMembershipsOfUser(db: Db, userId: string) {
	return db
		.selectFrom('membership as m')
		.leftJoin('microstructure as ms', 'ms.id', 'm.microstructure_id')
		.leftJoin('network as n', (j) => j.on(sql<boolean>`n.id = coalesce(m.network_id, ms.network_id)`))
		.select(['m.id', 'm.role', 'm.starts_on', 'm.ends_on', 'ms.id as microstructure_id', 'ms.name as microstructure_name', 'n.name as network_name'])
		.where('m.user_id', '=', userId)
		.where(sql<boolean>`m.ends_on is null or m.ends_on > current_date`)
		.orderBy('n.name')
		.orderBy('ms.name')
		.execute();
}
