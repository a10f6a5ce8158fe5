import { getDb } from '$lib/server/db';
import { requireActor } from '$lib/server/request';
import { rcpOverview } from '$lib/server/rcp/overview';

/** How far ahead the overview looks. */
const DAYS_AHEAD = 62;

// Every upcoming and live RCP of the microstructures the actor works in or coordinates (quorum,
// cases pending, clashes, a one-click way in), and the bare schedule of those whose secretariat
// they are.
export async function load(event) {
	const { actor } = requireActor(event);
	const now = new Date();
	return { sessions: await rcpOverview(getDb(), actor, now, new Date(now.getTime() + DAYS_AHEAD * 86400_000)) };
}
