import { redirect } from '@sveltejs/kit';
import { cockpitNetworkIds } from '$lib/server/cockpit/guard';
import { notFound, requireActor } from '$lib/server/request';

// The cockpit opens on the coordinator's network (the first, for one who coordinates several; the
// tabs switch), or on the national view for the national coordination.
export function load(event) {
	const { actor } = requireActor(event);
	const ids = cockpitNetworkIds(actor);
	if (ids.length > 0) redirect(303, `/pilotage/${ids[0]}`);
	if (actor.platformAdmin) redirect(303, '/pilotage/national');
	notFound();
}
