// Single-use, expiring invitations. Only the SHA-256 of the token is stored; the link itself is
// e-mailed (or shown once to the inviter) and never logged.
import { inTransaction, type Db } from '../db/index.ts';
import type { MembershipRole, Profession } from '../db/schema.ts';
import { generateSessionToken, sessionIdFromToken } from '../auth/session.ts';
import { addMembership } from './memberships.ts';
import { normaliseEmail } from './users.ts';

const INVITATION_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

export interface NewInvitation {
	email: string;
	firstName: string;
	lastName: string;
	profession: Profession;
	microstructureId?: string;
	networkId?: string;
	role: MembershipRole;
	invitedBy: string;
}

export async function createInvitation(db: Db, inv: NewInvitation): Promise<{ id: string; token: string; expiresAt: Date }> {
	const token = generateSessionToken();
	const expiresAt = new Date(Date.now() + INVITATION_LIFETIME_MS);
	const row = await db
		.insertInto('invitation')
		.values({
			token_hash: sessionIdFromToken(token),
			email: normaliseEmail(inv.email),
			first_name: inv.firstName,
			last_name: inv.lastName,
			profession: inv.profession,
			microstructure_id: inv.microstructureId ?? null,
			network_id: inv.networkId ?? null,
			role: inv.role,
			invited_by: inv.invitedBy,
			expires_at: expiresAt,
			accepted_at: null,
			accepted_by: null,
			revoked_at: null
		})
		.returning('id')
		.executeTakeFirstOrThrow();
	return { id: row.id, token, expiresAt };
}

/** The pending invitation behind a token, or undefined when unknown, used, revoked or expired. */
export async function findPendingInvitation(db: Db, token: string) {
	if (!/^[a-z2-7]{32}$/.test(token)) return undefined;
	return db
		.selectFrom('invitation as i')
		.leftJoin('microstructure as ms', 'ms.id', 'i.microstructure_id')
		.leftJoin('network as n', 'n.id', 'i.network_id')
		.leftJoin('app_user as u', 'u.id', 'i.invited_by')
		.select([
			'i.id',
			'i.email',
			'i.first_name',
			'i.last_name',
			'i.profession',
			'i.role',
			'i.microstructure_id',
			'i.network_id',
			'i.expires_at',
			'ms.name as microstructure_name',
			'n.name as network_name',
			'u.first_name as inviter_first_name',
			'u.last_name as inviter_last_name'
		])
		.where('i.token_hash', '=', sessionIdFromToken(token))
		.where('i.accepted_at', 'is', null)
		.where('i.revoked_at', 'is', null)
		.where('i.expires_at', '>', new Date())
		.executeTakeFirst();
}

/**
 * Marks the invitation used and creates the membership, atomically: a second click on the same
 * link finds nothing to accept.
 */
export async function acceptInvitation(db: Db, invitationId: string, userId: string): Promise<string | null> {
	return inTransaction(db, async (trx) => {
		const inv = await trx
			.updateTable('invitation')
			.set({ accepted_at: new Date(), accepted_by: userId })
			.where('id', '=', invitationId)
			.where('accepted_at', 'is', null)
			.where('revoked_at', 'is', null)
			.where('expires_at', '>', new Date())
			.returning(['microstructure_id', 'network_id', 'role', 'invited_by'])
			.executeTakeFirst();
		if (!inv) return null;
		return addMembership(trx, {
			userId,
			microstructureId: inv.microstructure_id ?? undefined,
			networkId: inv.network_id ?? undefined,
			role: inv.role,
			createdBy: inv.invited_by
		});
	});
}

export function listPendingInvitations(db: Db, where: { microstructureId?: string; networkId?: string }) {
	let q = db
		.selectFrom('invitation')
		.select(['id', 'email', 'first_name', 'last_name', 'role', 'expires_at', 'created_at'])
		.where('accepted_at', 'is', null)
		.where('revoked_at', 'is', null)
		.where('expires_at', '>', new Date());
	if (where.microstructureId) q = q.where('microstructure_id', '=', where.microstructureId);
	if (where.networkId) q = q.where('network_id', '=', where.networkId);
	return q.orderBy('created_at', 'desc').execute();
}

export async function revokeInvitation(db: Db, id: string, scope: { microstructureId?: string; networkId?: string }): Promise<boolean> {
	let q = db
		.updateTable('invitation')
		.set({ revoked_at: new Date() })
		.where('id', '=', id)
		.where('accepted_at', 'is', null)
		.where('revoked_at', 'is', null);
	if (scope.microstructureId) q = q.where('microstructure_id', '=', scope.microstructureId);
	if (scope.networkId) q = q.where('network_id', '=', scope.networkId);
	const r = await q.executeTakeFirst();
	return Number(r.numUpdatedRows) === 1;
}
