import { error } from '@sveltejs/kit';
import { } from '$lib/i18n';
import { withCockpit } from '$lib/i18n/cockpit';
import { audit } from '$lib/server/audit/audit';
import { cockpitNetwork } from '$lib/server/cockpit/guard';
import { computeIndicators } from '$lib/server/cockpit/indicators';
import { indicatorsCsv } from '$lib/server/cockpit/indicators-csv';
import { parseIndicatorQuery } from '$lib/server/cockpit/indicators-filter';
import { getDb } from '$lib/server/db';
import { parisToday } from '$lib/server/patients/lifecycle';
import { auditContext } from '$lib/server/request';

// The figures of the cockpit page as CSV (same query parameters; columns documented in
// indicators-csv.ts). Invalid filters answer 400 with the first French message.
export async function GET(event) {
	const { network } = await cockpitNetwork(event);
	const db = getDb();
	const microstructures = await db
		.selectFrom('microstructure')
		.select(['id'])
		.where('network_id', '=', network.id)
		.where('archived_at', 'is', null)
		.execute();
	const locale = event.locals.locale;
	const query = parseIndicatorQuery(event.url.searchParams, { allowedIds: microstructures.map((m) => m.id), idParam: 'ms', today: parisToday(), locale });
	if (!query.ok) error(400, { message: Object.values(query.errors)[0] ?? withCockpit(locale).cockpit.errors.title });
	const indicators = await computeIndicators(db, { microstructureIds: query.ids, from: query.from, to: query.to, programme: query.programme });
	await audit(db, auditContext(event), {
		action: 'cockpit.exported',
		targetType: 'network',
		targetId: network.id,
		networkId: network.id,
		details: { from: query.from, to: query.to, programme: query.programme, microstructureIds: query.ids }
	});
	const filename = `pilotage-${query.from}-${query.to}.csv`;
	return new Response(indicatorsCsv(indicators, withCockpit(locale).cockpit), {
		headers: { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${filename}"` }
	});
}
