import { error } from '@sveltejs/kit';
import { } from '$lib/i18n';
import { withCockpit } from '$lib/i18n/cockpit';
import { can } from '$lib/server/access/policy';
import { audit } from '$lib/server/audit/audit';
import { computeIndicators } from '$lib/server/cockpit/indicators';
import { indicatorsCsv } from '$lib/server/cockpit/indicators-csv';
import { parseIndicatorQuery } from '$lib/server/cockpit/indicators-filter';
import { getDb } from '$lib/server/db';
import { parisToday } from '$lib/server/patients/lifecycle';
import { auditContext, notFound, requireActor } from '$lib/server/request';

// The national figures as CSV, one column per network (same parameters as the page).
export async function GET(event) {
	const { actor } = requireActor(event);
	if (!can(actor, 'cockpit.national')) notFound();
	const db = getDb();
	const locale = event.locals.locale;
	const networks = await db.selectFrom('network').select('id').execute();
	const query = parseIndicatorQuery(event.url.searchParams, { allowedIds: networks.map((n) => n.id), idParam: 'reseau', today: parisToday(), locale });
	if (!query.ok) error(400, { message: Object.values(query.errors)[0] ?? withCockpit(locale).cockpit.errors.title });
	const microstructureIds = query.ids.length
		? (await db.selectFrom('microstructure').select('id').where('network_id', 'in', query.ids).where('archived_at', 'is', null).execute()).map((m) => m.id)
		: [];
	const indicators = await computeIndicators(db, { microstructureIds, from: query.from, to: query.to, programme: query.programme, groupBy: 'network' });
	await audit(db, auditContext(event), {
		action: 'cockpit.exported',
		targetType: 'network',
		targetId: 'national',
		details: { from: query.from, to: query.to, programme: query.programme, networkIds: query.ids }
	});
	return new Response(indicatorsCsv(indicators, withCockpit(locale).cockpit), {
		headers: { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="pilotage-national-${query.from}-${query.to}.csv"` }
	});
}
