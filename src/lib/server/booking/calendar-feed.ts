// Private calendar feeds (issue 12, point 7): a professional subscribes their phone's calendar to a
// secret URL listing their appointments and permanences across every microstructure they work in,
// and the RCPs they attend (the coordinators' feed).
//
// - The URL carries a random token; only its SHA-256 is stored (a database leak yields no usable
//   feed). One live feed per person (unique index); regenerating revokes the previous URL.
// - A feed is read without a session (a calendar app has none): the token is the credential, so
//   reads are throttled per IP (guessing) and per feed, audited, and what a feed shows is decided
//   at each read by the policy with the person's current memberships (someone who left a
//   microstructure stops seeing its appointments; a disabled account's feed is gone).
// - Events carry the patient's pseudonymous code and initials, never a name or a motive.
// - Times are written as UTC instants ('Z'): exact across the DST changes whatever the reader's
//   zone, and the calendar (X-WR-TIMEZONE Europe/Paris) shows them on the Paris clock.
import ical, { ICalEventStatus } from 'ical-generator';
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding';
import type { Db } from '../db/index.ts';
import { audit, auditAll, type AuditContext } from '../audit/audit.ts';
import { can, loadActor, type MicrostructureRef } from '../access/policy.ts';
import { consume } from '../auth/throttle.ts';

/** What a feed covers around the day it is read. */
export const FEED_PAST_DAYS = 60;
export const FEED_FUTURE_DAYS = 180;
/** At most this many events of each kind (a phone calendar needs no more). */
export const FEED_MAX_EVENTS = 1500;
const DAY = 86_400_000;

/** A token: 25 random bytes, base32 (40 characters). */
export function newFeedToken(): string {
	return encodeBase32LowerCaseNoPadding(crypto.getRandomValues(new Uint8Array(25)));
}

export function feedTokenHash(token: string): Uint8Array {
	return sha256(new TextEncoder().encode(token));
}

const TOKEN_SHAPE = /^[a-z2-7]{40}$/;

export interface FeedStatus {
	id: string;
	createdAt: Date;
	lastUsedAt: Date | null;
}

export async function feedStatus(db: Db, userId: string): Promise<FeedStatus | null> {
	const row = await db
		.selectFrom('calendar_feed')
		.select(['id', 'created_at', 'last_used_at'])
		.where('user_id', '=', userId)
		.where('revoked_at', 'is', null)
		.executeTakeFirst();
	return row ? { id: row.id, createdAt: row.created_at, lastUsedAt: row.last_used_at } : null;
}

/**
 * Creates the person's feed, revoking the one they had (regenerate). Returns the token, shown once:
 * only its hash is kept. Concurrent calls for one person are serialised on their account row.
 */
export async function createFeed(db: Db, ctx: AuditContext, userId: string): Promise<{ token: string; id: string }> {
	const token = newFeedToken();
	return db.transaction().execute(async (trx) => {
		await trx.selectFrom('app_user').select('id').where('id', '=', userId).forUpdate().executeTakeFirstOrThrow();
		const revoked = await trx
			.updateTable('calendar_feed')
			.set({ revoked_at: new Date() })
			.where('user_id', '=', userId)
			.where('revoked_at', 'is', null)
			.returning('id')
			.execute();
		const row = await trx.insertInto('calendar_feed').values({ user_id: userId, token_hash: feedTokenHash(token) }).returning('id').executeTakeFirstOrThrow();
		await audit(trx, ctx, { action: 'calendar_feed.created', targetType: 'calendar_feed', targetId: row.id, details: { replaced: revoked.map((r) => r.id) } });
		return { token, id: row.id };
	});
}

/** Revokes the person's live feed: its URL answers 404 from now on. */
export async function revokeFeed(db: Db, ctx: AuditContext, userId: string): Promise<boolean> {
	return db.transaction().execute(async (trx) => {
		const rows = await trx
			.updateTable('calendar_feed')
			.set({ revoked_at: new Date() })
			.where('user_id', '=', userId)
			.where('revoked_at', 'is', null)
			.returning('id')
			.execute();
		for (const r of rows) await audit(trx, ctx, { action: 'calendar_feed.revoked', targetType: 'calendar_feed', targetId: r.id });
		return rows.length > 0;
	});
}

export interface FeedEvent {
	uid: string;
	kind: 'rendez_vous' | 'permanence' | 'rcp';
	start: Date;
	end: Date;
	summary: string;
	location: string;
	/** For the audit: whose appointment it is, and where. */
	patientId?: string;
	microstructure: MicrostructureRef;
}

const KIND_LABEL = { premier_contact: 'premier contact', suivi: 'suivi' } as const;
const ATTENDANCE_LABEL: Record<string, string> = { venu: ' — venu', excuse: ' — excusé', absent: ' — absent' };

