// Conversations: a patient's thread, a microstructure's team conversation, direct and group
// conversations. Who may read one is decided by the policy (conversationAccess); this module turns
// ids into what the policy needs, lists what an actor reads with unread counts, and computes the
// audience a new message is delivered to.
import { sql } from 'kysely';
import { executePrepared, type Db } from '../db/index.ts';
import type { ConversationKind } from '../db/schema.ts';
import {
	conversationAccess,
	conversationScope,
	activeMembership,
	actorFrom,
	actorMemberships,
	loadActors,
	mayWriteDirectly,
	networksOf,
	type Actor,
	type ConversationRef,
	type DocAccess
} from '../access/policy.ts';
import { isUuid } from '../org/microstructures.ts';
import { patientRefFrom } from '../pps/pps.ts';
import { patientLabel } from '../patients/patients.ts';

export interface ConversationRow {
	id: string;
	kind: ConversationKind;
	microstructure_id: string | null;
	patient_id: string | null;
	title: string;
}

/** A conversation and what the policy decides on, whoever asks. */
export interface ConversationFacts {
	row: ConversationRow;
	ref: ConversationRef;
	/** The microstructure and network, for the audit of patient threads. */
	microstructure: { id: string; networkId: string } | null;
}

export interface OpenedConversation extends ConversationFacts {
	access: Exclude<DocAccess, 'none'>;
}

/**
 * What a caller may keep between messages to spare the database (the socket layer does, for a few
 * seconds, and forgets everything on each change of memberships: access-cache.ts). Only facts for
 * which `keepable` says yes are kept: a patient's thread never, because its care team and state
 * change through many paths that do not all announce it, and whoever leaves the care team must lose
 * the thread at once. A team conversation's audience changes only with memberships, a group's
 * members never.
 */
export interface KnownConversations {
	facts(conversationId: string, load: () => Promise<ConversationFacts | null>): Promise<ConversationFacts | null>;
	audience(conversationId: string, load: () => Promise<string[]>): Promise<string[]>;
}

export function keepable(facts: ConversationFacts | null): boolean {
	return facts !== null && facts.row.kind !== 'patient';
}

const MAX_GROUP_MEMBERS = 30;

/**
 * A conversation the actor may read, or null: "does not exist" and "not yours" are the same answer
 * (the caller says 404 / "Conversation introuvable."). Every message sent asks it.
 */
export async function openConversation(db: Db, actor: Actor, conversationId: unknown, known?: KnownConversations): Promise<OpenedConversation | null> {
	if (typeof conversationId !== 'string' || !isUuid(conversationId)) return null;
	const facts = known ? await known.facts(conversationId, () => conversationFacts(db, conversationId)) : await conversationFacts(db, conversationId);
	if (!facts) return null;
	const access = conversationAccess(actor, facts.ref);
	return access === 'none' ? null : { ...facts, access };
}

/**
 * One statement reads the conversation and what the policy decides on: the patient's
 * microstructure, state and care team; the team's microstructure; the members of a group.
 */
