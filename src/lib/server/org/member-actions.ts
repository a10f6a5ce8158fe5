// The form actions shared by the two membership pages (a microstructure's members and a network's
// coordination): invite, end a membership, revoke an invitation. One implementation, two places.
import type { RequestEvent } from '@sveltejs/kit';
import { z } from 'zod';
import { getDb } from '../db/index.ts';
import type { MembershipRole } from '../db/schema.ts';
import { audit } from '../audit/audit.ts';
import { auditContext } from '../request.ts';
import { choice, email, formError, id, parseForm, text } from '../forms.ts';
import { fill, messages } from '../../i18n/index.ts';
import { PROFESSIONS } from '../../professions.ts';
import { reauthorizeUser } from '../live.ts';
import { endMembership, getMembership } from './memberships.ts';
import { revokeInvitation } from './invitations.ts';
import { invite, isActiveMember } from './invite.ts';

/** Where the membership lives: a microstructure (with its network) or a network. */
export interface Place {
	name: string;
	networkId: string;
	microstructureId?: string;
}

const scope = (place: Place) => (place.microstructureId ? { microstructureId: place.microstructureId } : { networkId: place.networkId });
const idSchema = z.object({ id: id() });

export async function inviteAction(event: RequestEvent, inviterId: string, place: Place, roles: readonly [MembershipRole, ...MembershipRole[]]) {
	const t = messages(event.locals.locale);
	const schema = z.object({ firstName: text(100), lastName: text(100), email: email(), profession: choice(PROFESSIONS), role: choice(roles) });
	const parsed = parseForm(schema, await event.request.formData(), event.locals.locale);
	if (!parsed.ok) return parsed.failure;
	const d = parsed.data;
	const db = getDb();
	if (await isActiveMember(db, d.email, scope(place))) return formError(400, t.members.alreadyMember, d, { email: t.members.alreadyMember });
	const result = await invite(db, auditContext(event), {
		...d,
		...scope(place),
		invitedBy: inviterId,
		placeName: place.name,
		networkIdForAudit: place.networkId,
		origin: event.url.origin
	});
	return result.emailed
		? { success: fill(t.members.invitationSent, { email: d.email }) }
		: { success: fill(t.members.invitationLink, { email: d.email }), link: result.link };
}

export async function endMembershipAction(event: RequestEvent, enderId: string, place: Place) {
	const t = messages(event.locals.locale);
	const parsed = parseForm(idSchema, await event.request.formData(), event.locals.locale);
	if (!parsed.ok) return parsed.failure;
	const db = getDb();
	const membership = await getMembership(db, parsed.data.id);
	const belongs = place.microstructureId ? membership?.microstructure_id === place.microstructureId : membership?.network_id === place.networkId;
	if (!membership || !belongs) return formError(404, t.common.notFound);
	if (!(await endMembership(db, membership.id, enderId))) return formError(400, t.members.alreadyEnded);
	await audit(db, auditContext(event), {
		action: 'membership.ended',
		targetType: 'user',
		targetId: membership.user_id,
		microstructureId: place.microstructureId ?? null,
		networkId: place.networkId,
		details: { membershipId: membership.id, role: membership.role }
	});
	await reauthorizeUser(membership.user_id);
	return { success: t.members.ended };
}

export async function revokeInvitationAction(event: RequestEvent, place: Place) {
	const t = messages(event.locals.locale);
	const parsed = parseForm(idSchema, await event.request.formData(), event.locals.locale);
	if (!parsed.ok) return parsed.failure;
	const db = getDb();
	if (!(await revokeInvitation(db, parsed.data.id, scope(place)))) return formError(404, t.common.notFound);
	await audit(db, auditContext(event), { action: 'invitation.revoked', targetType: 'invitation', targetId: parsed.data.id, microstructureId: place.microstructureId ?? null, networkId: place.networkId });
	return { success: t.members.revoked };
}
