// Attempt counters for sign-in, second factor and e-mail codes, kept in PostgreSQL so that every
// process and every concurrent request sees the same count.
//
// An attempt is counted BEFORE the expensive or secret check (Argon2, TOTP, code), by one atomic
// INSERT … ON CONFLICT … DO UPDATE … RETURNING per key: a burst of concurrent requests gets exactly
// the answers the same requests would get one after another (the row lock orders them).
//
// Each key follows a rule: `limit` attempts within `windowMs`; the attempt that reaches the limit
// arms a block of `blockMs`, doubled by every further block (capped at `maxBlockMs`, forgotten after
// a quiet day). Attempts during a block are refused without being counted. After a block one more
// attempt is allowed, and if it fails the next, doubled block follows.
// A success resets the keys that belong to the person who just proved who they are, and only
// refunds its own attempt on shared keys (an IP, an account seen from unknown browsers).
import { sql } from 'kysely';
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeHexLowerCase } from '@oslojs/encoding';
import type { Db } from '../db/index.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export interface Rule {
	limit: number;
	windowMs: number;
	blockMs: number;
	maxBlockMs: number;
}

/** The rules, by scope. README "Sign-in and throttling" describes them; keep both in step. */
export const RULES = {
	/** One account from one IP: the attacker's own counter, it never touches the owner elsewhere. */
	account_ip: { limit: 5, windowMs: HOUR, blockMs: MINUTE, maxBlockMs: HOUR },
	/** One IP, all accounts (password spraying). Attempts from a trusted browser are not counted. */
	ip: { limit: 30, windowMs: 15 * MINUTE, blockMs: 15 * MINUTE, maxBlockMs: 4 * HOUR },
	/** One account from every browser that has never signed in to it (distributed guessing). */
	account: { limit: 20, windowMs: HOUR, blockMs: 15 * MINUTE, maxBlockMs: 4 * HOUR },
	/** One account from one trusted browser (device cookie): its own small limit, nobody else's. */
	device: { limit: 5, windowMs: HOUR, blockMs: MINUTE, maxBlockMs: HOUR },
	/** Second factor, per session (one TOTP challenge). */
	totp_session: { limit: 5, windowMs: 24 * HOUR, blockMs: 15 * MINUTE, maxBlockMs: 4 * HOUR },
	/** Second factor, per user, from browsers that never completed a sign-in to this account. */
	totp_user: { limit: 10, windowMs: HOUR, blockMs: 15 * MINUTE, maxBlockMs: 4 * HOUR },
	/** Second factor, per user, from one trusted browser. */
	totp_device: { limit: 5, windowMs: HOUR, blockMs: MINUTE, maxBlockMs: HOUR },
	/** The current password typed on the account page (a session left open must not become an oracle). */
	password_check: { limit: 5, windowMs: HOUR, blockMs: MINUTE, maxBlockMs: HOUR },
	/** E-mail codes sent for a first enrolment, per session and per user. */
	enrol_send_session: { limit: 3, windowMs: HOUR, blockMs: 15 * MINUTE, maxBlockMs: 4 * HOUR },
	enrol_send_user: { limit: 6, windowMs: HOUR, blockMs: HOUR, maxBlockMs: 24 * HOUR },
	/** E-mail codes typed, per session and per user. */
	enrol_check_session: { limit: 5, windowMs: 24 * HOUR, blockMs: 15 * MINUTE, maxBlockMs: 4 * HOUR },
	enrol_check_user: { limit: 10, windowMs: HOUR, blockMs: 15 * MINUTE, maxBlockMs: 4 * HOUR },
	/** Calendar feed URLs that open nothing (unknown or revoked token), per IP: guessing. */
	calendar_ip: { limit: 20, windowMs: HOUR, blockMs: 15 * MINUTE, maxBlockMs: 4 * HOUR },
	/** Reads of one calendar feed (a phone calendar polls a few times an hour at most). */
	calendar_feed: { limit: 60, windowMs: HOUR, blockMs: 5 * MINUTE, maxBlockMs: HOUR }
} satisfies Record<string, Rule>;

export type Scope = keyof typeof RULES;

export interface Key {
	scope: Scope;
	/** What the counter is about, e.g. [email, ip]; hashed before it is stored. */
	subject: string[];
}

export interface Ticket {
	key: Key;
	hash: string;
	/** This attempt armed the key's block (undone if the attempt turns out not to be a failure). */
	armed: boolean;
}

export type Consumed = { allowed: true; tickets: Ticket[] } | { allowed: false; scope: Scope; retryAt: Date };

export function keyHash(key: Key): string {
	return encodeHexLowerCase(sha256(new TextEncoder().encode([key.scope, ...key.subject].join('\u0000'))));
}