async function conversationFacts(db: Db, conversationId: string): Promise<ConversationFacts | null> {
	const [found] = (await executePrepared(db, db
		.selectFrom('conversation as c')
		.leftJoin('patient as p', (j) => j.onRef('p.id', '=', 'c.patient_id').on('c.kind', '=', 'patient'))
		// A patient's thread follows the patient's microstructure (as the PPS does: resolvePatientRef).
		.leftJoin('microstructure as ms', (j) => j.on(sql<boolean>`ms.id = case when c.kind = 'patient' then p.microstructure_id else c.microstructure_id end`))
		.select([
			'c.id',
			'c.kind',
			'c.microstructure_id',
			'c.patient_id',
			'c.title',
			'p.state',
			'p.anonymised_at',
			'ms.id as ms_id',
			'ms.network_id',
			sql<string[] | null>`case
				when c.kind = 'patient' then array(select t.user_id from patient_team_member t where t.patient_id = c.patient_id)
				when c.kind in ('direct', 'group') then array(select cm.user_id from conversation_member cm where cm.conversation_id = c.id)
			end`.as('people')
		])
		.where('c.id', '=', conversationId))).rows;
	if (!found) return null;
	const { state, anonymised_at, ms_id, network_id, people, ...row } = found;
	const microstructure = ms_id && network_id ? { id: ms_id, networkId: network_id } : null;
	if (row.kind === 'patient') {
		if (!ms_id || !network_id || !state) return null;
		return { row, microstructure, ref: { kind: 'patient', patient: patientRefFrom({ ms_id, network_id, state, anonymised_at, team: people ?? [] }) } };
	}
	if (row.kind === 'team') return microstructure ? { row, microstructure, ref: { kind: 'team', microstructure } } : null;
	return { row, microstructure: null, ref: { kind: row.kind, members: people ?? [] } };
}

/** The patient's thread, created on first use (one per patient, whoever asks first). */
export async function patientThreadId(db: Db, patientId: string, microstructureId: string): Promise<string> {
	await db
		.insertInto('conversation')
		.values({ kind: 'patient', patient_id: patientId, microstructure_id: microstructureId })
		.onConflict((oc) => oc.column('patient_id').where('kind', '=', 'patient').doNothing())
		.execute();
	const row = await db.selectFrom('conversation').select('id').where('kind', '=', 'patient').where('patient_id', '=', patientId).executeTakeFirstOrThrow();
	return row.id;
}

/** The microstructure's team conversation, created on first use. */
export async function teamConversationId(db: Db, microstructureId: string): Promise<string> {
	await db
		.insertInto('conversation')
		.values({ kind: 'team', microstructure_id: microstructureId })
		.onConflict((oc) => oc.column('microstructure_id').where('kind', '=', 'team').doNothing())
		.execute();
	const row = await db.selectFrom('conversation').select('id').where('kind', '=', 'team').where('microstructure_id', '=', microstructureId).executeTakeFirstOrThrow();
	return row.id;
}

/** Where each person works, for mayWriteDirectly. */
async function correspondents(db: Db, userIds: string[]) {
	if (userIds.length === 0) return new Map<string, { userId: string; microstructureIds: string[]; networkIds: string[] }>();
	const actors = await loadActors(db, userIds);
	const enabled = await db.selectFrom('app_user').select('id').where('id', 'in', userIds).where('disabled_at', 'is', null).execute();
	const ok = new Set(enabled.map((u) => u.id));
	return new Map(
		[...actors.values()]
			.filter((a) => ok.has(a.userId))
			.map((a) => [a.userId, { userId: a.userId, microstructureIds: a.microstructures.map((m) => m.id), networkIds: networksOf(a) }])
	);
}

export type StartResult = { ok: true; id: string } | { ok: false; error: string };

/** A direct conversation with one professional (the same one each time for the pair). */
export async function startDirect(db: Db, actor: Actor, otherId: unknown): Promise<StartResult> {
	if (typeof otherId !== 'string' || !isUuid(otherId)) return { ok: false, error: 'Destinataire introuvable.' };
	const other = (await correspondents(db, [otherId])).get(otherId);
	if (!other || !mayWriteDirectly(actor, other)) return { ok: false, error: 'Destinataire introuvable.' };
	const key = [actor.userId, otherId].sort().join(':');
	return db.transaction().execute(async (trx) => {
		const inserted = await trx
			.insertInto('conversation')
			.values({ kind: 'direct', direct_key: key, created_by: actor.userId })
			.onConflict((oc) => oc.column('direct_key').where('kind', '=', 'direct').doNothing())
			.returning('id')
			.executeTakeFirst();
		if (inserted) {
			await trx.insertInto('conversation_member').values([actor.userId, otherId].map((user_id) => ({ conversation_id: inserted.id, user_id }))).execute();
			return { ok: true as const, id: inserted.id };
		}
		const row = await trx.selectFrom('conversation').select('id').where('kind', '=', 'direct').where('direct_key', '=', key).executeTakeFirstOrThrow();
		return { ok: true as const, id: row.id };
	});
}

