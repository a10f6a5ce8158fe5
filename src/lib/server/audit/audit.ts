// The append-only audit log: who did what to which record, when, from where.
// The table refuses UPDATE and DELETE (trigger in migration 0001).
import { sql } from 'kysely';
import type { Db } from '../db/index.ts';
import { batched } from '../batch.ts';

export interface AuditContext {
	actorId: string | null;
	ip?: string | null;
	userAgent?: string | null;
}

export interface AuditEntry {
	action: string;
	targetType?: string;
	targetId?: string;
	microstructureId?: string | null;
	networkId?: string | null;
	details?: Record<string, unknown>;
}

export async function audit(db: Db, ctx: AuditContext, entry: AuditEntry): Promise<void> {
	await auditAll(db, ctx, [entry]);
}

/** Several entries in one statement (one commit): e.g. every patient of an RCP agenda read at once. */
export async function auditAll(db: Db, ctx: AuditContext, entries: AuditEntry[]): Promise<void> {
	await insertEvents(db, entries.map((entry) => ({ ctx, entry })));
}

/** The audit_event row of one entry. */
function auditRow(ctx: AuditContext, entry: AuditEntry) {
	return {
		actor_id: ctx.actorId,
		ip: ctx.ip ?? null,
		user_agent: ctx.userAgent?.slice(0, 300) ?? null,
		action: entry.action,
		target_type: entry.targetType ?? '',
		target_id: entry.targetId ?? '',
		microstructure_id: entry.microstructureId ?? null,
		network_id: entry.networkId ?? null,
		details: JSON.stringify(entry.details ?? {})
	};
}

async function insertEvents(db: Db, events: { ctx: AuditContext; entry: AuditEntry }[]): Promise<void> {
	if (events.length === 0) return;
	await db
		.insertInto('audit_event')
		.values(events.map(({ ctx, entry }) => auditRow(ctx, entry)))
		.execute();
}

/**
 * The entry's INSERT as a sub-statement of a larger statement (a data-modifying WITH): one row for
 * each row of `source`, a CTE of that statement. What is recorded and its audit row are then
 * committed together in one round trip, and no row is audited when `source` writes nothing.
 */
export function auditFrom(source: string, ctx: AuditContext, entry: AuditEntry) {
	const r = auditRow(ctx, entry);
	return sql`insert into audit_event (actor_id, ip, user_agent, action, target_type, target_id, microstructure_id, network_id, details)
		select ${r.actor_id}::uuid, ${r.ip}::text, ${r.user_agent}::text, ${r.action}::text, ${r.target_type}::text, ${r.target_id}::text,
			${r.microstructure_id}::uuid, ${r.network_id}::uuid, ${r.details}::jsonb
		from ${sql.table(source)}`;
}

/** Rows per INSERT at most (a statement has at most 65,535 parameters; a row takes 9). */
const QUEUE_BATCH = 1000;
const QUEUE_ATTEMPTS = 3;

/**
 * Audit events from hot paths: hundreds of editors opening their documents within seconds, each
 * opening a read of patient data. Each event is committed before its promise resolves (a read is
 * audited before the data leaves), but events arriving while an INSERT runs share the next one
 * (batched). A failed INSERT is tried again before its callers are told.
 */
export class AuditQueue {
	private readonly queue: ReturnType<typeof batched<{ ctx: AuditContext; entry: AuditEntry }, void>>;

	/** `max`: events per INSERT at most (fewer: their callers resume in smaller groups). */
	constructor(
		private readonly db: () => Db,
		max = QUEUE_BATCH
	) {
		this.queue = batched(async (events: { ctx: AuditContext; entry: AuditEntry }[]) => {
			for (let attempt = 1; ; attempt++) {
				try {
					await insertEvents(this.db(), events);
					return events.map(() => undefined);
				} catch (error) {
					if (attempt === QUEUE_ATTEMPTS) throw error;
					await new Promise((resolve) => setTimeout(resolve, 100 * 4 ** attempt));
				}
			}
		}, max);
	}

	record(ctx: AuditContext, entry: AuditEntry): Promise<void> {
		return this.queue.run({ ctx, entry });
	}

	/** Resolves once every event recorded so far is committed or has failed. */
	drain(): Promise<void> {
		return this.queue.drain();
	}
}

export interface AuditFilter {
	/** Limit to what concerns these networks (their microstructures and members). */
	networkIds: string[] | 'all';
	action?: string;
	actorId?: string;
	from?: Date;
	to?: Date;
	limit?: number;
	offset?: number;
}

export async function searchAudit(db: Db, filter: AuditFilter) {
	let q = db
		.selectFrom('audit_event as a')
		.leftJoin('app_user as u', 'u.id', 'a.actor_id')
		.select([
			'a.id',
			'a.at',
			'a.action',
			'a.target_type',
			'a.target_id',
			'a.microstructure_id',
			'a.ip',
			'a.details',
			'u.first_name',
			'u.last_name',
			'u.email'
		]);
	if (filter.networkIds !== 'all') {
		const ids = filter.networkIds.length ? filter.networkIds : ['00000000-0000-0000-0000-000000000000'];
		const members = db
			.selectFrom('membership as m')
			.leftJoin('microstructure as ms', 'ms.id', 'm.microstructure_id')
			.where((w) => w.or([w('m.network_id', 'in', ids), w('ms.network_id', 'in', ids)]));
		q = q.where((eb) =>
			eb.or([
				eb('a.network_id', 'in', ids),
				eb('a.microstructure_id', 'in', db.selectFrom('microstructure').select('id').where('network_id', 'in', ids)),
				// Events without a place (sign-in, account) concern the networks of the people involved;
				// an event that belongs to a place of another network does not, even when its actor or
				// target is also a member here.
				eb.and([
					eb('a.network_id', 'is', null),
					eb('a.microstructure_id', 'is', null),
					eb.or([
						eb('a.actor_id', 'in', members.select('m.user_id')),
						eb.and([
							eb('a.target_type', '=', 'user'),
							eb('a.target_id', 'in', members.select(sql<string>`m.user_id::text`.as('uid')))
						])
					])
				])
			])
		);
	}
	if (filter.action) q = q.where('a.action', 'like', `${filter.action}%`);
	if (filter.actorId) q = q.where('a.actor_id', '=', filter.actorId);
	if (filter.from) q = q.where('a.at', '>=', filter.from);
	if (filter.to) q = q.where('a.at', '<', filter.to);
	return q
		.orderBy('a.at', 'desc')
		.orderBy('a.id', 'desc')
		.limit(filter.limit ?? 50)
		.offset(filter.offset ?? 0)
		.execute();
}
