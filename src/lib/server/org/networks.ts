import type { Db } from '../db/index.ts';
import type { Actor } from '../access/policy.ts';
import { isUuid } from './microstructures.ts';

export async function createNetwork(db: Db, n: { name: string; territory: string }): Promise<string> {
	const row = await db.insertInto('network').values({ name: n.name, territory: n.territory }).returning('id').executeTakeFirstOrThrow();
	return row.id;
}

export function getNetwork(db: Db, id: string) {
	if (!isUuid(id)) return Promise.resolve(undefined);
	return db.selectFrom('network').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Networks the actor belongs to (all of them for a platform administrator). */
export function listNetworksFor(db: Db, actor: Actor) {
	const ids = actor.networks.map((n) => n.id);
	if (!actor.platformAdmin && ids.length === 0) return Promise.resolve([]);
	return db
		.selectFrom('network as n')
		.select(['n.id', 'n.name', 'n.territory'])
		.select((eb) =>
			eb
				.selectFrom('microstructure')
				.select(eb.fn.countAll<string>().as('c'))
				.whereRef('network_id', '=', 'n.id')
				.where('archived_at', 'is', null)
				.as('microstructure_count')
		)
		.$if(!actor.platformAdmin, (q) => q.where('n.id', 'in', ids))
		.orderBy('n.name')
		.execute();
}
