import { sql } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import { executePrepared, getDb } from '$lib/server/db';
import { visibleMicrostructuresQuery } from '$lib/server/org/microstructures';
import { can } from '$lib/server/access/policy';
import { unreadCountQuery } from '$lib/server/notifications/notifications';
import { unreadTotalQuery } from '$lib/server/messaging/conversations';
import { cockpitNetworkIds } from '$lib/server/cockpit/guard';

export async function load({ locals }) {
	const { user, actor, locale } = locals;
	if (!user || !actor) return { user: null, locale, microstructures: [], adminNetworks: [], cockpitNetworks: [], unread: 0, messagesUnread: 0 };
	const db = getDb();
	// Every signed-in page asks this: one statement, one round trip (each part a subquery).
	const visible = visibleMicrostructuresQuery(db, actor);
	const networkIds = actor.networks.map((n) => n.id);
	const networks = actor.platformAdmin || networkIds.length ? db.selectFrom('network as n').select(['n.id', 'n.name']).$if(!actor.platformAdmin, (q) => q.where('n.id', '=', sql<string>`any(${networkIds}::uuid[])`)).orderBy('n.name') : null;
	const [row] = (await executePrepared(db, db
		.selectNoFrom([
			visible ? jsonArrayFrom(visible).as('microstructures') : sql<{ id: string; name: string; network_name: string }[]>`'[]'::json`.as('microstructures'),
			networks ? jsonArrayFrom(networks).as('networks') : sql<{ id: string; name: string }[]>`'[]'::json`.as('networks'),
			unreadCountQuery(db, user.id).as('unread'),
			// The messages badge (kept exact live by msg:unread afterwards).
			unreadTotalQuery(db, actor).as('messages_unread')
		]))).rows;
	return {
		user: { id: user.id, firstName: user.first_name, lastName: user.last_name, profession: user.profession },
		locale,
		microstructures: row.microstructures.map((m) => ({ id: m.id, name: m.name, networkName: m.network_name, role: actor.microstructures.find((a) => a.id === m.id)?.role ?? null })),
		adminNetworks: row.networks.filter((n) => can(actor, 'network.manage', { networkId: n.id })).map((n) => ({ id: n.id, name: n.name })),
		cockpitNetworks: cockpitNetworkIds(actor),
		platformAdmin: actor.platformAdmin,
		unread: Number(row.unread ?? 0),
		messagesUnread: Number(row.messages_unread ?? 0)
	};
}
