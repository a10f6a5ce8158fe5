// French full-text search over the messages a person may read.
//
// - The query is parsed by websearch_to_tsquery with the `fr_unaccent` configuration (accents
//   folded, French stemming), the same as the generated `message.search` column, whose GIN index
//   finds the candidate messages; the conversations the actor reads are then a filter (the SQL
//   condition of conversations.ts, made from the policy's conversationScope).
// - Excerpts come from ts_headline between two control characters (never in a message: bodies are
//   clean text), are HTML-escaped, and only then get their <mark>: whatever a message contains comes
//   back as text. '<' is swapped for a third control character before ts_headline, whose parser
//   would otherwise drop anything that looks like a tag.
// - Seeing an excerpt of a patient's thread is reading the patient: one audit entry per patient shown.
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db/index.ts';
import type { ConversationKind } from '../db/schema.ts';
import type { Actor } from '../access/policy.ts';
import { auditAll, type AuditContext } from '../audit/audit.ts';
import { isCleanText } from '../input.ts';
import { patientLabel } from '../patients/patients.ts';
import { readable } from './conversations.ts';

export const QUERY_MIN = 2;
export const QUERY_MAX = 200;
export const DEFAULT_LIMIT = 30;
export const MAX_LIMIT = 100;
/** Up to this many matching messages, search starts from the GIN index; beyond, from the newest messages. */
const FEW = 2000;

const START = '\u0001';
const STOP = '\u0002';
const LT = '\u0003';
/** A short message is shown whole; a long one by its two best passages. */
const WHOLE_UP_TO = 280;
const WHOLE_OPTIONS = `StartSel=${START}, StopSel=${STOP}, HighlightAll=true`;
const FRAGMENT_OPTIONS = `StartSel=${START}, StopSel=${STOP}, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "`;

export interface SearchResult {
	messageId: string;
	conversationId: string;
	seq: number;
	conversationKind: ConversationKind;
	conversationTitle: string;
	senderName: string;
	createdAt: string;
	/** Safe HTML: escaped text with <mark> around the words found. */
	excerpt: string;
}

export type SearchOutcome = { ok: true; results: SearchResult[] } | { ok: false; error: string };

