import { getDb } from '$lib/server/db';
import { audit } from '$lib/server/audit/audit';
import { cockpitNetwork } from '$lib/server/cockpit/guard';
import { auditContext, notFound } from '$lib/server/request';
import { evaluationCsv, evaluationRows, parsePeriod } from '$lib/server/cockpit/evaluation';
import { periodRefusal } from '../period';

// The pseudonymised rows of the evaluation export (one per inclusion of the period), audited.
export async function GET(event) {
	const { user, actor, network } = await cockpitNetwork(event, 'cockpit.reports');
	const parsed = parsePeriod(event.url.searchParams, event.locals.locale);
	if (!parsed.ok) return periodRefusal(parsed.errors);
	const db = getDb();
	const rows = await evaluationRows(db, actor, network.id, parsed.period);
	if (!rows) notFound();
	await audit(db, { ...auditContext(event), actorId: user.id }, {
		action: 'evaluation.exported',
		targetType: 'network',
		targetId: network.id,
		networkId: network.id,
		details: { kind: 'rows', from: parsed.period.from, to: parsed.period.to, rows: rows.length }
	});
	return new Response(evaluationCsv(rows, parsed.period, network.name, event.locals.locale), {
		headers: {
			'content-type': 'text/csv; charset=utf-8',
			'content-disposition': `attachment; filename="evaluation-${parsed.period.from}-${parsed.period.to}.csv"`,
			'cache-control': 'no-store'
		}
	});
}
