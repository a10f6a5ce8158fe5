import { sql } from 'kysely';
import type { Db } from '../db/index.ts';
import type { Programme } from '../db/schema.ts';
import type { Actor, MicrostructureRef } from '../access/policy.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(value: string): boolean {
	return UUID.test(value);
}

export async function getMicrostructureRef(db: Db, id: string): Promise<MicrostructureRef | null> {
	if (!isUuid(id)) return null;
	const row = await db
		.selectFrom('microstructure')
		.select(['id', 'network_id'])
		.where('id', '=', id)
		.where('archived_at', 'is', null)
		.executeTakeFirst();
	return row ? { id: row.id, networkId: row.network_id } : null;
}

export async function getMicrostructure(db: Db, id: string) {
	if (!isUuid(id)) return undefined;
	const ms = await db
		.selectFrom('microstructure as ms')
		.innerJoin('network as n', 'n.id', 'ms.network_id')
		.select(['ms.id', 'ms.name', 'ms.programmes', 'ms.practice_kind', 'ms.city', 'ms.network_id', 'n.name as network_name'])
		.where('ms.id', '=', id)
		.where('ms.archived_at', 'is', null)
		.executeTakeFirst();
	if (!ms) return undefined;
	const sites = await db
		.selectFrom('site')
		.select(['id', 'name', 'address', 'postal_code', 'city'])
		.where('microstructure_id', '=', id)
		.orderBy('name')
		.execute();
	const rooms = sites.length
		? await db
				.selectFrom('room')
				.select(['id', 'site_id', 'name'])
				.where(
					'site_id',
					'in',
					sites.map((s) => s.id)
				)
				.orderBy('name')
				.execute()
		: [];
	return { ...ms, sites: sites.map((s) => ({ ...s, rooms: rooms.filter((r) => r.site_id === s.id) })) };
}

/** The microstructures an actor works in or coordinates, for the switcher and the home page. */
export async function listVisibleMicrostructures(db: Db, actor: Actor) {
	const query = visibleMicrostructuresQuery(db, actor);
	if (!query) return [];
	const rows = await query.execute();
	return rows.map((r) => ({ ...r, role: actor.microstructures.find((m) => m.id === r.id)?.role ?? null }));
}

/** listVisibleMicrostructures' query (without the actor's role), null when the actor sees none. */
export function visibleMicrostructuresQuery(db: Db, actor: Actor) {
	const direct = actor.microstructures.map((m) => m.id);
	const networks = actor.platformAdmin ? null : actor.networks.map((n) => n.id);
	if (networks && direct.length === 0 && networks.length === 0) return null;
	return db
		.selectFrom('microstructure as ms')
		.innerJoin('network as n', 'n.id', 'ms.network_id')
		.select(['ms.id', 'ms.name', 'ms.programmes', 'ms.city', 'ms.network_id', 'n.name as network_name'])
		.where('ms.archived_at', 'is', null)
		.$if(networks !== null, (q) =>
			q.where((eb) =>
				eb.or([
					// Array parameters rather than IN lists: one text whatever the counts (prepared in the navigation).
					...(direct.length ? [eb('ms.id', '=', sql<string>`any(${direct}::uuid[])`)] : []),
					...(networks!.length ? [eb('ms.network_id', '=', sql<string>`any(${networks}::uuid[])`)] : [])
				])
			)
		)
		.orderBy('n.name')
		.orderBy('ms.name');
}

export interface NewMicrostructure {
	networkId: string;
	name: string;
	programmes: Programme[];
	practiceKind: 'cabinet' | 'msp' | 'centre_de_sante';
	city: string;
	site?: { name: string; address: string; postalCode: string; city: string; rooms: string[] };
}

export async function createMicrostructure(db: Db, m: NewMicrostructure): Promise<string> {
	return db.transaction().execute(async (trx) => {
		const { id } = await trx
			.insertInto('microstructure')
			.values({
				network_id: m.networkId,
				name: m.name,
				programmes: m.programmes,
				practice_kind: m.practiceKind,
				city: m.city,
				archived_at: null
			})
			.returning('id')
			.executeTakeFirstOrThrow();
		if (m.site) {
			const site = await trx
				.insertInto('site')
				.values({
					microstructure_id: id,
					name: m.site.name,
					address: m.site.address,
					postal_code: m.site.postalCode,
					city: m.site.city
				})
				.returning('id')
				.executeTakeFirstOrThrow();
			if (m.site.rooms.length) {
				await trx
					.insertInto('room')
					.values(m.site.rooms.map((name) => ({ site_id: site.id, name })))
					.execute();
			}
		}
		return id;
	});
}
