// Loads the network of a cockpit page or action, answering 404 when it does not exist or when the
// actor may not act on it (as for any resource: a refusal looks like absence).
import type { RequestEvent } from '@sveltejs/kit';
import { can, type Action } from '../access/policy.ts';
import { getDb } from '../db/index.ts';
import { getNetwork } from '../org/networks.ts';
import { notFound, requireActor } from '../request.ts';

export async function cockpitNetwork(event: RequestEvent, action: Extract<Action, 'cockpit.view' | 'cockpit.alerts' | 'cockpit.reports' | 'billing.manage'> = 'cockpit.view') {
	const { user, actor } = requireActor(event);
	const networkId = event.params.networkId ?? '';
	if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(networkId)) notFound();
	const network = await getNetwork(getDb(), networkId);
	if (!network || !can(actor, action, { networkId: network.id })) notFound();
	return { user, actor, network };
}

/** The networks whose cockpit the actor may open. */
export function cockpitNetworkIds(actor: Parameters<typeof can>[0]): string[] {
	return [...new Set(actor.networks.map((n) => n.id))].filter((id) => can(actor, 'cockpit.view', { networkId: id }));
}