/** Initials of a patient ('J. D.'), or '' when the record carries no name (anonymised). */
export function initials(firstName: string | null, lastName: string | null): string {
	const letter = (s: string | null) => {
		const c = s?.trim().normalize('NFC').charAt(0);
		return c ? `${c.toLocaleUpperCase('fr-FR')}.` : '';
	};
	return [letter(firstName), letter(lastName)].filter(Boolean).join('\u00a0');
}

function place(room: string | null, address: string | null, postalCode: string | null, city: string | null): string {
	const where = [address, [postalCode, city].filter(Boolean).join(' ')].filter((s) => s?.trim()).join(', ');
	return [room, where].filter((s) => s?.trim()).join(', ');
}

/** The events of `userId`'s feed, as the policy allows them today. */
export async function feedEvents(db: Db, userId: string, now = new Date()): Promise<FeedEvent[]> {
	const actor = await loadActor(db, userId);
	const from = new Date(now.getTime() - FEED_PAST_DAYS * DAY);
	const to = new Date(now.getTime() + FEED_FUTURE_DAYS * DAY);
	const readable = (ms: MicrostructureRef, action: 'booking.read' | 'rcp.schedule.read') => can(actor, action, { microstructure: ms });

	const appointments = await db
		.selectFrom('appointment as a')
		.innerJoin('patient as p', 'p.id', 'a.patient_id')
		.innerJoin('microstructure as ms', 'ms.id', 'a.microstructure_id')
		.leftJoin('room as r', 'r.id', 'a.room_id')
		.leftJoin('site as s', 's.id', 'r.site_id')
		.select(['a.id', 'a.starts_at', 'a.ends_at', 'a.kind', 'a.status', 'a.patient_id', 'p.code', 'p.first_name', 'p.last_name', 'ms.id as ms_id', 'ms.network_id', 'r.name as room', 's.address', 's.postal_code', 's.city'])
		.where('a.professional_id', '=', userId)
		.where('a.status', 'not in', ['annule', 'deplace'])
		.where('a.starts_at', '>=', from)
		.where('a.starts_at', '<', to)
		.where('ms.archived_at', 'is', null)
		.orderBy('a.starts_at')
		.limit(FEED_MAX_EVENTS)
		.execute();
	const occurrences = await db
		.selectFrom('permanence_occurrence as o')
		.innerJoin('microstructure as ms', 'ms.id', 'o.microstructure_id')
		.leftJoin('room as r', 'r.id', 'o.room_id')
		.leftJoin('site as s', 's.id', 'r.site_id')
		.select(['o.id', 'o.starts_at', 'o.ends_at', 'ms.id as ms_id', 'ms.network_id', 'ms.name as ms_name', 'r.name as room', 's.address', 's.postal_code', 's.city'])
		.where('o.professional_id', '=', userId)
		.where('o.cancelled_at', 'is', null)
		.where('o.starts_at', '>=', from)
		.where('o.starts_at', '<', to)
		.where('ms.archived_at', 'is', null)
		.orderBy('o.starts_at')
		.limit(FEED_MAX_EVENTS)
		.execute();
	const rcps = await db
		.selectFrom('rcp_participant as rp')
		.innerJoin('rcp_session as rs', 'rs.id', 'rp.session_id')
		.innerJoin('microstructure as ms', 'ms.id', 'rs.microstructure_id')
		.leftJoin('room as r', 'r.id', 'rs.room_id')
		.leftJoin('site as s', 's.id', 'r.site_id')
		.select(['rs.id', 'rs.title', 'rs.starts_at', 'rs.ends_at', 'rs.visio_url', 'ms.id as ms_id', 'ms.network_id', 'ms.name as ms_name', 'r.name as room', 's.address', 's.postal_code', 's.city'])
		.where('rp.user_id', '=', userId)
		.where('rs.status', '<>', 'annulee')
		.where('rs.starts_at', '>=', from)
		.where('rs.starts_at', '<', to)
		.where('ms.archived_at', 'is', null)
		.orderBy('rs.starts_at')
		.limit(FEED_MAX_EVENTS)
		.execute();

	const events: FeedEvent[] = [];
	for (const a of appointments) {
		const ms = { id: a.ms_id, networkId: a.network_id };
		if (!readable(ms, 'booking.read')) continue;
		const who = [a.code, initials(a.first_name, a.last_name)].filter(Boolean).join(' ');
		events.push({
			uid: `rdv-${a.id}`,
			kind: 'rendez_vous',
			start: a.starts_at,
			end: a.ends_at,
			summary: `RDV ${who} (${KIND_LABEL[a.kind]})${ATTENDANCE_LABEL[a.status] ?? ''}`,
			location: place(a.room, a.address, a.postal_code, a.city),
			patientId: a.patient_id,
			microstructure: ms
		});
	}
	for (const o of occurrences) {
		const ms = { id: o.ms_id, networkId: o.network_id };
		if (!readable(ms, 'booking.read')) continue;
		events.push({ uid: `permanence-${o.id}`, kind: 'permanence', start: o.starts_at, end: o.ends_at, summary: `Permanence · ${o.ms_name}`, location: place(o.room, o.address, o.postal_code, o.city), microstructure: ms });
	}
	for (const s of rcps) {
		const ms = { id: s.ms_id, networkId: s.network_id };
		if (!readable(ms, 'rcp.schedule.read')) continue;
		events.push({
			uid: `rcp-${s.id}`,
			kind: 'rcp',
			start: s.starts_at,
			end: s.ends_at,
			summary: `${s.title} · ${s.ms_name}`,
			location: place(s.room, s.address, s.postal_code, s.city) || (s.visio_url ? 'Visioconférence' : ''),
			microstructure: ms
		});
	}
	return events.sort((x, y) => x.start.getTime() - y.start.getTime());
}

