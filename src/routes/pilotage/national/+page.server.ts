import { can } from '$lib/server/access/policy';
import { audit } from '$lib/server/audit/audit';
import { computeIndicators } from '$lib/server/cockpit/indicators';
import { parseIndicatorQuery } from '$lib/server/cockpit/indicators-filter';
import { getDb } from '$lib/server/db';
import { parisToday } from '$lib/server/patients/lifecycle';
import { auditContext, notFound, requireActor } from '$lib/server/request';

// The national cockpit (platform admin, 'cockpit.national'): the same indicators one network at a
// time and in total; the network filter replaces the microstructure one. 404 for anyone else. No
// patient-level data is shown (networks are the units), so the view is audited without patients.
export async function load(event) {
	const { actor } = requireActor(event);
	if (!can(actor, 'cockpit.national')) notFound();
	const db = getDb();
	const networks = await db.selectFrom('network').select(['id', 'name']).orderBy('name').orderBy('id').execute();
	const today = parisToday();
	const query = parseIndicatorQuery(event.url.searchParams, { allowedIds: networks.map((n) => n.id), idParam: 'reseau', today, locale: event.locals.locale });
	if (!query.ok || networks.length === 0) return { networks, values: query.values, errors: query.ok ? {} : query.errors, indicators: null, today };
	const microstructureIds = (
		await db.selectFrom('microstructure').select('id').where('network_id', 'in', query.ids).where('archived_at', 'is', null).execute()
	).map((m) => m.id);
	const indicators = await computeIndicators(db, { microstructureIds, from: query.from, to: query.to, programme: query.programme, groupBy: 'network' });
	await audit(db, auditContext(event), {
		action: 'cockpit.viewed',
		targetType: 'network',
		targetId: 'national',
		details: { from: query.from, to: query.to, programme: query.programme, networkIds: query.ids }
	});
	return { networks, values: query.values, errors: {}, indicators, today };
}