export function escapeHtml(text: string): string {
	return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** ts_headline's output (sentinels around the hits, '<' swapped) → escaped HTML with <mark>. */
export function excerptHtml(headline: string): string {
	return escapeHtml(headline)
		.replaceAll(LT, '&lt;')
		.replaceAll(START, '<mark>')
		.replaceAll(STOP, '</mark>')
		.replace(/\s+/g, ' ')
		.trim();
}

export function validateQuery(query: unknown): { ok: true; query: string } | { ok: false; error: string } {
	if (typeof query !== 'string') return { ok: false, error: 'Saisissez au moins 2 caractères.' };
	const q = query.normalize('NFC').replace(/\s+/g, ' ').trim();
	if (q.length < QUERY_MIN) return { ok: false, error: 'Saisissez au moins 2 caractères.' };
	if (q.length > QUERY_MAX) return { ok: false, error: `La recherche est limitée à ${QUERY_MAX} caractères.` };
	if (!isCleanText(q)) return { ok: false, error: 'La recherche contient des caractères non autorisés.' };
	return { ok: true, query: q };
}

interface Row {
	id: string;
	conversation_id: string;
	seq: string;
	created_at: Date;
	kind: ConversationKind;
	title: string;
	patient_id: string | null;
	microstructure_id: string | null;
	network_id: string | null;
	ms_name: string | null;
	code: string | null;
	first_name: string | null;
	last_name: string | null;
	anonymised_at: Date | null;
	sender_name: string;
	other_name: string | null;
	headline: string;
}

/**
 * Two ways to the newest hits, chosen by how many messages match at all (counted on the GIN
 * index, stopping past FEW): a few → all of them from the index, then the reader's
 * conversations, then the newest (materialized, so the planner cannot turn it around); many →
 * walk the messages newest first (index message_recent) keeping the reader's matching ones, which
 * stops after a page. Either way the excerpts, names and titles are made only for the rows shown.
 * The planner is told which way (its estimates for a LIMIT over a tsquery favour a sequential
 * scan that reads the whole table when the words are rarer than it thinks): the count goes
 * through the GIN index as a bitmap, then the chosen path runs with the matching switches.
 * Null when the query has no word to look for (only stop words).
 */
async function findHits(trx: Db, actor: Actor, tsquery: RawBuilder<unknown>, limit: number): Promise<Row[] | null> {
	// Switched-off plans keep their cost as a huge penalty, which would trigger JIT compilation
	// (hundreds of milliseconds) for a query that runs in a few: no JIT here.
	await sql`set local jit = off`.execute(trx);
	await sql`set local enable_seqscan = off`.execute(trx);
	await sql`set local enable_indexscan = off`.execute(trx);
	const probe = await sql<{ lexemes: number; n: string }>`
		select numnode(${tsquery}) as lexemes,
			(select count(*) from (select 1 from message m where m.search @@ ${tsquery} and m.deleted_at is null limit ${FEW + 1}) x) as n`.execute(trx);
	// Only stop words ("le", "de la"): an empty query would match nothing, say why.
	if (Number(probe.rows[0]?.lexemes ?? 0) === 0) return null;
	const few = Number(probe.rows[0]?.n ?? 0) <= FEW;
	if (!few) await sql`set local enable_indexscan = on`.execute(trx);
	const hits = few
		? sql`
			found as materialized (
				select m.id, m.conversation_id, m.seq, m.sender_id, m.created_at, m.body from message m
				where m.search @@ ${tsquery} and m.deleted_at is null
			),
			hits as (
				select m.* from found m
				join conversation c on c.id = m.conversation_id
				left join microstructure ms on ms.id = c.microstructure_id
				where ${readable(actor)}
				order by m.created_at desc, m.id desc
				limit ${limit}
			)`
		: sql`
			hits as (
				select m.id, m.conversation_id, m.seq, m.sender_id, m.created_at, m.body
				from message m
				join conversation c on c.id = m.conversation_id
				left join microstructure ms on ms.id = c.microstructure_id
				-- Not indexable on purpose (coalesce): the planner takes the words of an AND or a phrase
				-- ("sage-femme" is 'sage-femm' <-> 'sag' <-> 'femm') as independent, expects a few hundred
				-- matches where the probe counted thousands, and would fetch and sort them all from the GIN
				-- index (300 ms instead of 25 over a million messages).
				where coalesce(m.search @@ ${tsquery}, false) and m.deleted_at is null and ${readable(actor)}
				order by m.created_at desc, m.id desc
				limit ${limit}
			)`;
	return (await sql<Row>`
		with ${hits}
		select h.id, h.conversation_id, h.seq, h.created_at, c.kind, c.title, c.patient_id, c.microstructure_id,
			ms.network_id, ms.name as ms_name, p.code, p.first_name, p.last_name, p.anonymised_at,
			u.first_name || ' ' || u.last_name as sender_name,
			case when c.kind = 'direct' then (
				select ou.first_name || ' ' || ou.last_name from conversation_member cm join app_user ou on ou.id = cm.user_id
				where cm.conversation_id = c.id and cm.user_id <> ${actor.userId} limit 1) end as other_name,
			ts_headline('fr_unaccent', replace(h.body, '<', ${LT}), ${tsquery},
				case when length(h.body) <= ${WHOLE_UP_TO} then ${WHOLE_OPTIONS} else ${FRAGMENT_OPTIONS} end) as headline
		from hits h
		join conversation c on c.id = h.conversation_id
		left join microstructure ms on ms.id = c.microstructure_id
		left join patient p on p.id = c.patient_id
		join app_user u on u.id = h.sender_id
		order by h.created_at desc, h.id desc
	`.execute(trx)).rows;
}

/**
 * The newest messages matching `query` in the conversations the actor reads (deleted ones
 * excluded), with highlighted excerpts. Audited: one 'patient.read' per patient whose thread shows.
 */
export async function searchMessages(db: Db, actor: Actor, query: unknown, opts: { limit?: number; ctx?: AuditContext } = {}): Promise<SearchOutcome> {
	const checked = validateQuery(query);
	if (!checked.ok) return checked;
	const limit = Math.min(Math.max(Math.trunc(opts.limit ?? DEFAULT_LIMIT), 1), MAX_LIMIT);
	const tsquery = sql`websearch_to_tsquery('fr_unaccent', ${checked.query})`;
	const rows = await db.transaction().execute((trx) => findHits(trx, actor, tsquery, limit));
	if (!rows) return { ok: false, error: 'Ces mots sont trop courants pour une recherche : précisez.' };

	const patients = new Map<string, Row>();
	for (const r of rows) if (r.kind === 'patient' && r.patient_id) patients.set(r.patient_id, r);
	await auditAll(
		db,
		opts.ctx ?? { actorId: actor.userId },
		[...patients.values()].map((r) => ({
			action: 'patient.read',
			targetType: 'patient',
			targetId: r.patient_id!,
			microstructureId: r.microstructure_id,
			networkId: r.network_id,
			details: { purpose: 'message_search', conversation: r.conversation_id }
		}))
	);

	return {
		ok: true,
		results: rows.map((r) => ({
			messageId: r.id,
			conversationId: r.conversation_id,
			seq: Number(r.seq),
			conversationKind: r.kind,
			conversationTitle:
				r.kind === 'patient'
					? patientLabel({ code: r.code!, first_name: r.first_name, last_name: r.last_name, anonymised_at: r.anonymised_at })
					: r.kind === 'team'
						? `Équipe — ${r.ms_name ?? ''}`
						: r.kind === 'direct'
							? (r.other_name ?? 'Conversation')
							: r.title,
			senderName: r.sender_name,
			createdAt: r.created_at.toISOString(),
			excerpt: excerptHtml(r.headline)
		}))
	};
}