/** A small group: its members must each share a microstructure or a network with the creator. */
export async function startGroup(db: Db, actor: Actor, title: string, memberIds: unknown): Promise<StartResult> {
	const name = title.trim();
	if (name.length < 1 || name.length > 80) return { ok: false, error: 'Donnez un nom de 1 à 80 caractères au groupe.' };
	if (!Array.isArray(memberIds) || memberIds.some((id) => typeof id !== 'string' || !isUuid(id))) return { ok: false, error: 'Destinataire introuvable.' };
	const others = [...new Set(memberIds as string[])].filter((id) => id !== actor.userId);
	if (others.length < 2) return { ok: false, error: 'Un groupe réunit au moins deux autres personnes.' };
	if (others.length > MAX_GROUP_MEMBERS - 1) return { ok: false, error: `Un groupe compte au plus ${MAX_GROUP_MEMBERS} personnes.` };
	const known = await correspondents(db, others);
	if (others.some((id) => !known.has(id) || !mayWriteDirectly(actor, known.get(id)!))) return { ok: false, error: 'Destinataire introuvable.' };
	return db.transaction().execute(async (trx) => {
		const row = await trx.insertInto('conversation').values({ kind: 'group', title: name, created_by: actor.userId }).returning('id').executeTakeFirstOrThrow();
		await trx.insertInto('conversation_member').values([actor.userId, ...others].map((user_id) => ({ conversation_id: row.id, user_id }))).execute();
		return { ok: true as const, id: row.id };
	});
}

/** The people the actor may write to directly (shares a microstructure or a network), by name. */
export async function directory(db: Db, actor: Actor) {
	const msIds = actor.microstructures.map((m) => m.id);
	const networkIds = networksOf(actor);
	if (msIds.length === 0 && networkIds.length === 0) return [];
	return db
		.selectFrom('membership as m')
		.innerJoin('app_user as u', 'u.id', 'm.user_id')
		.leftJoin('microstructure as ms', 'ms.id', 'm.microstructure_id')
		.select(['u.id', 'u.first_name', 'u.last_name', 'u.profession'])
		.distinct()
		.where('u.disabled_at', 'is', null)
		.where('u.id', '<>', actor.userId)
		.where(activeMembership)
		.where((eb) =>
			eb.or([
				...(msIds.length ? [eb('m.microstructure_id', 'in', msIds)] : []),
				...(networkIds.length ? [eb('m.network_id', 'in', networkIds), eb('ms.network_id', 'in', networkIds)] : [])
			])
		)
		.orderBy('u.last_name')
		.orderBy('u.first_name')
		.execute();
}

/**
 * Who reads a conversation now: the candidates a query finds (members of the microstructure, its
 * network's coordinators, the named members), each checked by the policy. New messages, typing and
 * receipts are delivered to exactly these people.
 */
export async function audience(db: Db, conversation: ConversationFacts, known?: KnownConversations): Promise<string[]> {
	if (known && keepable(conversation)) return known.audience(conversation.row.id, () => audience(db, conversation));
	const { ref } = conversation;
	if (ref.kind !== 'patient' && ref.kind !== 'team') {
		if (ref.members.length === 0) return [];
		const enabled = await db.selectFrom('app_user').select('id').where('id', 'in', ref.members).where('disabled_at', 'is', null).execute();
		return enabled.map((u) => u.id);
	}
	const ms = ref.kind === 'patient' ? ref.patient.microstructure : ref.microstructure;
	// The candidates (members of the microstructure or of its network) with all their memberships,
	// in one statement: it runs for every message, beside the message's own write.
	const { rows: people } = await executePrepared(db, db
		.selectFrom('app_user as u')
		.select((eb) => ['u.id', 'u.platform_admin', actorMemberships(eb).as('memberships')])
		.where('u.disabled_at', 'is', null)
		.where('u.id', 'in', (eb) =>
			eb
				.selectFrom('membership as m')
				.select('m.user_id')
				.where(activeMembership)
				.where((w) => w.or([w('m.microstructure_id', '=', ms.id), w('m.network_id', '=', ms.networkId)]))
		));
	return people.filter((p) => conversationAccess(actorFrom(p.id, p.platform_admin, p.memberships), ref) !== 'none').map((p) => p.id);
}

