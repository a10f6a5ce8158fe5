import { getDb } from '$lib/server/db';
import { listVisibleMicrostructures } from '$lib/server/org/microstructures';
import { listNetworksFor } from '$lib/server/org/networks';
import { can } from '$lib/server/access/policy';
import { unreadCount } from '$lib/server/notifications/notifications';
import { unreadTotal } from '$lib/server/messaging/conversations';
import { cockpitNetworkIds } from '$lib/server/cockpit/guard';

export async function load({ locals }) {
	const { user, actor, locale } = locals;
	if (!user || !actor) return { user: null, locale, microstructures: [], adminNetworks: [], cockpitNetworks: [], unread: 0, messagesUnread: 0 };
	const db = getDb();
	const [microstructures, networks, unread, messagesUnread] = await Promise.all([
		listVisibleMicrostructures(db, actor),
		listNetworksFor(db, actor),
		unreadCount(db, user.id),
		// The messages badge (kept exact live by msg:unread afterwards).
		unreadTotal(db, actor)
	]);
	return {
		user: { id: user.id, firstName: user.first_name, lastName: user.last_name, profession: user.profession },
		locale,
		microstructures: microstructures.map((m) => ({ id: m.id, name: m.name, networkName: m.network_name, role: m.role })),
		adminNetworks: networks
			.filter((n) => can(actor, 'network.manage', { networkId: n.id }))
			.map((n) => ({ id: n.id, name: n.name })),
		cockpitNetworks: cockpitNetworkIds(actor),
		platformAdmin: actor.platformAdmin,
		unread,
		messagesUnread
	};
}