export function renderFeed(events: FeedEvent[], now = new Date()): string {
	const calendar = ical({
		name: 'Microstructures — mon agenda',
		prodId: { company: 'microstructures', product: 'agenda', language: 'FR' },
		// Phone calendars poll: once an hour is plenty (and within the feed's throttle).
		ttl: 3600
	});
	calendar.x([{ key: 'X-WR-TIMEZONE', value: 'Europe/Paris' }]);
	for (const e of events)
		calendar.createEvent({
			id: `${e.uid}@microstructures`,
			start: e.start,
			end: e.end,
			stamp: now,
			summary: e.summary,
			location: e.location || null,
			status: ICalEventStatus.CONFIRMED
		});
	return calendar.toString();
}

export type FeedRead = { status: 'ok'; ics: string; events: number } | { status: 'not_found' } | { status: 'throttled'; retryAt: Date };

/**
 * Serves a feed URL: throttled per IP for tokens that open nothing (guessing) and per feed for
 * those that do; 'not_found' for an unknown or revoked token and for a disabled account. Audited:
 * the read itself, and per microstructure the patients whose appointments it showed.
 */
export async function readFeed(db: Db, ctx: { ip: string | null; userAgent?: string | null }, token: string, now = new Date()): Promise<FeedRead> {
	// A token that opens a feed is no guess, whatever else came from its address: phones' calendar
	// apps are polled from a few shared servers (and a practice may sit behind one NAT), so a
	// neighbour's junk or a revoked URL still polled must not cut everyone else's agenda. Only
	// what opens nothing counts against the address; the tokens are too long to be found by
	// guessing, the counter keeps floods cheap.
	const feed = TOKEN_SHAPE.test(token)
		? await db
				.selectFrom('calendar_feed as f')
				.innerJoin('app_user as u', 'u.id', 'f.user_id')
				.select(['f.id', 'f.user_id'])
				.where('f.token_hash', '=', feedTokenHash(token))
				.where('f.revoked_at', 'is', null)
				.where('u.disabled_at', 'is', null)
				.executeTakeFirst()
		: undefined;
	if (!feed) {
		const guess = await consume(db, [{ scope: 'calendar_ip', subject: [ctx.ip ?? 'unknown'] }]);
		return guess.allowed ? { status: 'not_found' } : { status: 'throttled', retryAt: guess.retryAt };
	}
	const perFeed = await consume(db, [{ scope: 'calendar_feed', subject: [feed.id] }]);
	if (!perFeed.allowed) return { status: 'throttled', retryAt: perFeed.retryAt };

	const events = await feedEvents(db, feed.user_id, now);
	const actx: AuditContext = { actorId: feed.user_id, ip: ctx.ip, userAgent: ctx.userAgent };
	await db.updateTable('calendar_feed').set({ last_used_at: now }).where('id', '=', feed.id).execute();
	const byMs = new Map<string, { ms: MicrostructureRef; patients: Set<string>; count: number }>();
	for (const e of events) {
		const entry = byMs.get(e.microstructure.id) ?? { ms: e.microstructure, patients: new Set<string>(), count: 0 };
		entry.count += 1;
		if (e.patientId) entry.patients.add(e.patientId);
		byMs.set(e.microstructure.id, entry);
	}
	await auditAll(db, actx, [
		{ action: 'calendar_feed.read', targetType: 'calendar_feed', targetId: feed.id, details: { events: events.length } },
		...[...byMs.values()]
			.filter((m) => m.patients.size > 0)
			.map((m) => ({
				action: 'booking.agenda_read',
				targetType: 'microstructure',
				targetId: m.ms.id,
				microstructureId: m.ms.id,
				networkId: m.ms.networkId,
				details: { purpose: 'calendar_feed', count: m.count, patients: [...m.patients] }
			}))
	]);
	return { status: 'ok', ics: renderFeed(events, now), events: events.length };
}