/** The readable conversations of an actor, as a SQL condition on `c` (conversation) and `ms` (its microstructure). */
export function readable(actor: Actor) {
	const scope = conversationScope(actor);
	// Lists as array parameters (= any), not IN lists: the text is the same for every actor, so the
	// navigation's statement can stay prepared (executePrepared).
	const ids = (list: string[]) => sql`${list}::uuid[]`;
	return sql<boolean>`(
		(c.kind = 'team' and (c.microstructure_id = any(${ids(scope.teamMicrostructures)}) or ms.network_id = any(${ids(scope.coordinatedNetworks)})))
		or (c.kind = 'patient' and (
			c.microstructure_id = any(${ids(scope.allPatientThreads)})
			or ms.network_id = any(${ids(scope.coordinatedNetworks)})
			or (c.microstructure_id = any(${ids(scope.careTeamThreads)})
				and exists (select 1 from patient_team_member t where t.patient_id = c.patient_id and t.user_id = ${actor.userId}))))
		or (c.kind in ('direct', 'group') and exists (select 1 from conversation_member cm where cm.conversation_id = c.id and cm.user_id = ${actor.userId}))
	)`;
}

export interface ConversationSummary {
	id: string;
	kind: ConversationKind;
	title: string;
	/** The microstructure's name, for patient and team conversations. */
	microstructureName: string | null;
	patientId: string | null;
	microstructureId: string | null;
	lastSeq: number;
	lastMessageAt: Date | null;
	lastReadSeq: number;
	unread: number;
	/** The last message: sender and an excerpt (the list is inside the app, never a notification). */
	lastSender: string | null;
	lastExcerpt: string | null;
}

/**
 * The conversations an actor reads that have messages, plus their microstructures' team
 * conversations, most recent first, with unread counts (messages of others after the read position).
 */
