import { z } from 'zod';
import { getDb, type Db } from '$lib/server/db';
import { can, type Actor } from '$lib/server/access/policy';
import { listNetworksFor } from '$lib/server/org/networks';
import { searchAudit } from '$lib/server/audit/audit';
import { isUuid } from '$lib/server/org/microstructures';
import { namePatients } from '$lib/server/patients/names';
import { auditContext, notFound, requireActor } from '$lib/server/request';
import type { AuditContext } from '$lib/server/audit/audit';

const PAGE_SIZE = 50;

const filterSchema = z.object({
	network: z.uuid().optional().catch(undefined),
	action: z.string().max(60).regex(/^[a-z0-9_.]*$/).optional().catch(undefined),
	from: z.iso.date().optional().catch(undefined),
	to: z.iso.date().optional().catch(undefined),
	page: z.coerce.number().int().min(0).max(10_000).optional().catch(0)
});

export async function load(event) {
	const { actor } = requireActor(event);
	const db = getDb();
	const networks = (await listNetworksFor(db, actor)).filter((n) => can(actor, 'network.audit', { networkId: n.id }));
	if (networks.length === 0 && !actor.platformAdmin) notFound();
	const f = filterSchema.parse(Object.fromEntries(event.url.searchParams));
	const allowed = networks.map((n) => n.id);
	const networkIds = f.network && allowed.includes(f.network) ? [f.network] : actor.platformAdmin ? 'all' : allowed;
	const page = f.page ?? 0;
	const rows = await searchAudit(db, {
		networkIds,
		action: f.action || undefined,
		from: f.from ? new Date(`${f.from}T00:00:00`) : undefined,
		to: f.to ? new Date(new Date(`${f.to}T00:00:00`).getTime() + 24 * 3600 * 1000) : undefined,
		limit: PAGE_SIZE + 1,
		offset: page * PAGE_SIZE
	});
	const shown = rows.slice(0, PAGE_SIZE);
	const names = await targetNames(db, auditContext(event), actor, shown);
	return {
		networks: networks.map((n) => ({ id: n.id, name: n.name })),
		filter: { network: f.network ?? '', action: f.action ?? '', from: f.from ?? '', to: f.to ?? '' },
		page,
		hasMore: rows.length > PAGE_SIZE,
		events: shown.map((r) => ({
			id: r.id,
			at: r.at,
			action: r.action,
			targetType: r.target_type,
			target: names.get(`${r.target_type}:${r.target_id}`) ?? null,
			who: r.first_name ? `${r.first_name} ${r.last_name}` : null,
			ip: r.ip
		}))
	};
}

/**
 * What each row's target is called, for this reader: a patient by name and code when the policy
 * lets them read that patient (the names shown are audited), by code otherwise; people, places and
 * sessions by name. One query per kind of target on the page, run together.
 */
async function targetNames(db: Db, ctx: AuditContext, actor: Actor, rows: { target_type: string; target_id: string }[]): Promise<Map<string, string>> {
	const idsOf = (type: string) => [...new Set(rows.filter((r) => r.target_type === type && isUuid(r.target_id)).map((r) => r.target_id))];
	const [patients, users, microstructures, networks, sessions, series] = await Promise.all([
		namePatients(db, ctx, actor, idsOf('patient'), 'audit_log'),
		lookup(idsOf('user'), (ids) => db.selectFrom('app_user').select(['id', 'first_name', 'last_name']).where('id', 'in', ids).execute(), (u) => `${u.first_name} ${u.last_name}`),
		lookup(idsOf('microstructure'), (ids) => db.selectFrom('microstructure').select(['id', 'name']).where('id', 'in', ids).execute(), (m) => m.name),
		lookup(idsOf('network'), (ids) => db.selectFrom('network').select(['id', 'name']).where('id', 'in', ids).execute(), (n) => n.name),
		lookup(
			idsOf('rcp_session'),
			(ids) => db.selectFrom('rcp_session as s').innerJoin('microstructure as ms', 'ms.id', 's.microstructure_id').select(['s.id', 's.title', 'ms.name']).where('s.id', 'in', ids).execute(),
			(s) => `${s.title} — ${s.name}`
		),
		lookup(idsOf('rcp_series'), (ids) => db.selectFrom('rcp_series').select(['id', 'title']).where('id', 'in', ids).execute(), (s) => s.title)
	]);
	const names = new Map<string, string>();
	for (const [id, p] of patients) names.set(`patient:${id}`, p.name ? `${p.name} (${p.code})` : p.code);
	for (const [type, found] of [['user', users], ['microstructure', microstructures], ['network', networks], ['rcp_session', sessions], ['rcp_series', series]] as const) {
		for (const [id, name] of found) names.set(`${type}:${id}`, name);
	}
	for (const r of rows) if (r.target_type === 'email') names.set(`email:${r.target_id}`, r.target_id);
	return names;
}

async function lookup<R extends { id: string }>(ids: string[], query: (ids: string[]) => Promise<R[]>, name: (row: R) => string): Promise<Map<string, string>> {
	if (ids.length === 0) return new Map();
	return new Map((await query(ids)).map((r) => [r.id, name(r)]));
}
