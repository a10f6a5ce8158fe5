import { can } from '$lib/server/access/policy';
import { cockpitNetwork, cockpitNetworkIds } from '$lib/server/cockpit/guard';
import { getDb } from '$lib/server/db';

// Every cockpit page: the network (404 for anyone who may not see its cockpit), its microstructures
// for the filters, the tabs this coordinator may open, and the other networks they coordinate.
export async function load(event) {
	const { actor, network } = await cockpitNetwork(event);
	const db = getDb();
	const others = cockpitNetworkIds(actor).filter((id) => id !== network.id);
	const [microstructures, otherNetworks] = await Promise.all([
		db
			.selectFrom('microstructure')
			.select(['id', 'name', 'programmes', 'psychologist_funding'])
			.where('network_id', '=', network.id)
			.where('archived_at', 'is', null)
			.orderBy('name')
			.execute(),
		others.length ? db.selectFrom('network').select(['id', 'name']).where('id', 'in', others).orderBy('name').execute() : Promise.resolve([])
	]);
	return {
		network: { id: network.id, name: network.name },
		microstructures,
		otherNetworks,
		tabs: {
			alerts: can(actor, 'cockpit.alerts', { networkId: network.id }),
			billing: can(actor, 'billing.manage', { networkId: network.id }),
			reports: can(actor, 'cockpit.reports', { networkId: network.id })
		}
	};
}