export async function listConversations(db: Db, actor: Actor, limit = 200): Promise<ConversationSummary[]> {
	await Promise.all(actor.microstructures.map((m) => teamConversationId(db, m.id)));
	const rows = await db
		.selectFrom('conversation as c')
		.leftJoin('microstructure as ms', 'ms.id', 'c.microstructure_id')
		.leftJoin('patient as p', 'p.id', 'c.patient_id')
		.leftJoin('conversation_read as r', (j) => j.onRef('r.conversation_id', '=', 'c.id').on('r.user_id', '=', actor.userId))
		.select([
			'c.id',
			'c.kind',
			'c.title',
			'c.patient_id',
			'c.microstructure_id',
			'c.last_seq',
			'c.last_message_at',
			'ms.name as ms_name',
			'p.code',
			'p.first_name',
			'p.last_name',
			'p.anonymised_at',
			sql<string>`coalesce(r.last_read_seq, 0)`.as('last_read_seq'),
			sql<string>`(select count(*) from message m where m.conversation_id = c.id and m.seq > coalesce(r.last_read_seq, 0) and m.sender_id <> ${actor.userId} and m.deleted_at is null)`.as('unread'),
			sql<string | null>`(select u.first_name || ' ' || u.last_name from message m join app_user u on u.id = m.sender_id where m.conversation_id = c.id and m.seq = c.last_seq)`.as('last_sender'),
			sql<string | null>`(select case when m.deleted_at is not null then '' else left(m.body, 120) end from message m where m.conversation_id = c.id and m.seq = c.last_seq)`.as('last_excerpt'),
			sql<string | null>`(case when c.kind = 'direct' then (select u.first_name || ' ' || u.last_name from conversation_member cm join app_user u on u.id = cm.user_id where cm.conversation_id = c.id and cm.user_id <> ${actor.userId} limit 1) end)`.as('other_name')
		])
		.where(readable(actor))
		.where((eb) => eb.or([eb('c.last_message_at', 'is not', null), eb('c.kind', '=', 'team'), eb('c.kind', '=', 'group'), eb('c.kind', '=', 'direct')]))
		.orderBy(sql`c.last_message_at desc nulls last`)
		.orderBy('c.created_at', 'desc')
		.limit(limit)
		.execute();
	return rows.map((r) => ({
		id: r.id,
		kind: r.kind,
		title:
			r.kind === 'patient'
				? patientLabel({ code: r.code!, first_name: r.first_name, last_name: r.last_name, anonymised_at: r.anonymised_at })
				: r.kind === 'team'
					? `Équipe — ${r.ms_name ?? ''}`
					: r.kind === 'direct'
						? (r.other_name ?? 'Conversation')
						: r.title,
		microstructureName: r.ms_name,
		patientId: r.patient_id,
		microstructureId: r.microstructure_id,
		lastSeq: Number(r.last_seq),
		lastMessageAt: r.last_message_at,
		lastReadSeq: Number(r.last_read_seq),
		unread: Number(r.unread),
		lastSender: r.last_sender,
		lastExcerpt: r.last_excerpt
	}));
}

/** The navigation badge: unread messages across every conversation the actor reads. */
export async function unreadTotal(db: Db, actor: Actor): Promise<number> {
	const row = await unreadTotalQuery(db, actor).executeTakeFirst();
	return Number(row?.n ?? 0);
}

/** unreadTotal's query, for a caller that asks it together with others (the root layout: one round trip). */
export function unreadTotalQuery(db: Db, actor: Actor) {
	return db
		.selectFrom('conversation as c')
		.leftJoin('microstructure as ms', 'ms.id', 'c.microstructure_id')
		.leftJoin('conversation_read as r', (j) => j.onRef('r.conversation_id', '=', 'c.id').on('r.user_id', '=', actor.userId))
		.innerJoin('message as m', (j) =>
			j
				.onRef('m.conversation_id', '=', 'c.id')
				.on(sql<boolean>`m.seq > coalesce(r.last_read_seq, 0)`)
				.on('m.sender_id', '<>', actor.userId)
				.on('m.deleted_at', 'is', null)
		)
		.select(sql<string>`count(*)`.as('n'))
		.where(readable(actor));
}

/** The title shown at the top of one conversation (the patient's name for a patient thread: whoever reads it may see the patient). */
export async function conversationTitle(db: Db, actor: Actor, c: OpenedConversation): Promise<string> {
	const { row } = c;
	if (row.kind === 'patient') {
		const p = await db.selectFrom('patient').select(['code', 'first_name', 'last_name', 'anonymised_at']).where('id', '=', row.patient_id!).executeTakeFirstOrThrow();
		return patientLabel(p);
	}
	if (row.kind === 'team') {
		const ms = await db.selectFrom('microstructure').select('name').where('id', '=', row.microstructure_id!).executeTakeFirstOrThrow();
		return `Équipe — ${ms.name}`;
	}
	if (row.kind === 'group') return row.title;
	const other = await db
		.selectFrom('conversation_member as cm')
		.innerJoin('app_user as u', 'u.id', 'cm.user_id')
		.select(['u.first_name', 'u.last_name'])
		.where('cm.conversation_id', '=', row.id)
		.where('cm.user_id', '<>', actor.userId)
		.executeTakeFirst();
	return other ? `${other.first_name} ${other.last_name}` : 'Conversation';
}