/** Counts one attempt on one key, atomically. */
async function hit(db: Db, key: Key): Promise<{ allowed: boolean; armed: boolean; blockedUntil: Date | null; hash: string }> {
	const rule: Rule = RULES[key.scope];
	if (rule.limit < 2) throw new Error('a throttle limit is at least 2');
	const hash = keyHash(key);
	// In DO UPDATE every expression sees the row as it was: the sub-select derives, step by step,
	// whether the window has lapsed, whether this attempt is allowed, and whether it arms a block.
	const row = await sql<{ allowed: boolean; armed: boolean; blocked_until: Date | null }>`
		insert into auth_throttle as t (key, scope, attempts, window_start, blocked_until, strikes, last_at, allowed, armed)
		values (${hash}, ${key.scope}, 1, now(), null, 0, now(), true, false)
		on conflict (key) do update set (attempts, window_start, blocked_until, strikes, last_at, allowed, armed) = (
			select
				case when not d.ok then t.attempts when d.arm then ${rule.limit} - 1 else c.a0 + 1 end,
				case when not d.ok then t.window_start when d.arm then d.until when c.fresh then now() else t.window_start end,
				case when d.arm then d.until else t.blocked_until end,
				case when d.arm then c.s0 + 1 else c.s0 end,
				now(),
				d.ok,
				d.arm
			from (
				select
					w.fresh,
					case when w.fresh then 0 else t.attempts end as a0,
					case when t.last_at <= now() - interval '24 hours' then 0 else t.strikes end as s0,
					coalesce(t.blocked_until > now(), false) as blocked
				from (
					select t.window_start <= now() - ${rule.windowMs}::float8 * interval '1 millisecond'
						and coalesce(t.blocked_until <= now(), true) as fresh
				) w
			) c,
			lateral (select not c.blocked and c.a0 < ${rule.limit} as ok) o,
			lateral (
				select
					o.ok,
					o.ok and c.a0 + 1 >= ${rule.limit} as arm,
					now() + least(${rule.blockMs}::float8 * power(2, least(c.s0, 30)), ${rule.maxBlockMs}::float8) * interval '1 millisecond' as until
			) d
		)
		returning allowed, armed, blocked_until
	`.execute(db);
	const r = row.rows[0];
	return { allowed: r.allowed, armed: r.armed, blockedUntil: r.blocked_until, hash };
}

/**
 * Counts one attempt on each key, from the narrowest to the broadest, stopping at the first that
 * refuses; the keys already counted are refunded, so an attempt that was never evaluated costs
 * nothing on them (the owner retrying while the account is blocked does not block their own IP).
 */
export async function consume(db: Db, keys: Key[]): Promise<Consumed> {
	const tickets: Ticket[] = [];
	for (const key of keys) {
		const r = await hit(db, key);
		if (!r.allowed) {
			await Promise.all(tickets.map((ticket) => refund(db, ticket)));
			const retryAt = r.blockedUntil && r.blockedUntil.getTime() > Date.now() ? r.blockedUntil : new Date(Date.now() + RULES[key.scope].blockMs);
			return { allowed: false, scope: key.scope, retryAt };
		}
		tickets.push({ key, hash: r.hash, armed: r.armed });
	}
	return { allowed: true, tickets };
}

/** The attempt was not a failure: take it back (and the block it armed, if any). */
export async function refund(db: Db, ticket: Ticket): Promise<void> {
	await db
		.updateTable('auth_throttle')
		.set(
			ticket.armed
				? { blocked_until: null, strikes: sql`greatest(strikes - 1, 0)`, armed: false }
				: { attempts: sql`greatest(attempts - 1, 0)` }
		)
		.where('key', '=', ticket.hash)
		.execute();
}

/** The person proved who they are: their own counters start again from zero. */
export async function reset(db: Db, keys: Key[]): Promise<void> {
	if (keys.length === 0) return;
	await db
		.updateTable('auth_throttle')
		.set({ attempts: 0, blocked_until: null, strikes: 0, armed: false })
		.where('key', 'in', keys.map(keyHash))
		.execute();
}

/** Counters idle for two days hold nothing useful (blocks are at most a day): forget them. */
export async function purgeIdle(db: Db): Promise<void> {
	await db
		.deleteFrom('auth_throttle')
		.where('last_at', '<', sql<Date>`now() - interval '2 days'`)
		.where(sql<boolean>`coalesce(blocked_until < now(), true)`)
		.execute();
}

/** How long until `at`, as the refusal messages say it: "1 min", "15 min", "2 h" (rounded up). */
export function retryDelay(at: Date): string {
	const minutes = Math.max(1, Math.ceil((at.getTime() - Date.now()) / MINUTE));
	return minutes < 60 ? `${minutes} min` : `${Math.ceil(minutes / 60)} h`;
}
