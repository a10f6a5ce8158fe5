import { getDb } from '$lib/server/db';
import { audit } from '$lib/server/audit/audit';
import { cockpitNetwork } from '$lib/server/cockpit/guard';
import { auditContext, notFound } from '$lib/server/request';
import { aggregateTables, aggregatesCsv, evaluationRows, networkMicrostructures, parsePeriod } from '$lib/server/cockpit/evaluation';
import { periodRefusal } from '../period';

// The aggregate tables of the evaluation export (statistical secret applied), audited.
export async function GET(event) {
	const { user, actor, network } = await cockpitNetwork(event, 'cockpit.reports');
	const parsed = parsePeriod(event.url.searchParams, event.locals.locale);
	if (!parsed.ok) return periodRefusal(parsed.errors);
	const db = getDb();
	const [rows, microstructures] = await Promise.all([evaluationRows(db, actor, network.id, parsed.period), networkMicrostructures(db, network.id)]);
	if (!rows) notFound();
	const tables = aggregateTables(rows, microstructures.filter((m) => m.archived_at === null));
	await audit(db, { ...auditContext(event), actorId: user.id }, {
		action: 'evaluation.exported',
		targetType: 'network',
		targetId: network.id,
		networkId: network.id,
		details: { kind: 'aggregates', from: parsed.period.from, to: parsed.period.to, inclusions: rows.length }
	});
	return new Response(aggregatesCsv(tables, parsed.period, network.name, event.locals.locale), {
		headers: {
			'content-type': 'text/csv; charset=utf-8',
			'content-disposition': `attachment; filename="evaluation-tableaux-${parsed.period.from}-${parsed.period.to}.csv"`,
			'cache-control': 'no-store'
		}
	});
}
