import { audit } from '$lib/server/audit/audit';
import { cockpitNetwork } from '$lib/server/cockpit/guard';
import { computeIndicators } from '$lib/server/cockpit/indicators';
import { parseIndicatorQuery } from '$lib/server/cockpit/indicators-filter';
import { getDb } from '$lib/server/db';
import { parisToday } from '$lib/server/patients/lifecycle';
import { auditContext } from '$lib/server/request';

// The network's indicators over the period chosen in the GET form (default: this calendar year up to
// today, every microstructure). Invalid filters are answered with their messages and nothing is
// computed. Each view is audited once, with the overdue patients whose codes the page shows.
export async function load(event) {
	const { network } = await cockpitNetwork(event);
	const { microstructures } = await event.parent();
	const today = parisToday();
	const query = parseIndicatorQuery(event.url.searchParams, {
		allowedIds: microstructures.map((m) => m.id),
		idParam: 'ms',
		today,
		locale: event.locals.locale
	});
	if (!query.ok) return { values: query.values, errors: query.errors, indicators: null, today };
	if (microstructures.length === 0) return { values: query.values, errors: {}, indicators: null, today };
	const db = getDb();
	const indicators = await computeIndicators(db, { microstructureIds: query.ids, from: query.from, to: query.to, programme: query.programme });
	await audit(db, auditContext(event), {
		action: 'cockpit.viewed',
		targetType: 'network',
		targetId: network.id,
		networkId: network.id,
		details: {
			from: query.from,
			to: query.to,
			programme: query.programme,
			microstructureIds: query.ids,
			overduePatientIds: indicators.units.flatMap((u) => u.rcp.overduePatientIds)
		}
	});
	// The ids only served the audit: the page shows the codes.
	for (const u of indicators.units) u.rcp.overduePatientIds = [];
	return { values: query.values, errors: {}, indicators, today };
}
